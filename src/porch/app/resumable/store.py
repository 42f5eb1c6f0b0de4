"""Partial uploads on disk: one data file and one record per upload, in the state directory.

Theory of operation. An upload ``ID`` (24 random URL-safe characters: the ID is what lets a
client continue, so it must not be guessable) is two files in ``StateDir.sub("uploads")``:
``ID.data``, the bytes received so far, and ``ID.json``, its record (target name, declared
length, metadata, owner, expiry and the *durable* offset). Nothing of it is under ROOT, so a
partial upload is never listed or served; it becomes a file only when it is complete, through
the same staged, fsynced, renamed landing as every other upload (porch.app.uploads).

Durability: bytes are appended to ``ID.data`` by a worker thread; a *commit* fsyncs the data
and only then rewrites the record (written to a temporary name, fsynced, renamed over the old
one). So the recorded offset never runs ahead of the data on disk: a server killed at any
moment restarts with the offset of its last commit, and any bytes past it in ``ID.data`` (written
but not committed) are cut off before the next append. Commits happen at the end of every
append request, when an append is interrupted (client gone, timeout), and every
``COMMIT_INTERVAL`` bytes within one long request.

One writer per upload: an append holds an in-process ``asyncio.Lock`` and an exclusive
``flock`` on the data file (other ``--workers`` processes), so two appends never interleave;
a second request waits a few seconds for the first to notice its client has gone, then gets
423 Locked (tus clients retry it).

Expiry: every record carries ``expires`` (creation or last append plus ``--resumable-expiry``);
``sweep`` removes expired uploads, and runs at start and at most once a minute on requests.
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import hashlib
import json
import os
import re
import secrets
import time
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Final

from porch.http import HTTPError

COMMIT_INTERVAL: Final = 16 * 1024 * 1024
"""Bytes appended within one request between two commits (fsync + record)."""
LOCK_WAIT: Final = 5.0
"""Seconds a request waits for another request on the same upload before 423 Locked."""
SWEEP_INTERVAL: Final = 60.0
"""Seconds between two sweeps for expired uploads."""

_ID = re.compile(r"[A-Za-z0-9_-]{24}")
_DISK_FULL = frozenset({28, 122})  # ENOSPC, EDQUOT


def valid_id(text: str) -> bool:
    """True when ``text`` has the shape of an upload ID (so it is safe as a file name)."""
    return _ID.fullmatch(text) is not None


@dataclass(slots=True)
class Record:
    """What porch knows of one upload; ``offset`` is the durable (committed) offset."""

    id: str
    name: str | None
    """The file name it lands as (None for a tus partial upload of a concatenation)."""
    length: int | None
    """The declared length; None while deferred (tus) or unknown (IETF)."""
    guard_path: str
    """The URL path whose grants the creation needed: every later request needs the same."""
    user: str | None
    overwrite: bool
    """PUT semantics at completion (replace) rather than POST's (409 when the name exists)."""
    protocol: str
    """``tus`` or ``ietf``: which protocol created it (both may continue it)."""
    created: float
    expires: float
    offset: int = 0
    partial: bool = False
    complete: bool = False
    location: str | None = None
    """Where the finished file is served (after completion), when it is."""
    metadata: dict[str, str] = field(default_factory=dict)
    parts: list[str] = field(default_factory=list)
    """For a tus final concatenation: the URLs of the partial uploads it joined."""

    def to_json(self) -> bytes:
        return json.dumps(asdict(self), sort_keys=True).encode("utf-8")

    @classmethod
    def from_json(cls, data: bytes) -> Record:
        fields: dict[str, Any] = json.loads(data)
        return cls(**fields)


def _disk_error(error: OSError) -> HTTPError:
    if error.errno in _DISK_FULL:
        return HTTPError(507, "there is no space left for this upload")
    return HTTPError(500, "the upload could not be written")


