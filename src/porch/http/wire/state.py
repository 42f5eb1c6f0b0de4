"""The server side of one HTTP/1.1 connection as a state machine.

Theory of operation. A connection is in exactly one ``Phase``; ``Event``s move it, and the
moves are all in ``TRANSITIONS`` (a pair missing there is a bug in the caller, raised as
``WireStateError``, never a silent change). Each phase runs at most one ``Timer``, listed in
``TIMERS``, which is why the transport needs one deadline per connection:

    NEW ──BEGIN──► HEAD ──HEAD_DONE──► BUSY ──DRAINED──► IDLE ──BEGIN──► HEAD ...
     │              ▲                   │                  │
     │              └──────BEGIN────────┘ (pipelining)     │
     └── TIMEOUT/EOF/SHUTDOWN ──► CLOSED ◄── TIMEOUT/EOF/SHUTDOWN

* ``NEW``: accepted, no byte yet; the header timer runs from here (slowloris).
* ``HEAD``: a request head is arriving. The header timer keeps running from ``NEW`` (a first
  byte does not restart the clock), and starts afresh from ``IDLE`` or ``BUSY``.
* ``BUSY``: requests are being answered, none is arriving; no connection timer (the body and
  send timeouts belong to the request being answered).
* ``IDLE``: every response sent, the connection kept alive; the keep-alive timer runs.
* ``CLOSING``: no more requests will be read (a protocol error, a response that could not
  keep the connection, the client's EOF, shutdown); the queued answers still go out in order.
* ``LINGER``: the last answer sent and our side shut; what the client still sends is
  discarded for a moment, so it reads the answer instead of a reset (nginx's lingering close).
* ``CLOSED``: gone.

Pipelining is why ``HEAD`` can hold requests in flight: the phase says what the reading side
does; how many answers are queued is the transport's count, which the events carry
(``DRAINED`` only when the queue is empty). Keep-alive itself is decided per response by
``porch.http.wire.framing.frame``; ``CLOSE_AFTER`` is how that decision reaches this machine.
"""

from __future__ import annotations

from enum import IntEnum
from typing import Final


class Phase(IntEnum):
    NEW = 0
    HEAD = 1
    BUSY = 2
    IDLE = 3
    CLOSING = 4
    LINGER = 5
    CLOSED = 6


class Event(IntEnum):
    BEGIN = 0
    """The first byte of a request head."""
    HEAD_DONE = 1
    """A head is complete; its request is queued for an answer."""
    DRAINED = 2
    """The last queued response went out and the connection stays open."""
    CLOSE_AFTER = 3
    """No more requests will be read: a protocol error, or a response that ends the connection."""
    EOF = 4
    """The client shut its sending side."""
    TIMEOUT = 5
    """The phase's timer fired."""
    SHUTDOWN = 6
    """The server is stopping."""
    DONE = 7
    """In CLOSING: the last queued answer went out; linger (when it can) or close."""
    LOST = 8
    """The transport is gone."""


class Timer(IntEnum):
    NONE = 0
    HEADER = 1
    KEEPALIVE = 2
    LINGER = 3


class WireStateError(Exception):
    """An event that cannot happen in the current phase: a bug in porch, not the peer."""


_OPEN = (Phase.NEW, Phase.HEAD, Phase.BUSY, Phase.IDLE)

_TABLE: dict[Phase, dict[Event, Phase]] = {
    Phase.NEW: {
        Event.BEGIN: Phase.HEAD,
        Event.TIMEOUT: Phase.CLOSED,
        Event.EOF: Phase.CLOSED,
        Event.SHUTDOWN: Phase.CLOSED,
    },
    Phase.HEAD: {
        Event.HEAD_DONE: Phase.BUSY,
        Event.DRAINED: Phase.HEAD,
        Event.TIMEOUT: Phase.CLOSING,  # answered 408, after what is queued
    },
    Phase.BUSY: {
        Event.BEGIN: Phase.HEAD,
        Event.HEAD_DONE: Phase.BUSY,
        Event.DRAINED: Phase.IDLE,
    },
    Phase.IDLE: {
        Event.BEGIN: Phase.HEAD,
        Event.TIMEOUT: Phase.CLOSED,
        Event.EOF: Phase.CLOSED,
        Event.SHUTDOWN: Phase.CLOSED,
    },
    Phase.CLOSING: {
        Event.DONE: Phase.LINGER,
        Event.DRAINED: Phase.CLOSING,
    },
    Phase.LINGER: {Event.TIMEOUT: Phase.CLOSED},
    Phase.CLOSED: {},
}
for _phase in (Phase.HEAD, Phase.BUSY):
    _TABLE[_phase][Event.EOF] = Phase.CLOSING
    _TABLE[_phase][Event.SHUTDOWN] = Phase.CLOSING
for _phase in (*_OPEN, Phase.CLOSING):
    _TABLE[_phase][Event.CLOSE_AFTER] = Phase.CLOSING
    _TABLE[_phase][Event.EOF] = _TABLE[_phase].get(Event.EOF, Phase.CLOSING)
    _TABLE[_phase][Event.SHUTDOWN] = _TABLE[_phase].get(Event.SHUTDOWN, Phase.CLOSING)
for _phase in Phase:
    _TABLE[_phase][Event.LOST] = Phase.CLOSED
_TABLE[Phase.LINGER][Event.EOF] = Phase.CLOSED
_TABLE[Phase.LINGER][Event.SHUTDOWN] = Phase.LINGER
_TABLE[Phase.CLOSED].update(dict.fromkeys(Event, Phase.CLOSED))  # late events are harmless

TRANSITIONS: Final = {phase: dict(moves) for phase, moves in _TABLE.items()}
"""Phase -> event -> next phase: every move the machine can make."""

NEXT: Final = tuple(tuple(TRANSITIONS[phase].get(event) for event in Event) for phase in Phase)
"""``TRANSITIONS`` compiled to ``NEXT[phase][event]`` (None: not allowed): the same table, as
tuples a transport can index without a call."""

TIMERS: Final = {
    Phase.NEW: Timer.HEADER,
    Phase.HEAD: Timer.HEADER,
    Phase.BUSY: Timer.NONE,
    Phase.IDLE: Timer.KEEPALIVE,
    Phase.CLOSING: Timer.NONE,
    Phase.LINGER: Timer.LINGER,
    Phase.CLOSED: Timer.NONE,
}
"""The one timer each phase runs."""

TIMER_OF: Final = tuple(TIMERS[phase] for phase in Phase)
"""``TIMERS`` as a tuple indexed by phase (the transport's hot path)."""


_IDLE, _CLOSED = Phase.IDLE, Phase.CLOSED  # reading an Enum member off its class is slow (3.11)


class ConnectionState:
    """The phase of one connection; ``handle`` moves it by ``TRANSITIONS``."""

    __slots__ = ("phase",)

    def __init__(self) -> None:
        self.phase = Phase.NEW

    def handle(self, event: Event) -> Phase:
        """Move by ``event``; returns the new phase. ``WireStateError`` when not allowed."""
        following = NEXT[self.phase][event]
        if following is None:
            raise WireStateError(f"{event.name} cannot happen in {self.phase.name}")
        self.phase = following
        return following

    @property
    def timer(self) -> Timer:
        """The timer the current phase runs."""
        return TIMER_OF[self.phase]

    @property
    def reading(self) -> bool:
        """True while requests may still arrive (the parser is fed)."""
        return self.phase <= _IDLE

    @property
    def open(self) -> bool:
        return self.phase != _CLOSED

    def __repr__(self) -> str:
        return f"<ConnectionState {self.phase.name}>"
