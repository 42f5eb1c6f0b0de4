"""``Response`` and its body kinds; the rules about which responses carry a body."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field

from porch.http.errors import HTTPError
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
    """An async iterator of byte chunks whose total ``length`` is known before the first one
    (a multipart/byteranges body): framed with Content-Length, not chunked or by closing.

    Subclasses implement ``__anext__`` (and ``aclose`` when they hold something). A stream
    that ends short of ``length`` breaks the framing: the server then closes the connection.
    """

    length: int = 0

    def __aiter__(self) -> AsyncIterator[bytes]:
        return self

    async def __anext__(self) -> bytes:
        raise StopAsyncIteration


class SizedChunks(SizedStream):
    """A ``SizedStream`` made of another async iterator of chunks and the ``length`` it will
    produce (issue 15: an archive with Content-Length, so it can be resumed with Range);
    ``aclose`` is passed on."""

    def __init__(self, chunks: AsyncIterator[bytes], length: int) -> None:
        self.chunks = chunks
        self.length = length

    async def __anext__(self) -> bytes:
        return await self.chunks.__anext__()

    async def aclose(self) -> None:
        closer = getattr(self.chunks, "aclose", None)
        if closer is not None:
            await closer()


Body = bytes | FileBody | AsyncIterator[bytes]


@dataclass(frozen=True, slots=True)
class Source:
    """What a response to GET/HEAD was made from, as its producer checked it: the regular file
    ``path`` (a server path, never shown) whose ``lstat`` was ``info``, and the directory
    ``watch`` whose entries could change the answer (a template or a precompressed sibling
    appearing beside the file). A front end may replay such a response to the same request for
    as long as both are unchanged (``porch.server.replay``); a response without a ``Source`` is
    always computed afresh. ``path`` may be a directory (a listing: its own ``lstat`` moves
    when an entry is added, removed or renamed). ``expires``: a ``time.monotonic()`` instant
    after which the response must be computed afresh even if both look unchanged — for an
    answer that also shows what the watched times do not cover (a listing's sizes and dates).
    """

    path: str
    info: os.stat_result
    watch: str
    expires: float | None = None


@dataclass(slots=True)
class Response:
    """Status, headers and a body: ``bytes``, a ``FileBody``, or an async iterator of chunks.

    The server adds Date, Server, Content-Length (for bytes and files) or chunked framing (for
    iterators), and Connection; everything else is the producer's. ``source``: set by a
    producer whose answer depends on nothing but the request and one file (``Source``).
    """

    status: int = 200
    headers: Headers = field(default_factory=Headers)
    body: Body = b""
    source: Source | None = None


Handler = Callable[[Request], Awaitable[Response]]
"""What the server is handed: an async callable from Request to Response."""

ErrorPage = Callable[[HTTPError, Request | None], Response]
"""What renders an error the front end finds itself (a malformed head, a limit, a handler that
crashed), with the request when one was parsed (its Accept header picks the format), else None.
The app passes its own (``App.error_page``: negotiated, with the security headers), so every
error looks the same whoever found it; ``plain_error`` is the fallback without an app."""


def text_response(status: int, text: str, headers: Headers | None = None) -> Response:
    """A ``text/plain; charset=utf-8`` response."""
    out = headers if headers is not None else Headers()
    out.set("Content-Type", "text/plain; charset=utf-8")
    return Response(status, out, text.encode("utf-8"))


def plain_error(error: HTTPError, request: Request | None = None) -> Response:
    """A plain-text error page: the ``ErrorPage`` of a front end given no app's renderer."""
    headers = Headers(list(error.headers.items()))
    headers.set("X-Content-Type-Options", "nosniff")  # every response carries it
    return text_response(error.status, f"{error.status} {error.reason}: {error.detail}\n", headers)
