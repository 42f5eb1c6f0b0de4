"""The access log: one Common Log Format line per response, on stderr."""

from __future__ import annotations

import sys
import time
from typing import TextIO

_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


class AccessLog:
    """Writes ``host - - [day/Mon/year:HH:MM:SS +0000] "request line" status bytes``.

    The timestamp text is cached per second: formatting it per request costs more than
    writing the line. Times are UTC so the line is the same whatever the server's zone.
    """

    def __init__(self, stream: TextIO | None = None) -> None:
        self.stream = stream if stream is not None else sys.stderr
        self._second = -1
        self._stamp = ""

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

    def write(self, host: str, request_line: str, status: int, size: int | None) -> None:
        """Log one response; ``size`` is body bytes sent (None: ``-``)."""
        line = request_line.replace("\\", "\\\\").replace('"', '\\"')
        sent = "-" if size is None else str(size)
        self.stream.write(f'{host} - - [{self._timestamp()}] "{line}" {status} {sent}\n')
        self.stream.flush()
