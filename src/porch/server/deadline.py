"""One deadline per connection: the header, keep-alive or linger timer, whichever is armed.

A connection runs at most one timer at a time (``porch.http.wire.state.TIMERS``). The
deadline and its callback are two attributes; one loop ``TimerHandle`` wakes at the earliest
deadline and, when the deadline has moved later meanwhile, sleeps again until it. So arming
and disarming per request cost two assignments, not a heap push and a cancelled handle each
(four per keep-alive request), and a deadline still fires on time.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable


class Deadline:
    """Call ``callback`` at the armed time unless disarmed or re-armed first."""

    __slots__ = ("_callback", "_handle", "_handle_at", "_loop", "at")

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self._loop = loop
        self._handle: asyncio.TimerHandle | None = None
        self._handle_at = 0.0
        self.at: float | None = None  # when the armed callback is due; None: none armed
        self._callback: Callable[[], None] | None = None

    def arm(self, seconds: float, callback: Callable[[], None]) -> None:
        deadline = self._loop.time() + seconds
        self.at = deadline
        self._callback = callback
        handle = self._handle
        if handle is None or self._handle_at > deadline:
            if handle is not None:
                handle.cancel()
            self._handle_at = deadline
            self._handle = self._loop.call_at(deadline, self._wake)

    def disarm(self) -> None:
        self.at = None
        self._callback = None

    def cancel(self) -> None:
        """Disarm and drop the loop timer (the connection is gone)."""
        self.disarm()
        if self._handle is not None:
            self._handle.cancel()
            self._handle = None

    def _wake(self) -> None:
        self._handle = None
        deadline, callback = self.at, self._callback
        if deadline is None or callback is None:
            return
        if deadline > self._loop.time():
            self._handle_at = deadline
            self._handle = self._loop.call_at(deadline, self._wake)
            return
        self.at = None
        self._callback = None
        callback()
