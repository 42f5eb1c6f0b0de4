"""File-system operations behind COPY, MOVE and DELETE: staged, never half done, never out of ROOT.

Theory of operation. Every function here is synchronous (the WebDAV methods run them in a
worker thread) and takes real paths the caller already confined: the last component is
*not* followed, so a symlink is operated on as a link (deleting a link removes the link;
moving one renames it). Walking a tree never follows a symlink either: links are copied as
links (``os.readlink``/``os.symlink``) and ``os.walk`` and ``shutil.rmtree`` do not descend
through them, so no recursive operation reaches outside ROOT. Other special files (FIFOs,
devices, sockets) are skipped.

Nothing half written: a copy is built under a hidden staging name beside its destination
(``.porch-upload-XXXXXXXX``, the prefix uploads use), every file fsynced, then renamed into
place in one step, and the directory fsynced. A server killed mid-COPY leaves at most a hidden
staging entry, never a partial destination. A move is one ``rename`` on the same file system;
across file systems it is such a staged copy, verified (every file's size and SHA-256 read back
from the copy), renamed into place, and only then is the source removed, so a kill at any
point leaves the source whole.
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import os
import secrets
import shutil
import stat
import sys
from dataclasses import dataclass, field

from porch.app.uploads import TEMP_PREFIX, sync_directory
from porch.http import HTTPError

_CHUNK = 1024 * 1024
_DISK_FULL = frozenset({errno.ENOSPC, errno.EDQUOT})


def disk_error(error: OSError, what: str) -> HTTPError:
    """The response for a failed write: 507 when the disk is full, else 500 (no paths)."""
    if error.errno in _DISK_FULL:
        return HTTPError(507, "there is no space left on the server's disk")
    if error.errno in (errno.EACCES, errno.EPERM, errno.EROFS):
        return HTTPError(403, f"the server may not {what} here")
    return HTTPError(500, f"the server could not {what}")


@dataclass
class Outcome:
    """What a recursive operation could not do: the relative paths of members it skipped
    or failed on (reported as per-resource errors in a 207)."""

    failed: list[str] = field(default_factory=list)


def staging_name(directory: str) -> str:
    """A fresh hidden name in ``directory`` for building something before it gets its name."""
    return os.path.join(directory, TEMP_PREFIX + secrets.token_hex(4))


def _copy_file(source: str, destination: str) -> None:
    """Copy one regular file (``copy_file_range`` where the kernel offers it), fsync it."""
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_CLOEXEC", 0)
    with open(source, "rb") as reader:
        mode = stat.S_IMODE(os.fstat(reader.fileno()).st_mode)
        fd = os.open(destination, flags, 0o600)
        try:
            _copy_bytes(reader.fileno(), fd)
            os.fchmod(fd, mode)
            os.fsync(fd)
        finally:
            os.close(fd)
    shutil.copystat(source, destination)


def _copy_bytes(source: int, destination: int) -> None:
    copy_range = getattr(os, "copy_file_range", None)
    if copy_range is not None:
        try:
            while copy_range(source, destination, _CHUNK * 64):
                pass
            return
        except OSError as error:
            if error.errno not in (errno.EXDEV, errno.ENOSYS, errno.EINVAL, errno.EOPNOTSUPP):
                raise
            os.lseek(source, 0, os.SEEK_SET)
            os.ftruncate(destination, 0)
            os.lseek(destination, 0, os.SEEK_SET)
    while data := os.read(source, _CHUNK):
        view = memoryview(data)
        while view:
            view = view[os.write(destination, view) :]


def _hash_file(path: str) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as reader:
        while data := reader.read(_CHUNK):
            digest.update(data)
    return digest.hexdigest()


def _copy_entry(source: str, destination: str, *, recursive: bool, outcome: Outcome) -> None:
    """Copy ``source`` (not followed if a link) to the new name ``destination``."""
    info = os.lstat(source)
    if stat.S_ISLNK(info.st_mode):
        os.symlink(os.readlink(source), destination)
    elif stat.S_ISREG(info.st_mode):
        _copy_file(source, destination)
    elif stat.S_ISDIR(info.st_mode):
        os.mkdir(destination, 0o700)
        if recursive:
            for name in sorted(os.listdir(source)):
                if name.startswith(TEMP_PREFIX):
                    continue
                try:
                    _copy_entry(
                        os.path.join(source, name),
                        os.path.join(destination, name),
                        recursive=True,
                        outcome=outcome,
                    )
                except PermissionError:
                    outcome.failed.append(os.path.join(os.path.basename(source), name))
        os.chmod(destination, stat.S_IMODE(info.st_mode))
        with contextlib.suppress(OSError):
            sync_directory(destination)
    # FIFOs, devices and sockets are not copied.


def copy(source: str, destination: str, *, recursive: bool) -> Outcome:
    """Copy ``source`` to the free name ``destination`` (whose parent exists), staged and
    renamed into place. ``recursive`` False copies a directory without its members (Depth 0).

    Raises ``FileExistsError`` when ``destination`` appeared meanwhile (nothing is replaced).
    """
    outcome = Outcome()
    parent = os.path.dirname(destination)
    staged = staging_name(parent)
    try:
        _copy_entry(source, staged, recursive=recursive, outcome=outcome)
        _rename_no_replace(staged, destination)
        sync_directory(parent)
    finally:
        if os.path.lexists(staged):
            remove_tree(staged)
    return outcome


def _rename_no_replace(source: str, destination: str) -> None:
    """Rename unless ``destination`` exists (a file by link+unlink, a directory by rename
    after checking: rename(2) only replaces an empty directory, and we checked)."""
    if os.path.lexists(destination):
        raise FileExistsError(errno.EEXIST, "exists", destination)
    if os.path.isdir(source) and not os.path.islink(source):
        os.rename(source, destination)
        return
    os.link(source, destination, follow_symlinks=False)
    os.unlink(source)


def _verify(source: str, copied: str) -> None:
    """Raise ``OSError`` unless ``copied`` holds the same tree and bytes as ``source``."""
    info = os.lstat(source)
    other = os.lstat(copied)
    if stat.S_IFMT(info.st_mode) != stat.S_IFMT(other.st_mode):
        raise OSError(errno.EIO, "the copy differs from its source")
    if stat.S_ISLNK(info.st_mode):
        if os.readlink(source) != os.readlink(copied):
            raise OSError(errno.EIO, "the copy differs from its source")
    elif stat.S_ISREG(info.st_mode):
        if info.st_size != other.st_size or _hash_file(source) != _hash_file(copied):
            raise OSError(errno.EIO, "the copy differs from its source")
    elif stat.S_ISDIR(info.st_mode):
        names = sorted(n for n in os.listdir(source) if not n.startswith(TEMP_PREFIX))
        if names != sorted(os.listdir(copied)):
            raise OSError(errno.EIO, "the copy differs from its source")
        for name in names:
            _verify(os.path.join(source, name), os.path.join(copied, name))


def move(source: str, destination: str) -> None:
    """Move ``source`` to the free name ``destination``: one rename on one file system;
    across file systems a staged, fsynced, verified copy, and only then removal of the source.
    Raises ``FileExistsError`` when ``destination`` exists.
    """
    parent = os.path.dirname(destination)
    if os.path.lexists(destination):
        raise FileExistsError(errno.EEXIST, "exists", destination)
    try:
        os.rename(source, destination)
    except OSError as error:
        if error.errno != errno.EXDEV:
            raise
    else:
        sync_directory(parent)
        sync_directory(os.path.dirname(source))
        return
    staged = staging_name(parent)
    try:
        outcome = Outcome()
        _copy_entry(source, staged, recursive=True, outcome=outcome)
        if outcome.failed:
            raise PermissionError(errno.EACCES, "some members could not be read", source)
        _verify(source, staged)
        _rename_no_replace(staged, destination)
        sync_directory(parent)
    finally:
        if os.path.lexists(staged):
            remove_tree(staged)
    remove_tree(source)
    sync_directory(os.path.dirname(source))


def remove_tree(path: str) -> Outcome:
    """Remove ``path``: a file or link is unlinked (a link's target is untouched), a
    directory removed with everything in it (links inside are removed, never followed).
    Members that cannot be removed are reported in the outcome."""
    outcome = Outcome()
    info = os.lstat(path)
    if not stat.S_ISDIR(info.st_mode):
        os.unlink(path)
        return outcome

    def failed(_function: object, failing: str, error: object) -> None:
        cause = error if isinstance(error, BaseException) else None
        if isinstance(error, tuple):  # onerror's exc_info (Python 3.11)
            cause = error[1]
        if isinstance(cause, OSError) and cause.errno == errno.ENOTEMPTY:
            return  # a folder kept because a member failed: the member is what is reported
        outcome.failed.append(os.path.relpath(failing, os.path.dirname(path)))

    if sys.version_info >= (3, 12):
        shutil.rmtree(path, onexc=failed)
    else:  # pragma: no cover - Python 3.11
        shutil.rmtree(path, onerror=failed)
    return outcome


def tree_size(path: str) -> int:
    """Bytes in the regular files at or below ``path`` (links not followed)."""
    info = os.lstat(path)
    if not stat.S_ISDIR(info.st_mode):
        return info.st_size if stat.S_ISREG(info.st_mode) else 0
    total = 0
    for directory, _dirs, files in os.walk(path):
        for name in files:
            with contextlib.suppress(OSError):
                entry = os.lstat(os.path.join(directory, name))
                if stat.S_ISREG(entry.st_mode):
                    total += entry.st_size
    return total
