"""Property tests for ``porch.http.ranges``: Range values built from the grammar and mutated.

Values are generated from RFC 9110 §14.1.1's grammar with their meaning known by
construction: a valid value must parse to exactly the specs it was built from, and a value
with one known defect must parse to None (porch then ignores the Range). For any parse,
``satisfiable`` must return ranges inside the file, never overlapping, covering exactly the
requested bytes that exist (``tests.range_checks.requested``, computed independently), and
empty exactly when no spec is satisfiable (416). The same invariants are driven by the
coverage-guided target fuzz/fuzz_range.py and, through the app, tests/app/test_fuzz_ranges.py.
"""

from __future__ import annotations

import itertools

from hypothesis import example, given, settings
from hypothesis import strategies as st

from porch.http.ranges import (
    ByteRange,
    RangeSpec,
    make_boundary,
    multipart_head,
    multipart_length,
    multipart_tail,
    parse_range,
    satisfiable,
)
from tests.range_checks import merge, requested

numbers = st.integers(0, 300) | st.sampled_from([0, 1, 2**31, 2**63, 10**30])


@st.composite
def range_specs(draw: st.DrawFn) -> RangeSpec:
    kind = draw(st.sampled_from(["closed", "open", "suffix"]))
    if kind == "suffix":
        return RangeSpec(None, draw(numbers))
    first = draw(numbers)
    if kind == "open":
        return RangeSpec(first, None)
    return RangeSpec(first, first + draw(numbers))


def render_spec(spec: RangeSpec) -> str:
    first = "" if spec.first is None else str(spec.first)
    last = "" if spec.last is None else str(spec.last)
    return f"{first}-{last}"


ows = st.sampled_from(["", "", " ", "\t", "  "])


@st.composite
def valid_values(draw: st.DrawFn) -> tuple[str, list[RangeSpec]]:
    """A valid value and the specs it means (OWS and empty list members as §5.6.1 allows)."""
    specs = draw(st.lists(range_specs(), min_size=1, max_size=8))
    unit = draw(st.sampled_from(["bytes", "BYTES", "Bytes"]))
    members = [draw(ows) + render_spec(spec) + draw(ows) for spec in specs]
    if draw(st.booleans()):
        members.insert(draw(st.integers(0, len(members))), draw(ows))  # an empty member
    return f"{unit}=" + ",".join(members), specs


DEFECTS = [
    lambda m: m.replace("-", "", 1),  # no dash
    lambda m: m.replace("-", "--", 1),  # a negative number
    lambda m: m + "-1",  # two dashes
    lambda m: "x" + m,  # a letter
    lambda m: m.replace("-", " - ", 1),  # whitespace inside a member
    lambda m: "+" + m,  # a sign
    lambda m: "\u0661" + m,  # a digit from another script
    lambda m: "0x" + m,  # hex
    lambda m: "-",  # neither number
]


@st.composite
def invalid_values(draw: st.DrawFn) -> str:
    """A value with one known defect in the unit or one member."""
    value, specs = draw(valid_values())
    unit_defect = draw(st.sampled_from([None, "items", "byte", "bytes;", ""]))
    if unit_defect is not None:
        if draw(st.booleans()):
            return value.replace("=", ":", 1)  # no "=" at all
        return unit_defect + "=" + value.partition("=")[2]
    members = [render_spec(spec) for spec in specs]
    index = draw(st.integers(0, len(members) - 1))
    if draw(st.booleans()):
        spec = specs[index]
        if spec.first is not None and spec.last is not None and spec.last > spec.first:
            members[index] = f"{spec.last}-{spec.first}"  # last before first
            return "bytes=" + ",".join(members)
    members[index] = draw(st.sampled_from(DEFECTS))(members[index])
    return "bytes=" + ",".join(members)


def check_satisfiable(specs: list[RangeSpec], size: int) -> list[ByteRange]:
    ranges = satisfiable(specs, size)
    intervals = [(r.first, r.last) for r in ranges]
    for first, last in intervals:
        assert 0 <= first <= last < size
    ordered = sorted(intervals)
    assert all(a[1] < b[0] for a, b in itertools.pairwise(ordered)), intervals
    assert merge(intervals) == requested(specs, size)
    raw = requested_raw(specs, size)
    if all(a[1] < b[0] for a, b in itertools.pairwise(sorted(raw))):
        assert intervals == raw  # nothing overlaps: the client's order is kept
    return ranges


def requested_raw(specs: list[RangeSpec], size: int) -> list[tuple[int, int]]:
    """Each satisfiable spec's interval, unmerged, in the client's order."""
    return [interval for spec in specs for interval in requested([spec], size)]


sizes = st.integers(0, 400) | st.sampled_from([2**31, 2**63])


@settings(max_examples=300, deadline=None)
@given(built=valid_values(), size=sizes)
def test_valid_values_parse_to_their_specs(built: tuple[str, list[RangeSpec]], size: int) -> None:
    value, specs = built
    assert parse_range(value) == specs
    ranges = check_satisfiable(specs, size)
    assert (not ranges) == all(
        (spec.first is None and (spec.last == 0 or size == 0))
        or (spec.first is not None and spec.first >= size)
        for spec in specs
    )


@settings(max_examples=300, deadline=None)
@given(value=invalid_values())
@example(value="bytes=")
@example(value="bytes=,,")
@example(value="bytes")
@example(value="=0-1")
def test_defective_values_are_ignored(value: str) -> None:
    assert parse_range(value) is None


@settings(max_examples=300, deadline=None)
@given(value=st.text(alphabet=st.sampled_from("bytes=0123456789-, \tB\u0661x"), max_size=40))
def test_any_text_parses_or_is_none_and_stays_inside(value: str) -> None:
    specs = parse_range(value)
    if specs is None:
        return
    assert specs
    for size in (0, 1, 7, 300):
        ranges = check_satisfiable(specs, size)
        if len(ranges) > 1:
            boundary = make_boundary()
            heads = sum(len(multipart_head(boundary, "a/b", r, size)) + r.length for r in ranges)
            expected = heads + len(multipart_tail(boundary))
            assert multipart_length(boundary, "a/b", ranges, size) == expected
