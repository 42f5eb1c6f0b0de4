"""Grants for writes in the served tree (issue 13), as a table: who x operation -> status.

bob has ``read,add@/inbox`` (a drop box: he may create there, change nothing), ann ``write``,
rita ``read``; anonymous clients may read. Every row runs on a fresh tree, and a refused
operation must leave the tree exactly as it was.
"""

from __future__ import annotations

import base64
from pathlib import Path

import pytest

from porch.app import App
from porch.config import Config
from porch.http.auth import Account, parse_grants
from porch.testing import Client, TestResponse
from tests.security_helpers import quick_hash

USERS = {"bob": "read,add@/inbox", "ann": "write", "rita": "read"}
HASHES = {name: quick_hash(name + "-pw") for name in USERS}

PROPPATCH = (
    b'<D:propertyupdate xmlns:D="DAV:" xmlns:z="urn:z"><D:set><D:prop><z:tag>x</z:tag>'
    b"</D:prop></D:set></D:propertyupdate>"
)
LOCK = (
    b'<D:lockinfo xmlns:D="DAV:"><D:lockscope><D:exclusive/></D:lockscope>'
    b"<D:locktype><D:write/></D:locktype></D:lockinfo>"
)

# name -> (method, path, headers, body)
OPERATIONS: dict[str, tuple[str, str, dict[str, str], bytes]] = {
    "put new": ("PUT", "/inbox/new.txt", {}, b"new"),
    "put over": ("PUT", "/inbox/old.txt", {}, b"new"),
    "post new": ("POST", "/inbox/posted.txt", {}, b"new"),
    "mkcol": ("MKCOL", "/inbox/folder", {}, b""),
    "delete": ("DELETE", "/inbox/old.txt", {}, b""),
    "rename": ("MOVE", "/inbox/old.txt", {"Destination": "/inbox/renamed.txt"}, b""),
    "copy in": ("COPY", "/pub/a.txt", {"Destination": "/inbox/a.txt"}, b""),
    "copy over": ("COPY", "/pub/a.txt", {"Destination": "/inbox/old.txt"}, b""),
    "copy out": ("COPY", "/inbox/old.txt", {"Destination": "/pub/b.txt"}, b""),
    "move in": ("MOVE", "/pub/a.txt", {"Destination": "/inbox/a.txt"}, b""),
    "proppatch": ("PROPPATCH", "/inbox/old.txt", {}, PROPPATCH),
    "put elsewhere": ("PUT", "/pub/new.txt", {}, b"new"),
    "lock new": ("LOCK", "/inbox/locked.txt", {}, LOCK),
    "lock over": ("LOCK", "/inbox/old.txt", {}, LOCK),  # would keep others from changing it
    "propfind": ("PROPFIND", "/inbox/", {"Depth": "1"}, b""),
}

EXPECTED = {
    #                 bob  ann  rita anonymous
    "put new": (201, 201, 403, 401),
    "put over": (403, 204, 403, 401),
    "post new": (201, 201, 403, 401),
    "mkcol": (201, 201, 403, 401),
    "delete": (403, 204, 403, 401),
    "rename": (403, 201, 403, 401),
    "copy in": (201, 201, 403, 401),  # reading the source is enough; the new name is added
    "copy over": (403, 204, 403, 401),
    "copy out": (403, 201, 403, 401),
    "move in": (403, 201, 403, 401),  # moving takes the source away: write on it
    "proppatch": (403, 207, 403, 401),
    "put elsewhere": (403, 201, 403, 401),
    "lock new": (201, 201, 403, 401),
    "lock over": (403, 200, 403, 401),
    "propfind": (207, 207, 207, 207),
}
WHO = ("bob", "ann", "rita", "anonymous")


def make_tree(root: Path) -> None:
    (root / "inbox").mkdir()
    (root / "pub").mkdir()
    (root / "inbox" / "old.txt").write_bytes(b"old")
    (root / "pub" / "a.txt").write_bytes(b"a")


def snapshot(root: Path) -> dict[str, bytes | None]:
    return {
        str(path.relative_to(root)): path.read_bytes() if path.is_file() else None
        for path in sorted(root.rglob("*"))
    }


def send(client: Client, who: str, operation: str) -> TestResponse:
    method, path, headers, body = OPERATIONS[operation]
    headers = dict(headers)
    if who != "anonymous":
        token = base64.b64encode(f"{who}:{who}-pw".encode()).decode()
        headers["Authorization"] = f"Basic {token}"
    return client.request(method, path, headers=headers, body=body)


@pytest.mark.parametrize("who", WHO)
@pytest.mark.parametrize("operation", sorted(OPERATIONS))
def test_grant_table(tmp_path: Path, who: str, operation: str) -> None:
    root = tmp_path / "root"
    root.mkdir()
    make_tree(root)
    accounts = tuple(Account(n, HASHES[n], parse_grants(g)) for n, g in USERS.items())
    config = Config(
        root=root, accounts=accounts, anonymous=parse_grants("read"), state_dir=tmp_path / "s"
    )
    client = Client(App(config))
    before = snapshot(root)
    response = send(client, who, operation)
    expected = EXPECTED[operation][WHO.index(who)]
    assert response.status == expected, response.body
    if expected in (401, 403):
        assert snapshot(root) == before  # a refusal changes nothing
    if expected == 401:
        assert response.headers.get("WWW-Authenticate", "").startswith("Basic")


