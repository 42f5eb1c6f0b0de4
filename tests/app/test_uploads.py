"""Uploads through the in-memory client: names, origins, forms, sizes, disk errors.

The socket-level behaviour (100-continue, disconnects, timeouts, races) is in
tests/e2e/test_uploads.py; here the file-system rules are checked one by one.
"""

from __future__ import annotations

import argparse
import errno
import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from porch.app import App
from porch.app.multipart import parse_disposition
from porch.app.uploads import check_name, same_origin
from porch.cli import build_parser, config_from_args, parse_size
from porch.config import Config
from porch.http import Headers, HTTPError, Request
from porch.testing import Client

BOUNDARY = "porchTestBoundary42"


@pytest.fixture
def root(tmp_path: Path) -> Path:
    directory = tmp_path / "root"
    (directory / "uploads").mkdir(parents=True)
    (directory / "sub").mkdir()
    return directory


@pytest.fixture
def updir(root: Path) -> Path:
    return root / "uploads"


def client(root: Path, upload_dir: Path | None, **settings: object) -> Client:
    return Client(App(Config(root=root, upload_dir=upload_dir, **settings)))  # type: ignore[arg-type]


def form(*parts: tuple[str, str | None, bytes]) -> tuple[dict[str, str], bytes]:
    """Headers and body of a multipart/form-data request: (field, filename or None, data)."""
    chunks = []
    for field, filename, data in parts:
        disposition = f'form-data; name="{field}"'
        if filename is not None:
            disposition += f'; filename="{filename}"'
        chunks.append(
            f"--{BOUNDARY}\r\nContent-Disposition: {disposition}\r\n\r\n".encode() + data + b"\r\n"
        )
    body = b"".join(chunks) + f"--{BOUNDARY}--\r\n".encode()
    return {"Content-Type": f"multipart/form-data; boundary={BOUNDARY}"}, body


# -- names -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "name",
    ["a.txt", "report 2026.pdf", "é" * 127 + "a", "x" * 255, "-dash", "a..b", "日本.txt"],
)
def test_acceptable_names(name: str) -> None:
    assert check_name(name) == name


@pytest.mark.parametrize(
    "name",
    [
        "",
        ".",
        "..",
        ".hidden",
        ".porch-upload-abc",
        "a/b",
        "../x",
        "a\\b",
        "C:\\Users\\me\\x.txt",
        "a\x00b",
        "a\nb",
        "a\x1bb",
        "a\x7fb",
        "a\x85b",  # a C1 control
        "x" * 256,
        "é" * 128,  # 256 bytes of UTF-8
    ],
)
def test_refused_names(name: str) -> None:
    with pytest.raises(HTTPError) as raised:
        check_name(name)
    assert raised.value.status == 400


@pytest.mark.parametrize(
    ("value", "filename"),
    [
        ('form-data; name="f"; filename="x.txt"', "x.txt"),
        ("form-data; name=f; filename=x.txt", "x.txt"),
        ('form-data; name="f"; filename="a; b.txt"', "a; b.txt"),
        ('form-data; name="f"; filename="a\\"b"', 'a"b'),  # curl's old escaping
        ('form-data; name="f"; filename="a%22b"', "a%22b"),  # a browser's: kept as sent
        ('form-data; name="f"; filename="C:\\dir\\x.txt"', "C:\\dir\\x.txt"),  # kept: 400 later
        ('form-data; name="f"; filename*=UTF-8\'\'%C3%A9.txt; filename="e.txt"', "é.txt"),
        ('FORM-DATA; NAME="f"; FILENAME="up.txt"', "up.txt"),
    ],
)
def test_parse_disposition(value: str, filename: str) -> None:
    kind, params = parse_disposition(value)
    assert kind == "form-data"
    assert params["name"] == "f"
    assert params["filename"] == filename


# -- origins ---------------------------------------------------------------------------------


def _request(**headers: str) -> Request:
    fields = Headers([(name.replace("_", "-"), value) for name, value in headers.items()])
    return Request(method="POST", target="/", path="/", headers=fields)


