"""porch.asgi called directly with ASGI messages (no server): translation only."""

from __future__ import annotations

import asyncio
import base64
from pathlib import Path
from typing import Any

import pytest

import porch.asgi
from porch.http.auth import parse_account, parse_grants
from tests.security_helpers import quick_hash


def call(
    app: porch.asgi.PorchASGI,
    path: str,
    *,
    method: str = "GET",
    root_path: str = "",
    raw_path: bytes | None = None,
    headers: list[tuple[bytes, bytes]] | None = None,
    extensions: dict[str, Any] | None = None,
    body: list[bytes] | None = None,
) -> tuple[int, dict[str, str], bytes, list[dict[str, Any]]]:
    scope: dict[str, Any] = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": method,
        "scheme": "http",
        "path": path,
        "raw_path": raw_path if raw_path is not None else path.encode(),
        "root_path": root_path,
        "query_string": b"",
        "headers": headers if headers is not None else [(b"host", b"localhost")],
        "client": ("127.0.0.1", 1234),
        "extensions": extensions or {},
    }
    chunks = list(body or [b""])
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        chunk = chunks.pop(0) if chunks else b""
        return {"type": "http.request", "body": chunk, "more_body": bool(chunks)}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    asyncio.run(app(scope, receive, send))
    start = sent[0]
    headers_out = {k.decode(): v.decode() for k, v in start["headers"]}
    data = b"".join(m.get("body", b"") for m in sent[1:] if m["type"] == "http.response.body")
    return start["status"], headers_out, data, sent


@pytest.fixture
def root(tmp_path: Path) -> Path:
    (tmp_path / "a.txt").write_text("hello asgi\n")
    (tmp_path / "big.bin").write_bytes(b"x" * (600 * 1024))
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "index.html").write_text("<p>sub</p>")
    return tmp_path


def test_serves_a_file(root: Path) -> None:
    status, headers, body, _ = call(porch.asgi.app(root), "/a.txt")
    assert status == 200
    assert body == b"hello asgi\n"
    assert headers["content-type"] == "text/plain; charset=utf-8"
    assert headers["content-length"] == str(len(body))


def test_large_file_streams_in_bounded_chunks(root: Path) -> None:
    status, _, body, sent = call(porch.asgi.app(root), "/big.bin")
    assert status == 200
    assert body == b"x" * (600 * 1024)
    assert max(len(m.get("body", b"")) for m in sent[1:]) <= porch.asgi.CHUNK_SIZE


def test_uses_pathsend_when_the_server_offers_it(root: Path) -> None:
    extensions = {"http.response.pathsend": {}}
    _, _, _, sent = call(porch.asgi.app(root), "/big.bin", extensions=extensions)
    assert sent[-1] == {"type": "http.response.pathsend", "path": str(root / "big.bin")}


def test_mounted_under_a_prefix_strips_it_and_redirects_back_under_it(root: Path) -> None:
    app = porch.asgi.app(root)
    status, _, body, _ = call(app, "/files/a.txt", root_path="/files")
    assert (status, body) == (200, b"hello asgi\n")
    status, headers, _, _ = call(app, "/files/sub", root_path="/files")
    assert status == 301
    assert headers["location"] == "/files/sub/"


def test_refuses_what_the_server_refuses(root: Path) -> None:
    app = porch.asgi.app(root)
    assert call(app, "/a/b", raw_path=b"/a%2fb")[0] == 400
    assert call(app, "/../etc/passwd")[0] == 400
    assert call(app, "/nothing")[0] == 404


def test_a_refused_head_gets_the_error_page_the_client_asked_for(root: Path) -> None:
    """A head refused before a request exists (an over-long URL: 414) is answered through
    the same negotiated error page as porch's server answers it: JSON when preferred."""
    app = porch.asgi.app(root)
    long_path = "/" + "a" * 20_000
    accept_json = [(b"host", b"localhost"), (b"accept", b"application/json")]
    status, headers, body, _ = call(app, long_path, headers=accept_json)
    assert status == 414
    assert headers["content-type"].startswith("application/json")
    assert b'"status": 414' in body or b'"status":414' in body
    status, headers, _, _ = call(app, long_path)
    assert (status, headers["content-type"]) == (414, "text/html; charset=utf-8")


def test_head_has_length_and_no_body(root: Path) -> None:
    status, headers, body, _ = call(porch.asgi.app(root), "/a.txt", method="HEAD")
    assert status == 200
    assert headers["content-length"] == "11"
    assert body == b""


