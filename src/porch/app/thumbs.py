"""``PATH?thumb``: a small WebP of a JPEG, PNG, GIF or WebP picture, for the gallery view.

Theory of operation. The picture is found by ``resolve`` and opened by the app like any read
(the access rules were checked on its own URL path, which is why the thumbnail lives at
``PATH?thumb`` and not under ``/-/``: a rule for ``/private`` covers ``/private/a.jpg?thumb``
without a second table). Then:

* **Identity.** The key is the open file's (``st_dev``, ``st_ino``, ``st_size``,
  ``st_mtime_ns``) from ``fstat``, with the thumbnail size and a format version. A changed
  picture is a new key, so a stale thumbnail is never served; the ETag is a digest of the key
  (an internal cache may use the inode; the tag is only ever compared with itself).
* **Cache.** Thumbnails are files in the state directory's ``thumbs`` subdirectory (outside
  ROOT, shared by workers, kept across restarts), written to a temporary name and renamed,
  so a reader never sees half a file; at most ``MAX_CACHED`` of them, the least recently
  used removed first.
* **Work.** Decoding runs in a pool of ``Config.thumbnail_workers`` threads, never on the
  event loop; concurrent requests for one picture share one job.
* **Refusals.** Not one of the four types by extension: 415. More pixels than
  ``Config.max_thumbnail_pixels`` (read from the header before any decoding: a
  decompression bomb costs nothing): 413. A file Pillow cannot decode: 422. Each answers
  with a small SVG icon as the body, so an ``<img>`` shows an icon, never a broken image,
  and the refusal is remembered under the same identity so a broken file is decoded once.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import hashlib
import io
import os
import struct
import tempfile
import threading
import warnings
from collections import OrderedDict
from pathlib import Path
from typing import Final

from PIL import Image, ImageOps

from porch.http import Headers, Request, Response

THUMBNAIL_PIXELS: Final = 320
"""The box a thumbnail fits in (CSS pixels times two would be 160: the grid's cells)."""
FORMAT_VERSION: Final = 1
"""Bumped when the way thumbnails are made changes, so old cache files are not reused."""
EXTENSIONS: Final = frozenset({"jpg", "jpeg", "png", "gif", "webp"})
PILLOW_FORMATS: Final = frozenset({"JPEG", "PNG", "GIF", "WEBP", "MPO"})
REFUSALS_REMEMBERED: Final = 4096
MAX_CACHED: Final = 20_000
"""Thumbnail files kept in the cache (about 10-30 KiB each); past it the least recently used
go (``Thumbnails.prune``)."""
PRUNE_EVERY: Final = 200
"""New thumbnails written between two checks of the cache's size."""
MAX_WAITING: Final = 64
"""Thumbnail jobs queued or running at once; past this a request gets 503 (an icon)."""

ICON: Final = (
    b'<svg xmlns="http://www.w3.org/2000/svg" width="96" height="96" viewBox="0 0 24 24" '
    b'fill="none" stroke="#888" stroke-width="1.5"><rect x="3" y="4" width="18" height="16" '
    b'rx="2"/><path d="M3 16l5-5 4 4 3-3 6 6"/><path d="M4 4l16 16"/></svg>'
)

_DECODE_ERRORS = (
    OSError,
    ValueError,
    SyntaxError,
    EOFError,
    struct.error,
    Image.DecompressionBombError,
)


class Refusal(Exception):
    """No thumbnail for this picture: the status and the reason."""

    def __init__(self, status: int, reason: str) -> None:
        super().__init__(reason)
        self.status = status
        self.reason = reason


def is_picture(name: str) -> bool:
    """True when the name's extension is one of the four types thumbnails are made for."""
    return name.rpartition(".")[2].lower() in EXTENSIONS


def make_thumbnail(fd: int, max_pixels: int) -> bytes:
    """A WebP thumbnail of the open picture ``fd`` (not closed here, read from its current
    offset); raises ``Refusal`` (module docstring)."""
    with os.fdopen(fd, "rb", closefd=False) as handle:
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", Image.DecompressionBombWarning)
                opened = Image.open(handle)  # reads the header only
                image: Image.Image = opened
                width, height = image.size
                if width * height > max_pixels:
                    raise Refusal(413, f"the picture has more than {max_pixels} pixels")
                if opened.format not in PILLOW_FORMATS:
                    raise Refusal(415, "not a JPEG, PNG, GIF or WebP picture")
                opened.draft("RGB", (THUMBNAIL_PIXELS, THUMBNAIL_PIXELS))  # JPEG: decode small
                image = ImageOps.exif_transpose(image)
                image.thumbnail((THUMBNAIL_PIXELS, THUMBNAIL_PIXELS))
                if image.mode not in ("RGB", "RGBA"):
                    has_alpha = "A" in image.mode or "transparency" in image.info
                    image = image.convert("RGBA" if has_alpha else "RGB")
                out = io.BytesIO()
                image.save(out, "WEBP", quality=80, method=4)
        except _DECODE_ERRORS:
            raise Refusal(422, "the picture cannot be decoded") from None
    return out.getvalue()


Key = tuple[int, int, int, int]


class Thumbnails:
    """Thumbnails by picture identity, in ``directory``, made by ``workers`` threads."""

    def __init__(self, directory: Path | None, workers: int, max_pixels: int) -> None:
        self.directory = directory
        self.max_pixels = max_pixels
        self.executor = concurrent.futures.ThreadPoolExecutor(
            workers, thread_name_prefix="porch-thumb"
        )
        self._running: dict[str, asyncio.Future[bytes]] = {}
        self._refused: OrderedDict[str, Refusal] = OrderedDict()
        self._lock = threading.Lock()
        self._written = 0

    @staticmethod
    def key(info: os.stat_result) -> str:
        text = (
            f"{info.st_dev}-{info.st_ino}-{info.st_size}-{info.st_mtime_ns}-"
            f"{THUMBNAIL_PIXELS}-{FORMAT_VERSION}"
        )
        return hashlib.sha256(text.encode()).hexdigest()[:40]

    def _path(self, key: str) -> Path | None:
        return None if self.directory is None else self.directory / f"{key}.webp"

    def _load_or_make(self, fd: int, key: str) -> bytes:
        """The cached thumbnail or a new one; closes ``fd`` (a duplicate the job owns)."""
        try:
            return self._cached_or_made(fd, key)
        finally:
            os.close(fd)

    def _cached_or_made(self, fd: int, key: str) -> bytes:
        path = self._path(key)
        if path is not None:
            try:
                data = path.read_bytes()
            except FileNotFoundError:
                pass
            else:
                with contextlib.suppress(OSError):
                    os.utime(path)  # recently used: pruned last
                return data
        data = make_thumbnail(fd, self.max_pixels)
        if path is not None:
            handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=".thumb-")
            try:
                with os.fdopen(handle, "wb") as out:
                    out.write(data)
                os.replace(temporary, path)
            except OSError:
                os.unlink(temporary)  # a full disk costs the cache, not the answer
            with self._lock:
                self._written += 1
                due = self._written % PRUNE_EVERY == 0
            if due:
                self.prune()
        return data

    def prune(self) -> None:
        """Keep at most ``MAX_CACHED`` thumbnails: remove the least recently used (oldest
        mtime; a cache hit touches its file) down to nine tenths of it. Other workers may
        prune at the same time; a file already gone is fine."""
        if self.directory is None:
            return
        files: list[tuple[int, str]] = []
        with os.scandir(self.directory) as iterator:
            for item in iterator:
                if item.name.endswith(".webp"):
                    with contextlib.suppress(OSError):
                        files.append((item.stat().st_mtime_ns, item.path))
        if len(files) <= MAX_CACHED:
            return
        files.sort()
        for _, path in files[: len(files) - MAX_CACHED * 9 // 10]:
            with contextlib.suppress(OSError):
                os.unlink(path)

    async def thumbnail(self, fd: int, info: os.stat_result) -> bytes:
        """The WebP bytes for the open picture; raises ``Refusal``."""
        key = self.key(info)
        refused = self._refused.get(key)
        if refused is not None:
            raise refused
        running = self._running.get(key)
        if running is not None:
            return await asyncio.shield(running)
        if len(self._running) >= MAX_WAITING:
            raise Refusal(503, "too many thumbnails are being made; try again")
        loop = asyncio.get_running_loop()
        # The job gets a descriptor of its own: the caller closes ``fd`` as soon as it stops
        # waiting (a client that went away), while the job may still be reading.
        running = loop.run_in_executor(self.executor, self._load_or_make, os.dup(fd), key)
        self._running[key] = running
        try:
            return await asyncio.shield(running)
        except Refusal as refusal:
            if refusal.status == 503:
                raise
            self._refused[key] = refusal
            if len(self._refused) > REFUSALS_REMEMBERED:
                self._refused.popitem(last=False)
            raise
        finally:
            del self._running[key]


def icon_response(status: int, reason: str) -> Response:
    """The refusal as an icon an ``<img>`` can show; the reason in a header."""
    headers = Headers(
        [
            ("Content-Type", "image/svg+xml"),
            ("Cache-Control", "no-cache"),
            ("X-Porch-Thumbnail", reason),
        ]
    )
    if status == 503:
        headers.add("Retry-After", "1")
    return Response(status, headers, ICON)


def thumbnail_response(request: Request, info: os.stat_result, data: bytes) -> Response:
    """The thumbnail, with an ETag that changes whenever the picture does: from its size and
    mtime, never its inode (validators mean the same on every node)."""
    etag = f'"thumb-{info.st_size:x}-{info.st_mtime_ns:x}-{THUMBNAIL_PIXELS}-{FORMAT_VERSION}"'
    headers = Headers(
        [("Content-Type", "image/webp"), ("ETag", etag), ("Cache-Control", "no-cache")]
    )
    match = request.headers.get("if-none-match")
    if match is not None and etag in match:
        return Response(304, headers, b"")
    return Response(200, headers, data)
