"""Validators and listings that mean the same on every node (issue 16, docs/deploy.md).

Two copies of one tree (``shutil.copytree`` keeps mtimes to the nanosecond, the inodes
differ) stand for two nodes: every validator and every listing must be the same on both, and
a validator one node gave must work on the other (304, If-Range). An edit must change it.
"""

from __future__ import annotations

import gzip
import os
import shutil
from pathlib import Path

import pytest

from porch.app import App
from porch.config import Config
from porch.testing import Client

TEXT = ("the same bytes on every node. " * 100).encode()
HTML = {"Accept": "text/html"}


@pytest.fixture
def nodes(tmp_path: Path) -> tuple[Path, Path]:
    # The same path on each node (the listing names the served folder), on different disks.
    first = tmp_path / "node-a" / "share"
    (first / "docs").mkdir(parents=True)
    (first / "docs" / "guide.txt").write_bytes(TEXT)
    (first / "data.bin").write_bytes(os.urandom(70_000))
    (first / "page.css").write_bytes(TEXT)
    (first / "page.css.gz").write_bytes(gzip.compress(TEXT, mtime=0))
    (first / "notes.md").write_text("# notes\n")
    second = tmp_path / "node-b" / "share"
    shutil.copytree(first, second)  # copy2: the same mtimes, new inodes
    return first, second


def clients(nodes: tuple[Path, Path], **settings: object) -> tuple[Client, Client]:
    first, second = nodes
    return (
        Client(App(Config(root=first, **settings))),  # type: ignore[arg-type]
        Client(App(Config(root=second, **settings))),  # type: ignore[arg-type]
    )


def test_the_copies_are_different_files(nodes: tuple[Path, Path]) -> None:
    first, second = nodes
    a, b = os.stat(first / "data.bin"), os.stat(second / "data.bin")
    assert a.st_ino != b.st_ino or a.st_dev != b.st_dev
    assert a.st_mtime_ns == b.st_mtime_ns


@pytest.mark.parametrize(
    ("path", "encoding"),
    [
        ("/data.bin", None),
        ("/docs/guide.txt", None),
        ("/docs/guide.txt", "gzip"),  # gzip made on the fly
        ("/page.css", "gzip"),  # the precompressed sibling
        ("/notes.md", None),
    ],
)
def test_same_validators_on_every_node(
    nodes: tuple[Path, Path], path: str, encoding: str | None
) -> None:
    a, b = clients(nodes)
    headers = {"Accept-Encoding": encoding} if encoding else {}
    first, second = a.get(path, headers=headers), b.get(path, headers=headers)
    assert first.status == second.status == 200
    assert first.headers.get("content-encoding") == encoding
    assert first.headers.get("etag") == second.headers.get("etag")
    assert first.headers.get("last-modified") == second.headers.get("last-modified")
    assert first.body == second.body


def test_a_tag_from_one_node_revalidates_on_another(nodes: tuple[Path, Path]) -> None:
    a, b = clients(nodes)
    etag = a.get("/data.bin").headers.get("etag") or ""
    again = b.get("/data.bin", headers={"If-None-Match": etag})
    assert again.status == 304
    zipped = a.get("/docs/guide.txt", headers={"Accept-Encoding": "gzip"}).headers.get("etag")
    assert zipped is not None
    assert zipped.startswith('W/"')  # on the fly: zlib may differ between nodes
    assert (
        b.get(
            "/docs/guide.txt", headers={"Accept-Encoding": "gzip", "If-None-Match": zipped}
        ).status
        == 304
    )


def test_a_download_resumes_on_another_node(nodes: tuple[Path, Path]) -> None:
    first, _ = nodes
    a, b = clients(nodes)
    etag = a.get("/data.bin").headers.get("etag") or ""
    rest = b.get("/data.bin", headers={"Range": "bytes=40000-", "If-Range": etag})
    assert rest.status == 206
    assert rest.body == (first / "data.bin").read_bytes()[40000:]


def test_an_edited_file_gets_a_new_tag(nodes: tuple[Path, Path]) -> None:
    first, second = nodes
    a, b = clients(nodes)
    before = a.get("/data.bin").headers.get("etag")
    path = first / "data.bin"
    stamp = path.stat().st_mtime_ns
    path.write_bytes(os.urandom(70_000))  # same length
    os.utime(path, ns=(stamp + 1_000_000, stamp + 1_000_000))  # a write one clock tick later
    edited = a.get("/data.bin")
    assert edited.headers.get("etag") != before
    # The other node still has the old version: its tag must not claim the new bytes.
    assert b.get("/data.bin").headers.get("etag") == before
    new_tag = edited.headers.get("etag") or ""
    resumed = b.get("/data.bin", headers={"Range": "bytes=10-", "If-Range": new_tag})
    assert resumed.status == 200  # a stale If-Range: the whole (other) file, never a splice
    assert resumed.body == (second / "data.bin").read_bytes()


@pytest.mark.parametrize("accept", ["text/plain", "application/json", "text/html"])
def test_listings_are_byte_identical_on_every_node(nodes: tuple[Path, Path], accept: str) -> None:
    # Bound to every interface and reached through a balancer whose Host is a loopback
    # address: the page's share URL must come from the Host, not from each node's own LAN
    # address (which would make every node's page differ).
    a, b = clients(nodes, host="0.0.0.0")
    headers = {"Accept": accept, "Host": "127.0.0.1:8080", "X-Forwarded-For": "192.0.2.7"}
    for path in ("/", "/docs/", "/?sort=modified&order=desc", "/?sort=size"):
        first, second = a.get(path, headers=headers), b.get(path, headers=headers)
        assert first.status == second.status == 200
        assert first.body == second.body
        assert first.headers.get("etag") == second.headers.get("etag")
    assert b"guide.txt" in a.get("/docs/", headers=headers).body


def test_the_share_url_comes_from_the_host_behind_a_proxy(
    nodes: tuple[Path, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("porch.app.qr.lan_addresses", lambda host: ["192.168.1.20"])
    a, _ = clients(nodes, host="0.0.0.0")
    direct = a.get("/", headers={**HTML, "Host": "127.0.0.1:8000"}).text
    assert '<code id="share-url">http://192.168.1.20:8000/</code>' in direct
    for field in ("X-Forwarded-For", "Forwarded", "Via"):
        proxied = a.get("/", headers={**HTML, "Host": "127.0.0.1:8000", field: "x"}).text
        assert '<code id="share-url">http://127.0.0.1:8000/</code>' in proxied
