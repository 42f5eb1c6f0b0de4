"""Byte ranges (RFC 9110 §14), pure: parse Range, decide what is satisfiable, frame parts.

Theory of operation. ``parse_range`` only checks syntax and returns ``RangeSpec`` values (or
None: a Range that is not valid ``bytes=`` syntax is ignored and the whole file is sent, as
§14.2 says). ``satisfiable`` turns specs into concrete ``ByteRange`` values for a file of a
given size: an empty result means 416. Overlapping ranges are coalesced (sorted and merged),
which §14.2 permits, so a request like ``bytes=0-,0-,0-`` cannot make porch send a file many
times over; the number of ranges is capped by the caller (``--max-ranges``). For several
ranges, ``multipart_head`` and ``multipart_tail`` give the framing of a
``multipart/byteranges`` body (§14.6); the caller interleaves the file bytes.
"""

from __future__ import annotations

import itertools
import secrets
from collections.abc import Sequence
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class RangeSpec:
    """One range-spec as written: ``first-last``, ``first-`` (last None) or ``-suffix``."""

    first: int | None
    last: int | None


@dataclass(frozen=True, slots=True)
class ByteRange:
    """A satisfiable range of a file: bytes ``first`` to ``last`` inclusive, as in the RFC."""

    first: int
    last: int

    @property
    def length(self) -> int:
        return self.last - self.first + 1


def _digits(text: str) -> int | None:
    # str.isdigit accepts other scripts' digits; the grammar wants ASCII DIGIT only.
    if not text or not text.isascii() or not text.isdigit():
        return None
    return int(text)


def parse_range(value: str) -> list[RangeSpec] | None:
    """The range-specs of a ``Range: bytes=...`` value, or None when it is not valid syntax.

    Grammar (§14.1.1): ``bytes=`` (unit case-insensitive) then a comma list of
    ``first-[last]`` or ``-suffix`` with ASCII digits, ``last >= first``; empty list members and
    whitespace around commas are allowed. Any other unit, or any malformed member, makes the
    whole field invalid (None): porch then ignores it.
    """
    unit, equals, rest = value.partition("=")
    if not equals or unit.strip().lower() != "bytes":
        return None
    specs: list[RangeSpec] = []
    for member in rest.split(","):
        member = member.strip(" \t")
        if not member:
            continue
        first_text, dash, last_text = member.partition("-")
        if not dash:
            return None
        if not first_text:
            suffix = _digits(last_text)
            if suffix is None:
                return None
            specs.append(RangeSpec(None, suffix))
            continue
        first = _digits(first_text)
        if first is None:
            return None
        if not last_text:
            specs.append(RangeSpec(first, None))
            continue
        last = _digits(last_text)
        if last is None or last < first:
            return None
        specs.append(RangeSpec(first, last))
    return specs or None


def satisfiable(specs: Sequence[RangeSpec], size: int) -> list[ByteRange]:
    """The satisfiable ranges of ``specs`` for a representation of ``size`` bytes.

    An int-range is satisfiable when its first byte exists (its last is clipped to the end);
    a suffix range when its length is above zero (clipped to the whole file). Overlapping or
    touching ranges are merged and the result sorted, but only when some overlap: ranges that
    do not overlap keep the client's order. Empty means 416.
    """
    ranges: list[ByteRange] = []
    for spec in specs:
        if spec.first is None:
            suffix = spec.last or 0
            if suffix > 0 and size > 0:
                ranges.append(ByteRange(max(size - suffix, 0), size - 1))
        elif spec.first < size:
            last = size - 1 if spec.last is None else min(spec.last, size - 1)
            ranges.append(ByteRange(spec.first, last))
    if len(ranges) < 2:
        return ranges
    ordered = sorted(ranges, key=lambda r: (r.first, r.last))
    if all(a.last < b.first for a, b in itertools.pairwise(ordered)):
        return ranges
    merged = [ordered[0]]
    for current in ordered[1:]:
        previous = merged[-1]
        if current.first <= previous.last + 1:
            merged[-1] = ByteRange(previous.first, max(previous.last, current.last))
        else:
            merged.append(current)
    return merged


def content_range(byte_range: ByteRange | None, size: int) -> str:
    """A Content-Range value: ``bytes first-last/size``, or ``bytes */size`` for a 416."""
    if byte_range is None:
        return f"bytes */{size}"
    return f"bytes {byte_range.first}-{byte_range.last}/{size}"


def make_boundary() -> str:
    """A fresh multipart boundary; random, so no file can contain it by accident or design."""
    return "porch-" + secrets.token_hex(16)


def multipart_head(boundary: str, content_type: str, byte_range: ByteRange, size: int) -> bytes:
    """The delimiter and part header that go before one range's bytes (§14.6)."""
    return (
        f"\r\n--{boundary}\r\n"
        f"Content-Type: {content_type}\r\n"
        f"Content-Range: {content_range(byte_range, size)}\r\n\r\n"
    ).encode("latin-1")


def multipart_tail(boundary: str) -> bytes:
    """The close delimiter after the last part."""
    return f"\r\n--{boundary}--\r\n".encode("latin-1")


def multipart_length(
    boundary: str, content_type: str, ranges: Sequence[ByteRange], size: int
) -> int:
    """The exact length of the multipart body for ``ranges``: framing plus range bytes."""
    total = len(multipart_tail(boundary))
    for byte_range in ranges:
        total += len(multipart_head(boundary, content_type, byte_range, size)) + byte_range.length
    return total
