"""litmus (the WebDAV server test suite, Debian's ``litmus``) against a real porch.

Every test of the basic, copymove, props, locks and http suites must pass, with no warnings,
against two worker processes (so locks and dead properties are shared through the state
directory's SQLite) and Basic authentication (litmus's neon answers the 401 challenge).
docs/webdav.md lists what each suite covers.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.helpers import require_tool, run_porch
from tests.security_helpers import quick_hash

SUITES = ("basic", "copymove", "props", "locks", "http")
SUMMARY = re.compile(r"<- summary for `(\w+)': of (\d+) tests run: (\d+) passed, (\d+) failed")


@pytest.mark.timeout(300)
def test_litmus_passes_every_test(tmp_path: Path) -> None:
    require_tool(shutil.which("litmus") is not None, "litmus is not installed")
    root = tmp_path / "root"
    root.mkdir()
    user = f"tester:{quick_hash('secret')}:write"
    with run_porch(
        root,
        "--auth",
        user,
        "--workers",
        "2",
        "--state-dir",
        str(tmp_path / "state"),
        "--trash",
        str(tmp_path / "trash"),
        tmp=tmp_path,
    ) as server:
        env = {**os.environ, "TESTS": " ".join(SUITES)}
        result = subprocess.run(
            ["litmus", server.url + "/", "tester", "secret"],
            cwd=tmp_path,
            env=env,
            capture_output=True,
            text=True,
            timeout=240,
            check=False,
        )
    output = result.stdout + result.stderr
    summaries = {m[0]: (int(m[1]), int(m[2]), int(m[3])) for m in SUMMARY.findall(output)}
    assert set(summaries) == set(SUITES), output
    for suite, (run, passed, failed) in summaries.items():
        assert (passed, failed) == (run, 0), f"{suite}:\n{output}"
    assert sum(run for run, _, _ in summaries.values()) == 104
    assert "WARNING" not in output, output
    assert result.returncode == 0, output
    # What litmus deleted and overwrote went to the trash, not away.
    assert any((tmp_path / "trash").iterdir())
