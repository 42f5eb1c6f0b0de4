"""Access rules with uploads on: (anonymous, reader, writer) x (raw POST, PUT, form POST) x
(allowed prefix, other prefix).

The upload directory is ROOT/incoming, served at ``/incoming/``. The writer holds
``write@/incoming``, the reader and anonymous clients ``read@/incoming``. A raw upload goes to
``/incoming/NAME`` (the URL the file will be served at, which the writer's grant covers) or
``/admin/NAME``; a form goes to the directory URL ``/incoming/`` or ``/admin/``. The writer's
uploads under the allowed prefix land (the file exists with the bytes sent); every other
request gets 401 (no credentials) or 403 (a user without the right), and nothing is written
anywhere: the whole tree, hidden files included, is compared before and after.
"""

from __future__ import annotations

import base64
import hashlib
import os
from pathlib import Path

import pytest

from porch.app import App
from porch.config import Config
from porch.http.auth import Account, parse_grants
from porch.testing import Client, TestResponse
from tests.security_helpers import quick_hash

PASSWORDS = {"reader": "read-pw", "writer": "write-pw"}
ALLOWED, OTHER = "/incoming", "/admin"
ACTIONS = ("POST", "PUT", "form")


@pytest.fixture(scope="module")
def root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("access-uploads").resolve()
    for top in ("incoming", "admin"):
        (root / top).mkdir()
        (root / top / "a.txt").write_text(f"{top} file\n")
    return root


@pytest.fixture(scope="module")
def client(root: Path) -> Client:
    accounts = (
        Account("reader", quick_hash(PASSWORDS["reader"]), parse_grants(f"read@{ALLOWED}")),
        Account("writer", quick_hash(PASSWORDS["writer"]), parse_grants(f"write@{ALLOWED}")),
    )
    config = Config(
        root=root,
        upload_dir=root / "incoming",
        accounts=accounts,
        anonymous=parse_grants(f"read@{ALLOWED}"),
    )
    return Client(App(config))


def snapshot(base: Path) -> dict[str, str]:
    tree: dict[str, str] = {}
    for directory, dirnames, filenames in os.walk(base):
        for name in dirnames:
            tree[os.path.relpath(os.path.join(directory, name), base)] = "dir"
        for name in filenames:
            path = os.path.join(directory, name)
            with open(path, "rb") as file:
                tree[os.path.relpath(path, base)] = hashlib.sha256(file.read()).hexdigest()
    return tree


def credentials(who: str) -> dict[str, str]:
    if who == "anonymous":
        return {}
    token = base64.b64encode(f"{who}:{PASSWORDS[who]}".encode()).decode()
    return {"Authorization": f"Basic {token}"}


def upload(client: Client, who: str, action: str, top: str, name: str, data: bytes) -> TestResponse:
    headers = credentials(who)
    if action == "form":
        body = (
            b'--XyZ\r\nContent-Disposition: form-data; name="file"; filename="'
            + name.encode()
            + b'"\r\nContent-Type: application/octet-stream\r\n\r\n'
            + data
            + b"\r\n--XyZ--\r\n"
        )
        headers["Content-Type"] = "multipart/form-data; boundary=XyZ"
        headers["Accept"] = "application/json"
        return client.post(f"{top}/", headers=headers, body=body)
    return client.request(action, f"{top}/{name}", headers=headers, body=data)


TABLE = [
    (who, action, top)
    for who in ("anonymous", "reader", "writer")
    for action in ACTIONS
    for top in (ALLOWED, OTHER)
]


@pytest.mark.parametrize(("who", "action", "top"), TABLE)
def test_only_the_writer_under_its_prefix_writes(
    root: Path, client: Client, who: str, action: str, top: str
) -> None:
    name = f"{who}-{action}-{top.strip('/')}.bin"
    data = f"{who} {action} {top}\n".encode() * 100
    before = snapshot(root)
    response = upload(client, who, action, top, name, data)
    after = snapshot(root)
    if who == "writer" and top == ALLOWED:
        saved = root / "incoming" / name
        try:
            assert response.status == 201, response.body
            assert saved.read_bytes() == data
            assert after.keys() - before.keys() == {f"incoming/{name}"}
            assert {key: after[key] for key in before} == before
            assert response.headers.get("Location") == f"/incoming/{name}"
        finally:
            saved.unlink(missing_ok=True)
        return
    assert after == before, f"{who} {action} {top} wrote something"
    if who == "anonymous":
        assert response.status == 401
        assert response.headers.get("WWW-Authenticate") == 'Basic realm="porch", charset="UTF-8"'
    else:
        assert response.status == 403
        assert "WWW-Authenticate" not in response.headers


def test_the_writer_reads_back_and_replaces_at_the_location(root: Path, client: Client) -> None:
    writer = credentials("writer")
    created = client.put("/incoming/round.txt", headers=writer, body=b"one\n")
    try:
        assert created.status == 201
        location = created.headers.get("Location")
        assert location == "/incoming/round.txt"
        assert client.get(location).body == b"one\n"  # anonymous may read there
        assert client.put(location, headers=writer, body=b"two\n").status == 409  # refuse
        replaced = client.put(location + "?on-conflict=replace", headers=writer, body=b"two\n")
        assert replaced.status == 204
        assert (root / "incoming" / "round.txt").read_bytes() == b"two\n"
        assert client.post(location, headers=writer, body=b"three\n").status == 409
    finally:
        (root / "incoming" / "round.txt").unlink(missing_ok=True)


def test_a_grant_cannot_be_dodged_through_the_other_upload_url(root: Path, client: Client) -> None:
    # /NAME also saves into DIR, but the writer's grant covers only /incoming: refused.
    before = snapshot(root)
    response = client.post("/top.txt", headers=credentials("writer"), body=b"x")
    assert response.status == 403
    assert snapshot(root) == before


def test_refused_uploads_leave_an_existing_file_alone(root: Path, client: Client) -> None:
    for who in ("anonymous", "reader"):
        response = client.put("/incoming/a.txt", headers=credentials(who), body=b"overwritten")
        assert response.status in (401, 403)
    assert (root / "incoming" / "a.txt").read_text() == "incoming file\n"
