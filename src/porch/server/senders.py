"""Writing one response: its head and body, by the cheapest means the connection allows.

Theory of operation. The head always goes out in one write, together with the body when that
is small (bytes, or a file of at most ``SMALL_FILE`` bytes read with one ``pread``): with
``TCP_NODELAY`` that is one packet and no Nagle/delayed-ACK stall. A larger file goes out by a
``FileSender``: the loop's ``sendfile`` (zero-copy, plain TCP on a loop that implements it) or a
bounded copy (``pread`` + write, ``FILE_CHUNK`` at a time, honouring flow control: TLS, uvloop).
Which one is a ``SendPolicy`` handed to the server — decided once from what the loop can do,
or set by a test — not guessed from the loop's module name. Streams go out as they are
produced: chunked, raw up to a known length (``SizedStream``), or raw to the close.

Every send reports whether the body went out whole: a file that shrank, a stream that failed
or ran short means the framing already sent is a lie, and the connection must close after it.
"""

from __future__ import annotations

import asyncio
import logging
import os
from collections.abc import AsyncIterator
from typing import Final, Protocol

from porch.bodyfile import open_file_body
from porch.http import FileBody, HTTPError
from porch.http.wire import Framing
from porch.http.wire.framing import informational_head
from porch.server.flow import FlowControl

log = logging.getLogger("porch.server")

SMALL_FILE: Final = 64 * 1024
"""Files up to this size go out in the same write as the head (one packet, no sendfile)."""
FILE_CHUNK: Final = 256 * 1024
"""Read size of the bounded copy (uvloop, TLS): bounded memory per connection."""
SENDFILE_PIECE: Final = 1024 * 1024
"""Bytes per ``loop.sendfile`` call: the send timeout is checked between pieces."""
CONTINUE: Final = informational_head(100, ())


class FileSender(Protocol):
    """Sends ``length`` bytes of ``fd`` from ``offset``; returns how many went out."""

    async def __call__(
        self, transport: asyncio.Transport, flow: FlowControl, fd: int, offset: int, length: int
    ) -> int: ...


async def copy_file(
    transport: asyncio.Transport, flow: FlowControl, fd: int, offset: int, length: int
) -> int:
    """Send a file range by bounded reads and writes, honouring flow control."""
    sent = 0
    while sent < length:
        data = os.pread(fd, min(FILE_CHUNK, length - sent), offset + sent)
        if not data:
            break
        transport.write(data)
        sent += len(data)
        await flow.next_piece()
    return sent


async def sendfile(
    transport: asyncio.Transport, flow: FlowControl, fd: int, offset: int, length: int
) -> int:
    """Send a file range with the loop's ``sendfile``, in pieces of ``SENDFILE_PIECE``, each of
    which must go out within the send timeout (the loop's sendfile shows no progress inside
    one call, so the timeout is per piece here: a client slower than a piece per timeout,
    1 MiB per 60 s by default, is cut off)."""
    loop = asyncio.get_running_loop()
    sent = 0
    with open(fd, "rb", closefd=False) as file:
        while sent < length:
            piece = min(SENDFILE_PIECE, length - sent)
            try:
                async with asyncio.timeout(flow.send_timeout):
                    done = await loop.sendfile(transport, file, offset + sent, piece, fallback=True)
            except TimeoutError:
                flow.send_timed_out()
            sent += done
            if done < piece:
                break  # the file shrank
    return sent


def loop_has_sendfile(loop: asyncio.AbstractEventLoop) -> bool:
    """True when the loop implements ``sendfile`` itself (asyncio's loops do; uvloop inherits
    the abstract method, which raises NotImplementedError)."""
    return type(loop).sendfile is not asyncio.AbstractEventLoop.sendfile


class SendPolicy:
    """Which ``FileSender`` a connection uses: ``sendfile`` on plain TCP when allowed, else
    the bounded copy (the kernel cannot encrypt for TLS)."""

    __slots__ = ("use_sendfile",)

    def __init__(self, use_sendfile: bool) -> None:
        self.use_sendfile = use_sendfile

    @classmethod
    def for_loop(cls, loop: asyncio.AbstractEventLoop) -> SendPolicy:
        return cls(loop_has_sendfile(loop))

    def file_sender(self, transport: asyncio.BaseTransport) -> FileSender:
        if self.use_sendfile and transport.get_extra_info("sslcontext") is None:
            return sendfile
        return copy_file


