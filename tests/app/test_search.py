"""``?q=`` search through porch.testing: matching, visibility, formats, limits, the cache."""

from __future__ import annotations

import base64
import json
import os
import time
from pathlib import Path

import pytest

from porch.app import App
from porch.app.search import TreeCache, matcher, walk
from porch.config import Config
from porch.http.auth import Account, parse_grants
from porch.testing import Client
from tests.security_helpers import quick_hash

HTML = {"Accept": "text/html"}
JSON = {"Accept": "application/json"}


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    root = tmp_path / "site"
    (root / "photos" / "2024").mkdir(parents=True)
    (root / "docs").mkdir()
    (root / "photos" / "2024" / "Beach.JPG").write_bytes(b"jpg")
    (root / "photos" / "sunset.jpg").write_bytes(b"jpg")
    (root / "docs" / "beach-report.txt").write_text("report")
    (root / "docs" / "<script>beach.txt").write_text("x")
    (root / ".beach-hidden.jpg").write_text("hidden")
    (root / ".private").mkdir()
    (root / ".private" / "beach.jpg").write_text("hidden dir")
    (root / "beach.html.j2").write_text("{{ 1 }}")
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "beach-loot.txt").write_text("outside")
    (root / "beach-escape").symlink_to(outside / "beach-loot.txt")
    (root / "beach-link.txt").symlink_to("docs/beach-report.txt")
    (root / "beach-dirlink").symlink_to("photos")
    return root


def lines(client: Client, target: str) -> list[str]:
    response = client.get(target)
    assert response.status == 200
    assert response.headers.get("content-type") == "text/plain; charset=utf-8"
    return response.text.splitlines()


def test_substring_is_case_insensitive_and_visibility_matches_listings(tree: Path) -> None:
    (tree / "photos" / "2024" / "up").symlink_to("../..")  # a cycle: not followed
    found = lines(Client(App(Config(root=tree))), "/?q=BEACH")
    assert found == [
        "/beach-dirlink/",  # a link to a folder inside ROOT: listed and searched
        "/beach-link.txt",
        "/beach.html",  # a template, under its URL
        "/beach-dirlink/2024/Beach.JPG",
        "/docs/<script>beach.txt",
        "/docs/beach-report.txt",
        "/photos/2024/Beach.JPG",
    ]


def test_glob_matches_whole_names(tree: Path) -> None:
    client = Client(App(Config(root=tree)))
    # A folder's own names come before those of its subfolders.
    assert lines(client, "/photos/?q=*.jpg") == ["/photos/sunset.jpg", "/photos/2024/Beach.JPG"]
    assert lines(client, "/?q=*.jpg") == [
        "/beach-dirlink/sunset.jpg",
        "/beach-dirlink/2024/Beach.JPG",
        "/photos/sunset.jpg",
        "/photos/2024/Beach.JPG",
    ]
    assert lines(client, "/photos/?q=sun*") == ["/photos/sunset.jpg"]
    assert lines(client, "/photos/?q=s?nset.[jp]pg") == ["/photos/sunset.jpg"]
    assert lines(client, "/photos/?q=2024") == ["/photos/2024/"]


def test_hidden_names_with_hidden_on(tree: Path) -> None:
    found = lines(Client(App(Config(root=tree, hidden=True))), "/?q=beach")
    assert "/.beach-hidden.jpg" in found
    assert "/.private/beach.jpg" in found
    assert "/beach-escape" not in found


def test_json_and_html(tree: Path) -> None:
    client = Client(App(Config(root=tree)))
    data = client.get("/docs/?q=beach", headers=JSON).json()
    assert isinstance(data, dict)
    assert data["query"] == "beach"
    assert data["count"] == 2
    assert data["cut"] is None
    assert {r["path"] for r in data["results"]} == {
        "/docs/<script>beach.txt",
        "/docs/beach-report.txt",
    }
    assert {r["size"] for r in data["results"]} == {1, 6}
    page = client.get("/docs/?q=beach", headers=HTML)
    assert page.headers.get("content-security-policy")
    assert "<script>beach" not in page.text
    assert "&lt;script&gt;beach.txt" in page.text
    assert 'href="/docs/%3Cscript%3Ebeach.txt"' in page.text
    assert "2 found" in page.text


@pytest.mark.parametrize(("limit", "cut"), [(7, False), (6, True)])
def test_result_limit_at_n_and_n_plus_one(tree: Path, limit: int, cut: bool) -> None:
    client = Client(App(Config(root=tree, max_search_results=limit)))
    found = lines(client, "/?q=beach")
    results = [line for line in found if line.startswith("/")]
    assert len(results) == min(limit, 7)
    assert (found[-1] == f"search stopped after {limit} results: more names may match") is cut
    data = client.get("/?q=beach", headers=JSON).json()
    assert isinstance(data, dict)
    assert (data["cut"] is not None) is cut


def test_time_limit_cuts_with_a_note(tmp_path: Path) -> None:
    for number in range(300):
        folder = tmp_path / f"d{number}"
        folder.mkdir()
        (folder / "x.txt").write_text("x")
    client = Client(App(Config(root=tmp_path, search_seconds=0.000001)))
    data = client.get("/?q=x.txt", headers=JSON).json()
    assert isinstance(data, dict)
    assert data["cut"] == "stopped after 1e-06 seconds"
    assert data["count"] < 300


def test_access_rules_apply_to_every_result(tree: Path) -> None:
    accounts = (Account("ann", quick_hash("pw"), parse_grants("read@/docs")),)
    config = Config(root=tree, accounts=accounts, anonymous=parse_grants("none"))
    client = Client(App(config))
    auth = {"Authorization": "Basic " + base64.b64encode(b"ann:pw").decode()}
    assert client.get("/?q=beach", headers=auth).status == 403
    assert client.get("/?q=beach").status == 401
    found = client.get("/docs/?q=beach", headers=auth).text.splitlines()
    assert found == ["/docs/<script>beach.txt", "/docs/beach-report.txt"]
    # The walk asks about each result's own path.
    cache = TreeCache(tree, hidden=False)
    urls = [f.url for f in walk(cache, str(tree), "/", "beach", lambda u: u.startswith("/docs"))]
    assert urls == ["/docs/<script>beach.txt", "/docs/beach-report.txt"]


def test_empty_or_long_query(tree: Path) -> None:
    client = Client(App(Config(root=tree)))
    assert client.get("/?q=").text == client.get("/").text  # the listing
    assert client.get("/?q=" + "a" * 257).status == 400


def test_cache_sees_added_and_removed_names(tree: Path) -> None:
    cache = TreeCache(tree, hidden=False)
    docs = tree / "docs"
    old = time.time() - 3600
    os.utime(docs, (old, old))

    def found() -> list[str]:
        return [f.url for f in walk(cache, str(tree), "/", "report", lambda _: True)]

    assert found() == ["/docs/beach-report.txt"]
    assert len(cache) > 0
    (docs / "new-report.txt").write_text("new")
    os.utime(docs, (old + 1, old + 1))
    assert found() == ["/docs/beach-report.txt", "/docs/new-report.txt"]
    (docs / "beach-report.txt").unlink()
    os.utime(docs, (old + 2, old + 2))
    assert found() == ["/docs/new-report.txt"]


def test_matcher_literal_prefilter() -> None:
    test, literal = matcher("*.JPG")
    assert literal == ".jpg"
    assert test("a.jpg")
    assert not test("a.jpg.txt")
    test, literal = matcher("[ab]*")
    assert literal == ""
    assert test("apple")
    assert json.dumps(literal) == '""'
