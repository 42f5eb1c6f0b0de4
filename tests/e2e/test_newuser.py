"""Issue 19 over real sockets: what a new user trips over in the first ten minutes."""

from __future__ import annotations

import base64
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.helpers import PorchProcess, ResponseReader, exchange, get, porch_env, run_cli
from tests.security_helpers import quick_hash


def basic(user: str, password: str) -> str:
    token = base64.b64encode(f"{user}:{password}".encode()).decode()
    return f"Authorization: Basic {token}\r\n"


def log_lines(server: PorchProcess, marker: str, count: int = 1) -> list[str]:
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        lines = [line for line in server.log().splitlines() if marker in line]
        if len(lines) >= count:
            return lines
        time.sleep(0.05)
    raise AssertionError(f"no access log line with {marker!r}:\n{server.log()}")


def test_access_log_names_the_authenticated_user(
    site: Path, porch: Callable[..., PorchProcess]
) -> None:
    account = f"bob:{quick_hash('pw')}:read"
    server = porch(site, "--auth", account, "--anonymous", "read")
    assert exchange(server, get("/hello.txt", extra=basic("bob", "pw"))).status == 200
    assert exchange(server, get("/page.html")).status == 200
    assert log_lines(server, '"GET /hello.txt ')[0].startswith("127.0.0.1 - bob [")
    assert log_lines(server, '"GET /page.html ')[0].startswith("127.0.0.1 - - [")


# -- files that configure the server are never served --------------------------------------


def test_a_config_file_inside_root_stops_porch(tmp_path: Path) -> None:
    (tmp_path / "porch.toml").write_text('root = "."\n')
    done = run_cli("--config", str(tmp_path / "porch.toml"), "--port", "0")
    assert done.returncode == 2
    assert "porch.toml is inside the served directory" in done.stderr.splitlines()[0]


def test_a_routes_module_inside_root_stops_porch(tmp_path: Path) -> None:
    (tmp_path / "myroutes.py").write_text("SECRET = 1\ndef register(app):\n    pass\n")
    done = run_cli(str(tmp_path), "--routes", str(tmp_path / "myroutes.py"), "--port", "0")
    assert done.returncode == 2
    assert "is inside the served directory" in done.stderr


def test_paths_in_a_config_file_are_relative_to_the_file(
    tmp_path: Path, porch: Callable[..., PorchProcess]
) -> None:
    project = tmp_path / "project"
    (project / "share").mkdir(parents=True)
    (project / "share" / "a.txt").write_text("a\n")
    (project / "myroutes.py").write_text(
        "def register(app):\n"
        "    @app.route('/ping')\n"
        "    def ping(request):\n"
        "        return {'pong': True}\n"
    )
    (project / "porch.toml").write_text('root = "share"\nroutes = ["myroutes"]\n')
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    server = porch(elsewhere, "--config", str(project / "porch.toml"))
    # The command-line ROOT (elsewhere) overrides the file's; the routes still load from
    # beside the file although porch runs with another current directory.
    response = exchange(server, get("/ping"))
    assert response.status == 200
    assert b'"pong":true' in response.body


def test_the_docs_route_example_runs_as_printed(
    tmp_path: Path, porch: Callable[..., PorchProcess]
) -> None:
    text = (Path(__file__).resolve().parents[2] / "docs" / "pages.md").read_text()
    block = next(b for b in text.split("```python\n")[1:] if "/api/notes" in b)
    (tmp_path / "myroutes.py").write_text(block.split("```", 1)[0])
    site = tmp_path / "site"
    site.mkdir()
    server = porch(site, "--routes", str(tmp_path / "myroutes.py"))
    posted = exchange(
        server,
        b"POST /api/notes HTTP/1.1\r\nHost: localhost\r\nContent-Length: 8\r\n\r\nbuy milk",
        "POST",
    )
    assert posted.status == 200, posted.body
    assert posted.body == b'{"notes":["buy milk"]}'
    assert exchange(server, get("/api/notes")).body == b'{"notes":["buy milk"]}'