def test_no_access_control_reads_but_never_writes_the_tree(tmp_path: Path) -> None:
    make_tree(tmp_path)
    client = Client(App(Config(root=tmp_path, state_dir=tmp_path.parent / "state")))
    assert client.request("PROPFIND", "/inbox/", headers={"Depth": "1"}).status == 207
    for method, path in (("PUT", "/x.txt"), ("MKCOL", "/d"), ("DELETE", "/inbox/old.txt")):
        response = client.request(method, path, body=b"1" if method == "PUT" else b"")
        assert response.status == 405
        assert "PROPFIND" in response.headers.get("Allow", "")
        assert "DELETE" not in response.headers.get("Allow", "")
    assert (tmp_path / "inbox" / "old.txt").read_bytes() == b"old"
    assert not (tmp_path / "x.txt").exists()


def test_anonymous_write_is_a_writable_share(tmp_path: Path) -> None:
    make_tree(tmp_path)
    config = Config(
        root=tmp_path, anonymous=parse_grants("write"), state_dir=tmp_path.parent / "state"
    )
    client = Client(App(config))
    options = client.options("/")
    assert options.headers.get("DAV") == "1, 2"
    assert "MKCOL" in options.headers.get("Allow", "")
    assert client.put("/x.txt", body=b"1").status == 201
    assert client.put("/x.txt", body=b"2").status == 204
    assert client.request("DELETE", "/inbox/old.txt").status == 204
    assert (tmp_path / "x.txt").read_bytes() == b"2"
    assert not (tmp_path / "inbox" / "old.txt").exists()


def test_add_grant_upload_dir_put_creates_but_never_replaces(tmp_path: Path) -> None:
    root = tmp_path / "root"
    (root / "inbox").mkdir(parents=True)
    (root / "inbox" / "old.txt").write_bytes(b"old")
    config = Config(
        root=root,
        upload_dir=root / "inbox",
        accounts=(Account("bob", HASHES["bob"], parse_grants(USERS["bob"])),),
        anonymous=parse_grants("none"),
        state_dir=tmp_path / "s",
    )
    client = Client(App(config))
    auth = {"Authorization": "Basic " + base64.b64encode(b"bob:bob-pw").decode()}
    assert client.put("/inbox/old.txt", headers=auth, body=b"new").status == 409
    asked = client.put("/inbox/old.txt?on-conflict=replace", headers=auth, body=b"new")
    assert asked.status == 403
    assert (root / "inbox" / "old.txt").read_bytes() == b"old"
    assert client.put("/inbox/fresh.txt", headers=auth, body=b"new").status == 201
    assert (root / "inbox" / "old.txt").read_bytes() == b"old"
    assert (root / "inbox" / "fresh.txt").read_bytes() == b"new"


def test_add_grant_may_fill_an_empty_file_as_davfs2_and_windows_create_them(
    tmp_path: Path,
) -> None:
    # davfs2 creates a file by LOCK (which makes it, empty), then PUT; Windows by an empty
    # PUT, then LOCK, then PUT with the content.
    root = tmp_path / "root"
    root.mkdir()
    make_tree(root)
    accounts = (Account("bob", HASHES["bob"], parse_grants(USERS["bob"])),)
    config = Config(root=root, accounts=accounts, state_dir=tmp_path / "s")
    client = Client(App(config))
    auth = {"Authorization": "Basic " + base64.b64encode(b"bob:bob-pw").decode()}
    locked = client.request("LOCK", "/inbox/via-lock.txt", headers=auth, body=LOCK)
    assert locked.status == 201
    token = locked.headers.get("Lock-Token", "")
    with_token = {**auth, "If": f"({token})"}
    assert client.put("/inbox/via-lock.txt", headers=with_token, body=b"filled").status == 204
    assert (root / "inbox" / "via-lock.txt").read_bytes() == b"filled"
    # Once it holds bytes, it is an existing file like any other: add may not replace it.
    assert client.put("/inbox/via-lock.txt", headers=with_token, body=b"again").status == 403
    assert (root / "inbox" / "via-lock.txt").read_bytes() == b"filled"
    assert client.put("/inbox/windows.txt", headers=auth, body=b"").status == 201
    second = client.request("LOCK", "/inbox/windows.txt", headers=auth, body=LOCK)
    assert second.status == 200
    token = second.headers.get("Lock-Token", "")
    filled = client.put("/inbox/windows.txt", headers={**auth, "If": f"({token})"}, body=b"w")
    assert filled.status == 204
    assert (root / "inbox" / "windows.txt").read_bytes() == b"w"
