"""``Request``: one parsed HTTP request, its body still streaming."""

from __future__ import annotations

from collections.abc import AsyncIterable, AsyncIterator, Awaitable, Callable, Iterable
from dataclasses import dataclass, field

from porch.http.errors import HTTPError
from porch.http.headers import Headers


async def _no_body() -> AsyncIterator[bytes]:
    return
    yield b""  # pragma: no cover - makes this an async generator


def _connected() -> bool:
    return False


InformationalSender = Callable[[int, list[tuple[str, str]]], Awaitable[None]]
"""What a front end gives a request to send interim responses with (see
``Request.send_informational``)."""


@dataclass(slots=True)
class Request:
    """A request as the app sees it.

    ``target`` is the request-target exactly as sent; ``path`` is its decoded path, already
    checked by ``parse_target`` (no encoded ``/``, ``\\`` or NUL, valid UTF-8), so each ``/``
    in it is a real segment boundary. ``query`` maps each parameter to all its values in order.
    ``body`` yields the body in chunks as they arrive from the client, with backpressure: it is
    consumed at most once, and raises ``HTTPError`` (400, 408, 413) when the body is malformed,
    too slow or too large. ``root_path`` is the prefix the app is mounted under when it runs
    inside another ASGI application (``""`` on porch's own server): links and redirects that
    the app builds from ``path`` put it in front. ``is_disconnected()`` is True once the
    client has gone (set by the front end that knows: porch's server; others never say so),
    so costly work for nobody can be skipped (porch.app.logins).
    the app builds from ``path`` put it in front. ``informational`` is the front end's way to
    send interim responses (``send_informational``); None where there is none. ``user`` is set
    by the app once the access rules have checked the request's credentials (None:
    anonymous); the access log writes it in Common Log Format's user field.
    """

    method: str
    target: str
    path: str
    query: dict[str, list[str]] = field(default_factory=dict)
    version: str = "1.1"
    headers: Headers = field(default_factory=Headers)
    client: tuple[str, int] | None = None
    body: AsyncIterable[bytes] = field(default_factory=_no_body)
    scheme: str = "http"
    root_path: str = ""
    user: str | None = None  # issue 19: the authenticated user, for the page and the log
    is_disconnected: Callable[[], bool] = _connected
    informational: InformationalSender | None = None

    @property
    def content_length(self) -> int | None:
        """The declared Content-Length (validated by ``check_head``), or None."""
        value = self.headers.get("content-length")
        return int(value) if value is not None else None

    @property
    def chunked(self) -> bool:
        """True when the body is sent with chunked transfer coding."""
        return "chunked" in (v.lower() for v in self.headers.get_list("transfer-encoding"))

    @property
    def has_body(self) -> bool:
        """True when the request announces a body (a length above zero, or chunked)."""
        length = self.content_length
        return self.chunked or (length is not None and length > 0)

    async def send_informational(
        self, status: int, headers: Iterable[tuple[str, str]] = ()
    ) -> None:
        """Send an interim ``1xx`` response before the final one: ``104 Upload Resumption
        Supported`` (resumable uploads), ``103 Early Hints``. ``100 Continue`` is sent by the
        server itself when the app first reads a body that expects it.

        porch's server writes it at once (HTTP/1.1 clients only: RFC 9110 §15.2 forbids 1xx
        to HTTP/1.0); ``porch.testing`` records it in ``TestResponse.informational``; under
        ASGI, which has no interim responses, it does nothing. ``ValueError`` for a status
        outside 100-199 or 101 (a protocol switch is not an interim response).
        """
        if not 100 <= status < 200 or status == 101:
            raise ValueError(f"not an interim status: {status}")
        if self.informational is not None and self.version == "1.1":
            await self.informational(status, list(headers))

    async def read_body(self, limit: int) -> bytes:
        """The whole body, for small bodies only; over ``limit`` bytes raises 413."""
        chunks: list[bytes] = []
        size = 0
        async for chunk in self.body:
            size += len(chunk)
            if size > limit:
                raise HTTPError(413, f"request body over {limit} bytes")
            chunks.append(chunk)
        return b"".join(chunks)
