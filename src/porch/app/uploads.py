"""Uploads: POST and PUT save request bodies into the one upload directory, byte for byte.

Theory of operation. Every request is judged before its body is read: the Origin (403), the
target and file name (400, 404), the framing (411), the declared size (413) and, for POST, a
file already there (409). Nothing is read until all of that passes, which matters for
``Expect: 100-continue``: the server sends the interim 100 only when the body is first
iterated, so a refused request gets its final status and the client never sends the body.

Then each file is staged: a hidden temporary file (``.porch-upload-XXXXXXXX``, created with
O_EXCL, mode 0600) inside the upload directory, so the final rename never crosses a file
system. Body chunks are batched to ``WRITE_BATCH`` bytes and each batch is hashed (SHA-256)
and written by a worker thread (``loop.run_in_executor``), as is the final ``fsync``: a slow
disk, or the kernel throttling a writer with too many dirty pages, then stalls only this
upload, never the event loop serving everyone else. While a batch is being written the body
is not iterated, so the connection's read buffer fills and the server stops reading the
socket: memory per upload is bounded by one batch plus the server's body high-water mark.

Committing: POST links the temporary file to its name with ``os.link``, which fails with
EEXIST when the name exists, so of two clients racing for one name exactly one wins and the
other gets 409 (a check-then-rename would let both "win" and one overwrite the other). PUT
links too (201 Created when that works) and otherwise ``os.replace``s atomically (204): a
reader sees the old file or the new one, never a mixture. Then the directory is fsynced so
the new name survives a crash. The temporary name is removed in a ``finally``: a client that
disconnects, a body that times out or breaks its chunked framing, a full disk (507), a limit
crossed mid-body (413) or any bug leaves nothing behind.
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
from typing import Final

from porch.app import names
from porch.app.inert import check_served_upload_name
from porch.app.multipart import PartData, PartEnd, PartStart, form_boundary, form_parts
from porch.app.pages import json_response
from porch.app.paths import contains, resolve, url_segments
from porch.app.usertemplates import names_template_source
from porch.config import Config
from porch.http import Headers, HTTPError, Request, Response, ServerFault, negotiate, text_response
from porch.http.hosts import AllowedHosts

WRITE_BATCH: Final = 1024 * 1024
"""Body bytes gathered before one write (and hash update) in a worker thread."""
TEMP_PREFIX: Final = ".porch-upload-"

_DISK_FULL = frozenset({errno.ENOSPC, errno.EDQUOT})


def check_name(name: str) -> str:
    """``name`` when it is acceptable as the name of an uploaded file; else ``HTTPError(400)``
    (the rules for a new name in ``porch.app.names``), so every accepted name can be fetched
    back when DIR is served."""
    return names.check_name(name, hidden=False, new=True)


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

    def __init__(self, directory: str, name: str, mode: int) -> None:
        self.name = name
        self.final = os.path.join(directory, name)
        self.size = 0
        self.mode = mode
        self.hash = hashlib.sha256()
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
        return self.hash.hexdigest()

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
        data = self._pending[0] if len(self._pending) == 1 else b"".join(self._pending)
        self._pending = []
        self._pending_size = 0
        await self._in_thread(self._write_all, data)

    def _write_all(self, data: bytes) -> None:
        # Runs in a worker thread; hashlib releases the GIL for large buffers.
        self.hash.update(data)
        view = memoryview(data)
        while view:
            written = os.write(self.fd, view)
            view = view[written:]

    async def _in_thread(self, work: Callable[..., None], *args: object) -> None:
        future = asyncio.get_running_loop().run_in_executor(None, work, *args)
        self._running = future
        try:
            # shield: a cancelled request must not forget a thread still using the descriptor.
            await asyncio.shield(future)
        except OSError as error:
            raise _disk_error(error) from error

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


def _sync_directory(directory: str) -> None:
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

    async def handle(self, request: Request) -> Response:
        """Answer a POST or PUT; raises ``HTTPError`` for every refusal."""
        if not same_origin(request, self.allowed):
            raise HTTPError(403, "uploads from another site are refused")
        boundary = form_boundary(request.headers.get("content-type"))
        if request.method == "POST" and boundary is not None:
            directory_url = self._form_target(request)
            self._check_framing(request)
            return await self._receive_form(request, boundary, directory_url)
        name = self._check_name(self.raw_name(request.path))
        self._check_framing(request)
        if request.method == "POST" and os.path.lexists(os.path.join(self.directory, name)):
            raise HTTPError(409, "a file with that name exists already")
        if request.method == "PUT" and os.path.isdir(os.path.join(self.directory, name)):
            raise HTTPError(409, "a directory has that name")
        return await self._receive_raw(request, name)

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

    async def _receive_raw(self, request: Request, name: str) -> Response:
        staged = StagedFile(self.directory, name, self.mode)
        try:
            total = 0
            async for chunk in request.body:
                total += len(chunk)
                self._count(total)
                await staged.write(chunk)
            if request.content_length is not None and total != request.content_length:
                raise HTTPError(400, "the body ended before its Content-Length")
            await staged.finish()
            if request.method == "POST":
                if not staged.link():
                    raise HTTPError(409, "a file with that name exists already")
                created = True
            else:
                created = staged.link()
                if not created:
                    staged.replace()
            await asyncio.get_running_loop().run_in_executor(None, _sync_directory, self.directory)
        finally:
            staged.discard()
        if not created:
            return Response(204, Headers())
        return self._created(request, staged)

    def _created(self, request: Request, staged: StagedFile) -> Response:
        headers = Headers()
        location = self.location(staged.name)
        if location is not None:
            headers.set("Location", location)
        summary = self._summary(staged)
        if negotiate(request.headers.get("accept"), ("text/plain", "application/json")) == (
            "application/json"
        ):
            return json_response(201, summary, headers)
        where = location or staged.name
        text = f"created {where}: {staged.size} bytes, sha256 {staged.sha256}\n"
        return text_response(201, text, headers)

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
        self, request: Request, boundary: bytes, directory_url: str
    ) -> Response:
        """Save every file part of a form; all of them or (on any refusal) none."""
        staged: list[StagedFile] = []
        linked: list[StagedFile] = []
        try:
            current: StagedFile | None = None
            names: set[str] = set()
            async for event in form_parts(self._counted(request), boundary):
                if isinstance(event, PartStart):
                    current = self._start_part(event, names)
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
                if not item.link():
                    raise HTTPError(409, f"a file named {item.name} exists already")
                linked.append(item)
            await asyncio.get_running_loop().run_in_executor(None, _sync_directory, self.directory)
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

    def _start_part(self, event: PartStart, names: set[str]) -> StagedFile | None:
        """Stage a file part; None for plain fields and for an empty file input."""
        if event.filename is None or event.filename == "":
            return None
        name = self._check_name(event.filename)
        if name in names:
            raise HTTPError(409, f"the form has two files named {name}")
        names.add(name)
        if os.path.lexists(os.path.join(self.directory, name)):
            raise HTTPError(409, f"a file named {name} exists already")
        return StagedFile(self.directory, name, self.mode)
