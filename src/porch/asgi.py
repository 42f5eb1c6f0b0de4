"""``porch.asgi``: the same ``App`` as an ASGI 3 application.

Theory of operation. The adapter translates only: an ASGI ``http`` scope becomes a
``porch.http.Request`` (through the same ``parse_target`` and ``check_head`` rules as porch's own
server, so a path refused there is refused here), ``receive`` becomes the request body iterator,
and the ``Response`` goes back through ``send``. File bodies use the ``http.response.pathsend``
extension when the host server offers it and the whole file is sent; otherwise they stream in
bounded chunks. Limits and timeouts on the wire (header size, keep-alive, body timeouts) are the
host server's: see docs/asgi.md.

Mounted under a prefix (Starlette's ``Mount``, uvicorn's ``--root-path``), ``scope["path"]``
includes ``scope["root_path"]`` (ASGI spec); the adapter strips it and hands the prefix to the
app as ``Request.root_path`` so redirects point back under the mount.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator, Awaitable, Callable, MutableMapping
from pathlib import Path
from typing import Any
from urllib.parse import quote

from porch.app import App
from porch.bodyfile import open_file_body
from porch.config import Config
from porch.http import (
    FileBody,
    Headers,
    HTTPError,
    Request,
    Response,
    body_length,
    build_request,
)
from porch.http.auth import Access, Grant
from porch.http.wire import HeadLimits, frame
from porch.http.wire.framing import is_framing_field

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]

CHUNK_SIZE = 256 * 1024


def _route_target(scope: Scope) -> str:
    """The request-target below the mount point, raw (percent-escapes intact)."""
    root_path: str = scope.get("root_path", "")
    raw: bytes | None = scope.get("raw_path")
    if raw is not None:
        target = raw.decode("latin-1")
        prefix = root_path.encode("utf-8").decode("latin-1")
    else:
        target = quote(scope["path"], safe="/:@!$&'()*+,;=-._~")
        prefix = quote(root_path, safe="/:@!$&'()*+,;=-._~")
    if prefix and target.startswith(prefix) and target[len(prefix) : len(prefix) + 1] in ("/", ""):
        target = target[len(prefix) :] or "/"
    query: bytes = scope.get("query_string", b"")
    return target + ("?" + query.decode("latin-1") if query else "")


async def _body(receive: Receive) -> AsyncIterator[bytes]:
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            raise HTTPError(400, "the client closed the connection")
        chunk: bytes = message.get("body", b"")
        if chunk:
            yield chunk
        if not message.get("more_body", False):
            return


class _Disconnect:
    """Knows when the client has gone, by reading ``receive`` until ``http.disconnect``.

    uvicorn's ``send`` returns at once, without error, once the client has left, so a
    response loop that only sends would read the rest of a file from disk into nothing (all
    of it, for an aborted download of a large file). Started once the app has answered, so
    any request body the app left unread is the watcher's to drop. Hosts whose ``receive``
    only reports the disconnect later (granian) simply stream on, as without the watcher.
    """

    def __init__(self, receive: Receive) -> None:
        self.gone = False
        self._task = asyncio.ensure_future(self._watch(receive))

    async def _watch(self, receive: Receive) -> None:
        while (await receive())["type"] != "http.disconnect":
            pass
        self.gone = True

    def close(self) -> None:
        self._task.cancel()


class PorchASGI:
    """An ASGI 3 application serving ``app`` (a porch ``App``)."""

    def __init__(self, app: App) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await self._lifespan(receive, send)
            return
        if scope["type"] != "http":
            raise ValueError(f"porch.asgi serves HTTP only, not {scope['type']!r}")
        method: str = scope["method"]
        headers = Headers(
            [(k.decode("latin-1"), v.decode("latin-1")) for k, v in scope.get("headers", [])]
        )
        client = scope.get("client")
        peer = (str(client[0]), int(client[1])) if client else None
        target = _route_target(scope)
        version: str = scope.get("http_version", "1.1")
        scheme: str = scope.get("scheme", "http")
        try:
            self._check_limits(scope, headers)
            request = build_request(
                method,
                target,
                version,
                headers,
                body=_body(receive),
                client=peer,
                scheme=scheme,
                root_path=scope.get("root_path", ""),
                max_query_fields=self.app.config.max_query_fields,
            )
        except HTTPError as error:
            # A refused head still gets a request, as in porch's server (porch.server.cycle):
            # its error page is negotiated on the client's Accept like every other.
            refused = Request(
                method,
                target,
                "/",
                version=version,
                headers=headers,
                client=peer,
                scheme=scheme,
                root_path=scope.get("root_path", ""),
            )
            await self._send(scope, receive, send, method, self.app.error_page(error, refused))
            return
        response = await self.app.handle(request)
        await self._send(scope, receive, send, method, response)

    def _check_limits(self, scope: Scope, headers: Headers) -> None:
        """porch's own URL and header limits (414, 431), counted as porch's server counts them.

        The host server applied its own limits already (usually looser: uvicorn with httptools
        has none on the URL); these make a request that porch's server would refuse get the
        same answer here, and keep a long URL from reaching the file system (ENAMETOOLONG).
        """
        raw: bytes = scope.get("raw_path") or scope["path"].encode("utf-8")
        query: bytes = scope.get("query_string", b"")
        HeadLimits.of(self.app.config).check(len(raw) + (len(query) + 1 if query else 0), headers)

    async def _send(
        self, scope: Scope, receive: Receive, send: Send, method: str, response: Response
    ) -> None:
        body = response.body
        length = body_length(body)
        # The host server delimits the body and owns the connection; the framing rules decide
        # only what porch declares (Content-Length) and whether body bytes go out at all.
        framing = frame(method, scope.get("http_version", "1.1"), response.status, length, True)
        with_body = framing.with_body
        raw_headers = [
            (name.lower().encode("latin-1"), value.encode("latin-1"))
            for name, value in response.headers
            if not is_framing_field(name)
        ]
        if framing.declares_length:
            raw_headers.append((b"content-length", str(length).encode("ascii")))
        if isinstance(body, bytes):
            await send(
                {"type": "http.response.start", "status": response.status, "headers": raw_headers}
            )
            await send({"type": "http.response.body", "body": body if with_body else b""})
            return
        client = _Disconnect(receive)
        try:
            if isinstance(body, FileBody):
                await self._send_file(
                    scope, send, response.status, raw_headers, body, with_body, client
                )
                return
            await send(
                {"type": "http.response.start", "status": response.status, "headers": raw_headers}
            )
            if with_body:
                async for chunk in body:
                    if client.gone:
                        break
                    if chunk:
                        await send({"type": "http.response.body", "body": chunk, "more_body": True})
            closer = getattr(body, "aclose", None)
            if closer is not None:
                await closer()  # releases what the iterator holds (an open file) at once
            await send({"type": "http.response.body", "body": b""})
        finally:
            client.close()

    async def _send_file(
        self,
        scope: Scope,
        send: Send,
        status: int,
        raw_headers: list[tuple[bytes, bytes]],
        body: FileBody,
        with_body: bool,
        client: _Disconnect,
    ) -> None:
        fd = open_file_body(body)
        try:
            start = {"type": "http.response.start", "status": status, "headers": raw_headers}
            await send(start)
            if not with_body:
                await send({"type": "http.response.body", "body": b""})
                return
            whole = body.offset == 0 and body.length == os.fstat(fd).st_size
            if whole and "http.response.pathsend" in scope.get("extensions", {}):
                await send({"type": "http.response.pathsend", "path": body.path})
                return
            sent = 0
            while sent < body.length and not client.gone:
                data = os.pread(fd, min(CHUNK_SIZE, body.length - sent), body.offset + sent)
                if not data:
                    break
                sent += len(data)
                more = sent < body.length
                await send({"type": "http.response.body", "body": data, "more_body": more})
            if sent < body.length:
                await send({"type": "http.response.body", "body": b""})
        finally:
            os.close(fd)

    async def _lifespan(self, receive: Receive, send: Send) -> None:
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                await send({"type": "lifespan.shutdown.complete"})
                return


def app(root: str | os.PathLike[str] = ".", **settings: Any) -> PorchASGI:
    """An ASGI application serving ``root`` with porch's behaviour.

    ``settings`` are ``porch.config.Config`` fields (``hidden=True``, ``upload_dir=...``).
    The settings are checked now by ``Config.validate``, loudly: a missing directory raises
    ``ValueError`` (``ConfigError``) at import time of the host application, not a 404 per
    request.

    With ``accounts`` and no ``anonymous``, clients without credentials get nothing, as on
    the command line: ``Config``'s own default (anonymous write) means "no access control"
    and would leave every file open to anyone despite the accounts.
    """
    if settings.get("accounts") and "anonymous" not in settings:
        settings["anonymous"] = (Grant(Access.NONE),)
    # Config.validate: the same checks as the command line (ConfigError is a ValueError).
    runtime = Config(root=Path(root), **settings).validate()
    return PorchASGI(App(runtime.config))