@pytest.mark.parametrize(
    ("headers", "allowed"),
    [
        ({"host": "h:8000"}, True),  # curl, scripts
        ({"host": "h:8000", "origin": "http://h:8000"}, True),
        ({"host": "H:8000", "origin": "http://h:8000"}, True),
        ({"host": "h", "origin": "http://h"}, True),
        ({"host": "h", "origin": "http://h:80"}, True),
        ({"host": "[::1]:8000", "origin": "http://[::1]:8000"}, True),
        ({"host": "h:8000", "origin": "http://h:8001"}, False),
        ({"host": "h:8000", "origin": "http://evil.example:8000"}, False),
        ({"host": "h:8000", "origin": "null"}, False),
        ({"host": "h", "origin": "https://h"}, True),  # behind a TLS-terminating proxy
        ({"host": "h", "origin": "https://h:443"}, True),
        ({"host": "h", "origin": "http://h:8443"}, False),
        ({"host": "h:443", "origin": "http://h"}, False),
        ({"host": "h:8000", "origin": "http://user@h:8000"}, False),
        ({"origin": "http://h"}, False),  # no Host to compare with
        ({"host": "h:8000", "sec_fetch_site": "cross-site"}, False),
        ({"host": "h:8000", "sec_fetch_site": "same-origin"}, True),
    ],
)
def test_same_origin(headers: dict[str, str], allowed: bool) -> None:
    assert same_origin(_request(**headers)) is allowed


# -- command line ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "size"),
    [
        ("1", 1),
        ("512", 512),
        ("64K", 65536),
        ("10m", 10 * 2**20),
        ("2G", 2 * 2**30),
        ("1GiB", 2**30),
    ],
)
def test_parse_size(text: str, size: int) -> None:
    assert parse_size(text) == size


@pytest.mark.parametrize("text", ["", "0", "-1", "1.5G", "10X", "K", "ten"])
def test_parse_size_refuses(text: str) -> None:
    with pytest.raises(argparse.ArgumentTypeError):
        parse_size(text)


def test_cli_builds_upload_config(root: Path, updir: Path) -> None:
    parser = build_parser()
    args = parser.parse_args([str(root), "--upload-dir", str(updir), "--max-upload-size", "3K"])
    settings = config_from_args(args, parser)
    assert settings.upload_dir == updir.resolve()
    assert settings.max_upload_size == 3072
    default = config_from_args(parser.parse_args([str(root)]), parser)
    assert default.upload_dir is None
    assert default.max_upload_size == 10 * 1024**3  # issue 17: a default limit
    args = parser.parse_args([str(root), "--max-upload-size", "unlimited"])
    assert config_from_args(args, parser).max_upload_size is None


# -- raw uploads ----------------------------------------------------------------------------


def test_post_answers_location_and_summary(root: Path, updir: Path) -> None:
    app = client(root, updir)
    response = app.post("/a b.txt", body=b"hi", headers={"Accept": "application/json"})
    assert response.status == 201
    assert response.headers.get("location") == "/uploads/a%20b.txt"
    assert response.json() == {
        "name": "a b.txt",
        "size": 2,
        "sha256": "8f434346648f6b96df89dda901c5176b10a6d83961dd3c1ac88b59b2dc327aa4",
        "location": "/uploads/a%20b.txt",
    }
    assert (updir / "a b.txt").read_bytes() == b"hi"


def test_uploaded_file_gets_umask_mode(root: Path, updir: Path) -> None:
    client(root, updir).post("/m.txt", body=b"x")
    umask = os.umask(0)
    os.umask(umask)
    assert (updir / "m.txt").stat().st_mode & 0o777 == 0o666 & ~umask


def test_post_refuses_existing_symlink_and_leaves_it(root: Path, updir: Path) -> None:
    (updir / "link").symlink_to(root / "nowhere")
    assert client(root, updir).post("/link", body=b"x").status == 409
    assert os.readlink(updir / "link") == str(root / "nowhere")
    assert not (root / "nowhere").exists()


