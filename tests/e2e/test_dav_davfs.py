"""davfs2 (Debian's WebDAV file system) mounting a real porch, where the machine allows it.

Mounting needs root and /dev/fuse; without them (or when the kernel refuses the mount) the
tests are skipped with the reason — a capability of the machine, not a missing tool, so they
skip under PORCH_REQUIRE_TOOLS=1 too. davfs2 locks each file it writes (LOCK, PUT, UNLOCK),
so this exercises class 2 the way a desktop mount does, and a drop box (an ``add`` grant)
the way a user meets it: new files appear, existing ones cannot be changed or removed.
Directory listings are checked when the kernel's FUSE lets davfs2 list (davfs2 1.6.1 gets
EINVAL from readdir on some kernels, against any server: rclone's own WebDAV server shows the
same), and through PROPFIND anyway.
"""

from __future__ import annotations

import contextlib
import errno
import os
import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.helpers import PorchProcess, require_tool, run_porch
from tests.security_helpers import quick_hash

CAPABILITY_ERRORS = ("fuse", "permission denied", "operation not permitted", "not supported")
"""What mount.davfs says when the machine, not porch, prevents the mount."""


def unmount(point: Path) -> None:
    result = subprocess.run(
        ["umount", str(point)], capture_output=True, text=True, timeout=60, check=False
    )
    if result.returncode != 0 and os.path.ismount(point):
        subprocess.run(["umount", "-l", str(point)], capture_output=True, timeout=30, check=False)
    deadline = time.monotonic() + 10
    while os.path.ismount(point) and time.monotonic() < deadline:
        time.sleep(0.1)


@contextlib.contextmanager
def mounted(
    server: PorchProcess, point: Path, tmp_path: Path, user: tuple[str, str] | None = None
) -> Iterator[None]:
    """Mount ``server`` at ``point`` with davfs2 (skip where the machine cannot)."""
    if os.geteuid() != 0:
        pytest.skip("mounting davfs2 needs root on this machine")
    installed = shutil.which("mount.davfs") or shutil.which("mount.davfs", path="/usr/sbin:/sbin")
    require_tool(installed is not None, "davfs2 is not installed")
    if not os.path.exists("/dev/fuse"):
        pytest.skip("no /dev/fuse: this machine cannot mount FUSE file systems")
    # davfs2 drops to its own user for the cache: it cannot reach into pytest's 0700 tmp.
    cache = Path(tempfile.mkdtemp(prefix="porch-davfs-"))
    cache.chmod(0o777)
    conf = tmp_path / "davfs2.conf"
    lines = [f"cache_dir {cache}", "delay_upload 0", "use_locks 1"]
    if user is not None:
        secrets = tmp_path / "davfs2.secrets"
        secrets.write_text(f"{server.url}/ {user[0]} {user[1]}\n")
        secrets.chmod(0o600)
        lines.append(f"secrets {secrets}")
    conf.write_text("\n".join(lines) + "\n")
    result = subprocess.run(
        ["mount.davfs", "-o", f"conf={conf}", server.url + "/", str(point)],
        input="\n\n",  # without secrets: no user name, no password (an anonymous share)
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    try:
        if result.returncode != 0:
            reason = result.stderr.strip()
            if any(word in reason.lower() for word in CAPABILITY_ERRORS):
                pytest.skip(f"this machine refuses the davfs2 mount: {reason}")
            pytest.fail(f"davfs2 could not mount porch: {reason}")
        try:
            yield
        finally:
            unmount(point)
    finally:
        shutil.rmtree(cache, ignore_errors=True)


@pytest.mark.timeout(120)
def test_davfs2_mount_reads_and_writes(tmp_path: Path) -> None:
    root = tmp_path / "root"
    point = tmp_path / "mnt"
    for directory in (root, point):
        directory.mkdir()
    (root / "hello.txt").write_text("hello from porch\n")
    with run_porch(
        root, "--anonymous", "write", "--state-dir", str(tmp_path / "state"), tmp=tmp_path
    ) as server:
        with mounted(server, point, tmp_path):
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
        log = server.log()
    assert (root / "folder" / "renamed.txt").read_text() == "written through the mount\n"
    assert not (root / "folder" / "written ü.txt").exists()
    assert not (root / "gone.txt").exists()
    assert '"LOCK /' in log
    assert '"UNLOCK /' in log


@pytest.mark.timeout(120)
def test_davfs2_drop_box_adds_but_changes_nothing(tmp_path: Path) -> None:
    root = tmp_path / "root"
    point = tmp_path / "mnt"
    (root / "inbox").mkdir(parents=True)
    point.mkdir()
    (root / "inbox" / "old.txt").write_text("old\n")
    account = f"bob:{quick_hash('bob-pw')}:read,add@/inbox"
    with run_porch(
        root, "--auth", account, "--state-dir", str(tmp_path / "state"), tmp=tmp_path
    ) as server:
        with mounted(server, point, tmp_path, ("bob", "bob-pw")):
            (point / "inbox" / "new.txt").write_text("dropped\n")  # LOCK, PUT, UNLOCK
            (point / "inbox" / "folder").mkdir()
            with pytest.raises(OSError, match="Errno"):  # davfs2 turns 403 into an errno
                (point / "inbox" / "old.txt").write_text("overwritten\n")
            with pytest.raises(OSError, match="Errno"):  # davfs2 turns 403 into an errno
                (point / "inbox" / "old.txt").unlink()
            with pytest.raises(OSError, match="Errno"):  # davfs2 turns 403 into an errno
                (point / "outside.txt").write_text("not in the drop box\n")
        log = server.log()
    assert (root / "inbox" / "new.txt").read_text() == "dropped\n"
    assert (root / "inbox" / "folder").is_dir()
    assert (root / "inbox" / "old.txt").read_text() == "old\n"
    assert not (root / "outside.txt").exists()
    assert '"LOCK /inbox/old.txt HTTP/1.1" 403' in log
    assert '"DELETE /inbox/old.txt HTTP/1.1" 403' in log
