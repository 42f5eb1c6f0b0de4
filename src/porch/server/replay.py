"""Complete small responses kept ready: the hot path of reading files (issue 12).

Theory of operation. Most requests to a file server are the same GET of the same small file.
When the app answers one with a ``Source`` (the file and the directory its answer depends on,
``porch.http.Source``), the server keeps the whole framed response (``porch.http.wire.Replay``)
under a key of exactly what the answer varies with: method, request-target, Host, and the
fields that select a representation or a precondition (Accept-Encoding, Range, If-None-Match,
If-Modified-Since, If-Match, If-Unmodified-Since). The next request with that key is answered
from the connection's parser callback with one write, without a ``Request``, a task or the
app — after one ``lstat`` of the file and one ``stat`` of its directory show both unchanged.

Why a hit is never a different answer than the app would give:

* Identity: the file's inode, device, size, mtime and ctime must be those the app served.
  Every change to a file's bytes or permissions moves its ctime; a replacement (rename, a
  symlink put in its place, removal) changes what ``lstat`` of its real path sees.
* Neighbours: a template (``NAME.j2``) or a precompressed sibling appearing beside the file
  would take over the URL: the directory's mtime moves when an entry is added, removed or
  renamed.
* Listings: a directory listing is kept with the directory as both file and watched
  directory, and an expiry (``Source.expires``): the directory's times move when an entry is
  added, removed or renamed, but not when an entry's own size or date does, so a kept listing
  is answered only until the app's own listing cache would render it again
  (``porch.app.listingcache``). A listing also varies with Accept (text, HTML or JSON) and,
  through its share URL, with the proxy fields: all are part of the key.
* Timestamps are coarse (a file system's clock ticks in milliseconds or seconds): a response
  is kept only when the file and directory last changed more than ``SETTLED_NS`` ago, so any
  later change shows as a different time.
* Everything else the app decides from is fixed for the process or in the key: access rules
  for a request without credentials (a request with Authorization or Cookie is never
  replayed), hidden names (a pure function of the URL), the Host check, CORS, Cache-Control.
  Requests with a body, Expect, If-Range (its date rule depends on the clock) or forwarded
  fields from a trusted proxy (the log's client address) always take the full path.

The cache is bounded in bytes (``--response-cache-size``, 0 turns it off); file bodies above
``MAX_BODY`` and generated bodies above ``MAX_MEMORY_BODY`` are never kept.
docs/performance.md has the measurements.
"""

from __future__ import annotations

import os
import time
from typing import Final

from porch.http import FileBody, Request, Response, Source
from porch.http.wire import Replay, replay

MAX_BODY: Final = 64 * 1024
"""Larger files go out by sendfile or a bounded copy, never from memory."""
MAX_MEMORY_BODY: Final = 1024 * 1024
"""A generated body (a listing) is in memory anyway; a 1,000-entry HTML listing is ~380 KB."""
SETTLED_NS: Final = 2_000_000_000
"""A file or directory changed more recently than this is not replayed (coarse clocks)."""
STATUSES: Final = frozenset({200, 206, 304})
MAX_HEAD: Final = 2048
MAX_HEADS: Final = 4096
"""Heads remembered byte for byte (at most ``MAX_HEAD`` bytes each, 8 MiB in all)."""

VARYING: Final = frozenset(
    {
        b"accept",
        b"accept-encoding",
        b"range",
        b"if-none-match",
        b"if-modified-since",
        b"if-match",
        b"if-unmodified-since",
    }
)
"""Request fields a kept answer depends on: part of the key."""
REFUSED: Final = frozenset(
    {
        b"authorization",
        b"cookie",
        b"content-length",
        b"transfer-encoding",
        b"expect",
        b"if-range",
        b"upgrade",
    }
)
"""Request fields that send the request the full way."""
FORWARDED: Final = frozenset({b"forwarded", b"x-forwarded-for", b"x-forwarded-proto", b"via"})
"""Proxy fields: a listing's share URL shows whether a proxy forwarded the request. Part of the
key, or (from trusted proxies, where they name the logged client) sending the request the full
way."""

Key = tuple[bytes, ...]


class _Entry:
    __slots__ = (
        "ctime",
        "dev",
        "expires",
        "ino",
        "mtime",
        "path",
        "replay",
        "size",
        "watch",
        "watch_mtime",
    )

    def __init__(
        self,
        replay: Replay,
        path: str,
        info: os.stat_result,
        watch: str,
        watch_mtime: int,
        expires: float | None,
    ) -> None:
        self.replay = replay
        self.path = path
        self.ino = info.st_ino
        self.dev = info.st_dev
        self.size = info.st_size
        self.mtime = info.st_mtime_ns
        self.ctime = info.st_ctime_ns
        self.watch = watch
        self.watch_mtime = watch_mtime
        self.expires = expires


