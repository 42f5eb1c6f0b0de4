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
        if segment in (".", ".."):
            raise HTTPError(400, "dot-segments (. and ..) are not allowed in paths")
        if "\\" in segment or "\x00" in segment or _DRIVE.match(segment):
            raise HTTPError(400, "backslashes, NUL and drive letters are not allowed in paths")
        if segment.startswith(".") and not hidden:
            raise HTTPError(404, "not found")
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
    joined = os.path.join(root, *names)
    real = os.path.realpath(joined)
    root_text = str(root)
    if not contains(root_text, real):
        raise HTTPError(404, "not found")
    if real != joined and not hidden:
        inside = os.path.relpath(real, root_text)
        if any(part.startswith(".") for part in Path(inside).parts if part != "."):
            raise HTTPError(404, "not found")
    return Path(real)
