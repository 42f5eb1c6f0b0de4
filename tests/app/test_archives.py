"""Folder archives through porch.testing: members, validators, ranges, limits, selections.

The tree is real (tmp_path): archives are streamed from worker threads, which a fake file
system would not follow.
"""

from __future__ import annotations

import base64
import io
import os
import tarfile
import zipfile
from pathlib import Path

import pytest

from porch.app import App
from porch.app.archives import ArchiveLimits, collect
from porch.config import Config
from porch.http import HTTPError
from porch.http.auth import Account, parse_grants
from porch.testing import Client
from tests.security_helpers import quick_hash


def build_tree(root: Path) -> None:
    (root / "sub" / "deep").mkdir(parents=True)
    (root / "empty").mkdir()
    (root / "a.txt").write_text("alpha\n")
    (root / "sub" / "b.bin").write_bytes(os.urandom(70_000))
    (root / "sub" / "deep" / "c.txt").write_text("gamma\n")
    (root / "naïve ü.txt").write_text("utf-8 name\n")
    (root / ".secret").write_text("hidden\n")
    (root / ".git").mkdir()
    (root / ".git" / "config").write_text("hidden dir\n")
    (root / "greet.html.j2").write_text("Hello {{ name }}")
    (root / "greet.html").write_text("shadowed by the template\n")
    (root / "inside-link").symlink_to("a.txt")
    (root / "dir-link").symlink_to("sub")
    (root / "cycle").mkdir()
    (root / "cycle" / "loop").symlink_to("..")  # back up to ROOT: a cycle
    (root / "hidden-link").symlink_to(".secret")
    outside = root.parent / f"{root.name}-outside"
    outside.mkdir()
    (outside / "loot.txt").write_text("outside\n")
    (root / "escape").symlink_to(outside / "loot.txt")
    (root / "escape-dir").symlink_to(outside)
    os.mkfifo(root / "fifo")


# Every name that a client could not fetch by its own URL, and why.
ABSENT = {
    ".secret": "hidden name",
    ".git/": "hidden directory",
    ".git/config": "inside a hidden directory",
    "greet.html.j2": "template source",
    "greet.html": "shadowed by a template (the URL renders the template)",
    "hidden-link": "symlink to a hidden name",
    "escape": "symlink out of ROOT",
    "escape-dir/": "symlink to a directory out of ROOT",
    "escape-dir/loot.txt": "file out of ROOT",
    "fifo": "not a regular file",
}
PRESENT = {
    "a.txt": b"alpha\n",
    "sub/deep/c.txt": b"gamma\n",
    "naïve ü.txt": b"utf-8 name\n",
    "inside-link": b"alpha\n",
}


