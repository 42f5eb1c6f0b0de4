"""The access log: one line per response on stderr, in Common Log Format or as JSON lines."""

from __future__ import annotations

import asyncio
import json
import sys
import time
from typing import TextIO

_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


class AccessLog:
    """Writes ``host - user [day/Mon/year:HH:MM:SS +0000] "request line" status bytes``, or
    with ``json_lines`` one JSON object per line (``--access-log-format json``: for log
    shippers)::

        {"time":"2026-12-02T13:40:00Z","client":"203.0.113.7","method":"GET",
         "target":"/a.txt","protocol":"HTTP/1.1","status":200,"bytes":512}

    ``method``, ``target`` and ``protocol`` are null for a request line that could not be
    parsed; ``bytes`` is the body bytes sent, as in CLF. The timestamp text is cached per second:
    formatting it per request costs more than writing the line. Times are UTC so the line is
    the same whatever the server's zone.
    """

    def __init__(self, stream: TextIO | None = None, *, json_lines: bool = False) -> None:
        self.stream = stream if stream is not None else sys.stderr
        self.json_lines = json_lines
        self._second = -1
        self._stamp = ""
        self._iso = ""
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
            self._iso = time.strftime("%Y-%m-%dT%H:%M:%SZ", t)
            self._second = now
        return self._stamp

    def write(
        self, host: str, request_line: str, status: int, size: int | None, user: str | None = None
    ) -> None:
        """Log one response; ``size`` is body bytes sent (None: ``-``); ``user`` the
        authenticated user (None: ``-``), with spaces, quotes and control characters escaped
        so the line still splits into its fields."""
        if self.json_lines:
            self._lines.append(self._json(host, request_line, status, size, user))
        else:
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

    def _json(
        self, host: str, request_line: str, status: int, size: int | None, user: str | None
    ) -> str:
        self._timestamp()
        parts = request_line.split(" ")
        method, target, protocol = parts if len(parts) == 3 else (None, None, None)
        record = {
            "time": self._iso,
            "client": host,
            "user": user,
            "method": method,
            "target": target,
            "protocol": protocol,
            "status": status,
            "bytes": size,
        }
        return json.dumps(record, ensure_ascii=True, separators=(",", ":")) + "\n"

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
