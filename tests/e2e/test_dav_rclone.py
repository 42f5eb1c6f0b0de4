"""rclone (Debian's) with a webdav remote against a real porch: byte-identical round trips.

The remote is configured through rclone's environment variables (no config file), with Basic
authentication. The tree has unicode names, spaces, nested folders, an empty file and a 1 GiB
file — sparse, with random bytes at its start, middle and end so a misplaced byte shows —
and goes up (copy, sync), is listed (lsjson), renamed on the server (moveto: a WebDAV MOVE),
deleted (delete), and comes back down (sync), compared byte for byte each way.
"""

from __future__ import annotations

import filecmp
import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.helpers import require_tool, run_porch
from tests.security_helpers import quick_hash

GIB = 1024**3
MARKS = (0, GIB // 2 - 3, GIB - 4096)


def make_tree(local: Path) -> None:
    (local / "Ünïcødé 文件夹" / "deeper level").mkdir(parents=True)
    (local / "with spaces.txt").write_text("spaces in the name\n")
    (local / "Ünïcødé 文件夹" / "ñandú \u2013 “quoted”.md").write_text("# unicode\n")
    (local / "Ünïcødé 文件夹" / "deeper level" / "empty file").write_bytes(b"")
    (local / "Ünïcødé 文件夹" / "deeper level" / "%41 not an escape+plus&amp.txt").write_bytes(
        os.urandom(70_000)
    )
    big = local / "big file.bin"
    with big.open("wb") as file:
        file.truncate(GIB)
        for offset in MARKS:
            file.seek(offset)
            file.write(os.urandom(4096 if offset + 4096 <= GIB else GIB - offset))


def same_tree(left: Path, right: Path) -> None:
    """Assert ``left`` and ``right`` hold the same names and bytes (shallow=False reads all)."""
    names = sorted(str(p.relative_to(left)) for p in left.rglob("*"))
    assert names == sorted(str(p.relative_to(right)) for p in right.rglob("*"))
    for name in names:
        if (left / name).is_file():
            assert filecmp.cmp(left / name, right / name, shallow=False), name


@pytest.mark.timeout(300)
def test_rclone_round_trips(tmp_path: Path) -> None:
    require_tool(shutil.which("rclone") is not None, "rclone is not installed")
    root = tmp_path / "root"
    local = tmp_path / "local"
    back = tmp_path / "back"
    for directory in (root, local, back):
        directory.mkdir()
    make_tree(local)
    obscured = subprocess.run(
        ["rclone", "obscure", "pw"], capture_output=True, text=True, check=True
    ).stdout.strip()
    try:
        with run_porch(
            root,
            "--auth",
            f"sync:{quick_hash('pw')}:write",
            "--state-dir",
            str(tmp_path / "state"),
            tmp=tmp_path,
        ) as server:
            env = {
                **os.environ,
                "RCLONE_CONFIG": str(tmp_path / "rclone.conf"),
                "RCLONE_CONFIG_PORCH_TYPE": "webdav",
                "RCLONE_CONFIG_PORCH_URL": server.url + "/",
                "RCLONE_CONFIG_PORCH_VENDOR": "other",
                "RCLONE_CONFIG_PORCH_USER": "sync",
                "RCLONE_CONFIG_PORCH_PASS": obscured,
            }

            def rclone(*args: str) -> str:
                result = subprocess.run(
                    ["rclone", "--retries", "1", "--low-level-retries", "1", *args],
                    env=env,
                    capture_output=True,
                    text=True,
                    timeout=240,
                    check=False,
                )
                assert result.returncode == 0, result.stderr
                return result.stdout

            rclone("mkdir", "porch:tree")
            assert (root / "tree").is_dir()
            rclone("copy", str(local), "porch:tree")
            same_tree(local, root / "tree")

            listed = json.loads(rclone("lsjson", "-R", "porch:tree"))
            sizes = {entry["Path"]: entry["Size"] for entry in listed if not entry["IsDir"]}
            assert sizes["big file.bin"] == GIB
            assert sizes["Ünïcødé 文件夹/deeper level/empty file"] == 0
            assert {e["Path"] for e in listed if e["IsDir"]} == {
                "Ünïcødé 文件夹",
                "Ünïcødé 文件夹/deeper level",
            }

            rclone("sync", "porch:tree", str(back))  # down again
            same_tree(local, back)

            # Change the local side, sync up: the server follows (adds, deletes).
            (local / "with spaces.txt").unlink()
            (local / "new \u2013 file.txt").write_text("added later\n")
            rclone("sync", str(local), "porch:tree")
            same_tree(local, root / "tree")

            # moveto renames on the server (MOVE), delete removes files.
            rclone(
                "moveto", "porch:tree/new \u2013 file.txt", "porch:tree/Ünïcødé 文件夹/moved.txt"
            )
            assert not (root / "tree" / "new \u2013 file.txt").exists()
            assert (root / "tree" / "Ünïcødé 文件夹" / "moved.txt").read_text() == "added later\n"
            rclone("delete", "porch:tree/Ünïcødé 文件夹")
            assert not any(p.is_file() for p in (root / "tree" / "Ünïcødé 文件夹").rglob("*"))
            assert (root / "tree" / "big file.bin").stat().st_size == GIB
            assert list(root.rglob(".porch-*")) == []  # no staging file left behind
    finally:
        for directory in (root, local, back):
            shutil.rmtree(directory, ignore_errors=True)
