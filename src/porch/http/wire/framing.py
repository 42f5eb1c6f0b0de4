"""Response framing: how one response is delimited on the wire, and its head bytes.

Theory of operation. HTTP/1.1 gives a response body one of four delimitations (RFC 9112 §6.3):

* none: the response to HEAD, and every 1xx, 204 and 304, carry no body bytes whatever the
  producer gave (a HEAD still announces the length a GET would get);
* ``Content-Length``: the length is known before the first byte (bytes, a file range, a
  ``SizedStream`` such as a multipart/byteranges body);
* chunked: the length is unknown and the client speaks HTTP/1.1;
* close-delimited: the length is unknown and the client speaks HTTP/1.0, so the end of the body
  is the end of the connection: the connection cannot stay open after it.

``frame`` is the one function that makes this choice, and with it the final keep-alive decision
for the response: the caller passes what the connection allows (the client asked for it, the
request body was read, nothing forbids it) and gets back whether the connection survives this
response. There are few distinct outcomes, so ``frame`` returns one of a fixed set of
preallocated ``Framing`` values: no allocation per response. ``response_head`` then writes the
head in one ``bytes`` (precomputed status lines, a Date line formatted once a second, encoded
header lines cached by value), so a small response goes out in one write.
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from http import HTTPStatus
from typing import Final

from porch.http.dates import format_http_date
from porch.http.errors import reason_phrase
from porch.http.response import Body, FileBody, SizedStream


class Framing:
    """One way to frame a response (a fixed value: compare, never build one).

    ``with_body``: body bytes go on the wire. ``declares_length``: the head carries
    ``Content-Length``. ``chunked_head``: the head says ``Transfer-Encoding: chunked`` (a HEAD
    says it too, without sending a body). ``chunked``: the body is written in chunks.
    ``close_delimited``: the body ends when the connection does. ``keep_alive``: the connection
    stays open after this response. ``tail``: the head's last bytes (its Connection field, if
    any, and the blank line).
    """

    __slots__ = (
        "chunked",
        "chunked_head",
        "close_delimited",
        "declares_length",
        "keep_alive",
        "tail",
        "with_body",
    )

    def __init__(
        self,
        *,
        with_body: bool,
        declares_length: bool,
        chunked_head: bool,
        keep_alive: bool,
        http10: bool,
    ) -> None:
        self.with_body = with_body
        self.declares_length = declares_length
        self.chunked_head = chunked_head
        self.chunked = chunked_head and with_body
        self.close_delimited = with_body and not declares_length and not chunked_head
        self.keep_alive = keep_alive
        if not keep_alive:
            self.tail = b"Connection: close\r\n\r\n"
        elif http10:
            self.tail = b"Connection: keep-alive\r\n\r\n"
        else:
            self.tail = b"\r\n"

    def __repr__(self) -> str:
        kind = (
            "length"
            if self.declares_length
            else "chunked"
            if self.chunked_head
            else "close"
            if self.close_delimited
            else "none"
        )
        body = "body" if self.with_body else "no body"
        return f"<Framing {kind}, {body}, keep_alive={self.keep_alive}>"


def _code(with_body: bool, chunked: bool, declares: bool, keep_alive: bool, http10: bool) -> int:
    return with_body | chunked << 1 | declares << 2 | keep_alive << 3 | http10 << 4


_FRAMINGS: Final = tuple(
    Framing(
        with_body=bool(code & 1),
        chunked_head=bool(code & 2),
        declares_length=bool(code & 4),
        keep_alive=bool(code & 8),
        http10=bool(code & 16),
    )
    for code in range(32)
)


def body_allowed(method: str, status: int) -> bool:
    """False when the response must have no body: HEAD, 1xx, 204 and 304 (RFC 9110 §6.4.1)."""
    return not (method == "HEAD" or status < 200 or status == 204 or status == 304)


def body_length(body: Body) -> int | None:
    """The length of a body known up front (bytes, a file range, a ``SizedStream``); None
    for a stream of unknown length."""
    if isinstance(body, bytes):
        return len(body)
    if isinstance(body, FileBody):
        return body.length
    if isinstance(body, SizedStream):
        return body.length
    return None


def frame(method: str, version: str, status: int, length: int | None, keep_alive: bool) -> Framing:
    """The framing of a response to a ``method`` request over HTTP/``version``.

    ``length`` is the body's length when known before the first byte (``body_length``), else
    None. ``keep_alive`` is whether the connection may stay open as far as the caller knows;
    the result's ``keep_alive`` is the final word (False for a close-delimited body).
    """
    bodiless = status < 200 or status == 204 or status == 304
    with_body = not bodiless and method != "HEAD"
    http10 = version != "1.1"
    declares = chunked = False
    if not bodiless:
        if length is not None:
            declares = True
        elif not http10:
            chunked = True
        elif with_body:
            keep_alive = False  # close-delimited: the end of the body is the end of the connection
    return _FRAMINGS[_code(with_body, chunked, declares, keep_alive, http10)]


STATUS_LINES: Final[dict[int, bytes]] = {
    status.value: f"HTTP/1.1 {status.value} {reason_phrase(status.value)}\r\n".encode("latin-1")
    for status in HTTPStatus
}


def status_line(status: int) -> bytes:
    """The HTTP/1.1 status line for ``status``, precomputed for registered codes."""
    line = STATUS_LINES.get(status)
    if line is None:
        line = f"HTTP/1.1 {status} {reason_phrase(status)}\r\n".encode("latin-1")
    return line


_SERVER: Final = b"Server: porch\r\n"
_FRAMING_FIELDS: Final = frozenset(
    {"content-length", "transfer-encoding", "connection", "date", "server", "keep-alive"}
)
"""Fields only the framing writes: a producer's copy is dropped, never sent twice."""

