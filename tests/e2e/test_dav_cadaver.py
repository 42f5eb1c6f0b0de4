"""cadaver (Debian's command-line WebDAV client, on neon) scripted against a real porch.

The credentials come from a ``.netrc`` in a throwaway HOME, as a user would set them up.
Every command must report success, and the files on disk must hold the bytes sent.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.helpers import require_tool, run_porch
from tests.security_helpers import quick_hash

SCRIPT = """\
mkcol folder
put up.txt folder/ünï.txt
ls folder
copy folder/ünï.txt copy.txt
move copy.txt moved.txt
lock moved.txt
put up2.txt moved.txt
unlock moved.txt
propset moved.txt colour blue
propget moved.txt colour
get moved.txt down.txt
delete folder/ünï.txt
rmcol folder
ls
quit
"""


@pytest.mark.timeout(60)
def test_cadaver_script(tmp_path: Path) -> None:
    require_tool(shutil.which("cadaver") is not None, "cadaver is not installed")
    root = tmp_path / "root"
    home = tmp_path / "home"
    work = tmp_path / "work"
    for directory in (root, home, work):
        directory.mkdir()
    (work / "up.txt").write_bytes(b"first version\n")
    (work / "up2.txt").write_bytes(b"second version, sent while locked\n")
    (home / ".netrc").write_text("machine 127.0.0.1 login cad password pw\n")
    (home / ".netrc").chmod(0o600)
    with run_porch(
        root,
        "--auth",
        f"cad:{quick_hash('pw')}:write",
        "--state-dir",
        str(tmp_path / "state"),
        tmp=tmp_path,
    ) as server:
        result = subprocess.run(
            ["cadaver", server.url + "/"],
            input=SCRIPT,
            cwd=work,
            env={**os.environ, "HOME": str(home)},
            capture_output=True,
            text=True,
            timeout=50,
            check=False,
        )
    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    assert "failed" not in output, output
    assert output.count("succeeded") >= 11, output
    assert "ünï.txt" in output  # listed by `ls folder`
    assert "Value of colour is: blue" in output
    assert (work / "down.txt").read_bytes() == b"second version, sent while locked\n"
    assert (root / "moved.txt").read_bytes() == b"second version, sent while locked\n"
    assert sorted(p.name for p in root.iterdir()) == ["moved.txt"]
