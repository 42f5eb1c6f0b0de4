"""Property test: generated upload names through the name rules and through the real ``App``.

A name is either accepted and saved exactly as ``DIR/<name>`` — one path component directly
inside DIR, never elsewhere, never hidden, never ``.j2`` when DIR is inside ROOT, at most 255
bytes in UTF-8, and (when DIR is served) fetchable back at its ``Location`` — or refused
with 400 and nothing written anywhere: the whole tree holding ROOT and both upload
directories is compared before and after every request, hidden files included.

The expected verdict is computed here from the rules in docs/uploads.md, not by calling
porch. Names travel four ways: raw POST and PUT to ``/<percent-encoded name>``, PUT with
slashes left raw (``/a/b``; ``/incoming/NAME`` is DIR's own URL and names NAME), and a
``multipart/form-data`` POST with the name as an RFC 5987 ``filename*``.
"""

from __future__ import annotations

import hashlib
import os
import unicodedata
import urllib.parse
from dataclasses import dataclass
from pathlib import Path

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from porch.app import App
from porch.app.uploads import check_name
from porch.config import Config
from porch.http import HTTPError
from porch.testing import Client, TestResponse

BODY = b"uploaded bytes\n"


@dataclass
class Setup:
    base: Path
    root: Path
    inside: Path
    outside: Path
    clients: dict[str, Client]


@pytest.fixture(scope="module")
def setup(tmp_path_factory: pytest.TempPathFactory) -> Setup:
    base = tmp_path_factory.mktemp("names").resolve()
    root = base / "site"
    (root / "sub").mkdir(parents=True)
    (root / "hello.txt").write_text("hello\n")
    (root / "sub" / "x.txt").write_text("x\n")
    (root / "page.j2").write_text("{{ 1 }}\n")
    inside = root / "incoming"
    inside.mkdir()
    outside = base / "outside"
    outside.mkdir()
    clients = {
        "inside": Client(App(Config(root=root, upload_dir=inside))),
        "outside": Client(App(Config(root=root, upload_dir=outside))),
    }
    return Setup(base, root, inside, outside, clients)


def snapshot(base: Path) -> dict[str, str]:
    """Every entry under ``base`` (hidden ones too): path -> kind and, for files, a digest."""
    tree: dict[str, str] = {}
    for directory, dirnames, filenames in os.walk(base):
        for name in dirnames:
            tree[os.path.relpath(os.path.join(directory, name), base)] = "dir"
        for name in filenames:
            path = os.path.join(directory, name)
            with open(path, "rb") as file:
                tree[os.path.relpath(path, base)] = hashlib.sha256(file.read()).hexdigest()
    return tree


def acceptable(name: str, served: bool) -> bool:
    """docs/uploads.md's name rules, written out independently of porch.app.uploads."""
    return (
        name != ""
        and "/" not in name
        and "\\" not in name
        and not name.startswith(".")
        and not any(unicodedata.category(char) == "Cc" for char in name)
        # Issue 17: format controls (bidi, zero-width) except ZWNJ and ZWJ; no index.html
        # where it would replace a served folder's listing.
        and not any(unicodedata.category(c) == "Cf" and c not in "\u200c\u200d" for c in name)
        and not (served and name.lower() == "index.html")
        and len(name.encode("utf-8")) <= 255
        and not (served and name.lower().endswith(".j2"))
        and not (len(name) >= 2 and name[1] == ":" and name[0].isascii() and name[0].isalpha())
    )


ALPHABET = st.characters(blacklist_categories=["Cs"], max_codepoint=0x10FFFF) | st.sampled_from(
    list("./\\:%?#;= \t\x00\x01\x1f\x7f\x85\x9f\u202e\u00e9\u4e2d\U0001f600")
)
names = (
    st.text(ALPHABET, max_size=12)
    | st.builds(lambda rest: "incoming/" + rest, st.text(ALPHABET, max_size=6))
    | st.sampled_from(
        [
            ".",
            "..",
            "...",
            ".j2",
            "a.j2",
            "a.J2",
            "a.j2.txt",
            "C:x",
            "c:",
            "-",
            "%2e",
            "a b",
            "index.html",
            "Index.HTML",
            "a\u200db",
            "\u200bx",
            "\xadx",
        ]
    )
    | st.builds(lambda n, e: "a" * n + "é" * e, st.integers(120, 256), st.integers(0, 70))
    | st.builds(lambda a, b: a + b, st.text(ALPHABET, max_size=6), st.sampled_from([".j2", "/x"]))
)


