"""davfs2 (Debian's WebDAV file system) mounting a real porch, where the machine allows it.

Mounting needs root and /dev/fuse; without them (or when the kernel refuses the mount) the
test is skipped with the reason — a capability of the machine, not a missing tool, so it
skips under PORCH_REQUIRE_TOOLS=1 too. davfs2 locks each file it writes (LOCK, PUT, UNLOCK),
so this exercises class 2 the way a desktop mount does. Directory listings are checked when
the kernel's FUSE lets davfs2 list (davfs2 1.6.1 gets EINVAL from readdir on some kernels,
against any server: rclone's own WebDAV server shows the same), and through PROPFIND anyway.
"""

from __future__ import annotations

import contextlib
import errno
import os
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

import pytest

from tests.helpers import require_tool, run_porch

CAPABILITY_ERRORS = ("fuse", "permission denied", "operation not permitted", "not supported")
"""What mount.davfs says when the machine, not porch, prevents the mount."""


def mount(url: str, point: Path, conf: Path) -> subprocess.CompletedProcess[str]:
    # Two empty answers: no user name, no password (the share is anonymous).
    return subprocess.run(
        ["mount.davfs", "-o", f"conf={conf}", url, str(point)],
        input="\n\n",
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )


def unmount(point: Path) -> None:
    result = subprocess.run(
        ["umount", str(point)], capture_output=True, text=True, timeout=60, check=False
    )
    if result.returncode != 0 and os.path.ismount(point):
        subprocess.run(["umount", "-l", str(point)], capture_output=True, timeout=30, check=False)


@pytest.mark.timeout(120)
def test_davfs2_mount_reads_and_writes(tmp_path: Path) -> None:
    if os.geteuid() != 0:
        pytest.skip("mounting davfs2 needs root on this machine")
    installed = shutil.which("mount.davfs") or shutil.which("mount.davfs", path="/usr/sbin:/sbin")
    require_tool(installed is not None, "davfs2 is not installed")
    if not os.path.exists("/dev/fuse"):
        pytest.skip("no /dev/fuse: this machine cannot mount FUSE file systems")
    root = tmp_path / "root"
    point = tmp_path / "mnt"
    for directory in (root, point):
        directory.mkdir()
    # davfs2 drops to its own user for the cache: it cannot reach into pytest's 0700 tmp.
    cache = Path(tempfile.mkdtemp(prefix="porch-davfs-"))
    cache.chmod(0o777)
    (root / "hello.txt").write_text("hello from porch\n")
    conf = tmp_path / "davfs2.conf"
    conf.write_text(f"cache_dir {cache}\ndelay_upload 0\nuse_locks 1\n")
    with run_porch(
        root, "--anonymous", "write", "--state-dir", str(tmp_path / "state"), tmp=tmp_path
    ) as server:
        mounted = mount(server.url + "/", point, conf)
        if mounted.returncode != 0:
            shutil.rmtree(cache, ignore_errors=True)
            reason = mounted.stderr.strip()
            if any(word in reason.lower() for word in CAPABILITY_ERRORS):
                pytest.skip(f"this machine refuses the davfs2 mount: {reason}")
            pytest.fail(f"davfs2 could not mount porch: {reason}")
        try:
            assert (point / "hello.txt").read_text() == "hello from porch\n"
            (point / "folder").mkdir()
            (point / "folder" / "written ü.txt").write_text("written through the mount\n")
            os.rename(point / "folder" / "written ü.txt", point / "folder" / "renamed.txt")
            (point / "gone.txt").write_text("short-lived\n")
            (point / "gone.txt").unlink()
            assert (point / "folder" / "renamed.txt").stat().st_size == 26
            try:
                names = sorted(n for n in os.listdir(point) if n != "lost+found")  # davfs2's own
                assert names == ["folder", "hello.txt"]
            except OSError as error:
                if error.errno != errno.EINVAL:  # the kernel/davfs2 readdir quirk above
                    raise
        finally:
            unmount(point)
            shutil.rmtree(cache, ignore_errors=True)
        deadline = time.monotonic() + 10
        while os.path.ismount(point) and time.monotonic() < deadline:
            time.sleep(0.1)
        log = server.log()
    assert (root / "folder" / "renamed.txt").read_text() == "written through the mount\n"
    assert not (root / "folder" / "written ü.txt").exists()
    assert not (root / "gone.txt").exists()
    assert '"LOCK /' in log
    assert '"UNLOCK /' in log
    with contextlib.suppress(OSError):
        point.rmdir()
