"""The defects the wire core fixed (issue 18), each over real sockets, plus interim responses.

Before the fix: an HTTP/1.0 keep-alive client got ``Connection: close`` with a close-delimited
body and then waited for the 15 s keep-alive timeout before the server closed; multi-range
bodies went out unframed; a bad TLS certificate under ``--workers`` restarted children forever
and the workers banner said ``http://``.
"""

from __future__ import annotations

import gzip
import socket
import time
from collections.abc import Callable
from pathlib import Path

import pytest
import requests

from tests.helpers import PorchProcess, ResponseReader, run_cli
from tests.security_helpers import Certificates, make_certificates

Start = Callable[..., PorchProcess]

ROUTES = """
from porch.http import Headers, Response


async def chunks():
    for part in (b"one ", b"two ", b"three"):
        yield part


def register(app):
    @app.route("/stream")
    async def stream(request):
        return Response(200, Headers([("Content-Type", "text/plain")]), chunks())

    @app.route("/interim", methods=("POST",))
    async def interim(request):
        await request.send_informational(104, [("Upload-Draft-Interop-Version", "6")])
        return Response(201, Headers([("Content-Type", "text/plain")]), b"made")
"""


@pytest.fixture
def served(porch: Start, site: Path, tmp_path: Path) -> PorchProcess:
    (site / "big.txt").write_text("porch line of text\n" * 5000)
    routes = tmp_path / "wire_routes.py"
    routes.write_text(ROUTES)
    return porch(site, "--quiet", "--routes", str(routes))


def read_to_close(sock: socket.socket, limit: float = 5.0) -> tuple[bytes, float]:
    """Everything until the server closes; and how long that took."""
    started = time.monotonic()
    sock.settimeout(limit)
    data = b""
    while chunk := sock.recv(65536):
        data += chunk
    return data, time.monotonic() - started


def http10(path: str, extra: str = "") -> bytes:
    return f"GET {path} HTTP/1.0\r\nConnection: keep-alive\r\n{extra}\r\n".encode()


def test_http10_keep_alive_gzip_is_closed_at_once(served: PorchProcess, site: Path) -> None:
    with served.connect() as sock:
        sock.sendall(http10("/big.txt", "Accept-Encoding: gzip\r\n"))
        data, took = read_to_close(sock)
    head, _, body = data.partition(b"\r\n\r\n")
    assert b"Content-Encoding: gzip" in head
    assert b"Connection: close" in head  # close-delimited: the close is the end of the body
    assert gzip.decompress(body) == (site / "big.txt").read_bytes()
    assert took < 3  # not the 15 s keep-alive timeout


def test_http10_keep_alive_stream_is_closed_at_once(served: PorchProcess) -> None:
    with served.connect() as sock:
        sock.sendall(http10("/stream"))
        data, took = read_to_close(sock)
    head, _, body = data.partition(b"\r\n\r\n")
    assert b"Connection: close" in head
    assert b"Transfer-Encoding" not in head
    assert body == b"one two three"
    assert took < 3


def test_http10_keep_alive_multi_range_keeps_the_connection(
    served: PorchProcess, site: Path
) -> None:
    data = (site / "data.bin").read_bytes()
    with served.connect() as sock:
        reader = ResponseReader(sock)
        sock.sendall(http10("/data.bin", "Range: bytes=0-3,10-12\r\n"))
        multi = reader.read()
        assert multi.status == 206
        assert multi.header("content-length") == str(len(multi.body))  # framed, known up front
        assert multi.header("connection") == "keep-alive"
        assert data[:4] in multi.body
        assert data[10:13] in multi.body
        sock.sendall(http10("/hello.txt"))  # the same connection serves the next request
        assert reader.read().body == b"hello, porch\n"


def test_http11_stream_is_chunked_and_kept_alive(served: PorchProcess) -> None:
    with served.connect() as sock:
        reader = ResponseReader(sock)
        sock.sendall(b"GET /stream HTTP/1.1\r\nHost: localhost\r\n\r\n")
        response = reader.read()
        assert response.header("transfer-encoding") == "chunked"
        assert response.body == b"one two three"
        sock.sendall(b"GET /hello.txt HTTP/1.1\r\nHost: localhost\r\n\r\n")
        assert reader.read().status == 200


def test_interim_response_goes_out_before_the_final_one(served: PorchProcess) -> None:
    with served.connect() as sock:
        sock.sendall(b"POST /interim HTTP/1.1\r\nHost: localhost\r\nContent-Length: 0\r\n\r\n")
        reader = ResponseReader(sock)
        first = reader.read()
        assert first.status == 104
        assert first.header("upload-draft-interop-version") == "6"
        final = reader.read()
        assert (final.status, final.body) == (201, b"made")


def test_no_interim_response_to_http10(served: PorchProcess) -> None:
    with served.connect() as sock:
        sock.sendall(b"POST /interim HTTP/1.0\r\nContent-Length: 0\r\n\r\n")
        data, _ = read_to_close(sock)
    assert data.startswith(b"HTTP/1.1 201 ")  # RFC 9110 15.2: no 1xx to an HTTP/1.0 client


# -- TLS under --workers ------------------------------------------------------------------------


@pytest.fixture(scope="module")
def certs(tmp_path_factory: pytest.TempPathFactory) -> Certificates:
    return make_certificates(tmp_path_factory.mktemp("tls"))


def test_bad_certificate_under_workers_exits_2(site: Path, tmp_path: Path) -> None:
    bad = tmp_path / "bad.pem"
    bad.write_text("not a certificate\n")
    result = run_cli(
        str(site), "--port", "0", "--workers", "2", "--tls-cert", str(bad), "--tls-key", str(bad),
        timeout=20,
    )  # fmt: skip
    assert result.returncode == 2
    assert "TLS" in result.stderr
    assert "worker processes" not in result.stdout  # refused before any child was started
    assert "starting another" not in result.stderr


def test_workers_banner_says_https_with_tls(porch: Start, site: Path, certs: Certificates) -> None:
    server = porch(
        site, "--workers", "2", "--quiet", "--tls-cert", str(certs.cert), "--tls-key",
        str(certs.key),
    )  # fmt: skip
    assert server.banner.split(" at ")[1].startswith("https://")
    response = requests.get(f"{server.url}/hello.txt", verify=str(certs.ca), timeout=10)
    assert response.text == "hello, porch\n"


@pytest.mark.parametrize(
    "raw",
    [
        b"GET / HTTP/1.1\r\n\r\n",  # no Host: refused while building the request
        b"GARBAGE\r\n\r\n",  # refused by the parser
        b"GET /"
        + b"a" * 9000
        + b" HTTP/1.1\r\nHost: localhost\r\n\r\n",  # 414, from the head limits
    ],
)
def test_wire_errors_get_the_app_error_page_and_headers(served: PorchProcess, raw: bytes) -> None:
    with served.connect() as sock:
        sock.sendall(raw)
        response = ResponseReader(sock).read()
    assert response.status in (400, 414)
    assert response.header("content-type") == "text/html; charset=utf-8"
    assert response.header("x-content-type-options") == "nosniff"
    assert response.header("referrer-policy") == "same-origin"
    assert response.header("content-security-policy") is not None
    assert response.header("connection") == "close"
