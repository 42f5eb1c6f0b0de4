"""Flow control for one connection, both directions.

Reading: ``reading`` follows ``want_reading``; the connection pauses the socket when too many
unread body bytes or pipelined requests wait, and resumes when the app catches up (that is the
backpressure that keeps a 2 GiB upload in constant memory). Writing: asyncio calls
``pause_writing``/``resume_writing`` around its write buffer's high-water mark, and ``drain``
waits for room with nginx's ``send_timeout`` rule: a client that reads nothing of what waits for
the whole period is cut off, a slow one that keeps reading never is.
"""

from __future__ import annotations

import asyncio
import logging
from typing import NoReturn

log = logging.getLogger("porch.server")


class FlowControl:
    """Pause/resume reading, and wait for the client to take what was written."""

    __slots__ = ("lost", "reading", "send_timeout", "transport", "writable")

    def __init__(self, transport: asyncio.Transport, send_timeout: float) -> None:
        self.transport = transport
        self.send_timeout = send_timeout
        self.reading = True
        self.lost = False
        self.writable = asyncio.Event()
        self.writable.set()

    def want_reading(self, wanted: bool) -> None:
        if self.lost or wanted == self.reading:
            return
        self.reading = wanted
        if wanted:
            self.transport.resume_reading()
        else:
            self.transport.pause_reading()

    def pause_writing(self) -> None:
        self.writable.clear()

    def resume_writing(self) -> None:
        self.writable.set()

    def connection_lost(self) -> None:
        self.lost = True
        self.writable.set()

    async def drain(self) -> None:
        """Wait until the transport wants more; raises ConnectionError once the peer is gone,
        or when the client read nothing of what waits for ``send_timeout`` seconds."""
        while not self.writable.is_set() and not self.lost:
            waiting = self.transport.get_write_buffer_size()
            try:
                async with asyncio.timeout(self.send_timeout):
                    await self.writable.wait()
            except TimeoutError:
                if self.lost or self.transport.get_write_buffer_size() < waiting:
                    continue  # it read some: wait another period
                self.send_timed_out()
        if self.lost:
            raise ConnectionResetError("the client went away")

    async def next_piece(self) -> None:
        """Between two pieces of a body: wait for the transport when it is full, and yield to
        the loop when it is not, so a client reading fast never keeps the others waiting
        (issue 17: the transport of a fast reader stays writable for a whole 200 MB body)."""
        if self.writable.is_set() and not self.lost:
            await asyncio.sleep(0)
        else:
            await self.drain()

    def send_timed_out(self) -> NoReturn:
        """Cut the connection: the client took nothing for ``send_timeout`` seconds."""
        peer = self.transport.get_extra_info("peername")
        log.info("closing the connection to %s: nothing read for %ss", peer, self.send_timeout)
        self.transport.abort()
        raise ConnectionAbortedError("the client read nothing within the send timeout")
