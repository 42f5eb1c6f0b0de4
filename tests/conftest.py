from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import ExitStack
from pathlib import Path

import pytest

from tests.helpers import PorchProcess, run_porch


@pytest.fixture
def site(tmp_path: Path) -> Path:
    """A small directory tree to serve."""
    root = tmp_path / "site"
    root.mkdir()
    (root / "hello.txt").write_text("hello, porch\n")
    (root / "data.bin").write_bytes(bytes(range(256)) * 1024)
    (root / "page.html").write_text("<!doctype html><title>t</title><p>page</p>\n")
    (root / "docs").mkdir()
    (root / "docs" / "index.html").write_text("<p>docs index</p>\n")
    (root / "docs" / "note.md").write_text("# note\n")
    (root / "empty").mkdir()
    (root / ".secret").write_text("hidden\n")
    return root


@pytest.fixture
def porch(tmp_path: Path) -> Iterator[Callable[..., PorchProcess]]:
    """Start porch processes: ``porch(root, "--flag", ...)``; all stopped at teardown."""
    with ExitStack() as stack:

        def start(root: Path, *args: str) -> PorchProcess:
            return stack.enter_context(run_porch(root, *args, tmp=tmp_path))

        yield start
