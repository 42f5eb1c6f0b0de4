"""The small findings of issue 17 over real sockets: request lines without a version or with
HTTP/2.0, a file URL with a trailing slash, invisible controls in names, the default upload
limit."""

from __future__ import annotations

import json
import socket
import urllib.parse
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.helpers import PorchProcess, ResponseReader, exchange, get

Start = Callable[..., PorchProcess]


@pytest.mark.parametrize(
    ("line", "status"),
    [
        (b"GET /hello.txt\r\n\r\n", 400),
        (b"GET /hello.txt HTTP/0.9\r\n\r\n", 400),
        (b"GET /hello.txt HTTP/2.0\r\nHost: localhost\r\n\r\n", 505),
        (b"GET /hello.txt HTTP/1.0\r\n\r\n", 200),
        (b"GET /hello.txt HTTP/1.1\r\nHost: localhost\r\n\r\n", 200),
    ],
)
def test_request_lines_porch_cannot_answer_in_http_1(
    porch: Start, site: Path, line: bytes, status: int
) -> None:
    server = porch(site)
    with server.connect() as sock:
        sock.sendall(line)
        reader = ResponseReader(sock)
        response = reader.read()
        assert response.status == status
        if status != 200:
            assert b"hello, porch" not in response.body
            assert reader.closed()


def test_a_file_url_with_a_trailing_slash_is_404(porch: Start, site: Path) -> None:
    server = porch(site)
    assert exchange(server, get("/hello.txt")).status == 200  # remembered by the open cache
    for path in ("/hello.txt/", "/docs/note.md/", "/hello.txt//"):
        response = exchange(server, get(path))
        assert response.status == 404, path
        assert b"hello, porch" not in response.body
    assert exchange(server, get("/docs/")).status == 200


RLO = "rlo\u202etxt.exe"
NAMES = [RLO, "zero\u200bwidth.txt", "isolate\u2066x\u2069.txt", "bom\ufeff.txt"]


@pytest.mark.parametrize("name", NAMES)
def test_uploads_with_invisible_controls_are_refused(
    porch: Start, site: Path, tmp_path: Path, name: str
) -> None:
    incoming = tmp_path / "incoming"
    incoming.mkdir()
    server = porch(site, "--upload-dir", str(incoming))
    target = "/" + urllib.parse.quote(name)
    raw = f"PUT {target} HTTP/1.1\r\nHost: localhost\r\nContent-Length: 2\r\n\r\nhi".encode()
    assert exchange(server, raw).status == 400
    body = (
        b'--b\r\nContent-Disposition: form-data; name=f; filename="'
        + name.encode()
        + b'"\r\n\r\nhi\r\n--b--\r\n'
    )
    head = (
        "POST / HTTP/1.1\r\nHost: localhost\r\nContent-Type: multipart/form-data; boundary=b"
        f"\r\nContent-Length: {len(body)}\r\n\r\n"
    )
    assert exchange(server, head.encode() + body).status == 400
    assert list(incoming.iterdir()) == []


def test_listings_show_invisible_controls_visibly_in_every_format(porch: Start, site: Path) -> None:
    (site / "empty" / RLO).write_text("x")
    (site / "empty" / "family\u200d.txt").write_text("zwj is ordinary text")
    server = porch(site)
    text = exchange(server, get("/empty/")).body.decode()
    assert "rlo\\u202etxt.exe\n" in text
    assert "\u202e" not in text
    assert "family\u200d.txt" in text
    page = exchange(server, get("/empty/", extra="Accept: text/html\r\n")).body.decode()
    assert "\u202e" not in page
    assert ">rlo\\u202etxt.exe<" in page
    assert 'href="rlo%E2%80%AEtxt.exe"' in page  # the link still fetches the real file
    raw = exchange(server, get("/empty/", extra="Accept: application/json\r\n")).body.decode()
    assert "\u202e" not in raw
    assert "\\u202e" in raw
    assert RLO in [entry["name"] for entry in json.loads(raw)]  # the real name, escaped
    fetched = exchange(server, get("/empty/" + urllib.parse.quote(RLO)))
    assert (fetched.status, fetched.body) == (200, b"x")


GIB = 1024**3


def test_the_default_upload_limit_is_10_gib_at_n_and_n_plus_1(
    porch: Start, site: Path, tmp_path: Path
) -> None:
    incoming = tmp_path / "incoming"
    incoming.mkdir()
    server = porch(site, "--upload-dir", str(incoming))

    def declare(length: int) -> bytes:
        with server.connect() as sock:
            sock.sendall(
                f"PUT /big.bin HTTP/1.1\r\nHost: localhost\r\nContent-Length: {length}\r\n"
                "Expect: 100-continue\r\n\r\n".encode()
            )
            sock.settimeout(5)
            data = sock.recv(200)
            sock.shutdown(socket.SHUT_RDWR)
            return data

    assert declare(10 * GIB).startswith(b"HTTP/1.1 100 Continue")  # N: go ahead
    assert declare(10 * GIB + 1).startswith(b"HTTP/1.1 413 ")  # N + 1: refused unread
    unlimited = porch(site, "--upload-dir", str(incoming), "--max-upload-size", "unlimited")
    with unlimited.connect() as sock:
        sock.sendall(
            f"PUT /big.bin HTTP/1.1\r\nHost: localhost\r\nContent-Length: {10 * GIB + 1}\r\n"
            "Expect: 100-continue\r\n\r\n".encode()
        )
        sock.settimeout(5)
        assert sock.recv(200).startswith(b"HTTP/1.1 100 Continue")
