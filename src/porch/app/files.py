"""Serving one file: open it, describe it (type, length), hand the descriptor to the server."""

from __future__ import annotations

import mimetypes
import os
import stat

from porch.http import FileBody, Headers, HTTPError, Response, format_http_date

_TYPES = mimetypes.MimeTypes(filenames=())
for _type, _extension in (
    ("text/markdown", ".md"),
    ("text/javascript", ".mjs"),
    ("image/webp", ".webp"),
    ("image/avif", ".avif"),
    ("font/woff2", ".woff2"),
    ("font/woff", ".woff"),
    ("application/wasm", ".wasm"),
    ("text/plain", ".log"),
    ("text/x-python", ".py"),
    ("application/toml", ".toml"),
    ("application/yaml", ".yaml"),
    ("application/yaml", ".yml"),
):
    _TYPES.add_type(_type, _extension)

_COMPRESSED = {
    "gzip": "application/gzip",
    "bzip2": "application/x-bzip2",
    "xz": "application/x-xz",
    "compress": "application/x-compress",
    "br": "application/x-brotli",
}

_TEXT_APPLICATION = frozenset(
    {
        "application/json",
        "application/javascript",
        "application/xml",
        "application/toml",
        "application/yaml",
        "image/svg+xml",
    }
)


def content_type(name: str) -> str:
    """The Content-Type for a file name, from its extension (not from the system's tables).

    ``application/octet-stream`` when the extension is unknown; text types get
    ``; charset=utf-8``. Only the built-in table (plus a few modern types) is used, so the
    answer is the same on every machine. A compression suffix (``.gz``) is not unwrapped: a
    ``.tar.gz`` is a gzip file to download, not a tar sent with Content-Encoding.
    """
    kind, encoding = _TYPES.guess_type(name, strict=False)
    if encoding is not None:
        # mimetypes reads "x.tar.gz" as a tar with gzip Content-Encoding; porch sends the bytes
        # as they are, so the type is the compressor's.
        kind = _COMPRESSED.get(encoding, "application/octet-stream")
    if kind is None:
        return "application/octet-stream"
    if kind.startswith("text/") or kind in _TEXT_APPLICATION:
        return f"{kind}; charset=utf-8"
    return kind


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


def file_response(name: str, path: str, fd: int, info: os.stat_result) -> Response:
    """200 with the whole file: type, length and modification time, body by sendfile."""
    headers = Headers(
        [
            ("Content-Type", content_type(name)),
            ("Last-Modified", format_http_date(info.st_mtime)),
        ]
    )
    return Response(200, headers, FileBody(path, 0, info.st_size, fd))
