"""Headers, content negotiation, HTTP dates, reason phrases."""

from __future__ import annotations

import pytest

from porch.http import Headers, HTTPError, format_http_date, negotiate, parse_http_date
from porch.http.errors import reason_phrase


def test_lookup_ignores_case_and_returns_the_first() -> None:
    headers = Headers([("Accept", "a"), ("ACCEPT", "b"), ("Host", "x")])
    assert headers.get("accept") == "a"
    assert headers.get_all("aCcEpT") == ["a", "b"]
    assert headers.get("missing") is None
    assert headers.get("missing", "d") == "d"
    assert "HOST" in headers
    assert "missing" not in headers


def test_order_and_spelling_are_kept() -> None:
    headers = Headers()
    headers.add("X-One", "1")
    headers.add("x-two", "2")
    headers.add("X-ONE", "3")
    assert headers.items() == [("X-One", "1"), ("x-two", "2"), ("X-ONE", "3")]
    assert list(headers) == headers.items()
    assert len(headers) == 3
    assert headers.as_dict() == {"x-one": ["1", "3"], "x-two": ["2"]}


def test_set_replaces_every_field_of_the_name() -> None:
    headers = Headers([("A", "1"), ("B", "2"), ("a", "3")])
    headers.set("A", "9")
    assert headers.items() == [("B", "2"), ("A", "9")]
    assert headers.setdefault("b", "x") == "2"
    assert headers.setdefault("C", "3") == "3"
    headers.remove("c")
    headers.remove("never-there")
    assert headers.get_all("C") == []


def test_get_list_splits_commas_across_fields() -> None:
    headers = Headers([("Connection", "keep-alive, Upgrade"), ("connection", " , close")])
    assert headers.get_list("connection") == ["keep-alive", "Upgrade", "close"]


@pytest.mark.parametrize(
    ("accept", "expected"),
    [
        (None, "text/plain"),
        ("", "text/plain"),
        ("*/*", "text/plain"),
        ("application/json", "application/json"),
        ("text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8", "text/html"),
        ("text/*", "text/plain"),
        ("text/*;q=0.5, application/json", "application/json"),
        ("application/json;q=0, */*", "text/plain"),
        ("text/plain;q=0.1, text/html;q=0.2", "text/html"),
        ("TEXT/HTML", "text/html"),
        ("image/png", None),
        ("text/html;q=bogus, application/json;q=0.1", "application/json"),
        ("nonsense, application/json", "application/json"),
    ],
)
def test_negotiate(accept: str | None, expected: str | None) -> None:
    assert negotiate(accept, ["text/plain", "text/html", "application/json"]) == expected


def test_negotiate_without_offers() -> None:
    assert negotiate("*/*", []) is None


def test_http_date_round_trip() -> None:
    assert format_http_date(784111777) == "Sun, 06 Nov 1994 08:49:37 GMT"
    assert parse_http_date("Sun, 06 Nov 1994 08:49:37 GMT") == 784111777


@pytest.mark.parametrize(
    "text",
    ["Sunday, 06-Nov-94 08:49:37 GMT", "Sun Nov  6 08:49:37 1994"],
)
def test_http_date_historic_formats(text: str) -> None:
    # RFC 9110 section 5.6.7: a recipient MUST accept all three formats (asctime has no zone)
    assert parse_http_date(text) == 784111777


@pytest.mark.parametrize("text", ["", "yesterday", "Sun, 99 Nov 1994 08:49:37 GMT", "1994-11-06"])
def test_http_date_invalid_is_none(text: str) -> None:
    assert parse_http_date(text) is None


def test_reason_phrases_follow_rfc_9110() -> None:
    assert reason_phrase(413) == "Content Too Large"
    assert reason_phrase(414) == "URI Too Long"
    assert reason_phrase(404) == "Not Found"
    assert reason_phrase(799) == "Unknown"
    error = HTTPError(405, "", {"Allow": "GET"})
    assert error.detail == "Method Not Allowed"
    assert error.headers == {"Allow": "GET"}