def test_put_replaces_a_symlink_not_its_target(root: Path, updir: Path) -> None:
    (root / "target.txt").write_bytes(b"keep")
    (updir / "link").symlink_to(root / "target.txt")
    assert client(root, updir, on_conflict="replace").put("/link", body=b"new").status == 204
    assert not (updir / "link").is_symlink()
    assert (updir / "link").read_bytes() == b"new"
    assert (root / "target.txt").read_bytes() == b"keep"


def test_put_onto_a_directory_is_409(root: Path, updir: Path) -> None:
    (updir / "dir").mkdir()
    assert client(root, updir).put("/dir", body=b"x").status == 409
    assert (updir / "dir").is_dir()


def test_template_sources_are_refused_inside_the_root(
    root: Path, updir: Path, tmp_path: Path
) -> None:
    assert client(root, updir).post("/page.html.j2", body=b"{{ 1 }}").status == 400
    outside = tmp_path / "outside"
    outside.mkdir()
    assert client(root, outside).post("/page.html.j2", body=b"{{ 1 }}").status == 201


def test_hidden_upload_dir_has_no_location(root: Path) -> None:
    hidden = root / ".private"
    hidden.mkdir()
    response = client(root, hidden).post("/x", body=b"x")
    assert response.status == 201
    assert response.headers.get("location") is None


def test_max_upload_size_n_and_n_plus_1(root: Path, updir: Path) -> None:
    app = client(root, updir, max_upload_size=10)
    assert app.post("/n", body=[b"12345", b"67890"]).status == 201  # chunked: counted
    assert app.post("/n1", body=[b"12345", b"678901"]).status == 413
    assert app.post("/d1", body=b"x" * 11).status == 413  # declared
    assert sorted(os.listdir(updir)) == ["n"]


def _failing_body() -> Iterator[bytes]:
    yield b"x" * 100_000
    raise HTTPError(400, "the client closed the connection")


def test_body_error_midway_leaves_nothing(root: Path, updir: Path) -> None:
    response = client(root, updir).post("/gone.bin", body=_failing_body())
    assert response.status == 400
    assert os.listdir(updir) == []


@pytest.mark.parametrize("call", ["writev", "fsync"])
def test_disk_full_is_507_and_leaves_nothing(
    root: Path, updir: Path, monkeypatch: pytest.MonkeyPatch, call: str
) -> None:
    """ENOSPC injected at the write and at the fsync (tests/e2e fills a real tmpfs)."""

    def full(*args: object) -> int:
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(os, call, full)
    response = client(root, updir).post("/full.bin", body=b"x" * 3_000_000)
    monkeypatch.undo()
    assert response.status == 507
    assert os.listdir(updir) == []