def test_lifespan_completes() -> None:
    messages = [{"type": "lifespan.startup"}, {"type": "lifespan.shutdown"}]
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        return messages.pop(0)

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    app = porch.asgi.PorchASGI.__new__(porch.asgi.PorchASGI)
    asyncio.run(app({"type": "lifespan"}, receive, send))
    assert [m["type"] for m in sent] == ["lifespan.startup.complete", "lifespan.shutdown.complete"]


def test_missing_root_is_an_error_at_start(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="not a directory"):
        porch.asgi.app(tmp_path / "missing")


def test_accounts_without_anonymous_refuse_anonymous_clients(root: Path) -> None:
    # As on the command line: accounts mean no anonymous access unless asked for.
    account = parse_account(f"ann:{quick_hash('pw')}")
    locked = porch.asgi.app(root, accounts=(account,))
    assert call(locked, "/a.txt")[0] == 401
    credentials = b"Basic " + base64.b64encode(b"ann:pw")
    headers = [(b"host", b"localhost"), (b"authorization", credentials)]
    assert call(locked, "/a.txt", headers=headers)[:3:2] == (200, b"hello asgi\n")
    public = porch.asgi.app(root, accounts=(account,), anonymous=parse_grants("read"))
    assert call(public, "/a.txt")[0] == 200


def test_missing_upload_dir_is_an_error_at_start(root: Path, tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="upload_dir is not a directory"):
        porch.asgi.app(root, upload_dir=tmp_path / "missing")


def test_a_download_stops_when_the_client_disconnects(root: Path) -> None:
    # uvicorn's send returns silently once the client has gone: without watching receive,
    # the adapter would read the whole file into nothing.
    (root / "huge.bin").write_bytes(b"h" * (porch.asgi.CHUNK_SIZE * 40))
    scope = {
        "type": "http",
        "http_version": "1.1",
        "method": "GET",
        "path": "/huge.bin",
        "raw_path": b"/huge.bin",
        "query_string": b"",
        "headers": [(b"host", b"localhost")],
    }
    messages: list[dict[str, Any]] = [{"type": "http.request", "body": b"", "more_body": False}]
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        if messages:
            return messages.pop(0)
        await asyncio.sleep(0.01)  # the client leaves while the first chunks go out
        return {"type": "http.disconnect"}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)
        await asyncio.sleep(0.001)

    asyncio.run(porch.asgi.app(root)(scope, receive, send))
    chunks = [m for m in sent if m["type"] == "http.response.body" and m.get("body")]
    assert 0 < len(chunks) < 20


def test_listing_links_stay_under_the_mount_prefix(root: Path) -> None:
    (root / "docs").mkdir()
    (root / "docs" / "a.txt").write_text("a")
    html = [(b"host", b"localhost"), (b"accept", b"text/html")]
    status, _, body, _ = call(
        porch.asgi.app(root), "/files/docs/", root_path="/files", headers=html
    )
    assert status == 200
    page = body.decode()
    assert 'href="/files/-/static/listing.css"' in page
    assert 'href="/files/"' in page  # the breadcrumb back to the top of the mount
    assert 'href="/-/' not in page
    status, _, css, _ = call(
        porch.asgi.app(root), "/files/-/static/listing.css", root_path="/files"
    )
    assert status == 200
    assert css


def test_webdav_under_a_prefix(root: Path, tmp_path_factory: pytest.TempPathFactory) -> None:
    state = tmp_path_factory.mktemp("state")
    app = porch.asgi.app(root, anonymous=parse_grants("write"), state_dir=state)
    assert call(app, "/files/new", method="MKCOL", root_path="/files")[0] == 201
    moved = [(b"host", b"localhost"), (b"destination", b"http://localhost/files/new/b.txt")]
    status, headers, _, _ = call(
        app, "/files/a.txt", method="COPY", root_path="/files", headers=moved
    )
    assert status == 201
    assert headers["location"] == "/files/new/b.txt"
    assert (root / "new" / "b.txt").read_text() == "hello asgi\n"
    outside = [(b"host", b"localhost"), (b"destination", b"/elsewhere/b.txt")]
    assert call(app, "/files/a.txt", method="COPY", root_path="/files", headers=outside)[0] == 403
    depth = [(b"host", b"localhost"), (b"depth", b"1")]
    status, _, body, _ = call(
        app, "/files/new/", method="PROPFIND", root_path="/files", headers=depth
    )
    assert status == 207
    assert b"<D:href>/files/new/</D:href>" in body
    assert b"<D:href>/files/new/b.txt</D:href>" in body
