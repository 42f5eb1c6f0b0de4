"""The security flags: parsing into Config, refusals (exit 2), the clear-text warning."""

from __future__ import annotations

from pathlib import Path

import pytest

from porch import cli
from porch.config import Config
from porch.http.auth import Access, Grant
from tests.security_helpers import quick_hash


def settings(*argv: str) -> Config:
    parser = cli.build_parser()
    return cli.config_from_args(parser.parse_args(list(argv)), parser)


def refused(capsys: pytest.CaptureFixture[str], *argv: str) -> str:
    with pytest.raises(SystemExit) as exit_info:
        settings(*argv)
    assert exit_info.value.code == 2
    return capsys.readouterr().err


def test_defaults_without_users_leave_access_to_upload_dir(tmp_path: Path) -> None:
    config = settings(str(tmp_path))
    assert config.accounts == ()
    assert config.anonymous == (Grant(Access.WRITE),)
    assert config.cors is False


def test_with_users_anonymous_defaults_to_none(tmp_path: Path) -> None:
    config = settings(str(tmp_path), "--auth", f"a:{quick_hash('x')}:rw")
    assert [a.name for a in config.accounts] == ["a"]
    assert config.accounts[0].grants == (Grant(Access.WRITE),)
    assert config.anonymous == (Grant(Access.NONE),)
    opened = settings(str(tmp_path), "--auth", f"a:{quick_hash('x')}", "--anonymous", "read@/pub")
    assert opened.anonymous == (Grant(Access.READ, "/pub"),)


def test_auth_file_and_flags_combine(tmp_path: Path) -> None:
    root = tmp_path / "root"
    root.mkdir()
    users = tmp_path / "users"
    users.write_text(f"# comment\n\nb:{quick_hash('y')}:read@/b\n")
    config = settings(str(root), "--auth", f"a:{quick_hash('x')}", "--auth-file", str(users))
    assert [a.name for a in config.accounts] == ["a", "b"]


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (("--auth", "a:$argon2id$broken"), "not an Argon2 hash"),
        (("--auth", "a:secret"), "not a hash"),
        (("--auth", "nocolon"), "USER:HASH"),
        (("--anonymous", "sometimes"), "unknown access level"),
        (("--auth-file", "/nonexistent/users"), "no such file"),
    ],
)
def test_bad_flags(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], argv: tuple[str, ...], message: str
) -> None:
    assert message in refused(capsys, str(tmp_path), *argv)


def test_duplicate_user_is_refused(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    line = f"a:{quick_hash('x')}"
    assert "defined twice" in refused(capsys, str(tmp_path), "--auth", line, "--auth", line)


def test_auth_file_inside_root_is_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / ".users").write_text(f"a:{quick_hash('x')}\n")
    error = refused(capsys, str(tmp_path), "--auth-file", str(tmp_path / ".users"))
    assert "inside the served directory" in error


@pytest.mark.parametrize(
    ("host", "tls", "warned"),
    [
        ("127.0.0.1", False, False),
        ("::1", False, False),
        ("localhost", False, False),
        ("0.0.0.0", False, True),
        ("192.168.1.5", False, True),
        ("example.lan", False, True),
        ("0.0.0.0", True, False),
    ],
)
def test_clear_text_warning(tmp_path: Path, host: str, tls: bool, warned: bool) -> None:
    config = Config(
        root=tmp_path,
        host=host,
        accounts=settings(str(tmp_path), "--auth", f"a:{quick_hash('x')}").accounts,
        tls_cert=tmp_path / "c" if tls else None,
        tls_key=tmp_path / "k" if tls else None,
    )
    assert bool(cli.security_warnings(config)) == warned
    assert cli.security_warnings(Config(root=tmp_path, host=host)) == []  # no passwords
