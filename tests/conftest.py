from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from pathlib import Path

import pytest

from tests.helpers import PorchProcess, run_porch


@pytest.fixture(autouse=True, scope="session")
def _private_state_home(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """Every porch the suite starts keeps its state directory under a temporary
    XDG_STATE_HOME, never in the real home (porch.app.state)."""
    previous = os.environ.get("XDG_STATE_HOME")
    os.environ["XDG_STATE_HOME"] = str(tmp_path_factory.mktemp("xdg-state"))
    yield
    if previous is None:
        del os.environ["XDG_STATE_HOME"]
    else:
        os.environ["XDG_STATE_HOME"] = previous


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
