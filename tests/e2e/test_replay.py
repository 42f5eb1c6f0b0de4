"""The replay cache's freshness rules through the real server (issue 12, porch.server.replay).

Each file is fetched until its response is kept and replayed (the metrics show the hits),
then changed on disk the way people change files; the very next request on the same
keep-alive connection, with the same bytes (the path that skips parsing too), must get what
a porch without the cache (``--response-cache-size 0``) answers, and what the change means.
"""

from __future__ import annotations

import os
import re
import socket
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.helpers import PorchProcess, RawResponse, ResponseReader, get, run_porch

SETTLE = 2.2  # porch.server.replay.SETTLED_NS: files changed more recently are not kept
CASES = ("edited", "renamed", "removed", "linked", "chmod", "templated", "sibling", "range")


class Client:
    """One keep-alive connection sending identical request bytes each time."""

    def __init__(self, server: PorchProcess) -> None:
        self.sock = socket.create_connection((server.host, server.port), timeout=5)
        self.reader = ResponseReader(self.sock)

    def get(self, path: str, extra: str = "") -> RawResponse:
        self.sock.sendall(get(path, extra=extra))
        return self.reader.read()


def replay_hits(server: PorchProcess) -> int:
    time.sleep(1.2)  # the server's counters reach the metrics once a second
    with socket.create_connection((server.host, server.port), timeout=5) as sock:
        sock.sendall(get("/-/metrics", extra="Connection: close\r\n"))
        text = ResponseReader(sock).read().body.decode()
    found = re.search(r'porch_cache_lookups_total\{cache="response",result="hit"\} (\d+)', text)
    assert found is not None, text[:2000]
    return int(float(found.group(1)))


def request_of(case: str) -> tuple[str, str]:
    if case == "templated":
        return "/templated.html", ""
    if case == "sibling":
        return "/sibling.css", "Accept-Encoding: gzip\r\n"
    if case == "range":
        return "/range.bin", "Range: bytes=10-19\r\n"
    return f"/{case}.txt", ""


