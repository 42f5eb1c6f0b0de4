"""``porch.http.wire``: the HTTP/1.1 wire rules, once, for every front end.

* ``state``: the connection state machine (named phases, one transition table, the timer
  each phase runs).
* ``framing``: how one response is delimited (Content-Length, chunked, close-delimited or no
  body), whether the connection stays open after it, and the response head bytes.
* ``limits``: the head limits (URL bytes, header bytes and count: 414 and 431).

Pure: no sockets, no files, no asyncio. ``porch.server``, ``porch.asgi`` and
``porch.testing`` all use these; none keeps its own copy.
"""

from __future__ import annotations

from porch.http.wire.framing import (
    Framing,
    Replay,
    body_allowed,
    body_length,
    frame,
    replay,
    response_head,
    status_line,
)
from porch.http.wire.limits import HeadLimits
from porch.http.wire.state import ConnectionState, Event, Phase, Timer, WireStateError

__all__ = [
    "ConnectionState",
    "Event",
    "Framing",
    "HeadLimits",
    "Phase",
    "Replay",
    "Timer",
    "WireStateError",
    "body_allowed",
    "body_length",
    "frame",
    "replay",
    "response_head",
    "status_line",
]
