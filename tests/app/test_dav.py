"""WebDAV through the app: bad input statuses, symlinks, ROOT, the trash, state across restarts."""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from porch.app import App
from porch.config import Config
from porch.http.auth import parse_grants
from porch.testing import Client, TestResponse
from tests.helpers import require_tool

LOCK = (
    b'<D:lockinfo xmlns:D="DAV:"><D:lockscope><D:exclusive/></D:lockscope>'
    b"<D:locktype><D:write/></D:locktype><D:owner>me</D:owner></D:lockinfo>"
)
PROPPATCH = (
    b'<D:propertyupdate xmlns:D="DAV:" xmlns:z="urn:z"><D:set><D:prop><z:colour>blue</z:colour>'
    b"</D:prop></D:set></D:propertyupdate>"
)


@pytest.fixture
def site(tmp_path: Path) -> Path:
    root = tmp_path / "root"
    (root / "docs" / "deep").mkdir(parents=True)
    (root / "docs" / "a.txt").write_bytes(b"a")
    (root / "docs" / "deep" / "b.txt").write_bytes(b"b")
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "secret.txt").write_bytes(b"secret")
    (root / "out").symlink_to(outside)  # a folder link leading out of ROOT
    (root / "docs" / "escape").symlink_to(outside / "secret.txt")
    return root


def make(root: Path, *, trash: bool = False) -> Client:
    config = Config(
        root=root,
        anonymous=parse_grants("write"),
        state_dir=root.parent / "state",
        trash=root.parent / "trash" if trash else None,
        allowed_hosts=("example.org",),  # the Destination tests' own name for this server
    )
    return Client(App(config))


def dav(client: Client, method: str, path: str, body: bytes = b"", **headers: str) -> TestResponse:
    return client.request(method, path, headers=headers, body=body)


def hrefs(response: TestResponse) -> list[str]:
    tree = ET.fromstring(response.body)
    return [node.text or "" for node in tree.iter("{DAV:}href")]


# -- statuses for bad input ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("method", "path", "headers", "status"),
    [
        ("COPY", "/docs/a.txt", {"Destination": "http://elsewhere.example/x.txt"}, 502),
        ("MOVE", "/docs/a.txt", {"Destination": "http://localhost:81/x.txt"}, 502),
        ("COPY", "/docs/a.txt", {"Destination": "ftp://localhost/x.txt"}, 502),
        ("COPY", "/docs/a.txt", {"Destination": "/../x.txt"}, 403),
        ("COPY", "/docs/a.txt", {"Destination": "/docs/%2e%2e/%2e%2e/x.txt"}, 403),
        ("COPY", "/docs/a.txt", {"Destination": "/out/x.txt"}, 403),  # through the link out
        ("MOVE", "/docs/a.txt", {"Destination": "/out/secret.txt"}, 403),
        ("COPY", "/docs/a.txt", {"Destination": "/docs/.hidden"}, 400),
        ("COPY", "/docs/a.txt", {"Destination": "/docs/page.html.j2"}, 400),
        ("COPY", "/docs/a.txt", {"Destination": "/missing/x.txt"}, 409),
        ("COPY", "/docs/a.txt", {}, 400),
        ("COPY", "/docs", {"Destination": "/docs/deep/copy"}, 409),  # into itself
        ("COPY", "/docs/a.txt", {"Destination": "/docs/deep/b.txt", "Overwrite": "F"}, 412),
        ("MOVE", "/", {"Destination": "/elsewhere"}, 403),
        ("DELETE", "/", {}, 403),
        ("PUT", "/.hidden", {}, 400),
        ("MKCOL", "/-", {}, 403),  # porch's reserved namespace
        # porch's own URLs: a registered one answers only its methods, and nothing may be
        # written anywhere else under /-/ either.
        ("PUT", "/-/static/x.css", {}, 405),
        ("PUT", "/-/x.css", {}, 403),
        ("COPY", "/docs/a.txt", {"Destination": "/docs/bad%0Aname"}, 400),
        ("MKCOL", "/.folder", {}, 400),
        ("PUT", "/missing/x.txt", {}, 409),
        ("MKCOL", "/missing/x", {}, 409),
        ("MKCOL", "/docs", {}, 405),
        ("PUT", "/out/new.txt", {}, 404),  # a folder out of ROOT does not exist
        ("DELETE", "/nothing", {}, 404),
        ("PROPFIND", "/docs/", {"Depth": "infinity"}, 403),
        ("PROPFIND", "/docs/", {"Depth": "2"}, 400),
        ("PROPFIND", "/out/", {"Depth": "0"}, 404),
        ("PROPFIND", "/docs/escape", {"Depth": "0"}, 404),
    ],
)
def test_bad_input_statuses(
    site: Path, method: str, path: str, headers: dict[str, str], status: int
) -> None:
    client = make(site)
    before = sorted(str(p) for p in site.parent.rglob("*") if "state" not in p.parts)
    response = dav(client, method, path, b"x" if method == "PUT" else b"", **headers)
    assert response.status == status, response.body
    after = sorted(str(p) for p in site.parent.rglob("*") if "state" not in p.parts)
    assert after == before
    assert (site.parent / "outside" / "secret.txt").read_bytes() == b"secret"