# -- the command line ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("typed", "suggested"),
    [("--prot", "--port"), ("--upload", "--upload-dir"), ("--hiden", "--hidden")],
)
def test_a_mistyped_option_gets_one_line_and_a_suggestion(
    tmp_path: Path, typed: str, suggested: str
) -> None:
    done = run_cli(str(tmp_path), typed, "8000")
    assert done.returncode == 2
    lines = done.stderr.splitlines()
    assert lines[0] == f"porch: error: unrecognized arguments: {typed} 8000"
    assert lines[1] == f"{typed}: did you mean {suggested}?"
    assert "usage:" not in done.stderr  # no 20-line usage before the one line that matters


def test_help_is_grouped_with_clean_defaults() -> None:
    text = run_cli("--help").stdout
    headings = [line for line in text.splitlines() if line and not line.startswith(" ")]
    assert [h.split(" ")[0].rstrip(":") for h in headings[2:8]] == [
        "options",
        "serving",
        "uploads",
        "sharing",
        "security",
        "limits",
    ]
    assert "porch hash-password" in text.split("\n\n")[0]  # in the usage
    for noise in ("(default: False)", "(default: [])", "(default: None)", "(default: True)"):
        assert noise not in text
    assert "-p, --port PORT" in text
    assert "-b, --bind, --host ADDRESS" in text


def test_short_flags_as_http_server_spells_them(tmp_path: Path) -> None:
    (tmp_path / "a.txt").write_text("a")
    proc = subprocess.Popen(
        [sys.executable, "-m", "porch", "-d", str(tmp_path), "-b", "127.0.0.1", "-p", "0", "-q"],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
        env=porch_env(),
    )
    try:
        assert proc.stdout is not None
        banner = proc.stdout.readline()
        assert banner.startswith(f"porch serving {tmp_path.resolve()} at http://127.0.0.1:")
        port = int(banner.rsplit(":", 1)[1].strip("/\n"))
        with socket.create_connection(("127.0.0.1", port), timeout=5) as sock:
            sock.sendall(get("/a.txt"))
            assert ResponseReader(sock).read().body == b"a"
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def test_root_and_directory_together_is_an_error(tmp_path: Path) -> None:
    done = run_cli(str(tmp_path), "-d", str(tmp_path), "-p", "0")
    assert done.returncode == 2
    assert "give the directory once" in done.stderr


def test_a_hash_eaten_by_the_shell_gets_a_quoting_hint(tmp_path: Path) -> None:
    # What bash leaves of "alice:$argon2id$v=19$m=65536,t=3,p=4$salt$hash:write".
    done = run_cli(str(tmp_path), "--auth", "alice:=19=65536,t=3,p=4:write", "-p", "0")
    assert done.returncode == 2
    assert "single quotes" in done.stderr
    assert "--auth 'alice:$argon2id" in done.stderr


def banner_of(root: Path, *args: str) -> list[str]:
    proc = subprocess.Popen(
        [sys.executable, "-m", "porch", str(root), "-p", "0", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
        env=porch_env(),
    )
    try:
        assert proc.stdout is not None
        lines = [proc.stdout.readline().rstrip("\n") for _ in range(5)]
    finally:
        proc.terminate()
        proc.wait(timeout=10)
    return lines


def test_the_banner_states_the_mode(tmp_path: Path) -> None:
    share = tmp_path / "share"
    (share / "incoming").mkdir(parents=True)
    account = f"bob:{quick_hash('pw')}:read,write@/incoming"
    lines = banner_of(
        share, "--upload-dir", str(share / "incoming"), "--auth", account, "--anonymous", "read"
    )
    assert lines[0].startswith(f"porch serving {share.resolve()} at http://127.0.0.1:")
    incoming = f"{(share / 'incoming').resolve()};"
    assert lines[1].split()[:7] == ["uploads:", "into", incoming, "a", "name", "taken:", "refuse,"]
    assert lines[1].endswith(", up to 10.0 GiB each")  # the default --max-upload-size
    assert lines[2].split() == ["TLS:", "off", "(plain", "HTTP)"]
    assert lines[3].split() == ["users:", "bob:", "read,", "write@/incoming"]
    assert lines[4].split() == ["anonymous:", "read"]


def test_qr_on_loopback_warns_that_a_phone_cannot_open_it(tmp_path: Path) -> None:
    lines = banner_of(tmp_path, "--qr")
    assert any("a phone cannot open" in line for line in lines)
