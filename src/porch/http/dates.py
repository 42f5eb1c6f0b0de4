"""HTTP dates (RFC 9110 §5.6.7): IMF-fixdate out, the three historic formats in."""

from __future__ import annotations

import datetime
import email.utils
import functools
import time

_DAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


def format_http_date(timestamp: float) -> str:
    """``Sun, 06 Nov 1994 08:49:37 GMT`` for a POSIX timestamp (fractions are dropped).

    Formatted from ``time.gmtime`` directly: ``email.utils.formatdate`` builds a datetime and
    costs several times more, and porch formats a Last-Modified for every file response.
    """
    t = time.gmtime(timestamp)
    return (
        f"{_DAYS[t.tm_wday]}, {t.tm_mday:02d} {_MONTHS[t.tm_mon - 1]} {t.tm_year:04d} "
        f"{t.tm_hour:02d}:{t.tm_min:02d}:{t.tm_sec:02d} GMT"
    )


@functools.lru_cache(maxsize=256)
def parse_http_date(value: str) -> float | None:
    """The POSIX timestamp of an HTTP date, or None when it is not one.

    An invalid date is not an error: RFC 9110 says a recipient ignores a conditional header
    whose date it cannot parse. All three formats RFC 9110 requires are read; asctime's carries
    no zone and is UTC by definition (HTTP dates are always GMT).
    """
    try:
        parsed = email.utils.parsedate_to_datetime(value.strip())
    except (TypeError, ValueError, IndexError):
        return None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=datetime.UTC)
    return parsed.timestamp()
