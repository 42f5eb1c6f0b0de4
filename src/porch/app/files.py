"""Serving one file the way HTTP clients expect: validators, conditionals, ranges, compression.

Theory of operation. ``file_response`` gets a file the app has opened and checked, and decides,
in this order:

1. ``?bytes=N`` (checked first so a bad N is a 400 whatever else the request says);
2. the representation: identity, a precompressed sibling (``NAME.br``, ``NAME.gz``) or gzip on
   the fly — only for compressible types, only without Range or ``?bytes=N`` (a range of a
   gzip stream is useless to a client and porch never compresses ranges), only when
   Accept-Encoding allows; each has its own strong ETag;
3. the preconditions of RFC 9110 §13.2.2 against that representation's validators
   (304 or 412);
4. ``?bytes=N`` -> 200 with the first N bytes; Range (GET only, unless If-Range is stale) ->
   206 for one range, 206 ``multipart/byteranges`` for several, 416 for none satisfiable;
5. otherwise 200 with the whole representation.

Bodies: a file or one range is a ``FileBody`` (the server uses sendfile); several ranges and
gzip on the fly are ``FileStream`` iterators reading the file in bounded chunks, so memory
stays flat whatever the file size. Every path that does not hand a descriptor on closes it.
"""

from __future__ import annotations

import asyncio
import gzip
import os
import stat
import time
import urllib.parse
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from porch.app.mediatypes import content_type
from porch.app.offload import offload_pool
from porch.app.paths import resolve
from porch.config import DEFAULT_COMPRESS_MIN_BYTES, DEFAULT_MAX_RANGES
from porch.http import (
    FileBody,
    Headers,
    HTTPError,
    Request,
    Response,
    ServerFault,
    SizedStream,
    Source,
    format_http_date,
)
from porch.http.conditional import Outcome, evaluate_preconditions, if_range_allows, make_etag
from porch.http.encoding import choose_encoding, is_compressible
from porch.http.ranges import (
    ByteRange,
    content_range,
    make_boundary,
    multipart_head,
    multipart_length,
    multipart_tail,
    parse_range,
    satisfiable,
)

FILE_CHUNK = 64 * 1024
"""Bytes read from a file per step of a streamed body (multipart ranges, gzip)."""

GZIP_LEVEL = 6
"""zlib's default: most of level 9's ratio at a fraction of its CPU."""

PRECOMPRESSED = (("br", ".br"), ("gzip", ".gz"))
"""Sibling suffixes by coding, in porch's order of preference (brotli is smaller)."""

ON_THE_FLY = "gzip"
"""The ETag suffix of gzip made on the fly; a precompressed sibling's is its file suffix."""
_SIBLING_TAG = {name: suffix.lstrip(".") for name, suffix in PRECOMPRESSED}

VALIDATOR_CACHE_ENTRIES = 4096
"""File versions whose ETag and Last-Modified text are kept formatted (``validators``)."""

_validator_cache: dict[tuple[int, int, str], tuple[str, str]] = {}
VALIDATOR_LOOKUPS = [0, 0]
"""[hits, misses] of the validator cache, for /-/metrics (issue 16)."""


def validators(info: os.stat_result, coding: str = "") -> tuple[str, str]:
    """(ETag, Last-Modified) of a file version, formatted once per (size, mtime, coding).

    From size and mtime only, never inode or device, so every node holding the same file
    gives the same validators (``make_etag`` says why). ``coding`` names the representation:
    ``""`` the file itself, ``"gzip"`` gzip made on the fly from it (a weak tag: zlib versions
    may differ between nodes), ``"br"``/``"gz"`` a precompressed sibling (``info`` is then the
    sibling's). A pure function of its key, so caching it cannot serve a stale validator.
    """
    key = (info.st_size, info.st_mtime_ns, coding)
    found = _validator_cache.get(key)
    VALIDATOR_LOOKUPS[found is None] += 1
    if found is None:
        if len(_validator_cache) >= VALIDATOR_CACHE_ENTRIES:
            _validator_cache.clear()
        etag = make_etag(info.st_size, info.st_mtime_ns, coding, weak=coding == ON_THE_FLY)
        found = _validator_cache[key] = (etag, format_http_date(info.st_mtime))
    return found


def open_regular(path: str) -> tuple[int, os.stat_result]:
    """Open ``path`` read-only and fstat it; the fd is the caller's to close.

    Raises ``HTTPError(404)`` when it vanished and ``HTTPError(403)`` when it is not a regular
    file (a FIFO would block a read forever) or cannot be read.
    """
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_CLOEXEC", 0))
    except FileNotFoundError:
        raise HTTPError(404, "not found") from None
    except PermissionError:
        raise HTTPError(403, "this file cannot be read") from None
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise HTTPError(403, "not a regular file")
    except BaseException:
        os.close(fd)
        raise
    return fd, info


