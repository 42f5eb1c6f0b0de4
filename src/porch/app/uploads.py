"""Uploads: POST and PUT save request bodies into the one upload directory, byte for byte.

Theory of operation. Every request is judged before its body is read: the Origin (403), the
target and file name (400, 404), the framing (411), the declared size (413) and, for POST, a
file already there (409). Nothing is read until all of that passes, which matters for
``Expect: 100-continue``: the server sends the interim 100 only when the body is first
iterated, so a refused request gets its final status and the client never sends the body.

Then each file is staged: a hidden temporary file (``.porch-upload-XXXXXXXX``, created with
O_EXCL, mode 0600) inside the upload directory, so the final rename never crosses a file
system. Body chunks are batched to ``WRITE_BATCH`` bytes and each batch is written (one
``writev`` of the chunks as they came, no joined copy) by a worker thread
(``loop.run_in_executor``), as is the final ``fsync``: a slow disk, or the kernel throttling a
writer with too many dirty pages, then stalls only this upload, never the event loop serving
everyone else. While a batch is being written the body is not iterated, so the connection's
read buffer fills and the server stops reading the socket: memory per upload is bounded by one
batch plus the server's body high-water mark. After each batch the kernel is told to start
writing it to disk (``POSIX_FADV_DONTNEED`` starts writeback of dirty pages on Linux), so the
disk works while the body still arrives and the final ``fsync`` has little left to wait for
(a 1 GiB upload spent ~1.5 s in that fsync before). A SHA-256 is computed only where the
answer reports it (``digest=True``: POST and PUT to the upload folder, forms, a finished
resumable upload); WebDAV PUT and tus concatenation, whose answers carry none, do not pay
for it.

Committing (``land``) follows the name-conflict policy (``--on-conflict``, or the request's
``?on-conflict=`` query; docs/uploads.md). Every policy first links the temporary file to its
name with ``os.link``, which fails with EEXIST when the name exists, so of two clients racing
for one name exactly one wins (a check-then-rename would let both "win" and one overwrite the
other). When the name is taken: ``refuse`` answers 409; ``rename`` links to ``NAME (1).EXT``,
``NAME (2).EXT`` ... in turn, each attempt as atomic as the first; ``replace`` (only for a
client allowed to overwrite) ``os.replace``s atomically: a reader sees the old file or the new
one, never a mixture. Then the directory is fsynced so the new name survives a crash. The
temporary name is removed in a ``finally``: a client that disconnects, a body that times out
or breaks its chunked framing, a full disk (507), a limit crossed mid-body (413) or any bug
leaves nothing behind.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import hashlib
import os
import tempfile
import urllib.parse
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any, Final

from porch.app import names
from porch.app.auth import Principal
from porch.app.inert import check_served_upload_name
from porch.app.multipart import PartData, PartEnd, PartStart, form_boundary, form_parts
from porch.app.pages import json_response
from porch.app.paths import contains, resolve, url_segments
from porch.app.usertemplates import names_template_source
from porch.config import Config
from porch.http import Headers, HTTPError, Request, Response, ServerFault, negotiate, text_response
from porch.http.auth import Access
from porch.http.hosts import AllowedHosts

WRITE_BATCH: Final = 1024 * 1024
"""Body bytes gathered before one write (and hash update) in a worker thread."""
WRITEV_BUFFERS: Final = 512
"""Chunks per ``writev`` call (Linux's IOV_MAX is 1024)."""
_START_WRITEBACK = getattr(os, "posix_fadvise", None)
"""Linux: ``POSIX_FADV_DONTNEED`` on just-written pages starts their writeback at once."""
TEMP_PREFIX: Final = ".porch-upload-"
# Issue 19: what an upload does when its name is taken (docs/uploads.md).
CONFLICT_POLICIES: Final = ("refuse", "rename", "replace")
MAX_RENAMES: Final = 999
"""``NAME (1).EXT`` .. ``NAME (999).EXT``; past that an upload under ``rename`` gets 409."""
_DOUBLE_EXTENSIONS = (".tar.gz", ".tar.bz2", ".tar.xz", ".tar.zst")

_DISK_FULL = frozenset({errno.ENOSPC, errno.EDQUOT})


def check_name(name: str) -> str:
    """``name`` when it is acceptable as the name of an uploaded file; else ``HTTPError(400)``
    (the rules for a new name in ``porch.app.names``), so every accepted name can be fetched
    back when DIR is served."""
    return names.check_name(name, hidden=False, new=True)


def numbered_name(name: str, number: int) -> str:
    """``name`` with `` (number)`` before its extension, as browsers name a second download:
    ``photo (1).jpg``, ``notes (2)``, ``site (1).tar.gz`` (the extension kept, so a name that
    passed ``check_name`` still does)."""
    lower = name.lower()
    for extension in _DOUBLE_EXTENSIONS:
        if lower.endswith(extension) and len(name) > len(extension):
            cut = len(name) - len(extension)
            return f"{name[:cut]} ({number}){name[cut:]}"
    stem, dot, extension = name.rpartition(".")
    if not dot or not stem:
        return f"{name} ({number})"
    return f"{stem} ({number}).{extension}"


def _authority(text: str, default_port: int) -> tuple[str, int] | None:
    try:
        parts = urllib.parse.urlsplit("//" + text)
        port = parts.port or default_port
    except ValueError:
        return None
    if not parts.hostname or parts.username is not None or parts.path:
        return None
    return parts.hostname.lower(), port


def same_origin(request: Request, allowed: AllowedHosts | None = None) -> bool:
    """False when a browser says the request comes from another site (a cross-site upload).

    Without ``Origin`` (curl, scripts, old browsers) only ``Sec-Fetch-Site: cross-site``
    refuses. With it, its host must be one porch answers for (``allowed``: never the Host
    header alone, which a page on a rebound name controls) and its host and port must equal
    the Host header's, so ``Origin: null`` and any other site are refused. An Origin port
    left out means its scheme's default (80, 443); a Host without a port matches either
    default, because behind a TLS-terminating proxy porch sees ``Host: example.org`` for
    ``Origin: https://example.org``.
    """
    origin = request.headers.get("origin")
    if origin is None:
        return (request.headers.get("sec-fetch-site") or "").lower() != "cross-site"
    scheme, separator, rest = origin.strip().partition("://")
    scheme = scheme.lower()
    if not separator or scheme not in ("http", "https"):
        return False
    default_port = 443 if scheme == "https" else 80
    claimed = _authority(rest, default_port)
    host = request.headers.get("host")
    if claimed is None or host is None:
        return False
    if allowed is not None and not allowed.allows_name(claimed[0].strip("[]")):
        return False
    # The Host's port defaults to the Origin's scheme default: either default is accepted.
    return claimed == _authority(host.strip(), default_port)


def _disk_error(error: OSError) -> HTTPError:
    if error.errno in _DISK_FULL:
        return ServerFault(507, "there is no space left for this upload")
    return ServerFault(500, "the upload could not be written")


class StagedFile:
    """One upload on its way to disk: a hidden temporary file in the upload directory.

    Use: ``write`` the chunks, ``finish`` (flush, fsync), then ``link`` or ``replace`` into
    place; call ``discard`` in a ``finally`` whatever happened: it removes the temporary name
    and closes the descriptor (after any write still running in a thread, so a cancelled
    request cannot close a descriptor a thread is writing to).
    """

    def __init__(self, directory: str, name: str, mode: int, *, digest: bool = False) -> None:
        self.name = name
        self.final = os.path.join(directory, name)
        self.size = 0
        self.mode = mode
        self.hash: Any = hashlib.sha256() if digest else None
        self._written = 0  # bytes handed to the kernel, for early writeback
        self._pending: list[bytes] = []
        self._pending_size = 0
        self._running: asyncio.Future[None] | None = None
        try:
            self.fd, self.temp = tempfile.mkstemp(prefix=TEMP_PREFIX, dir=directory)
        except OSError as error:
            raise _disk_error(error) from error
        self._open = True

    @property
    def sha256(self) -> str:
        """The hex SHA-256 of what was written (made with ``digest=True``)."""
        if self.hash is None:
            raise RuntimeError("this staged file keeps no digest")
        return str(self.hash.hexdigest())

    async def write(self, data: bytes) -> None:
        """Queue ``data``; a full batch goes to disk before this returns."""
        self._pending.append(data)
        self._pending_size += len(data)
        self.size += len(data)
        if self._pending_size >= WRITE_BATCH:
            await self._flush()

    async def finish(self) -> None:
        """Write what is queued, set the final mode, fsync; the data is then on disk."""
        await self._flush()
        await self._in_thread(self._sync)

    def _sync(self) -> None:
        os.fchmod(self.fd, self.mode)
        os.fsync(self.fd)

    async def _flush(self) -> None:
        if not self._pending:
            return
        chunks = self._pending
        self._pending = []
        self._pending_size = 0
        await self._in_thread(self._write_all, chunks)

    def _write_all(self, chunks: list[bytes]) -> None:
        """Write ``chunks`` in order, then start their writeback (runs in a worker thread;
        hashlib releases the GIL for large buffers)."""
        if self.hash is not None:
            for chunk in chunks:
                self.hash.update(chunk)
        views = [memoryview(chunk) for chunk in chunks]
        total = 0
        while views:
            written = os.writev(self.fd, views[:WRITEV_BUFFERS])
            total += written
            while views and written >= len(views[0]):
                written -= len(views[0])
                views.pop(0)
            if written:
                views[0] = views[0][written:]
        if _START_WRITEBACK is not None:
            _START_WRITEBACK(self.fd, self._written, total, os.POSIX_FADV_DONTNEED)
        self._written += total

    async def _in_thread(self, work: Callable[..., None], *args: object) -> None:
        future = asyncio.get_running_loop().run_in_executor(None, work, *args)
        self._running = future
        try:
            # shield: a cancelled request must not forget a thread still using the descriptor.
            await asyncio.shield(future)
        except OSError as error:
            raise _disk_error(error) from error

    async def fill_from(self, source: str, digest: Any = None) -> None:
        """Make the staged file ``source`` (a finished resumable upload), then ``finish`` it.

        On the same file system ``source`` is renamed onto the temporary name (no copy); else
        it is copied in batches. ``digest``, a SHA-256 already covering all of ``source``,
        saves hashing it again.
        """
        try:
            os.rename(source, self.temp)
        except OSError as error:
            if error.errno != errno.EXDEV:
                raise _disk_error(error) from error
            await self.copy_from(source)
        else:
            os.close(self.fd)  # it named the empty file the rename just replaced
            self.fd = os.open(self.temp, os.O_RDWR)
            self.size = os.fstat(self.fd).st_size
            if digest is not None:
                self.hash = digest
            elif self.hash is not None:
                await self._in_thread(self._hash_file)
        await self.finish()

    def _hash_file(self) -> None:
        os.lseek(self.fd, 0, os.SEEK_SET)
        while block := os.read(self.fd, WRITE_BATCH):
            self.hash.update(block)

    async def copy_from(self, source: str) -> None:
        """Append the bytes of the file ``source`` (read and hashed in a worker thread)."""
        await self._flush()
        await self._in_thread(self._copy, source)

    def _copy(self, source: str) -> None:
        with open(source, "rb") as data:
            while block := data.read(WRITE_BATCH):
                self._write_all([block])
                self.size += len(block)

    def link(self) -> bool:
        """Give the file its name unless the name exists; True when it was created.

        ``os.link`` is the atomic no-clobber rename: it fails when the name exists, whoever
        created it and however recently.
        """
        try:
            os.link(self.temp, self.final)
        except FileExistsError:
            return False
        except OSError as error:
            raise _disk_error(error) from error
        return True

    def land(self, policy: str) -> bool:
        """Put the file in place under ``policy`` (``CONFLICT_POLICIES``); True when a new
        name was created, False when an existing file was replaced. Raises 409 when the name
        is taken under ``refuse`` (or every numbered name under ``rename``). After a rename,
        ``name`` and ``final`` are the name the file got."""
        if self.link():
            return True
        if policy == "replace":
            self.replace()
            return False
        if policy == "rename":
            directory = os.path.dirname(self.final)
            for number in range(1, MAX_RENAMES + 1):
                candidate = numbered_name(self.name, number)
                if len(candidate.encode("utf-8")) > names.MAX_NAME_BYTES:
                    break
                self.final = os.path.join(directory, candidate)
                if self.link():
                    self.name = candidate
                    return True
            self.final = os.path.join(directory, self.name)
        raise HTTPError(409, f"a file named {self.name} exists already")

    def replace(self) -> None:
        """Atomically put the file in place of the existing one (PUT on an existing name)."""
        try:
            os.replace(self.temp, self.final)
        except IsADirectoryError:
            raise HTTPError(409, "a directory has that name") from None
        except OSError as error:
            raise _disk_error(error) from error

    def discard(self) -> None:
        """Close the descriptor and remove the temporary name; safe to call more than once."""
        if self._open:
            self._open = False
            fd = self.fd
            running = self._running
            if running is not None and not running.done():
                running.add_done_callback(lambda done: _close_after(done, fd))
            else:
                os.close(fd)
        with contextlib.suppress(FileNotFoundError):
            os.unlink(self.temp)


def _close_after(done: asyncio.Future[None], fd: int) -> None:
    if not done.cancelled():
        done.exception()  # retrieved, so asyncio does not log it as lost
    os.close(fd)


def sync_directory(directory: str) -> None:
    """fsync ``directory``, so a name just made or removed in it survives a crash."""
    fd = os.open(directory, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


class Uploads:
    """POST and PUT into ``config.upload_dir`` (which must be set, absolute and resolved)."""

    def __init__(self, config: Config, allowed: AllowedHosts | None = None) -> None:
        assert config.upload_dir is not None
        self.config = config
        self.allowed = allowed if allowed is not None else AllowedHosts()
        self.directory = str(config.upload_dir)
        self.max_size = config.max_upload_size
        umask = os.umask(0o022)
        os.umask(umask)
        self.mode = 0o666 & ~umask
        self.inside_root = contains(str(config.root), self.directory)
        self.base_url = self._base_url()
        # The same URL decoded, as request.path is: where a raw upload may also be sent.
        self.base_path = None if self.base_url is None else urllib.parse.unquote(self.base_url)
        # Keeps a file a PUT replaces: (real path, URL path) -> trash id (porch.app.trash).
        self.keep: Callable[[str, str], str] | None = None

    def _base_url(self) -> str | None:
        """The URL of the upload directory when porch also serves it, else None."""
        if not self.inside_root:
            return None
        inside = Path(os.path.relpath(self.directory, self.config.root)).parts
        names = [part for part in inside if part != "."]
        if not self.config.hidden and any(name.startswith(".") for name in names):
            return None
        return "/" + "".join(urllib.parse.quote(name) + "/" for name in names)

    def location(self, name: str) -> str | None:
        """Where an uploaded ``name`` is served, when it is."""
        return None if self.base_url is None else self.base_url + urllib.parse.quote(name)

    def raw_name(self, path: str) -> str:
        """The file name a raw POST/PUT names: ``/NAME``, or ``BASE/NAME`` when DIR is served
        at ``BASE/`` (``/incoming/NAME``), i.e. the URL the file will be served at.

        The second form is what makes per-prefix access rules work for raw uploads: a user
        with ``write@/incoming`` can upload to the URL their grant covers, and PUT to a file's
        ``Location`` replaces that file. Either way the name is then checked as one name.
        """
        base = self.base_path
        if base is not None and base != "/" and path.startswith(base) and len(path) > len(base):
            return path[len(base) :]
        return path[1:]

    def _check_name(self, name: str) -> str:
        check_name(name)
        if self.inside_root and names_template_source(name):
            # A .j2 under ROOT is rendered as a page: uploads must not add server behaviour.
            # Any case: the read path 404s every .J2 URL, and a case-insensitive file system
            # would render one.
            raise HTTPError(400, "template sources (.j2) cannot be uploaded into the served tree")
        if self.base_url is not None:
            check_served_upload_name(name)
        return name

    def is_form(self, request: Request) -> bool:
        """True for a ``multipart/form-data`` request (the browser's form)."""
        return form_boundary(request.headers.get("content-type")) is not None

    # -- the request ----------------------------------------------------------------------

    def takes(self, request: Request, who: Principal) -> bool:
        """True when this POST/PUT is an upload into the upload directory (issue 13): a form;
        a raw upload to ``/NAME`` or to a name directly in the served upload directory, as
        before WebDAV, whatever the grants; any raw upload from someone who may not write in
        the served tree. Otherwise (a deeper URL and a tree grant) the write lands in the tree
        itself (porch.app.dav)."""
        if request.method == "POST" and form_boundary(request.headers.get("content-type")):
            return True
        if "/" not in request.path[1:]:
            return True
        base = self.base_path
        if base is not None and request.path.startswith(base):
            rest = request.path[len(base) :]
            if rest and "/" not in rest:
                return True
        return who.tree_level(request.path) < Access.ADD

    async def handle(self, request: Request, *, replace: bool = True) -> Response:
        """Answer a POST or PUT; raises ``HTTPError`` for every refusal. ``replace`` False
        (an ``add`` grant) refuses a PUT over an existing file with 403."""
        if not same_origin(request, self.allowed):
            raise HTTPError(403, "uploads from another site are refused")
        boundary = form_boundary(request.headers.get("content-type"))
        if request.method == "POST" and boundary is not None:
            directory_url = self._form_target(request)
            self._check_framing(request)
            return await self._receive_form(request, boundary, directory_url, replace=replace)
        name = self._check_name(self.raw_name(request.path))
        self._check_framing(request)
        policy = self.policy(request, may_overwrite=replace)
        target = os.path.join(self.directory, name)
        if policy == "refuse" and os.path.lexists(target):
            raise HTTPError(409, "a file with that name exists already")
        if policy == "replace" and os.path.isdir(target):
            raise HTTPError(409, "a directory has that name")
        return await self._receive_raw(request, name, policy)

    def policy(self, request: Request, *, may_overwrite: bool = True) -> str:
        """The name-conflict policy for ``request``: its ``?on-conflict=`` (refuse, rename or
        replace) or the server's ``--on-conflict``. ``replace`` holds only for a client that
        may overwrite there (``may_overwrite``: a write grant, not only add); a client that asks
        for it without that gets 403, and a server-wide ``replace`` is ``refuse`` for it, so a
        drop box never loses a file. 400 for an unknown value."""
        asked = request.query.get("on-conflict")
        policy = asked[-1] if asked else self.config.on_conflict
        if policy not in CONFLICT_POLICIES:
            raise HTTPError(400, "?on-conflict must be one of: " + ", ".join(CONFLICT_POLICIES))
        if policy == "replace" and not may_overwrite:
            if asked:
                raise HTTPError(403, "you may add files here but not replace them")
            return "refuse"
        return policy

    async def _land(self, staged: StagedFile, policy: str) -> tuple[bool, str | None]:
        """Put ``staged`` in place under ``policy``: (created, trash id of what it replaced).
        A file that ``replace`` overwrites goes to the trash first, when there is one."""
        if staged.link():
            return True, None
        if policy != "replace":
            return staged.land(policy), None
        trashed = await self._keep_old(staged.name)
        staged.replace()
        return False, trashed

    def _form_target(self, request: Request) -> str:
        """The directory URL a form was posted to (slash form); 400/404 for any other URL."""
        try:
            real = resolve(self.config.root, request.path, hidden=self.config.hidden)
        except HTTPError:
            real = None
        if real is None or not real.is_dir():
            if request.path.endswith("/"):
                raise HTTPError(404, "no such directory")
            raise HTTPError(400, "post a form to a directory URL, or the raw bytes to /NAME")
        names = url_segments(request.path, hidden=self.config.hidden)
        return "/" + "".join(urllib.parse.quote(name) + "/" for name in names)

    def _check_framing(self, request: Request) -> None:
        length = request.content_length
        if length is None and not request.chunked:
            raise HTTPError(411, "an upload needs Content-Length or chunked transfer coding")
        if length is not None and self.max_size is not None and length > self.max_size:
            raise HTTPError(413, f"uploads are limited to {self.max_size} bytes")

    def _count(self, total: int) -> None:
        if self.max_size is not None and total > self.max_size:
            raise HTTPError(413, f"uploads are limited to {self.max_size} bytes")

    async def _keep_old(self, name: str) -> str | None:
        """Put the file a PUT is about to replace in the trash (issue 13), when there is one
        and the upload directory is served (so the item has a URL to be restored to)."""
        if self.keep is None or self.base_path is None:
            return None
        url_path = self.base_path + name
        old = os.path.join(self.directory, name)
        try:
            return await asyncio.to_thread(self.keep, old, url_path)
        except OSError as error:
            raise _disk_error(error) from error

    async def _receive_raw(self, request: Request, name: str, policy: str) -> Response:
        staged = StagedFile(self.directory, name, self.mode, digest=True)
        trashed: str | None = None
        try:
            total = 0
            async for chunk in request.body:
                total += len(chunk)
                self._count(total)
                await staged.write(chunk)
            if request.content_length is not None and total != request.content_length:
                raise HTTPError(400, "the body ended before its Content-Length")
            await staged.finish()
            created, trashed = await self._land(staged, policy)
            await asyncio.get_running_loop().run_in_executor(None, sync_directory, self.directory)
        finally:
            staged.discard()
        kept = Headers([("Porch-Trash-Id", trashed)] if trashed else [])
        if not created and request.method == "PUT":
            return Response(204, kept)
        response = self.created(request, staged, 201 if created else 200)
        for header, value in kept.items():
            response.headers.add(header, value)
        return response

    async def land(self, staged: StagedFile, *, overwrite: bool) -> bool:
        """Give a finished (fsynced) staged file its name; True when the name is new.

        Without ``overwrite`` an existing name is 409 and the old file stays; with it the old
        file is replaced atomically (into the trash first, when there is one). Then the
        directory is fsynced. Completed resumable uploads (porch.app.resumable) land here;
        raw uploads go through the same ``_land`` with their conflict policy.
        """
        created, _ = await self._land(staged, "replace" if overwrite else "refuse")
        await asyncio.get_running_loop().run_in_executor(None, sync_directory, self.directory)
        return created

    def created(self, request: Request, staged: StagedFile, status: int = 201) -> Response:
        headers = Headers()
        location = self.location(staged.name)
        if location is not None:
            headers.set("Location", location)
        summary = self._summary(staged)
        if negotiate(request.headers.get("accept"), ("text/plain", "application/json")) == (
            "application/json"
        ):
            return json_response(status, summary, headers)
        where = location or staged.name
        verb = "created" if status == 201 else "replaced"
        text = f"{verb} {where}: {staged.size} bytes, sha256 {staged.sha256}\n"
        return text_response(status, text, headers)

    def _summary(self, staged: StagedFile) -> dict[str, object]:
        summary: dict[str, object] = {
            "name": staged.name,
            "size": staged.size,
            "sha256": staged.sha256,
        }
        location = self.location(staged.name)
        if location is not None:
            summary["location"] = location
        return summary

    async def _receive_form(
        self, request: Request, boundary: bytes, directory_url: str, *, replace: bool
    ) -> Response:
        """Save every file part of a form; all of them or (on any refusal) none."""
        staged: list[StagedFile] = []
        linked: list[StagedFile] = []
        try:
            current: StagedFile | None = None
            names: set[str] = set()
            policy = self.policy(request, may_overwrite=replace)
            async for event in form_parts(self._counted(request), boundary):
                if isinstance(event, PartStart):
                    current = self._start_part(event, names, policy)
                    if current is not None:
                        staged.append(current)
                elif isinstance(event, PartData):
                    if current is not None:
                        await current.write(event.data)
                elif isinstance(event, PartEnd):
                    current = None
            if not staged:
                raise HTTPError(400, "the form has no files in it")
            for item in staged:
                await item.finish()
            for item in staged:
                created, _ = await self._land(item, policy)
                if created:
                    linked.append(item)
            await asyncio.get_running_loop().run_in_executor(None, sync_directory, self.directory)
            linked = []
        finally:
            for item in linked:  # a refusal after some names were taken: give them back
                with contextlib.suppress(FileNotFoundError):
                    os.unlink(item.final)
            for item in staged:
                item.discard()
        if negotiate(request.headers.get("accept"), ("application/json", "text/html")) == (
            "text/html"
        ):
            return Response(303, Headers([("Location", directory_url)]), b"")
        headers = Headers()
        location = self.location(staged[0].name) if len(staged) == 1 else None
        if location is not None:
            headers.set("Location", location)
        return json_response(201, [self._summary(item) for item in staged], headers)

    async def _counted(self, request: Request) -> AsyncIterator[bytes]:
        total = 0
        async for chunk in request.body:
            total += len(chunk)
            self._count(total)
            yield chunk

    def _start_part(self, event: PartStart, names: set[str], policy: str) -> StagedFile | None:
        """Stage a file part; None for plain fields and for an empty file input. A name taken
        (by a file, or by an earlier part) is 409 at once unless ``policy`` is rename, which
        numbers the later one when it lands."""
        if event.filename is None or event.filename == "":
            return None
        name = self._check_name(event.filename)
        if name in names and policy != "rename":
            raise HTTPError(409, f"the form has two files named {name}")
        names.add(name)
        target = os.path.join(self.directory, name)
        if policy == "refuse" and os.path.lexists(target):
            raise HTTPError(409, f"a file named {name} exists already")
        if policy == "replace" and os.path.isdir(target):
            raise HTTPError(409, "a directory has that name")
        return StagedFile(self.directory, name, self.mode, digest=True)