def send(client: Client, how: str, name: str) -> TestResponse:
    if how == "form":
        disposition = f"form-data; name=\"file\"; filename*=UTF-8''{urllib.parse.quote(name)}"
        body = (
            b"--B\r\nContent-Disposition: " + disposition.encode("ascii") + b"\r\n"
            b"Content-Type: application/octet-stream\r\n\r\n" + BODY + b"\r\n--B--\r\n"
        )
        headers = {"Content-Type": "multipart/form-data; boundary=B"}
        return client.post("/", headers=headers, body=body)
    safe = "/" if how == "put-raw-slashes" else ""
    method = "POST" if how == "post" else "PUT"
    return client.request(method, "/" + urllib.parse.quote(name, safe=safe), body=BODY)


@settings(max_examples=300, deadline=None)
@given(
    name=names,
    where=st.sampled_from(["inside", "outside"]),
    how=st.sampled_from(["post", "put", "put-raw-slashes", "form"]),
)
@example(name="C:x", where="outside", how="post")
@example(name="a" * 255, where="inside", how="put")
@example(name="a" * 256, where="inside", how="put")
@example(name="é" * 127 + "a", where="inside", how="form")  # 255 bytes
@example(name="é" * 128, where="inside", how="form")  # 256 bytes
@example(name="x.j2", where="outside", how="post")  # not served: allowed
@example(name="../hello.txt", where="inside", how="put-raw-slashes")
@example(name="sub/x.txt", where="inside", how="put-raw-slashes")
@example(name="incoming/x.txt", where="inside", how="put-raw-slashes")  # saved as x.txt
@example(name="incoming/a/b", where="inside", how="put-raw-slashes")
@example(name="incoming/x.txt", where="outside", how="put-raw-slashes")  # not served: 400
def test_a_name_is_saved_exactly_there_or_refused_with_nothing_written(
    setup: Setup, name: str, where: str, how: str
) -> None:
    directory = setup.inside if where == "inside" else setup.outside
    served = where == "inside"
    if served and how == "put-raw-slashes" and name.startswith("incoming/") and name[9:]:
        # /incoming/NAME is DIR's own URL: it names NAME (docs/uploads.md).
        name_sent, name = name, name[9:]
    else:
        name_sent = name
    expected = acceptable(name, served)
    before = snapshot(setup.base)
    response = send(setup.clients[where], how, name_sent)
    after = snapshot(setup.base)
    if not expected:
        assert response.status == 400, (name, response.status, response.body)
        assert after == before, f"{name!r} refused but the tree changed"
        return
    saved = directory / name
    try:
        assert response.status == 201, (name, response.status, response.body)
        added = {key: after[key] for key in after.keys() - before.keys()}
        key = os.path.relpath(saved, setup.base)
        assert added == {key: hashlib.sha256(BODY).hexdigest()}, (name, added)
        assert {k: after[k] for k in before} == before, "another entry changed"
        assert saved.read_bytes() == BODY
        location = response.headers.get("Location")
        if served:
            assert location == "/incoming/" + urllib.parse.quote(name)
            fetched = setup.clients[where].get(location)
            assert (fetched.status, fetched.body) == (200, BODY), (name, fetched.status)
        else:
            assert location is None
    finally:
        if os.path.lexists(saved):
            os.unlink(saved)


@settings(max_examples=300, deadline=None)
@given(name=names)
def test_the_pure_rule_agrees_with_the_documented_one(name: str) -> None:
    if acceptable(name, served=False):
        assert check_name(name) == name
        return
    with pytest.raises(HTTPError) as refusal:
        check_name(name)
    assert refusal.value.status == 400


def test_the_snapshot_sees_a_hidden_leftover(setup: Setup) -> None:
    # Guards the property: a stray temporary file would show up in the comparison.
    before = snapshot(setup.base)
    leftover = setup.outside / ".porch-upload-xyz"
    leftover.write_bytes(b"")
    try:
        assert snapshot(setup.base) != before
    finally:
        leftover.unlink()
