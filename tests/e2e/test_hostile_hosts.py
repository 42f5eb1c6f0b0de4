"""DNS rebinding over real sockets (issue 17): unknown Host names get 421, before anything."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from tests.helpers import PorchProcess, exchange, get

Start = Callable[..., PorchProcess]


def upload(host: str, origin: str) -> bytes:
    body = (
        b"--b\r\nContent-Disposition: form-data; name=file; filename=evil.txt\r\n\r\n"
        b"pwned\r\n--b--\r\n"
    )
    head = (
        f"POST / HTTP/1.1\r\nHost: {host}\r\nOrigin: {origin}\r\n"
        f"Content-Type: multipart/form-data; boundary=b\r\nContent-Length: {len(body)}\r\n\r\n"
    )
    return head.encode() + body


@pytest.mark.parametrize(
    "host",
    ["attacker.example", "attacker.example:{port}", "ATTACKER.example.", "127.0.0.1.nip.io"],
)
def test_unknown_host_names_get_421_for_files_health_and_uploads(
    porch: Start, site: Path, tmp_path: Path, host: str
) -> None:
    incoming = tmp_path / "incoming"
    incoming.mkdir()
    server = porch(site, "--upload-dir", str(incoming))
    host = host.format(port=server.port)
    for path in ("/hello.txt", "/", "/-/health", "/-/static/listing.css"):
        response = exchange(server, get(path, host=host))
        assert response.status == 421, path
        assert b"hello, porch" not in response.body
    posted = exchange(server, upload(host, f"http://{host}"))
    assert posted.status == 421
    assert list(incoming.iterdir()) == []


@pytest.mark.parametrize(
    "host",
    ["localhost", "localhost:{port}", "app.localhost", "127.0.0.1:{port}", "[::1]:{port}",
     "10.1.2.3", "[fe80::1]"],
)  # fmt: skip
def test_loopback_names_and_ip_literals_are_answered(porch: Start, site: Path, host: str) -> None:
    server = porch(site)
    response = exchange(server, get("/hello.txt", host=host.format(port=server.port)))
    assert (response.status, response.body) == (200, b"hello, porch\n")


def test_allowed_host_flag_adds_names_and_star_turns_the_check_off(
    porch: Start, site: Path
) -> None:
    named = porch(site, "--allowed-host", "files.example", "--allowed-host", ".lan.example")
    for host in ("files.example", "files.example:8080", "nas.lan.example", "lan.example"):
        assert exchange(named, get("/hello.txt", host=host)).status == 200, host
    for host in ("sub.files.example", "other.example", "lan.example.evil"):
        assert exchange(named, get("/hello.txt", host=host)).status == 421, host
    anything = porch(site, "--allowed-host", "*")
    assert exchange(anything, get("/hello.txt", host="whatever.example")).status == 200


def test_a_name_bound_with_host_is_answered(porch: Start, site: Path) -> None:
    # run_porch binds 127.0.0.1; "--host localhost" later on the line wins.
    server = porch(site, "--host", "localhost")
    assert exchange(server, get("/hello.txt", host="localhost")).status == 200
    assert exchange(server, get("/hello.txt", host="evil.example")).status == 421


def test_http10_without_host_is_still_answered(porch: Start, site: Path) -> None:
    server = porch(site)
    response = exchange(server, b"GET /hello.txt HTTP/1.0\r\n\r\n")
    assert (response.status, response.body) == (200, b"hello, porch\n")


def test_rebound_origin_cannot_upload_even_through_an_allowed_host(
    porch: Start, site: Path, tmp_path: Path
) -> None:
    incoming = tmp_path / "incoming"
    incoming.mkdir()
    server = porch(site, "--upload-dir", str(incoming))
    # The Host is fine, the Origin names the attacker: refused as before.
    refused = exchange(server, upload(f"127.0.0.1:{server.port}", "http://attacker.example"))
    assert refused.status == 403
    same = exchange(server, upload(f"127.0.0.1:{server.port}", f"http://127.0.0.1:{server.port}"))
    assert same.status == 201
    assert (incoming / "evil.txt").read_bytes() == b"pwned"