def test_unexpected_write_error_is_500_and_leaves_nothing(
    root: Path, updir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(*args: object) -> int:
        raise OSError(errno.EIO, "Input/output error")

    monkeypatch.setattr(os, "writev", broken)
    response = client(root, updir).post("/io.bin", body=b"x" * 10)
    monkeypatch.undo()
    assert response.status == 500
    assert "/" + str(updir).strip("/") not in response.text  # no server path in the answer
    assert os.listdir(updir) == []


# -- forms -----------------------------------------------------------------------------------


def test_form_saves_every_file_and_ignores_fields(root: Path, updir: Path) -> None:
    headers, body = form(("a", "one.txt", b"1"), ("note", None, b"text"), ("b", "two.txt", b"22"))
    response = client(root, updir).post("/sub/", headers=headers, body=body)
    assert response.status == 201
    assert [(item["name"], item["size"]) for item in response.json()] == [  # type: ignore[index, union-attr]
        ("one.txt", 1),
        ("two.txt", 2),
    ]
    assert sorted(os.listdir(updir)) == ["one.txt", "two.txt"]


def test_form_streamed_in_small_chunks(root: Path, updir: Path) -> None:
    data = bytes(range(256)) * 5000
    headers, body = form(("f", "s.bin", data))
    pieces = [body[i : i + 7] for i in range(0, len(body), 7)]
    assert client(root, updir).post("/", headers=headers, body=pieces).status == 201
    assert (updir / "s.bin").read_bytes() == data


def test_empty_file_input_is_skipped(root: Path, updir: Path) -> None:
    headers, body = form(("a", "", b""), ("b", "real.txt", b"r"))
    assert client(root, updir).post("/", headers=headers, body=body).status == 201
    assert os.listdir(updir) == ["real.txt"]


@pytest.mark.parametrize(
    ("parts", "status"),
    [
        ([("a", None, b"only a field")], 400),
        ([("a", "x.txt", b"1"), ("b", "x.txt", b"2")], 409),
        ([("a", "ok.txt", b"1"), ("b", "C:\\fake\\path.txt", b"2")], 400),
        ([("a", "ok.txt", b"1"), ("b", ".hidden", b"2")], 400),
        ([("a", "ok.txt", b"1"), ("b", "exists.txt", b"2")], 409),
    ],
)
def test_refused_forms_write_nothing(
    root: Path, updir: Path, parts: list[tuple[str, str | None, bytes]], status: int
) -> None:
    (updir / "exists.txt").write_bytes(b"old")
    headers, body = form(*parts)
    assert client(root, updir).post("/", headers=headers, body=body).status == status
    assert os.listdir(updir) == ["exists.txt"]
    assert (updir / "exists.txt").read_bytes() == b"old"


def test_truncated_form_writes_nothing(root: Path, updir: Path) -> None:
    headers, body = form(("a", "t.txt", b"x" * 5000))
    response = client(root, updir).post("/", headers=headers, body=body[:-30])
    assert response.status == 400
    assert os.listdir(updir) == []


def test_malformed_form_is_400(root: Path, updir: Path) -> None:
    headers = {"Content-Type": f"multipart/form-data; boundary={BOUNDARY}"}
    response = client(root, updir).post("/", headers=headers, body=b"not multipart at all\r\n")
    assert response.status == 400
    assert os.listdir(updir) == []


def test_form_needs_a_boundary(root: Path, updir: Path) -> None:
    headers = {"Content-Type": "multipart/form-data"}
    assert client(root, updir).post("/", headers=headers, body=b"x").status == 400


@pytest.mark.parametrize(("target", "status"), [("/missing/", 404), ("/file.txt", 400)])
def test_form_must_go_to_a_directory(root: Path, updir: Path, target: str, status: int) -> None:
    headers, body = form(("a", "x.txt", b"1"))
    assert client(root, updir).post(target, headers=headers, body=body).status == status
    assert os.listdir(updir) == []


def test_put_of_multipart_is_saved_raw(root: Path, updir: Path) -> None:
    headers, body = form(("a", "x.txt", b"1"))
    assert client(root, updir).put("/raw.eml", headers=headers, body=body).status == 201
    assert (updir / "raw.eml").read_bytes() == body


def test_browser_gets_303_script_gets_json(root: Path, updir: Path) -> None:
    headers, body = form(("a", "b.txt", b"1"))
    browser = client(root, updir).post(
        "/sub", headers={**headers, "Accept": "text/html,*/*;q=0.8"}, body=body
    )
    assert browser.status == 303
    assert browser.headers.get("location") == "/sub/"
    headers, body = form(("a", "c.txt", b"1"))
    script = client(root, updir).post("/", headers={**headers, "Accept": "*/*"}, body=body)
    assert script.status == 201
    assert script.headers.get("location") == "/uploads/c.txt"


def test_without_upload_dir_405(root: Path) -> None:
    response = client(root, None).post("/x", body=b"1")
    assert response.status == 405
    assert response.headers.get("allow") == "GET, HEAD, OPTIONS, PROPFIND"
    assert not (root / "x").exists()
