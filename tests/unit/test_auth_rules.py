"""The pure access rules: Basic credentials, grants, prefixes, account lines."""

from __future__ import annotations

import base64

import pytest

from porch.http.auth import (
    Access,
    Grant,
    access_on,
    method_access,
    parse_account,
    parse_basic,
    parse_grants,
)


def basic(raw: bytes) -> str:
    return "Basic " + base64.b64encode(raw).decode()


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        (None, None),
        ("Bearer abc", None),
        (basic(b"alice:secret"), ("alice", "secret")),
        (basic(b"alice:se:cret"), ("alice", "se:cret")),  # the password may hold colons
        (basic(b"alice:"), ("alice", "")),
        (basic("jörg:pässwort".encode()), ("jörg", "pässwort")),
        ("basic " + base64.b64encode(b"a:b").decode(), ("a", "b")),  # scheme is case-blind
    ],
)
def test_parse_basic(header: str | None, expected: tuple[str, str] | None) -> None:
    assert parse_basic(header) == expected


@pytest.mark.parametrize(
    "header",
    ["Basic !!!notbase64", basic(b"no-colon"), basic(b"\xff\xfe:x"), "Basic ", "Basic YWxp Y2U6"],
)
def test_parse_basic_refuses_malformed(header: str) -> None:
    with pytest.raises(ValueError, match="malformed"):
        parse_basic(header)


@pytest.mark.parametrize(
    ("method", "access"),
    [
        ("GET", Access.READ),
        ("HEAD", Access.READ),
        ("OPTIONS", Access.READ),
        ("PROPFIND", Access.READ),
        ("COPY", Access.READ),  # its write lands at the Destination, checked there
        ("POST", Access.ADD),  # creating needs add; overwriting is checked by the operation
        ("PUT", Access.ADD),
        ("MKCOL", Access.ADD),
        ("LOCK", Access.ADD),
        ("UNLOCK", Access.ADD),
        ("DELETE", Access.WRITE),
        ("MOVE", Access.WRITE),
        ("PROPPATCH", Access.WRITE),
        ("PATCH", Access.WRITE),
        ("TRACE", Access.WRITE),  # anything not known to be a read fails closed
    ],
)
def test_method_access(method: str, access: Access) -> None:
    assert method_access(method) == access


@pytest.mark.parametrize(
    ("grants", "path", "access"),
    [
        ("read", "/anything/at/all", Access.READ),
        ("write", "/", Access.WRITE),
        ("none", "/x", Access.NONE),
        ("read@/pub", "/pub", Access.READ),
        ("read@/pub", "/pub/", Access.READ),
        ("read@/pub/", "/pub/a/b.txt", Access.READ),
        ("read@/pub", "/public/a.txt", Access.NONE),  # segments, not string prefixes
        ("read@/pub", "/", Access.NONE),
        ("read,write@/incoming", "/incoming/x", Access.WRITE),
        ("read,write@/incoming", "/other/x", Access.READ),
        ("write@/incoming,read", "/incoming", Access.WRITE),  # order does not matter
        ("rw@/a,ro@/b", "/b/c", Access.READ),
    ],
)
def test_access_on(grants: str, path: str, access: Access) -> None:
    assert access_on(parse_grants(grants), path) == access


@pytest.mark.parametrize(
    "text", ["admin", "read@pub", "read@/a/../b", "read@/./a", "", "read,,write"]
)
def test_parse_grants_refuses(text: str) -> None:
    with pytest.raises(ValueError):  # noqa: PT011 - the message is for the command line
        parse_grants(text)


def test_parse_account() -> None:
    hashed = "$argon2id$v=19$m=8,t=1,p=1$c2FsdHNhbHQ$aGFzaGhhc2g"
    account = parse_account(f"alice:{hashed}")
    assert (account.name, account.password_hash) == ("alice", hashed)
    assert account.grants == (Grant(Access.READ),)  # a user reads by default, no more
    assert parse_account(f"bob:{hashed}:read,write@/in").grants == (
        Grant(Access.READ),
        Grant(Access.WRITE, "/in"),
    )


@pytest.mark.parametrize(
    "text",
    ["alice", "alice:", ":$argon2id$x", "alice:plaintext-password", "al\x01ce:$argon2id$x"],
)
def test_parse_account_refuses(text: str) -> None:
    with pytest.raises(ValueError):  # noqa: PT011
        parse_account(text)
