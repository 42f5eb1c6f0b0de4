"""``Config``: every setting and limit porch has, in one frozen dataclass.

Each limit has a ``DEFAULT_*`` constant here, a field, and a command-line flag in ``porch.cli``.
The defaults and the reasons for them are listed in docs/limits.md.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from porch.http.auth import NO_ACCESS_CONTROL, Account, Grant

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
DEFAULT_RESPONSE_CACHE_SIZE = 16 * 1024 * 1024
"""Text responses of at most this many bytes go out uncompressed: gzip would not pay."""
# Performance (issue 6): a client that stops reading a response is cut off.
DEFAULT_SEND_TIMEOUT = 60.0
"""Seconds a response may wait for the client to read any of it (nginx ``send_timeout``)."""
# WebDAV (issue 13, docs/webdav.md): the largest XML body read, the longest lock (seconds).
DEFAULT_MAX_DAV_BODY = 1024 * 1024
DEFAULT_MAX_LOCK_TIMEOUT = 3600

# A fleet (issue 16, docs/deploy.md): caches in front, draining, metrics, the access log.
DEFAULT_MAX_AGE = 0
"""Seconds a cache may serve a file or listing without asking again; 0: ``no-cache`` (store,
but revalidate every time, which a 304 makes cheap)."""
DEFAULT_DRAIN_DELAY = 5.0
"""Seconds between SIGTERM and closing the listener, while ``/-/health`` says 503 so a load
balancer takes the node out (HAProxy's default checks need 3 x 2 s to notice)."""
DEFAULT_METRICS_ALLOW = ("127.0.0.0/8", "::1")
"""Who may read ``/-/metrics`` when it is on: loopback only, unless told otherwise."""
ACCESS_LOG_FORMATS = ("clf", "json")

# Issue 19: name conflicts on upload (refuse | rename | replace).
DEFAULT_ON_CONFLICT = "refuse"

# Folders (issue 15, docs/folders.md): archives, search, thumbnails, READMEs, checksums.
DEFAULT_MAX_ARCHIVE_ENTRIES = 100_000
"""An archive of more files and folders than this is refused (413) before its first byte."""
DEFAULT_MAX_ARCHIVE_SIZE = 256 * 1024**3
"""An archive whose members add up to more bytes than this is refused (413)."""
DEFAULT_MAX_SEARCH_RESULTS = 1000
"""A search stops after this many names, with a note that it was cut."""
DEFAULT_SEARCH_SECONDS = 3.0
"""A search stops after this many seconds, with a note that it was cut."""
DEFAULT_MAX_THUMBNAIL_PIXELS = 50_000_000
"""Images with more pixels than this get no thumbnail (decompression bombs): 413."""
DEFAULT_THUMBNAIL_WORKERS = 2
"""Thumbnails being made at once (each decodes a whole image in memory)."""
DEFAULT_MAX_README_SIZE = 128 * 1024
"""A README larger than this is linked, not rendered under the listing."""

# Resumable uploads (issue 14, docs/uploads.md): tus 1.0 and the IETF draft.
DEFAULT_RESUMABLE_EXPIRY = 24 * 3600.0
"""Seconds an unfinished resumable upload is kept after its last byte arrived."""
DEFAULT_MAX_PARTIAL_UPLOADS = 1000
"""Unfinished resumable uploads kept at once; more are refused with 503 until some finish."""

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
    # Small files' whole responses kept per process (porch.server.replay); 0: off.
    response_cache_size: int = DEFAULT_RESPONSE_CACHE_SIZE

    # Security (issue 8, docs/security.md): TLS, accounts and access rules, CORS.
    tls_cert: Path | None = None
    tls_key: Path | None = None
    accounts: tuple[Account, ...] = ()
    anonymous: tuple[Grant, ...] = NO_ACCESS_CONTROL
    """What clients without credentials may do. The default (no access control) reads
    everything and uploads into ``upload_dir`` when set, nothing else (``NO_ACCESS_CONTROL``);
    ``porch.cli`` picks none with accounts."""
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
    # WebDAV, grants and the trash (issue 13, docs/webdav.md): where overwritten and deleted
    # items go (absolute, resolved, outside the served tree or hidden); None deletes for good.
    trash: Path | None = None
    # The largest PROPFIND/PROPPATCH/LOCK XML body read, and the longest lock granted (s).
    max_dav_body: int = DEFAULT_MAX_DAV_BODY
    max_lock_timeout: int = DEFAULT_MAX_LOCK_TIMEOUT

    # A fleet (issue 16, docs/deploy.md): Cache-Control for caches in front, the drain on
    # SIGTERM, /-/metrics (off by default) and who may read it, the access-log format.
    max_age: int = DEFAULT_MAX_AGE
    drain_delay: float = DEFAULT_DRAIN_DELAY
    metrics: bool = False
    metrics_allow: tuple[str, ...] = DEFAULT_METRICS_ALLOW
    access_log_format: str = "clf"

    # Issue 19 (docs/uploads.md): what an upload does when its name is taken: refuse (409),
    # rename (NAME (1).EXT) or replace (for clients allowed to overwrite).
    on_conflict: str = DEFAULT_ON_CONFLICT
    # Issue 19: the --config file the settings came from, refused inside ROOT by validate.
    config_file: Path | None = None

    # Resumable uploads (issue 14, docs/uploads.md): on whenever uploads are; partials live in
    # the state directory's "uploads" subdirectory.
    resumable: bool = True
    resumable_expiry: float = DEFAULT_RESUMABLE_EXPIRY
    max_partial_uploads: int = DEFAULT_MAX_PARTIAL_UPLOADS
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

    # Folders (issue 15, docs/folders.md): ?zip/?tar/?tgz archives, ?q= search, ?thumb
    # thumbnails, READMEs under listings, ?hash= checksums.
    archives: bool = True
    max_archive_entries: int = DEFAULT_MAX_ARCHIVE_ENTRIES
    max_archive_size: int = DEFAULT_MAX_ARCHIVE_SIZE
    max_search_results: int = DEFAULT_MAX_SEARCH_RESULTS
    search_seconds: float = DEFAULT_SEARCH_SECONDS
    thumbnails: bool = True
    max_thumbnail_pixels: int = DEFAULT_MAX_THUMBNAIL_PIXELS
    thumbnail_workers: int = DEFAULT_THUMBNAIL_WORKERS
    readmes: bool = True
    max_readme_size: int = DEFAULT_MAX_README_SIZE
