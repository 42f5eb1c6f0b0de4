"""Folder and selection archives: ``?zip``, ``?tar`` and ``?tgz`` on a directory URL.

Theory of operation. An archive is planned before its first byte and streamed after:

1. ``collect`` walks the directory (or the selected entries) in a worker thread and keeps
   exactly the members this client could fetch one by one: every name passes
   ``porch.app.paths.listable`` (hidden names, names no URL can carry, symlinks out of ROOT
   through ``confine``), every member's URL path passes the client's grants, template
   sources (``NAME.j2``) and the plain files they shadow are left out, and so is anything
   neither a regular file nor a directory. A symlink to a directory inside ROOT is followed
   (its files are readable under the link's URL), unless it leads back to a directory above
   it: that cycle would never end. Members are sorted, so the same tree gives the same bytes.
   The entry and byte limits are checked as it goes: 413 with the reason, before anything
   is sent (they also bound links that repeat a tree many times over).
2. Zip members are stored, not compressed, so the archive's length is exact before the first
   byte (zipstream-ng computes it: ``len(ZipStream)``; docs/folders.md says why that library).
   Tar is laid out by hand around ``tarfile``'s own header encoder (512-byte blocks), so its
   length is exact too. Both go out with Content-Length, a strong ETag derived from the
   members (names, sizes, mtimes; never inodes, so every node of a fleet agrees), and honour
   a single Range (with If-Range): ``curl -C -`` resumes a download. A resumed stream is
   generated from the start and the bytes before the range are dropped, because a zip's
   CRCs depend on every byte before them; the dropped bytes are read, never sent.
   ``?tgz`` is gzip over the tar stream: no length up front, so it is chunked and not
   resumable.
3. ``ArchiveBody`` pulls the generator in a worker thread, about ``PIECE`` bytes per step, so
   file reads and CRCs never run on the event loop, and memory stays flat (one piece per
   download plus the member list).

A member's real path was confined when planned; it is confined again just before its bytes are
read (``_ConfinedZip``), so a directory swapped for a symlink out of ROOT in between is caught.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import hashlib
import os
import stat
import tarfile
import time
import urllib.parse
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from importlib.metadata import version
from pathlib import Path
from typing import Any, Final

import zipstream

from porch.app.files import attachment_disposition
from porch.app.paths import confine, contains, listable, url_segments
from porch.app.usertemplates import TEMPLATE_SUFFIX
from porch.http import Headers, HTTPError, Request, Response, SizedChunks, format_http_date
from porch.http.conditional import Outcome, evaluate_preconditions, if_range_allows
from porch.http.ranges import content_range, parse_range, satisfiable

FORMATS: Final = ("zip", "tar", "tgz")
"""The query keys that ask for an archive, in the order they are looked for."""

PIECE: Final = 1024 * 1024
"""Bytes an archive stream produces per step in the worker thread."""

MAX_SELECTION_BYTES: Final = 1024 * 1024
"""The largest form body a selection may post (its names, url-encoded)."""

_MEDIA = {"zip": "application/zip", "tar": "application/x-tar", "tgz": "application/gzip"}
_SUFFIX = {"zip": ".zip", "tar": ".tar", "tgz": ".tar.gz"}
_LIBRARY = f"zipstream-ng {version('zipstream-ng')}"


@dataclass(frozen=True, slots=True)
class Member:
    """One archive member: its name inside the archive (``folder/a/b.txt``; directories end
    in ``/``), its confined real path (never shown), size and mtime in nanoseconds."""

    arcname: str
    real: str
    size: int
    mtime_ns: int

    @property
    def is_dir(self) -> bool:
        return self.arcname.endswith("/")


@dataclass(frozen=True, slots=True)
class ArchiveLimits:
    """What one archive may hold (``Config.max_archive_entries`` / ``max_archive_size``)."""

    entries: int
    bytes: int


class _Tally:
    def __init__(self, limits: ArchiveLimits) -> None:
        self.limits = limits
        self.entries = 0
        self.bytes = 0

    def add(self, size: int) -> None:
        self.entries += 1
        self.bytes += size
        if self.entries > self.limits.entries:
            raise HTTPError(
                413, f"the archive would hold more than {self.limits.entries} files and folders"
            )
        if self.bytes > self.limits.bytes:
            raise HTTPError(413, f"the archive would be larger than {self.limits.bytes} bytes")


def _shadowed(names: list[str]) -> set[str]:
    """Names a listing does not offer as plain files: template sources and what they shadow."""
    out: set[str] = set()
    for name in names:
        if name.endswith(TEMPLATE_SUFFIX):
            out.add(name)
            out.add(name[: -len(TEMPLATE_SUFFIX)])
    return out


def collect(
    root: Path,
    directory: str,
    url_dir: str,
    top: str,
    *,
    hidden: bool,
    readable: Callable[[str], bool],
    limits: ArchiveLimits,
    selection: list[str] | None = None,
) -> list[Member]:
    """The members of an archive of the real directory ``directory`` (confined, served at
    ``url_dir``, which ends in ``/``), named below the folder ``top`` in the archive.

    With ``selection`` (names directly inside the directory, from a posted form), only those
    entries and what is below them; a name that is not there, or not visible, is a 404 as it
    would be on its own URL. ``readable(url_path)`` says whether the client may read a URL
    path (its grants). Raises ``HTTPError(413)`` past ``limits``. See the module docstring.
    """
    tally = _Tally(limits)
    members: list[Member] = []
    info = os.stat(directory)
    members.append(Member(top + "/", directory, 0, info.st_mtime_ns))
    tally.add(0)
    chosen: set[str] | None = None
    if selection is not None:
        chosen = set()
        for name in selection:
            names = url_segments("/" + name, hidden=hidden)
            if len(names) != 1:
                raise HTTPError(400, "a selected entry must be a name in this folder")
            chosen.add(names[0])
    # Depth first, in sorted order: (real directory, URL path, archive name), all with "/".
    # Each folder to visit carries the real paths of the folders above it, so a symlink back
    # to one of them (a cycle) is seen and not followed.
    Visit = tuple[str, str, str, set[str] | None, frozenset[str]]
    stack: list[Visit] = [(directory, url_dir, top + "/", chosen, frozenset([directory]))]
    while stack:
        real_dir, url_here, arc_here, only, above = stack.pop()
        try:
            with os.scandir(real_dir) as iterator:
                items = sorted(iterator, key=lambda item: item.name)
        except OSError:
            continue  # vanished or unreadable: left out, like an unlistable directory
        names = [item.name for item in items]
        skipped = _shadowed(names)
        if only is not None:
            missing = only.difference(names) | (only & skipped)
            if missing:
                raise HTTPError(404, "a selected entry is not in this folder")
        below: list[Visit] = []
        for item in items:
            name = item.name
            if (only is not None and name not in only) or name in skipped:
                continue
            try:
                link = item.is_symlink()
                if not listable(root, real_dir, name, hidden=hidden, is_link=link):
                    if only is not None:
                        raise HTTPError(404, "a selected entry is not in this folder")
                    continue
                entry_info = item.stat()
            except OSError:
                continue
            url = url_here + name
            if not readable(url):
                continue
            real = (
                str(confine(root, os.path.join(real_dir, name), hidden=hidden))
                if link
                else item.path
            )
            if stat.S_ISDIR(entry_info.st_mode):
                if real in above:
                    continue  # a link back up the tree: module docstring
                tally.add(0)
                members.append(Member(arc_here + name + "/", real, 0, entry_info.st_mtime_ns))
                below.append((real, url + "/", arc_here + name + "/", None, above | {real}))
            elif stat.S_ISREG(entry_info.st_mode):
                tally.add(entry_info.st_size)
                members.append(
                    Member(arc_here + name, real, entry_info.st_size, entry_info.st_mtime_ns)
                )
        stack.extend(reversed(below))
    return members


def entity_tag(kind: str, members: list[Member]) -> str:
    """A strong ETag for the archive of ``members`` in format ``kind``.

    A digest of what decides the bytes: the format and the library that lays it out, and each
    member's name, size and mtime. No inode or device, so every node serving the same tree
    agrees (DESIGN.md: validators mean the same on every node). The argument for a strong tag
    from size and mtime is ``porch.http.conditional.make_etag``'s.
    """
    digest = hashlib.sha256(f"{kind}\0{_LIBRARY}\0{time.timezone}\n".encode())
    for member in members:
        digest.update(f"{member.arcname}\0{member.size}\0{member.mtime_ns}\n".encode())
    return f'"{kind}-{digest.hexdigest()[:32]}"'


# -- zip -----------------------------------------------------------------------------------


class _ConfinedZip(zipstream.ZipStream):  # type: ignore[misc]
    """zipstream-ng's stream, with each member's real path confined again just before it is
    opened (module docstring)."""

    def __init__(self, root: Path, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._root = str(root)

    def _gen_file_entry(self, *, path: str | None = None, **kwargs: Any) -> Iterator[bytes]:
        if path is not None:
            _check_member(self._root, path)
        yield from super()._gen_file_entry(path=path, **kwargs)


def _check_member(root: str, path: str) -> None:
    """Raise unless the planned real ``path`` is still inside ``root`` through no symlink,
    and still a regular file or directory (a FIFO swapped in would block its reader)."""
    if os.path.realpath(path) != path or not contains(root, path):
        raise HTTPError(500, "an archive member moved out of the served directory")
    mode = os.stat(path).st_mode
    if not (stat.S_ISREG(mode) or stat.S_ISDIR(mode)):
        raise HTTPError(500, "an archive member is no longer a regular file")


def zip_stream(root: Path, members: list[Member]) -> tuple[int, Callable[[], Iterator[bytes]]]:
    """The exact length of the stored zip of ``members`` and a maker of its bytes."""
    archive = _ConfinedZip(root, compress_type=zipstream.ZIP_STORED, sized=True)
    for member in members:
        archive.add_path(member.real, member.arcname, recurse=False)
    length = len(archive)
    return length, lambda: iter(archive)


# -- tar -----------------------------------------------------------------------------------

_BLOCK = tarfile.BLOCKSIZE
_RECORD = tarfile.RECORDSIZE


def _tar_header(member: Member) -> bytes:
    info = tarfile.TarInfo(member.arcname.rstrip("/") if member.is_dir else member.arcname)
    info.mtime = member.mtime_ns // 1_000_000_000
    if member.is_dir:
        info.type = tarfile.DIRTYPE
        info.mode = 0o755
    else:
        info.size = member.size
        info.mode = 0o644
    return info.tobuf(tarfile.PAX_FORMAT, "utf-8", "surrogateescape")


def _padding(size: int) -> int:
    return -size % _BLOCK


def tar_stream(root: Path, members: list[Member]) -> tuple[int, Callable[[], Iterator[bytes]]]:
    """The exact length of the POSIX (pax) tar of ``members`` and a maker of its bytes.

    The layout ``tarfile`` writes: each member's header blocks, its data padded to 512 bytes,
    then two zero blocks, the whole padded to a 10240-byte record.
    """
    headers = [_tar_header(member) for member in members]
    body = sum(len(h) + m.size + _padding(m.size) for h, m in zip(headers, members, strict=True))
    body += 2 * _BLOCK
    length = body + (-body % _RECORD)

    def pieces() -> Iterator[bytes]:
        for header, member in zip(headers, members, strict=True):
            yield header
            if member.is_dir:
                continue
            yield from _read_member(root, member)
            if _padding(member.size):
                yield b"\0" * _padding(member.size)
        yield b"\0" * (length - body + 2 * _BLOCK)

    return length, pieces


def _read_member(root: Path, member: Member) -> Iterator[bytes]:
    """The bytes of a planned member, exactly ``member.size`` of them (or an error)."""
    _check_member(str(root), member.real)
    fd = os.open(member.real, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | os.O_CLOEXEC)
    try:
        offset = 0
        while offset < member.size:
            data = os.pread(fd, min(PIECE, member.size - offset), offset)
            if not data:
                raise HTTPError(500, "an archive member shrank while it was being sent")
            offset += len(data)
            yield data
    finally:
        os.close(fd)


def _gzip(pieces: Iterator[bytes]) -> Iterator[bytes]:
    compressor = zlib.compressobj(6, zlib.DEFLATED, 31)
    for piece in pieces:
        out = compressor.compress(piece)
        if out:
            yield out
    yield compressor.flush()


# -- streaming -----------------------------------------------------------------------------


class ArchiveBody:
    """An async iterator over bytes ``first`` .. ``first + length`` of a generated archive.

    Each step runs in ``executor``: it advances the generator (made on the first step, so a
    HEAD that never iterates reads nothing) by about ``PIECE`` bytes, dropping those before
    ``first``. Closing while a step runs defers the generator's close until the step is done.
    """

    def __init__(
        self,
        make: Callable[[], Iterator[bytes]],
        first: int,
        length: int | None,
        executor: concurrent.futures.Executor,
    ) -> None:
        self._make = make
        self._pieces: Iterator[bytes] | None = None
        self._skip = first
        self._left = length
        self._executor = executor
        self._running: asyncio.Future[bytes] | None = None
        self._closed = False

    def __aiter__(self) -> ArchiveBody:
        return self

    def _step(self) -> bytes:
        if self._pieces is None:
            self._pieces = self._make()
        out: list[bytes] = []
        size = 0
        for piece in self._pieces:
            if self._skip:
                if len(piece) <= self._skip:
                    self._skip -= len(piece)
                    continue
                piece = piece[self._skip :]
                self._skip = 0
            if self._left is not None:
                piece = piece[: self._left]
                self._left -= len(piece)
            out.append(piece)
            size += len(piece)
            if size >= PIECE or self._left == 0:
                break
        return b"".join(out)

    async def __anext__(self) -> bytes:
        if self._closed or self._left == 0:
            raise StopAsyncIteration
        loop = asyncio.get_running_loop()
        self._running = loop.run_in_executor(self._executor, self._step)
        try:
            data = await self._running
        finally:
            self._running = None
        if not data:
            raise StopAsyncIteration
        return data

    async def aclose(self) -> None:
        self._closed = True
        running = self._running
        if running is not None and not running.done():
            running.add_done_callback(lambda _: self._close_pieces())
        else:
            self._close_pieces()

    def _close_pieces(self) -> None:
        pieces, self._pieces = self._pieces, None
        close = getattr(pieces, "close", None)
        if close is not None:
            close()


# -- the response --------------------------------------------------------------------------


def requested_format(request: Request) -> str | None:
    """``zip``, ``tar`` or ``tgz`` when the query asks for an archive, else None."""
    query = request.query
    for kind in FORMATS:
        if kind in query:
            return kind
    return None


def archive_name(request: Request, hidden: bool) -> str:
    """The folder's name: the last URL segment, or ``root`` for ROOT itself."""
    names = url_segments(request.path, hidden=hidden)
    return names[-1] if names else "root"


