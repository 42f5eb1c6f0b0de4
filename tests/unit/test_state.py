"""The state directory: one per root, outside it, made on first use with mode 0700."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest

from porch.app.state import StateDir, StateDirError, default_state_dir


def test_default_is_under_xdg_state_home_and_differs_per_root(tmp_path: Path) -> None:
    env = {"XDG_STATE_HOME": str(tmp_path / "xdg")}
    one = default_state_dir(Path("/srv/share"), env)
    other = default_state_dir(Path("/srv/other/share"), env)
    assert one.parent == tmp_path / "xdg" / "porch"
    assert one.name.startswith("share-")
    assert one != other


def test_default_without_xdg_is_under_home_local_state(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HOME", "/home/ada")
    assert default_state_dir(Path("/srv/a b"), {}).parent == Path("/home/ada/.local/state/porch")
    assert " " not in default_state_dir(Path("/srv/a b"), {}).name


def test_inside_root_is_refused(tmp_path: Path) -> None:
    with pytest.raises(StateDirError, match="inside the served directory"):
        StateDir(tmp_path / "state", tmp_path)
    with pytest.raises(StateDirError):
        StateDir(tmp_path, tmp_path)


def test_sub_is_made_private_on_first_use(tmp_path: Path) -> None:
    root = tmp_path / "root"
    root.mkdir()
    state = StateDir(tmp_path / "state", root)
    dav = state.sub("dav")
    assert dav.is_dir()
    assert stat.S_IMODE(dav.stat().st_mode) == 0o700
    assert state.sub("dav") == dav
    with pytest.raises(ValueError, match="not a state subdirectory"):
        state.sub("../escape")
