"""``porch --config FILE``: TOML settings under the command line."""

from __future__ import annotations

from pathlib import Path

import pytest

from porch.cli import build_parser, config_from_args, parse_arguments
from porch.config import Config


def load(argv: list[str]) -> Config:
    parser = build_parser()
    return config_from_args(parse_arguments(parser, argv), parser)


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "porch.toml"
    path.write_text(text)
    return path


def test_file_sets_options_and_relative_root_is_beside_the_file(tmp_path: Path) -> None:
    (tmp_path / "public").mkdir()
    config = write(
        tmp_path,
        'root = "public"\nport = 9001\nhidden = true\nheader-timeout = 2.5\nmax_headers = 50\n',
    )
    settings = load(["--config", str(config)])
    assert settings.root == (tmp_path / "public").resolve()
    assert settings.port == 9001
    assert settings.hidden is True
    assert settings.header_timeout == 2.5
    assert settings.max_headers == 50


def test_flags_override_the_file(tmp_path: Path) -> None:
    (tmp_path / "site").mkdir()
    config = write(tmp_path, f'root = "{tmp_path}/site"\nport = 9001\nloop = "asyncio"\n')
    settings = load(["--config", str(config), "--port", "9002"])
    assert settings.port == 9002
    assert settings.loop == "asyncio"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("colour = 'blue'\n", "unknown key 'colour'"),
        ("hidden = 'yes'\n", "hidden must be true or false"),
        ("port = 'eighty'\n", "port"),
        ("max-headers = 0\n", "must be above zero"),
        ("loop = 'tokio'\n", "loop must be one of"),
        ("port = [1, 2]\n", "port must be a string or a number"),
        ("this is not toml\n", "not valid TOML"),
    ],
)
def test_bad_files_stop_porch_at_start_naming_the_problem(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], text: str, message: str
) -> None:
    config = write(tmp_path, text)
    with pytest.raises(SystemExit) as stopped:
        load(["--config", str(config), str(tmp_path)])
    assert stopped.value.code == 2
    assert message in capsys.readouterr().err


def test_missing_file_is_an_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as stopped:
        load(["--config", str(tmp_path / "nope.toml")])
    assert stopped.value.code == 2
    assert "cannot read config file" in capsys.readouterr().err