@pytest.fixture(scope="module")
def tree(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("archives") / "site"
    root.mkdir()
    build_tree(root)
    return root


@pytest.fixture(scope="module")
def client(tree: Path) -> Client:
    return Client(App(Config(root=tree)))


def zip_of(body: bytes) -> zipfile.ZipFile:
    archive = zipfile.ZipFile(io.BytesIO(body))
    assert archive.testzip() is None
    return archive


def test_zip_holds_exactly_what_a_client_could_fetch(client: Client, tree: Path) -> None:
    response = client.get("/?zip")
    assert response.status == 200
    assert response.headers.get("content-type") == "application/zip"
    assert "root.zip" in (response.headers.get("content-disposition") or "")
    assert response.content_length == len(response.body)
    names = set(zip_of(response.body).namelist())
    for name, why in ABSENT.items():
        assert "root/" + name not in names, why
    for name, data in PRESENT.items():
        assert zip_of(response.body).read("root/" + name) == data
    assert zip_of(response.body).read("root/sub/b.bin") == (tree / "sub" / "b.bin").read_bytes()
    assert "root/empty/" in names
    # A link to a directory inside ROOT is followed, under the link's name, as its URL reads;
    # a link back up the tree is not (it would never end).
    assert zip_of(response.body).read("root/dir-link/deep/c.txt") == b"gamma\n"
    assert not any("/loop" in n for n in names)


def test_zip_names_are_flagged_utf8_and_keep_mtimes(client: Client, tree: Path) -> None:
    when = 1_600_000_000
    os.utime(tree / "sub" / "deep" / "c.txt", (when, when))
    archive = zip_of(client.get("/sub/?zip").body)
    info = archive.getinfo("sub/deep/c.txt")
    import time

    assert info.date_time == time.localtime(when)[:6]
    full = zip_of(client.get("/?zip").body)
    assert full.getinfo("root/naïve ü.txt").flag_bits & 0x800


def test_tar_and_tgz(client: Client, tree: Path) -> None:
    plain = client.get("/?tar")
    assert plain.status == 200
    assert plain.content_length == len(plain.body)
    with tarfile.open(fileobj=io.BytesIO(plain.body)) as archive:
        names = set(archive.getnames())
        extracted = archive.extractfile("root/sub/b.bin")
        assert extracted is not None
        assert extracted.read() == (tree / "sub" / "b.bin").read_bytes()
    assert "root/naïve ü.txt" in names
    assert not names & {"root/" + n.rstrip("/") for n in ABSENT}
    gzipped = client.get("/sub/?tgz")
    assert gzipped.headers.get("content-type") == "application/gzip"
    assert gzipped.content_length is None  # streamed, size unknown
    with tarfile.open(fileobj=io.BytesIO(gzipped.body), mode="r:gz") as archive:
        assert "sub/deep/c.txt" in archive.getnames()


def test_etag_range_if_range(client: Client, tree: Path) -> None:
    whole = client.get("/sub/?zip")
    etag = whole.headers.get("etag") or ""
    assert etag.startswith('"zip-')
    assert client.get("/sub/?zip").headers.get("etag") == etag  # same tree, same tag
    again = client.get("/sub/?zip", headers={"If-None-Match": etag})
    assert again.status == 304
    part = client.get("/sub/?zip", headers={"Range": "bytes=1000-", "If-Range": etag})
    assert part.status == 206
    assert part.body == whole.body[1000:]
    assert (
        part.headers.get("content-range") == f"bytes 1000-{len(whole.body) - 1}/{len(whole.body)}"
    )
    middle = client.get("/sub/?zip", headers={"Range": "bytes=10-19"})
    assert middle.body == whole.body[10:20]
    stale = client.get("/sub/?zip", headers={"Range": "bytes=1000-", "If-Range": '"zip-old"'})
    assert stale.status == 200
    assert stale.body == whole.body
    past = client.get("/sub/?zip", headers={"Range": f"bytes={len(whole.body)}-"})
    assert past.status == 416
    assert past.headers.get("content-range") == f"bytes */{len(whole.body)}"
    # The tag follows the members: a new file changes it.
    (tree / "sub" / "new.txt").write_text("new\n")
    try:
        assert client.get("/sub/?zip").headers.get("etag") != etag
    finally:
        (tree / "sub" / "new.txt").unlink()


def test_head_has_length_and_no_body(client: Client) -> None:
    whole = client.get("/sub/?zip")
    head = client.head("/sub/?zip")
    assert head.status == 200
    assert head.body == b""
    assert head.content_length == len(whole.body)


def test_selection_post(client: Client) -> None:
    form = {"Content-Type": "application/x-www-form-urlencoded"}
    response = client.post("/?zip", headers=form, body=b"entry=a.txt&entry=sub")
    assert response.status == 200
    names = set(zip_of(response.body).namelist())
    assert names == {
        "root/",
        "root/a.txt",
        "root/sub/",
        "root/sub/b.bin",
        "root/sub/deep/",
        "root/sub/deep/c.txt",
    }
    for name in (".secret", "escape", "greet.html.j2", "nothing-here", "../etc"):
        body = f"entry={name}".encode()
        refused = client.post("/?zip", headers=form, body=body)
        assert refused.status in (400, 404), name
    assert client.post("/?zip", headers=form, body=b"").status == 400
    assert client.post("/?zip", body=b"entry=a.txt").status == 415


@pytest.mark.parametrize(
    ("entries", "size", "status"),
    [
        # /sub/ holds: sub/, b.bin, deep/, deep/c.txt = 4 entries, 70,006 bytes.
        (4, 70_006, 200),
        (3, 70_006, 413),
        (4, 70_005, 413),
    ],
)
def test_limits_at_n_and_n_plus_one(tree: Path, entries: int, size: int, status: int) -> None:
    app = App(Config(root=tree, max_archive_entries=entries, max_archive_size=size))
    response = Client(app).get("/sub/?zip")
    assert response.status == status
    if status == 413:
        assert "archive would" in response.text


def test_no_archives(tree: Path) -> None:
    response = Client(App(Config(root=tree, archives=False))).get("/?zip")
    assert response.status == 404
    assert "turned off" in response.text


def test_denied_members_are_left_out(tree: Path) -> None:
    """``collect`` asks the client's grants about every member's own URL path."""
    members = collect(
        tree,
        str(tree),
        "/",
        "root",
        hidden=False,
        readable=lambda url: not url.startswith("/sub"),
        limits=ArchiveLimits(1000, 10**9),
    )
    names = {m.arcname for m in members}
    assert "root/a.txt" in names
    assert not any(n.startswith("root/sub") for n in names)


def test_access_rules_on_archives(tree: Path) -> None:
    accounts = (Account("ann", quick_hash("pw"), parse_grants("read@/sub")),)
    client = Client(App(Config(root=tree, accounts=accounts, anonymous=parse_grants("none"))))
    token = base64.b64encode(b"ann:pw").decode()
    auth = {"Authorization": f"Basic {token}"}
    assert client.get("/?zip").status == 401
    assert client.get("/?zip", headers=auth).status == 403
    form = {**auth, "Content-Type": "application/x-www-form-urlencoded"}
    assert client.post("/?zip", headers=form, body=b"entry=sub").status == 403
    allowed = client.get("/sub/?zip", headers=auth)
    assert allowed.status == 200
    assert "sub/deep/c.txt" in zip_of(allowed.body).namelist()
    # A selection is a read: a reader may post one where they may read.
    posted = client.post("/sub/?zip", headers=form, body=b"entry=deep")
    assert posted.status == 200


def test_collect_refuses_selection_of_missing_name(tree: Path) -> None:
    with pytest.raises(HTTPError) as caught:
        collect(
            tree,
            str(tree),
            "/",
            "root",
            hidden=False,
            readable=lambda url: True,
            limits=ArchiveLimits(1000, 10**9),
            selection=["missing"],
        )
    assert caught.value.status == 404


def test_zip_through_asgi_has_its_length(tree: Path) -> None:
    """porch.asgi frames a sized archive with content-length, like porch's own server."""
    import asyncio
    from typing import Any

    import porch.asgi

    scope: dict[str, Any] = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "GET",
        "scheme": "http",
        "path": "/sub/",
        "raw_path": b"/sub/",
        "root_path": "",
        "query_string": b"zip",
        "headers": [(b"host", b"localhost")],
        "client": ("127.0.0.1", 1234),
        "extensions": {},
    }
    sent: list[dict[str, Any]] = []
    requested: list[bool] = []

    async def receive() -> dict[str, Any]:
        if requested:  # like a real host: nothing more until the client leaves
            await asyncio.sleep(3600)
        requested.append(True)
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    asyncio.run(porch.asgi.app(tree)(scope, receive, send))
    headers = {k.decode(): v.decode() for k, v in sent[0]["headers"]}
    body = b"".join(m.get("body", b"") for m in sent[1:])
    assert sent[0]["status"] == 200
    assert headers["content-length"] == str(len(body))
    assert "sub/deep/c.txt" in zip_of(body).namelist()


