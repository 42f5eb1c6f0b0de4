"""``Request``: one parsed HTTP request, its body still streaming."""

from __future__ import annotations

from collections.abc import AsyncIterable, AsyncIterator, Callable
from dataclasses import dataclass, field

from porch.http.errors import HTTPError
from porch.http.headers import Headers


async def _no_body() -> AsyncIterator[bytes]:
    return
    yield b""  # pragma: no cover - makes this an async generator


def _connected() -> bool:
    return False


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
    is_disconnected: Callable[[], bool] = _connected

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
