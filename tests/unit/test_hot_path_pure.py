"""Pure pieces of the hot path (issue 6): HTTP dates without email.utils, the header index."""

from __future__ import annotations

import email.utils

from hypothesis import given
from hypothesis import strategies as st

from porch.http import Headers, format_http_date


@given(st.integers(min_value=-(2**31), max_value=2**35))
def test_format_http_date_agrees_with_email_utils(timestamp: int) -> None:
    assert format_http_date(timestamp) == email.utils.formatdate(timestamp, usegmt=True)


def test_format_http_date_drops_the_fraction() -> None:
    """An mtime just below a whole second is that second, as the conditional checks (which
    compare whole seconds) see it; email.utils would round it up to the next."""
    assert format_http_date(784111777.9999999) == "Sun, 06 Nov 1994 08:49:37 GMT"


def test_format_http_date_known_value() -> None:
    assert format_http_date(784111777) == "Sun, 06 Nov 1994 08:49:37 GMT"


def test_header_lookups_follow_every_change() -> None:
    headers = Headers([("Host", "a"), ("X-Many", "1"), ("x-many", "2")])
    assert headers.get("HOST") == "a"
    assert headers.get_all("x-MANY") == ["1", "2"]
    headers.add("Host", "b")
    assert headers.get_all("host") == ["a", "b"]
    headers.set("host", "c")
    assert headers.get_all("Host") == ["c"]
    headers.remove("X-MANY")
    assert "x-many" not in headers
    assert headers.setdefault("X-New", "1") == "1"
    assert headers.setdefault("x-new", "2") == "1"
    assert headers.items() == [("host", "c"), ("X-New", "1")]


def test_get_all_returns_a_copy() -> None:
    headers = Headers([("A", "1")])
    headers.get_all("a").append("2")
    assert headers.get_all("a") == ["1"]
