"""URL path -> file-system path, confined to the root. The one containment check in porch.

Reads, listings, uploads and templates all call ``resolve``; nothing else joins a client's
path onto a directory. STYLE.md explains why it is one function: every peer that had two had
a hole in one of them.

``OpenCache`` is the one shortcut past ``resolve``, for reading files (the hot path: a
``realpath`` is an ``lstat`` per path component). Why it is never weaker than the
containment rule: an entry is made only from a file that ``resolve`` confined and that was
then opened as a regular file, and it records that file's identity (``st_dev``, ``st_ino``).
A hit opens the recorded real path and keeps the descriptor only when ``fstat`` on it shows
that same identity, as a regular file. So the bytes served on a hit come from the very inode
that passed the containment and hidden-name checks under this URL path — whatever happened
to the names in between (a component swapped for a symlink out of the root, the file
replaced or removed) either leads to another inode, and the request takes the full
``resolve``, or to the same inode, which was already allowed. The URL's own checks
(``url_segments``) are pure functions of the key, so a key that passed them once passes them
again. A full ``resolve`` followed by ``open`` has the same window between check and use, so
the cache adds no race that was not there.
"""

from __future__ import annotations

import errno
import os
import re
import stat
from pathlib import Path
from typing import Final

from porch.app.names import check_name
from porch.http import HTTPError

_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def url_segments(url_path: str, *, hidden: bool) -> list[str]:
    """The names in a decoded URL path, each checked; empty segments (``//``) are dropped.

    Raises ``HTTPError(400)`` for ``.`` and ``..`` segments, backslashes, NUL, drive prefixes
    (``C:``) — things ``http.server`` silently ignores and porch refuses — and
    ``HTTPError(404)`` for a hidden name (leading ``.``) unless ``hidden``: to the client a
    hidden file does not exist.
    """
    if not url_path.startswith("/"):
        raise HTTPError(400, "the path must start with /")
    names: list[str] = []
    for segment in url_path.split("/"):
        if not segment:
            continue
        check_name(segment, hidden=hidden)
        names.append(segment)
    return names


def contains(root: str, candidate: str) -> bool:
    """True when the real path ``candidate`` is ``root`` or lies below it (both resolved)."""
    return candidate == root or os.path.commonpath([root, candidate]) == root


def resolve(root: Path, url_path: str, *, hidden: bool) -> Path:
    """The real file-system path a URL path names under ``root`` (which must be resolved).

    The result may not exist (the caller stats it), but it is guaranteed to be ``root`` or
    below it after following every symlink: a link that leads outside gives 404, as does a
    link to a hidden name when hidden names are off. Raises ``HTTPError`` as
    ``url_segments`` does.
    """
    names = url_segments(url_path, hidden=hidden)
    return confine(root, os.path.join(root, *names), hidden=hidden)


def confine(root: Path, joined: str, *, hidden: bool) -> Path:
    """The real path of ``joined`` (a path under ``root`` built from checked names).

    Raises ``HTTPError(404)`` when following symlinks leads outside ``root``, or to a hidden
    name when ``hidden`` is off. ``resolve`` is this after checking the URL's names.
    """
    real = os.path.realpath(joined)
    root_text = str(root)
    if not contains(root_text, real):
        raise HTTPError(404, "not found")
    if real != joined and not hidden:
        inside = os.path.relpath(real, root_text)
        if any(part.startswith(".") for part in Path(inside).parts if part != "."):
            raise HTTPError(404, "not found")
    return Path(real)


def listable(root: Path, directory: str, name: str, *, hidden: bool, is_link: bool) -> bool:
    """True when the entry ``name`` of the real directory ``directory`` (under ``root``) may
    appear in a listing: exactly when a request for it would be served, not refused.

    So: the name passes ``check_name`` (no hidden names unless ``hidden``, nothing a URL
    could not address), it is valid UTF-8 without C0 control characters or DEL (the request
    parser refuses those in a path, so such a name can never be fetched), and a
    symlink resolves inside ``root`` by ``confine`` (only links need the check: the directory
    itself is already resolved and contained). The same policy for reading and listing is the
    point: miniserve once hid links from listings but still followed them.
    """
    try:
        name.encode("utf-8")
        if _CONTROL.search(name):
            return False
        check_name(name, hidden=hidden)
        if is_link:
            confine(root, os.path.join(directory, name), hidden=hidden)
    except (HTTPError, UnicodeEncodeError):
        return False
    return True


OPEN_CACHE_ENTRIES: Final = 4096
"""URL paths remembered by an ``OpenCache`` before it starts over (a few hundred KiB)."""
OPEN_CACHE_PATH_BYTES: Final = 512
"""Longer URL paths (or real paths) are not remembered (issue 17: with many spellings of a
path up to the 8 KiB URL limit the cache could otherwise hold ~64 MiB)."""

_OPEN_FLAGS: Final = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_CLOEXEC", 0)


class OpenCache:
    """URL path -> the real path and identity of the regular file ``resolve`` found for it.

    ``open(url_path)`` returns ``(real path, fd, stat)`` for a remembered file that is still
    the same inode, the descriptor the caller's to close; None means "resolve it properly".
    The module docstring gives the argument that a hit is never weaker than ``resolve``.
    """

    __slots__ = ("_entries", "capacity")

    def __init__(self, capacity: int = OPEN_CACHE_ENTRIES) -> None:
        self.capacity = capacity
        self._entries: dict[str, tuple[str, int, int]] = {}

    def open(self, url_path: str) -> tuple[str, int, os.stat_result] | None:
        """Open the remembered file for ``url_path`` if it is still the same regular file."""
        entry = self._entries.get(url_path)
        if entry is None:
            return None
        real, device, inode = entry
        try:
            fd = os.open(real, _OPEN_FLAGS)
        except OSError:
            del self._entries[url_path]
            return None
        try:
            info = os.fstat(fd)
        except OSError:
            os.close(fd)
            del self._entries[url_path]
            return None
        if info.st_ino != inode or info.st_dev != device or not stat.S_ISREG(info.st_mode):
            os.close(fd)
            del self._entries[url_path]
            return None
        return real, fd, info

    def remember(self, url_path: str, real: str, info: os.stat_result) -> None:
        """Record that ``resolve`` confined ``url_path`` to the regular file ``real``, whose
        ``fstat`` (on the descriptor that will be served) is ``info``."""
        if len(url_path) > OPEN_CACHE_PATH_BYTES or len(real) > OPEN_CACHE_PATH_BYTES:
            return
        if len(self._entries) >= self.capacity:
            self._entries.clear()
        self._entries[url_path] = (real, info.st_dev, info.st_ino)

    def __len__(self) -> int:
        return len(self._entries)


def stat_path(real: str | os.PathLike[str]) -> os.stat_result:
    """``os.stat`` of a resolved path, its failures as the statuses every read gives: 404 for
    nothing there (a segment over NAME_MAX included: no such file can exist), 403 when it
    cannot be read."""
    try:
        return os.stat(real)
    except (FileNotFoundError, NotADirectoryError):
        raise HTTPError(404, "not found") from None
    except PermissionError:
        raise HTTPError(403, "this path cannot be read") from None
    except OSError as error:
        if error.errno != errno.ENAMETOOLONG:
            raise
        raise HTTPError(404, "not found") from None