class Writer:
    """The one append in progress on an upload: holds the data file open and locked.

    ``append`` writes in a worker thread; ``commit`` makes what was written durable and
    records the new offset. Use as ``async with store.writer(record) as writer``.
    """

    def __init__(self, store: Store, record: Record, fd: int) -> None:
        self.store = store
        self.record = record
        self.fd = fd
        self.offset = record.offset
        """Bytes in the data file, committed or not."""
        self.uncommitted = 0

    async def append(self, data: bytes, digest: Any = None) -> None:
        """Write ``data`` at the current end, in a worker thread, updating there the upload's
        running SHA-256 (when it covers the bytes so far) and ``digest`` (a chunk's checksum)."""
        running = self.store.running_digest(self.record.id, self.offset)
        await self._thread(self._write, data, running, digest)
        self.offset += len(data)
        self.uncommitted += len(data)
        if running is not None:
            self.store.set_digest(self.record.id, self.offset, running)

    def _write(self, data: bytes, *digests: Any) -> None:
        for digest in digests:  # hashlib releases the GIL on large buffers
            if digest is not None:
                digest.update(data)
        view = memoryview(data)
        while view:
            written = os.write(self.fd, view)
            view = view[written:]

    async def commit(self) -> bool:
        """fsync the data, then record the offset: the record never runs ahead of the data.
        False when there was nothing new to commit (and nothing was written)."""
        if self.offset == self.record.offset and not self.uncommitted:
            return False
        await self._thread(os.fsync, self.fd)
        self.record.offset = self.offset
        self.uncommitted = 0
        await self._thread(self.store.save, self.record)
        return True

    async def rewind(self) -> None:
        """Forget what was written since the last commit (a chunk that failed its checksum)."""
        await self._thread(os.ftruncate, self.fd, self.record.offset)
        os.lseek(self.fd, self.record.offset, os.SEEK_SET)
        self.store.forget_digest(self.record.id, self.record.offset)
        self.offset = self.record.offset
        self.uncommitted = 0

    async def _thread(self, work: Callable[..., object], *args: object) -> None:
        future = asyncio.get_running_loop().run_in_executor(None, work, *args)
        try:
            await asyncio.shield(future)
        except OSError as error:
            raise _disk_error(error) from error


