"""``Config``: every setting and limit porch has, in one frozen dataclass.

Each limit has a ``DEFAULT_*`` constant here, a field, and a command-line flag in ``porch.cli``.
The defaults and the reasons for them are listed in docs/limits.md.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from porch.http.auth import Access, Account, Grant

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
DEFAULT_MAX_CONNECTIONS_PER_CLIENT = 256


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

    # Security (issue 8, docs/security.md): TLS, accounts and access rules, CORS, per-client cap.
    tls_cert: Path | None = None
    tls_key: Path | None = None
    accounts: tuple[Account, ...] = ()
    anonymous: tuple[Grant, ...] = (Grant(Access.WRITE),)
    """What clients without credentials may do; write (no access control) only when there are
    no accounts: writes still need uploads to be on. ``porch.cli`` picks none with accounts."""
    cors: bool = False
    max_connections_per_client: int = DEFAULT_MAX_CONNECTIONS_PER_CLIENT
