"""Pure request-head rules: the chapter's line parser, target decoding, head validation.

Theory of operation. The server's bytes go through httptools (llhttp), which frames messages
and rejects malformed syntax; what llhttp allows but porch refuses is decided here, on parsed
values, so the rules are testable without a socket:

* ``parse_target`` turns the request-target into a decoded path and a query string. Percent
  escapes are decoded one segment at a time and an escape that decodes to ``/``, ``\\`` or NUL is
  refused, so every ``/`` in the decoded path is a real boundary and no later step can be fooled
  by a slash that was hidden in an escape (the CVE-2021-28861 family).
* ``check_head`` applies the message-level rules llhttp leaves to the server: Host on 1.1,
  known methods, one Content-Length.
* ``parse_request`` is the chapter's exercise: the same rules for a list of text lines.
"""

from __future__ import annotations

import re
import urllib.parse
from collections.abc import AsyncIterable

from porch.http.errors import HTTPError, ProtocolError
from porch.http.headers import Headers
from porch.http.request import InformationalSender, Request

KNOWN_METHODS = frozenset(
    {"GET", "HEAD", "POST", "PUT", "DELETE", "CONNECT", "OPTIONS", "TRACE", "PATCH"}
    | {"PROPFIND", "PROPPATCH", "MKCOL", "COPY", "MOVE", "LOCK", "UNLOCK"}  # WebDAV, RFC 4918
)
"""Methods porch recognises (RFC 9110 §9, PATCH and WebDAV's); any other gets 501."""

DEFAULT_MAX_QUERY_FIELDS = 1000  # porch.config.DEFAULT_MAX_QUERY_FIELDS mirrors it