@dataclass(frozen=True, slots=True)
class ReadOptions:
    """The settings that shape file responses (from ``Config``)."""

    hidden: bool = False
    max_ranges: int = DEFAULT_MAX_RANGES
    compress: bool = True
    compress_min_bytes: int = DEFAULT_COMPRESS_MIN_BYTES
    # Issue 17: False in writable places, where a client could upload the sibling.
    precompressed: bool = True


@dataclass(slots=True)
class OpenFile:
    """A checked, open regular file: server ``path`` (never shown), descriptor and its stat."""

    path: str
    fd: int
    info: os.stat_result

    def close(self) -> None:
        os.close(self.fd)


class FileStream:
    """An async iterator of byte chunks produced from an open file; it owns the descriptor.

    The descriptor is closed when the chunks run out, on ``aclose()`` (the server calls it for
    HEAD, where no body is sent) and, as a last resort, when the object is collected after a
    client went away mid-body. ``pieces`` yields the chunks; it runs only while iterated.
    """

    def __init__(self, fd: int, pieces: Iterator[bytes]) -> None:
        self._fd: int | None = fd
        self._pieces = pieces
        self._running: asyncio.Future[bytes | None] | None = None

    def __aiter__(self) -> FileStream:
        return self

    async def __anext__(self) -> bytes:
        # Each piece is read (and compressed) in a worker thread: gzip of a 200 MB file on
        # the loop held every other client for seconds (issue 17, porch.app.offload).
        if self._fd is None:
            raise StopAsyncIteration
        running = asyncio.get_running_loop().run_in_executor(
            offload_pool(), next, self._pieces, None
        )
        self._running = running
        try:
            chunk = await asyncio.shield(running)
        except BaseException:
            self._close()
            raise
        if chunk is None:
            self._close()
            raise StopAsyncIteration
        return chunk

    async def aclose(self) -> None:
        self._close()

    def _close(self) -> None:
        if self._fd is not None:
            fd, self._fd = self._fd, None
            running = self._running
            if running is not None and not running.done():
                # A thread still reads this descriptor: close it when that piece is done,
                # never under the thread (the number could be reused by another file).
                running.add_done_callback(lambda done: _close_when_done(done, fd))
            else:
                os.close(fd)

    def __del__(self) -> None:
        self._close()


def _close_when_done(done: asyncio.Future[bytes | None], fd: int) -> None:
    if not done.cancelled():
        done.exception()  # retrieved, so asyncio does not log it as lost
    os.close(fd)


class SizedFileStream(FileStream, SizedStream):
    """A ``FileStream`` whose total length is known up front (multipart/byteranges): framed
    with Content-Length, so an HTTP/1.0 keep-alive client keeps its connection."""

    def __init__(self, fd: int, pieces: Iterator[bytes], length: int) -> None:
        super().__init__(fd, pieces)
        self.length = length


def _read_exact(fd: int, offset: int, length: int) -> Iterator[bytes]:
    """The bytes ``offset`` .. ``offset + length`` of ``fd`` in chunks of at most FILE_CHUNK."""
    end = offset + length
    while offset < end:
        data = os.pread(fd, min(FILE_CHUNK, end - offset), offset)
        if not data:
            # The file shrank since it was measured: the framing already sent is now a lie,
            # so the connection must end (the server closes it on an error mid-body).
            raise ServerFault(500, "the file changed while it was being sent")
        offset += len(data)
        yield data


def _multipart_pieces(
    fd: int, boundary: str, content_type: str, ranges: list[ByteRange], size: int
) -> Iterator[bytes]:
    for byte_range in ranges:
        head = multipart_head(boundary, content_type, byte_range, size)
        for data in _read_exact(fd, byte_range.first, byte_range.length):
            yield head + data
            head = b""
    yield multipart_tail(boundary)


def _gzip_pieces(fd: int, size: int) -> Iterator[bytes]:
    # wbits 31: a gzip wrapper, with mtime 0 in its header, so equal input gives equal bytes
    # (the "-gzip" ETag is strong).
    compressor = zlib.compressobj(GZIP_LEVEL, zlib.DEFLATED, 31)
    for data in _read_exact(fd, 0, size):
        out = compressor.compress(data)
        if out:
            yield out
    yield compressor.flush()


