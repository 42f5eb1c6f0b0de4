"""``Config``: every setting and limit porch has, in one frozen dataclass.

Each limit has a ``DEFAULT_*`` constant here, a field, and a command-line flag in ``porch.cli``.
The defaults and the reasons for them are listed in docs/limits.md.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from porch.http.auth import Access, Account, Grant

if TYPE_CHECKING:
    from porch.runtime import Runtime

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
DEFAULT_WORKERS = 1
DEFAULT_MAX_QUERY_FIELDS = 1000
# Uploads (docs/uploads.md): off unless an upload directory is given.
DEFAULT_UPLOAD_DIR: Path | None = None
DEFAULT_MAX_UPLOAD_SIZE: int | None = 10 * 1024**3
"""10 GiB (issue 17; docs/limits.md says why): a disk image or a long video fits, while one
client cannot fill the disk with a single request. ``--max-upload-size unlimited``: None."""

# Reading files (issue 3): ranges and compression.
DEFAULT_MAX_RANGES = 100
"""A Range with more ranges than this is ignored (200, whole file), as nginx's max_ranges."""
DEFAULT_COMPRESS_MIN_BYTES = 1024
"""Text responses of at most this many bytes go out uncompressed: gzip would not pay."""
# Performance (issue 6): a client that stops reading a response is cut off.
DEFAULT_SEND_TIMEOUT = 60.0
"""Seconds a response may wait for the client to read any of it (nginx ``send_timeout``)."""
# Safe on a hostile network (issue 17, docs/security.md).
DEFAULT_ALLOWED_HOSTS: tuple[str, ...] = ()
"""Names answered besides loopback names, IP literals, the bind address and the banner's."""
DEFAULT_TEMPLATE_SECONDS = 5.0
"""Longest a user template may render (then 500); it renders in a worker thread."""
DEFAULT_TEMPLATE_MAX_BYTES = 16 * 1024 * 1024
"""Largest page a user template may render (then 500)."""
DEFAULT_MAX_PENDING_LOGINS = 32
"""Password checks running or waiting at once; one more gets 503 (porch.app.logins)."""
DEFAULT_LOGIN_FREE_FAILURES = 5
"""Failed logins per address or user name before back-off starts."""
DEFAULT_LOGIN_MAX_BACKOFF = 60.0
"""The longest back-off, in seconds, after repeated failures (it doubles per failure)."""


@dataclass(frozen=True, slots=True, kw_only=True)
class Config:
    """The whole configuration, as given; ``validate()`` checks it once into a ``Runtime``
    (resolved paths, parsed networks, the TLS context) that the server runs with.

    Built once at start and read-only afterwards. ``App`` needs ``root`` absolute and resolved
    (a validated config has it so).
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
    workers: int = DEFAULT_WORKERS
    max_query_fields: int = DEFAULT_MAX_QUERY_FIELDS
    # Reverse proxies whose X-Forwarded-For/-Proto are believed (docs/deploy.md).
    trusted_proxies: tuple[str, ...] = ()
    # Dynamic and templated pages (docs/pages.md): /time and other built-in routes, and
    # route modules (dotted names or .py paths) imported at start.
    builtin_routes: bool = True
    routes: tuple[str, ...] = ()
    # Uploads (docs/uploads.md): POST/PUT save into upload_dir (absolute, resolved) when set.
    upload_dir: Path | None = DEFAULT_UPLOAD_DIR
    max_upload_size: int | None = DEFAULT_MAX_UPLOAD_SIZE
    # Reading files (issue 3): ranges and compression.
    max_ranges: int = DEFAULT_MAX_RANGES
    compress: bool = True
    compress_min_bytes: int = DEFAULT_COMPRESS_MIN_BYTES

    # Security (issue 8, docs/security.md): TLS, accounts and access rules, CORS.
    tls_cert: Path | None = None
    tls_key: Path | None = None
    accounts: tuple[Account, ...] = ()
    anonymous: tuple[Grant, ...] = (Grant(Access.WRITE),)
    """What clients without credentials may do; write (no access control) only when there are
    no accounts: writes still need uploads to be on. ``porch.cli`` picks none with accounts."""
    cors: bool = False

    # The listing page as a web app (issue 7, docs/webapp.md): --qr prints a QR code of the
    # LAN URL at start (the page always offers its own).
    qr: bool = False
    # Performance (issue 6, docs/performance.md): slow readers.
    send_timeout: float = DEFAULT_SEND_TIMEOUT
    # State kept between requests and restarts, outside ROOT (porch.app.state): WebDAV locks
    # and properties, resumable-upload partials, thumbnail and checksum caches. None: the
    # default for this root (porch.app.state.default_state_dir).
    state_dir: Path | None = None
    # Safe on a hostile network (issue 17, docs/security.md): Host names answered besides
    # loopback names, IP literals, the bind address and the banner's (``*``: any).
    allowed_hosts: tuple[str, ...] = DEFAULT_ALLOWED_HOSTS
    # Files in writable places (the served upload directory) go out with
    # ``Content-Security-Policy: sandbox`` unless this is set (porch.app.inert).
    trust_uploaded_html: bool = False
    # User templates' budget (porch.app.usertemplates).
    template_timeout: float = DEFAULT_TEMPLATE_SECONDS
    template_max_bytes: int = DEFAULT_TEMPLATE_MAX_BYTES
    # Login floods (porch.app.logins).
    max_pending_logins: int = DEFAULT_MAX_PENDING_LOGINS
    login_free_failures: int = DEFAULT_LOGIN_FREE_FAILURES
    login_max_backoff: float = DEFAULT_LOGIN_MAX_BACKOFF

    # The wire core (issue 18): the credentials file the accounts came from, so that
    # ``validate`` can refuse it inside ROOT as it refuses a TLS key there.
    auth_file: Path | None = None

    def validate(self) -> Runtime:
        """Check every setting that can be wrong on this machine, once; ``ConfigError`` (a
        ``ValueError``) with a message on a fault. See porch.runtime."""
        from porch.runtime import validate

        return validate(self)
