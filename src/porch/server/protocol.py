"""One HTTP/1.1 connection: bytes in, wire events out, responses in order.

Theory of operation. ``Connection`` is an ``asyncio.Protocol`` that only translates.
``data_received`` is the one place client bytes enter porch: it feeds httptools, whose
callbacks become the events of the connection's state machine (``porch.http.wire.state``:
BEGIN on ``on_message_begin``, HEAD_DONE on ``on_headers_complete`` ...) and build a ``Request``
per message; ``on_url``/``on_header`` count bytes against the head limits
(``porch.http.wire.limits``), which llhttp does not enforce. Parser errors are caught here, at
the one place bytes arrive, and become a queued error answer. A finished head becomes a job
for the request cycle (``porch.server.cycle``); bodies stream through ``StreamBody``
(``porch.server.body``) with flow control (``porch.server.flow``); the one timer each phase
runs is a ``Deadline`` (``porch.server.deadline``); responses are written by a ``Sender``
(``porch.server.senders``) using the file sender the injected ``SendPolicy`` picks.

Closing: when a response leaves a request body unread, or after a protocol error, the
connection half-closes and discards what the client still sends for ``LINGER_SECONDS``, so the
client reads the response instead of a reset (nginx's lingering close).
"""

from __future__ import annotations

import asyncio
from collections import deque
from typing import Final, cast

import httptools

from porch.config import Config
from porch.http import (
    ErrorPage,
    Handler,
    HTTPError,
    ProtocolError,
    plain_error,
)
from porch.http.wire import ConnectionState, Event, HeadLimits, Phase, Timer
from porch.http.wire.framing import informational_head
from porch.server.accesslog import AccessLog
from porch.server.admission import OVERLOADED, ServerState
from porch.server.body import StreamBody
from porch.server.cycle import Job, job_for_head, run_pipeline
from porch.server.deadline import Deadline
from porch.server.flow import FlowControl
from porch.server.parsing import StopParsing, refusal
from porch.server.senders import Sender, SendPolicy

BODY_HIGH_WATER: Final = 1024 * 1024
"""Unread request-body bytes held per connection before reading pauses."""
LINGER_SECONDS: Final = 2.0

_CONTINUE: Final = informational_head(100, ())