class ReplayCache:
    """Kept responses of one server process, at most ``capacity`` bytes of them."""

    __slots__ = (
        "_entries",
        "capacity",
        "heads",
        "hits",
        "misses",
        "refused",
        "stored",
        "varying",
    )

    def __init__(self, capacity: int, *, trusted_proxies: bool = False) -> None:
        self.capacity = capacity
        self._entries: dict[Key, _Entry] = {}
        self.stored = 0
        self.hits = self.misses = 0
        self.refused = REFUSED | FORWARDED if trusted_proxies else REFUSED
        self.varying = VARYING if trusted_proxies else VARYING | FORWARDED
        self.heads: dict[bytes, Key] = {}
        """Whole chunks of client bytes that were exactly one head, answered from here, by
        their key: the same bytes again need no parsing (``Connection.data_received``)."""

    def remember_head(self, data: bytes, key: Key) -> None:
        """Record that the chunk ``data`` was exactly one head, replayed under ``key``."""
        if len(data) > MAX_HEAD or key not in self._entries:
            return
        if len(self.heads) >= MAX_HEADS:
            self.heads.clear()
        self.heads[data] = key

    def key(self, method: bytes, target: bytes, fields: list[tuple[bytes, bytes]]) -> Key | None:
        """The key of a GET/HEAD head, or None when it must take the full path."""
        if method != b"GET" and method != b"HEAD":
            return None
        key = [method, target]
        host = b""
        refused, varying = self.refused, self.varying
        for name, value in fields:
            lowered = name.lower()
            if lowered == b"host":
                host = value
            elif lowered in varying:
                key += (lowered, value)
            elif lowered in refused:
                return None
        key.append(host)
        return tuple(key)

    def get(self, key: Key) -> Replay | None:
        """The kept response for ``key`` if its file and directory are unchanged."""
        entry = self._entries.get(key)
        if entry is None:
            self.misses += 1
            return None
        try:
            info = os.lstat(entry.path)
            watched = os.stat(entry.watch).st_mtime_ns
        except OSError:
            self._drop(key, entry)
            return None
        if (
            (entry.expires is not None and time.monotonic() > entry.expires)
            or info.st_ctime_ns != entry.ctime
            or info.st_mtime_ns != entry.mtime
            or info.st_ino != entry.ino
            or info.st_size != entry.size
            or info.st_dev != entry.dev
            or watched != entry.watch_mtime
        ):
            self._drop(key, entry)
            return None
        self.hits += 1
        return entry.replay

    def offer(self, key: Key, request: Request, response: Response) -> None:
        """Keep ``response`` (final: every header set) for ``key`` when it may be replayed.

        A small ``FileBody`` is read here and becomes the response's bytes body (its
        descriptor closed), so what is kept is exactly what is sent.
        """
        source = response.source
        if source is None or self.capacity <= 0 or response.status not in STATUSES:
            return
        body = response.body
        if isinstance(body, FileBody):
            if body.length > MAX_BODY or body.fd is None:
                return
            if request.method == "HEAD":
                data, length = b"", body.length  # the FileBody stays: the sender closes it
            else:
                data = os.pread(body.fd, body.length, body.offset)
                if len(data) != body.length:
                    return  # the file changed under us: the full path answers
                os.close(body.fd)
                response.body = data
                length = len(data)
        elif isinstance(body, bytes) and len(body) <= MAX_MEMORY_BODY:
            data, length = body, len(body)
        else:
            return
        kept = replay(
            request.method, request.target, response.status, response.headers, data, length
        )
        self._store(key, kept, source)

    def _store(self, key: Key, kept: Replay, source: Source) -> None:
        info = source.info
        try:
            watched = os.stat(source.watch).st_mtime_ns
        except OSError:
            return
        settled = time.time_ns() - SETTLED_NS
        if info.st_ctime_ns > settled or info.st_mtime_ns > settled or watched > settled:
            return
        size = len(kept.rest) + len(kept.start) + sum(map(len, key))
        if size > self.capacity:
            return
        old = self._entries.pop(key, None)
        if old is not None:
            self.stored -= _size(key, old)
        while self._entries and self.stored + size > self.capacity:
            oldest = next(iter(self._entries))
            self._drop(oldest, self._entries[oldest])
        self._entries[key] = _Entry(kept, source.path, info, source.watch, watched, source.expires)
        self.stored += size

    def _drop(self, key: Key, entry: _Entry) -> None:
        del self._entries[key]
        self.stored -= _size(key, entry)

    def __len__(self) -> int:
        return len(self._entries)


def _size(key: Key, entry: _Entry) -> int:
    return len(entry.replay.rest) + len(entry.replay.start) + sum(map(len, key))
