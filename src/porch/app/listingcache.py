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
  symlink points: a cached listing lives at most ``TTL_SECONDS`` (or, for a listing that
  took long to render, ``COST_FACTOR`` times its rendering time, so that re-rendering one
  huge folder cannot keep a worker thread busy all the time: issue 17), so those lag by at most
  that (nginx's ``open_file_cache_valid`` makes the same trade at 60 s). The names are never
  stale, and reading a listed name goes through ``resolve`` as always.

Memory is bounded by entries and by bytes (issue 17): at most ``MAX_ENTRIES`` listings, none
over ``MAX_BODY_BYTES``, and ``MAX_TOTAL_BYTES`` in all, the least recently used going first.
Nothing taken from request headers is part of a cached body (porch.app.sharepiece keeps the
Host-dependent share URL out), so no header value can multiply the entries.
"""

from __future__ import annotations

import os
import threading
import time
from collections import OrderedDict
from typing import Final

from porch.app.sharepiece import PagePieces, page_size

TTL_SECONDS: Final = 1.0
COST_FACTOR: Final = 3.0
FRESH_SECONDS: Final = 1.0
MAX_ENTRIES: Final = 256
MAX_BODY_BYTES: Final = 16 * 1024 * 1024
"""A 50,000-entry page (~15 MB) fits: rendering it costs over a second of CPU (issue 17)."""
MAX_TOTAL_BYTES: Final = 32 * 1024 * 1024
"""All cached listings together (issue 17: a cache bounded per entry only allowed 1 GiB)."""

Signature = tuple[int, int, int]
"""A directory version: (st_dev, st_ino, st_mtime_ns)."""


class ListingCache:
    """Rendered listings by directory version and variant; see the module docstring."""

    def __init__(
        self,
        max_entries: int = MAX_ENTRIES,
        max_body_bytes: int = MAX_BODY_BYTES,
        max_total_bytes: int = MAX_TOTAL_BYTES,
    ) -> None:
        self.max_entries = max_entries
        self.max_body_bytes = max_body_bytes
        self.max_total_bytes = max_total_bytes
        self.total_bytes = 0
        # Listings are rendered (and put) in worker threads and read on the loop.
        self._lock = threading.Lock()
        self._entries: OrderedDict[
            tuple[str, Signature, tuple[object, ...]], tuple[float, float, PagePieces]
        ] = OrderedDict()
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

    def get(self, directory: str, variant: tuple[object, ...]) -> PagePieces | None:
        """The cached body for the directory as it is now, or None."""
        found = self.lookup(directory, variant)
        return None if found is None else found[0]

    def lookup(
        self, directory: str, variant: tuple[object, ...]
    ) -> tuple[PagePieces, float] | None:
        """The cached body for the directory as it is now and the ``time.monotonic()`` instant
        it expires at (what a front end replaying it must honour), or None."""
        found = self._lookup(directory, variant)
        if found is None:
            self.misses += 1
        else:
            self.hits += 1
        return found

    def _lookup(
        self, directory: str, variant: tuple[object, ...]
    ) -> tuple[PagePieces, float] | None:
        signature = self.signature(directory)
        if signature is None:
            return None
        key = (directory, signature, variant)
        with self._lock:
            found = self._entries.get(key)
            if found is None:
                return None
            stored_at, cost, body = found
            expires = stored_at + max(TTL_SECONDS, COST_FACTOR * cost)
            if time.monotonic() > expires:
                self._drop(key)
                return None
            self._entries.move_to_end(key)
            return body, expires

    def _drop(self, key: tuple[str, Signature, tuple[object, ...]]) -> None:
        _, _, body = self._entries.pop(key)
        self.total_bytes -= page_size(body)

    def put(
        self,
        directory: str,
        signature: Signature | None,
        variant: tuple[object, ...],
        body: PagePieces,
        cost: float = 0.0,
    ) -> None:
        """Remember ``body``, rendered from the directory read after ``signature`` was taken
        (so a change during the read leaves a version no later lookup matches). The least
        recently used listings make room. ``cost``: the seconds it took to make."""
        size = page_size(body)
        if signature is None or size > self.max_body_bytes:
            return
        key = (directory, signature, variant)
        with self._lock:
            if key in self._entries:
                self._drop(key)
            while self._entries and (
                len(self._entries) >= self.max_entries
                or self.total_bytes + size > self.max_total_bytes
            ):
                self._drop(next(iter(self._entries)))
            self._entries[key] = (time.monotonic(), cost, body)
            self.total_bytes += size

    def __len__(self) -> int:
        return len(self._entries)

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()
            self.total_bytes = 0


LISTINGS = ListingCache()
"""The process's listing cache (keys include the real directory, so one serves every root)."""
