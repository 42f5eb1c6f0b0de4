from __future__ import annotations

import pytest

from porch.http import Headers
from porch.http.forwarded import forwarded_origin, parse_networks

PROXY = ("10.0.0.5", 4000)
TRUSTED = parse_networks(["10.0.0.0/24", "::1"])


@pytest.mark.parametrize(
    ("peer", "headers", "expected"),
    [
        # An untrusted peer's claims are ignored.
        (("203.0.113.9", 5000), [("X-Forwarded-For", "1.2.3.4")], (("203.0.113.9", 5000), "http")),
        # A trusted proxy: the client is the rightmost untrusted hop.
        (PROXY, [("X-Forwarded-For", "1.2.3.4")], (("1.2.3.4", 0), "http")),
        (PROXY, [("X-Forwarded-For", "6.6.6.6, 1.2.3.4, 10.0.0.7")], (("1.2.3.4", 0), "http")),
        (
            PROXY,
            [("X-Forwarded-For", "6.6.6.6"), ("X-Forwarded-For", "1.2.3.4")],
            (("1.2.3.4", 0), "http"),
        ),
        # A forged malformed hop stops the walk.
        (PROXY, [("X-Forwarded-For", "1.2.3.4, not-an-ip")], (PROXY, "http")),
        (PROXY, [("X-Forwarded-Proto", "https")], (PROXY, "https")),
        (PROXY, [("X-Forwarded-Proto", "gopher")], (PROXY, "http")),
        (("::1", 9), [("X-Forwarded-For", "2001:db8::1")], (("2001:db8::1", 0), "http")),
    ],
)
def test_forwarded_origin(
    peer: tuple[str, int], headers: list[tuple[str, str]], expected: object
) -> None:
    assert forwarded_origin(peer, "http", Headers(headers), TRUSTED) == expected


def test_nothing_trusted_means_nothing_changes() -> None:
    headers = Headers([("X-Forwarded-For", "1.2.3.4"), ("X-Forwarded-Proto", "https")])
    assert forwarded_origin(PROXY, "http", headers, ()) == (PROXY, "http")


def test_bad_network_spec_is_an_error() -> None:
    with pytest.raises(ValueError, match="does not appear to be an IPv4 or IPv6 network"):
        parse_networks(["10.0.0.300/8"])
