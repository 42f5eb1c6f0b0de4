from __future__ import annotations

import itertools

import pytest
from hypothesis import given
from hypothesis import strategies as st

from porch.http.ranges import (
    ByteRange,
    RangeSpec,
    content_range,
    make_boundary,
    multipart_head,
    multipart_length,
    multipart_tail,
    parse_range,
    satisfiable,
)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("bytes=0-499", [RangeSpec(0, 499)]),
        ("bytes=500-", [RangeSpec(500, None)]),
        ("bytes=-500", [RangeSpec(None, 500)]),
        ("BYTES=1-2", [RangeSpec(1, 2)]),
        ("bytes=0-0, 2-3 ,-1", [RangeSpec(0, 0), RangeSpec(2, 3), RangeSpec(None, 1)]),
        ("bytes=,0-1,,", [RangeSpec(0, 1)]),
        ("bytes=5-5", [RangeSpec(5, 5)]),
    ],
)
def test_parse_valid(value: str, expected: list[RangeSpec]) -> None:
    assert parse_range(value) == expected


@pytest.mark.parametrize(
    "value",
    [
        "bytes=5-4",  # last before first
        "bytes=abc",
        "bytes=1-2-3",
        "bytes=-",
        "bytes=",
        "bytes=1 - 2",
        "bytes=+1-2",
        "bytes=0x1-2",
        "bytes=\u0661-\u0662",  # non-ASCII (Arabic-Indic) digits
        "items=0-1",
        "bytes 0-1",
        "0-1",
        "bytes=0-1,x",
    ],
)
def test_parse_invalid_is_none(value: str) -> None:
    assert parse_range(value) is None


@pytest.mark.parametrize(
    ("specs", "size", "expected"),
    [
        ([RangeSpec(0, 499)], 1000, [ByteRange(0, 499)]),
        ([RangeSpec(0, 5000)], 1000, [ByteRange(0, 999)]),  # clipped
        ([RangeSpec(999, None)], 1000, [ByteRange(999, 999)]),
        ([RangeSpec(1000, None)], 1000, []),  # first past the end
        ([RangeSpec(None, 100)], 1000, [ByteRange(900, 999)]),
        ([RangeSpec(None, 5000)], 1000, [ByteRange(0, 999)]),
        ([RangeSpec(None, 0)], 1000, []),
        ([RangeSpec(None, 5)], 0, []),
        ([RangeSpec(1000, 2000), RangeSpec(0, 0)], 1000, [ByteRange(0, 0)]),
        # Non-overlapping ranges keep the client's order.
        ([RangeSpec(10, 19), RangeSpec(0, 4)], 100, [ByteRange(10, 19), ByteRange(0, 4)]),
        # Overlapping ones are merged and sorted.
        ([RangeSpec(0, None), RangeSpec(0, None), RangeSpec(0, None)], 100, [ByteRange(0, 99)]),
        (
            [RangeSpec(50, 60), RangeSpec(0, 10), RangeSpec(55, 70)],
            100,
            [ByteRange(0, 10), ByteRange(50, 70)],
        ),
    ],
)
def test_satisfiable(specs: list[RangeSpec], size: int, expected: list[ByteRange]) -> None:
    assert satisfiable(specs, size) == expected


def test_content_range() -> None:
    assert content_range(ByteRange(0, 9), 100) == "bytes 0-9/100"
    assert content_range(None, 100) == "bytes */100"


spec_strategy = st.one_of(
    st.builds(RangeSpec, st.integers(0, 3000), st.none()),
    st.builds(RangeSpec, st.none(), st.integers(0, 3000)),
    st.integers(0, 3000).flatmap(
        lambda first: st.builds(RangeSpec, st.just(first), st.integers(first, first + 3000))
    ),
)


@given(st.lists(spec_strategy, min_size=1, max_size=8), st.integers(0, 2000))
def test_satisfiable_ranges_lie_inside_the_file(specs: list[RangeSpec], size: int) -> None:
    ranges = satisfiable(specs, size)
    for byte_range in ranges:
        assert 0 <= byte_range.first <= byte_range.last < size
    # Never more bytes than the file when ranges had to be merged, and never overlapping.
    ordered = sorted(ranges, key=lambda r: r.first)
    for a, b in itertools.pairwise(ordered):
        assert a.last < b.first
    assert sum(r.length for r in ranges) <= size
    # Each satisfiable spec's bytes are covered by the answer.
    covered = {i for r in ranges for i in range(r.first, r.last + 1)}
    for spec in specs:
        for r in satisfiable([spec], size):
            assert set(range(r.first, r.last + 1)) <= covered


@given(st.lists(spec_strategy, min_size=1, max_size=8))
def test_parse_round_trips_what_it_formats(specs: list[RangeSpec]) -> None:
    def text(spec: RangeSpec) -> str:
        if spec.first is None:
            return f"-{spec.last}"
        return f"{spec.first}-" + ("" if spec.last is None else str(spec.last))

    assert parse_range("bytes=" + ", ".join(text(s) for s in specs)) == specs


@given(st.text(max_size=40))
def test_parse_never_raises(value: str) -> None:
    result = parse_range(value)
    assert result is None or all(isinstance(s, RangeSpec) for s in result)


def test_multipart_framing_and_length() -> None:
    boundary = make_boundary()
    assert boundary != make_boundary()
    ranges = [ByteRange(0, 1), ByteRange(5, 9)]
    data = b"0123456789"
    body = b"".join(
        multipart_head(boundary, "text/plain", r, 10) + data[r.first : r.last + 1] for r in ranges
    ) + multipart_tail(boundary)
    assert len(body) == multipart_length(boundary, "text/plain", ranges, 10)
    assert b"Content-Range: bytes 5-9/10\r\n\r\n56789\r\n--" + boundary.encode() + b"--" in body