class Connection(asyncio.Protocol):
    """The protocol object for one client socket."""

    def __init__(
        self,
        handler: Handler,
        config: Config,
        state: ServerState,
        access_log: AccessLog | None,
        *,
        error_page: ErrorPage = plain_error,
        policy: SendPolicy | None = None,
    ) -> None:
        # Global: shared by every connection of the server.
        self.handler = handler
        self.config = config
        self.state = state
        self.access_log = access_log
        self.error_page = error_page
        self.loop = asyncio.get_running_loop()
        self.policy = policy if policy is not None else SendPolicy.for_loop(self.loop)

        # Per connection.
        self.transport: asyncio.Transport | None = None
        self.client: tuple[str, int] | None = None
        self.address = ""
        self.scheme = "http"
        self.parser = httptools.HttpRequestParser(self)
        self.wire = ConnectionState()
        self.deadline = Deadline(self.loop)
        self.limits = HeadLimits(config.max_url_bytes, config.max_header_bytes, config.max_headers)
        self.pipeline: deque[Job] = deque()
        self.runner: asyncio.Task[None] | None = None
        self.eof = False
        self.buffered_body = 0
        self.interim = self._send_informational  # bound once, handed to every request

        # Per request, while its head is being parsed.
        self.url = bytearray()
        self.raw_headers: list[tuple[bytes, bytes]] = []
        self.receiving: StreamBody | None = None

    @property
    def phase(self) -> Phase:
        return self.wire.phase

    # -- connection events ----------------------------------------------------------------

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # uvloop's transports implement asyncio.Transport without subclassing it.
        self.transport = transport = cast(asyncio.Transport, transport)
        peer = transport.get_extra_info("peername")
        self.client = (str(peer[0]), int(peer[1])) if isinstance(peer, tuple) else None
        self.address = self.client[0] if self.client is not None else ""
        if transport.get_extra_info("sslcontext") is not None:
            self.scheme = "https"
        self.flow = FlowControl(transport, self.config.send_timeout)
        self.sender = Sender(transport, self.flow, self.policy.file_sender(transport))
        if not self.state.admit(self, self.config.max_connections):
            self.wire.handle(Event.LOST)
            transport.write(OVERLOADED)
            transport.close()
            return
        self.deadline.arm(self.config.header_timeout, self._timed_out)

    def is_lost(self) -> bool:
        """True once the client's connection is gone (``Request.is_disconnected``)."""
        return self.flow.lost

    def connection_lost(self, exc: Exception | None) -> None:
        self.wire.handle(Event.LOST)
        self.state.release(self)
        self.deadline.cancel()
        if self.transport is not None:
            self.flow.connection_lost()
        error = HTTPError(400, "the client closed the connection")
        for job in self.pipeline:
            if job.body is not None:
                job.body.fail(error)

    def eof_received(self) -> bool:
        self.eof = True
        if self.receiving is not None:
            self.receiving.fail(HTTPError(400, "the client closed before sending the whole body"))
        if self.wire.reading:
            self._move(Event.EOF)
        if self.wire.phase == Phase.CLOSED:
            self.abort()  # it was idle: nothing to answer
        elif not self.pipeline and self.runner is None:
            self.end_after_response()
        return True

    def pause_writing(self) -> None:
        self.flow.pause_writing()

    def resume_writing(self) -> None:
        self.flow.resume_writing()

    def data_received(self, data: bytes) -> None:
        if not self.wire.reading:
            return  # closing or lingering: what still comes is discarded
        try:
            self.parser.feed_data(data)
        except httptools.HttpParserUpgrade:
            # Upgrades (WebSocket, h2c) are not offered: answer the request, then close.
            if self.pipeline:
                self.pipeline[-1].keep_alive = False
        except httptools.HttpParserError as error:
            refused = refusal(error, data)
            if refused is not None:
                self._refuse(refused)
        self.update_reading()

    # -- parser callbacks -----------------------------------------------------------------

    def on_message_begin(self) -> None:
        if not self.wire.reading:
            raise StopParsing
        self._move(Event.BEGIN)
        self.url = bytearray()
        self.raw_headers = []
        self.limits.start()

    def on_url(self, url: bytes) -> None:
        self.url += url
        self.limits.url(len(url))

    def on_header(self, name: bytes, value: bytes) -> None:
        self.raw_headers.append((name, value))
        self.limits.header(len(name), len(value))

    def on_headers_complete(self) -> None:
        self._move(Event.HEAD_DONE)
        parser = self.parser
        keep_alive = bool(parser.should_keep_alive()) and not self.state.shutting_down
        job = job_for_head(
            self,
            parser.get_method().decode("latin-1"),
            self.url.decode("latin-1"),
            parser.get_http_version(),
            [(n.decode("latin-1"), v.decode("latin-1")) for n, v in self.raw_headers],
            keep_alive,
        )
        self.receiving = job.body
        self._enqueue(job)
        if job.error is not None and job.error.close:
            self._move(Event.CLOSE_AFTER)
            self.receiving = None

    def on_body(self, data: bytes) -> None:
        if self.receiving is not None:
            self.receiving.feed(data)
            self.buffered_body += len(data)

    def on_message_complete(self) -> None:
        if self.receiving is not None:
            self.receiving.finish()
            self.receiving = None

    # -- state and timers -----------------------------------------------------------------

    def _move(self, event: Event) -> None:
        """Apply ``event`` to the state machine and run the timer the new phase wants (a
        timer of the same kind keeps running: a head's clock is not restarted by its first
        byte after the connection's start)."""
        wire = self.wire
        before = wire.timer
        was_idle = wire.phase == Phase.IDLE
        wire.handle(event)
        timer = wire.timer
        if timer != before:
            if timer == Timer.HEADER:
                self.deadline.arm(self.config.header_timeout, self._timed_out)
            elif timer == Timer.KEEPALIVE:
                self.deadline.arm(self.config.keepalive_timeout, self._timed_out)
            elif timer == Timer.LINGER:
                self.deadline.arm(LINGER_SECONDS, self._linger_over)
            else:
                self.deadline.disarm()
        if wire.phase == Phase.IDLE:
            self.state.idle[self] = None
        elif was_idle:
            self.state.idle.pop(self, None)

    def _timed_out(self) -> None:
        phase = self.wire.phase
        if phase == Phase.HEAD:
            self._refuse(
                ProtocolError(408, "the request head did not arrive in time"), Event.TIMEOUT
            )
        elif phase in (Phase.NEW, Phase.IDLE):
            self._move(Event.TIMEOUT)
            self.abort()

    def _linger_over(self) -> None:
        self._move(Event.TIMEOUT)
        self.abort()

    # -- the request cycle ----------------------------------------------------------------

    def _refuse(self, error: HTTPError, event: Event = Event.CLOSE_AFTER) -> None:
        """Answer ``error`` after the responses already due, then close."""
        if not self.wire.reading:
            return
        self._move(event)
        if self.receiving is not None:
            self.receiving.fail(HTTPError(400, "malformed request body"))
            self.receiving = None
            return  # the app reading that body answers and the connection then closes
        self._enqueue(Job(None, None, False, error))

    def _enqueue(self, job: Job) -> None:
        self.pipeline.append(job)
        if self.runner is None:
            self.runner = self.loop.create_task(run_pipeline(self))

    def drained(self) -> None:
        """The runner emptied the queue (the cycle calls this)."""
        phase = self.wire.phase
        if phase == Phase.CLOSING:
            self.end_after_response()
        elif self.state.shutting_down:
            self.end_after_response(linger=False)
        elif phase in (Phase.BUSY, Phase.HEAD):
            self._move(Event.DRAINED)

    async def _send_informational(self, status: int, headers: list[tuple[str, str]]) -> None:
        self.sender.send_informational(informational_head(status, headers))
        if self.flow.must_drain:
            await self.flow.drain()

    def send_continue(self) -> None:
        self.sender.send_informational(_CONTINUE)

    # -- flow control ---------------------------------------------------------------------

    def body_consumed(self) -> None:
        """A body chunk was taken by the app; reading may resume."""
        self.recount_body()
        self.update_reading()

    def recount_body(self) -> None:
        self.buffered_body = sum(job.body.buffered for job in self.pipeline if job.body)

    def update_reading(self) -> None:
        if self.transport is None:
            return
        phase = self.wire.phase
        pause = phase != Phase.LINGER and (
            self.buffered_body > BODY_HIGH_WATER
            or len(self.pipeline) >= self.config.max_pipeline
            or phase == Phase.CLOSING
        )
        self.flow.want_reading(not pause)

    # -- closing --------------------------------------------------------------------------

    def shutdown(self) -> None:
        """Server stopping: close now when idle, else after the response in flight."""
        if self.wire.phase in (Phase.NEW, Phase.IDLE):
            self._move(Event.SHUTDOWN)
            self.abort()

    def end_after_response(self, linger: bool = True) -> None:
        """No more requests on this connection: linger when it can, else close."""
        transport = self.transport
        phase = self.wire.phase
        if transport is None or transport.is_closing() or phase >= Phase.LINGER:
            return
        if phase != Phase.CLOSING:
            self._move(Event.CLOSE_AFTER)
        if not linger or self.eof or not transport.can_write_eof():
            self.abort()
            return
        self._move(Event.DONE)  # LINGER: discard what comes, for a moment
        transport.write_eof()
        self.flow.want_reading(True)

    def abort(self) -> None:
        """Close the transport now (buffered output is still flushed)."""
        transport = self.transport
        if transport is not None and not transport.is_closing():
            self.deadline.disarm()
            transport.close()