async def read_selection(request: Request) -> list[str]:
    """The entry names a page posted (``entry`` fields of a url-encoded form).

    Raises 415 for another body type, 413 past ``MAX_SELECTION_BYTES``, 400 for no names.
    """
    kind = (request.headers.get("content-type") or "").partition(";")[0].strip().lower()
    if kind != "application/x-www-form-urlencoded":
        raise HTTPError(415, "post the selection as application/x-www-form-urlencoded")
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.body:
        size += len(chunk)
        if size > MAX_SELECTION_BYTES:
            raise HTTPError(413, f"a selection is at most {MAX_SELECTION_BYTES} bytes")
        chunks.append(chunk)
    try:
        text = b"".join(chunks).decode("utf-8")
        fields = urllib.parse.parse_qs(text, strict_parsing=bool(text), errors="strict")
    except (UnicodeDecodeError, ValueError):
        raise HTTPError(400, "the selection is not a valid form") from None
    names = fields.get("entry", [])
    if not names:
        raise HTTPError(400, "select at least one entry (form fields named entry)")
    return names


def archive_response(
    request: Request,
    kind: str,
    root: Path,
    members: list[Member],
    name: str,
    executor: concurrent.futures.Executor,
) -> Response:
    """The response for an archive of the planned ``members`` (module docstring)."""
    mtime = max(member.mtime_ns for member in members) / 1e9
    etag = entity_tag(kind, members)
    last_modified = format_http_date(mtime)
    headers = Headers(
        [
            ("Content-Type", _MEDIA[kind]),
            ("Content-Disposition", attachment_disposition(name + _SUFFIX[kind])),
            ("ETag", etag),
            ("Last-Modified", last_modified),
        ]
    )
    outcome = evaluate_preconditions(request.method, request.headers, etag, mtime)
    if outcome is Outcome.NOT_MODIFIED:
        return Response(304, Headers([("ETag", etag), ("Last-Modified", last_modified)]), b"")
    if outcome is Outcome.PRECONDITION_FAILED:
        raise HTTPError(412, "a precondition (If-Match or If-Unmodified-Since) does not hold")
    if kind == "tgz":
        _, tar_pieces = tar_stream(root, members)
        body = ArchiveBody(lambda: _gzip(tar_pieces()), 0, None, executor)
        return Response(200, headers, body)
    length, make = zip_stream(root, members) if kind == "zip" else tar_stream(root, members)
    headers.add("Accept-Ranges", "bytes")
    first, count, status = 0, length, 200
    range_value = request.headers.get("range")
    if request.method == "GET" and range_value is not None and length > 0:
        specs = parse_range(range_value)
        if_range = request.headers.get("if-range")
        fresh = if_range is None or if_range_allows(if_range, etag, mtime, time.time())
        if specs is not None and len(specs) == 1 and fresh:
            ranges = satisfiable(specs, length)
            if not ranges:
                raise HTTPError(
                    416, "the range is past the end", {"Content-Range": content_range(None, length)}
                )
            first, count, status = ranges[0].first, ranges[0].length, 206
            headers.add("Content-Range", content_range(ranges[0], length))
    body = ArchiveBody(make, first, count, executor)
    return Response(status, headers, SizedChunks(body, count))
