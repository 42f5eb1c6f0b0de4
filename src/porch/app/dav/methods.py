"""WebDAV class 1 and 2 (RFC 4918) on porch's own URLs: the methods.

Theory of operation. ``Dav.handle`` answers PROPFIND, PROPPATCH, MKCOL, COPY, MOVE, DELETE,
LOCK, UNLOCK and PUT into the served tree. Each method, before touching anything:

1. locates its URL (and a COPY/MOVE Destination) with ``locate``: the names are checked as
   every URL's are (hidden names are 400 for a write, 404 for PROPFIND), the parent folder is
   confined to ROOT by ``porch.app.paths.confine``, and the last name is joined unresolved so
   a symlink there is acted on as a link, never followed;
2. checks the grant where the change lands (``Principal.require``: add to create, write to
   overwrite, move or delete; a Destination is judged on its own URL);
3. evaluates the ``If`` header (412 when false) and the locks (423 unless every lock covering
   a changed path had its token submitted).

The file work runs in worker threads (``asyncio.to_thread``) through ``fsops`` (staged,
fsynced, renamed into place) and the trash takes what an overwrite or deletion removes,
naming its entries in ``Porch-Trash-Id``. Locks and dead properties live in SQLite
(``store.py``), also reached from worker threads only; ``properties.py`` describes resources,
``xml.py`` parses and builds the bodies, ``locks.py`` holds the lock and ``If`` rules.
"""

from __future__ import annotations

import asyncio
import dataclasses
import errno
import os
import stat
import unicodedata
import urllib.parse
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Final, TypeVar

from porch.app.auth import Principal
from porch.app.dav import fsops
from porch.app.dav import xml as davxml
from porch.app.dav.locks import (
    IfList,
    Lock,
    blocking,
    is_below,
    list_holds,
    normalise,
    parent_of,
    parse_if,
    parse_timeout,
    submitted_tokens,
)
from porch.app.dav.properties import activelock, describe, quote_href
from porch.app.dav.store import DavStore, LockConflict
from porch.app.dav.xml import DAV, Propstat, child, element
from porch.app.files import validators
from porch.app.multipart import form_boundary
from porch.app.names import MAX_NAME_BYTES, check_name
from porch.app.paths import confine, listable
from porch.app.trash import TRASH_HEADER, Trash
from porch.app.uploads import (
    TEMP_PREFIX,
    StagedFile,
    Uploads,
    same_origin,
    sync_directory,
)
from porch.app.usertemplates import names_template_source
from porch.config import Config
from porch.http import Headers, HTTPError, Request, Response, negotiate
from porch.http.auth import Access
from porch.http.conditional import Outcome, evaluate_preconditions

DAV_METHODS: Final = frozenset(
    {"PROPFIND", "PROPPATCH", "MKCOL", "COPY", "MOVE", "DELETE", "LOCK", "UNLOCK"}
)
"""The methods WebDAV adds (PUT and OPTIONS are shared with plain HTTP)."""
WRITE_METHODS: Final = ("PUT", "DELETE", "MKCOL", "COPY", "MOVE", "PROPPATCH", "LOCK", "UNLOCK")
XML_TYPE: Final = 'application/xml; charset="utf-8"'
_ERROR_TYPES: Final = ("application/xml", "text/xml", "application/json", "text/html")

T = TypeVar("T")


class DavError(HTTPError):
    """An ``HTTPError`` whose body is a DAV:error naming a precondition (RFC 4918 §16)."""

    def __init__(self, status: int, condition: str, detail: str = "") -> None:
        super().__init__(status, detail or condition)
        self.condition = condition


@dataclass(frozen=True, slots=True)
class Target:
    """A located URL: ``url`` normalised (``/a/b``, ``/`` for ROOT), ``path`` its real path
    with the last component not followed, ``parent`` the parent's real (confined) path."""

    url: str
    path: str
    parent: str

    @property
    def is_root(self) -> bool:
        return self.url == "/"


def _is_dir(info: os.stat_result) -> bool:
    return stat.S_ISDIR(info.st_mode)


