"""Search, thumbnails, checksums and the archive flags over real sockets, with curl and
coreutils' sha256sum as the clients."""

from __future__ import annotations

import hashlib
import io
import subprocess
import time
from collections.abc import Callable
from pathlib import Path

import requests
from PIL import Image

from tests.helpers import PorchProcess, ResponseReader

Start = Callable[..., PorchProcess]


def curl(*args: str) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run(
        ["curl", "--silent", "--show-error", "--max-time", "60", *args],
        capture_output=True,
        check=False,
    )


def test_search_streams_chunked(site: Path, porch: Start) -> None:
    for number in range(50):
        (site / "docs" / f"report-{number:02d}.txt").write_text("r")
    server = porch(site, "--quiet")
    with server.connect() as sock:
        sock.sendall(b"GET /?q=report- HTTP/1.1\r\nHost: localhost\r\n\r\n")
        reader = ResponseReader(sock)
        response = reader.read()
    assert response.status == 200
    assert response.header("transfer-encoding") == "chunked"
    lines = response.body.decode().splitlines()
    assert lines == [f"/docs/report-{n:02d}.txt" for n in range(50)]
    as_json = requests.get(f"{server.url}/docs/?q=*.md", headers={"Accept": "application/json"})
    assert as_json.json()["results"][0]["path"] == "/docs/note.md"


def test_checksum_matches_sha256sum(site: Path, porch: Start, tmp_path: Path) -> None:
    server = porch(site, "--quiet")
    line = curl(f"{server.url}/data.bin?hash=sha256")
    assert line.returncode == 0
    download = tmp_path / "download"
    download.mkdir()
    assert curl("-o", str(download / "data.bin"), f"{server.url}/data.bin").returncode == 0
    (download / "SHA256SUMS").write_bytes(line.stdout)
    checked = subprocess.run(
        ["sha256sum", "-c", "SHA256SUMS"], cwd=download, capture_output=True, check=False
    )
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert checked.stdout == b"data.bin: OK\n"


def test_thumbnail_over_the_wire(site: Path, porch: Start, tmp_path: Path) -> None:
    Image.new("RGB", (1200, 900), (10, 200, 30)).save(site / "photo.jpg", "JPEG")
    server = porch(site, "--quiet", "--state-dir", str(tmp_path / "state"))
    response = requests.get(f"{server.url}/photo.jpg?thumb")
    assert response.status_code == 200
    assert response.headers["content-type"] == "image/webp"
    assert Image.open(io.BytesIO(response.content)).size == (320, 240)
    assert list((tmp_path / "state" / "thumbs").glob("*.webp"))
    again = requests.get(
        f"{server.url}/photo.jpg?thumb", headers={"If-None-Match": response.headers["etag"]}
    )
    assert again.status_code == 304


def test_archive_flags(site: Path, porch: Start) -> None:
    off = porch(site, "--quiet", "--no-archives")
    assert requests.get(f"{off.url}/?zip").status_code == 404
    # docs/ holds docs/, index.html and note.md: three entries.
    limited = porch(site, "--quiet", "--max-archive-entries", "3")
    assert requests.get(f"{limited.url}/docs/?zip").status_code == 200
    refused = requests.get(f"{limited.url}/?zip")
    assert refused.status_code == 413
    assert "more than 3 files and folders" in refused.text
    small = porch(site, "--quiet", "--max-archive-size", "1K")
    assert requests.get(f"{small.url}/?zip").status_code == 413
    head = requests.head(f"{limited.url}/docs/?zip")
    got = requests.get(f"{limited.url}/docs/?zip")
    assert head.headers["content-length"] == str(len(got.content))
    assert hashlib.sha256(got.content).hexdigest()  # a whole body arrived


def test_archive_streaming_leaves_the_loop_free(tmp_path: Path, porch: Start) -> None:
    """While a 2 GiB zip streams at full speed, a small file still answers at once."""
    root = tmp_path / "tree"
    root.mkdir()
    for number in range(8):
        with (root / f"big-{number}.bin").open("wb") as handle:
            handle.truncate(256 * 1024 * 1024)
    (root / "small.txt").write_text("small\n")
    server = porch(root, "--quiet")
    download = subprocess.Popen(
        ["curl", "--silent", "-o", "/dev/null", f"{server.url}/?zip"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        time.sleep(0.5)
        assert download.poll() is None, "the download should still be running"
        slowest = 0.0
        for _ in range(10):
            started = time.perf_counter()
            assert requests.get(f"{server.url}/small.txt", timeout=5).text == "small\n"
            slowest = max(slowest, time.perf_counter() - started)
        assert slowest < 0.5, f"a small GET took {slowest:.2f} s during the archive"
    finally:
        download.kill()
        download.wait()