async def release_body(body: object) -> None:
    """Close what an unsent body holds (a file descriptor, a stream's file)."""
    if isinstance(body, FileBody):
        if body.fd is not None:
            os.close(body.fd)
    elif body is not None and not isinstance(body, bytes):
        await close_iterator(body)  # type: ignore[arg-type]


async def close_iterator(body: AsyncIterator[bytes]) -> None:
    """Release what a stream holds (an open file) now, not when it is collected."""
    closer = getattr(body, "aclose", None)
    if closer is not None:
        await closer()


class Sender:
    """Writes responses on one connection; ``send_*`` return (body bytes sent, whole?)."""

    __slots__ = ("file_sender", "flow", "transport")

    def __init__(
        self, transport: asyncio.Transport, flow: FlowControl, file_sender: FileSender
    ) -> None:
        self.transport = transport
        self.flow = flow
        self.file_sender = file_sender

    async def send_bytes(self, framing: Framing, head: bytes, body: bytes) -> tuple[int, bool]:
        self.transport.write(head + body if framing.with_body and body else head)
        flow = self.flow
        if flow.lost or not flow.writable.is_set():
            await flow.drain()
        return (len(body) if framing.with_body else 0), True

    async def send_file(self, framing: Framing, head: bytes, body: FileBody) -> tuple[int, bool]:
        """A file range; closes the descriptor whatever happens."""
        fd = open_file_body(body)
        try:
            if not framing.with_body:
                self.transport.write(head)
                return 0, True
            length = body.length
            if length <= SMALL_FILE:
                data = os.pread(fd, length, body.offset)
                self.transport.write(head + data)
                flow = self.flow
                if flow.lost or not flow.writable.is_set():
                    await flow.drain()
                return len(data), len(data) == length  # short: the file shrank
            self.transport.write(head)
            await self.flow.drain()
            sent = await self.file_sender(self.transport, self.flow, fd, body.offset, length)
            return sent, sent == length
        finally:
            os.close(fd)

    async def send_stream(
        self, framing: Framing, head: bytes, body: AsyncIterator[bytes], length: int | None
    ) -> tuple[int, bool]:
        """A stream: chunked, raw up to ``length`` (declared), or raw to the close."""
        write = self.transport.write
        write(head)
        if not framing.with_body:
            await close_iterator(body)
            return 0, True
        chunked = framing.chunked
        sent = 0
        try:
            async for chunk in body:
                if not chunk:
                    continue
                if length is not None and sent + len(chunk) > length:
                    chunk = chunk[: length - sent]  # never more than the head declared
                sent += len(chunk)
                write(b"%x\r\n%s\r\n" % (len(chunk), chunk) if chunked else chunk)
                await self.flow.next_piece()
                if length is not None and sent >= length:
                    break
        except ConnectionError:
            await close_iterator(body)
            raise
        except Exception as error:
            # The head is out, so no error page can follow: end the connection without the
            # last chunk, which tells the client the body is incomplete.
            if isinstance(error, HTTPError):
                log.warning("response stream stopped: %s", error)
            else:
                log.exception("response stream failed")
            await close_iterator(body)
            return sent, False
        await close_iterator(body)
        if chunked:
            write(b"0\r\n\r\n")
        return sent, length is None or sent == length

    def send_informational(self, head: bytes) -> None:
        """An interim response (100 Continue, 104 ...): just its head, ahead of the final one."""
        if not self.flow.lost:
            self.transport.write(head)

    async def informational(self, status: int, headers: list[tuple[str, str]]) -> None:
        """``Request.send_informational`` on porch's server (an ``InformationalSender``)."""
        self.send_informational(informational_head(status, headers))
        flow = self.flow
        if flow.lost or not flow.writable.is_set():
            await flow.drain()