def test_propfind_infinity_names_the_precondition(site: Path) -> None:
    response = dav(make(site), "PROPFIND", "/docs/")  # no Depth means infinity
    assert response.status == 403
    assert b"propfind-finite-depth" in response.body


def test_propfind_depth_one_lists_members_not_links_out(site: Path) -> None:
    response = dav(make(site), "PROPFIND", "/", Depth="1")
    assert response.status == 207
    assert hrefs(response) == ["/", "/docs/"]  # "out" leads outside ROOT: not listed
    members = dav(make(site), "PROPFIND", "/docs/", Depth="1")
    assert hrefs(members) == ["/docs/", "/docs/a.txt", "/docs/deep/"]


def test_propfind_live_properties(site: Path) -> None:
    body = (
        b'<D:propfind xmlns:D="DAV:"><D:prop><D:getcontentlength/><D:getetag/>'
        b"<D:resourcetype/><D:quota-available-bytes/><D:nosuch/></D:prop></D:propfind>"
    )
    client = make(site)
    file = dav(client, "PROPFIND", "/docs/a.txt", body, Depth="0")
    tree = ET.fromstring(file.body)
    assert tree.findtext(".//{DAV:}getcontentlength") == "1"
    assert tree.findtext(".//{DAV:}getetag") == client.get("/docs/a.txt").headers.get("ETag")
    statuses = [n.text for n in tree.iter("{DAV:}status")]
    assert statuses == ["HTTP/1.1 200 OK", "HTTP/1.1 404 Not Found"]
    folder = ET.fromstring(dav(client, "PROPFIND", "/docs/", body, Depth="0").body)
    assert folder.find(".//{DAV:}resourcetype/{DAV:}collection") is not None
    assert int(folder.findtext(".//{DAV:}quota-available-bytes") or "0") > 0


# -- locks ----------------------------------------------------------------------------------


def test_lock_is_enforced_through_the_if_header(site: Path) -> None:
    client = make(site)
    locked = dav(client, "LOCK", "/docs/a.txt", LOCK, Timeout="Second-60")
    assert locked.status == 200
    token = locked.headers.get("Lock-Token", "").strip("<>")
    assert token.startswith("opaquelocktoken:")
    assert dav(client, "PUT", "/docs/a.txt", b"other").status == 423
    assert dav(client, "DELETE", "/docs/a.txt").status == 423
    assert dav(client, "MOVE", "/docs/a.txt", Destination="/docs/z.txt").status == 423
    assert dav(client, "PROPPATCH", "/docs/a.txt", PROPPATCH).status == 423
    assert (site / "docs" / "a.txt").read_bytes() == b"a"
    assert dav(client, "LOCK", "/docs/a.txt", LOCK).status == 423  # exclusive
    assert dav(client, "PUT", "/docs/a.txt", b"mine", If=f"(<{token}>)").status == 204
    assert dav(client, "PUT", "/docs/a.txt", b"x", If="(<opaquelocktoken:nope>)").status == 412
    assert dav(client, "UNLOCK", "/docs/a.txt", **{"Lock-Token": f"<{token}>"}).status == 204
    assert dav(client, "PUT", "/docs/a.txt", b"free").status == 204


