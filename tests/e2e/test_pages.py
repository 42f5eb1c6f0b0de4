"""Routes and templates end to end: a real ``python -m porch`` over sockets."""

from __future__ import annotations

import datetime
import json
import re
import shutil
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.helpers import PorchProcess, ResponseReader, exchange, get, run_cli

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
ROUTES_EXAMPLE = EXAMPLES / "routes_example.py"

Start = Callable[..., PorchProcess]


@pytest.fixture
def example_site(tmp_path: Path) -> Path:
    """A copy of examples/site (tests edit it)."""
    root = tmp_path / "example-site"
    shutil.copytree(EXAMPLES / "site", root)
    return root


def test_time_over_the_wire(porch: Start, site: Path) -> None:
    server = porch(site)
    response = exchange(server, get("/time"))
    assert response.status == 200
    assert response.header("content-type") == "text/html; charset=utf-8"
    assert response.header("cache-control") == "no-store"
    assert response.header("content-length") == str(len(response.body))
    utc = re.search(rb'<time id="utc" datetime="([^"]+)">', response.body)
    assert utc is not None
    shown = datetime.datetime.fromisoformat(utc.group(1).decode())
    now = datetime.datetime.now(datetime.UTC)
    assert abs((now - shown).total_seconds()) < 5

    head = exchange(server, b"HEAD /time HTTP/1.1\r\nHost: localhost\r\n\r\n", "HEAD")
    assert head.status == 200
    assert head.header("cache-control") == "no-store"
    assert head.header("content-length") == str(len(response.body))


def test_no_builtin_routes(porch: Start, site: Path) -> None:
    server = porch(site, "--no-builtin-routes")
    assert exchange(server, get("/time")).status == 404


def test_route_module_from_the_command_line(porch: Start, example_site: Path) -> None:
    server = porch(example_site, "--routes", str(ROUTES_EXAMPLE))
    with server.connect() as sock:
        reader = ResponseReader(sock)
        sock.sendall(
            get("/hello?name=%3Cb%3EAda")
            + b"HEAD /hello?name=Ada HTTP/1.1\r\nHost: localhost\r\n\r\n"
            + get("/api/visits")
            + get("/api/visits")
            + b"POST /api/echo HTTP/1.1\r\nHost: localhost\r\nContent-Length: 5\r\n\r\nhello"
            + b"POST /hello HTTP/1.1\r\nHost: localhost\r\nContent-Length: 0\r\n\r\n"
            + get("/teapot", extra="Accept: application/json\r\n")
        )
        hello = reader.read()
        assert hello.status == 200
        assert b"Hello, &lt;b&gt;Ada!" in hello.body
        head = reader.read("HEAD")
        assert head.status == 200
        assert head.header("content-type") == "text/html; charset=utf-8"
        assert head.body == b""
        first, second = reader.read(), reader.read()
        assert json.loads(first.body)["visits"] + 1 == json.loads(second.body)["visits"]
        echo = reader.read()
        assert (echo.status, echo.body) == (200, b"hello")
        not_allowed = reader.read()
        assert not_allowed.status == 405
        assert not_allowed.header("allow") == "GET, HEAD, OPTIONS"
        teapot = reader.read()
        assert teapot.status == 418
        assert json.loads(teapot.body)["detail"] == "this route only brews tea"
    # Built-in routes and files still answer beside the module's routes.
    assert exchange(server, get("/time")).status == 200
    assert exchange(server, get("/")).status == 200


def test_route_exception_is_500_and_logged(porch: Start, site: Path, tmp_path: Path) -> None:
    module = tmp_path / "failing.py"
    module.write_text(
        "def register(app):\n"
        "    @app.route('/fail')\n"
        "    def fail(request):\n"
        "        raise KeyError('internal-detail')\n"
    )
    server = porch(site, "--routes", str(module))
    response = exchange(server, get("/fail"))
    assert response.status == 500
    assert b"internal-detail" not in response.body
    assert exchange(server, get("/hello.txt")).status == 200  # the server carries on
    server.stop()
    assert "internal-detail" in server.log()


