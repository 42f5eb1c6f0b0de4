"""Name rules: which file names a URL may name, and which a client may create. One module,
one ``check_name``, for reading, listing, uploads and everything after them.

A name read through a URL (a path segment) is refused when it is ``.`` or ``..``, holds a
backslash or NUL, or starts with a drive prefix (``C:``) — things ``http.server`` silently
ignores and porch refuses (400) — and is hidden (404: to the client a hidden file does not
exist) when it starts with ``.`` and hidden names are off.

A name a client *creates* (``new=True``: uploads, and later WebDAV and resumable uploads) must
also be fetchable back and harmless: not empty, no directory component (``/`` or ``\\``), no
leading ``.`` (hidden files, and porch's own temporary files, are never written by clients), no
control characters (C0, DEL and C1: they corrupt terminals and logs), no bidi or zero-width
controls (they disguise a name: porch.app.invisible), at most ``MAX_NAME_BYTES``
in UTF-8.
"""

from __future__ import annotations

import re
import unicodedata
from typing import Final

from porch.app.invisible import has_invisible
from porch.http import HTTPError

MAX_NAME_BYTES: Final = 255
"""The longest file name most file systems store (NAME_MAX), in UTF-8 bytes."""

_DRIVE: Final = re.compile(r"^[A-Za-z]:")


def check_name(name: str, *, hidden: bool, new: bool = False) -> str:
    """``name`` when acceptable, else ``HTTPError`` (400 unsafe, 404 hidden; 400 for a new
    name that breaks the creation rules). See the module docstring for the rules."""
    if new:
        if not name:
            raise HTTPError(400, "the upload has no file name: POST or PUT to /NAME")
        if "/" in name or "\\" in name:
            raise HTTPError(400, "uploads are saved in one directory: no directories in the name")
        if name.startswith("."):
            raise HTTPError(400, "an uploaded file name cannot start with '.'")
        if any(unicodedata.category(char) == "Cc" for char in name):
            raise HTTPError(400, "control characters are not allowed in a file name")
        if has_invisible(name):  # issue 17: they disguise a name (porch.app.invisible)
            raise HTTPError(400, "bidi and zero-width controls are not allowed in a file name")
        if len(name.encode("utf-8")) > MAX_NAME_BYTES:
            raise HTTPError(400, f"the file name is longer than {MAX_NAME_BYTES} bytes")
    if name in (".", ".."):
        raise HTTPError(400, "dot-segments (. and ..) are not allowed in paths")
    if "\\" in name or "\x00" in name or _DRIVE.match(name):
        raise HTTPError(400, "backslashes, NUL and drive letters are not allowed in paths")
    if name.startswith(".") and not hidden:
        raise HTTPError(404, "not found")
    return name
