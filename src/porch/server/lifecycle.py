"""A connection's lifecycle: its phase, the one timer each phase runs, and how it ends.

Theory of operation. ``Lifecycle`` is the part of a connection (``porch.server.protocol``)
that applies the wire core's state machine (``porch.http.wire.state``: named phases, one
transition table) to a real transport: ``move`` takes an event, sets the next phase and arms
the timer that phase runs — the header timer from the connection's start or a head's first
byte, the keep-alive timer while idle, the linger timer while closing — on the connection's
one ``Deadline``, and keeps the server's set of idle connections (the first reclaimed under
pressure, ``porch.server.admission``).

Closing: when a response leaves a request body unread, after a protocol error, or when more
bytes came after the last request, the connection half-closes and discards what the client
still sends for ``LINGER_SECONDS``, so the client reads the response instead of a reset
(nginx's lingering close). When every byte received was parsed into complete requests
(``at_rest``: the usual ``Connection: close``), nothing is left to cause a reset, and the
connection closes at once, as nginx does: a linger there cost a shutdown, a timer, a wake-up
and a read per connection.
"""

from __future__ import annotations

import asyncio
from typing import Final

from porch.config import Config
from porch.http import HTTPError, ProtocolError
from porch.http.wire import ConnectionState, Event, Phase, Timer
from porch.http.wire.state import NEXT, TIMER_OF, WireStateError
from porch.server.admission import ServerState
from porch.server.deadline import Deadline
from porch.server.flow import FlowControl

LINGER_SECONDS: Final = 2.0

# Enum members as module constants: on Python 3.11 reading ``Phase.IDLE`` off the class costs
# about 0.25 µs, and the per-request path does it dozens of times.
_NEW, _HEAD, _BUSY, _IDLE, _CLOSING, _LINGER, _CLOSED = Phase
_BEGIN, _HEAD_DONE, _DRAINED, _CLOSE_AFTER, _EOF, _TIMEOUT, _SHUTDOWN, _DONE, _LOST = Event
_NO_TIMER, _HEADER_TIMER, _KEEPALIVE_TIMER, _LINGER_TIMER = Timer


class Lifecycle(asyncio.Protocol):
    """Phase, timer and closing of one client connection (the module docstring)."""

    transport: asyncio.Transport | None
    flow: FlowControl  # set with the transport

    def __init__(self, config: Config, state: ServerState) -> None:
        self.config = config
        self.state = state
        self.loop = asyncio.get_running_loop()
        self.transport = None
        self.address = ""  # the client's, once connected (admission sheds by it)
        self.wire = ConnectionState()
        self.deadline = Deadline(self.loop)
        self.eof = False
        self.at_rest = True  # every byte received was parsed into complete requests

    @property
    def phase(self) -> Phase:
        return self.wire.phase

    def _refuse(self, error: HTTPError, event: Event = _CLOSE_AFTER) -> None:
        """Answer ``error`` after the responses already due, then close (the protocol's)."""
        raise NotImplementedError

    def move(self, event: Event) -> None:
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
                self.deadline.arm(self.config.header_timeout, self.timed_out)
            elif timer == _KEEPALIVE_TIMER:
                self.deadline.arm(self.config.keepalive_timeout, self.timed_out)
            elif timer == _LINGER_TIMER:
                self.deadline.arm(LINGER_SECONDS, self._linger_over)
            else:
                self.deadline.disarm()
        if after == _IDLE:
            self.state.idle[self] = None
        elif before == _IDLE:
            self.state.idle.pop(self, None)

    def timed_out(self) -> None:
        phase = self.wire.phase
        if phase == _HEAD:
            self._refuse(ProtocolError(408, "the request head did not arrive in time"), _TIMEOUT)
        elif phase in (_NEW, _IDLE):
            self.move(_TIMEOUT)
            self.abort()

    def _linger_over(self) -> None:
        self.move(_TIMEOUT)
        self.abort()

    # -- closing --------------------------------------------------------------------------

    def shutdown(self) -> None:
        """Server stopping: close now when idle, else after the response in flight."""
        if self.wire.phase in (_NEW, _IDLE):
            self.move(_SHUTDOWN)
            self.abort()

    def end_after_response(self, linger: bool = True) -> None:
        """No more requests on this connection: linger when it can, else close."""
        transport = self.transport
        phase = self.wire.phase
        if transport is None or transport.is_closing() or phase >= _LINGER:
            return
        if phase != _CLOSING:
            self.move(_CLOSE_AFTER)
        if not linger or self.eof or self.at_rest or not transport.can_write_eof():
            self.abort()
            return
        self.move(_DONE)  # LINGER: discard what comes, for a moment
        transport.write_eof()
        self.flow.want_reading(True)

    def abort(self) -> None:
        """Close the transport now (buffered output is still flushed)."""
        transport = self.transport
        if transport is not None and not transport.is_closing():
            self.deadline.disarm()
            transport.close()
