"""Routes through porch.testing: /time, App.route, return types, methods, errors, modules."""

from __future__ import annotations

import asyncio
import datetime
import logging
import re
import sys
import threading
from pathlib import Path

import pytest

from porch.app import App
from porch.app.routes import RouteLoadError
from porch.config import Config
from porch.http import Headers, HTTPError, Request, Response
from porch.testing import Client


def make_app(root: Path, **settings: object) -> App:
    return App(Config(root=root.resolve(), **settings))  # type: ignore[arg-type]


@pytest.fixture
def app(site: Path) -> App:
    return make_app(site)


@pytest.fixture
def client(app: App) -> Client:
    return Client(app)


# --- /time ---------------------------------------------------------------------------------

ISO_LOCAL = re.compile(r'<time id="local" datetime="([^"]+)">')
ISO_UTC = re.compile(r'<time id="utc" datetime="([^"]+)">')


def test_time_page_shows_local_and_utc_now(client: Client) -> None:
    before = datetime.datetime.now(datetime.UTC).replace(microsecond=0)
    response = client.get("/time")
    after = datetime.datetime.now(datetime.UTC)
    assert response.status == 200
    assert response.headers.get("content-type") == "text/html; charset=utf-8"
    assert response.headers.get("cache-control") == "no-store"
    local_match, utc_match = ISO_LOCAL.search(response.text), ISO_UTC.search(response.text)
    assert local_match
    assert utc_match
    local = datetime.datetime.fromisoformat(local_match.group(1))
    utc = datetime.datetime.fromisoformat(utc_match.group(1))
    assert utc_match.group(1).endswith("Z")
    assert local.utcoffset() is not None  # ISO 8601 with the server's offset
    assert local == utc
    assert before <= utc <= after
    assert local_match.group(1) in response.text.split("</time>")[0]  # shown, not only an attribute


def test_time_page_as_json_when_preferred(client: Client) -> None:
    response = client.get("/time", headers={"Accept": "application/json"})
    assert response.status == 200
    assert response.headers.get("cache-control") == "no-store"
    data = response.json()
    assert isinstance(data, dict)
    assert datetime.datetime.fromisoformat(data["local"]) == datetime.datetime.fromisoformat(
        data["utc"]
    )


def test_time_head_has_headers_and_no_body(client: Client) -> None:
    response = client.head("/time")
    assert response.status == 200
    assert response.headers.get("cache-control") == "no-store"
    assert response.body == b""


def test_time_ignores_query_and_repeated_slashes(client: Client) -> None:
    assert client.get("/time?x=1").status == 200
    assert client.get("//time").status == 200
    assert client.get("/time/").status == 404  # a trailing slash is another path


def test_time_post_is_405_with_allow(client: Client) -> None:
    response = client.post("/time", body=b"x")
    assert response.status == 405
    assert response.headers.get("allow") == "GET, HEAD, OPTIONS"


def test_time_options(client: Client) -> None:
    response = client.options("/time")
    assert response.status == 204
    assert response.headers.get("allow") == "GET, HEAD, OPTIONS"


def test_builtin_routes_can_be_turned_off(site: Path) -> None:
    (site / "time").write_text("a file called time\n")
    client = Client(make_app(site, builtin_routes=False))
    response = client.get("/time")
    assert response.status == 200
    assert response.text == "a file called time\n"


def test_time_off_and_no_file_is_404(site: Path) -> None:
    assert Client(make_app(site, builtin_routes=False)).get("/time").status == 404


# --- App.route -----------------------------------------------------------------------------


def test_route_wins_over_file_of_same_name(site: Path) -> None:
    app = make_app(site)
    app.route("/hello.txt")(lambda request: "from the route")
    response = Client(app).get("/hello.txt")
    assert response.text == "from the route"
    assert response.headers.get("content-type") == "text/html; charset=utf-8"


def test_file_route_shadowing_keeps_other_files(app: App, client: Client) -> None:
    app.route("/hello.txt")(lambda request: "x")
    assert client.get("/page.html").status == 200


@pytest.mark.parametrize(
    ("result", "content_type", "body"),
    [
        ("<p>ok</p>", "text/html; charset=utf-8", b"<p>ok</p>"),
        (b"\x00\x01", "application/octet-stream", b"\x00\x01"),
        ({"a": [1, "é"]}, "application/json", '{"a":[1,"é"]}'.encode()),
        ([1, 2], "application/json", b"[1,2]"),
        (
            Response(201, Headers([("Content-Type", "text/plain")]), b"made"),
            "text/plain",
            b"made",
        ),
    ],
)
@pytest.mark.parametrize("kind", ["sync", "async"])
def test_return_values_become_responses(
    app: App, client: Client, result: object, content_type: str, body: bytes, kind: str
) -> None:
    if kind == "sync":

        def handler(request: Request) -> object:
            return result

    else:

        async def handler(request: Request) -> object:  # type: ignore[misc]
            return result

    app.routes.add("/r", handler)  # type: ignore[arg-type]
    response = client.get("/r")
    assert response.headers.get("content-type") == content_type
    assert response.body == body


