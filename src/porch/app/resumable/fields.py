"""Header fields of the two resumable-upload protocols, parsed and formatted (pure functions).

tus 1.0.0 uses plain decimal integers, ``Upload-Metadata`` (comma-separated ``key base64``
pairs), ``Upload-Checksum`` (``algorithm base64``) and ``Upload-Concat``. The IETF draft uses
Structured Fields (RFC 9651): Items that are Integers (``Upload-Offset``, ``Upload-Length``)
or Booleans (``Upload-Complete: ?1``), and a Dictionary (``Upload-Limit``). A value that does
not parse is, as the draft says, treated as if the field were absent (``None``) — except
where porch must refuse: a tus request with a malformed number gets 400.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import re
import urllib.parse
from typing import Any

from porch.http import HTTPError

TUS_VERSION = "1.0.0"
TUS_EXTENSIONS = (
    "creation",
    "creation-with-upload",
    "creation-defer-length",
    "termination",
    "checksum",
    "expiration",
    "concatenation",
)
CHECKSUM_ALGORITHMS = ("sha1", "sha256")
TUS_CONTENT_TYPE = "application/offset+octet-stream"
IETF_CONTENT_TYPE = "application/partial-upload"

_DIGITS = re.compile(r"[0-9]{1,15}")  # Structured Field Integers have at most 15 digits
_METADATA_KEY = re.compile(r"[!#$%&'*+.^_`|~0-9A-Za-z-]+")


def tus_integer(value: str | None, name: str) -> int | None:
    """A tus non-negative integer header; None when absent, 400 when malformed."""
    if value is None:
        return None
    value = value.strip()
    if not _DIGITS.fullmatch(value):
        raise HTTPError(400, f"{name} must be a non-negative integer")
    return int(value)


def sf_integer(value: str | None) -> int | None:
    """A Structured Field non-negative Integer item (parameters ignored), else None."""
    if value is None:
        return None
    item = value.split(";", 1)[0].strip()
    return int(item) if _DIGITS.fullmatch(item) else None


def sf_boolean(value: str | None) -> bool | None:
    """A Structured Field Boolean item (``?1`` / ``?0``, parameters ignored), else None."""
    if value is None:
        return None
    item = value.split(";", 1)[0].strip()
    return {"?1": True, "?0": False}.get(item)


def sf_bool_text(value: bool) -> str:
    return "?1" if value else "?0"


def parse_metadata(value: str | None) -> dict[str, str]:
    """tus ``Upload-Metadata``: ``key base64value`` pairs (the value may be absent); 400 when
    malformed. Values that are not UTF-8 are kept out (only text metadata is used)."""
    result: dict[str, str] = {}
    if value is None or not value.strip():
        return result
    for pair in value.split(","):
        parts = pair.strip().split(" ")
        key = parts[0]
        if not _METADATA_KEY.fullmatch(key) or len(parts) > 2 or key in result:
            raise HTTPError(400, "Upload-Metadata is malformed")
        text = ""
        if len(parts) == 2:
            try:
                text = base64.b64decode(parts[1], validate=True).decode("utf-8")
            except (binascii.Error, UnicodeDecodeError):
                raise HTTPError(400, f"Upload-Metadata {key} is not base64 UTF-8") from None
        result[key] = text
    return result


def metadata_name(metadata: dict[str, str]) -> str | None:
    """The file name a client gave in its metadata (``filename``, else ``name``)."""
    return metadata.get("filename") or metadata.get("name") or None


def disposition_name(value: str | None) -> str | None:
    """The ``filename*`` (RFC 8187 UTF-8) or ``filename`` of a Content-Disposition, if any."""
    if not value:
        return None
    plain: str | None = None
    for parameter in value.split(";")[1:]:
        key, _, text = parameter.strip().partition("=")
        key = key.strip().lower()
        text = text.strip()
        if key == "filename*":
            charset, _, rest = text.partition("'")
            _, _, encoded = rest.partition("'")
            if charset.lower() == "utf-8" and encoded:
                try:
                    return urllib.parse.unquote(encoded, errors="strict")
                except UnicodeDecodeError:
                    continue
        elif key == "filename":
            if len(text) >= 2 and text[0] == text[-1] == '"':
                text = text[1:-1].replace('\\"', '"').replace("\\\\", "\\")
            plain = text or None
    return plain


def parse_checksum(value: str | None) -> tuple[str, bytes] | None:
    """tus ``Upload-Checksum: ALGORITHM BASE64``; 400 for an unsupported algorithm or bad
    base64."""
    if value is None:
        return None
    algorithm, _, encoded = value.strip().partition(" ")
    algorithm = algorithm.lower()
    if algorithm not in CHECKSUM_ALGORITHMS:
        supported = ", ".join(CHECKSUM_ALGORITHMS)
        raise HTTPError(400, f"unsupported checksum algorithm (use {supported})")
    try:
        expected = base64.b64decode(encoded.strip(), validate=True)
    except binascii.Error:
        raise HTTPError(400, "Upload-Checksum is not base64") from None
    return algorithm, expected


def new_hash(algorithm: str) -> Any:
    return hashlib.new(algorithm)


def parse_concat(value: str | None) -> tuple[str, list[str]] | None:
    """tus ``Upload-Concat``: ``("partial", [])`` or ``("final", [url, ...])``; 400 when
    malformed."""
    if value is None:
        return None
    value = value.strip()
    if value == "partial":
        return "partial", []
    if value.startswith("final;"):
        urls = value[len("final;") :].split()
        if urls:
            return "final", urls
    raise HTTPError(400, "Upload-Concat must be 'partial' or 'final;URL URL ...'")


def url_path(url: str) -> str:
    """The decoded path of a URL (absolute or a path), for finding an upload by its URL."""
    return urllib.parse.unquote(urllib.parse.urlsplit(url).path)


def limit_field(limits: dict[str, int]) -> str:
    """An ``Upload-Limit`` Dictionary: ``max-size=N, max-age=N``."""
    return ", ".join(f"{key}={value}" for key, value in limits.items())
