"""Folder archives over real sockets, read by tools nobody here wrote: curl (download and
``-C -`` resume), unzip, Python's zipfile, bsdtar (libarchive) and 7z (p7zip); server memory
measured while a large sparse tree streams.

The 5 GiB run of issue 15 (10,000 files, one of them past 4 GiB: ZIP64 for a member and for
the archive) takes a minute or more and writes 5 GiB to a temporary directory, so it is out
of the default suite: ``PORCH_SLOW=1 .venv/bin/pytest tests/e2e/test_archives.py -k huge``.
A 120 MiB version of the same checks always runs.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import threading
import time
import zipfile
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.helpers import PorchProcess, require_tool

Start = Callable[..., PorchProcess]
TOOLS = ("unzip", "bsdtar", "7z")


def tools() -> None:
    for tool in TOOLS:
        require_tool(shutil.which(tool) is not None, f"{tool} is not installed")


def curl(*args: str, timeout: float = 600) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run(
        ["curl", "--silent", "--show-error", *args],
        capture_output=True,
        timeout=timeout,
        check=False,
    )


def sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while data := handle.read(1 << 20):
            digest.update(data)
    return digest.hexdigest()


def sparse(path: Path, size: int, mark: bytes) -> None:
    """A sparse file of ``size`` bytes with ``mark`` at its start and end, so a member that
    came out shifted or truncated does not compare equal."""
    with path.open("wb") as handle:
        handle.write(mark)
        handle.truncate(size)
        handle.seek(size - len(mark))
        handle.write(mark)


def make_tree(root: Path, files: int, file_size: int, big: int = 0) -> dict[str, str]:
    """``files`` sparse files in 100 folders (plus one of ``big`` bytes), and the hidden and
    escaping names that must stay out; returns archive name -> sha256 of what must be in."""
    expected: dict[str, str] = {}
    top = "root"  # what porch names ROOT's folder in its archives
    for number in range(files):
        folder = root / f"d{number % 100:02d}"
        folder.mkdir(exist_ok=True)
        path = folder / f"f{number:05d}.bin"
        sparse(path, file_size, f"<{number}>".encode())
        expected[f"{top}/{folder.name}/{path.name}"] = ""
    if big:
        sparse(root / "big.bin", big, b"<big>")
        expected[f"{top}/big.bin"] = ""
    (root / "ünïcode name.txt").write_text("names are UTF-8\n")
    expected[f"{top}/ünïcode name.txt"] = ""
    (root / ".hidden.txt").write_text("hidden\n")
    outside = root.parent / "outside.txt"
    outside.write_text("outside\n")
    (root / "escape").symlink_to(outside)
    return expected


def fill_hashes(root: Path, expected: dict[str, str]) -> None:
    for name in expected:
        expected[name] = sha256(root / name.removeprefix("root/"))


class PeakRSS:
    """Samples a process's resident set (``/proc/PID/status``) while a download runs."""

    def __init__(self, pid: int) -> None:
        self.pid = pid
        self.peak = 0
        self.start = self.sample()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def sample(self) -> int:
        for line in Path(f"/proc/{self.pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
        raise AssertionError("no VmRSS")

    def _run(self) -> None:
        while not self._stop.is_set():
            self.peak = max(self.peak, self.sample())
            time.sleep(0.05)

    def __enter__(self) -> PeakRSS:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()


def check_with_every_tool(
    archive: Path, expected: dict[str, str], work: Path, extract: bool
) -> None:
    """unzip -t, Python's zipfile, bsdtar and 7z all see exactly ``expected``; with
    ``extract``, bsdtar's and 7z's extractions are compared byte for byte."""
    tested = subprocess.run(["unzip", "-tq", str(archive)], capture_output=True, check=False)
    assert tested.returncode == 0, tested.stdout + tested.stderr
    with zipfile.ZipFile(archive) as opened:
        files = {i.filename for i in opened.infolist() if not i.is_dir()}
        assert files == set(expected)
        for name, digest in expected.items():
            with opened.open(name) as member:
                got = hashlib.sha256()
                while data := member.read(1 << 20):
                    got.update(data)
                assert got.hexdigest() == digest, name
    listed = subprocess.run(["bsdtar", "-tf", str(archive)], capture_output=True, check=True)
    bsdtar_files = {n for n in listed.stdout.decode().splitlines() if not n.endswith("/")}
    assert bsdtar_files == set(expected)
    seven = subprocess.run(["7z", "t", str(archive)], capture_output=True, check=False)
    assert seven.returncode == 0, seven.stdout[-2000:]
    assert b"Everything is Ok" in seven.stdout
    if not extract:
        return
    for tool, command in (
        ("bsdtar", ["bsdtar", "-xf", str(archive), "-C"]),
        ("7z", ["7z", "x", "-y", str(archive)]),
    ):
        target = work / f"by-{tool}"
        target.mkdir()
        if tool == "7z":
            subprocess.run([*command, f"-o{target}"], capture_output=True, check=True)
        else:
            subprocess.run([*command, str(target)], capture_output=True, check=True)
        for name, digest in expected.items():
            assert sha256(target / name) == digest, (tool, name)
        shutil.rmtree(target)


def download_and_check(
    porch: Start, tmp_path: Path, files: int, file_size: int, big: int, memory_limit: int
) -> None:
    tools()
    root = tmp_path / "tree"
    root.mkdir()
    expected = make_tree(root, files, file_size, big)
    fill_hashes(root, expected)
    server = porch(root, "--quiet")
    url = f"{server.url}/?zip"
    archive = tmp_path / "tree.zip"
    with PeakRSS(server.proc.pid) as rss:
        done = curl("--fail", "-o", str(archive), url)
    assert done.returncode == 0, done.stderr
    growth = rss.peak - rss.start
    print(f"server RSS {rss.start / 2**20:.0f} MiB at start, peak {rss.peak / 2**20:.0f} MiB")
    assert growth < memory_limit, f"server RSS grew by {growth / 2**20:.0f} MiB"
    length = archive.stat().st_size
    assert length > files * file_size + big
    check_with_every_tool(archive, expected, tmp_path, extract=big == 0)
    whole = sha256(archive)

    # Interrupted at an odd offset, then resumed by curl itself.
    partial = tmp_path / "partial.zip"
    with archive.open("rb") as source, partial.open("wb") as target:
        target.write(source.read(min(length // 3, 64 << 20) + 12345))
    archive.unlink()
    resumed = curl("--fail", "-C", "-", "-o", str(partial), url)
    assert resumed.returncode == 0, resumed.stderr
    assert sha256(partial) == whole


def test_zip_of_a_120_mib_tree(porch: Start, tmp_path: Path) -> None:
    """300 files (120 MiB, sparse): every tool agrees, resume works, memory stays flat."""
    download_and_check(
        porch, tmp_path, files=300, file_size=400 * 1024, big=0, memory_limit=60 << 20
    )


@pytest.mark.slow
@pytest.mark.timeout(1800)
@pytest.mark.skipif(os.environ.get("PORCH_SLOW") != "1", reason="slow: set PORCH_SLOW=1")
def test_zip_of_a_huge_tree(porch: Start, tmp_path: Path) -> None:
    """Issue 15's bar: 5 GiB, 10,000 files, one member past 4 GiB (ZIP64)."""
    download_and_check(
        porch,
        tmp_path,
        files=9999,
        file_size=64 * 1024,
        big=5 * 2**30 - 9999 * 64 * 1024,
        memory_limit=60 << 20,
    )


def test_tar_with_bsdtar_and_resume(porch: Start, tmp_path: Path) -> None:
    tools()
    root = tmp_path / "tree"
    root.mkdir()
    expected = make_tree(root, 50, 100_000)
    fill_hashes(root, expected)
    server = porch(root, "--quiet")
    archive = tmp_path / "tree.tar"
    assert curl("--fail", "-o", str(archive), f"{server.url}/?tar").returncode == 0
    target = tmp_path / "out"
    target.mkdir()
    subprocess.run(["bsdtar", "-xf", str(archive), "-C", str(target)], check=True)
    extracted = {str(p.relative_to(target)) for p in target.rglob("*") if p.is_file()}
    assert extracted == set(expected)
    for name, digest in expected.items():
        assert sha256(target / name) == digest
    whole = sha256(archive)
    with archive.open("r+b") as handle:
        handle.truncate(archive.stat().st_size // 2 + 7)
    assert curl("--fail", "-C", "-", "-o", str(archive), f"{server.url}/?tar").returncode == 0
    assert sha256(archive) == whole