_TOKEN = re.compile(r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+")
_VERSION = re.compile(r"HTTP/(\d)\.(\d)")
_PERCENT = re.compile(rb"%([0-9A-Fa-f]{2})?")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_FORBIDDEN_ESCAPES = frozenset(b"/\\\x00")


def is_token(value: str) -> bool:
    """True when ``value`` is an RFC 9110 token (the syntax of methods and field names)."""
    return _TOKEN.fullmatch(value) is not None


def _decode_segment(raw: bytes) -> str:
    def replace(match: re.Match[bytes]) -> bytes:
        digits = match.group(1)
        if digits is None:
            raise HTTPError(400, "malformed percent-escape in the URL")
        byte = int(digits, 16)
        if byte in _FORBIDDEN_ESCAPES:
            raise HTTPError(400, "the URL encodes a slash, backslash or NUL in a name")
        return bytes((byte,))

    decoded = _PERCENT.sub(replace, raw)
    try:
        text = decoded.decode("utf-8")
    except UnicodeDecodeError:
        raise HTTPError(400, "the URL path is not valid UTF-8") from None
    if _CONTROL.search(text):
        raise HTTPError(400, "control characters in the URL path")
    return text


def parse_target(target: str) -> tuple[str, str]:
    """Split an origin-form request-target into (decoded path, raw query string).

    Raises ``HTTPError(400)`` for anything but origin-form (absolute-form ``http://...``,
    authority-form, ``*``), for fragments, malformed or forbidden escapes (``%2f``, ``%5c``,
    ``%00``), invalid UTF-8 and control characters. Dot-segments pass through unchanged: the
    path resolver refuses them, since only it knows what they would reach.
    """
    if not target.startswith("/"):
        raise HTTPError(400, "only origin-form request targets (starting with /) are served")
    if "#" in target:
        raise HTTPError(400, "a request target cannot carry a fragment")
    raw_path, _, query = target.partition("?")
    if "%" not in raw_path and raw_path.isascii() and not _CONTROL.search(raw_path):
        return raw_path, query  # nothing to decode: what the loop below would return
    try:
        raw = raw_path.encode("ascii")
    except UnicodeEncodeError:
        raise HTTPError(400, "the URL path has raw non-ASCII bytes") from None
    path = "/".join(_decode_segment(segment) for segment in raw.split(b"/"))
    return path, query


def parse_query(query: str, max_fields: int = DEFAULT_MAX_QUERY_FIELDS) -> dict[str, list[str]]:
    """Query parameters as name -> values in order; blank values kept (``?a=&b`` has both)."""
    if not query:
        return {}
    try:
        return urllib.parse.parse_qs(query, keep_blank_values=True, max_num_fields=max_fields)
    except ValueError:
        raise HTTPError(400, f"more than {max_fields} query parameters") from None


def check_head(method: str, version: str, headers: Headers) -> None:
    """Refuse a parsed head that llhttp accepted but HTTP/1.1 forbids or porch doesn't do.

    Raises ``ProtocolError`` (the connection cannot be trusted after it) for: a missing or
    repeated Host on HTTP/1.1, Content-Length together with Transfer-Encoding, several or
    malformed Content-Length values, a Transfer-Encoding other than chunked; and
    ``HTTPError(501)`` for a method porch does not know.
    """
    hosts = headers.get_all("host")
    if version == "1.1" and len(hosts) != 1:
        raise ProtocolError(400, "HTTP/1.1 requests need exactly one Host header")
    lengths = headers.get_all("content-length")
    codings = headers.get_list("transfer-encoding")
    if lengths and codings:
        raise ProtocolError(400, "Content-Length and Transfer-Encoding together")
    if len(lengths) > 1:
        raise ProtocolError(400, "more than one Content-Length")
    if lengths and not lengths[0].strip().isdigit():
        raise ProtocolError(400, "Content-Length is not a number")
    if codings and [c.lower() for c in codings] != ["chunked"]:
        raise ProtocolError(501, "only the chunked transfer coding is supported")
    if method not in KNOWN_METHODS:
        raise HTTPError(501, f"method {method} is not implemented")


def check_version(version: str) -> None:
    """Refuse a request line the connection cannot answer in HTTP/1.x (issue 17).

    ``version`` is what the parser read (llhttp reports a request line without a version,
    HTTP/0.9 style, as ``0.9``). Raises ``ProtocolError(400)`` for 0.9 (a line without a
    version is malformed for porch: it answers only HTTP/1.0 and 1.1) and
    ``ProtocolError(505)`` for any other major version than 1 (``HTTP/2.0`` in an HTTP/1.1
    request line is not HTTP/2). Only porch's own server calls it: an ASGI server that
    speaks HTTP/2 itself hands the app a legitimate "2".
    """
    major, _, _ = version.partition(".")
    if version == "0.9" or not major.isdigit() or major == "0":
        raise ProtocolError(400, "the request line needs a version: METHOD TARGET HTTP/1.1")
    if major != "1":
        raise ProtocolError(505, f"HTTP/{version} is not supported here: use HTTP/1.1")


def parse_request(lines: list[str]) -> dict[str, object]:
    """The chapter's exercise: parse a request head given as text lines.

    ``lines`` is the request line, then header lines, optionally ending with an empty line
    (trailing CR/LF on each line is ignored). Returns ``{"method", "url", "version",
    "headers"}`` with ``headers`` as lower-cased name -> list of values (a name may repeat,
    e.g. two Accept lines). Raises ``ValueError`` naming what is wrong: an empty request, a
    request line that is not three parts, a method that is not a token, a bad version, a
    header line without a colon or with whitespace before it, obsolete line folding.
    """
    cleaned = [line.rstrip("\r\n") for line in lines]
    while cleaned and cleaned[-1] == "":
        cleaned.pop()
    if not cleaned:
        raise ValueError("empty request: no request line")
    parts = cleaned[0].split(" ")
    if len(parts) != 3 or not all(parts):
        raise ValueError(f"request line must be 'METHOD URL VERSION': {cleaned[0]!r}")
    method, url, version = parts
    if not is_token(method):
        raise ValueError(f"method is not a token: {method!r}")
    if _VERSION.fullmatch(version) is None:
        raise ValueError(f"version must look like HTTP/1.1: {version!r}")
    headers = Headers()
    for line in cleaned[1:]:
        if line == "":
            raise ValueError("empty line inside the header section")
        if line[0] in " \t":
            raise ValueError(f"obsolete line folding is not allowed: {line!r}")
        name, colon, value = line.partition(":")
        if not colon:
            raise ValueError(f"header line without a colon: {line!r}")
        if not is_token(name):
            raise ValueError(f"header name is not a token: {name!r}")
        headers.add(name, value.strip(" \t"))
    return {"method": method, "url": url, "version": version, "headers": headers.as_dict()}


def build_request(
    method: str,
    target: str,
    version: str,
    headers: Headers,
    *,
    body: AsyncIterable[bytes],
    client: tuple[str, int] | None = None,
    scheme: str = "http",
    root_path: str = "",
    max_query_fields: int = DEFAULT_MAX_QUERY_FIELDS,
    informational: InformationalSender | None = None,
) -> Request:
    """The ``Request`` for a parsed head, after ``check_head`` and ``parse_target``.

    Every front end (porch's server, the ASGI adapter, the in-memory test client) makes its
    requests here, so a head refused by one is refused by all. Raises ``ProtocolError`` or
    ``HTTPError`` as those functions do, and 400 past ``max_query_fields`` parameters.
    """
    check_head(method, version, headers)
    path, query = parse_target(target)
    return Request(
        method=method,
        target=target,
        path=path,
        query=parse_query(query, max_query_fields),
        version=version,
        headers=headers,
        client=client,
        body=body,
        scheme=scheme,
        root_path=root_path,
        informational=informational,
    )
