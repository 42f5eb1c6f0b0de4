"""Headers on every response, CSP on porch's own pages, --cors, and /-/health."""

from __future__ import annotations

import base64
from pathlib import Path

import pytest

from porch.app import App
from porch.app.security import PAGE_CSP
from porch.config import Config
from porch.http.auth import Account, parse_grants
from porch.testing import Client
from tests.security_helpers import quick_hash


@pytest.fixture
def root(tmp_path: Path) -> Path:
    (tmp_path / "page.html").write_text("<p>user page</p>")
    (tmp_path / "a.txt").write_text("a\n")
    (tmp_path / "dir").mkdir()
    (tmp_path / "private").mkdir()
    (tmp_path / "private" / "p.txt").write_text("p\n")
    return tmp_path


def guarded_app(root: Path, **extra: object) -> App:
    accounts = (Account("u", quick_hash("pw")),)
    return App(
        Config(root=root, accounts=accounts, anonymous=parse_grants("read@/a.txt"), **extra)  # type: ignore[arg-type]
    )


REQUESTS = [
    ("GET", "/a.txt", {}, 200),
    ("HEAD", "/a.txt", {}, 200),
    ("GET", "/page.html", {}, 401),
    ("GET", "/a.txt", {"Authorization": "Basic " + base64.b64encode(b"u:pw").decode()}, 200),
    ("GET", "/dir", {"Authorization": "Basic " + base64.b64encode(b"u:pw").decode()}, 301),
    ("GET", "/nope", {"Authorization": "Basic " + base64.b64encode(b"u:pw").decode()}, 404),
    ("GET", "/nope", {"Authorization": "Basic " + base64.b64encode(b"u:x").decode()}, 401),
    ("GET", "/a.txt", {"Authorization": "Basic " + base64.b64encode(b"u:pw").decode()}, 200),
    ("POST", "/a.txt", {"Authorization": "Basic " + base64.b64encode(b"u:pw").decode()}, 403),
    ("GET", "/-/health", {}, 200),
    ("POST", "/-/health", {}, 405),
    ("GET", "/%2e%2e/x", {}, 401),  # the rules come before path checks
    ("GET", "/a%2fb", {}, 400),  # refused while parsing: plain_error
]


@pytest.mark.parametrize(("method", "target", "headers", "status"), REQUESTS)
def test_every_response_has_nosniff_and_referrer_policy(
    root: Path, method: str, target: str, headers: dict[str, str], status: int
) -> None:
    response = Client(guarded_app(root)).request(method, target, headers=headers)
    assert response.status == status
    assert response.headers.get("X-Content-Type-Options") == "nosniff"
    if target != "/a%2fb":  # refused before the app: plain text with nosniff only
        assert response.headers.get("Referrer-Policy") == "same-origin"
    assert "Access-Control-Allow-Origin" not in response.headers  # only with --cors


def test_porch_html_pages_get_the_strict_csp_user_files_do_not(root: Path) -> None:
    client = Client(App(Config(root=root)))
    error_page = client.get("/missing", headers={"Accept": "text/html"})
    assert error_page.headers.get("Content-Type", "").startswith("text/html")
    assert error_page.headers.get("Content-Security-Policy") == PAGE_CSP
    assert "script-src 'self'" in PAGE_CSP
    assert "frame-ancestors 'none'" in PAGE_CSP
    user_page = client.get("/page.html")
    assert user_page.status == 200
    assert "Content-Security-Policy" not in user_page.headers
    assert user_page.headers.get("X-Content-Type-Options") == "nosniff"


def test_cors_adds_allow_origin_to_reads(root: Path) -> None:
    client = Client(App(Config(root=root, cors=True)))
    for method in ("GET", "HEAD"):
        response = client.request(method, "/a.txt", headers={"Origin": "https://elsewhere"})
        assert response.headers.get("Access-Control-Allow-Origin") == "*"
    assert client.get("/missing").headers.get("Access-Control-Allow-Origin") == "*"
    write = client.post("/a.txt", headers={"Origin": "https://elsewhere"}, body=b"x")
    assert "Access-Control-Allow-Origin" not in write.headers


def test_cors_preflight_allows_reads_only_and_needs_no_credentials(root: Path) -> None:
    client = Client(guarded_app(root, cors=True))
    response = client.options(
        "/private/p.txt",
        headers={
            "Origin": "https://elsewhere",
            "Access-Control-Request-Method": "GET",
            "Access-Control-Request-Headers": "range",
        },
    )
    assert response.status == 204
    assert response.headers.get("Access-Control-Allow-Origin") == "*"
    assert response.headers.get("Access-Control-Allow-Methods") == "GET, HEAD"
    assert "Range" in (response.headers.get("Access-Control-Allow-Headers") or "")
    # The read itself still needs credentials.
    assert client.get("/private/p.txt", headers={"Origin": "https://elsewhere"}).status == 401


def test_without_cors_a_preflight_is_an_ordinary_options(root: Path) -> None:
    client = Client(App(Config(root=root)))
    response = client.options(
        "/a.txt", headers={"Origin": "https://x", "Access-Control-Request-Method": "GET"}
    )
    assert response.status == 204
    assert "Access-Control-Allow-Origin" not in response.headers


def test_health_is_open_small_and_uncached(root: Path) -> None:
    client = Client(guarded_app(root))  # anonymous may read only /a.txt
    response = client.get("/-/health")
    assert (response.status, response.json()) == (200, {"status": "ok"})
    assert response.headers.get("Cache-Control") == "no-store"
    assert client.head("/-/health").status == 200
    assert client.request("PUT", "/-/health", body=b"x").headers.get("Allow") == "GET, HEAD"


def test_health_is_503_when_the_root_vanishes(tmp_path: Path) -> None:
    root = tmp_path / "root"
    root.mkdir()
    client = Client(App(Config(root=root)))
    assert client.get("/-/health").status == 200
    root.rmdir()
    response = client.get("/-/health")
    assert (response.status, response.json()) == (503, {"status": "unavailable"})
    root.write_text("now a file")
    assert client.get("/-/health").status == 503
