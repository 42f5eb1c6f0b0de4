"""The WebDAV and trash flags: parsing into Config, refusals (exit 2)."""

from __future__ import annotations

from pathlib import Path

import pytest

from porch import cli
from porch.config import DEFAULT_MAX_DAV_BODY, DEFAULT_MAX_LOCK_TIMEOUT, Config


def settings(*argv: str) -> Config:
    parser = cli.build_parser()
    return cli.config_from_args(parser.parse_args(list(argv)), parser)


def test_defaults(tmp_path: Path) -> None:
    config = settings(str(tmp_path))
    assert config.trash is None
    assert config.max_dav_body == DEFAULT_MAX_DAV_BODY
    assert config.max_lock_timeout == DEFAULT_MAX_LOCK_TIMEOUT


def test_flags(tmp_path: Path) -> None:
    root = tmp_path / "root"
    root.mkdir()
    config = settings(
        str(root),
        "--trash",
        str(tmp_path / "bin"),
        "--max-dav-body",
        "10",
        "--max-lock-timeout",
        "5",
    )
    assert config.trash == (tmp_path / "bin").resolve()
    assert (tmp_path / "bin").is_dir()
    assert (config.max_dav_body, config.max_lock_timeout) == (10, 5)
    hidden = settings(str(root), "--trash", str(root / ".trash"))
    assert hidden.trash == (root / ".trash").resolve()


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (("--trash", "{root}/bin"), "the trash would be served"),
        (("--trash", "{root}"), "the trash would be served"),
        (("--trash", "{root}/.trash", "--hidden"), "the trash would be served"),
        (("--trash", "{root}/sub/.trash"), "the trash would be served"),  # a DELETE could take it
        (("--max-dav-body", "0"), "max-dav-body"),
    ],
)
def test_refusals(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], extra: tuple[str, ...], message: str
) -> None:
    root = tmp_path / "root"
    root.mkdir()
    with pytest.raises(SystemExit) as exit_info:
        settings(str(root), *(e.format(root=root) for e in extra))
    assert exit_info.value.code == 2
    assert message in capsys.readouterr().err
