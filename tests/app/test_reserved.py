"""porch's own URLs under /-/ (porch.app.reserved), and the app's structure around them:
the /-/ table, the public marker, /time registered by the app, index.html through resolve."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from porch.app import App
from porch.app.reserved import Reserved
from porch.config import Config
from porch.http import Response, text_response
from porch.http.auth import Access, Grant, parse_account
from porch.testing import Client
from tests.security_helpers import quick_hash


def locked(root: Path) -> App:
    account = parse_account(f"ann:{quick_hash('pw')}")
    return App(Config(root=root, accounts=(account,), anonymous=(Grant(Access.NONE),)))


def test_porch_registers_its_own_urls_under_the_prefix(tmp_path: Path) -> None:
    app = App(Config(root=tmp_path))
    assert app.reserved.paths() == ["/-/health", "/-/qr.svg", "/-/static/"]
    assert app.routes.paths() == ["/time"]  # registered by the app itself
    assert App(Config(root=tmp_path, builtin_routes=False)).routes.paths() == []


def test_public_entries_answer_before_authentication(tmp_path: Path) -> None:
    client = Client(locked(tmp_path))
    assert client.get("/-/health").status == 200
    assert client.get("/-/static/listing.css").status == 401
    assert client.get("/-/qr.svg?path=/").status == 401


def test_a_feature_adds_its_url_like_a_route(tmp_path: Path) -> None:
    app = locked(tmp_path)
    app.reserved.add("/-/metrics", lambda request: text_response(200, "up 1\n"), public=True)

    async def secret(request: object) -> Response:
        return text_response(200, "inside\n")

    app.reserved.add("/-/inside", secret)
    client = Client(app)
    assert client.get("/-/metrics").text == "up 1\n"
    assert client.head("/-/metrics").status == 200
    refused = client.post("/-/metrics", body=b"x")
    assert (refused.status, refused.headers.get("allow")) == (405, "GET, HEAD, OPTIONS")
    assert client.get("/-/inside").status == 401


@pytest.mark.parametrize(
    ("path", "prefix"),
    [("/metrics", False), ("/-/", False), ("/-/x", True), ("/-/health", False)],
)
def test_registration_is_checked_loudly(tmp_path: Path, path: str, prefix: bool) -> None:
    reserved = App(Config(root=tmp_path)).reserved
    with pytest.raises(ValueError, match=r"live under|ends with|already registered"):
        reserved.add(path, lambda request: text_response(200, ""), prefix=prefix)


def test_prefix_entries_match_below_them() -> None:
    reserved = Reserved()
    reserved.add("/-/thumbs/", lambda request: text_response(200, ""), prefix=True)
    assert reserved.match("/-/thumbs/a/b.png") is not None
    assert reserved.match("/-/thumbsx") is None
    with pytest.raises(ValueError, match="already registered"):
        reserved.add("/-/thumbs/a", lambda request: text_response(200, ""))


# -- a directory's index.html goes through the one containment function (issue 18) ----------


def test_index_html_linking_outside_root_is_not_served(tmp_path: Path) -> None:
    root = tmp_path / "root"
    (root / "dir").mkdir(parents=True)
    (tmp_path / "outside.html").write_text("OUTSIDE SECRET")
    os.symlink(tmp_path / "outside.html", root / "dir" / "index.html")
    client = Client(App(Config(root=root)))
    assert client.get("/dir/index.html").status == 404
    listing = client.get("/dir/")
    assert listing.status == 200
    assert "OUTSIDE SECRET" not in listing.text
    assert "index.html" not in listing.text  # not listed either: the same rule


def test_index_html_linking_to_a_hidden_file_is_not_served(tmp_path: Path) -> None:
    root = tmp_path / "root"
    (root / "dir").mkdir(parents=True)
    (root / ".private.html").write_text("HIDDEN SECRET")
    os.symlink(root / ".private.html", root / "dir" / "index.html")
    client = Client(App(Config(root=root)))
    assert "HIDDEN SECRET" not in client.get("/dir/").text
    assert "HIDDEN SECRET" in Client(App(Config(root=root, hidden=True))).get("/dir/").text


def test_a_plain_index_html_is_still_served(tmp_path: Path) -> None:
    (tmp_path / "dir").mkdir()
    (tmp_path / "dir" / "index.html").write_text("<p>index</p>")
    assert Client(App(Config(root=tmp_path))).get("/dir/").text == "<p>index</p>"