_HEADER_LINES: dict[tuple[str, str], bytes] = {}
"""Encoded ``Name: value\\r\\n`` lines (``b""`` for framing fields): most response fields
repeat (Content-Type, a file's ETag), so a line is encoded once."""
HEADER_LINE_ENTRIES: Final = 8192
HEADER_LINE_MAX_BYTES: Final = 256
"""Longer lines are not kept (issue 17): the cache stays under 8192 x 256 bytes, 2 MiB."""


def _header_line(field: tuple[str, str]) -> bytes:
    line = _HEADER_LINES.get(field)
    if line is None:
        name, value = field
        line = b"" if name.lower() in _FRAMING_FIELDS else f"{name}: {value}\r\n".encode("latin-1")
        if len(line) > HEADER_LINE_MAX_BYTES:
            return line  # a Location or file name from the request: not worth keeping
        if len(_HEADER_LINES) >= HEADER_LINE_ENTRIES:
            _HEADER_LINES.clear()
        _HEADER_LINES[field] = line
    return line


def is_framing_field(name: str) -> bool:
    """True for the fields the framing owns (Content-Length, Transfer-Encoding, Connection,
    Date, Server, Keep-Alive): front ends drop a producer's copy of them."""
    return name.lower() in _FRAMING_FIELDS


class _DateLine:
    """``Date: ...\\r\\nServer: porch\\r\\n``, formatted at most once per second."""

    __slots__ = ("line", "second")

    def __init__(self) -> None:
        self.second = -1
        self.line = b""

    def get(self) -> bytes:
        now = int(time.time())
        if now != self.second:
            self.second = now
            self.line = f"Date: {format_http_date(now)}\r\n".encode("latin-1") + _SERVER
        return self.line


_DATE: Final = _DateLine()


def response_head(
    framing: Framing, status: int, headers: Iterable[tuple[str, str]], length: int | None
) -> bytes:
    """The response head: status line, Date, Server, the producer's fields (framing fields
    dropped), the framing's own fields and the blank line, as one ``bytes``.

    ``length`` is the body length ``frame`` was given (used when the framing declares it).
    """
    return status_line(status) + _DATE.get() + _head_fields(framing, headers, length)


def _head_fields(framing: Framing, headers: Iterable[tuple[str, str]], length: int | None) -> bytes:
    """The head after its Date and Server lines: the producer's and the framing's fields."""
    parts = list(map(_header_line, headers))
    if framing.declares_length:
        parts.append(b"Content-Length: %d\r\n" % (length or 0))
    elif framing.chunked_head:
        parts.append(b"Transfer-Encoding: chunked\r\n")
    parts.append(framing.tail)
    return b"".join(parts)


class Replay:
    """A complete HTTP/1.1 response kept to be sent again (``porch.server.replay``).

    ``wire(keep_alive)`` is the response as it goes out now: the kept status line, the current
    Date line, and the kept fields (with ``Connection: close`` when the connection ends after
    it) and body, in one ``bytes``. ``method``, ``status``, ``sent`` (body bytes) and ``line``
    (the request line) are what the access log and counters need of it.
    """

    __slots__ = ("closing", "line", "method", "rest", "sent", "start", "status")

    def __init__(
        self,
        start: bytes,
        rest: bytes,
        closing: bytes,
        status: int,
        sent: int,
        method: str,
        target: str,
    ) -> None:
        self.method = method
        self.line = f"{method} {target} HTTP/1.1"
        self.start = start
        self.rest = rest
        self.closing = closing
        self.status = status
        self.sent = sent

    def wire(self, keep_alive: bool = True) -> bytes:
        return self.start + _DATE.get() + (self.rest if keep_alive else self.closing)


def replay(
    method: str,
    target: str,
    status: int,
    headers: Iterable[tuple[str, str]],
    body: bytes,
    length: int,
) -> Replay:
    """The ``Replay`` of a response to ``method target`` over HTTP/1.1, framed exactly as
    ``frame`` and ``response_head`` frame it, for a connection that stays open and for one
    that closes after it: ``length`` is the body's length, ``body`` the bytes sent (a HEAD
    announces the length and sends none)."""
    fields = list(headers)
    framing = frame(method, "1.1", status, length, True)
    closing = frame(method, "1.1", status, length, False)
    sent = body if framing.with_body else b""
    rest = _head_fields(framing, fields, length) + sent
    last = _head_fields(closing, fields, length) + sent
    return Replay(status_line(status), rest, last, status, len(sent), method, target)


def informational_head(status: int, headers: Iterable[tuple[str, str]]) -> bytes:
    """An interim 1xx response (100 Continue, 103 Early Hints, 104 Upload Resumption
    Supported): status line, the given fields, blank line. No Date, no framing fields."""
    if not 100 <= status < 200 or status == 101:
        raise ValueError(f"not an interim status: {status}")
    parts = [status_line(status)]
    parts += map(_header_line, headers)
    parts.append(b"\r\n")
    return b"".join(parts)
