#!/usr/bin/env python3
"""Coverage-guided fuzz target: upload names -> the name rules and a real ``App`` with uploads.

Input layout: byte 0 bit 0 picks the upload directory (ROOT/incoming, served, or one outside
ROOT), bits 1-2 the way the name travels (raw PUT to ``/<percent-encoded name>``, raw POST,
PUT with slashes left raw, a multipart form with ``filename*``); the rest is the name in
UTF-8 (invalid bytes replaced). Invariants (as tests/app/test_fuzz_upload_names.py): the verdict
of ``porch.app.uploads.check_name`` equals the documented rule; through the app, an acceptable
name gets 201 and exactly one new file, ``DIR/<name>`` with the bytes sent, and nothing else
changes (fetchable back at its Location when DIR is served); any other name gets 400 and the
whole tree (hidden files included) is unchanged.
"""

from __future__ import annotations

import asyncio
import hashlib
import os
import sys
import tempfile
import urllib.parse
from pathlib import Path

import atheris

HERE = Path(__file__).resolve().parent
sys.path[:0] = [str(HERE.parent / "src"), str(HERE.parent)]

with atheris.instrument_imports(include=["porch"]):
    from porch.app import App
    from porch.app.uploads import check_name
    from porch.config import Config
    from porch.http import HTTPError
    from porch.testing import Client

from tests.app.test_fuzz_upload_names import acceptable, snapshot  # noqa: E402

BODY = b"fuzzed upload\n"
BASE = Path(tempfile.mkdtemp(prefix="porch-fuzz-names-")).resolve()
ROOT = BASE / "site"
(ROOT / "sub").mkdir(parents=True)
(ROOT / "hello.txt").write_bytes(b"hello\n")
(ROOT / "page.j2").write_bytes(b"{{ 1 }}\n")
DIRS = (ROOT / "incoming", BASE / "outside")
for directory in DIRS:
    directory.mkdir()
CLIENTS = [Client(App(Config(root=ROOT, upload_dir=directory))) for directory in DIRS]
LOOP = asyncio.new_event_loop()
HOWS = ("put", "post", "put-raw-slashes", "form")


def send(client: Client, how: str, name: str) -> tuple[int, str | None]:
    if how == "form":
        disposition = f"form-data; name=\"f\"; filename*=UTF-8''{urllib.parse.quote(name)}"
        body = (
            b"--B\r\nContent-Disposition: "
            + disposition.encode("ascii")
            + b"\r\n\r\n"
            + BODY
            + b"\r\n--B--\r\n"
        )
        headers = {"Content-Type": "multipart/form-data; boundary=B"}
        request = client.arequest("POST", "/", headers=headers, body=body)
    else:
        target = "/" + urllib.parse.quote(name, safe="/" if how == "put-raw-slashes" else "")
        request = client.arequest("POST" if how == "post" else "PUT", target, body=BODY)
    response = LOOP.run_until_complete(request)
    return response.status, response.headers.get("Location")


def test_one_input(raw: bytes) -> None:
    if not raw:
        return
    where, how = raw[0] & 1, HOWS[(raw[0] >> 1) & 3]
    name = raw[1:].decode("utf-8", "replace")
    served = where == 0
    try:
        accepted = check_name(name) == name
    except HTTPError as error:
        assert error.status == 400  # noqa: PT017 (not a pytest test)
        accepted = False
    assert accepted == acceptable(name, served=False), name
    if served and how == "put-raw-slashes" and name.startswith("incoming/") and name[9:]:
        name_sent, name = name, name[9:]
    else:
        name_sent = name
    before = snapshot(BASE)
    status, location = send(CLIENTS[where], how, name_sent)
    after = snapshot(BASE)
    if not acceptable(name, served):
        assert status == 400, (name, status)
        assert after == before, f"{name!r} refused but the tree changed"
        return
    saved = DIRS[where] / name
    try:
        assert status == 201, (name, status)
        key = os.path.relpath(saved, BASE)
        added = {k: after[k] for k in after.keys() - before.keys()}
        assert added == {key: hashlib.sha256(BODY).hexdigest()}, (name, added)
        assert {k: after[k] for k in before} == before
        if served:
            assert location == "/incoming/" + urllib.parse.quote(name)
            fetched = LOOP.run_until_complete(CLIENTS[where].arequest("GET", location))
            assert (fetched.status, fetched.body) == (200, BODY), (name, fetched.status)
    finally:
        if os.path.lexists(saved):
            os.unlink(saved)


def main() -> None:
    atheris.Setup(sys.argv, test_one_input)
    atheris.Fuzz()


if __name__ == "__main__":
    main()
