"""porch.http.hosts: which Host values porch answers (pure, table-tested)."""

from __future__ import annotations

import pytest

from porch.app.uploads import same_origin
from porch.http import Headers, Request
from porch.http.hosts import AllowedHosts, split_authority

DEFAULT = AllowedHosts.build(["porch.example"])


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("example.org", ("example.org", None)),
        ("Example.ORG.:80", ("example.org", 80)),
        ("[::1]:8000", ("::1", 8000)),
        ("[::1]", ("::1", None)),
        ("127.0.0.1:65535", ("127.0.0.1", 65535)),
        ("a:65536", None),
        ("::1", None),
        ("[::1", None),
        ("[nope]", None),
        ("user@host", None),
        ("host/path", None),
        ("host:", None),
        ("host:x", None),
        (":80", None),
        ("", None),
    ],
)
def test_split_authority(value: str, expected: tuple[str, int | None] | None) -> None:
    assert split_authority(value) == expected


@pytest.mark.parametrize(
    ("host", "allowed"),
    [
        (None, True),
        ("", True),
        ("localhost", True),
        ("LOCALHOST:8000", True),
        ("x.localhost", True),
        ("127.0.0.1", True),
        ("192.168.1.9:8000", True),
        ("[2001:db8::1]:80", True),
        ("porch.example", True),
        ("porch.example.:8000", True),
        ("sub.porch.example", False),
        ("attacker.example", False),
        ("localhost.attacker.example", False),
        ("127.0.0.1.nip.io", False),
        ("evil@localhost", False),
        ("x", False),
    ],
)
def test_allows(host: str | None, allowed: bool) -> None:
    assert DEFAULT.allows(host) is allowed


def test_suffix_and_star() -> None:
    suffix = AllowedHosts.build(["*.corp.example"])
    assert suffix.allows("corp.example")
    assert suffix.allows("a.b.corp.example")
    assert not suffix.allows("evilcorp.example")
    assert AllowedHosts.build(["*"]).allows("anything.example")


def request(host: str, origin: str) -> Request:
    return Request("POST", "/", "/", headers=Headers([("Host", host), ("Origin", origin)]))


def test_origin_check_uses_the_list_not_the_host_alone() -> None:
    rebound = request("attacker.example:8000", "http://attacker.example:8000")
    assert same_origin(rebound)  # Host alone: the rebinding page passes
    assert not same_origin(rebound, DEFAULT)
    assert same_origin(request("porch.example:8000", "http://porch.example:8000"), DEFAULT)
    assert same_origin(request("[::1]:8000", "http://[::1]:8000"), DEFAULT)
    assert not same_origin(request("porch.example:8000", "http://porch.example:9"), DEFAULT)