class Store:
    """The partial uploads of one ROOT (one state subdirectory); see the module docstring."""

    def __init__(self, directory: Path, expiry: float) -> None:
        self.directory = directory
        self.expiry = expiry
        self._locks: dict[str, asyncio.Lock] = {}
        # Running SHA-256 per upload, valid at the offset stored with it: saves reading the
        # file again at completion. Lost on restart (then the file is hashed once at the end).
        self._digests: dict[str, tuple[int, Any]] = {}
        self._last_sweep = 0.0

    def data_path(self, upload_id: str) -> str:
        return str(self.directory / f"{upload_id}.data")

    def _record_path(self, upload_id: str) -> Path:
        return self.directory / f"{upload_id}.json"

    # -- records --------------------------------------------------------------------------

    def new_id(self) -> str:
        return secrets.token_urlsafe(18)  # 24 characters, 144 random bits

    def create(self, record: Record) -> None:
        """Make the (empty) data file and the record, durably; raises 507 when the disk is full."""
        try:
            fd = os.open(self.data_path(record.id), os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            os.close(fd)
            self.save(record)
            _sync_directory(str(self.directory))
        except OSError as error:
            self.remove(record.id)
            raise _disk_error(error) from error
        self._digests[record.id] = (0, hashlib.sha256())

    def save(self, record: Record) -> None:
        """Replace the record atomically (temporary file, fsync, rename)."""
        path = self._record_path(record.id)
        temp = path.with_name(f".{record.id}.{secrets.token_hex(4)}.tmp")
        fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        try:
            os.write(fd, record.to_json())
            os.fsync(fd)
        finally:
            os.close(fd)
        os.replace(temp, path)

    def load(self, upload_id: str) -> Record | None:
        """The record of ``upload_id``, or None when there is none (or it has expired)."""
        if not valid_id(upload_id):
            return None
        try:
            record = Record.from_json(self._record_path(upload_id).read_bytes())
        except (FileNotFoundError, ValueError, TypeError):
            return None
        if record.expires < time.time():
            self.remove(upload_id)
            return None
        return record

    def remove(self, upload_id: str) -> None:
        """Delete an upload's data and record (nothing happens for files already gone)."""
        for path in (self.data_path(upload_id), str(self._record_path(upload_id))):
            with contextlib.suppress(FileNotFoundError):
                os.unlink(path)
        self._digests.pop(upload_id, None)
        lock = self._locks.get(upload_id)
        if lock is not None and not lock.locked():
            del self._locks[upload_id]

    def drop_data(self, upload_id: str) -> None:
        """Delete the data only (a completed upload keeps its record until it expires)."""
        with contextlib.suppress(FileNotFoundError):
            os.unlink(self.data_path(upload_id))
        self._digests.pop(upload_id, None)

    def renew(self, record: Record) -> None:
        record.expires = time.time() + self.expiry

    def count(self) -> int:
        return sum(1 for _ in self._records())

    def _records(self) -> Iterator[str]:
        for entry in os.scandir(self.directory):
            if entry.name.endswith(".json") and valid_id(entry.name[:-5]):
                yield entry.name[:-5]

    # -- expiry ---------------------------------------------------------------------------

    def sweep(self, now: float | None = None) -> int:
        """Remove expired uploads (and stray temporary files); returns how many went."""
        now = time.time() if now is None else now
        self._last_sweep = now
        removed = 0
        for upload_id in list(self._records()):
            try:
                record = Record.from_json(self._record_path(upload_id).read_bytes())
            except FileNotFoundError:
                continue
            except (ValueError, TypeError):
                record = None
            if record is None or record.expires < now:
                self.remove(upload_id)
                removed += 1
        for entry in os.scandir(self.directory):
            # Only old strays: a data file whose record is being written right now (another
            # thread or worker creating an upload) is not an orphan.
            try:
                old = entry.stat().st_mtime < now - SWEEP_INTERVAL
            except FileNotFoundError:
                continue
            stem = entry.name.removesuffix(".data")
            orphan = entry.name.endswith(".data") and not self._record_path(stem).exists()
            if old and (orphan or entry.name.endswith(".tmp")):
                with contextlib.suppress(FileNotFoundError):
                    os.unlink(entry.path)
        return removed

    def sweep_due(self) -> bool:
        return time.time() - self._last_sweep >= SWEEP_INTERVAL

    # -- running digests ------------------------------------------------------------------

    def running_digest(self, upload_id: str, at: int) -> Any:
        """The running SHA-256 when it covers exactly ``at`` bytes; else it is dropped (the
        file is then hashed once at completion) and None is returned."""
        known = self._digests.pop(upload_id, None)
        return known[1] if known is not None and known[0] == at else None

    def set_digest(self, upload_id: str, at: int, digest: Any) -> None:
        self._digests[upload_id] = (at, digest)

    def forget_digest(self, upload_id: str, offset: int) -> None:
        known = self._digests.get(upload_id)
        if known is not None and known[0] != offset:
            self._digests.pop(upload_id, None)

    def digest(self, upload_id: str, offset: int) -> Any:
        """The running SHA-256 when it covers exactly ``offset`` bytes, else None."""
        known = self._digests.get(upload_id)
        return known[1] if known is not None and known[0] == offset else None

    # -- the one writer -------------------------------------------------------------------

    @contextlib.asynccontextmanager
    async def writer(self, record: Record) -> Any:
        """Exclusive access to one upload's data, positioned at its durable offset.

        Waits up to ``LOCK_WAIT`` seconds for a request already appending (in this process)
        and then answers 423; another process holding it is 423 at once. Bytes past the
        durable offset (written before a crash, never committed) are cut off first.
        """
        lock = self._locks.setdefault(record.id, asyncio.Lock())
        try:
            async with asyncio.timeout(LOCK_WAIT):
                await lock.acquire()
        except TimeoutError:
            raise HTTPError(423, "another request is writing to this upload") from None
        try:
            try:
                fd = os.open(self.data_path(record.id), os.O_WRONLY)
            except FileNotFoundError:
                raise HTTPError(404, "no such upload") from None
            try:
                try:
                    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                except BlockingIOError:
                    raise HTTPError(423, "another request is writing to this upload") from None
                # Re-read under the lock: another request may have moved it on meanwhile.
                fresh = self.load(record.id)
                if fresh is None:
                    raise HTTPError(404, "no such upload")
                for name in Record.__slots__:
                    setattr(record, name, getattr(fresh, name))
                if os.fstat(fd).st_size != record.offset:
                    os.ftruncate(fd, record.offset)
                    self.forget_digest(record.id, record.offset)
                os.lseek(fd, record.offset, os.SEEK_SET)
                yield Writer(self, record, fd)
            finally:
                os.close(fd)
        finally:
            lock.release()

    async def reload(self, record: Record) -> Record:
        """``record`` as stored now, read while no append runs (HEAD in either protocol)."""
        async with self.exclusive(record.id):
            return self.load(record.id) or record

    async def terminate(self, upload_id: str) -> None:
        """Remove an upload once no append runs (DELETE in either protocol)."""
        async with self.exclusive(upload_id):
            self.remove(upload_id)

    @contextlib.asynccontextmanager
    async def exclusive(self, upload_id: str) -> Any:
        """Wait (up to ``LOCK_WAIT``) until no append runs on ``upload_id`` in this process."""
        lock = self._locks.setdefault(upload_id, asyncio.Lock())
        try:
            async with asyncio.timeout(LOCK_WAIT):
                await lock.acquire()
        except TimeoutError:
            raise HTTPError(423, "another request is writing to this upload") from None
        try:
            yield
        finally:
            lock.release()


def _sync_directory(directory: str) -> None:
    fd = os.open(directory, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def free_bytes(path: str) -> int:
    """Bytes an unprivileged writer may still use on the file system holding ``path``."""
    info = os.statvfs(path)
    return info.f_bavail * info.f_frsize
