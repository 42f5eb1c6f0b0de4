"""Media types: the Content-Type of a file name, in one place for every part of porch.

Only the built-in table of ``mimetypes`` (plus a few modern types) is used, never the system's
``/etc/mime.types``, so the answer is the same on every machine.
"""

from __future__ import annotations

import functools
import mimetypes

DEFAULT_TYPE = "application/octet-stream"
"""The type of a file whose extension porch does not know."""

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


@functools.lru_cache(maxsize=1024)
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
        kind = _COMPRESSED.get(encoding, DEFAULT_TYPE)
    if kind is None:
        return DEFAULT_TYPE
    if kind.startswith("text/") or kind in _TEXT_APPLICATION:
        return f"{kind}; charset=utf-8"
    return kind