BAD_MODULES = [
    ("missing.py", None, "routes file not found"),
    ("syntax.py", "def register(app:\n", "SyntaxError"),
    ("noregister.py", "x = 1\n", "has no register(app) function"),
    ("raising.py", "raise ImportError('needs the foo package')\n", "needs the foo package"),
]


@pytest.mark.parametrize(("filename", "source", "message"), BAD_MODULES)
def test_bad_route_module_exits_2(
    site: Path, tmp_path: Path, filename: str, source: str | None, message: str
) -> None:
    module = tmp_path / filename
    if source is not None:
        module.write_text(source)
    result = run_cli(str(site), "--port", "0", "--routes", str(module), timeout=20)
    assert result.returncode == 2
    assert "porch: error:" in result.stderr
    assert message in result.stderr
    assert "http://" not in result.stdout  # it never started serving


def test_missing_dotted_module_exits_2(site: Path) -> None:
    result = run_cli(str(site), "--port", "0", "--routes", "no_such_mod_q", timeout=20)
    assert result.returncode == 2
    assert "routes module not found: no_such_mod_q" in result.stderr


def test_template_page_with_its_form(porch: Start, example_site: Path) -> None:
    server = porch(example_site)
    response = exchange(server, get("/greet.html?name=Ada&lang=Rust&lang=Go"))
    assert response.status == 200
    assert response.header("content-type") == "text/html; charset=utf-8"
    body = response.body.decode()
    assert '<p id="greeting">Hello, Ada!</p>' in body
    assert '<p id="languages">You like Rust, Go.</p>' in body
    assert 'value="Rust" checked' in body
    assert 'value="Python" checked' not in body
    assert '<form method="get" action="">' in body


def test_template_escapes_and_sandbox_over_the_wire(porch: Start, example_site: Path) -> None:
    (example_site / "evil.html.j2").write_text("{{ ''.__class__.__mro__[1].__subclasses__() }}")
    server = porch(example_site)
    xss = exchange(server, get("/greet.html?name=%3Cscript%3Ealert(1)%3C/script%3E"))
    assert b"<script>" not in xss.body
    assert b"Hello, &lt;script&gt;alert(1)&lt;/script&gt;!" in xss.body
    evil = exchange(server, get("/evil.html", extra="Accept: text/plain\r\n"))
    assert evil.status == 500
    assert b"class" not in evil.body
    server.stop()
    assert "evil.html.j2 line 1" in server.log()


def test_template_source_never_served(porch: Start, example_site: Path) -> None:
    server = porch(example_site, "--hidden")
    for target in ("/greet.html.j2", "/greet.html.%6a2", "/_layout.html.j2"):
        response = exchange(server, get(target))
        assert response.status == 404, target
        assert b"{%" not in response.body


def test_template_edit_picked_up_without_restart(porch: Start, example_site: Path) -> None:
    server = porch(example_site)
    template = example_site / "note.txt.j2"
    template.write_text("first {{ n }}\n")
    assert exchange(server, get("/note.txt?n=1")).body == b"first 1\n"
    template.write_text("second edit {{ n }}\n")
    response = exchange(server, get("/note.txt?n=<2>"))
    assert response.body == b"second edit <2>\n"
    assert response.header("content-type") == "text/plain; charset=utf-8"


def test_include_outside_root_refused(porch: Start, example_site: Path, tmp_path: Path) -> None:
    (tmp_path / "outside-secret.txt").write_text("OUTSIDE-SECRET")
    (example_site / "inc.html.j2").write_text("{% include '../outside-secret.txt' %}")
    server = porch(example_site)
    response = exchange(server, get("/inc.html"))
    assert response.status == 500
    assert b"OUTSIDE-SECRET" not in response.body