def test_a_callable_object_that_cannot_be_hashed_is_a_route(app: App, client: Client) -> None:
    class Greeter:
        __hash__ = None  # type: ignore[assignment]  # as any class defining __eq__ only

        def __call__(self, request: Request) -> str:
            return "hello from an object"

        async def later(self, request: Request) -> str:
            return "and from its coroutine method"

    greeter = Greeter()
    app.routes.add("/greet", greeter)
    app.routes.add("/later", greeter.later)
    assert client.get("/greet").text == "hello from an object"
    assert client.get("/later").text == "and from its coroutine method"


def test_route_sees_request(app: App, client: Client) -> None:
    @app.route("/who")
    def who(request: Request) -> dict[str, object]:
        return {"method": request.method, "q": request.query, "ua": request.headers.get("x-a")}

    response = client.get("/who?n=1&n=2", headers={"X-A": "b"})
    assert response.json() == {"method": "GET", "q": {"n": ["1", "2"]}, "ua": "b"}


def test_head_uses_get_handler_without_body(app: App, client: Client) -> None:
    seen: list[str] = []

    @app.route("/page")
    def page(request: Request) -> str:
        seen.append(request.method)
        return "<p>body</p>"

    response = client.head("/page")
    assert response.status == 200
    assert response.headers.get("content-type") == "text/html; charset=utf-8"
    assert response.body == b""
    assert seen == ["HEAD"]


def test_explicit_head_handler_wins(app: App, client: Client) -> None:
    app.routes.add("/x", lambda request: "get")
    app.routes.add("/x", lambda request: Response(200, Headers([("X-Head", "1")])), ("HEAD",))
    assert client.head("/x").headers.get("x-head") == "1"
    assert client.get("/x").text == "get"


def test_405_lists_every_method(app: App, client: Client) -> None:
    async def form(request: Request) -> str:
        return "posted"

    app.route("/form", methods=("GET", "POST"))(lambda request: "form")
    app.route("/only-post", methods=("POST",))(form)
    response = client.put("/form", body=b"x")
    assert response.status == 405
    assert response.headers.get("allow") == "GET, HEAD, OPTIONS, POST"
    assert client.post("/form", body=b"").text == "form"
    only_post = client.get("/only-post")
    assert only_post.status == 405
    assert only_post.headers.get("allow") == "OPTIONS, POST"
    assert client.head("/only-post").status == 405


def test_route_for_get_and_post_registered_separately(app: App, client: Client) -> None:
    app.route("/f")(lambda request: "get")

    @app.route("/f", methods=("POST",))
    async def post(request: Request) -> str:
        body = await request.read_body(100)
        return body.decode()

    assert client.get("/f").text == "get"
    assert client.post("/f", body=b"sent").text == "sent"


def test_http_error_in_route_is_the_error_page(app: App, client: Client) -> None:
    @app.route("/no")
    def refuse(request: Request) -> str:
        raise HTTPError(403, "not for you")

    response = client.get("/no", headers={"Accept": "application/json"})
    assert response.status == 403
    assert response.json() == {"status": 403, "error": "Forbidden", "detail": "not for you"}


@pytest.mark.parametrize("kind", ["sync", "async"])
def test_exception_in_route_is_logged_500(
    app: App, client: Client, kind: str, caplog: pytest.LogCaptureFixture
) -> None:
    def boom(request: Request) -> str:
        raise RuntimeError("secret detail /srv/private")

    async def aboom(request: Request) -> str:
        raise RuntimeError("secret detail /srv/private")

    app.routes.add("/boom", boom if kind == "sync" else aboom)
    with caplog.at_level(logging.ERROR, logger="porch.app"):
        response = client.get("/boom", headers={"Accept": "text/html"})
    assert response.status == 500
    assert "secret" not in response.text
    assert "/srv/private" not in response.text
    assert "secret detail" in caplog.text  # the traceback is in the log


def test_route_returning_none_is_500(
    app: App, client: Client, caplog: pytest.LogCaptureFixture
) -> None:
    app.routes.add("/none", lambda request: None)  # type: ignore[arg-type,return-value]
    with caplog.at_level(logging.ERROR, logger="porch.app"):
        assert client.get("/none").status == 500
    assert "route /none returned NoneType" in caplog.text


def test_sync_route_does_not_block_the_event_loop(app: App) -> None:
    released = threading.Event()

    @app.route("/wait")
    def wait(request: Request) -> str:
        return "released" if released.wait(5) else "timed out"

    @app.route("/release")
    async def release(request: Request) -> str:
        released.set()
        return "ok"

    async def both() -> list[str]:
        client = Client(app)
        first = asyncio.create_task(client.arequest("GET", "/wait"))
        await asyncio.sleep(0.05)
        second = await client.arequest("GET", "/release")
        return [(await first).text, second.text]

    assert asyncio.run(both()) == ["released", "ok"]