def parse_bytes_limit(query: dict[str, list[str]]) -> int | None:
    """``?bytes=N`` as an int, or None when absent; 400 for a negative or non-integer N.

    Only ASCII digits count (``+5``, ``1e3``, ``0x10`` and `` 5`` are not integers here). When
    the parameter repeats, every value must be valid and the first one counts.
    """
    values = query.get("bytes")
    if not values:
        return None
    for text in values:
        if text.startswith("-") and text[1:].isascii() and text[1:].isdigit():
            raise HTTPError(400, f"?bytes must not be negative (got {text})")
        if not (text.isascii() and text.isdigit()):
            raise HTTPError(400, "?bytes must be a non-negative integer")
    return int(values[0])


def _sibling(
    root: Path, url_path: str, suffix: str, original: os.stat_result, *, hidden: bool
) -> OpenFile | None:
    """The precompressed sibling ``url_path + suffix``, when usable; None otherwise.

    Found through ``resolve`` like any requested path (so a sibling that is a symlink out of
    the root is never read), and used only when at least as new as the original: a stale
    ``.gz`` left behind after an edit must not shadow the new content.
    """
    try:
        real = resolve(root, url_path + suffix, hidden=hidden)
        fd, info = open_regular(str(real))
    except HTTPError:
        return None
    if info.st_mtime_ns < original.st_mtime_ns:
        os.close(fd)
        return None
    return OpenFile(str(real), fd, info)


def file_response(
    request: Request,
    root: Path,
    url_path: str,
    opened: OpenFile,
    options: ReadOptions | None = None,
) -> Response:
    """The response to GET/HEAD of the open regular file ``opened`` at ``url_path``.

    Takes ownership of ``opened.fd``: it either goes into the response body or is closed.
    Raises ``HTTPError`` for 400 (bad ``?bytes``), 412 and 416. See the module docstring for
    the order of decisions.
    """
    settings = options if options is not None else ReadOptions()
    to_close: list[OpenFile] = [opened]
    try:
        response, body_owner = _respond(request, root, url_path, opened, settings, to_close)
    except BaseException:
        for item in to_close:
            item.close()
        raise
    for item in to_close:
        if item is not body_owner:
            item.close()
    if len(to_close) == 1 and "Content-Encoding" not in response.headers:
        _mark_source(request, root, url_path, opened, settings, response)
    return response


def _mark_source(
    request: Request,
    root: Path,
    url_path: str,
    opened: OpenFile,
    options: ReadOptions,
    response: Response,
) -> None:
    """Say that ``response`` is the file itself and depends on nothing else (a front end may
    replay it, porch.server.replay): not when a precompressed sibling exists at all, even a
    stale one (rewriting it in place would change the answer without touching the
    directory); its appearing later moves the directory's mtime, which the replay watches."""
    names = url_path.split("/")[1:]
    joined = os.path.join(root, *names)
    if options.precompressed and request.headers.get("accept-encoding"):
        kind = response.headers.get("content-type") or ""
        if is_compressible(kind) and any(
            os.path.lexists(joined + suffix) for _, suffix in PRECOMPRESSED
        ):
            return
    response.source = Source(opened.path, opened.info, os.path.dirname(joined))


def _respond(
    request: Request,
    root: Path,
    url_path: str,
    opened: OpenFile,
    options: ReadOptions,
    to_close: list[OpenFile],
) -> tuple[Response, OpenFile | None]:
    info = opened.info
    size = info.st_size
    kind = content_type(url_path.rsplit("/", 1)[-1])
    limit = parse_bytes_limit(request.query)
    range_value = request.headers.get("range") if limit is None else None
    compressible = is_compressible(kind)

    # 2. The representation.
    coding: str | None = None
    chosen = opened
    accept_encoding = request.headers.get("accept-encoding")
    if compressible and limit is None and range_value is None and accept_encoding:
        available: list[str] = []
        siblings: dict[str, OpenFile] = {}
        for name, suffix in PRECOMPRESSED:
            if choose_encoding(accept_encoding, [name]) is None:
                continue
            sibling = (
                _sibling(root, url_path, suffix, info, hidden=options.hidden)
                if options.precompressed
                else None
            )
            if sibling is not None:
                to_close.append(sibling)
                siblings[name] = sibling
                available.append(name)
            elif name == "gzip" and options.compress and size > options.compress_min_bytes:
                available.append(name)
        coding = choose_encoding(accept_encoding, available)
        if coding is not None:
            chosen = siblings.get(coding, opened)

    # A sibling's tag is its own size and mtime with its suffix ("-br", "-gz"); gzip on the fly
    # is the file's own size and mtime with "-gzip", weak.
    if coding is None:
        etag = validators(info)[0]
    elif chosen is opened:
        etag = validators(info, ON_THE_FLY)[0]
    else:
        etag = validators(chosen.info, _SIBLING_TAG[coding])[0]
    last_modified = validators(info)[1]
    vary = [("Vary", "Accept-Encoding")] if compressible else []

    # 3. Preconditions.
    outcome = evaluate_preconditions(request.method, request.headers, etag, info.st_mtime)
    if outcome is Outcome.NOT_MODIFIED:
        not_modified = Headers([("ETag", etag), ("Last-Modified", last_modified), *vary])
        return Response(304, not_modified, b""), None
    if outcome is Outcome.PRECONDITION_FAILED:
        raise HTTPError(412, "a precondition (If-Match or If-Unmodified-Since) does not hold")

    headers = Headers(
        [
            ("Content-Type", kind),
            ("ETag", etag),
            ("Last-Modified", last_modified),
            ("Accept-Ranges", "bytes"),
            *vary,
        ]
    )

    # 4. ?bytes=N and Range.
    if limit is not None:
        return Response(200, headers, FileBody(opened.path, 0, min(limit, size), opened.fd)), opened
    if range_value is not None and request.method == "GET" and size > 0:
        ranges = _ranges(request, range_value, etag, info, options)
        if ranges is not None:
            return _partial(headers, opened, kind, ranges, size), opened

    # 5. The whole representation.
    if coding is not None:
        headers.add("Content-Encoding", coding)
    if coding == "gzip" and chosen is opened:
        return Response(200, headers, FileStream(opened.fd, _gzip_pieces(opened.fd, size))), opened
    body = FileBody(chosen.path, 0, chosen.info.st_size, chosen.fd)
    return Response(200, headers, body), chosen