@pytest.mark.parametrize("layout", ["zip", "tar"])
@pytest.mark.parametrize("swap", ["directory-for-link-out", "file-for-fifo"])
def test_member_swapped_after_planning_is_not_read(tmp_path: Path, layout: str, swap: str) -> None:
    """Planned, then the tree changes under the download: the stream stops with an error
    instead of reading outside ROOT or blocking on a FIFO."""
    from porch.app.archives import tar_stream, zip_stream

    root = tmp_path / "root"
    (root / "sub").mkdir(parents=True)
    (root / "sub" / "x.txt").write_text("inside\n")
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "x.txt").write_text("outside\n")
    members = collect(
        root, str(root), "/", "root", hidden=False, readable=lambda _: True,
        limits=ArchiveLimits(100, 10**6),
    )  # fmt: skip
    _, make = (zip_stream if layout == "zip" else tar_stream)(root, members)
    if swap == "directory-for-link-out":
        (root / "sub" / "x.txt").unlink()
        (root / "sub").rmdir()
        (root / "sub").symlink_to(outside)
    else:
        (root / "sub" / "x.txt").unlink()
        os.mkfifo(root / "sub" / "x.txt")
    with pytest.raises(HTTPError):
        b"".join(make())  # never returns the outside bytes: it raises first
