"""Folder features on the ordinary URLs (issue 15, docs/folders.md): ``?zip``/``?tar``/``?tgz``
archives and ``?q=`` search on a directory, ``?thumb`` and ``?hash=`` on a file.

Theory of operation. ``Folders.handle`` runs in ``App.dispatch`` before files and listings and
answers only requests whose query names one of its features (one dict lookup otherwise, so
the hot path pays nothing). The path is found by ``porch.app.paths.resolve`` like every read,
and the access rules were checked on it by ``App.guarded``; members of an archive and search
results are checked again, each on its own URL path, with the client's grants. All work that
touches many files or whole files (walks, reads, hashes, image decoding) runs in worker
threads, never on the event loop.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextvars
import os
import stat
from typing import Final

from porch.app import archives, search, thumbs
from porch.app.auth import Guard
from porch.app.checksums import Checksums, checksum_response, requested_algorithm
from porch.app.files import open_regular
from porch.app.listing import FolderPage, choose_format
from porch.app.paths import resolve, stat_path
from porch.app.readme import Readme, Readmes
from porch.app.state import StateDir, default_state_dir
from porch.config import Config
from porch.http import HTTPError, Request, Response
from porch.http.auth import Access, Grant, access_on

_PAGE: contextvars.ContextVar[tuple[Request, FolderPage]] = contextvars.ContextVar("porch_page")
"""The folder page prepared for the request being answered (``Folders.prepare_page``)."""

WORKERS: Final = 4
"""Threads for walks, archive streams and checksums (each step is short; they interleave)."""

FILE_KEYS: Final = frozenset({"thumb", "hash"})
DIRECTORY_KEYS: Final = frozenset({*archives.FORMATS, "q"})
KEYS: Final = FILE_KEYS | DIRECTORY_KEYS


class Folders:
    """Archives, search, thumbnails and checksums for one ``App``."""

    def __init__(self, config: Config, guard: Guard) -> None:
        self.config = config
        self.root = config.root
        self.guard = guard
        self.executor = concurrent.futures.ThreadPoolExecutor(
            WORKERS, thread_name_prefix="porch-folders"
        )
        self.limits = archives.ArchiveLimits(config.max_archive_entries, config.max_archive_size)
        self.tree = search.TreeCache(self.root, hidden=config.hidden)
        self.search_limits = search.SearchLimits(config.max_search_results, config.search_seconds)
        self.checksums = Checksums()
        self.readmes = Readmes(self.root, hidden=config.hidden, max_bytes=config.max_readme_size)
        self._thumbnails: thumbs.Thumbnails | None = None

    @property
    def thumbnails(self) -> thumbs.Thumbnails:
        """The thumbnail maker; its cache directory is made on first use, in the state
        directory (porch.app.state), outside ROOT."""
        if self._thumbnails is None:
            config = self.config
            state = StateDir(config.state_dir or default_state_dir(config.root), config.root)
            self._thumbnails = thumbs.Thumbnails(
                state.sub("thumbs"), config.thumbnail_workers, config.max_thumbnail_pixels
            )
        return self._thumbnails

    def page(self, request: Request) -> FolderPage:
        """What the listing page of ``request`` shows of these features: the README that
        ``prepare_page`` found for this very request (rendering may take long, so it ran in
        a worker thread before the listing, which is built on the event loop)."""
        prepared = _PAGE.get(None)
        if prepared is not None and prepared[0] is request:
            return prepared[1]
        return FolderPage(self.config.archives, self.config.thumbnails)

    async def prepare_page(self, request: Request) -> None:
        """Find and render the README for an HTML listing of ``request``, off the loop."""
        try:
            if choose_format(request)[0] != "text/html":
                return
        except HTTPError:
            return  # the listing answers the bad ?format itself
        config = self.config
        found = self.readmes.lookup(request.path)  # cheap; the rendering is not
        if found is None or isinstance(found, Readme):
            readme = found
        else:
            loop = asyncio.get_running_loop()
            readme = await loop.run_in_executor(self.executor, self.readmes.rendered, *found)
        page = FolderPage(config.archives, config.thumbnails)
        if readme is not None:
            page = FolderPage(
                config.archives, config.thumbnails, readme.name, readme.html, readme.too_large
            )
        _PAGE.set((request, page))

    def wants(self, request: Request) -> bool:
        """True when the request's query asks for one of these features."""
        query = request.query
        return bool(query) and not KEYS.isdisjoint(query)

    def is_selection(self, request: Request) -> bool:
        """A POST of a selection to archive: a read, whatever its method (``App.guarded``)."""
        return (
            request.method == "POST"
            and self.config.archives
            and archives.requested_format(request) is not None
        )

    async def handle(self, request: Request) -> Response | None:
        """The response for a folder feature, or None when the request asks for none."""
        if request.path.startswith("/-/"):
            return None  # porch's own URLs (static assets, QR, health) are not folders
        if not self.wants(request):
            if (
                self.config.readmes
                and request.method in ("GET", "HEAD")
                and request.path.endswith("/")
            ):
                await self.prepare_page(request)
            return None
        if request.method not in ("GET", "HEAD") and not self.is_selection(request):
            return None
        real = resolve(self.root, request.path, hidden=self.config.hidden)
        info = stat_path(str(real))
        if stat.S_ISDIR(info.st_mode):
            kind = archives.requested_format(request)
            if kind is not None:
                return await self.archive(request, str(real), kind)
            query = search.search_query(request)
            if query is not None:
                return await self.search(request, str(real), query)
            return None
        if "thumb" in request.query:
            return await self.thumbnail(request, str(real))
        algorithm = requested_algorithm(request)
        if algorithm is not None:
            return await self.checksum(request, str(real), algorithm)
        return None

    async def checksum(self, request: Request, real: str, algorithm: str) -> Response:
        """``?hash=ALGORITHM`` of a file (porch.app.checksums)."""
        fd, info = open_regular(real)
        try:
            digest = await self.checksums.digest(fd, info, algorithm)
        finally:
            os.close(fd)
        name = request.path.rsplit("/", 1)[-1]
        return checksum_response(request, name, algorithm, digest, info.st_size)

    async def thumbnail(self, request: Request, real: str) -> Response:
        """``?thumb`` of a picture (porch.app.thumbs); refusals are icons."""
        if not self.config.thumbnails:
            raise HTTPError(404, "thumbnails are turned off on this server")
        if not thumbs.is_picture(request.path):
            return thumbs.icon_response(415, "thumbnails are made for pictures only")
        fd, info = open_regular(real)
        try:
            data = await self.thumbnails.thumbnail(fd, info)
        except thumbs.Refusal as refusal:
            return thumbs.icon_response(refusal.status, refusal.reason)
        finally:
            os.close(fd)
        return thumbs.thumbnail_response(request, info, data)

    async def search(self, request: Request, real: str, query: str) -> Response:
        """``?q=`` below a directory, streamed (porch.app.search)."""
        grants = await self.readable(request)
        return search.search_response(
            request,
            self.tree,
            real,
            query,
            lambda url: access_on(grants, url.rstrip("/") or "/") >= Access.READ,
            self.search_limits,
            self.executor,
        )

    async def readable(self, request: Request) -> tuple[Grant, ...]:
        """The client's grants, for checks on paths below the requested one."""
        return await self.guard.grants_for(request)

    async def archive(self, request: Request, real: str, kind: str) -> Response:
        """``?zip``, ``?tar`` or ``?tgz`` of a directory, or of a posted selection in it."""
        if not self.config.archives:
            raise HTTPError(404, "archives are turned off on this server")
        selection = await archives.read_selection(request) if request.method == "POST" else None
        grants = await self.readable(request)
        url_dir = request.path if request.path.endswith("/") else request.path + "/"
        name = archives.archive_name(request, self.config.hidden)
        loop = asyncio.get_running_loop()
        members = await loop.run_in_executor(
            self.executor,
            lambda: archives.collect(
                self.root,
                real,
                url_dir,
                name,
                hidden=self.config.hidden,
                readable=lambda url: access_on(grants, url) >= Access.READ,
                limits=self.limits,
                selection=selection,
            ),
        )
        # Laying out the archive stats every member again (zipstream-ng): off the loop too.
        return await loop.run_in_executor(
            self.executor,
            archives.archive_response,
            request,
            kind,
            self.root,
            members,
            name,
            self.executor,
        )
