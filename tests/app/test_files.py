"""The app through ``porch.testing.Client``: files, types, redirects, error pages, methods.

The file-system cases run on pyfakefs (the chapter's own test first); the few that need a real
kernel object (a FIFO) use tmp_path.
"""

from __future__ import annotations

import json
import logging
import os
from pathlib import Path

import pytest
from pyfakefs.fake_filesystem import FakeFilesystem

import porch.app
from porch.app import App
from porch.config import Config
from porch.testing import Client

ROOT = Path("/srv/porch-root-7f3a")
TEMPLATES = Path(porch.app.__file__).parent / "templates"


@pytest.fixture
def fake_fs(fs: FakeFilesystem) -> FakeFilesystem:
    fs.add_real_directory(TEMPLATES)  # porch's own error page template, read-only
    fs.create_dir(ROOT)
    return fs


def client(*, hidden: bool = False, root: Path = ROOT) -> Client:
    return Client(App(Config(root=root, hidden=hidden)))


def test_get_a_file_from_a_fake_file_system(fake_fs: FakeFilesystem) -> None:
    """The chapter's test: make a file, GET it, check status, headers and bytes."""
    fake_fs.create_file(ROOT / "hello.txt", contents="hello, porch\n")
    response = client().get("/hello.txt")
    assert response.status == 200
    assert response.headers.get("content-type") == "text/plain; charset=utf-8"
    assert response.headers.get("last-modified", "").endswith(" GMT")
    assert response.body == b"hello, porch\n"


def test_nested_file_and_binary_bytes_are_exact(fake_fs: FakeFilesystem) -> None:
    data = bytes(range(256)) * 300
    fake_fs.create_file(ROOT / "a" / "b" / "blob.bin", contents=data)
    response = client().get("/a/b/blob.bin")
    assert response.status == 200
    assert response.body == data


def test_percent_encoded_names(fake_fs: FakeFilesystem) -> None:
    fake_fs.create_file(ROOT / "with space é.txt", contents="x")
    assert client().get("/with%20space%20%C3%A9.txt").body == b"x"


@pytest.mark.parametrize(
    ("name", "content_type"),
    [
        ("page.html", "text/html; charset=utf-8"),
        ("style.css", "text/css; charset=utf-8"),
        ("app.js", "application/javascript; charset=utf-8"),
        ("mod.mjs", "text/javascript; charset=utf-8"),
        ("notes.md", "text/markdown; charset=utf-8"),
        ("data.json", "application/json; charset=utf-8"),
        ("logo.svg", "image/svg+xml; charset=utf-8"),
        ("photo.png", "image/png"),
        ("photo.JPG", "image/jpeg"),
        ("doc.pdf", "application/pdf"),
        ("archive.tar.gz", "application/gzip"),
        ("notes.txt.gz", "application/gzip"),
        ("backup.tar.xz", "application/x-xz"),
        ("old.tar.bz2", "application/x-bzip2"),
        ("font.woff2", "font/woff2"),
        ("mystery.qqq", "application/octet-stream"),
        ("Makefile", "application/octet-stream"),
    ],
)
def test_content_type_from_the_extension(
    fake_fs: FakeFilesystem, name: str, content_type: str
) -> None:
    fake_fs.create_file(ROOT / name, contents="x")
    assert client().get(f"/{name}").headers.get("content-type") == content_type


def test_head_has_the_headers_and_no_body(fake_fs: FakeFilesystem) -> None:
    fake_fs.create_file(ROOT / "hello.txt", contents="hello")
    get, head = client().get("/hello.txt"), client().head("/hello.txt")
    assert head.status == 200
    assert head.body == b""
    assert head.headers.get("content-type") == get.headers.get("content-type")
    assert head.headers.get("last-modified") == get.headers.get("last-modified")


def test_directory_serves_its_index_html(fake_fs: FakeFilesystem) -> None:
    fake_fs.create_file(ROOT / "docs" / "index.html", contents="<p>docs</p>")
    fake_fs.create_file(ROOT / "index.html", contents="<p>home</p>")
    response = client().get("/docs/")
    assert response.status == 200
    assert response.body == b"<p>docs</p>"
    assert response.headers.get("content-type") == "text/html; charset=utf-8"
    assert client().get("/").body == b"<p>home</p>"


@pytest.mark.parametrize(
    ("target", "location"),
    [
        ("/docs", "/docs/"),
        ("/docs?sort=name&x=%2F", "/docs/?sort=name&x=%2F"),
        ("//docs", "/docs/"),
        ("/docs/inner", "/docs/inner/"),
        ("//evil.example", "/evil.example/"),
        ("///evil.example//", None),  # already ends in /: served, not redirected
        ("/a%20dir", "/a%20dir/"),
    ],
)
def test_directory_without_slash_redirects(
    fake_fs: FakeFilesystem, target: str, location: str | None
) -> None:
    for name in ("docs/inner", "evil.example", "a dir"):
        fake_fs.create_file(ROOT / name / "index.html", contents="i")
    response = client().get(target)
    if location is None:
        assert response.status == 200
        return
    assert response.status == 301
    assert response.headers.get("location") == location
    assert not response.headers.get("location", "").startswith("//")


def test_missing_file_is_404(fake_fs: FakeFilesystem) -> None:
    response = client().get("/nope.txt", headers={"Accept": "text/plain"})
    assert response.status == 404
    assert response.headers.get("content-type") == "text/plain; charset=utf-8"
    assert response.text.startswith("404 Not Found")