def _ranges(
    request: Request, value: str, etag: str, info: os.stat_result, options: ReadOptions
) -> list[ByteRange] | None:
    """The ranges to send, or None to send the whole file; 416 when none is satisfiable."""
    specs = parse_range(value)
    if specs is None or len(specs) > options.max_ranges:
        return None
    if_range = request.headers.get("if-range")
    if if_range is not None and not if_range_allows(if_range, etag, info.st_mtime, time.time()):
        return None
    ranges = satisfiable(specs, info.st_size)
    if not ranges:
        raise HTTPError(
            416,
            f"the requested range is not satisfiable: the file has {info.st_size} bytes",
            {"Content-Range": content_range(None, info.st_size)},
        )
    return ranges


def _partial(
    headers: Headers, opened: OpenFile, kind: str, ranges: list[ByteRange], size: int
) -> Response:
    """206: one range as a FileBody (sendfile), several as multipart/byteranges."""
    if len(ranges) == 1:
        (only,) = ranges
        headers.add("Content-Range", content_range(only, size))
        return Response(206, headers, FileBody(opened.path, only.first, only.length, opened.fd))
    boundary = make_boundary()
    headers.set("Content-Type", f"multipart/byteranges; boundary={boundary}")
    pieces = _multipart_pieces(opened.fd, boundary, kind, ranges, size)
    length = multipart_length(boundary, kind, ranges, size)
    return Response(206, headers, SizedFileStream(opened.fd, pieces, length))


def compress_response(request: Request, response: Response, options: ReadOptions) -> Response:
    """Gzip a generated ``bytes`` body (a listing) when it is compressible, larger than the
    threshold and the client accepts gzip; adds ``Vary: Accept-Encoding`` either way for
    compressible types. The body is generated, so compressing it in memory adds little.
    """
    kind = response.headers.get("content-type") or ""
    if not is_compressible(kind) or not isinstance(response.body, bytes):
        return response
    response.headers.add("Vary", "Accept-Encoding")
    if (
        not options.compress
        or len(response.body) <= options.compress_min_bytes
        or choose_encoding(request.headers.get("accept-encoding"), ["gzip"]) is None
    ):
        return response
    response.headers.add("Content-Encoding", "gzip")
    response.body = gzip.compress(response.body, GZIP_LEVEL, mtime=0)
    return response


def attachment_disposition(name: str) -> str:
    """``Content-Disposition`` making a browser save ``name`` instead of showing it.

    RFC 6266 with RFC 8187 (ex-5987) ``filename*=UTF-8''…`` carrying the exact name,
    percent-encoded, for every browser since 2012; and a plain ``filename="…"`` fallback for
    older clients, reduced to printable ASCII with ``"``, ``\\`` and ``%`` replaced by ``_``
    (RFC 6266 §4.3: a fallback with ``%`` may be decoded by some clients, with quotes it could
    end the parameter early).
    """
    fallback = "".join(char if " " <= char <= "~" and char not in '"\\%' else "_" for char in name)
    encoded = urllib.parse.quote(name, safe="")
    return f"attachment; filename=\"{fallback}\"; filename*=UTF-8''{encoded}"
