"""``Client``: drive an ``App`` in memory, no sockets — the chapter's mock request, done properly.

Requests go through the same target parsing, head checks and head limits as on the wire, and
responses through the same framing (``porch.http.wire.frame``: HEAD, 204 and 304 carry no body,
what is declared with Content-Length, what would be chunked or close-delimited), so a test here
means what it would over a socket, minus the transport. Interim responses the app sends
(``request.send_informational``) are recorded in ``TestResponse.informational``.
"""

from __future__ import annotations

import asyncio
import json
import os
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass, field

from porch.bodyfile import open_file_body
from porch.http import (
    ErrorPage,
    FileBody,
    Headers,
    HTTPError,
    Request,
    Response,
    body_length,
    build_request,
    plain_error,
)
from porch.http.wire import Framing, HeadLimits, frame

App = Callable[[Request], Awaitable[Response]]


@dataclass
class TestResponse:
    """What a client sees: status, headers and the body bytes (files read in full)."""

    __test__ = False  # not a pytest test class

    status: int
    headers: Headers
    body: bytes
    framing: Framing | None = None
    """How the wire would frame it (None for an error found before the request was built:
    framed like any bytes body)."""
    content_length: int | None = None
    """The Content-Length the wire would declare (None: chunked, close-delimited or none)."""
    informational: list[tuple[int, Headers]] = field(default_factory=list)
    """Interim responses the app sent before this one, in order: (status, headers)."""

    @property
    def text(self) -> str:
        return self.body.decode("utf-8")

    def json(self) -> object:
        return json.loads(self.body)


async def _chunks(parts: Iterable[bytes]) -> AsyncIterator[bytes]:
    for part in parts:
        yield part


async def read_body(response: Response, framing: Framing) -> bytes:
    """The bytes a client would receive for ``response``; closes file descriptors."""
    body = response.body
    if isinstance(body, FileBody):
        fd = open_file_body(body)
        try:
            if not framing.with_body:
                return b""
            # lseek + read, not pread: pyfakefs fakes these but not pread, which would read
            # whatever real descriptor shares the fake one's number.
            os.lseek(fd, body.offset, os.SEEK_SET)
            parts: list[bytes] = []
            remaining = body.length
            while remaining > 0:
                part = os.read(fd, remaining)
                if not part:
                    break
                parts.append(part)
                remaining -= len(part)
            return b"".join(parts)
        finally:
            os.close(fd)
    if isinstance(body, bytes):
        return body if framing.with_body else b""
    chunks = [chunk async for chunk in body]
    return b"".join(chunks) if framing.with_body else b""


class Client:
    """Sends requests to an app in-process: ``Client(app).get("/x").status``.

    ``body`` may be bytes or an iterable of byte chunks (to test streaming). A Host header
    (``localhost``: a name every porch answers for) and,
    for a bytes body, a Content-Length are added unless given.
    """

    def __init__(
        self,
        app: App,
        client_address: tuple[str, int] = ("127.0.0.1", 50000),
        *,
        version: str = "1.1",
    ) -> None:
        self.app = app
        self.client_address = client_address
        self.version = version
        # The app's own limits and error page when it is a porch App, else the defaults.
        config = getattr(app, "config", None)
        self.limits = HeadLimits.of(config) if config is not None else HeadLimits()
        self.error_page: ErrorPage = getattr(app, "error_page", plain_error)

    def request(
        self,
        method: str,
        target: str,
        *,
        headers: Mapping[str, str] | Iterable[tuple[str, str]] | None = None,
        body: bytes | Iterable[bytes] = b"",
    ) -> TestResponse:
        return asyncio.run(self.arequest(method, target, headers=headers, body=body))

    async def arequest(
        self,
        method: str,
        target: str,
        *,
        headers: Mapping[str, str] | Iterable[tuple[str, str]] | None = None,
        body: bytes | Iterable[bytes] = b"",
    ) -> TestResponse:
        """The async form of ``request``, for tests already inside an event loop."""
        pairs = list(headers.items()) if isinstance(headers, Mapping) else list(headers or [])
        request_headers = Headers(pairs)
        request_headers.setdefault("Host", "localhost")
        if isinstance(body, bytes):
            parts: Iterable[bytes] = [body] if body else []
            if body or method in ("POST", "PUT"):
                request_headers.setdefault("Content-Length", str(len(body)))
        else:
            parts = body
            if "content-length" not in request_headers:
                request_headers.setdefault("Transfer-Encoding", "chunked")
        informational: list[tuple[int, Headers]] = []

        async def record(status: int, fields: list[tuple[str, str]]) -> None:
            informational.append((status, Headers(fields)))

        try:
            self.limits.check(len(target), request_headers)
            request = build_request(
                method,
                target,
                self.version,
                request_headers,
                body=_chunks(parts),
                client=self.client_address,
                informational=record,
            )
        except HTTPError as error:
            response = self.error_page(error, None)
        else:
            response = await self.app(request)
        length = body_length(response.body)
        framing = frame(method, self.version, response.status, length, True)
        data = await read_body(response, framing)
        declared = length if framing.declares_length else None
        return TestResponse(
            response.status, response.headers, data, framing, declared, informational
        )

    def get(self, target: str, **kwargs: object) -> TestResponse:
        return self.request("GET", target, **kwargs)  # type: ignore[arg-type]

    def head(self, target: str, **kwargs: object) -> TestResponse:
        return self.request("HEAD", target, **kwargs)  # type: ignore[arg-type]

    def post(self, target: str, **kwargs: object) -> TestResponse:
        return self.request("POST", target, **kwargs)  # type: ignore[arg-type]

    def put(self, target: str, **kwargs: object) -> TestResponse:
        return self.request("PUT", target, **kwargs)  # type: ignore[arg-type]

    def options(self, target: str, **kwargs: object) -> TestResponse:
        return self.request("OPTIONS", target, **kwargs)  # type: ignore[arg-type]

    def delete(self, target: str, **kwargs: object) -> TestResponse:
        return self.request("DELETE", target, **kwargs)  # type: ignore[arg-type]
