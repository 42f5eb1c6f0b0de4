"""``App``: what porch answers. Knows the file system, knows nothing of sockets.

Theory of operation. ``App.handle`` is the one place errors become responses: everything
below it raises ``HTTPError`` where it finds a fault ("throw low, catch high"), and an
unexpected exception becomes a 500 page while its traceback goes to the log. Dispatch order:
dynamic routes, then templates, then uploads (POST/PUT), then files and listings.
"""

from __future__ import annotations

import dataclasses
import logging
import os
import stat
import time
import urllib.parse
from collections.abc import Callable
from pathlib import Path

from porch.app.auth import MAX_CONCURRENT_CHECKS, Guard, Principal
from porch.app.dav.methods import DAV_METHODS, Dav
from porch.app.files import (
    VALIDATOR_LOOKUPS,
    OpenFile,
    ReadOptions,
    attachment_disposition,
    compress_response,
    file_response,
    open_regular,
)
from porch.app.folders import Folders
from porch.app.hosts import allowed_hosts, check_host
from porch.app.inert import WritablePlaces
from porch.app.listing import READ_ONLY, STATIC_PREFIX, FileRights, UploadForm, listing_response
from porch.app.listingcache import LISTINGS
from porch.app.logins import LoginGuard
from porch.app.mediatypes import content_type
from porch.app.offload import offload, use_short_switch_interval
from porch.app.operations import METRICS_PATH, cache_control, metrics_response
from porch.app.pages import error_response
from porch.app.paths import OpenCache, resolve, stat_path, url_segments
from porch.app.qr import QR_PATH, qr_response
from porch.app.reserved import PREFIX as RESERVED_PREFIX
from porch.app.reserved import Reserved
from porch.app.resumable import Resumable
from porch.app.routes import HandlerT, Routes, install_routes
from porch.app.security import HEALTH_PATH, finish, health_response, is_preflight
from porch.app.security import preflight_response as cors_preflight
from porch.app.state import StateDir, default_state_dir
from porch.app.timepage import TIME_PATH, time_page
from porch.app.trash import TRASH_PATH, Trash
from porch.app.uploads import Uploads
from porch.app.usertemplates import UserTemplates
from porch.app.visitor import (
    LOGIN_PATH,
    access_of,
    is_sign_in,
    login_redirect,
    sign_in,
    visitor_of,
)
from porch.config import Config
from porch.http import Headers, HTTPError, Request, Response, ServerFault
from porch.http.auth import Access, method_access
from porch.http.forwarded import parse_networks
from porch.http.lifecycle import Lifecycle
from porch.metrics import Metrics

log = logging.getLogger("porch.app")

STATIC_DIR = os.path.join(os.path.dirname(__file__), "static")
STATIC_FILES = frozenset(name for name in os.listdir(STATIC_DIR) if not name.startswith("."))

READ_METHODS = ("GET", "HEAD")
COMPRESS_ON_LOOP_BYTES = 64 * 1024
"""Generated bodies up to this size are gzipped on the loop (well under a millisecond)."""


