"""Folder features, porch only (issue 15; docs/folders.md): three rows.

Run from the repository root, on a quiet machine (the lead runs it for the figures):

    python3 bench/folders.py            # the rows below, ~1 min
    python3 bench/folders.py --tiny     # a smoke run of a second or two (the test suite's)

Rows:

* **zip of the 1,000-entry folder**: ``GET /zip-me/?zip`` of 1,000 files of 64 KiB (stored,
  sized), several times: seconds per archive, MiB/s, and the server's peak RSS above idle.
* **search on 100,000 files**: ``GET /?q=`` on 1,000 folders of 100 names, cold (a fresh
  server: the tree cache is empty) and warm (the same query again): time to the first result
  line and to the end of the answer.
* **100 thumbnails cold and warm**: ``GET /pics/N.jpg?thumb`` for 100 JPEGs of 1600 x 1200,
  cold (empty state directory) and warm (cached), 4 clients at once: seconds for all 100.

It starts ``python -m porch`` (this checkout's ``src``) on a free loopback port and talks to
it with http.client; everything lives in a temporary directory that is removed afterwards.
"""

from __future__ import annotations

import argparse
import concurrent.futures
import http.client
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

SRC = Path(__file__).resolve().parents[1] / "src"
MIB = 1024 * 1024


@dataclass(frozen=True)
class Sizes:
    zip_entries: int
    zip_entry_bytes: int
    zip_rounds: int
    search_dirs: int
    search_names: int
    pictures: int
    picture_size: tuple[int, int]


FULL = Sizes(1000, 64 * 1024, 5, 1000, 100, 100, (1600, 1200))
TINY = Sizes(20, 4096, 1, 20, 10, 4, (200, 150))


def make_tree(root: Path, sizes: Sizes) -> None:
    from PIL import Image

    zip_me = root / "zip-me"
    zip_me.mkdir()
    block = os.urandom(sizes.zip_entry_bytes)
    for number in range(sizes.zip_entries):
        (zip_me / f"file-{number:04d}.bin").write_bytes(block)
    tree = root / "tree"
    for folder in range(sizes.search_dirs):
        directory = tree / f"dir-{folder:04d}"
        directory.mkdir(parents=True)
        for name in range(sizes.search_names):
            (directory / f"file-{folder:04d}-{name:03d}.txt").touch()
    old = time.time() - 3600  # older than the cache's freshness window
    for directory in [tree, *tree.iterdir()]:
        os.utime(directory, (old, old))
    pics = root / "pics"
    pics.mkdir()
    image = Image.effect_noise(sizes.picture_size, 64).convert("RGB")
    for number in range(sizes.pictures):
        image.save(pics / f"{number:03d}.jpg", "JPEG", quality=85)


@contextmanager
def porch(root: Path, state: Path) -> Iterator[tuple[int, int]]:
    """(port, pid) of a porch serving ``root``; stopped on exit."""
    env = dict(os.environ, PYTHONPATH=str(SRC), PYTHONUNBUFFERED="1")
    command = [sys.executable, "-m", "porch", str(root), "--port", "0", "--quiet"]
    command += ["--state-dir", str(state), "--max-search-results", "1000000"]
    proc = subprocess.Popen(command, stdout=subprocess.PIPE, text=True, env=env)
    try:
        assert proc.stdout is not None
        banner = proc.stdout.readline()
        port = int(banner.rsplit(":", 1)[1].strip().strip("/"))
        yield port, proc.pid
    finally:
        proc.terminate()
        proc.wait(timeout=15)


def rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


def fetch(port: int, target: str) -> tuple[float, float, int]:
    """(seconds to the first body byte, seconds to the end, body bytes) for one GET."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
    started = time.perf_counter()
    connection.request("GET", target)
    response = connection.getresponse()
    first = response.read(1)
    first_at = time.perf_counter() - started
    size = len(first) + len(response.read())
    done = time.perf_counter() - started
    connection.close()
    if response.status != 200:
        raise RuntimeError(f"{target}: {response.status}")
    return first_at, done, size


def zip_row(port: int, pid: int, sizes: Sizes) -> str:
    idle = rss_kib(pid)
    peak = idle
    times = []
    total = 0
    for _ in range(sizes.zip_rounds):
        with concurrent.futures.ThreadPoolExecutor(1) as pool:
            job = pool.submit(fetch, port, "/zip-me/?zip")
            while not job.done():
                peak = max(peak, rss_kib(pid))
                time.sleep(0.02)
            _, seconds, total = job.result()
        times.append(seconds)
    best = min(times)
    return (
        f"zip of the {sizes.zip_entries}-entry folder: {best:.3f} s best of {len(times)} "
        f"({total / MIB / best:.0f} MiB/s, {total / MIB:.1f} MiB), "
        f"peak RSS +{(peak - idle) / 1024:.1f} MiB over idle"
    )


def search_rows(port: int, sizes: Sizes) -> list[str]:
    count = sizes.search_dirs * sizes.search_names
    rows = []
    for label in ("cold", "warm"):
        first, done, _ = fetch(port, "/tree/?q=file-")
        rows.append(
            f"search on {count:,} files ({label}): first result {first * 1000:.0f} ms, "
            f"all {count:,} results {done * 1000:.0f} ms"
        )
    _, done, _ = fetch(port, "/tree/?q=no-such-name")
    rows.append(f"search on {count:,} files, no match (warm): {done * 1000:.0f} ms")
    return rows


def thumbnail_rows(port: int, sizes: Sizes) -> list[str]:
    rows = []
    targets = [f"/pics/{n:03d}.jpg?thumb" for n in range(sizes.pictures)]
    for label in ("cold", "warm"):
        started = time.perf_counter()
        with concurrent.futures.ThreadPoolExecutor(4) as pool:
            list(pool.map(lambda target: fetch(port, target), targets))
        seconds = time.perf_counter() - started
        rows.append(
            f"{sizes.pictures} thumbnails ({label}, {sizes.picture_size[0]}x"
            f"{sizes.picture_size[1]} JPEG, 4 clients): {seconds:.2f} s "
            f"({seconds * 1000 / sizes.pictures:.1f} ms each)"
        )
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tiny", action="store_true", help="a smoke run of a second or two")
    args = parser.parse_args()
    sizes = TINY if args.tiny else FULL
    with tempfile.TemporaryDirectory(prefix="porch-bench-folders-") as temporary:
        base = Path(temporary)
        root = base / "root"
        root.mkdir()
        make_tree(root, sizes)
        with porch(root, base / "state") as (port, pid):
            rows = [zip_row(port, pid, sizes), *search_rows(port, sizes)]
            rows += thumbnail_rows(port, sizes)
    for row in rows:
        print(row)


if __name__ == "__main__":
    main()