def test_depth_infinity_lock_covers_new_members(site: Path) -> None:
    client = make(site)
    locked = dav(client, "LOCK", "/docs", LOCK, Depth="infinity")
    token = locked.headers.get("Lock-Token", "")
    assert dav(client, "PUT", "/docs/deep/new.txt", b"1").status == 423
    assert dav(client, "MKCOL", "/docs/new").status == 423
    assert dav(client, "PUT", "/docs/deep/new.txt", b"1", If=f"({token})").status == 201


def test_locks_and_properties_survive_a_restart(site: Path) -> None:
    first = make(site)
    token = dav(first, "LOCK", "/docs/a.txt", LOCK).headers.get("Lock-Token", "")
    assert dav(first, "PROPPATCH", "/docs/a.txt", PROPPATCH, If=f"({token})").status == 207
    again = make(site)  # a new App on the same state directory: a restart, or another worker
    assert dav(again, "PUT", "/docs/a.txt", b"x").status == 423
    found = dav(again, "PROPFIND", "/docs/a.txt", Depth="0")
    assert b"blue" in found.body
    assert b"opaquelocktoken:" in found.body  # lockdiscovery


def test_move_keeps_dead_properties(site: Path) -> None:
    client = make(site)
    assert dav(client, "PROPPATCH", "/docs/a.txt", PROPPATCH).status == 207
    assert dav(client, "MOVE", "/docs/a.txt", Destination="/docs/moved.txt").status == 201
    assert b"blue" in dav(client, "PROPFIND", "/docs/moved.txt", Depth="0").body


# -- symlinks and ROOT ------------------------------------------------------------------------


def test_delete_of_a_link_removes_the_link_only(site: Path) -> None:
    client = make(site)
    assert dav(client, "DELETE", "/out").status == 204
    assert not os.path.lexists(site / "out")
    assert (site.parent / "outside" / "secret.txt").read_bytes() == b"secret"


def test_recursive_copy_move_delete_never_follow_links_out(site: Path) -> None:
    client = make(site)
    assert dav(client, "COPY", "/docs", Destination="/copy").status == 201
    assert (site / "copy" / "escape").is_symlink()  # copied as a link, not as its target
    assert client.get("/copy/escape").status == 404  # and still not readable
    assert dav(client, "MOVE", "/copy", Destination="/moved").status == 201
    assert dav(client, "DELETE", "/moved").status == 204
    assert dav(client, "DELETE", "/docs").status == 204
    assert (site.parent / "outside" / "secret.txt").read_bytes() == b"secret"
    assert sorted(p.name for p in site.iterdir()) == ["out"]


def test_copy_and_move_of_a_tree(site: Path) -> None:
    client = make(site)
    assert dav(client, "COPY", "/docs", Destination="http://localhost/c1").status == 201
    assert (site / "c1" / "deep" / "b.txt").read_bytes() == b"b"
    assert dav(client, "COPY", "/docs", Destination="/c0", Depth="0").status == 201
    assert list((site / "c0").iterdir()) == []
    assert dav(client, "COPY", "/docs", Destination="/c1").status == 204  # overwrite
    assert dav(client, "MOVE", "/c1", Destination="/c2").status == 201
    assert not (site / "c1").exists()
    assert (site / "c2" / "a.txt").read_bytes() == b"a"
    leftovers = list(site.rglob(".porch-*"))
    assert leftovers == []


# -- the trash --------------------------------------------------------------------------------


