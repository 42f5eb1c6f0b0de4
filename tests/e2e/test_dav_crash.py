"""Killing porch (SIGKILL) in the middle of a COPY or MOVE loses nothing and half-writes nothing;
a full disk answers 507 and leaves nothing behind.

The server is killed the moment its staging entry appears (the copy is under way). Then the
source must be whole, the destination absent (never a partial file under its name), and a
restarted porch must serve the source, hide the leftover staging entry, and redo the
operation. A MOVE across file systems (a tmpfs mounted inside ROOT, where the machine allows
mounting) is the case where a move is a copy: the source is removed only after the copy is
fsynced and verified. The tests that mount need root; elsewhere they skip with that reason.
"""

from __future__ import annotations

import hashlib
import os
import signal
import subprocess
import time
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from pathlib import Path

import pytest
import requests

from tests.helpers import PorchProcess, run_porch

SIZE = 192 * 1024 * 1024


def make_big(path: Path) -> str:
    """A sparse file with random blocks at a few offsets; returns its SHA-256."""
    with path.open("wb") as file:
        file.truncate(SIZE)
        for offset in (0, SIZE // 3, SIZE - 65536):
            file.seek(offset)
            file.write(os.urandom(65536))
    return digest(path)


def digest(path: Path) -> str:
    sha = hashlib.sha256()
    with path.open("rb") as file:
        while block := file.read(1 << 20):
            sha.update(block)
    return sha.hexdigest()


def send_and_kill(server: PorchProcess, request: bytes, staging_dir: Path) -> None:
    """Send ``request``, wait until a staging entry appears in ``staging_dir``, SIGKILL."""
    sock = server.connect()
    try:
        sock.sendall(request)
        deadline = time.monotonic() + 20
        while not staged(staging_dir):
            assert time.monotonic() < deadline, "the operation never started staging"
            time.sleep(0.002)
        server.proc.send_signal(signal.SIGKILL)
        server.proc.wait(timeout=10)
    finally:
        sock.close()


def dav_request(method: str, path: str, destination: str) -> bytes:
    return (
        f"{method} {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nDestination: {destination}\r\n"
        "Content-Length: 0\r\n\r\n"
    ).encode()


def visible(root: Path) -> list[str]:
    return sorted(str(p.relative_to(root)) for p in root.rglob("*") if ".porch-" not in str(p))


def start(root: Path, tmp: Path) -> AbstractContextManager[PorchProcess]:
    return run_porch(root, "--anonymous", "write", "--state-dir", str(tmp / "state"), tmp=tmp)


def staged(directory: Path) -> bool:
    """True when a staging entry was left in ``directory`` (the kill came mid-operation)."""
    return any(name.startswith(".porch-upload-") for name in os.listdir(directory))


@pytest.mark.timeout(120)
def test_kill_mid_copy_leaves_source_whole_and_no_partial_destination(tmp_path: Path) -> None:
    root = tmp_path / "root"
    (root / "src").mkdir(parents=True)
    (root / "dst").mkdir()
    expected = make_big(root / "src" / "big.bin")
    (root / "src" / "small.txt").write_text("small\n")
    with start(root, tmp_path) as server:
        send_and_kill(server, dav_request("COPY", "/src", "/dst/copy"), root / "dst")
    assert staged(root / "dst")
    assert not (root / "dst" / "copy").exists()  # nothing under the destination's name
    assert digest(root / "src" / "big.bin") == expected
    assert visible(root) == ["dst", "src", "src/big.bin", "src/small.txt"]
    with start(root, tmp_path) as again:
        listing = requests.request(
            "PROPFIND", again.url + "/dst/", headers={"Depth": "1"}, timeout=10
        )
        assert listing.status_code == 207
        assert ".porch-" not in listing.text  # the leftover staging entry is never shown
        redo = requests.request(
            "COPY", again.url + "/src", headers={"Destination": "/dst/copy"}, timeout=60
        )
        assert redo.status_code == 201
    assert digest(root / "dst" / "copy" / "big.bin") == expected
    assert (root / "dst" / "copy" / "small.txt").read_text() == "small\n"


@contextmanager
def tmpfs(point: Path, size: str) -> Iterator[None]:
    """Mount a tmpfs at ``point``, or skip when the machine does not allow it."""
    point.mkdir()
    if os.geteuid() != 0:
        pytest.skip("mounting a tmpfs needs root on this machine")
    result = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(point)],
        capture_output=True,
        text=True,
        check=False,
    )
    if result.returncode != 0:
        pytest.skip(f"this machine does not allow mounting a tmpfs: {result.stderr.strip()}")
    try:
        yield
    finally:
        subprocess.run(["umount", "-l", str(point)], capture_output=True, check=False)


@pytest.mark.timeout(120)
def test_kill_mid_move_across_file_systems_loses_nothing(tmp_path: Path) -> None:
    root = tmp_path / "root"
    root.mkdir()
    expected = make_big(root / "big.bin")
    with tmpfs(root / "other", "700m"):
        with start(root, tmp_path) as server:
            send_and_kill(server, dav_request("MOVE", "/big.bin", "/other/big.bin"), root / "other")
        # Killed while copying: the source is whole and nothing has the destination's name.
        assert staged(root / "other")
        assert digest(root / "big.bin") == expected
        assert not (root / "other" / "big.bin").exists()
        with start(root, tmp_path) as again:
            redo = requests.request(
                "MOVE",
                again.url + "/big.bin",
                headers={"Destination": "/other/big.bin"},
                timeout=60,
            )
            assert redo.status_code == 201
        assert not (root / "big.bin").exists()
        assert digest(root / "other" / "big.bin") == expected


@pytest.mark.timeout(60)
def test_full_disk_is_507_and_leaves_nothing(tmp_path: Path) -> None:
    root = tmp_path / "root"
    root.mkdir()
    with tmpfs(root / "small", "1m"):
        (root / "small" / "keep.txt").write_text("kept\n")
        with start(root, tmp_path) as server:
            put = requests.put(server.url + "/small/big.bin", data=b"x" * (3 << 20), timeout=30)
            assert put.status_code == 507
            (root / "seed.bin").write_bytes(os.urandom(700_000))
            copy = requests.request(
                "COPY",
                server.url + "/seed.bin",
                headers={"Destination": "/small/seed.bin"},
                timeout=30,
            )
            copy_again = requests.request(
                "COPY",
                server.url + "/seed.bin",
                headers={"Destination": "/small/seed2.bin"},
                timeout=30,
            )
            assert (copy.status_code, copy_again.status_code) == (201, 507)
            assert requests.get(server.url + "/small/keep.txt", timeout=10).text == "kept\n"
        assert sorted(os.listdir(root / "small")) == ["keep.txt", "seed.bin"]
