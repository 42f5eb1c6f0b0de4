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
# Uploads (docs/uploads.md): off unless an upload directory is given; no size limit by default.
DEFAULT_UPLOAD_DIR: Path | None = None
DEFAULT_MAX_UPLOAD_SIZE: int | None = None

# Reading files (issue 3): ranges and compression.
DEFAULT_MAX_RANGES = 100
"""A Range with more ranges than this is ignored (200, whole file), as nginx's max_ranges."""
DEFAULT_COMPRESS_MIN_BYTES = 1024
"""Text responses of at most this many bytes go out uncompressed: gzip would not pay."""
# Performance (issue 6): a client that stops reading a response is cut off.
DEFAULT_SEND_TIMEOUT = 60.0
"""Seconds a response may wait for the client to read any of it (nginx ``send_timeout``)."""
# Resumable uploads (issue 14, docs/uploads.md): tus 1.0 and the IETF draft.
DEFAULT_RESUMABLE_EXPIRY = 24 * 3600.0
"""Seconds an unfinished resumable upload is kept after its last byte arrived."""
DEFAULT_MAX_PARTIAL_UPLOADS = 1000
"""Unfinished resumable uploads kept at once; more are refused with 503 until some finish."""


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
    # Resumable uploads (issue 14, docs/uploads.md): on whenever uploads are; partials live in
    # the state directory's "uploads" subdirectory.
    resumable: bool = True
    resumable_expiry: float = DEFAULT_RESUMABLE_EXPIRY
    max_partial_uploads: int = DEFAULT_MAX_PARTIAL_UPLOADS

    # The wire core (issue 18): the credentials file the accounts came from, so that
    # ``validate`` can refuse it inside ROOT as it refuses a TLS key there.
    auth_file: Path | None = None

    def validate(self) -> Runtime:
        """Check every setting that can be wrong on this machine, once; ``ConfigError`` (a
        ``ValueError``) with a message on a fault. See porch.runtime."""
        from porch.runtime import validate

        return validate(self)