def test_delete_and_overwrite_go_to_the_trash_and_come_back(site: Path) -> None:
    client = make(site, trash=True)
    deleted = dav(client, "DELETE", "/docs/deep")
    assert deleted.status == 204
    first = deleted.headers.get("Porch-Trash-Id", "")
    replaced = dav(client, "PUT", "/docs/a.txt", b"new")
    assert replaced.status == 204
    second = replaced.headers.get("Porch-Trash-Id", "")
    assert first
    assert second
    assert first != second
    listing = client.get("/-/trash/").json()
    assert isinstance(listing, dict)
    items = listing["items"]
    assert [i["id"] for i in items] == [second, first]  # newest first
    assert items[0]["kind"] == "overwritten"
    assert items[0]["path"] == "/docs/a.txt"
    assert items[0]["size"] == 1
    assert items[1]["kind"] == "deleted"
    assert items[1]["is_dir"] is True
    assert items[1]["path"] == "/docs/deep/"
    assert items[1]["name"] == "deep"
    assert "T" in items[1]["deleted_at"]
    form = {"Content-Type": "application/x-www-form-urlencoded"}
    restored = client.post("/-/trash/restore", headers=form, body=f"id={first}".encode())
    assert restored.status == 201
    assert (site / "docs" / "deep" / "b.txt").read_bytes() == b"b"
    # the old a.txt cannot come back while the new one has its name
    conflict = client.post("/-/trash/restore", headers=form, body=f"id={second}".encode())
    assert conflict.status == 409
    assert (site / "docs" / "a.txt").read_bytes() == b"new"
    again = client.post("/-/trash/restore", headers=form, body=f"id={first}".encode())
    assert again.status == 404


def test_move_over_an_existing_item_trashes_it(site: Path) -> None:
    client = make(site, trash=True)
    response = dav(client, "MOVE", "/docs/a.txt", Destination="/docs/deep/b.txt")
    assert response.status == 204
    item_id = response.headers.get("Porch-Trash-Id", "")
    (trashed,) = [i for i in client.get("/-/trash/").json()["items"] if i["id"] == item_id]  # type: ignore[index]
    assert trashed["kind"] == "overwritten"
    assert (site / "docs" / "deep" / "b.txt").read_bytes() == b"a"
    trash_copy = site.parent / "trash" / item_id / "item"
    assert trash_copy.read_bytes() == b"b"


def test_trash_lists_only_what_the_caller_may_write(site: Path) -> None:
    writer = make(site, trash=True)
    assert dav(writer, "DELETE", "/docs/a.txt").status == 204
    reader = Client(
        App(
            Config(
                root=site,
                anonymous=parse_grants("read,add@/docs"),
                state_dir=site.parent / "state",
                trash=site.parent / "trash",
            )
        )
    )
    assert reader.get("/-/trash/").json() == {"items": []}
    assert len(writer.get("/-/trash/").json()["items"]) == 1  # type: ignore[index]


# -- limits -----------------------------------------------------------------------------------


def test_dav_body_limit_at_n_and_n_plus_one(site: Path) -> None:
    config = Config(
        root=site, anonymous=parse_grants("write"), state_dir=site.parent / "s", max_dav_body=200
    )
    client = Client(App(config))
    head = b'<propfind xmlns="DAV:"><prop><getetag/></prop></propfind>'
    exactly = head + b" " * (200 - len(head))
    assert dav(client, "PROPFIND", "/docs/a.txt", exactly, Depth="0").status == 207
    assert dav(client, "PROPFIND", "/docs/a.txt", exactly + b" ", Depth="0").status == 413


def test_lock_timeout_is_capped(site: Path) -> None:
    config = Config(
        root=site, anonymous=parse_grants("write"), state_dir=site.parent / "s", max_lock_timeout=90
    )
    client = Client(App(config))
    asked = dav(client, "LOCK", "/docs/a.txt", LOCK, Timeout="Second-90")
    assert b"Second-90" in asked.body
    token = asked.headers.get("Lock-Token", "")
    dav(client, "UNLOCK", "/docs/a.txt", **{"Lock-Token": token})
    capped = dav(client, "LOCK", "/docs/a.txt", LOCK, Timeout="Second-91")
    assert b"Second-90" in capped.body
    infinite = dav(client, "LOCK", "/docs/deep/b.txt", LOCK, Timeout="Infinite")
    assert b"Second-90" in infinite.body


