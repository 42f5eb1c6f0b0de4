"""``Response`` and its body kinds; the rules about which responses carry a body."""

from __future__ import annotations

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
