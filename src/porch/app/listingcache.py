"""A short-lived cache of rendered directory listings (issue 6: a 1,000-entry listing is
thousands of syscalls and ~10 ms of rendering; nginx's autoindex is the bar).

Theory of operation. A rendered listing is kept under the directory's identity and version
(``st_dev``, ``st_ino``, ``st_mtime_ns``) and the request's variant (format, sort, order, URL
path). Adding, removing or renaming an entry changes the directory's mtime, so a listing
that misses an added or removed name is never served — with two guards for what mtime
cannot show:

* mtime granularity: a file system may keep mtime in coarse ticks (whole seconds on some),
  so two changes in one tick leave it equal. A directory whose mtime is within
  ``FRESH_SECONDS`` of now is never cached; a change after it was cached moves mtime to
  "now", past any tick the cached version could share.
* what the directory's mtime does not cover — an entry's own size and time, and where a
  symlink points: a cached listing lives at most ``TTL_SECONDS``, so those lag by at most
  that (nginx's ``open_file_cache_valid`` makes the same trade at 60 s). The names are never
  stale, and reading a listed name goes through ``resolve`` as always.

Memory is bounded: at most ``MAX_ENTRIES`` listings and none over ``MAX_BODY_BYTES``.
"""

from __future__ import annotations

import os
import time
from typing import Final

TTL_SECONDS: Final = 1.0
FRESH_SECONDS: Final = 1.0
MAX_ENTRIES: Final = 256
MAX_BODY_BYTES: Final = 4 * 1024 * 1024

Signature = tuple[int, int, int]
"""A directory version: (st_dev, st_ino, st_mtime_ns)."""


class ListingCache:
    """Rendered listings by directory version and variant; see the module docstring."""

    def __init__(self) -> None:
        self._entries: dict[tuple[str, Signature, tuple[object, ...]], tuple[float, bytes]] = {}
        self.hits = 0  # lookups answered and missed, for /-/metrics (issue 16)
        self.misses = 0

    def signature(self, directory: str) -> Signature | None:
        """The directory's version, taken *before* it is read; None when it may not be
        cached (cannot stat it, or it changed within the last ``FRESH_SECONDS``)."""
        try:
            info = os.stat(directory)
        except OSError:
            return None
        if time.time() - info.st_mtime < FRESH_SECONDS:
            return None
        return info.st_dev, info.st_ino, info.st_mtime_ns

    def get(self, directory: str, variant: tuple[object, ...]) -> bytes | None:
        """The cached body for the directory as it is now, or None."""
        body = self._lookup(directory, variant)
        if body is None:
            self.misses += 1
        else:
            self.hits += 1
        return body

    def _lookup(self, directory: str, variant: tuple[object, ...]) -> bytes | None:
        signature = self.signature(directory)
        if signature is None:
            return None
        found = self._entries.get((directory, signature, variant))
        if found is None:
            return None
        stored_at, body = found
        if time.monotonic() - stored_at > TTL_SECONDS:
            del self._entries[(directory, signature, variant)]
            return None
        return body

    def put(
        self, directory: str, signature: Signature | None, variant: tuple[object, ...], body: bytes
    ) -> None:
        """Remember ``body``, rendered from the directory read after ``signature`` was taken
        (so a change during the read leaves a version no later lookup matches)."""
        if signature is None or len(body) > MAX_BODY_BYTES:
            return
        if len(self._entries) >= MAX_ENTRIES:
            self._entries.clear()
        self._entries[(directory, signature, variant)] = (time.monotonic(), body)

    def clear(self) -> None:
        self._entries.clear()


LISTINGS = ListingCache()
"""The process's listing cache (keys include the real directory, so one serves every root)."""
