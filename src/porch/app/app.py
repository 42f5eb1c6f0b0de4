"""``App``: what porch answers. Knows the file system, knows nothing of sockets.

Theory of operation. ``App.handle`` is the one place errors become responses: everything
below it raises ``HTTPError`` where it finds a fault ("throw low, catch high"), and an
unexpected exception becomes a 500 page while its traceback goes to the log. Dispatch order:
dynamic routes, then templates, then uploads (POST/PUT), then files and listings.
"""

from __future__ import annotations

import dataclasses
import errno
import logging
import os
import stat
import urllib.parse
from collections.abc import Callable
from pathlib import Path

from porch.app.auth import MAX_CONCURRENT_CHECKS, Guard
from porch.app.files import (
    OpenFile,
    ReadOptions,
    attachment_disposition,
    compress_response,
    file_response,
    open_regular,
)
from porch.app.hosts import allowed_hosts, check_host
from porch.app.inert import WritablePlaces
from porch.app.listing import STATIC_PREFIX, UploadForm, listing_response
from porch.app.logins import LoginGuard
from porch.app.mediatypes import content_type
from porch.app.offload import offload, use_short_switch_interval
from porch.app.pages import error_response
from porch.app.paths import OpenCache, resolve, url_segments
from porch.app.qr import QR_PATH, qr_response
from porch.app.reserved import PREFIX as RESERVED_PREFIX
from porch.app.reserved import Reserved
from porch.app.routes import HandlerT, Routes, install_routes
from porch.app.security import HEALTH_PATH, finish, health_response, is_preflight
from porch.app.security import preflight_response as cors_preflight
from porch.app.timepage import TIME_PATH, time_page
from porch.app.uploads import Uploads
from porch.app.usertemplates import UserTemplates
from porch.config import Config
from porch.http import Headers, HTTPError, Request, Response, ServerFault

log = logging.getLogger("porch.app")

STATIC_DIR = os.path.join(os.path.dirname(__file__), "static")
STATIC_FILES = frozenset(name for name in os.listdir(STATIC_DIR) if not name.startswith("."))

READ_METHODS = ("GET", "HEAD")
COMPRESS_ON_LOOP_BYTES = 64 * 1024
"""Generated bodies up to this size are gzipped on the loop (well under a millisecond)."""


class App:
    """The application: ``await app(request)`` returns the response for any request.

    It never raises: every failure is already a response. The root in ``config`` must be an
    absolute, resolved directory (``porch.cli`` ensures it).
    """

    def __init__(self, config: Config) -> None:
        self.config = config
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
        use_short_switch_interval()  # the loop shares the GIL with worker threads (issue 17)
        # porch's own URLs under /-/ (porch.app.reserved); features add theirs the same way.
        self.reserved = Reserved()
        self.reserved.add(
            HEALTH_PATH, lambda r: health_response(r, self.root), methods=None, public=True
        )
        self.reserved.add(STATIC_PREFIX, self.serve_static, prefix=True)
        self.reserved.add(QR_PATH, lambda r: qr_response(r, self.config.host))
        if config.builtin_routes:
            self.routes.add(TIME_PATH, time_page, builtin=True)
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
        if not self.guard.open:
            landing = self.landing_path(request)
            await self.guard.check(request, also=() if landing is None else (landing,))
        if entry is not None:
            return await entry.answer(request)
        return await self.dispatch(request)

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

    def allowed_methods(self) -> tuple[str, ...]:
        """The methods a file or directory URL accepts."""
        uploads = ("POST", "PUT") if self.uploads is not None else ()
        return (*READ_METHODS, *uploads, "OPTIONS")

    async def dispatch(self, request: Request) -> Response:
        """Route ``request`` to what answers it; raises ``HTTPError`` for refusals."""
        response = await self.routes.dispatch(request)
        if response is None:
            response = await self.templates.adispatch(request)
        if response is not None:
            return response
        method = request.method
        if method in READ_METHODS:
            return await self.serve_path(request)
        if method in ("POST", "PUT") and self.uploads is not None:
            return await self.uploads.handle(request)
        allowed = ", ".join(self.allowed_methods())
        if method == "OPTIONS":
            return Response(204, Headers([("Allow", allowed)]))
        raise HTTPError(405, f"{method} is not allowed here", {"Allow": allowed})

    async def serve_path(self, request: Request) -> Response:
        """GET/HEAD of a file or directory under the root."""
        cached = self.opened.open(request.path)
        if cached is not None:
            path, fd, info = cached
            return self.serve_file(request, request.path, OpenFile(path, fd, info))
        real = resolve(self.root, request.path, hidden=self.config.hidden)
        try:
            info = os.stat(real)
        except (FileNotFoundError, NotADirectoryError):
            raise HTTPError(404, "not found") from None
        except PermissionError:
            raise HTTPError(403, "this path cannot be read") from None
        except OSError as error:
            if error.errno != errno.ENAMETOOLONG:
                raise
            # A segment over the file system's NAME_MAX: no such file can exist.
            raise HTTPError(404, "not found") from None
        if stat.S_ISDIR(info.st_mode):
            return await self.serve_directory(request, str(real))
        if request.path.endswith("/"):
            raise HTTPError(404, "not found: a file's URL has no trailing slash")
        path = str(real)
        fd, info = open_regular(path)
        self.opened.remember(request.path, path, info)
        return self.serve_file(request, request.path, OpenFile(path, fd, info))

    async def serve_directory(self, request: Request, real: str) -> Response:
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
            return await self.list_directory(request, real)
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
        return response

    async def list_directory(self, request: Request, real: str) -> Response:
        """A directory without index.html: text, HTML or JSON (porch.app.listing); a large
        page is gzipped in a worker thread (issue 17: never on the loop)."""
        response = await listing_response(
            request,
            self.root,
            real,
            hidden=self.config.hidden,
            upload=self.upload_form(request),
            bind_host=self.config.host,
        )
        if isinstance(response.body, bytes) and len(response.body) > COMPRESS_ON_LOOP_BYTES:
            return await offload(compress_response, request, response, self.reading)
        return compress_response(request, response, self.reading)

    def upload_form(self, request: Request) -> UploadForm | None:
        """Whether and how this listing offers uploads (docs/webapp.md): with the upload
        directory served under ROOT, on that directory's own listing (other listings link to
        it); with it outside ROOT (or hidden), on every listing, since files land in one place
        whichever page sends them."""
        if self.uploads is None:
            return None
        base = self.uploads.base_url
        limit = self.config.max_upload_size
        if base is None:
            return UploadForm(show=True, listed_at=None, max_size=limit)
        here = "/" + "".join(
            urllib.parse.quote(name) + "/"
            for name in url_segments(request.path, hidden=self.config.hidden)
        )
        return UploadForm(show=here == base, listed_at=base, max_size=limit)

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
