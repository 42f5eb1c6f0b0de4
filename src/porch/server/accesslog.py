"""The access log: one Common Log Format line per response, on stderr."""

from __future__ import annotations

import asyncio
import sys
import time
from typing import TextIO

_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


class AccessLog:
    """Writes ``host - user [day/Mon/year:HH:MM:SS +0000] "request line" status bytes``.

    The timestamp text is cached per second: formatting it per request costs more than
    writing the line. Times are UTC so the line is the same whatever the server's zone.
    """

    def __init__(self, stream: TextIO | None = None) -> None:
        self.stream = stream if stream is not None else sys.stderr
        self._second = -1
        self._stamp = ""
        self._flush_scheduled = False
        self._lines: list[str] = []

    def _timestamp(self) -> str:
        now = int(time.time())
        if now != self._second:
            t = time.gmtime(now)
            self._stamp = (
                f"{t.tm_mday:02d}/{_MONTHS[t.tm_mon - 1]}/{t.tm_year}:"
                f"{t.tm_hour:02d}:{t.tm_min:02d}:{t.tm_sec:02d} +0000"
            )
            self._second = now
        return self._stamp

    def write(
        self, host: str, request_line: str, status: int, size: int | None, user: str | None = None
    ) -> None:
        """Log one response; ``size`` is body bytes sent (None: ``-``); ``user`` the
        authenticated user (None: ``-``), with spaces, quotes and control characters escaped
        so the line still splits into its fields."""
        line = request_line.replace("\\", "\\\\").replace('"', '\\"')
        sent = "-" if size is None else str(size)
        who = "-" if not user else _escape_user(user)
        self._lines.append(f'{host} - {who} [{self._timestamp()}] "{line}" {status} {sent}\n')
        if self._flush_scheduled:
            return
        # One write (one syscall) per event-loop turn, not per line: the responses answered
        # in one turn share it, and no line waits longer than that turn.
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            self.flush()
            return
        self._flush_scheduled = True
        loop.call_soon(self.flush)

    def flush(self) -> None:
        """Write the lines logged so far (the server calls it once more when it stops)."""
        self._flush_scheduled = False
        if self._lines:
            text = "".join(self._lines)
            self._lines.clear()
            self.stream.write(text)
            self.stream.flush()


def _escape_user(user: str) -> str:
    return "".join(
        f"\\x{ord(c):02x}" if c.isspace() or not c.isprintable() or c in '"\\' else c for c in user
    )
