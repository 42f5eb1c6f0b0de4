"""The listing cache never serves a listing that misses an added or removed entry."""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from porch.app import App, listingcache
from porch.config import Config
from porch.testing import Client


@pytest.fixture(autouse=True)
def empty_cache() -> Iterator[None]:
    listingcache.LISTINGS.clear()
    yield
    listingcache.LISTINGS.clear()


def age(directory: Path, seconds: float = 10.0) -> None:
    """Make the directory's mtime old enough for its listing to be cached."""
    then = time.time() - seconds
    os.utime(directory, (then, then))


@pytest.fixture
def root(tmp_path: Path) -> Path:
    (tmp_path / "a.txt").write_text("a")
    age(tmp_path)
    return tmp_path.resolve()


def listing(client: Client, accept: str = "text/plain") -> str:
    response = client.get("/", headers={"Accept": accept})
    assert response.status == 200
    return response.body.decode()


def test_an_added_entry_is_listed_at_once(root: Path) -> None:
    client = Client(App(Config(root=root)))
    assert listing(client) == "a.txt\n"
    assert listing(client) == "a.txt\n"  # served from the cache
    (root / "b.txt").write_text("b")
    assert listing(client) == "a.txt\nb.txt\n"


def test_a_removed_entry_disappears_at_once(root: Path) -> None:
    (root / "b.txt").write_text("b")
    age(root)
    client = Client(App(Config(root=root)))
    assert listing(client, "application/json").count('"name"') == 2
    (root / "b.txt").unlink()
    assert listing(client, "application/json").count('"name"') == 1
    assert listing(client) == "a.txt\n"


def test_a_recently_changed_directory_is_not_cached(root: Path) -> None:
    """Within a second of a change mtime may not move again (coarse clocks): no caching."""
    (root / "b.txt").write_text("b")
    client = Client(App(Config(root=root)))
    listing(client)
    assert len(listingcache.LISTINGS._entries) == 0
    age(root)
    listing(client)
    assert len(listingcache.LISTINGS._entries) == 1


def test_each_format_and_order_is_its_own_entry(root: Path) -> None:
    (root / "b.txt").write_text("bb")
    age(root)
    client = Client(App(Config(root=root)))
    assert listing(client) == "a.txt\nb.txt\n"
    down = client.get("/?sort=name&order=desc", headers={"Accept": "text/plain"})
    assert down.body == b"b.txt\na.txt\n"
    assert "<html" in listing(client, "text/html").lower()


def test_sizes_are_stale_at_most_the_ttl(root: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    client = Client(App(Config(root=root)))
    assert '"size":1' in listing(client, "application/json")
    (root / "a.txt").write_text("longer")  # the directory's mtime does not change
    monkeypatch.setattr(listingcache, "TTL_SECONDS", 0.0)
    assert '"size":6' in listing(client, "application/json")
