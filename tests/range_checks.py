"""What a Range answer must look like, checked from the bytes a client gets.

Shared by the property tests (tests/unit/test_fuzz_ranges.py, tests/app/test_fuzz_ranges.py)
and the coverage-guided target fuzz/fuzz_range.py. ``check_range_answer`` takes the Range
value sent, the file's bytes and the response (status, headers, body) and checks it against
the requested byte set computed here, independently of ``satisfiable``:

* syntax porch does not accept (``parse_range`` gives None), or more ranges than
  ``max_ranges``: 200 with the whole file;
* nothing requested lies inside the file: 416 with ``Content-Range: bytes */SIZE``;
* otherwise 206: one part (``Content-Range`` header, body = that slice) or a
  ``multipart/byteranges`` body whose parts each carry a ``Content-Range`` inside the file and
  exactly that slice; the parts never overlap (no byte is sent twice) and together they are
  exactly the requested bytes that exist.

Whether a value is *valid syntax* is porch's call (``parse_range``): the property tests check
that call separately against values built from the grammar, whose validity is known by
construction.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from porch.http import Headers
from porch.http.ranges import RangeSpec, parse_range

Interval = tuple[int, int]

_CONTENT_RANGE = re.compile(r"bytes (\d+)-(\d+)/(\d+)")


def requested(specs: Sequence[RangeSpec], size: int) -> list[Interval]:
    """The bytes ``specs`` ask for that exist in a file of ``size`` bytes, as merged intervals."""
    wanted: list[Interval] = []
    for spec in specs:
        if spec.first is None:
            suffix = spec.last or 0
            if suffix > 0 and size > 0:
                wanted.append((max(0, size - suffix), size - 1))
        elif spec.first < size:
            last = size - 1 if spec.last is None else min(spec.last, size - 1)
            wanted.append((spec.first, last))
    return merge(wanted)


def merge(intervals: Sequence[Interval]) -> list[Interval]:
    """Sorted, with overlapping or touching intervals joined: a canonical byte set."""
    merged: list[Interval] = []
    for first, last in sorted(intervals):
        if merged and first <= merged[-1][1] + 1:
            merged[-1] = (merged[-1][0], max(merged[-1][1], last))
        else:
            merged.append((first, last))
    return merged


def _content_range(value: str | None, size: int) -> Interval:
    match = _CONTENT_RANGE.fullmatch(value or "")
    assert match, f"bad Content-Range {value!r}"
    first, last, total = (int(group) for group in match.groups())
    assert total == size, f"Content-Range {value!r} for a file of {size} bytes"
    assert 0 <= first <= last < size, f"Content-Range {value!r} outside the file"
    return first, last


def multipart_parts(body: bytes, boundary: str, size: int) -> list[tuple[Headers, bytes]]:
    """Split a ``multipart/byteranges`` body as porch frames it (RFC 9110 §14.6).

    Each part's length comes from its Content-Range, so a file containing the delimiter cannot
    confuse the split; anything out of place is an AssertionError.
    """
    delimiter = b"\r\n--" + boundary.encode("latin-1")
    parts: list[tuple[Headers, bytes]] = []
    at = 0
    while True:
        assert body.startswith(delimiter, at), f"no delimiter at {at}: {body[at : at + 80]!r}"
        at += len(delimiter)
        if body.startswith(b"--\r\n", at):
            assert at + 4 == len(body), "bytes after the close delimiter"
            return parts
        assert body.startswith(b"\r\n", at), "delimiter not followed by CRLF"
        end = body.index(b"\r\n\r\n", at)
        headers = Headers()
        for line in body[at + 2 : end].decode("latin-1").split("\r\n"):
            name, colon, value = line.partition(":")
            assert colon, f"bad part header {line!r}"
            headers.add(name.strip(), value.strip())
        at = end + 4
        first, last = _content_range(headers.get("content-range"), size)
        parts.append((headers, body[at : at + last - first + 1]))
        at += last - first + 1


def check_range_answer(
    value: str,
    data: bytes,
    status: int,
    headers: Headers,
    body: bytes,
    *,
    max_ranges: int,
    content_type: str,
) -> None:
    """Raise AssertionError unless (status, headers, body) is the right answer to GET with
    ``Range: value`` for a file holding ``data`` (see the module docstring)."""
    size = len(data)
    specs = parse_range(value)
    where = f"Range {value!r} on {size} bytes"
    if specs is None or len(specs) > max_ranges or size == 0:
        assert status == 200, f"{where}: {status}, expected 200"
        assert body == data, f"{where}: 200 without the whole file"
        return
    wanted = requested(specs, size)
    if not wanted:
        assert status == 416, f"{where}: {status}, expected 416"
        assert headers.get("content-range") == f"bytes */{size}", where
        return
    assert status == 206, f"{where}: {status}, expected 206 for {wanted}"
    kind = headers.get("content-type") or ""
    if kind.startswith("multipart/byteranges"):
        boundary = kind.partition("boundary=")[2]
        assert boundary, f"{where}: no boundary in {kind!r}"
        assert "content-range" not in headers, where
        pieces = []
        for part_headers, part in multipart_parts(body, boundary, size):
            assert part_headers.get("content-type") == content_type, where
            pieces.append((_content_range(part_headers.get("content-range"), size), part))
        assert len(pieces) >= 2, f"{where}: a multipart answer with {len(pieces)} part(s)"
    else:
        pieces = [(_content_range(headers.get("content-range"), size), body)]
    sent = 0
    for (first, last), part in pieces:
        assert part == data[first : last + 1], f"{where}: part {first}-{last} is not that slice"
        sent += last - first + 1
    covered = [interval for interval, _ in pieces]
    assert merge(covered) == wanted, f"{where}: sent {covered}, requested {wanted}"
    assert sent == sum(last - first + 1 for first, last in wanted), f"{where}: a byte sent twice"
