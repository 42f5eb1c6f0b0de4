"""``Client``: drive an ``App`` in memory, no sockets — the chapter's mock request, done properly.

Requests go through the same target parsing and head checks as on the wire, and responses
through the same body rules (HEAD, 204 and 304 carry none), so a test here means what it would
over a socket, minus the transport.
"""

from __future__ import annotations

import asyncio
import json
import os
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass

from porch.http import (
    FileBody,
    Headers,
    HTTPError,
    Request,
    Response,
    body_allowed,
    build_request,
    plain_error,
)

App = Callable[[Request], Awaitable[Response]]


@dataclass
class TestResponse:
    """What a client sees: status, headers and the body bytes (files read in full)."""

    __test__ = False  # not a pytest test class

    status: int
    headers: Headers
    body: bytes

    @property
    def text(self) -> str:
        return self.body.decode("utf-8")

    def json(self) -> object:
        return json.loads(self.body)


async def _chunks(parts: Iterable[bytes]) -> AsyncIterator[bytes]:
    for part in parts:
        yield part


async def read_body(response: Response, method: str) -> bytes:
    """The bytes a client would receive for ``response``; closes file descriptors."""
    body = response.body
    if isinstance(body, FileBody):
        fd = body.fd if body.fd is not None else os.open(body.path, os.O_RDONLY)
        try:
            if not body_allowed(method, response.status):
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
        return body if body_allowed(method, response.status) else b""
    chunks = [chunk async for chunk in body]
    return b"".join(chunks) if body_allowed(method, response.status) else b""


class Client:
    """Sends requests to an app in-process: ``Client(app).get("/x").status``.

    ``body`` may be bytes or an iterable of byte chunks (to test streaming). A Host header
    (``localhost``: a name every porch answers for) and,
    for a bytes body, a Content-Length are added unless given.
    """

    def __init__(self, app: App, client_address: tuple[str, int] = ("127.0.0.1", 50000)) -> None:
        self.app = app
        self.client_address = client_address

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
        try:
            request = build_request(
                method,
                target,
                "1.1",
                request_headers,
                body=_chunks(parts),
                client=self.client_address,
            )
        except HTTPError as error:
            response = plain_error(error)
            return TestResponse(response.status, response.headers, response.body)  # type: ignore[arg-type]
        response = await self.app(request)
        data = await read_body(response, method)
        return TestResponse(response.status, response.headers, data)

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