def test_upload_dir_put_replace_goes_to_the_trash(site: Path) -> None:
    config = Config(
        root=site,
        upload_dir=site / "docs",
        state_dir=site.parent / "s",
        trash=site.parent / "trash",
    )
    client = Client(App(config))  # no access control: uploads into --upload-dir as before
    assert client.put("/docs/a.txt", body=b"refused").status == 409  # --on-conflict refuse
    replaced = client.put("/docs/a.txt?on-conflict=replace", body=b"replacement")
    assert replaced.status == 204
    item_id = replaced.headers.get("Porch-Trash-Id", "")
    assert (site.parent / "trash" / item_id / "item").read_bytes() == b"a"
    assert (site / "docs" / "a.txt").read_bytes() == b"replacement"


def test_form_posted_to_a_folder_saves_there_with_a_tree_grant(site: Path) -> None:
    client = make(site)  # --anonymous write, no --upload-dir
    boundary = "b0undary"
    body = (
        f"--{boundary}\r\nContent-Disposition: form-data; name=file; filename=form.txt\r\n"
        f"Content-Type: text/plain\r\n\r\nfrom a form\r\n--{boundary}--\r\n"
    ).encode()
    headers = {"Content-Type": f"multipart/form-data; boundary={boundary}", "Accept": "*/*"}
    saved = client.post("/docs/deep/", headers=headers, body=body)
    assert saved.status == 201
    assert (site / "docs" / "deep" / "form.txt").read_bytes() == b"from a form"
    again = client.post("/docs/deep/", headers=headers, body=body)
    assert again.status == 409  # a form only ever adds
    assert (site / "docs" / "deep" / "form.txt").read_bytes() == b"from a form"


@pytest.mark.parametrize(
    ("method", "path", "headers"),
    [
        ("POST", "/evil.html", {"Content-Type": "text/plain"}),
        ("PUT", "/evil.html", {}),
        ("DELETE", "/docs/a.txt", {}),
        ("MOVE", "/docs/a.txt", {"Destination": "/docs/z.txt"}),
        ("MKCOL", "/made", {}),
    ],
)
def test_writes_from_another_site_are_refused(
    site: Path, method: str, path: str, headers: dict[str, str]
) -> None:
    client = make(site)
    for origin in ({"Origin": "http://evil.example"}, {"Sec-Fetch-Site": "cross-site"}):
        response = dav(client, method, path, b"<script>", **headers, **origin)
        assert response.status == 403
    assert not (site / "evil.html").exists()
    assert not (site / "made").exists()
    assert (site / "docs" / "a.txt").read_bytes() == b"a"
    same = dav(client, "MKCOL", "/made", Origin="http://localhost")
    assert same.status == 201


def test_delete_reports_members_it_could_not_remove_in_a_207(site: Path) -> None:
    require_tool(shutil.which("chattr") is not None, "chattr (e2fsprogs) is not installed")
    stuck = site / "docs" / "deep" / "b.txt"
    if subprocess.run(["chattr", "+i", str(stuck)], capture_output=True, check=False).returncode:
        pytest.skip("this file system cannot mark a file immutable (chattr +i)")
    try:
        response = dav(make(site), "DELETE", "/docs")
        assert response.status == 207
        assert hrefs(response) == ["/docs/deep/b.txt"]
        assert b"403" in response.body
        assert stuck.exists()
        assert not (site / "docs" / "a.txt").exists()  # the rest is gone
    finally:
        subprocess.run(["chattr", "-i", str(stuck)], capture_output=True, check=False)