@pytest.mark.parametrize(
    ("path", "methods", "message"),
    [
        ("time", ("GET",), "must start with /"),
        ("/a?b", ("GET",), "no query"),
        ("/a", ("FETCH",), "unknown method"),
        ("/a", (), "at least one method"),
        ("/time", ("GET",), "--no-builtin-routes"),
    ],
)
def test_bad_registrations_are_loud(
    app: App, path: str, methods: tuple[str, ...], message: str
) -> None:
    with pytest.raises(ValueError, match=re.escape(message)):
        app.routes.add(path, lambda request: "x", methods)


def test_same_method_twice_is_refused(app: App) -> None:
    app.route("/a")(lambda request: "x")
    with pytest.raises(ValueError, match="already has a GET handler"):
        app.route("/a", methods=("get",))(lambda request: "y")


# --- route modules -------------------------------------------------------------------------

GOOD_MODULE = """
def register(app):
    @app.route("/hi")
    def hi(request):
        return "hi from " + __name__
"""


def test_route_module_from_path(site: Path, tmp_path: Path) -> None:
    module = tmp_path / "my-routes.py"
    module.write_text(GOOD_MODULE)
    client = Client(make_app(site, routes=(str(module),)))
    assert client.get("/hi").text == "hi from porch_routes_my_routes"
    assert client.get("/time").status == 200


def test_route_module_by_dotted_name_from_cwd(
    site: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    package = tmp_path / "mysite_pkg"
    package.mkdir()
    (package / "__init__.py").write_text("")
    (package / "pages.py").write_text(GOOD_MODULE)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(sys, "path", [p for p in sys.path if p not in ("", str(tmp_path))])
    try:
        client = Client(make_app(site, routes=("mysite_pkg.pages",)))
        assert client.get("/hi").text == "hi from mysite_pkg.pages"
    finally:
        for name in ("mysite_pkg", "mysite_pkg.pages"):
            sys.modules.pop(name, None)


def test_two_modules_in_order(site: Path, tmp_path: Path) -> None:
    (tmp_path / "one.py").write_text(
        "def register(app):\n    app.route('/one')(lambda request: 'one')\n"
    )
    (tmp_path / "two.py").write_text(
        "def register(app):\n    app.route('/two')(lambda request: b'two')\n"
    )
    client = Client(make_app(site, routes=(str(tmp_path / "one.py"), str(tmp_path / "two.py"))))
    assert client.get("/one").text == "one"
    assert client.get("/two").body == b"two"


@pytest.mark.parametrize(
    ("source", "message"),
    [
        (None, "routes file not found"),
        ("def register(app:\n", "SyntaxError"),
        ("import porch_no_such_module_xyz\n", "No module named 'porch_no_such_module_xyz'"),
        ("raise RuntimeError('broken at import')\n", "RuntimeError: broken at import"),
        ("x = 1\n", "has no register(app) function"),
        ("def register(app):\n    raise ValueError('nope')\n", "register(app) in"),
        (
            "def register(app):\n    app.route('/time')(lambda r: 'mine')\n",
            "--no-builtin-routes",
        ),
    ],
)
def test_bad_route_modules_fail_at_start(
    site: Path, tmp_path: Path, source: str | None, message: str
) -> None:
    module = tmp_path / "bad_routes.py"
    if source is not None:
        module.write_text(source)
    with pytest.raises(RouteLoadError, match=re.escape(message)):
        make_app(site, routes=(str(module),))


def test_missing_dotted_module(site: Path) -> None:
    with pytest.raises(RouteLoadError, match=r"routes module not found: no_such_pkg_xyz\.routes"):
        make_app(site, routes=("no_such_pkg_xyz.routes",))


def test_module_may_replace_time_when_builtins_are_off(site: Path, tmp_path: Path) -> None:
    module = tmp_path / "mytime.py"
    module.write_text("def register(app):\n    app.route('/time')(lambda r: 'my time')\n")
    client = Client(make_app(site, builtin_routes=False, routes=(str(module),)))
    assert client.get("/time").text == "my time"


def test_command_line_flags_reach_config(site: Path) -> None:
    from porch.cli import build_parser, config_from_args

    parser = build_parser()
    default = config_from_args(parser.parse_args([str(site)]), parser)
    assert (default.builtin_routes, default.routes) == (True, ())
    args = parser.parse_args(
        [str(site), "--routes", "a.b", "--routes", "c.py", "--no-builtin-routes"]
    )
    settings = config_from_args(args, parser)
    assert (settings.builtin_routes, settings.routes) == (False, ("a.b", "c.py"))
