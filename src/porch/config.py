"""``Config``: every setting and limit porch has, in one frozen dataclass.

Each limit has a ``DEFAULT_*`` constant here, a field, and a command-line flag in ``porch.cli``.
The defaults and the reasons for them are listed in docs/limits.md.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8000
DEFAULT_MAX_URL_BYTES = 8 * 1024
DEFAULT_MAX_HEADER_BYTES = 16 * 1024
DEFAULT_MAX_HEADERS = 100
DEFAULT_HEADER_TIMEOUT = 10.0
DEFAULT_BODY_TIMEOUT = 30.0
DEFAULT_KEEPALIVE_TIMEOUT = 15.0
DEFAULT_MAX_CONNECTIONS = 1024
DEFAULT_SHUTDOWN_GRACE = 5.0
DEFAULT_MAX_PIPELINE = 32

# Reading files (issue 3): ranges and compression.
DEFAULT_MAX_RANGES = 100
"""A Range with more ranges than this is ignored (200, whole file), as nginx's max_ranges."""
DEFAULT_COMPRESS_MIN_BYTES = 1024
"""Text responses of at most this many bytes go out uncompressed: gzip would not pay."""


@dataclass(frozen=True, slots=True, kw_only=True)
class Config:
    """The whole configuration; ``root`` must be an absolute, resolved directory.

    Built once at start (``porch.cli`` validates it loudly there) and read-only afterwards.
    """

    root: Path
    host: str = DEFAULT_HOST
    port: int = DEFAULT_PORT
    hidden: bool = False
    quiet: bool = False
    loop: str = "auto"
    max_url_bytes: int = DEFAULT_MAX_URL_BYTES
    max_header_bytes: int = DEFAULT_MAX_HEADER_BYTES
    max_headers: int = DEFAULT_MAX_HEADERS
    header_timeout: float = DEFAULT_HEADER_TIMEOUT
    body_timeout: float = DEFAULT_BODY_TIMEOUT
    keepalive_timeout: float = DEFAULT_KEEPALIVE_TIMEOUT
    max_connections: int = DEFAULT_MAX_CONNECTIONS
    max_pipeline: int = DEFAULT_MAX_PIPELINE
    shutdown_grace: float = DEFAULT_SHUTDOWN_GRACE
    # Reading files (issue 3): ranges and compression.
    max_ranges: int = DEFAULT_MAX_RANGES
    compress: bool = True
    compress_min_bytes: int = DEFAULT_COMPRESS_MIN_BYTES
