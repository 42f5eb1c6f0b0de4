"""Answering from the replay cache on the parser's callback: the hot path (issue 12).

Theory of operation. ``porch.server.replay`` keeps whole responses; this module is where a
connection uses them. A head is answered here, with one write and no ``Request``, task or
app, only at a boundary: no response is still due on the connection (answers stay in
order), the transport takes writes (no backpressure to respect), and the server is not
stopping. Two ways in:

* ``answer`` — from ``on_headers_complete``, for a head the parser has just read, by its key.
* ``answer_known`` — from ``data_received``, for a chunk of bytes that was, byte for byte,
  exactly one head answered from the cache before (``ReplayCache.heads``): the same bytes
  parse to the same request and pass the same checks, so the parser is skipped; the kept
  response is still validated against the file. ``remember`` records such chunks.

Either way the connection's state machine, timers, counters and access log move exactly as
for a response the request cycle sends.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from porch.http.wire import Event, Phase
from porch.server.replay import Key, ReplayCache

if TYPE_CHECKING:
    from porch.server.protocol import Connection

_NEW, _HEAD, _IDLE = Phase.NEW, Phase.HEAD, Phase.IDLE
_BEGIN, _HEAD_DONE, _DRAINED = Event.BEGIN, Event.HEAD_DONE, Event.DRAINED
_CLOSE_AFTER = Event.CLOSE_AFTER


def at_boundary(connection: Connection, phase: Phase) -> bool:
    """True when a head arriving now may be answered from the cache (module docstring)."""
    return (
        phase != _HEAD
        and not connection.pipeline
        and connection.flow.writable.is_set()
        and not connection.state.shutting_down
    )


def answer_known(connection: Connection, replays: ReplayCache, data: bytes) -> bool:
    """Answer ``data`` if it is a head answered from the cache before; True when answered.
    Otherwise get ready to notice whether this chunk turns out to be one (``remember``)."""
    key = replays.heads.get(data)
    if key is not None:
        phase = connection.wire.phase
        if answer(connection, replays, key, drained=False):
            if phase == _NEW:
                connection.move(_BEGIN)
                connection.move(_HEAD_DONE)
                connection.move(_DRAINED)
            else:  # IDLE again, and the youngest idle connection
                connection.deadline.arm(connection.config.keepalive_timeout, connection.timed_out)
                idle = connection.state.idle
                idle.pop(connection, None)
                idle[connection] = None
            return True
    connection.messages = 0
    connection.replayed = None
    return False


def remember(connection: Connection, replays: ReplayCache, data: bytes) -> None:
    """After ``data`` was parsed: if it was that one head, answered from the cache, and no
    more, remember it so the same bytes need no parsing next time."""
    if (
        connection.messages == 1
        and connection.replayed is not None
        and connection.wire.phase == _IDLE
    ):
        replays.remember_head(data, connection.replayed)


def answer(
    connection: Connection,
    replays: ReplayCache,
    key: Key,
    drained: bool = True,
    keep_alive: bool = True,
) -> bool:
    """Answer the head just read from the cache: True when it was answered, with the counters
    and log line of any response; without ``keep_alive`` (``Connection: close``, shutting
    down) the connection then ends."""
    kept = replays.get(key)
    if kept is None:
        return False
    connection.replayed = key
    assert connection.transport is not None  # a head arrived
    connection.transport.write(kept.wire(keep_alive))
    state = connection.state
    state.total_requests += 1
    state.bytes_out += kept.sent
    if state.replayed is not None:
        state.replayed(kept)
    if connection.access_log is not None:
        connection.access_log.write(
            connection.address or "-", kept.line, kept.status, kept.sent, None
        )
    if not keep_alive:
        # Closed once the parser is through this chunk (``Connection.data_received``): by then
        # it knows whether anything follows that a close would leave unread.
        connection.move(_CLOSE_AFTER)
    elif drained:
        connection.move(_DRAINED)
    return True
