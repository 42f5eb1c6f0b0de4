"""Issue 19 over real sockets: what a new user trips over in the first ten minutes."""

from __future__ import annotations

import base64
import time
from collections.abc import Callable
from pathlib import Path

from tests.helpers import PorchProcess, exchange, get, run_cli
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
    assert "porch.toml is inside the served directory" in done.stderr.splitlines()[-1]


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
        b"POST /api/notes HTTP/1.1\r\nHost: x\r\nContent-Length: 8\r\n\r\nbuy milk",
        "POST",
    )
    assert posted.status == 200, posted.body
    assert posted.body == b'{"notes":["buy milk"]}'
    assert exchange(server, get("/api/notes")).body == b'{"notes":["buy milk"]}'