class App:
    """The application: ``await app(request)`` returns the response for any request.

    It never raises: every failure is already a response. The root in ``config`` must be an
    absolute, resolved directory (``porch.cli`` ensures it). ``lifecycle`` is shared with the
    server (draining turns the health check to 503); ``metrics`` is the shared-memory registry
    when ``--workers`` made one before forking, else the app makes its own when
    ``config.metrics`` is on.
    """

    def __init__(
        self,
        config: Config,
        *,
        lifecycle: Lifecycle | None = None,
        metrics: Metrics | None = None,
    ) -> None:
        self.config = config
        # A fleet (issue 16): draining, metrics, freshness for caches in front.
        self.lifecycle = lifecycle if lifecycle is not None else Lifecycle()
        if metrics is None and config.metrics:
            metrics = Metrics()
        self.metrics = metrics
        self.metrics_allow = parse_networks(config.metrics_allow)
        self.open_hits = self.open_misses = 0
        if metrics is not None:
            metrics.collect(self._collect)
        self.root = config.root
        self.guard = Guard(
            config.accounts,
            config.anonymous,
            logins=LoginGuard(
                max_pending=config.max_pending_logins,
                concurrent=MAX_CONCURRENT_CHECKS,
                free_failures=config.login_free_failures,
                max_backoff=config.login_max_backoff,
            ),
        )
        self.routes = Routes()
        self.templates = UserTemplates(
            self.root,
            hidden=config.hidden,
            seconds=config.template_timeout,
            max_bytes=config.template_max_bytes,
        )
        self.allowed_hosts = allowed_hosts(config)  # DNS rebinding (issue 17)
        self.uploads = (
            Uploads(config, self.allowed_hosts) if config.upload_dir is not None else None
        )
        # Resumable uploads (issue 14): tus and the IETF draft, beside plain uploads.
        self.resumable: Resumable | None = None
        if self.uploads is not None and config.resumable:
            self.resumable = Resumable(config, self.uploads)
            if metrics is not None:
                registry = metrics
                self.resumable.on_complete = lambda: registry.upload("resumable")
        self.reading = ReadOptions(  # file-serving settings: ranges and compression
            hidden=config.hidden,
            max_ranges=config.max_ranges,
            compress=config.compress,
            compress_min_bytes=config.compress_min_bytes,
        )
        # Issue 17: where clients put files, served inert (porch.app.inert).
        self.writable = WritablePlaces(
            [self.uploads.base_path] if self.uploads and self.uploads.base_path else [],
            trusted=config.trust_uploaded_html,
        )
        self.reading_writable = dataclasses.replace(self.reading, precompressed=False)
        self.opened = OpenCache()  # the hot path past resolve (porch.app.paths explains)
        # WebDAV and the trash (issue 13, docs/webdav.md); the state directory is made on
        # first use of a lock or property.
        self.trash = (
            Trash(config.trash, self.root, hidden=config.hidden)
            if config.trash is not None
            else None
        )
        if self.uploads is not None and self.trash is not None:
            self.uploads.keep = self.trash.keep
        self.dav = Dav(
            config,
            lambda: StateDir(config.state_dir or default_state_dir(config.root), config.root).sub(
                "dav"
            ),
            self.trash,
        )
        use_short_switch_interval()  # the loop shares the GIL with worker threads (issue 17)
        # porch's own URLs under /-/ (porch.app.reserved); features add theirs the same way.
        self.reserved = Reserved()
        self.reserved.add(HEALTH_PATH, self.answer_health, methods=None, public=True)
        if self.metrics is not None:
            # Public: its own rule, by client address (--metrics-allow), needs no account.
            self.reserved.add(METRICS_PATH, self.answer_metrics, public=True)
        self.reserved.add(STATIC_PREFIX, self.serve_static, prefix=True)
        self.reserved.add(QR_PATH, lambda r: qr_response(r, self.config.host))
        if self.trash is not None:
            # Public: each item is judged against its original URL, not /-/trash/ itself.
            self.reserved.add(TRASH_PATH, self.answer_trash, methods=None, public=True, prefix=True)
        if config.accounts:  # issue 19: /-/login leads to the sign-in action (visitor.py)
            self.reserved.add(LOGIN_PATH, login_redirect, methods=("GET",), public=True)
        if config.builtin_routes:
            self.routes.add(TIME_PATH, time_page, builtin=True)
        self.folders = Folders(config, self.guard)  # archives, search, thumbnails (issue 15)
        install_routes(self, config.routes)  # RouteLoadError: porch.cli reports it, exits 2

    def route(
        self, path: str, methods: tuple[str, ...] = ("GET",)
    ) -> Callable[[HandlerT], HandlerT]:
        """Decorator registering a route: ``@app.route("/hello")`` (see porch.app.routes)."""
        return self.routes.route(path, methods)

    async def __call__(self, request: Request) -> Response:
        return await self.handle(request)

    async def handle(self, request: Request) -> Response:
        """Answer ``request``; errors of any kind become error pages here and only here."""
        if self.metrics is None:
            return await self.answer(request)
        started = time.perf_counter()
        response = await self.answer(request)
        self.metrics.request(request.method, response.status, time.perf_counter() - started)
        # A resumable upload counts once, when it completes (Resumable.on_complete).
        if (
            request.method in ("POST", "PUT")
            and response.status in (201, 204)
            and (self.resumable is None or not self.resumable.claims(request))
        ):
            self.metrics.upload()
        return response

    async def answer(self, request: Request) -> Response:
        """``handle`` without the metrics."""
        try:
            response = await self.guarded(request)
        except HTTPError as error:
            return self.error_page(error, request)
        except Exception:
            log.exception("unexpected error answering %s %s", request.method, request.target)
            fault = ServerFault(500, "the server hit an unexpected error")
            return self.error_page(fault, request)
        return finish(request, response, cors=self.config.cors)

    def error_page(self, error: HTTPError, request: Request | None) -> Response:
        """The one error page: negotiated (HTML, text or JSON), with the headers every
        response carries. It is also the ``ErrorPage`` the front ends render their own
        errors with (a malformed head, a limit: ``request`` None), so those look the same."""
        return finish(request, error_response(request, error), cors=self.config.cors)

    async def guarded(self, request: Request) -> Response:
        """The Host check (421, issue 17), then public reserved URLs (the health check) and
        CORS preflight (no credentials), then the access rules, then porch's other reserved
        URLs, then dispatch.

        The rules decide from method, path and credentials alone, before dispatch touches a
        file (porch.app.auth); docs/security.md.
        """
        check_host(request, self.allowed_hosts)
        path = request.path
        entry = self.reserved.match(path) if path.startswith(RESERVED_PREFIX) else None
        if entry is not None and entry.public:
            return await entry.answer(request)
        if self.config.cors and is_preflight(request):
            return cors_preflight()
        if is_sign_in(request, self.guard):
            return await sign_in(request, self.guard)
        if self.resumable is not None and self.resumable.claims(request):
            if not self.guard.open:
                target, needed_there = self.resumable.guard_target(request)
                checked = await self.guard.check(request, needed_there, path=target)
                request.user = checked.name
            return await self.resumable.handle(request, request.user)
        # An archive of a posted selection only reads (porch.app.folders).
        needed = Access.READ if self.folders.is_selection(request) else None
        who = self.guard.nobody if self.guard.open else await self.guard.check(request, needed)
        request.user = who.name
        if entry is not None:
            return await entry.answer(request)
        return await self.dispatch(request, who)

    def answer_health(self, request: Request) -> Response:
        """``/-/health``: 200 while serving, 503 once draining (a balancer takes the node out);
        the first poll tells the server someone is watching (porch.http.lifecycle)."""
        self.lifecycle.health_polled = True
        return health_response(request, self.root, draining=self.lifecycle.draining)

    def answer_metrics(self, request: Request) -> Response:
        """``/-/metrics`` (registered only with ``--metrics``): for ``--metrics-allow``."""
        assert self.metrics is not None  # registered only with metrics on
        return metrics_response(request, self.metrics, self.metrics_allow)

    async def answer_trash(self, request: Request) -> Response:
        """``/-/trash/``: the items the caller may write at their original URL
        (porch.app.trash judges each against its own URL)."""
        assert self.trash is not None  # registered only with a trash
        return await self.trash.respond(request, await self.guard.principal(request))

    def access(self, request: Request, path: str) -> Access:
        """The level the client of ``request`` (after ``guarded``) has on ``path``."""
        return access_of(request, self.guard, path)

    def landing_path(self, request: Request) -> str | None:
        """The decoded URL an upload will be served at, when porch serves the upload
        directory: a write grant must cover it as well as the URL posted to (issue 17:
        ``write@/pub`` posting to ``/pub/`` must not store into ``/incoming/``)."""
        uploads = self.uploads
        if request.method not in ("POST", "PUT") or uploads is None:
            return None
        base = uploads.base_path
        if base is None:
            return None
        if request.method == "POST" and uploads.is_form(request):
            return base
        return base + uploads.raw_name(request.path)

    def allowed_methods(self, who: Principal | None = None) -> tuple[str, ...]:
        """The methods a file or directory URL accepts (for ``who``, when known)."""
        uploads = ("POST", "PUT") if self.uploads is not None else ()
        if who is not None and who.writes_tree():
            return (*READ_METHODS, "POST", "OPTIONS", "PROPFIND", *self.dav.write_methods)
        return (*READ_METHODS, *uploads, "OPTIONS", "PROPFIND")

    async def dispatch(self, request: Request, who: Principal) -> Response:
        """Route ``request`` to what answers it; raises ``HTTPError`` for refusals."""
        response = await self.routes.dispatch(request)
        if response is None:
            response = await self.templates.adispatch(request)
        if response is None:
            response = await self.folders.handle(request)
        if response is not None:
            return response
        method = request.method
        if method in READ_METHODS:
            return await self.serve_path(request, who)
        uploads = self.uploads
        if method in ("POST", "PUT") and uploads is not None and uploads.takes(request, who):
            # Issue 17: the grant must also cover the URL the file will be served at.
            landing = self.landing_path(request)
            if landing is not None and landing != request.path:
                who.require(landing, method_access(method), tree=False)
            # Replacing a file needs write; add may only create (a drop box).
            replace = who.level(request.path) >= Access.WRITE
            return await uploads.handle(request, replace=replace)
        if (
            method == "PROPFIND"
            or ((method in DAV_METHODS or method in ("PUT", "POST")) and who.writes_tree())
            or (method == "COPY" and not self.guard.open)  # judged at its Destination
        ):
            return await self.dav.handle(request, who)
        allowed = ", ".join(self.allowed_methods(who))
        if method == "OPTIONS":
            headers = Headers([("Allow", allowed)])
            self.dav.options_headers(headers)
            return Response(204, headers)
        raise HTTPError(405, f"{method} is not allowed here", {"Allow": allowed})

    async def serve_path(self, request: Request, who: Principal | None = None) -> Response:
        """GET/HEAD of a file or directory under the root (``who``: for the listing page)."""
        cached = self.opened.open(request.path)
        if cached is not None:
            self.open_hits += 1
            path, fd, info = cached
            return self.serve_file(request, request.path, OpenFile(path, fd, info))
        real = resolve(self.root, request.path, hidden=self.config.hidden)
        info = stat_path(real)
        if stat.S_ISDIR(info.st_mode):
            return await self.serve_directory(request, str(real), who)
        if request.path.endswith("/"):
            raise HTTPError(404, "not found: a file's URL has no trailing slash")
        path = str(real)
        fd, info = open_regular(path)
        self.open_misses += 1
        self.opened.remember(request.path, path, info)
        return self.serve_file(request, request.path, OpenFile(path, fd, info))

    async def serve_directory(
        self, request: Request, real: str, who: Principal | None = None
    ) -> Response:
        """A directory: redirect to the slash form, then index.html, then a listing."""
        if not request.path.endswith("/"):
            return self.redirect_to_slash(request)
        # index.html goes through the containment function like any other name: a link to
        # a file outside ROOT, or to a hidden one, is no index (and is not listed either).
        index_url = request.path + "index.html"
        try:
            index = str(resolve(self.root, index_url, hidden=self.config.hidden))
            fd, info = open_regular(index)
        except HTTPError:
            return await self.list_directory(request, real, who)
        return self.serve_file(request, index_url, OpenFile(index, fd, info))

    def redirect_to_slash(self, request: Request) -> Response:
        """301 to the directory's slash form.

        The Location is rebuilt from the checked segments, so it starts with exactly one ``/``
        (``//host/dir`` must not become a protocol-relative redirect: CVE-2021-28861).
        """
        names = url_segments(request.path, hidden=self.config.hidden)
        location = request.root_path + "/" + "".join(urllib.parse.quote(n) + "/" for n in names)
        _, _, query = request.target.partition("?")
        if query:
            location += "?" + query
        return Response(301, Headers([("Location", location)]), b"")

    def serve_file(self, request: Request, url_path: str, opened: OpenFile) -> Response:
        """A regular file: validators, conditionals, ranges, ?bytes=N, compression;
        ``?download`` adds ``Content-Disposition: attachment`` (docs/webapp.md)."""
        writable = self.writable.covers(url_path)
        options = self.reading_writable if writable else self.reading
        response = file_response(request, self.root, url_path, opened, options)
        name = url_path.rsplit("/", 1)[-1]
        policy = self.writable.policy(url_path, content_type(name)) if writable else None
        if policy is not None:
            response.headers.set("Content-Security-Policy", policy)
        if "download" in request.query and response.status < 300:
            name = url_path.rsplit("/", 1)[-1]
            response.headers.set("Content-Disposition", attachment_disposition(name))
        response.headers.set("Cache-Control", cache_control(request, self.config.max_age))
        return response

    async def list_directory(
        self, request: Request, real: str, who: Principal | None = None
    ) -> Response:
        """A directory without index.html: text, HTML or JSON (porch.app.listing); a large
        page is gzipped in a worker thread (issue 17: never on the loop)."""
        response = await listing_response(
            request,
            self.root,
            real,
            hidden=self.config.hidden,
            upload=self.upload_form(request),
            bind_host=self.config.host,
            rights=self.file_rights(request, who),
            visitor=visitor_of(request, self.guard),
            folder=self.folders.page(request),
        )
        response.headers.set("Cache-Control", cache_control(request, self.config.max_age))
        if isinstance(response.body, bytes) and len(response.body) > COMPRESS_ON_LOOP_BYTES:
            return await offload(compress_response, request, response, self.reading)
        return compress_response(request, response, self.reading)

    def file_rights(self, request: Request, who: Principal | None) -> FileRights:
        """What the listing page offers ``who`` on this folder (issue 13: the page's file
        operations, docs/webapp.md): their level for writing here in the served tree, and
        whether deletions can be undone from the trash."""
        if who is None:
            return READ_ONLY
        level = who.tree_level(request.path).name.lower()
        return FileRights(level, trash=self.trash is not None)

    def upload_form(self, request: Request) -> UploadForm | None:
        """Whether and how this listing offers uploads (docs/webapp.md): with the upload
        directory served under ROOT, on that directory's own listing (other listings link to
        it); with it outside ROOT (or hidden), on every listing, since files land in one place
        whichever page sends them."""
        if self.uploads is None:
            return None
        base = self.uploads.base_url
        limit = self.config.max_upload_size
        # Issue 19: the page posts to the upload directory's own URL (where a per-folder grant
        # applies), and offers the form only to visitors who may write there.
        target = self.uploads.base_path or "/"
        level = self.access(request, target)
        writable = level >= method_access("POST")
        replace = level >= Access.WRITE  # replacing needs write; add (a drop box) only creates
        if base is None:
            return UploadForm(
                show=writable, listed_at=None, max_size=limit, replace=replace, locked=not writable
            )
        here = "/" + "".join(
            urllib.parse.quote(name) + "/"
            for name in url_segments(request.path, hidden=self.config.hidden)
        )
        if here != base and not writable:
            return None  # no pointer to an upload folder this visitor cannot use
        return UploadForm(
            show=here == base and writable,
            listed_at=base,
            max_size=limit,
            post_url=base,
            replace=replace,
            locked=here == base and not writable,
        )

    def serve_static(self, request: Request) -> Response:
        """porch's own assets under the reserved prefix ``/-/static/`` (the listing's CSS).

        Only names shipped in the package's ``static`` directory exist there; the prefix
        shadows a ``-`` directory in ROOT, which docs/reading.md says.
        """
        name = request.path[len(STATIC_PREFIX) :]
        if name not in STATIC_FILES:
            raise HTTPError(404, "not found")
        path = os.path.join(STATIC_DIR, name)
        fd, info = open_regular(path)
        response = file_response(
            request, Path(STATIC_DIR), "/" + name, OpenFile(path, fd, info), self.reading
        )
        response.headers.add("Cache-Control", "public, max-age=3600")
        return response

    def _collect(self, metrics: Metrics) -> None:
        """The caches' counters into this process's metrics slot (porch.metrics)."""
        for name, hits, misses in (
            ("open_file", self.open_hits, self.open_misses),
            ("listing", LISTINGS.hits, LISTINGS.misses),
            ("validator", VALIDATOR_LOOKUPS[0], VALIDATOR_LOOKUPS[1]),
        ):
            metrics.add_total(("cache", name, "hit"), hits, self)
            metrics.add_total(("cache", name, "miss"), misses, self)
