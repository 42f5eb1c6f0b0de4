"""``?hash=sha256`` (or ``sha1``, ``md5``) of a file: its digest, to check a download.

Theory of operation. A digest is computed in a worker thread of its own pool
(``HASH_WORKERS``: hashing a large file takes seconds and must neither hold the event loop nor
starve archive streams and searches), from a descriptor opened by the app after ``resolve``.
It is cached under the file's identity — (``st_dev``, ``st_ino``, ``st_size``,
``st_mtime_ns``) — and the algorithm, taken by ``fstat`` on that descriptor, so a changed
file (new size, new mtime or a new inode after a rename) is a new key and a stale digest is
never served. Requests for the same version while it is being computed share one
computation. The answer is ``sha256sum``'s line format (``DIGEST  NAME``), so ``sha256sum -c``
reads it, or JSON.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import hashlib
import json
import os
from collections import OrderedDict
from typing import Final

from porch.app.listing import choose_format
from porch.http import Headers, HTTPError, Request, Response

ALGORITHMS: Final = ("sha256", "sha1", "md5")
HASH_WORKERS: Final = 2
CACHE_ENTRIES: Final = 4096
MAX_WAITING: Final = 64
"""Digests queued or being computed at once; past this a request gets 503."""

Identity = tuple[int, int, int, int, str]


def identity(info: os.stat_result, algorithm: str) -> Identity:
    """The cache key of one version of a file for ``algorithm``."""
    return (info.st_dev, info.st_ino, info.st_size, info.st_mtime_ns, algorithm)


def _digest(fd: int, algorithm: str) -> str:
    """The digest of the whole file ``fd`` (a duplicate this job owns and closes)."""
    with os.fdopen(fd, "rb") as handle:
        return hashlib.file_digest(handle, algorithm).hexdigest()


class Checksums:
    """Digests by file identity, computed off the event loop (module docstring)."""

    def __init__(self) -> None:
        self.executor = concurrent.futures.ThreadPoolExecutor(
            HASH_WORKERS, thread_name_prefix="porch-hash"
        )
        self._done: OrderedDict[Identity, str] = OrderedDict()
        self._running: dict[Identity, asyncio.Future[str]] = {}

    async def digest(self, fd: int, info: os.stat_result, algorithm: str) -> str:
        """The hex digest of the open file ``fd`` (whose ``fstat`` is ``info``)."""
        key = identity(info, algorithm)
        found = self._done.get(key)
        if found is not None:
            self._done.move_to_end(key)
            return found
        running = self._running.get(key)
        if running is None:
            if len(self._running) >= MAX_WAITING:
                raise HTTPError(
                    503, "too many checksums are being computed; try again", {"Retry-After": "1"}
                )
            loop = asyncio.get_running_loop()
            # A descriptor of the job's own: the caller may close ``fd`` before the job ends.
            running = loop.run_in_executor(self.executor, _digest, os.dup(fd), algorithm)
            self._running[key] = running
            try:
                value = await asyncio.shield(running)
            finally:
                del self._running[key]
            self._done[key] = value
            if len(self._done) > CACHE_ENTRIES:
                self._done.popitem(last=False)
            return value
        return await asyncio.shield(running)

    def __len__(self) -> int:
        return len(self._done)


def requested_algorithm(request: Request) -> str | None:
    """The algorithm ``?hash=`` names (None without ``hash``); 400 for an unknown one."""
    values = request.query.get("hash")
    if values is None:
        return None
    algorithm = (values[0] or "sha256").lower()
    if algorithm not in ALGORITHMS:
        raise HTTPError(400, f"?hash must be one of: {', '.join(ALGORITHMS)}")
    return algorithm


def checksum_response(
    request: Request, name: str, algorithm: str, digest: str, size: int
) -> Response:
    """``DIGEST  NAME`` as text (``sha256sum -c`` format) or JSON, by Accept/``?format``."""
    media, negotiated = choose_format(request)
    headers = Headers([("Cache-Control", "no-cache")])
    if negotiated:
        headers.add("Vary", "Accept")
    if media == "application/json":
        headers.add("Content-Type", "application/json")
        body = json.dumps(
            {"name": name, "algorithm": algorithm, "digest": digest, "size": size},
            ensure_ascii=False,
        )
    else:
        headers.add("Content-Type", "text/plain; charset=utf-8")
        safe = name.replace("\\", "\\\\").replace("\n", "\\n")
        body = f"{digest}  {safe}\n"
    return Response(200, headers, body.encode("utf-8"))