def test_locked_answer_in_json_for_the_page(site: Path) -> None:
    client = make(site)
    dav(client, "LOCK", "/docs/a.txt", LOCK)
    xml = dav(client, "DELETE", "/docs/a.txt")
    assert (xml.status, b"lock-token-submitted" in xml.body) == (423, True)
    page = dav(client, "DELETE", "/docs/a.txt", Accept="application/json")
    assert page.status == 423
    assert page.json() == {"status": 423, "error": "Locked", "detail": "the resource is locked"}


def test_http_preconditions_guard_overwrites(site: Path) -> None:
    client = make(site)
    etag = client.get("/docs/a.txt").headers.get("ETag", "")
    assert dav(client, "PUT", "/docs/a.txt", b"x", **{"If-None-Match": "*"}).status == 412
    assert dav(client, "PUT", "/docs/a.txt", b"x", **{"If-Match": '"other"'}).status == 412
    assert dav(client, "DELETE", "/docs/a.txt", **{"If-Match": '"other"'}).status == 412
    assert (site / "docs" / "a.txt").read_bytes() == b"a"
    assert dav(client, "PUT", "/docs/new.txt", b"n", **{"If-None-Match": "*"}).status == 201
    assert dav(client, "PUT", "/docs/nope.txt", b"n", **{"If-Match": "*"}).status == 412
    assert dav(client, "PUT", "/docs/a.txt", b"y", **{"If-Match": etag}).status == 204
    assert (site / "docs" / "a.txt").read_bytes() == b"y"


def test_trash_on_another_file_system_copies_verifies_then_removes(site: Path) -> None:
    shm = Path("/dev/shm")
    if not shm.is_dir() or shm.stat().st_dev == site.stat().st_dev:
        pytest.skip("no second file system (/dev/shm) to put the trash on")
    trash = Path(tempfile.mkdtemp(dir=shm, prefix="porch-trash-test-"))
    try:
        config = Config(
            root=site, anonymous=parse_grants("write"), state_dir=site.parent / "s", trash=trash
        )
        client = Client(App(config))
        deleted = dav(client, "DELETE", "/docs")
        assert deleted.status == 204
        item = trash / deleted.headers.get("Porch-Trash-Id", "") / "item"
        assert (item / "deep" / "b.txt").read_bytes() == b"b"
        assert (item / "escape").is_symlink()  # the link, not what it points to
        assert not (site / "docs").exists()
        assert list(site.rglob(".porch-*")) == []
        restored = client.post(
            "/-/trash/restore",
            headers={"Content-Type": "application/x-www-form-urlencoded"},
            body=f"id={deleted.headers.get('Porch-Trash-Id')}".encode(),
        )
        assert restored.status == 201
        assert (site / "docs" / "deep" / "b.txt").read_bytes() == b"b"
    finally:
        shutil.rmtree(trash, ignore_errors=True)


@pytest.mark.parametrize(
    ("host", "destination", "status"),
    [
        ("example.org:8000", "http://example.org:8000/docs/c.txt", 201),
        ("Example.ORG:8000", "http://example.org:8000/docs/c.txt", 201),  # names ignore case
        ("example.org", "http://example.org/docs/c.txt", 201),
        ("example.org", "https://example.org/docs/c.txt", 201),  # behind a TLS proxy
        ("example.org", "http://example.org:8080/docs/c.txt", 502),
        ("example.org:8000", "http://example.org/docs/c.txt", 502),
        ("example.org:8000", "http://example.org.evil:8000/docs/c.txt", 502),
        ("example.org:8000", "http://user@evil.example:8000/docs/c.txt", 502),
        ("[::1]:8000", "http://[::1]:8000/docs/c.txt", 201),
        ("[::1]:8000", "http://[::2]:8000/docs/c.txt", 502),
        ("example.org", "//example.org/docs/c.txt", 502),  # no scheme: not a URL on this server
    ],
)
def test_destination_must_name_this_server(
    site: Path, host: str, destination: str, status: int
) -> None:
    response = dav(make(site), "COPY", "/docs/a.txt", Host=host, Destination=destination)
    assert response.status == status
    assert (site / "docs" / "c.txt").exists() is (status == 201)
