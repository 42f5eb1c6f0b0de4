"""Plain HTTP on the TLS port gets a readable 400, as nginx's 497 does (issue 19).

Theory of operation. A browser or curl pointed at ``http://`` on a port that speaks HTTPS
sends a request line where a TLS ClientHello should be. Left to the TLS layer, that is a
handshake failure and the client sees an empty reply ("connection reset", "empty reply from
server"): nothing says what went wrong. So with TLS on, the listening socket is created
without ``ssl`` and each connection starts with a ``TLSGate`` protocol that waits for the
first bytes. A TLS record starts with the handshake content type 0x16: the gate then puts
asyncio's own ``SSLProtocol`` (the same object ``create_server(ssl=...)`` would have made,
with the same handshake deadline) on the transport, hands it the bytes already read, and
steps aside; the app's ``Connection`` is made by ``SSLProtocol`` after the handshake exactly
as before. Anything else gets ``400 Bad Request`` in plain text naming the https URL, and the
connection closes. A client that sends nothing is closed at the handshake deadline.

The gate costs one Python call per TLS connection, before the handshake; nothing after it.
"""

from __future__ import annotations

import asyncio
import re
import ssl
from asyncio import sslproto
from collections.abc import Callable
from typing import Final, cast

TLS_HANDSHAKE: Final = 0x16
"""The first byte of every TLS connection (a handshake record)."""
_HOST = re.compile(rb"\r\nhost:[ \t]*([A-Za-z0-9.\-:\[\]]{1,255})[ \t]*\r\n", re.IGNORECASE)


def plain_http_answer(data: bytes) -> bytes:
    """The whole 400 response for a plain HTTP request (its first bytes ``data``) on the
    TLS port: text that says to use https, with the https URL when the Host is readable."""
    match = _HOST.search(data)
    where = f"https://{match.group(1).decode('ascii')}/" if match else "https://"
    text = (
        f"400 Bad Request: this port speaks HTTPS; plain HTTP was sent. Use {where} instead.\n"
    ).encode("ascii")
    head = (
        "HTTP/1.1 400 Bad Request\r\n"
        "Content-Type: text/plain; charset=utf-8\r\n"
        f"Content-Length: {len(text)}\r\n"
        "Connection: close\r\n\r\n"
    ).encode("ascii")
    return head + text


class TLSGate(asyncio.Protocol):
    """The first protocol of a connection to the TLS port; see the module's theory."""

    def __init__(
        self,
        make_app_protocol: Callable[[], asyncio.BaseProtocol],
        context: ssl.SSLContext,
        handshake_timeout: float | None,
    ) -> None:
        self.make_app_protocol = make_app_protocol
        self.context = context
        self.handshake_timeout = handshake_timeout
        self.transport: asyncio.Transport | None = None
        self.timer: asyncio.TimerHandle | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.Transport, transport)
        if self.handshake_timeout is not None:
            loop = asyncio.get_running_loop()
            self.timer = loop.call_later(self.handshake_timeout, self.transport.abort)

    def data_received(self, data: bytes) -> None:
        transport = self.transport
        if transport is None or not data:
            return
        if self.timer is not None:
            self.timer.cancel()
        if data[0] != TLS_HANDSHAKE:
            transport.write(plain_http_answer(data))
            transport.close()
            self.transport = None
            return
        loop = asyncio.get_running_loop()
        waiter: asyncio.Future[None] = loop.create_future()
        # A failed handshake is SSLProtocol's to log and close; retrieve it here so asyncio
        # does not also report a future whose exception nobody read.
        waiter.add_done_callback(lambda done: done.cancelled() or done.exception())
        tls = sslproto.SSLProtocol(
            loop,
            cast(asyncio.Protocol, self.make_app_protocol()),
            self.context,
            waiter,
            server_side=True,
            ssl_handshake_timeout=cast(int | None, self.handshake_timeout),  # seconds, float ok
        )
        transport.set_protocol(tls)
        tls.connection_made(transport)
        # SSLProtocol is a buffered protocol: copy what was read into its buffer.
        view = memoryview(data)
        while view:
            buffer = tls.get_buffer(len(view))
            size = min(len(buffer), len(view))
            buffer[:size] = view[:size]
            tls.buffer_updated(size)
            view = view[size:]
        self.transport = None

    def eof_received(self) -> bool | None:
        return None  # close

    def connection_lost(self, exc: Exception | None) -> None:
        if self.timer is not None:
            self.timer.cancel()
        self.transport = None


def gated(
    make_app_protocol: Callable[[], asyncio.BaseProtocol],
    context: ssl.SSLContext,
    handshake_timeout: float | None,
) -> Callable[[], TLSGate]:
    """A protocol factory for ``create_server`` (without ``ssl=``) serving TLS behind a gate."""
    return lambda: TLSGate(make_app_protocol, context, handshake_timeout)
