"""Every in-memory cache is bounded by bytes as well as entries (issue 17)."""

from __future__ import annotations

import os
import time
from pathlib import Path

from porch.app.listingcache import ListingCache
from porch.app.paths import OPEN_CACHE_PATH_BYTES, OpenCache
from porch.app.sharepiece import fill_page, split_page
from porch.http.wire import framing


def old_directory(path: Path) -> str:
    then = time.time() - 60
    os.utime(path, (then, then))
    return str(path)


def test_listing_cache_total_bytes_at_n_and_n_plus_1(tmp_path: Path) -> None:
    directory = old_directory(tmp_path)
    cache = ListingCache(max_entries=100, max_body_bytes=100, max_total_bytes=300)
    signature = cache.signature(directory)
    for n in range(3):
        cache.put(directory, signature, (n,), (b"x" * 100,))
    assert len(cache) == 3  # N bytes: all kept
    assert cache.total_bytes == 300
    cache.get(directory, (0,))  # recently used: survives
    cache.put(directory, signature, (3,), (b"y",))  # N + 1 bytes: the oldest unused goes
    assert cache.total_bytes == 201
    assert cache.get(directory, (1,)) is None
    assert cache.get(directory, (0,)) is not None
    cache.put(directory, signature, (4,), (b"z" * 101,))  # over max_body_bytes: not kept
    assert cache.get(directory, (4,)) is None


def test_listing_cache_entries_are_bounded(tmp_path: Path) -> None:
    directory = old_directory(tmp_path)
    cache = ListingCache(max_entries=2, max_body_bytes=100, max_total_bytes=1000)
    signature = cache.signature(directory)
    for n in range(5):
        cache.put(directory, signature, (n,), (b"x",))
    assert len(cache) == 2


def test_the_share_url_is_not_part_of_the_cached_page() -> None:
    page = b"<a data-url='\x00porch:share\x00'>\x00porch:note\x00<p>local</p>\x00porch:/note\x00"
    pieces = split_page(page)
    assert all(b"example" not in piece for piece in pieces)
    assert fill_page(pieces, "http://a.example/", True) == (
        b"<a data-url='http://a.example/'><p>local</p>"
    )
    assert fill_page(pieces, "http://<b>/", False) == b"<a data-url='http://&lt;b&gt;/'>"


def test_open_cache_does_not_keep_long_paths(tmp_path: Path) -> None:
    file = tmp_path / "a.txt"
    file.write_text("a")
    info = os.stat(file)
    cache = OpenCache()
    cache.remember("/a.txt", str(file), info)
    cache.remember("/" + "x" * OPEN_CACHE_PATH_BYTES, str(file), info)
    assert len(cache) == 1


def test_header_lines_from_long_values_are_not_kept() -> None:
    framing._HEADER_LINES.clear()
    framing._header_line(("Location", "/" + "a" * 1000))
    framing._header_line(("Content-Type", "text/plain"))
    assert list(framing._HEADER_LINES) == [("Content-Type", "text/plain")]
