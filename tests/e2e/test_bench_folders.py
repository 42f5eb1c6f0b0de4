"""bench/folders.py as a smoke run (``--tiny``, a few seconds): it starts porch and prints its
rows. Benchmarks never run for figures in the suite; this only proves the script works."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

BENCH = Path(__file__).resolve().parents[2] / "bench" / "folders.py"


def test_tiny_run_prints_every_row() -> None:
    done = subprocess.run(
        [sys.executable, str(BENCH), "--tiny"], capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert lines[0].startswith("zip of the 20-entry folder: ")
    assert any(line.startswith("search on 200 files (cold): first result") for line in lines)
    assert any(line.startswith("search on 200 files (warm)") for line in lines)
    assert any(line.startswith("4 thumbnails (cold") for line in lines)
    assert any(line.startswith("4 thumbnails (warm") for line in lines)