def _is_empty_file(path: str) -> bool:
    """True for an empty regular file (not followed if a link): what ``add`` may fill."""
    try:
        info = os.lstat(path)
    except OSError:
        return False
    return stat.S_ISREG(info.st_mode) and info.st_size == 0


class Dav:
    """The WebDAV methods of one server."""

    write_methods: Final = WRITE_METHODS

    def __init__(self, config: Config, store_dir: Callable[[], Path], trash: Trash | None) -> None:
        """``store_dir`` gives the state subdirectory for locks and properties; it is called
        (and the directory made) on first use, so a server nobody locks makes none."""
        self.config = config
        self.root = config.root
        self.hidden = config.hidden
        self.trash = trash
        self._store_dir = store_dir
        self._store: DavStore | None = None
        self.max_body = config.max_dav_body
        self.max_lock_timeout = config.max_lock_timeout
        self.max_upload_size = config.max_upload_size
        umask = os.umask(0o022)
        os.umask(umask)
        self.mode = 0o666 & ~umask

    @property
    def store(self) -> DavStore:
        if self._store is None:
            self._store = DavStore(self._store_dir())
        return self._store

    async def _db(self, work: Callable[..., T], *args: object) -> T:
        return await asyncio.to_thread(work, *args)

    # -- locating ---------------------------------------------------------------------------

    def locate(self, url_path: str, *, write: bool) -> Target:
        """The ``Target`` for a decoded URL path (module docstring, step 1)."""
        if not url_path.startswith("/"):
            raise HTTPError(400, "the path must start with /")
        names = [segment for segment in url_path.split("/") if segment]
        for name in names:
            if name.startswith(".") and not self.hidden and name not in (".", ".."):
                if write:
                    raise HTTPError(400, "names starting with '.' cannot be written")
                raise HTTPError(404, "not found")
            check_name(name, hidden=True)
        if not names:
            return Target("/", str(self.root), str(self.root))
        if write:
            self._check_write_names(names)
        if names_template_source(names[-1]):
            if write:
                raise HTTPError(400, "template sources (.j2) cannot be written over WebDAV")
            raise HTTPError(404, "not found")
        if write and len(names[-1].encode("utf-8")) > MAX_NAME_BYTES:
            raise HTTPError(400, f"a name is longer than {MAX_NAME_BYTES} bytes")
        parent = confine(self.root, os.path.join(self.root, *names[:-1]), hidden=self.hidden)
        return Target("/" + "/".join(names), os.path.join(parent, names[-1]), str(parent))

    @staticmethod
    def _check_write_names(names: list[str]) -> None:
        """Refuse names a write may not make: porch's reserved ``/-/`` namespace (403: it
        shadows a ``-`` folder), its staging names, and control characters (which a
        Destination header can smuggle in percent-encoded)."""
        if names[0] == "-":
            raise HTTPError(403, "/-/ is reserved for porch's own URLs")
        for name in names:
            if name.startswith(TEMP_PREFIX):
                raise HTTPError(400, "that name is reserved for porch's temporary files")
            if any(unicodedata.category(char) == "Cc" for char in name):
                raise HTTPError(400, "control characters are not allowed in a name")

    def destination(self, request: Request) -> Target:
        """The Destination of a COPY or MOVE: a URL on this server (502 for another host),
        confined to ROOT (403 outside it), checked like any write URL."""
        value = request.headers.get("destination")
        if not value:
            raise HTTPError(400, "COPY and MOVE need a Destination header")
        parts = urllib.parse.urlsplit(value.strip())
        if parts.scheme or parts.netloc:
            host = (request.headers.get("host") or "").lower()
            if parts.scheme not in ("http", "https") or not _same_host(
                parts.netloc, host, parts.scheme
            ):
                raise HTTPError(502, "the Destination is on another server")
        raw = parts.path
        if not raw.startswith("/"):
            raise HTTPError(400, "the Destination must be an absolute URL or path")
        if "%2f" in raw.lower() or "%5c" in raw.lower() or "%00" in raw:
            raise HTTPError(400, "the Destination has an encoded separator or NUL")
        path = urllib.parse.unquote(raw, errors="strict")
        root_path = request.root_path
        if root_path:
            if path != root_path and not path.startswith(root_path + "/"):
                raise HTTPError(403, "the Destination is outside the served directory")
            path = path[len(root_path) :] or "/"
        if any(segment in (".", "..") for segment in path.split("/")):
            raise HTTPError(403, "the Destination is outside the served directory")
        try:
            return self.locate(path, write=True)
        except HTTPError as error:
            if error.status == 404:  # confine: a folder on the way leads out of ROOT
                raise HTTPError(403, "the Destination is outside the served directory") from None
            raise

    # -- entry --------------------------------------------------------------------------------

    async def handle(self, request: Request, who: Principal) -> Response:
        """Answer one WebDAV (or tree PUT) request; refusals raise ``HTTPError``."""
        if request.method != "PROPFIND" and not same_origin(request):
            # A page on another site can send a POST (or, with CORS, any method) here with
            # the user's network position: writes from a foreign Origin are refused, as
            # uploads are (porch.app.uploads.same_origin).
            raise HTTPError(403, "writes from another site are refused")
        try:
            handler = getattr(self, "do_" + request.method.lower())
            response: Response = await handler(request, who)
        except DavError as error:
            preferred = negotiate(request.headers.get("accept"), _ERROR_TYPES)
            if preferred in ("application/json", "text/html"):
                # The page asks for JSON: the usual error page, with the detail to show.
                raise HTTPError(error.status, error.detail, error.headers) from None
            headers = Headers([("Content-Type", XML_TYPE)])
            for name, value in error.headers.items():
                headers.set(name, value)
            return Response(error.status, headers, davxml.error_body(error.condition))
        return response

    async def read_xml(self, request: Request) -> bytes:
        length = request.content_length
        if length is not None and length > self.max_body:
            raise HTTPError(413, f"WebDAV request bodies are limited to {self.max_body} bytes")
        return await request.read_body(self.max_body)

    # -- conditions and locks -------------------------------------------------------------

    def _etag(self, real: str) -> str | None:
        try:
            info = os.stat(real)
        except OSError:
            return None
        return validators(info)[0] if not _is_dir(info) else None

    def _if_lists(self, request: Request) -> tuple[IfList, ...]:
        value = request.headers.get("if")
        return parse_if(value) if value else ()

    def _tagged_url(self, request: Request, resource: str) -> str | None:
        parts = urllib.parse.urlsplit(resource)
        path = urllib.parse.unquote(parts.path)
        root_path = request.root_path
        if root_path and path.startswith(root_path):
            path = path[len(root_path) :] or "/"
        return normalise(path) if path.startswith("/") else None

    def _check_if(self, request: Request, target: Target) -> frozenset[str]:
        """Evaluate the If header (412 when false); return the submitted lock tokens.
        Runs in a worker thread (it reads locks)."""
        lists = self._if_lists(request)
        if not lists:
            return frozenset()
        for entry in lists:
            url, real = target.url, target.path
            if entry.resource is not None:
                tagged = self._tagged_url(request, entry.resource)
                if tagged is None:
                    continue
                url = tagged
                try:
                    real = self.locate(url, write=False).path
                except HTTPError:
                    real = ""
            tokens = frozenset(
                lock.token for lock in self.store.locks_affecting(url) if lock.covers(url)
            )
            etag = self._etag(real) if real else None
            if list_holds(entry, tokens, etag):
                return submitted_tokens(lists)
        raise HTTPError(412, "the If header's conditions are not met")

    def _check_http_conditions(self, request: Request, target: Target) -> None:
        """If-Match, If-None-Match and If-Unmodified-Since on the request URL (RFC 9110
        §13): 412 when false, so a client can refuse to overwrite a change it has not seen
        (``If-Match: "etag"``) or to replace anything at all (``If-None-Match: *``)."""
        headers = request.headers
        if not any(headers.get(n) for n in ("if-match", "if-none-match", "if-unmodified-since")):
            return
        try:
            info = os.lstat(target.path)
        except OSError:
            if headers.get("if-match"):
                raise HTTPError(412, "If-Match: the resource does not exist") from None
            return
        etag = validators(info)[0] if not _is_dir(info) else '"dir"'
        outcome = evaluate_preconditions(request.method, headers, etag, info.st_mtime)
        if outcome is not Outcome.PROCEED:
            raise HTTPError(412, "the request's preconditions are not met")

    def _check_locks(
        self, url: str, submitted: frozenset[str], *, membership: bool, recursive: bool
    ) -> None:
        locks = self.store.locks_affecting(url)
        found = blocking(locks, url, submitted, membership=membership)
        if found is None and recursive:
            found = next(
                (k for k in locks if is_below(k.root, url) and k.token not in submitted), None
            )
        if found is not None:
            raise DavError(423, "lock-token-submitted", "the resource is locked")

    async def guard_write(
        self,
        request: Request,
        target: Target,
        *,
        membership: bool,
        recursive: bool = False,
        submitted: frozenset[str] | None = None,
    ) -> frozenset[str]:
        """If header and locks for a write at ``target`` (module docstring, step 3)."""

        def work() -> frozenset[str]:
            if target.url == normalise(request.path):
                self._check_http_conditions(request, target)
            tokens = self._check_if(request, target) if submitted is None else submitted
            self._check_locks(target.url, tokens, membership=membership, recursive=recursive)
            return tokens

        return await asyncio.to_thread(work)

    # -- OPTIONS ------------------------------------------------------------------------------

    @staticmethod
    def options_headers(headers: Headers) -> None:
        """What OPTIONS adds for WebDAV clients (RFC 4918 §10.1)."""
        headers.set("DAV", "1, 2")
        headers.set("MS-Author-Via", "DAV")

    # -- PROPFIND -------------------------------------------------------------------------

    async def do_propfind(self, request: Request, who: Principal) -> Response:
        depth = (request.headers.get("depth") or "infinity").strip().lower()
        if depth not in ("0", "1"):
            if depth != "infinity":
                raise HTTPError(400, "Depth must be 0, 1 or infinity")
            raise DavError(403, "propfind-finite-depth", "PROPFIND with Depth: infinity")
        asked = davxml.parse_propfind(await self.read_xml(request))
        target = self.locate(request.path, write=False)
        body = await asyncio.to_thread(self._propfind, request, who, target, depth, asked)
        return Response(207, Headers([("Content-Type", XML_TYPE)]), body)

    def _propfind(
        self,
        request: Request,
        who: Principal,
        target: Target,
        depth: str,
        asked: davxml.PropfindRequest,
    ) -> bytes:
        try:
            real = str(confine(self.root, target.path, hidden=self.hidden))
            info = os.stat(real)
        except (HTTPError, FileNotFoundError, NotADirectoryError):
            raise HTTPError(404, "not found") from None
        except PermissionError:
            raise HTTPError(403, "this path cannot be read") from None
        root = element("multistatus")
        # One query each for the properties and locks of the resource and its members.
        members = depth == "1" and _is_dir(info)
        dead = self.store.properties_within(target.url, members=members)
        locks = self.store.locks_affecting(target.url)
        describe(root, request.root_path, target.url, real, info, asked, dead, locks)
        if members:
            try:
                entries = sorted(os.scandir(real), key=lambda e: e.name)
            except PermissionError:
                entries = []
            for entry in entries:
                if names_template_source(entry.name) or entry.name.startswith(TEMP_PREFIX):
                    continue
                if not listable(
                    self.root, real, entry.name, hidden=self.hidden, is_link=entry.is_symlink()
                ):
                    continue
                url = (
                    (target.url.rstrip("/") + "/" + entry.name)
                    if target.url != "/"
                    else ("/" + entry.name)
                )
                if who.level(url) < Access.READ:
                    continue
                try:
                    member = os.stat(entry.path)
                except OSError:
                    continue
                describe(root, request.root_path, url, entry.path, member, asked, dead, locks)
        return davxml.serialise(root)

    # -- PROPPATCH ------------------------------------------------------------------------

    async def do_proppatch(self, request: Request, who: Principal) -> Response:
        target = self.locate(request.path, write=True)
        who.require(target.url, Access.WRITE)
        changes = davxml.parse_proppatch(await self.read_xml(request))
        if not os.path.lexists(target.path):
            raise HTTPError(404, "not found")
        await self.guard_write(request, target, membership=False)
        protected = [c for c in changes if c.name[0] == DAV]
        root = element("multistatus")
        href = quote_href(target.url, request.root_path, collection=os.path.isdir(target.path))
        if protected:
            failed = [element(c.name[1], namespace=c.name[0]) for c in protected]
            others = [
                element(c.name[1], namespace=c.name[0]) for c in changes if c not in protected
            ]
            propstats = [Propstat(403, "Forbidden", failed)]
            if others:
                propstats.append(Propstat(424, "Failed Dependency", others))
            davxml.multistatus_response(root, href, propstats=propstats)
        else:
            await self._db(self.store.change_properties, target.url, changes)
            names = {c.name: None for c in changes}
            props = [element(local, namespace=namespace) for namespace, local in names]
            davxml.multistatus_response(root, href, propstats=[Propstat(200, "OK", props)])
        return Response(207, Headers([("Content-Type", XML_TYPE)]), davxml.serialise(root))

    # -- MKCOL ----------------------------------------------------------------------------------

    async def do_mkcol(self, request: Request, who: Principal) -> Response:
        target = self.locate(request.path, write=True)
        who.require(target.url, Access.ADD)
        if request.has_body:
            raise HTTPError(415, "MKCOL with a body is not supported")
        if target.is_root or os.path.lexists(target.path):
            raise HTTPError(405, "something with that name exists already", {"Allow": self.allow()})
        if not os.path.isdir(target.parent):
            raise HTTPError(409, "the parent folder does not exist")
        await self.guard_write(request, target, membership=True)

        def make() -> None:
            try:
                os.mkdir(target.path)
            except FileExistsError:
                raise HTTPError(405, "something with that name exists already") from None
            except OSError as error:
                raise fsops.disk_error(error, "create a folder") from error
            sync_directory(target.parent)

        await asyncio.to_thread(make)
        location = quote_href(target.url, request.root_path, collection=True)
        return Response(201, Headers([("Location", location)]), b"")

    def allow(self) -> str:
        return "OPTIONS, GET, HEAD, PROPFIND, " + ", ".join(WRITE_METHODS)

    # -- PUT ----------------------------------------------------------------------------------

    async def do_post(self, request: Request, who: Principal) -> Response:
        """A POST into the tree. A form (multipart) posted to a folder URL saves its files in
        that folder, by the upload rules (porch.app.uploads: all or none, 409 for a name that
        exists); a raw POST is like PUT but only ever creates (409 when the name exists)."""
        if form_boundary(request.headers.get("content-type")) is None:
            return await self.do_put(request, who, create_only=True)
        target = self.locate(request.path, write=True)
        who.require(target.url, Access.ADD)
        try:
            folder = confine(self.root, target.path, hidden=self.hidden)
        except HTTPError:
            raise HTTPError(404, "no such folder") from None
        if not folder.is_dir():
            raise HTTPError(404 if request.path.endswith("/") else 400, "post a form to a folder")
        await self.guard_write(request, target, membership=False)
        into = Uploads(dataclasses.replace(self.config, upload_dir=folder))
        return await into.handle(request, replace=False)

    async def do_put(
        self, request: Request, who: Principal, *, create_only: bool = False
    ) -> Response:
        target = self.locate(request.path, write=True)
        if target.is_root or request.path.endswith("/"):
            raise HTTPError(405, "PUT needs a file URL", {"Allow": self.allow()})
        exists = os.path.lexists(target.path)
        if exists and create_only:
            raise HTTPError(409, "a file with that name exists already")
        # add may fill an empty file (davfs2 and Windows make one first, by LOCK or PUT).
        only_empty = exists and who.tree_level(target.url) < Access.WRITE
        if only_empty and _is_empty_file(target.path):
            who.require(target.url, Access.ADD)
        else:
            only_empty = False
            who.require(target.url, Access.WRITE if exists else Access.ADD)
        if os.path.isdir(target.path):
            raise HTTPError(405, "a folder has that name", {"Allow": self.allow()})
        if not os.path.isdir(target.parent):
            raise HTTPError(409, "the parent folder does not exist")
        length = request.content_length
        if length is None and not request.chunked:
            raise HTTPError(411, "a PUT needs Content-Length or chunked transfer coding")
        limit = self.max_upload_size
        if length is not None and limit is not None and length > limit:
            raise HTTPError(413, f"uploads are limited to {limit} bytes")
        await self.guard_write(request, target, membership=not exists)
        staged = StagedFile(target.parent, os.path.basename(target.path), self.mode)
        trashed: list[str] = []
        try:
            total = 0
            async for chunk in request.body:
                total += len(chunk)
                if limit is not None and total > limit:
                    raise HTTPError(413, f"uploads are limited to {limit} bytes")
                await staged.write(chunk)
            if length is not None and total != length:
                raise HTTPError(400, "the body ended before its Content-Length")
            await staged.finish()
            created = await asyncio.to_thread(
                self._commit_put, staged, target, trashed, create_only, only_empty
            )
        finally:
            staged.discard()
        headers = Headers()
        if trashed:
            headers.set(TRASH_HEADER, ", ".join(trashed))
        if created:
            headers.set("Location", quote_href(target.url, request.root_path, collection=False))
            return Response(201, headers, b"")
        return Response(204, headers)

    def _commit_put(
        self,
        staged: StagedFile,
        target: Target,
        trashed: list[str],
        create_only: bool,
        only_empty: bool,
    ) -> bool:
        created = staged.link()
        if not created and create_only:
            raise HTTPError(409, "a file with that name exists already")
        if not created and only_empty and not _is_empty_file(target.path):
            raise HTTPError(403, "you may add files here but not replace them")
        if not created:
            if os.path.isdir(target.path) and not os.path.islink(target.path):
                raise HTTPError(405, "a folder has that name")
            if self.trash is not None:
                try:
                    trashed.append(self.trash.keep(target.path, target.url))
                except OSError as error:
                    raise fsops.disk_error(error, "keep the old file in the trash") from error
            staged.replace()
        sync_directory(target.parent)
        return created

    # -- DELETE -------------------------------------------------------------------------------

    async def do_delete(self, request: Request, who: Principal) -> Response:
        target = self.locate(request.path, write=True)
        if target.is_root:
            raise HTTPError(403, "the served directory itself cannot be deleted")
        who.require(target.url, Access.WRITE)
        if not os.path.lexists(target.path):
            raise HTTPError(404, "not found")
        await self.guard_write(request, target, membership=True, recursive=True)
        trashed, outcome = await asyncio.to_thread(self._remove, target, "deleted")
        await self._db(self.store.forget, target.url)
        headers = Headers()
        if trashed:
            headers.set(TRASH_HEADER, trashed)
        if outcome.failed:
            return self._failures(request, target, outcome, headers)
        return Response(204, headers)

    def _remove(self, target: Target, kind: str) -> tuple[str | None, fsops.Outcome]:
        """Take ``target`` away: into the trash when there is one, else for good."""
        try:
            if self.trash is not None:
                return self.trash.take(target.path, target.url, kind), fsops.Outcome()
            outcome = fsops.remove_tree(target.path)
            sync_directory(target.parent)
            return None, outcome
        except FileNotFoundError:
            raise HTTPError(404, "not found") from None
        except OSError as error:
            raise fsops.disk_error(error, "remove it") from error

    def _failures(
        self, request: Request, target: Target, outcome: fsops.Outcome, headers: Headers
    ) -> Response:
        root = element("multistatus")
        base = parent_of(target.url)
        for relative in outcome.failed:
            url = (base.rstrip("/") + "/" + relative) if base != "/" else "/" + relative
            href = quote_href(url, request.root_path, collection=False)
            davxml.multistatus_response(root, href, status=(403, "Forbidden"))
        headers.set("Content-Type", XML_TYPE)
        return Response(207, headers, davxml.serialise(root))

    # -- COPY and MOVE ----------------------------------------------------------------------

    async def do_copy(self, request: Request, who: Principal) -> Response:
        return await self._transfer(request, who, move=False)

    async def do_move(self, request: Request, who: Principal) -> Response:
        return await self._transfer(request, who, move=True)

    async def _transfer(self, request: Request, who: Principal, *, move: bool) -> Response:
        source = self.locate(request.path, write=move)
        destination = self.destination(request)
        depth = (request.headers.get("depth") or "infinity").strip().lower()
        if depth not in ("0", "infinity") or (move and depth != "infinity"):
            raise HTTPError(400, "Depth must be infinity (or 0 for COPY)")
        overwrite = (request.headers.get("overwrite") or "T").strip().upper()
        if overwrite not in ("T", "F"):
            raise HTTPError(400, "Overwrite must be T or F")
        if move and source.is_root:
            raise HTTPError(403, "the served directory itself cannot be moved")
        if destination.is_root:
            raise HTTPError(403, "nothing can replace the served directory")
        if move:
            who.require(source.url, Access.WRITE)
        if not os.path.lexists(source.path):
            raise HTTPError(404, "not found")
        if not move:
            try:
                confine(self.root, source.path, hidden=self.hidden)
            except HTTPError:
                raise HTTPError(404, "not found") from None
        if source.url == destination.url:
            raise HTTPError(403, "the source and the destination are the same")
        if is_below(destination.url, source.url) and os.path.isdir(source.path):
            raise HTTPError(409, "a folder cannot be copied or moved into itself")
        exists = os.path.lexists(destination.path)
        who.require(destination.url, Access.WRITE if exists else Access.ADD)
        if exists and overwrite == "F":
            raise HTTPError(412, "the destination exists and Overwrite is F")
        if not os.path.isdir(destination.parent):
            raise HTTPError(409, "the destination's folder does not exist")
        submitted = await self.guard_write(request, destination, membership=True, recursive=True)
        if move:
            await self.guard_write(
                request, source, membership=True, recursive=True, submitted=submitted
            )
        trashed, outcome = await asyncio.to_thread(
            self._do_transfer, source, destination, exists, move, depth == "infinity"
        )
        await self._db(self.store.forget, destination.url)
        await self._db(self.store.copy_properties, source.url, destination.url, move)
        headers = Headers()
        if trashed:
            headers.set(TRASH_HEADER, trashed)
        if outcome.failed:
            return self._failures(request, destination, outcome, headers)
        if exists:
            return Response(204, headers)
        location = quote_href(
            destination.url, request.root_path, collection=os.path.isdir(destination.path)
        )
        headers.set("Location", location)
        return Response(201, headers, b"")

    def _do_transfer(
        self, source: Target, destination: Target, exists: bool, move: bool, recursive: bool
    ) -> tuple[str | None, fsops.Outcome]:
        trashed: str | None = None
        if exists:
            trashed, outcome = self._remove(destination, "overwritten")
            if outcome.failed:
                return trashed, outcome
        try:
            if move:
                fsops.move(source.path, destination.path)
                return trashed, fsops.Outcome()
            return trashed, fsops.copy(source.path, destination.path, recursive=recursive)
        except FileExistsError:
            raise HTTPError(412, "the destination appeared meanwhile") from None
        except FileNotFoundError:
            raise HTTPError(404, "not found") from None
        except OSError as error:
            if error.errno == errno.EIO:
                raise HTTPError(
                    500, "the copy could not be verified; the source is kept"
                ) from error
            raise fsops.disk_error(error, "copy or move it") from error

    # -- LOCK and UNLOCK ----------------------------------------------------------------------

    def _lock_body(self, lock: Lock, root_path: str) -> bytes:
        prop = element("prop")
        child(prop, "lockdiscovery").append(activelock(lock, root_path))
        return davxml.serialise(prop)

    async def do_lock(self, request: Request, who: Principal) -> Response:
        target = self.locate(request.path, write=True)
        timeout = parse_timeout(request.headers.get("timeout"), self.max_lock_timeout)
        asked = davxml.parse_lockinfo(await self.read_xml(request))
        if asked is None:
            return await self._refresh(request, who, target, timeout)
        depth = (request.headers.get("depth") or "infinity").strip().lower()
        if depth not in ("0", "infinity"):
            raise HTTPError(400, "a lock's Depth must be 0 or infinity")
        exists = os.path.lexists(target.path)
        # Locking what exists can keep others from changing it: write. A new name, or an
        # empty file (which add may fill), needs add.
        fillable = not exists or _is_empty_file(target.path)
        who.require(target.url, Access.ADD if fillable else Access.WRITE)
        if not exists and not os.path.isdir(target.parent):
            raise HTTPError(409, "the parent folder does not exist")
        if request.headers.get("if"):
            await asyncio.to_thread(self._check_if, request, target)
        try:
            lock = await self._db(
                self.store.lock,
                target.url,
                depth,
                asked.scope,
                asked.owner,
                timeout,
                who.name or "",
            )
        except LockConflict:
            raise DavError(423, "no-conflicting-lock", "a conflicting lock exists") from None
        status = 200
        if not exists:
            # Locking an unmapped URL makes an empty file (RFC 4918 §7.3).
            try:
                await asyncio.to_thread(self._create_empty, target)
            except BaseException:
                await self._db(self.store.unlock, lock.token)
                raise
            status = 201
        headers = Headers([("Content-Type", XML_TYPE), ("Lock-Token", f"<{lock.token}>")])
        return Response(status, headers, self._lock_body(lock, request.root_path))

    def _create_empty(self, target: Target) -> None:
        try:
            fd = os.open(target.path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, self.mode)
        except FileExistsError:
            return
        except OSError as error:
            raise fsops.disk_error(error, "create the file") from error
        os.fsync(fd)
        os.close(fd)
        sync_directory(target.parent)

    async def _refresh(
        self, request: Request, who: Principal, target: Target, timeout: int
    ) -> Response:
        lists = self._if_lists(request)
        tokens = submitted_tokens(lists)
        if not tokens:
            raise HTTPError(400, "a lock refresh needs the lock token in an If header")
        who.require(target.url, Access.ADD)
        locks = await self._db(self.store.locks_affecting, target.url)
        for lock in locks:
            if lock.token in tokens and lock.covers(target.url):
                refreshed = await self._db(self.store.refresh, lock.token, timeout)
                if refreshed is None:
                    break
                headers = Headers([("Content-Type", XML_TYPE)])
                return Response(200, headers, self._lock_body(refreshed, request.root_path))
        raise HTTPError(412, "no lock on this resource has that token")

    async def do_unlock(self, request: Request, who: Principal) -> Response:
        target = self.locate(request.path, write=True)
        who.require(target.url, Access.ADD)
        value = (request.headers.get("lock-token") or "").strip()
        if not (value.startswith("<") and value.endswith(">")):
            raise HTTPError(400, "UNLOCK needs a Lock-Token header")
        token = value[1:-1]
        locks = await self._db(self.store.locks_affecting, target.url)
        if not any(lock.token == token and lock.covers(target.url) for lock in locks):
            raise DavError(409, "lock-token-matches-request-uri", "no such lock on this resource")
        await self._db(self.store.unlock, token)
        return Response(204, Headers())


def _same_host(netloc: str, host: str, scheme: str) -> bool:
    """True when a Destination's authority names the Host the request came to."""
    default = "443" if scheme == "https" else "80"

    def split(text: str) -> tuple[str, str]:
        text = text.rpartition("@")[2].lower()
        if text.startswith("["):
            name, _, rest = text.partition("]")
            return name + "]", rest.lstrip(":") or default
        name, _, port = text.partition(":")
        return name, port or default

    if not host:
        return False
    claimed, seen = split(netloc), split(host)
    if claimed == seen:
        return True
    # Behind a TLS-terminating proxy porch sees "Host: example.org" for an https URL.
    no_port = ":" not in host.lstrip("[").rpartition("]")[2]
    return claimed[0] == seen[0] and no_port and claimed[1] in ("80", "443")