@pytest.fixture(scope="module")
def servers(
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[tuple[Path, PorchProcess, PorchProcess]]:
    base = tmp_path_factory.mktemp("replay").resolve()
    root = base / "root"
    root.mkdir()
    (base / "outside.txt").write_bytes(b"OUTSIDE ROOT")
    for case in CASES:
        if case not in ("templated", "sibling", "range"):
            (root / f"{case}.txt").write_bytes(b"version one of " + case.encode())
    (root / "templated.html").write_text("<p>static page</p>")
    (root / "sibling.css").write_text("body { color: red }\n" * 10)  # too small to gzip
    (root / "range.bin").write_bytes(bytes(range(256)) * 4)
    time.sleep(SETTLE)
    with (
        run_porch(root, "--quiet", "--metrics", tmp=base) as cached,
        run_porch(root, "--quiet", "--response-cache-size", "0", tmp=base) as plain,
    ):
        yield root, cached, plain


def test_every_change_on_disk_is_seen_at_the_very_next_request(
    servers: tuple[Path, PorchProcess, PorchProcess],
) -> None:
    root, cached, plain = servers
    client = Client(cached)
    before: dict[str, RawResponse] = {}
    for case in CASES:
        path, extra = request_of(case)
        for _ in range(3):
            before[case] = client.get(path, extra)
        assert before[case].status in (200, 206), (case, before[case].status)
    assert replay_hits(cached) >= 2 * len(CASES)  # every case was answered from the cache

    (root / "edited.txt").open("r+b").write(b"VERSION")  # same size, in place
    (root / "renamed.tmp").write_bytes(b"version two, put in place by rename")
    os.replace(root / "renamed.tmp", root / "renamed.txt")
    (root / "removed.txt").unlink()
    (root / "linked.txt").unlink()
    (root / "linked.txt").symlink_to(root.parent / "outside.txt")
    (root / "chmod.txt").chmod(0)
    (root / "templated.html.j2").write_text("<p>rendered from {{ 'the template' }}</p>")
    (root / "sibling.css.gz").write_bytes(b"\x1f\x8b precompressed")
    with (root / "range.bin").open("r+b") as file:
        file.seek(10)
        file.write(b"0123456789")

    reference = Client(plain)
    after = {}
    for case in CASES:
        path, extra = request_of(case)
        after[case] = client.get(path, extra)
        expected = reference.get(path, extra)
        assert (after[case].status, after[case].body) == (expected.status, expected.body), case

    assert after["edited"].body == b"VERSION one of edited"
    assert after["renamed"].body == b"version two, put in place by rename"
    assert after["removed"].status == 404
    assert after["linked"].status == 404  # a symlink out of ROOT is never followed
    assert b"rendered from the template" in after["templated"].body
    assert after["sibling"].header("content-encoding") == "gzip"
    assert after["range"].status == 206
    assert after["range"].body == b"0123456789"
    assert after["edited"].header("etag") != before["edited"].header("etag")


def test_a_request_with_credentials_or_a_body_is_never_replayed(
    servers: tuple[Path, PorchProcess, PorchProcess],
) -> None:
    _, cached, _ = servers
    client = Client(cached)
    plain = client.get("/range.bin")
    private = client.get("/range.bin", "Authorization: Basic Ym9iOnNlY3JldA==\r\n")
    assert plain.header("cache-control") == "no-cache"
    assert private.header("cache-control") == "private, no-cache"


def test_the_cache_can_be_turned_off_and_bad_sizes_are_refused(tmp_path: Path) -> None:
    from porch.cli import build_parser

    parser = build_parser()
    assert parser.parse_args([str(tmp_path), "--response-cache-size", "0"]).response_cache_size == 0
    assert (
        parser.parse_args([str(tmp_path), "--response-cache-size", "1M"]).response_cache_size
        == 2**20
    )
    assert parser.parse_args([str(tmp_path)]).response_cache_size == 16 * 2**20
    with pytest.raises(SystemExit):
        parser.parse_args([str(tmp_path), "--response-cache-size", "lots"])


def test_a_replayed_answer_to_connection_close_says_so_and_closes(
    servers: tuple[Path, PorchProcess, PorchProcess],
) -> None:
    _, cached, _ = servers
    warm = Client(cached)
    for _ in range(3):
        warm.get("/range.bin")  # kept
    with socket.create_connection((cached.host, cached.port), timeout=5) as sock:
        sock.sendall(get("/range.bin", extra="Connection: close\r\n"))
        reader = ResponseReader(sock)
        response = reader.read()
        assert response.status == 200
        assert response.header("connection") == "close"
        assert len(response.body) == 1024
        assert reader.closed()


def test_a_kept_listing_follows_its_directory(tmp_path: Path) -> None:
    """Listings are kept too: an added or removed entry and a re-pointed symlinked folder
    show at the very next request, an entry's new size within the listing cache's second
    (porch.app.listingcache.TTL_SECONDS), and each format (by Accept) is its own answer."""
    root = tmp_path / "root"
    shelf, other, sizes = root / "shelf", root / "other", root / "sizes"
    for folder in (shelf, other, sizes):
        folder.mkdir(parents=True)
    (shelf / "a.txt").write_bytes(b"a")
    (other / "elsewhere.txt").write_bytes(b"x")
    (sizes / "s.txt").write_bytes(b"s")
    (root / "via").symlink_to(shelf)
    time.sleep(SETTLE)
    text, html = "Accept: text/plain\r\n", "Accept: text/html\r\n"
    json_listing = "Accept: application/json\r\n"
    with run_porch(root, "--quiet", "--metrics", tmp=tmp_path) as server:
        client = Client(server)
        # Kept on the second request and replayed on the third; the changes below come
        # within the second a kept listing lives.
        for _ in range(3):
            assert client.get("/shelf/", text).body == b"a.txt\n"
            assert client.get("/via/", text).body == b"a.txt\n"
            assert b"<html" in client.get("/shelf/", html).body.lower()
            assert b'"size":1' in client.get("/sizes/", json_listing).body

        (root / "via").unlink()
        (root / "via").symlink_to(other)
        assert client.get("/via/", text).body == b"elsewhere.txt\n"
        (shelf / "b.txt").write_bytes(b"b")
        assert client.get("/shelf/", text).body == b"a.txt\nb.txt\n"
        assert b"b.txt" in client.get("/shelf/", html).body
        (shelf / "a.txt").unlink()
        assert client.get("/shelf/", text).body == b"b.txt\n"
        (sizes / "s.txt").write_bytes(b"bigger")  # the directory's times do not move
        time.sleep(1.2)
        assert b'"size":6' in client.get("/sizes/", json_listing).body
        assert replay_hits(server) >= 4  # each listing was answered from the cache
