"""URL path -> file-system path, confined to the root. The one containment check in porch.

Reads, listings, uploads and templates all call ``resolve``; nothing else joins a client's
path onto a directory. STYLE.md explains why it is one function: every peer that had two had
a hole in one of them.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

from porch.http import HTTPError

_DRIVE = re.compile(r"^[A-Za-z]:")
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


def check_name(name: str, *, hidden: bool) -> None:
    """Refuse one path segment as ``url_segments`` does (400 for unsafe, 404 for hidden)."""
    if name in (".", ".."):
        raise HTTPError(400, "dot-segments (. and ..) are not allowed in paths")
    if "\\" in name or "\x00" in name or _DRIVE.match(name):
        raise HTTPError(400, "backslashes, NUL and drive letters are not allowed in paths")
    if name.startswith(".") and not hidden:
        raise HTTPError(404, "not found")


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
