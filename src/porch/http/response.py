"""``Response`` and its body kinds; the rules about which responses carry a body."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from http import HTTPStatus

from porch.http.errors import HTTPError, reason_phrase
from porch.http.headers import Headers
from porch.http.request import Request


@dataclass(slots=True)
class FileBody:
    """A byte range of a file, sent by the server with ``sendfile`` where it can.

    ``fd`` is an open descriptor the receiver of the response owns and must close (the app
    opens the file, so what is sent is exactly the file that was checked, even if the name is
    replaced meanwhile); when ``fd`` is None the receiver opens ``path``. ``path`` is a server
    path: never put it in a response.
    """

    path: str
    offset: int
    length: int
    fd: int | None = None


class SizedStream:
    """A streamed body whose exact length is known before its first byte (issue 15: an
    archive with Content-Length, so it can be resumed with Range).

    It is an async iterator of chunks like any stream; the sender frames it with
    Content-Length instead of chunked encoding, and a stream that ends short of ``length``
    breaks the framing (the sender closes the connection). ``aclose`` is passed on.
    """

    __slots__ = ("chunks", "length")

    def __init__(self, chunks: AsyncIterator[bytes], length: int) -> None:
        self.chunks = chunks
        self.length = length

    def __aiter__(self) -> SizedStream:
        return self

    async def __anext__(self) -> bytes:
        return await self.chunks.__anext__()

    async def aclose(self) -> None:
        closer = getattr(self.chunks, "aclose", None)
        if closer is not None:
            await closer()


Body = bytes | FileBody | AsyncIterator[bytes]


@dataclass(slots=True)
class Response:
    """Status, headers and a body: ``bytes``, a ``FileBody``, or an async iterator of chunks.

    The server adds Date, Server, Content-Length (for bytes and files) or chunked framing (for
    iterators), and Connection; everything else is the producer's.
    """

    status: int = 200
    headers: Headers = field(default_factory=Headers)
    body: Body = b""


Handler = Callable[[Request], Awaitable[Response]]
"""What the server is handed: an async callable from Request to Response."""


STATUS_LINES: dict[int, bytes] = {
    status.value: f"HTTP/1.1 {status.value} {reason_phrase(status.value)}\r\n".encode("latin-1")
    for status in HTTPStatus
}


def status_line(status: int) -> bytes:
    """The HTTP/1.1 status line for ``status``, precomputed for registered codes."""
    line = STATUS_LINES.get(status)
    if line is None:
        line = f"HTTP/1.1 {status} Unknown\r\n".encode("latin-1")
    return line


def body_allowed(method: str, status: int) -> bool:
    """False when the response must have no body: HEAD, 1xx, 204 and 304 (RFC 9110 §6.4.1)."""
    return not (method == "HEAD" or status < 200 or status in (204, 304))


def body_length(body: Body) -> int | None:
    """The length of a body that has one up front; None for a stream."""
    if isinstance(body, bytes):
        return len(body)
    if isinstance(body, FileBody | SizedStream):
        return body.length
    return None


def text_response(status: int, text: str, headers: Headers | None = None) -> Response:
    """A ``text/plain; charset=utf-8`` response."""
    out = headers if headers is not None else Headers()
    out.set("Content-Type", "text/plain; charset=utf-8")
    return Response(status, out, text.encode("utf-8"))


def plain_error(error: HTTPError) -> Response:
    """The plain-text page for an error found before any app saw the request."""
    headers = Headers(list(error.headers.items()))
    headers.set("X-Content-Type-Options", "nosniff")  # every response carries it
    return text_response(error.status, f"{error.status} {error.reason}: {error.detail}\n", headers)