def test_error_page_without_a_preference_is_html(fake_fs: FakeFilesystem) -> None:
    """Like nginx's: curl and clients without Accept get the HTML page (issue 18)."""
    response = client().get("/nope.txt")
    assert response.status == 404
    assert response.headers.get("content-type") == "text/html; charset=utf-8"
    assert "<h1>404 Not Found</h1>" in response.text
    assert response.headers.get("content-security-policy") is not None


def test_file_as_directory_is_404(fake_fs: FakeFilesystem) -> None:
    fake_fs.create_file(ROOT / "hello.txt", contents="x")
    assert client().get("/hello.txt/more").status == 404


def test_hidden_names_only_with_hidden(fake_fs: FakeFilesystem) -> None:
    fake_fs.create_file(ROOT / ".env", contents="SECRET=1")
    fake_fs.create_file(ROOT / ".git" / "config", contents="[core]")
    assert client().get("/.env").status == 404
    assert client().get("/.git/config").status == 404
    assert client(hidden=True).get("/.env").body == b"SECRET=1"


@pytest.mark.parametrize(
    ("accept", "content_type"),
    [
        (None, "text/html; charset=utf-8"),  # no preference: HTML, like nginx (issue 18)
        ("*/*", "text/html; charset=utf-8"),
        ("text/plain", "text/plain; charset=utf-8"),
        ("text/html,application/xhtml+xml,*/*;q=0.8", "text/html; charset=utf-8"),
        ("application/json", "application/json"),
        ("image/png", "text/plain; charset=utf-8"),  # nothing acceptable: plain text anyway
    ],
)
def test_error_pages_follow_accept(
    fake_fs: FakeFilesystem, accept: str | None, content_type: str
) -> None:
    headers = {"Accept": accept} if accept else {}
    response = client().get("/missing", headers=headers)
    assert response.status == 404
    assert response.headers.get("content-type") == content_type
    if content_type.startswith("text/html"):
        assert "<h1>404 Not Found</h1>" in response.text
    elif content_type == "application/json":
        assert response.json() == {"status": 404, "error": "Not Found", "detail": "not found"}
    else:
        assert response.text.startswith("404 Not Found")


@pytest.mark.parametrize(
    ("method", "target"),
    [
        ("GET", "/missing"),
        ("GET", "/../etc/passwd"),
        ("GET", "/%2e%2e/etc/passwd"),
        ("GET", "/a\\b"),
        ("GET", "/.env"),
        ("GET", "/link-out"),
        ("DELETE", "/hello.txt"),
        ("GET", "/hello.txt/x"),
    ],
)
@pytest.mark.parametrize("accept", ["text/plain", "text/html", "application/json"])
def test_no_error_page_shows_the_server_root(
    fake_fs: FakeFilesystem, method: str, target: str, accept: str
) -> None:
    fake_fs.create_file(ROOT / "hello.txt", contents="x")
    fake_fs.create_file(ROOT / ".env", contents="x")
    fake_fs.create_symlink(ROOT / "link-out", "/etc")
    response = client().request(method, target, headers={"Accept": accept})
    assert 400 <= response.status < 500
    for secret in (str(ROOT), "porch-root-7f3a", "/srv"):
        assert secret not in response.body.decode()
        assert all(secret not in value for _, value in response.headers)


def test_unexpected_exception_is_a_500_with_the_traceback_only_in_the_log(
    fake_fs: FakeFilesystem, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(*args: object, **kwargs: object) -> None:
        raise RuntimeError(f"disk on fire under {ROOT}")

    monkeypatch.setattr(App, "serve_path", broken)
    with caplog.at_level(logging.ERROR, logger="porch.app"):
        response = client().get("/anything", headers={"Accept": "application/json"})
    assert response.status == 500
    assert json.loads(response.body)["status"] == 500
    assert "disk on fire" not in response.text
    assert str(ROOT) not in response.text
    assert "Traceback" not in response.text
    logged = [r for r in caplog.records if r.exc_info]
    assert logged
    assert "disk on fire" in caplog.text
    assert "Traceback" in caplog.text


@pytest.mark.parametrize("method", ["POST", "PUT", "DELETE", "PATCH"])
def test_write_methods_get_405_with_allow(fake_fs: FakeFilesystem, method: str) -> None:
    fake_fs.create_file(ROOT / "hello.txt", contents="x")
    response = client().request(method, "/hello.txt", body=b"data")
    assert response.status == 405
    allow = {m.strip() for m in (response.headers.get("allow") or "").split(",")}
    assert {"GET", "HEAD", "OPTIONS"} <= allow
    assert method not in allow


def test_options_lists_the_allowed_methods(fake_fs: FakeFilesystem) -> None:
    response = client().options("/")
    assert response.status == 204
    assert response.body == b""
    assert {"GET", "HEAD", "OPTIONS"} <= {
        m.strip() for m in (response.headers.get("allow") or "").split(",")
    }


def test_fifo_is_not_read(tmp_path: Path) -> None:
    os.mkfifo(tmp_path / "pipe")
    response = client(root=tmp_path.resolve()).get("/pipe")
    assert response.status == 403


def test_symlink_out_of_root_is_404_on_a_real_disk(tmp_path: Path) -> None:
    root = tmp_path.resolve() / "site"
    root.mkdir()
    (tmp_path / "secret.txt").write_text("outside")
    (root / "leak.txt").symlink_to(tmp_path / "secret.txt")
    (root / "ok.txt").symlink_to(root / "real.txt")
    (root / "real.txt").write_text("inside")
    assert client(root=root).get("/leak.txt").status == 404
    assert client(root=root).get("/ok.txt").body == b"inside"
