#!/usr/bin/env python3
"""Coverage-guided fuzz target: Range values -> ``porch.http.ranges`` and a real ``App``.

Input layout: byte 0 bits 0-2 pick the file (sizes in ``SIZES``), bit 3 picks the app with
``--max-ranges 3`` instead of the default 100; the rest is the Range value (latin-1, as the
connection decodes header values). Invariants:

* pure: ``parse_range`` and ``satisfiable`` raise nothing; every ``ByteRange`` lies inside the
  file, they never overlap, and together they are exactly the requested bytes that exist
  (``tests/range_checks.requested``); ``multipart_length`` equals the length of the framing
  plus the bytes;
* through ``App`` (``porch.testing.Client``, a real file), for values a client could send (no
  CR, LF or NUL; surrounding whitespace stripped as the parser does): exactly the answer
  ``tests/range_checks.check_range_answer`` describes: 200 with the whole file, 416 with
  ``bytes */SIZE``, or 206 whose bodies are the file's slices.
"""

from __future__ import annotations

import asyncio
import itertools
import sys
import tempfile
from pathlib import Path

import atheris

HERE = Path(__file__).resolve().parent
sys.path[:0] = [str(HERE.parent / "src"), str(HERE.parent)]

with atheris.instrument_imports(include=["porch"]):
    from porch.app import App
    from porch.config import Config
    from porch.http.ranges import (
        make_boundary,
        multipart_head,
        multipart_length,
        multipart_tail,
        parse_range,
        satisfiable,
    )
    from porch.testing import Client

from tests.range_checks import check_range_answer, merge, requested  # noqa: E402

SIZES = (0, 1, 2, 10, 100, 1000, 70_000, 65_536)
MAX_RANGES = (100, 3)
ROOT = Path(tempfile.mkdtemp(prefix="porch-fuzz-range-")).resolve()
FILES = []
for index, size in enumerate(SIZES):
    data = bytes((i * 7 + index) % 251 for i in range(size))
    (ROOT / f"f{index}.bin").write_bytes(data)
    FILES.append((f"/f{index}.bin", data))
CLIENTS = [Client(App(Config(root=ROOT, max_ranges=limit))) for limit in MAX_RANGES]
LOOP = asyncio.new_event_loop()


def check_pure(value: str, size: int) -> None:
    specs = parse_range(value)
    if specs is None:
        return
    assert specs, f"{value!r}: an empty spec list instead of None"
    ranges = satisfiable(specs, size)
    intervals = [(r.first, r.last) for r in ranges]
    for first, last in intervals:
        assert 0 <= first <= last < size, f"{value!r} on {size}: {first}-{last} outside"
    ordered = sorted(intervals)
    assert all(a[1] < b[0] for a, b in itertools.pairwise(ordered)), (
        f"{value!r} on {size}: overlapping {intervals}"
    )
    assert merge(intervals) == requested(specs, size), f"{value!r} on {size}: {intervals}"
    if len(ranges) > 1:
        boundary = make_boundary()
        framing = sum(len(multipart_head(boundary, "x/y", r, size)) + r.length for r in ranges)
        total = framing + len(multipart_tail(boundary))
        assert multipart_length(boundary, "x/y", ranges, size) == total


def test_one_input(raw: bytes) -> None:
    if not raw:
        return
    target, data = FILES[raw[0] & 7]
    limit_index = (raw[0] >> 3) & 1
    value = raw[1:].decode("latin-1")
    check_pure(value, len(data))
    if any(char in value for char in "\r\n\x00"):
        return
    value = value.strip(" \t")
    response = LOOP.run_until_complete(
        CLIENTS[limit_index].arequest("GET", target, headers={"Range": value})
    )
    check_range_answer(
        value,
        data,
        response.status,
        response.headers,
        response.body,
        max_ranges=MAX_RANGES[limit_index],
        content_type="application/octet-stream",
    )


def main() -> None:
    atheris.Setup(sys.argv, test_one_input)
    atheris.Fuzz()


if __name__ == "__main__":
    main()
