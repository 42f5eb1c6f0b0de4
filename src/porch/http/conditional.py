"""Validators and conditional requests (RFC 9110 §8.8 and §13), pure.

Theory of operation. A file's validators are an entity-tag (``make_etag``) and its modification
time. ``evaluate_preconditions`` applies the request's If-* fields in exactly the order of RFC
9110 §13.2.2 and answers with what to do: ``Outcome.PROCEED`` (send the representation, with
ranges if any), ``Outcome.NOT_MODIFIED`` (304) or ``Outcome.PRECONDITION_FAILED`` (412).
If-Range is not a precondition on the whole request but a switch on the Range field, so it has
its own function, ``if_range_allows``, which the caller consults only for GET with a Range.

Dates compare at one-second resolution, because that is all an HTTP-date carries: the
Last-Modified a client saw is the file's mtime truncated to the second.
"""

from __future__ import annotations

import enum
from collections.abc import Sequence

from porch.http.dates import parse_http_date
from porch.http.headers import Headers


class Outcome(enum.Enum):
    """What the preconditions of a request decide."""

    PROCEED = 200
    NOT_MODIFIED = 304
    PRECONDITION_FAILED = 412


def make_etag(size: int, mtime_ns: int, coding: str = "", *, weak: bool = False) -> str:
    """An entity-tag for a file version: ``"<size>-<mtime_ns>"`` in hex, from what is the same
    wherever the same file is.

    Never the inode or the device: two nodes behind a balancer (one shared mount seen through
    different devices, rsync'd replicas, a restored backup, a CDN's origin pool) hold the same
    file under different identities, and a tag that differs between them makes a download
    resumed on another node (``If-Range``) start over and a cache revalidate to a full 200.
    Copies must keep the modification time to the nanosecond for their tags to agree
    (``rsync -t``, ``cp -p`` do; docs/deploy.md).

    Why strong: a strong tag promises that equal tags mean byte-identical content. Any write
    through the file system changes the size or sets mtime, and mtime is kept to the
    nanosecond (in practice to the kernel's clock tick, a few ms). The one way to get equal
    tags for different bytes is to write the same length within one clock tick *and* have
    nobody observe the first version in between, or to reset mtime by hand (``touch -d``,
    ``rsync -t`` of the same version), which says "unchanged" on purpose. nginx makes the same
    trade with whole seconds, which is weaker; a weak tag would forbid If-Range and If-Match
    from ever matching, which makes resumed downloads impossible, a much worse failure.

    ``coding`` tells apart the representations of one file (``-gzip`` appended): a compressed
    body must not share the identity body's tag. ``weak`` marks a body that is equivalent but
    not byte-for-byte reproducible everywhere (gzip made on the fly depends on the zlib
    version), as nginx does for on-the-fly gzip.
    """
    suffix = f"-{coding}" if coding else ""
    tag = f'"{size:x}-{mtime_ns:x}{suffix}"'
    return "W/" + tag if weak else tag


def parse_etags(value: str) -> list[str] | None:
    """The entity-tags of an If-Match / If-None-Match value; None for ``*``.

    Tags keep their ``W/`` prefix and quotes (``W/"a"``), so callers compare whole tags.
    Malformed members are skipped: a recipient cannot match what it cannot parse, and the
    list syntax allows empty members. A comma inside quotes is part of the tag.
    """
    text = value.strip()
    if text == "*":
        return None
    tags: list[str] = []
    index = 0
    length = len(text)
    while index < length:
        char = text[index]
        if char in " \t,":
            index += 1
            continue
        start = index
        if text.startswith("W/", index):
            index += 2
        if index < length and text[index] == '"':
            close = text.find('"', index + 1)
            if close == -1:
                break
            tags.append(text[start : close + 1])
            index = close + 1
        else:
            # Not an entity-tag: skip to the next comma.
            comma = text.find(",", index)
            index = length if comma == -1 else comma + 1
    return tags


def _opaque(tag: str) -> str:
    return tag[2:] if tag.startswith("W/") else tag


def strong_match(a: str, b: str) -> bool:
    """RFC 9110 §8.8.3.2 strong comparison: both tags strong and identical."""
    return not a.startswith("W/") and not b.startswith("W/") and a == b


def weak_match(a: str, b: str) -> bool:
    """RFC 9110 §8.8.3.2 weak comparison: the opaque tags match, ``W/`` ignored."""
    return _opaque(a) == _opaque(b)


def _any_match(tags: Sequence[str], etag: str, *, strong: bool) -> bool:
    compare = strong_match if strong else weak_match
    return any(compare(tag, etag) for tag in tags)


def _header(headers: Headers, name: str) -> str | None:
    """A field's combined value (several fields join with commas), or None when absent."""
    values = headers.get_all(name)
    return ", ".join(values) if values else None


def evaluate_preconditions(
    method: str, headers: Headers, etag: str, last_modified: float
) -> Outcome:
    """Apply If-Match, If-Unmodified-Since, If-None-Match and If-Modified-Since (§13.2.2).

    ``etag`` and ``last_modified`` (a POSIX timestamp) describe the selected representation,
    which exists. The steps, in the RFC's order:

    1. If-Match present: false -> 412 (step 2 is then skipped).
    2. Else If-Unmodified-Since present and a valid date: false -> 412.
    3. If-None-Match present: false -> 304 for GET/HEAD, 412 for other methods (step 4 is
       then skipped, even when If-None-Match was true).
    4. Else, for GET/HEAD, If-Modified-Since present and a valid date: false -> 304.
    5. Otherwise proceed (If-Range is the caller's, see ``if_range_allows``).

    Invalid dates are ignored, as RFC 9110 §13.1.3-4 require.
    """
    seconds = int(last_modified)
    if_match = _header(headers, "if-match")
    if if_match is not None:
        tags = parse_etags(if_match)
        # "*" is true whenever a current representation exists, and one does.
        if tags is not None and not _any_match(tags, etag, strong=True):
            return Outcome.PRECONDITION_FAILED
    else:
        since = headers.get("if-unmodified-since")
        date = parse_http_date(since) if since is not None else None
        if date is not None and seconds > date:
            return Outcome.PRECONDITION_FAILED
    if_none_match = _header(headers, "if-none-match")
    if if_none_match is not None:
        tags = parse_etags(if_none_match)
        if tags is None or _any_match(tags, etag, strong=False):
            if method in ("GET", "HEAD"):
                return Outcome.NOT_MODIFIED
            return Outcome.PRECONDITION_FAILED
    elif method in ("GET", "HEAD"):
        since = headers.get("if-modified-since")
        date = parse_http_date(since) if since is not None else None
        if date is not None and seconds <= date:
            return Outcome.NOT_MODIFIED
    return Outcome.PROCEED


def if_range_allows(value: str, etag: str, last_modified: float, now: float) -> bool:
    """True when an If-Range value still matches, so the Range may be honoured (§13.1.5).

    An entity-tag matches by strong comparison only (a weak tag never does). A date matches
    only when it equals Last-Modified exactly *and* Last-Modified is a strong validator: at
    least one second older than ``now``, since a file modified within the current second may
    change again without its Last-Modified changing. Anything else — including an
    unparsable value — is false, and the caller sends the whole representation.
    """
    text = value.strip()
    if text.startswith(('"', 'W/"')):
        return strong_match(text, etag)
    date = parse_http_date(text)
    if date is None:
        return False
    seconds = int(last_modified)
    return date == seconds and last_modified + 1 <= now
