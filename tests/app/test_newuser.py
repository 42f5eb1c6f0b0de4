"""Issue 19 through porch.testing: name conflicts, the page knowing its visitor, signing in."""

from __future__ import annotations

import base64
import json
import os
from pathlib import Path

import pytest

from porch.app import App
from porch.app.uploads import numbered_name
from porch.config import Config
from porch.http.auth import Account, parse_grants
from porch.testing import Client
from tests.security_helpers import quick_hash

HTML = {"Accept": "text/html"}
JSON = {"Accept": "application/json"}


def basic(user: str, password: str) -> dict[str, str]:
    token = base64.b64encode(f"{user}:{password}".encode()).decode()
    return {"Authorization": f"Basic {token}"}


@pytest.fixture
def updir(tmp_path: Path) -> Path:
    path = tmp_path / "up"
    path.mkdir()
    (path / "a.txt").write_bytes(b"old")
    return path


def client(root: Path, on_conflict: str = "refuse") -> Client:
    return Client(App(Config(root=root, upload_dir=root, on_conflict=on_conflict)))


@pytest.mark.parametrize(
    ("name", "number", "expected"),
    [
        ("photo.jpg", 1, "photo (1).jpg"),
        ("notes", 2, "notes (2)"),
        ("site.tar.gz", 1, "site (1).tar.gz"),
        ("a.b.c", 3, "a.b (3).c"),
        ("x.", 1, "x (1)."),
    ],
)
def test_numbered_names(name: str, number: int, expected: str) -> None:
    assert numbered_name(name, number) == expected


@pytest.mark.parametrize("method", ["POST", "PUT"])
def test_refuse_is_the_default_for_post_and_put(updir: Path, method: str) -> None:
    response = client(updir).request(method, "/a.txt", body=b"new")
    assert response.status == 409
    assert (updir / "a.txt").read_bytes() == b"old"


@pytest.mark.parametrize("method", ["POST", "PUT"])
def test_rename_keeps_both_with_numbered_names(updir: Path, method: str) -> None:
    app = client(updir, "rename")
    first = app.request(method, "/a.txt", body=b"one", headers=JSON)
    second = app.request(method, "/a.txt", body=b"two", headers=JSON)
    assert (first.status, second.status) == (201, 201)
    assert json.loads(first.body)["name"] == "a (1).txt"
    assert second.headers.get("Location") == "/a%20%282%29.txt"
    assert (updir / "a.txt").read_bytes() == b"old"
    assert (updir / "a (1).txt").read_bytes() == b"one"
    assert (updir / "a (2).txt").read_bytes() == b"two"


def test_replace_on_the_server_or_per_request(updir: Path) -> None:
    assert client(updir, "replace").post("/a.txt", body=b"new").status == 200
    assert (updir / "a.txt").read_bytes() == b"new"
    assert client(updir, "replace").put("/a.txt", body=b"newer").status == 204
    assert client(updir).put("/a.txt?on-conflict=replace", body=b"put").status == 204
    assert (updir / "a.txt").read_bytes() == b"put"
    assert client(updir).post("/a.txt?on-conflict=rename", body=b"r").status == 201
    assert (updir / "a (1).txt").read_bytes() == b"r"
    assert client(updir).post("/a.txt?on-conflict=maybe", body=b"r").status == 400


def test_forms_follow_the_policy(updir: Path) -> None:
    boundary = "XyZ"
    body = (
        f'--{boundary}\r\nContent-Disposition: form-data; name="f"; filename="a.txt"\r\n\r\n'
        f"one\r\n--{boundary}\r\n"
        f'Content-Disposition: form-data; name="f"; filename="a.txt"\r\n\r\ntwo\r\n'
        f"--{boundary}--\r\n"
    ).encode()
    headers = {"Content-Type": f"multipart/form-data; boundary={boundary}", **JSON}
    assert client(updir).post("/", body=body, headers=headers).status == 409
    assert sorted(os.listdir(updir)) == ["a.txt"]
    renamed = client(updir).post("/?on-conflict=rename", body=body, headers=headers)
    assert renamed.status == 201
    assert [item["name"] for item in json.loads(renamed.body)] == ["a (1).txt", "a (2).txt"]
    assert (updir / "a.txt").read_bytes() == b"old"


