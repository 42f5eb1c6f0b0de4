"""One HTTP/1.1 connection: bytes in, wire events out, responses in order.

Theory of operation. ``Connection`` is an ``asyncio.Protocol`` that only translates.
``data_received`` is the one place client bytes enter porch: it feeds httptools, whose
callbacks become the events of the connection's state machine (``porch.http.wire.state``:
BEGIN on ``on_message_begin``, HEAD_DONE on ``on_headers_complete`` ...) and build a ``Request``
per message; ``on_url``/``on_header`` count bytes against the head limits
(``porch.http.wire.limits``), which llhttp does not enforce. Parser errors are caught here, at
the one place bytes arrive, and become a queued error answer. A finished head becomes a job
for the request cycle (``porch.server.cycle``); bodies stream through ``StreamBody``
(``porch.server.body``) with flow control (``porch.server.flow``); responses are written by
a ``Sender`` (``porch.server.senders``) using the file sender the injected ``SendPolicy``
picks. A head the replay cache can answer is answered on the spot (``porch.server.fastpath``).
The phase, its one timer and closing (lingering included) are ``Lifecycle``'s
(``porch.server.lifecycle``), which ``Connection`` extends.
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
    plain_error,
)
from porch.http.wire import Event, HeadLimits, Phase
from porch.server import fastpath
from porch.server.accesslog import AccessLog
from porch.server.admission import ServerState
from porch.server.body import StreamBody
from porch.server.cycle import Job, job_for_head, run_pipeline
from porch.server.flow import FlowControl
from porch.server.lifecycle import Lifecycle
from porch.server.parsing import StopParsing, refusal
from porch.server.replay import ReplayCache
from porch.server.senders import CONTINUE, Sender, SendPolicy

BODY_HIGH_WATER: Final = 1024 * 1024
"""Unread request-body bytes held per connection before reading pauses."""


# Enum members as module constants: on Python 3.11 reading ``Phase.IDLE`` off the class costs
# about 0.25 µs, and the per-request path does it dozens of times.
_NEW, _HEAD, _BUSY, _IDLE, _CLOSING, _LINGER, _CLOSED = Phase
_BEGIN, _HEAD_DONE, _DRAINED, _CLOSE_AFTER, _EOF, _TIMEOUT, _SHUTDOWN, _DONE, _LOST = Event


class Connection(Lifecycle):
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
        super().__init__(config, state)
        # Global: shared by every connection of the server.
        self.handler = handler
        self.access_log = access_log
        self.error_page = error_page
        self.policy = policy if policy is not None else SendPolicy.for_loop(self.loop)
        self.replays = replays if replays is not None and replays.capacity > 0 else None

        # Per connection (its phase, timer and transport: ``Lifecycle``).
        self.client: tuple[str, int] | None = None
        self.scheme = "http"
        self.parser = httptools.HttpRequestParser(self)
        self.limits = HeadLimits.of(config)
        self.pipeline: deque[Job] = deque()
        self.runner: asyncio.Task[None] | None = None
        self.buffered_body = 0
        self.interim: InformationalSender | None = None  # the sender's, handed to requests
        self.messages = 0  # heads begun in the chunk being parsed (replay cache)
        self.replayed: tuple[bytes, ...] | None = None  # its key, when one was replayed

        # Per request, while its head is being parsed.
        self.url = bytearray()
        self.raw_headers: list[tuple[bytes, bytes]] = []
        self.receiving: StreamBody | None = None

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
        self.deadline.arm(self.config.header_timeout, self.timed_out)

    def is_lost(self) -> bool:
        """True once the client's connection is gone (``Request.is_disconnected``)."""
        return self.flow.lost

    def connection_lost(self, exc: Exception | None) -> None:
        self.wire.handle(_LOST)
        self.state.release(self)
        self.deadline.cancel()
        if self.transport is not None:
            self.flow.connection_lost()
        for job in self.pipeline:
            if job.body is not None:
                job.body.fail(HTTPError(400, "the client closed the connection"))

    def eof_received(self) -> bool:
        self.eof = True
        if self.receiving is not None:
            self.receiving.fail(HTTPError(400, "the client closed before sending the whole body"))
        if self.wire.phase <= _IDLE:  # still reading
            self.move(_EOF)
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
            self.at_rest = False
            return  # closing or lingering: what still comes is discarded
        replays = self.replays
        at_boundary = replays is not None and fastpath.at_boundary(self, phase)
        if at_boundary:
            assert replays is not None
            if fastpath.answer_known(self, replays, data):
                return
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
        if at_boundary:
            assert replays is not None
            fastpath.remember(self, replays, data)
        if self.wire.phase == _CLOSING and not self.pipeline and self.runner is None:
            self.end_after_response()  # answered on the spot, and the last (fastpath)
        else:
            self.update_reading()

    # -- parser callbacks -----------------------------------------------------------------

    def on_message_begin(self) -> None:
        if self.wire.phase > _IDLE:  # no longer reading
            self.at_rest = False  # a request after the last one: it stays unread
            raise StopParsing
        self.at_rest = False
        self.move(_BEGIN)
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
        self.move(_HEAD_DONE)
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
            if key is not None and fastpath.answer(self, replays, key, keep_alive=keep_alive):
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
            self.move(_CLOSE_AFTER)
            self.receiving = None

    def on_body(self, data: bytes) -> None:
        self.state.bytes_in += len(data)
        if self.receiving is not None:
            self.receiving.feed(data)
            self.buffered_body += len(data)

    def on_message_complete(self) -> None:
        self.at_rest = True
        if self.receiving is not None:
            self.receiving.finish()
            self.receiving = None

    # -- the request cycle ----------------------------------------------------------------

    def _refuse(self, error: HTTPError, event: Event = _CLOSE_AFTER) -> None:
        """Answer ``error`` after the responses already due, then close."""
        if self.wire.phase > _IDLE:  # no longer reading
            return
        self.at_rest = False  # what follows a refused head is not read
        self.move(event)
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
            self.move(_DRAINED)

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
