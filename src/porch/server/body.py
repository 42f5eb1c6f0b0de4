"""The request body as the app sees it: an async iterator fed by the connection.

The connection ``feed``s what the parser hands it, ``finish``es at the end of the message and
``fail``s when the framing breaks or the client goes away. The app iterates once. Each chunk
taken tells the connection (``consumed``), which may then resume reading: the backpressure.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import AsyncIterator
from typing import Protocol

from porch.http import HTTPError


class BodyOwner(Protocol):
    """What a body needs from its connection."""

    def send_continue(self) -> None: ...

    def body_consumed(self) -> None: ...


class StreamBody:
    """The body of one request as an async iterator of chunks, fed by the connection.

    Iterating raises ``HTTPError(408)`` when no byte arrives for ``timeout`` seconds,
    ``HTTPError(400)`` when the chunked framing breaks or the client goes away. It may be
    iterated once. With ``Expect: 100-continue`` the interim 100 goes out when the app first
    asks for the body, so an app that refuses the request never makes the client send it.
    """

    __slots__ = (
        "_chunks",
        "_error",
        "_expect_continue",
        "_iterated",
        "_owner",
        "_timeout",
        "_waiter",
        "buffered",
        "complete",
    )

    def __init__(self, owner: BodyOwner, timeout: float, expect_continue: bool) -> None:
        self._owner = owner
        self._timeout = timeout
        self._expect_continue = expect_continue
        self._chunks: deque[bytes] = deque()
        self._waiter: asyncio.Future[None] | None = None
        self._error: HTTPError | None = None
        self._iterated = False
        self.buffered = 0
        self.complete = False

    def feed(self, data: bytes) -> None:
        self._chunks.append(data)
        self.buffered += len(data)
        self._wake()

    def finish(self) -> None:
        self.complete = True
        self._wake()

    def fail(self, error: HTTPError) -> None:
        if not self.complete:
            self._error = error
        self._wake()

    def discard(self) -> None:
        """Drop what is buffered (the app answered without reading it)."""
        self._chunks.clear()
        self.buffered = 0

    def _wake(self) -> None:
        if self._waiter is not None and not self._waiter.done():
            self._waiter.set_result(None)

    def __aiter__(self) -> AsyncIterator[bytes]:
        if self._iterated:
            raise RuntimeError("a request body can be read only once")
        self._iterated = True
        return self._iterate()

    async def _iterate(self) -> AsyncIterator[bytes]:
        if self._expect_continue and not self.complete:
            self._owner.send_continue()
        loop = asyncio.get_running_loop()
        while True:
            if self._chunks:
                chunk = self._chunks.popleft()
                self.buffered -= len(chunk)
                self._owner.body_consumed()
                yield chunk
                continue
            if self._error is not None:
                raise self._error
            if self.complete:
                return
            self._waiter = loop.create_future()
            try:
                async with asyncio.timeout(self._timeout):
                    await self._waiter
            except TimeoutError:
                self._error = HTTPError(408, "the request body stopped arriving")
            finally:
                self._waiter = None