def test_rename_gives_up_with_409_after_the_last_number(updir: Path) -> None:
    from porch.app import uploads

    original = uploads.MAX_RENAMES
    uploads.MAX_RENAMES = 2
    try:
        app = client(updir, "rename")
        assert app.post("/a.txt", body=b"1").status == 201
        assert app.post("/a.txt", body=b"2").status == 201
        assert app.post("/a.txt", body=b"3").status == 409
    finally:
        uploads.MAX_RENAMES = original
    assert sorted(os.listdir(updir)) == ["a (1).txt", "a (2).txt", "a.txt"]


# -- the page knows who you are -------------------------------------------------------------


@pytest.fixture
def shared(tmp_path: Path) -> Client:
    """docs/security.md's pattern: bob may write in /incoming, anonymous may read."""
    root = tmp_path / "share"
    (root / "incoming").mkdir(parents=True)
    (root / "readme.txt").write_text("hi\n")
    accounts = (Account("bob", quick_hash("pw"), parse_grants("read,write@/incoming")),)
    config = Config(
        root=root.resolve(),
        upload_dir=(root / "incoming").resolve(),
        accounts=accounts,
        anonymous=parse_grants("read"),
    )
    return Client(App(config))


def test_anonymous_readers_get_a_sign_in_link_not_the_upload_form(shared: Client) -> None:
    page = shared.get("/incoming/", headers=HTML).body.decode()
    assert 'id="dropzone"' not in page
    assert 'href="/?login&amp;next=/incoming/"' in page
    assert "Sign in</a> to upload files here" in page
    assert "Uploads go to" not in shared.get("/", headers=HTML).body.decode()


def test_signed_in_writer_sees_their_name_and_the_form_posting_to_the_folder(
    shared: Client,
) -> None:
    page = shared.get("/incoming/", headers={**HTML, **basic("bob", "pw")}).body.decode()
    assert "Signed in as </span><strong>bob</strong>" in page
    assert 'id="dropzone"' in page
    assert 'data-post-url="/incoming/"' in page
    assert 'data-replace="yes"' in page
    assert "Sign in" not in page


def test_sign_in_challenges_until_credentials_pass_then_redirects_back(shared: Client) -> None:
    challenge = shared.get("/?login&next=/incoming/")
    assert challenge.status == 401
    assert challenge.headers.get("WWW-Authenticate", "").startswith("Basic ")
    assert shared.get("/?login&next=/incoming/", headers=basic("bob", "nope")).status == 401
    done = shared.get("/?login&next=/incoming/", headers=basic("bob", "pw"))
    assert done.status == 303
    assert done.headers.get("Location") == "/incoming/"


def test_the_reserved_login_url_leads_to_the_sign_in_action(shared: Client) -> None:
    done = shared.get("/-/login?next=/incoming/")
    assert done.status == 303
    assert done.headers.get("Location") == "/?login&next=/incoming/"
    assert shared.get("/-/login?next=//evil/").headers.get("Location") == "/?login&next=/"


@pytest.mark.parametrize("target", ["//evil.example/", "/\\evil.example", "https://evil/", ""])
def test_sign_in_never_redirects_off_site(shared: Client, target: str) -> None:
    done = shared.get("/?login&next=" + target, headers=basic("bob", "pw"))
    assert done.headers.get("Location") == "/"


def test_without_accounts_there_is_no_sign_in(updir: Path) -> None:
    page = client(updir).get("/?login", headers=HTML)
    assert page.status == 200
    assert "Sign in" not in page.body.decode()
