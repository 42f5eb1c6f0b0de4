from __future__ import annotations

import pytest

from porch.http import Headers, format_http_date
from porch.http.conditional import (
    Outcome,
    evaluate_preconditions,
    if_range_allows,
    make_etag,
    parse_etags,
    strong_match,
    weak_match,
)

MTIME = 1_700_000_000.5
ETAG = make_etag(34, 1_700_000_000_500_000_000)
OTHER = '"other"'
SAME_DATE = format_http_date(MTIME)  # truncated to the second
BEFORE = format_http_date(MTIME - 60)
AFTER = format_http_date(MTIME + 60)


def test_make_etag_is_strong_and_changes_with_each_part() -> None:
    base = make_etag(2, 3)
    assert base.startswith('"')
    assert base.endswith('"')
    assert len({base, make_etag(9, 3), make_etag(2, 9)}) == 3
    assert make_etag(2, 3, "gzip") != base
    assert make_etag(2, 3, "gzip", weak=True) == "W/" + make_etag(2, 3, "gzip")


def test_parse_etags() -> None:
    assert parse_etags("*") is None
    assert parse_etags('"a", W/"b",,"c,d"') == ['"a"', 'W/"b"', '"c,d"']
    assert parse_etags('garbage, "x"') == ['"x"']
    assert parse_etags('"unterminated') == []


def test_comparison_functions() -> None:
    # RFC 9110 §8.8.3.2's table.
    assert not strong_match('W/"1"', 'W/"1"')
    assert weak_match('W/"1"', 'W/"1"')
    assert not strong_match('W/"1"', 'W/"2"')
    assert not weak_match('W/"1"', 'W/"2"')
    assert not strong_match('W/"1"', '"1"')
    assert weak_match('W/"1"', '"1"')
    assert strong_match('"1"', '"1"')
    assert weak_match('"1"', '"1"')


P, NM, PF = Outcome.PROCEED, Outcome.NOT_MODIFIED, Outcome.PRECONDITION_FAILED

# (method, headers, outcome): the precedence of RFC 9110 §13.2.2, step by step.
TABLE = [
    ("GET", {}, P),
    # Step 1: If-Match (strong comparison; "*" matches an existing file).
    ("GET", {"If-Match": ETAG}, P),
    ("GET", {"If-Match": f"{OTHER}, {ETAG}"}, P),
    ("GET", {"If-Match": "*"}, P),
    ("GET", {"If-Match": OTHER}, PF),
    ("GET", {"If-Match": "W/" + ETAG}, PF),
    # If-Match present: If-Unmodified-Since is not evaluated (even when it would fail).
    ("GET", {"If-Match": ETAG, "If-Unmodified-Since": BEFORE}, P),
    # Step 2: If-Unmodified-Since.
    ("GET", {"If-Unmodified-Since": SAME_DATE}, P),
    ("GET", {"If-Unmodified-Since": AFTER}, P),
    ("GET", {"If-Unmodified-Since": BEFORE}, PF),
    ("GET", {"If-Unmodified-Since": "not a date"}, P),
    # Step 3: If-None-Match (weak comparison), 304 for GET/HEAD, 412 otherwise.
    ("GET", {"If-None-Match": ETAG}, NM),
    ("HEAD", {"If-None-Match": ETAG}, NM),
    ("GET", {"If-None-Match": "W/" + ETAG}, NM),
    ("GET", {"If-None-Match": f"{OTHER}, {ETAG}"}, NM),
    ("GET", {"If-None-Match": "*"}, NM),
    ("GET", {"If-None-Match": OTHER}, P),
    ("PUT", {"If-None-Match": "*"}, PF),
    ("DELETE", {"If-None-Match": ETAG}, PF),
    # Step 1 before step 3: a failing If-Match wins over a matching If-None-Match.
    ("GET", {"If-Match": OTHER, "If-None-Match": ETAG}, PF),
    ("GET", {"If-Unmodified-Since": BEFORE, "If-None-Match": ETAG}, PF),
    # If-None-Match present: If-Modified-Since is ignored, both ways.
    ("GET", {"If-None-Match": OTHER, "If-Modified-Since": AFTER}, P),
    ("GET", {"If-None-Match": ETAG, "If-Modified-Since": BEFORE}, NM),
    # Step 4: If-Modified-Since, GET/HEAD only.
    ("GET", {"If-Modified-Since": SAME_DATE}, NM),
    ("GET", {"If-Modified-Since": AFTER}, NM),
    ("HEAD", {"If-Modified-Since": AFTER}, NM),
    ("GET", {"If-Modified-Since": BEFORE}, P),
    ("GET", {"If-Modified-Since": "yesterday"}, P),
    ("POST", {"If-Modified-Since": AFTER}, P),
    # A 304 needs every earlier step to pass first.
    ("GET", {"If-Match": ETAG, "If-Modified-Since": AFTER}, NM),
    ("GET", {"If-Match": OTHER, "If-Modified-Since": AFTER}, PF),
]


@pytest.mark.parametrize(("method", "fields", "outcome"), TABLE)
def test_precedence(method: str, fields: dict[str, str], outcome: Outcome) -> None:
    assert evaluate_preconditions(method, Headers(list(fields.items())), ETAG, MTIME) is outcome


def test_repeated_if_none_match_fields_are_one_list() -> None:
    headers = Headers([("If-None-Match", OTHER), ("If-None-Match", ETAG)])
    assert evaluate_preconditions("GET", headers, ETAG, MTIME) is NM


@pytest.mark.parametrize(
    ("value", "now", "allowed"),
    [
        (ETAG, MTIME + 100, True),
        ("W/" + ETAG, MTIME + 100, False),  # weak tags never match
        (OTHER, MTIME + 100, False),
        (SAME_DATE, MTIME + 100, True),
        (BEFORE, MTIME + 100, False),  # not an exact match
        (AFTER, MTIME + 100, False),
        (SAME_DATE, MTIME + 0.2, False),  # Last-Modified too recent to be strong
        ("nonsense", MTIME + 100, False),
    ],
)
def test_if_range(value: str, now: float, allowed: bool) -> None:
    assert if_range_allows(value, ETAG, MTIME, now) is allowed
