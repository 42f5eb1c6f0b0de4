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
    InformationalSender,
    ProtocolError,
    plain_error,
)
from porch.http.wire import ConnectionState, Event, HeadLimits, Phase, Timer
from porch.http.wire.state import NEXT, TIMER_OF, WireStateError
from porch.server.accesslog import AccessLog
from porch.server.admission import ServerState
from porch.server.body import StreamBody
from porch.server.cycle import Job, job_for_head, run_pipeline
from porch.server.deadline import Deadline
from porch.server.flow import FlowControl
from porch.server.parsing import StopParsing, refusal
from porch.server.replay import ReplayCache
from porch.server.senders import CONTINUE, Sender, SendPolicy

BODY_HIGH_WATER: Final = 1024 * 1024
"""Unread request-body bytes held per connection before reading pauses."""
LINGER_SECONDS: Final = 2.0


# Enum members as module constants: on Python 3.11 reading ``Phase.IDLE`` off the class costs
# about 0.25 µs, and the per-request path does it dozens of times.
_NEW, _HEAD, _BUSY, _IDLE, _CLOSING, _LINGER, _CLOSED = Phase
_BEGIN, _HEAD_DONE, _DRAINED, _CLOSE_AFTER, _EOF, _TIMEOUT, _SHUTDOWN, _DONE, _LOST = Event
_NO_TIMER, _HEADER_TIMER, _KEEPALIVE_TIMER, _LINGER_TIMER = Timer


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
        replays: ReplayCache | None = None,
    ) -> None:
        # Global: shared by every connection of the server.
        self.handler = handler
        self.config = config
        self.state = state
        self.access_log = access_log
        self.error_page = error_page
        self.loop = asyncio.get_running_loop()
        self.policy = policy if policy is not None else SendPolicy.for_loop(self.loop)
        self.replays = replays if replays is not None and replays.capacity > 0 else None

        # Per connection.
        self.transport: asyncio.Transport | None = None
        self.client: tuple[str, int] | None = None
        self.address = ""
        self.scheme = "http"
        self.parser = httptools.HttpRequestParser(self)
        self.wire = ConnectionState()
        self.deadline = Deadline(self.loop)
        self.limits = HeadLimits.of(config)
        self.pipeline: deque[Job] = deque()
        self.runner: asyncio.Task[None] | None = None
        self.eof = False
        self.buffered_body = 0
        self.interim: InformationalSender | None = None  # the sender's, handed to requests
        self.messages = 0  # heads begun in the chunk being parsed (replay cache)
        self.replayed: tuple[bytes, ...] | None = None  # its key, when one was replayed

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
        self.interim = self.sender.informational  # bound once, not per request
        if not self.state.admit(self, self.config.max_connections):
            self.wire.handle(_LOST)
            transport.write(self.state.overloaded)
            transport.close()
            return
        self.deadline.arm(self.config.header_timeout, self._timed_out)

    def is_lost(self) -> bool:
        """True once the client's connection is gone (``Request.is_disconnected``)."""
        return self.flow.lost

    def connection_lost(self, exc: Exception | None) -> None:
        self.wire.handle(_LOST)
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
        if self.wire.phase <= _IDLE:  # still reading
            self._move(_EOF)
        if self.wire.phase in (_CLOSED, _LINGER):
            # Idle: nothing to answer. Lingering: the client has read the response and gone,
            # so nothing more will arrive to discard (asyncio keeps such a half-closed socket
            # open until the linger timer, holding a connection slot for 2 s).
            self.abort()
        elif not self.pipeline and self.runner is None:
            self.end_after_response()
        return True

    def pause_writing(self) -> None:
        self.flow.pause_writing()

    def resume_writing(self) -> None:
        self.flow.resume_writing()

    def data_received(self, data: bytes) -> None:
        phase = self.wire.phase
        if phase > _IDLE:  # no longer reading
            return  # closing or lingering: what still comes is discarded
        replays = self.replays
        at_boundary = (
            replays is not None
            and phase != _HEAD
            and not self.pipeline
            and self.flow.writable.is_set()
            and not self.state.shutting_down
        )
        if at_boundary:
            assert replays is not None
            known = replays.heads.get(data)
            if known is not None and self._replay_known(replays, known):
                return
            self.messages = 0
            self.replayed = None
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
        # The chunk was that one head, and no more: remember it.
        if (
            at_boundary
            and self.messages == 1
            and self.replayed is not None
            and self.wire.phase == _IDLE
        ):
            assert replays is not None
            replays.remember_head(data, self.replayed)
        self.update_reading()

    def _replay_known(self, replays: ReplayCache, key: tuple[bytes, ...]) -> bool:
        """Answer a chunk that is byte for byte a head answered from the replay cache before
        (``ReplayCache.heads``): the same bytes parse to the same request and pass the same
        checks, so the parser is skipped; the kept response is still validated."""
        phase = self.wire.phase
        if not self._replay(replays, key, drained=False):
            return False
        if phase == _NEW:
            self._move(_BEGIN)
            self._move(_HEAD_DONE)
            self._move(_DRAINED)
        else:  # IDLE again, and the youngest idle connection
            self.deadline.arm(self.config.keepalive_timeout, self._timed_out)
            idle = self.state.idle
            idle.pop(self, None)
            idle[self] = None
        return True

    # -- parser callbacks -----------------------------------------------------------------

    def on_message_begin(self) -> None:
        if self.wire.phase > _IDLE:  # no longer reading
            raise StopParsing
        self._move(_BEGIN)
        self.messages += 1
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
        self._move(_HEAD_DONE)
        parser = self.parser
        keep_alive = bool(parser.should_keep_alive()) and not self.state.shutting_down
        key = None
        replays = self.replays
        if (
            replays is not None
            and not self.pipeline
            and self.flow.writable.is_set()
            and parser.get_http_version() == "1.1"
        ):
            key = replays.key(parser.get_method(), bytes(self.url), self.raw_headers)
            if key is not None and self._replay(replays, key, keep_alive=keep_alive):
                return
        job = job_for_head(
            self,
            parser.get_method().decode("latin-1"),
            self.url.decode("latin-1"),
            parser.get_http_version(),
            [(n.decode("latin-1"), v.decode("latin-1")) for n, v in self.raw_headers],
            keep_alive,
        )
        job.replay_key = key
        self.receiving = job.body
        self._enqueue(job)
        if job.error is not None and job.error.close:
            self._move(_CLOSE_AFTER)
            self.receiving = None

    def _replay(
        self,
        replays: ReplayCache,
        key: tuple[bytes, ...],
        drained: bool = True,
        keep_alive: bool = True,
    ) -> bool:
        """Answer the head just parsed from the replay cache (``porch.server.replay``):
        True when it was answered, with the counters and log line of any response; without
        ``keep_alive`` (``Connection: close``, shutting down) the connection then ends."""
        kept = replays.get(key)
        if kept is None:
            return False
        self.replayed = key
        assert self.transport is not None  # a head arrived
        self.transport.write(kept.wire(keep_alive))
        state = self.state
        state.total_requests += 1
        state.bytes_out += kept.sent
        if state.replayed is not None:
            state.replayed(kept)
        if self.access_log is not None:
            self.access_log.write(self.address or "-", kept.line, kept.status, kept.sent, None)
        if not keep_alive:
            self.end_after_response()
        elif drained:
            self._move(_DRAINED)
        return True

    def on_body(self, data: bytes) -> None:
        self.state.bytes_in += len(data)
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
        before = wire.phase
        after = NEXT[before][event]  # ConnectionState.handle, without the call
        if after is None:
            raise WireStateError(f"{event.name} cannot happen in {before.name}")
        wire.phase = after
        if after == before:
            return
        timer = TIMER_OF[after]
        if timer != TIMER_OF[before]:
            if timer == _HEADER_TIMER:
                self.deadline.arm(self.config.header_timeout, self._timed_out)
            elif timer == _KEEPALIVE_TIMER:
                self.deadline.arm(self.config.keepalive_timeout, self._timed_out)
            elif timer == _LINGER_TIMER:
                self.deadline.arm(LINGER_SECONDS, self._linger_over)
            else:
                self.deadline.disarm()
        if after == _IDLE:
            self.state.idle[self] = None
        elif before == _IDLE:
            self.state.idle.pop(self, None)

    def _timed_out(self) -> None:
        phase = self.wire.phase
        if phase == _HEAD:
            self._refuse(ProtocolError(408, "the request head did not arrive in time"), _TIMEOUT)
        elif phase in (_NEW, _IDLE):
            self._move(_TIMEOUT)
            self.abort()

    def _linger_over(self) -> None:
        self._move(_TIMEOUT)
        self.abort()

    # -- the request cycle ----------------------------------------------------------------

    def _refuse(self, error: HTTPError, event: Event = _CLOSE_AFTER) -> None:
        """Answer ``error`` after the responses already due, then close."""
        if self.wire.phase > _IDLE:  # no longer reading
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
        if phase == _CLOSING:
            self.end_after_response()
        elif self.state.shutting_down:
            self.end_after_response(linger=False)
        elif phase in (_BUSY, _HEAD):
            self._move(_DRAINED)

    def send_continue(self) -> None:
        self.sender.send_informational(CONTINUE)

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
        pause = phase != _LINGER and (
            self.buffered_body > BODY_HIGH_WATER
            or len(self.pipeline) >= self.config.max_pipeline
            or phase == _CLOSING
        )
        if pause == self.flow.reading:  # a change: the usual case is none
            self.flow.want_reading(not pause)

    # -- closing --------------------------------------------------------------------------

    def shutdown(self) -> None:
        """Server stopping: close now when idle, else after the response in flight."""
        if self.wire.phase in (_NEW, _IDLE):
            self._move(_SHUTDOWN)
            self.abort()

    def end_after_response(self, linger: bool = True) -> None:
        """No more requests on this connection: linger when it can, else close."""
        transport = self.transport
        phase = self.wire.phase
        if transport is None or transport.is_closing() or phase >= _LINGER:
            return
        if phase != _CLOSING:
            self._move(_CLOSE_AFTER)
        if not linger or self.eof or not transport.can_write_eof():
            self.abort()
            return
        self._move(_DONE)  # LINGER: discard what comes, for a moment
        transport.write_eof()
        self.flow.want_reading(True)

    def abort(self) -> None:
        """Close the transport now (buffered output is still flushed)."""
        transport = self.transport
        if transport is not None and not transport.is_closing():
            self.deadline.disarm()
            transport.close()
