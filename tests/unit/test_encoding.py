from __future__ import annotations

import pytest

from porch.http.encoding import choose_encoding, is_compressible, parse_accept_encoding


@pytest.mark.parametrize(
    ("header", "offers", "chosen"),
    [
        (None, ["br", "gzip"], None),
        ("", ["gzip"], None),
        ("gzip", ["gzip"], "gzip"),
        ("gzip, deflate, br", ["br", "gzip"], "br"),
        ("gzip;q=1, br;q=0.5", ["br", "gzip"], "gzip"),
        ("br;q=0, gzip", ["br", "gzip"], "gzip"),
        ("gzip;q=0", ["gzip"], None),
        ("*", ["br", "gzip"], "br"),
        ("*;q=0.5, br;q=0", ["br", "gzip"], "gzip"),
        ("identity", ["gzip"], None),
        ("GZIP", ["gzip"], "gzip"),
        ("x-gzip", ["gzip"], "gzip"),
        ("gzip;q=bogus", ["gzip"], None),
        ("deflate", ["br", "gzip"], None),
    ],
)
def test_choose_encoding(header: str | None, offers: list[str], chosen: str | None) -> None:
    assert choose_encoding(header, offers) == chosen


def test_parse_accept_encoding() -> None:
    assert parse_accept_encoding("gzip;q=0.8, br , ;q=1") == {"gzip": 0.8, "br": 1.0}


@pytest.mark.parametrize(
    ("content_type", "expected"),
    [
        ("text/html; charset=utf-8", True),
        ("text/css", True),
        ("application/json", True),
        ("image/svg+xml", True),
        ("image/png", False),
        ("application/gzip", False),
        ("application/zip", False),
        ("font/woff2", False),
        ("video/mp4", False),
        ("application/octet-stream", False),
    ],
)
def test_is_compressible(content_type: str, expected: bool) -> None:
    assert is_compressible(content_type) is expected
