"""The head limits: URL bytes (414), header bytes and header count (431).

llhttp (httptools) enforces none of these, and an ASGI host server or the in-memory test client
enforce others or none; so porch counts them itself, here, the same way for every front end.
A header field counts ``len(name) + len(value) + 4`` bytes (``": "`` and CRLF), the URL its raw
bytes including the query. The server counts while the head streams in (``start``, ``url``,
``header``: it refuses the moment a limit is crossed, before buffering more); the other front
ends, which get a whole head, call ``check``. One ``HeadLimits`` per connection is reused for
every request on it: ``start`` resets the counters, nothing is allocated per request.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Protocol

from porch.http.errors import ProtocolError

DEFAULT_MAX_URL_BYTES = 8 * 1024
DEFAULT_MAX_HEADER_BYTES = 16 * 1024
DEFAULT_MAX_HEADERS = 100
"""porch.config's DEFAULT_* constants are these."""


class LimitSettings(Protocol):
    """Where the limits come from (``porch.config.Config``)."""

    @property
    def max_url_bytes(self) -> int: ...

    @property
    def max_header_bytes(self) -> int: ...

    @property
    def max_headers(self) -> int: ...


class HeadLimits:
    """Counts one request head against the limits; raises ``ProtocolError`` (414/431)."""

    __slots__ = (
        "header_bytes",
        "headers",
        "max_header_bytes",
        "max_headers",
        "max_url_bytes",
        "url_bytes",
    )

    def __init__(
        self,
        max_url_bytes: int = DEFAULT_MAX_URL_BYTES,
        max_header_bytes: int = DEFAULT_MAX_HEADER_BYTES,
        max_headers: int = DEFAULT_MAX_HEADERS,
    ) -> None:
        self.max_url_bytes = max_url_bytes
        self.max_header_bytes = max_header_bytes
        self.max_headers = max_headers
        self.url_bytes = 0
        self.header_bytes = 0
        self.headers = 0

    @classmethod
    def of(cls, settings: LimitSettings) -> HeadLimits:
        """A counter with the limits of ``settings``."""
        return cls(settings.max_url_bytes, settings.max_header_bytes, settings.max_headers)

    def start(self) -> None:
        """A new head begins: counters to zero."""
        self.url_bytes = self.header_bytes = self.headers = 0

    def url(self, size: int) -> None:
        """``size`` more bytes of the request-target arrived."""
        self.url_bytes += size
        if self.url_bytes > self.max_url_bytes:
            raise ProtocolError(414, f"the URL is longer than {self.max_url_bytes} bytes")

    def header(self, name_size: int, value_size: int) -> None:
        """One more header field, of these name and value sizes."""
        self.header_bytes += name_size + value_size + 4
        self.headers += 1
        if self.header_bytes > self.max_header_bytes:
            raise ProtocolError(431, f"the headers are larger than {self.max_header_bytes} bytes")
        if self.headers > self.max_headers:
            raise ProtocolError(431, f"more than {self.max_headers} header fields")

    def check(self, url_size: int, fields: Iterable[tuple[str | bytes, str | bytes]]) -> None:
        """A whole head at once: the target's size and its header fields."""
        self.start()
        self.url(url_size)
        for name, value in fields:
            self.header(len(name), len(value))
