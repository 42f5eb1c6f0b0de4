"""Security over real sockets: HTTPS, Basic auth, refusals at start, headers, CORS, health.
Admission under pressure (which replaced the per-client connection cap) is
tests/e2e/test_admission.py."""

from __future__ import annotations

import socket
import ssl
import time
from collections.abc import Callable
from pathlib import Path

import argon2
import pytest
import requests

from tests.helpers import PorchProcess, ResponseReader, exchange, get, run_cli
from tests.security_helpers import Certificates, make_certificates, quick_hash

Start = Callable[..., PorchProcess]


@pytest.fixture(scope="module")
def certs(tmp_path_factory: pytest.TempPathFactory) -> Certificates:
    return make_certificates(tmp_path_factory.mktemp("tls"))


def tls_args(certs: Certificates) -> tuple[str, ...]:
    return ("--tls-cert", str(certs.cert), "--tls-key", str(certs.key))


# -- HTTPS ------------------------------------------------------------------------------------


def test_https_serves_files_byte_identical(porch: Start, site: Path, certs: Certificates) -> None:
    server = porch(site, *tls_args(certs))
    assert server.url.startswith("https://")
    assert "https://127.0.0.1:" in server.banner
    with requests.Session() as session:
        # Without trust_env, REQUESTS_CA_BUNDLE would override session.verify (requests #3829).
        session.trust_env = False
        session.verify = str(certs.ca)
        small = session.get(f"{server.url}/hello.txt", timeout=5)
        assert (small.status_code, small.content) == (200, b"hello, porch\n")
        large = session.get(f"{server.url}/data.bin", timeout=10)  # 256 KiB: the copy loop
        assert large.status_code == 200
        assert large.content == (site / "data.bin").read_bytes()
        assert large.headers["X-Content-Type-Options"] == "nosniff"
        head = session.head(f"{server.url}/data.bin", timeout=5)
        assert head.status_code == 200
        assert head.headers["Content-Length"] == str(256 * 1024)
        assert head.content == b""
        again = session.get(f"{server.url}/hello.txt", timeout=5)  # same TLS connection
        assert again.content == b"hello, porch\n"


def test_https_large_file_under_the_asyncio_loop(
    porch: Start, site: Path, certs: Certificates
) -> None:
    # asyncio's loop would use sendfile on plain TCP; under TLS it must copy instead.
    big = bytes(range(251)) * 4000  # ~1 MB, not a multiple of the chunk size
    (site / "big.bin").write_bytes(big)
    server = porch(site, "--loop", "asyncio", *tls_args(certs))
    response = requests.get(f"{server.url}/big.bin", verify=str(certs.ca), timeout=10)
    assert response.content == big


def test_tls_versions(porch: Start, site: Path, certs: Certificates) -> None:
    server = porch(site, *tls_args(certs))
    for version in (ssl.TLSVersion.TLSv1_2, ssl.TLSVersion.TLSv1_3):
        context = ssl.create_default_context(cafile=str(certs.ca))
        context.minimum_version = context.maximum_version = version
        with (
            socket.create_connection((server.host, server.port), timeout=5) as raw,
            context.wrap_socket(raw, server_hostname="127.0.0.1") as sock,
        ):
            assert sock.version() == {"TLSv1_2": "TLSv1.2", "TLSv1_3": "TLSv1.3"}[version.name]
            assert sock.selected_alpn_protocol() in (None, "http/1.1")
            sock.sendall(get("/hello.txt"))
            assert ResponseReader(sock).read().body == b"hello, porch\n"


@pytest.mark.parametrize("loop", ["asyncio", "uvloop"])
def test_plain_http_to_the_tls_port_gets_a_readable_400(
    porch: Start, site: Path, certs: Certificates, loop: str
) -> None:
    """As nginx's 497: the client is told to use https (issue 19), and HTTPS still works."""
    server = porch(site, "--loop", loop, *tls_args(certs))
    plain = requests.get(f"http://{server.host}:{server.port}/hello.txt", timeout=5)
    assert plain.status_code == 400
    assert "this port speaks HTTPS" in plain.text
    assert f"https://{server.host}:{server.port}/" in plain.text
    secure = requests.get(f"{server.url}/hello.txt", verify=str(certs.ca), timeout=5)
    assert secure.text == "hello, porch\n"


def test_a_stalled_handshake_is_closed_after_the_header_timeout(
    porch: Start, site: Path, certs: Certificates
) -> None:
    server = porch(site, "--header-timeout", "1", *tls_args(certs))
    with server.connect() as sock:
        started = time.monotonic()
        assert ResponseReader(sock).closed(timeout=6)
        assert time.monotonic() - started < 5


# -- refusing to start ------------------------------------------------------------------------


def start_status(root: Path, *args: str) -> tuple[int, str]:
    proc = run_cli(str(root), "--port", "0", *args)
    return proc.returncode, proc.stderr


@pytest.mark.parametrize("which", ["key", "cert"])
def test_tls_files_inside_the_root_are_refused(site: Path, certs: Certificates, which: str) -> None:
    inside = site / ".tls"
    inside.mkdir()
    moved = {"key": certs.key, "cert": certs.cert}[which]
    copy = inside / moved.name
    copy.write_bytes(moved.read_bytes())
    args = {"key": (str(certs.cert), str(copy)), "cert": (str(copy), str(certs.key))}[which]
    status, stderr = start_status(site, "--tls-cert", args[0], "--tls-key", args[1])
    assert status == 2
    assert "inside the served directory" in stderr


def test_a_symlink_into_the_root_is_refused_too(
    site: Path, certs: Certificates, tmp_path: Path
) -> None:
    (site / "key.pem").write_bytes(certs.key.read_bytes())
    link = tmp_path / "outside-key.pem"
    link.symlink_to(site / "key.pem")
    status, _ = start_status(site, "--tls-cert", str(certs.cert), "--tls-key", str(link))
    assert status == 2


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("--tls-cert", "CERT"), "go together"),
        (("--tls-key", "KEY"), "go together"),
        (("--tls-cert", "KEY", "--tls-key", "KEY"), "TLS"),  # not a certificate
        (("--tls-cert", "CERT", "--tls-key", "/nonexistent/key.pem"), "no such file"),
        (("--auth", "alice:plaintext"), "not a hash"),
    ],
)
def test_bad_security_flags_exit_2(
    site: Path, certs: Certificates, args: tuple[str, ...], message: str
) -> None:
    real = [a.replace("CERT", str(certs.cert)).replace("KEY", str(certs.key)) for a in args]
    status, stderr = start_status(site, *real)
    assert status == 2
    assert message in stderr


def test_hash_password_prints_a_verifiable_argon2id_hash() -> None:
    proc = run_cli("hash-password", input="correct horse\n")
    assert proc.returncode == 0, proc.stderr
    hashed = proc.stdout.strip()
    assert hashed.startswith("$argon2id$")
    assert argon2.PasswordHasher().verify(hashed, "correct horse")
    assert "correct horse" not in proc.stdout + proc.stderr


# -- authentication over the wire -------------------------------------------------------------


@pytest.fixture(scope="module")
def users_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("users") / "users"
    path.write_text(
        f"# porch users\nreader:{quick_hash('r-pass')}\nwriter:{quick_hash('w-pass')}:write\n\n"
    )
    return path


def test_basic_auth_flow_over_https(
    porch: Start, site: Path, certs: Certificates, users_file: Path
) -> None:
    server = porch(site, "--auth-file", str(users_file), *tls_args(certs))
    url = f"{server.url}/hello.txt"
    ca = str(certs.ca)
    anonymous = requests.get(url, verify=ca, timeout=5)
    assert anonymous.status_code == 401
    assert anonymous.headers["WWW-Authenticate"] == 'Basic realm="porch", charset="UTF-8"'
    wrong = requests.get(url, auth=("reader", "nope"), verify=ca, timeout=5)
    assert wrong.status_code == 401
    right = requests.get(url, auth=("reader", "r-pass"), verify=ca, timeout=5)
    assert (right.status_code, right.content) == (200, b"hello, porch\n")
    # A reader may not write; a writer's grant covers the served tree (issue 13: WebDAV).
    assert (
        requests.put(url, data=b"x", auth=("reader", "r-pass"), verify=ca, timeout=5).status_code
        == 403
    )
    assert (site / "hello.txt").read_text() == "hello, porch\n"
    new = f"{server.url}/dir/new.txt"
    (site / "dir").mkdir()
    written = requests.put(new, data=b"x", auth=("writer", "w-pass"), verify=ca, timeout=5)
    assert written.status_code == 201
    assert (site / "dir" / "new.txt").read_bytes() == b"x"


def test_auth_flags_and_anonymous_prefix(porch: Start, site: Path) -> None:
    server = porch(
        site, "--auth", f"ann:{quick_hash('pw')}:read@/docs", "--anonymous", "read@/hello.txt"
    )
    assert requests.get(f"{server.url}/hello.txt", timeout=5).status_code == 200
    assert requests.get(f"{server.url}/docs/", timeout=5).status_code == 401
    ok = requests.get(f"{server.url}/docs/", auth=("ann", "pw"), timeout=5)
    assert (ok.status_code, ok.content) == (200, b"<p>docs index</p>\n")
    assert requests.get(f"{server.url}/page.html", auth=("ann", "pw"), timeout=5).status_code == 403
    assert "warning" not in server.log()  # loopback: no clear-text warning


# -- headers, CORS, health --------------------------------------------------------------------


def test_headers_on_every_response_including_protocol_errors(porch: Start, site: Path) -> None:
    server = porch(site)
    for raw in (
        get("/hello.txt"),
        get("/missing"),
        get("/docs"),
        b"POST /hello.txt HTTP/1.1\r\nHost: localhost\r\nContent-Length: 0\r\n\r\n",
        b"GARBAGE\r\n\r\n",
        b"GET / HTTP/1.1\r\n\r\n",  # no Host
        get("/" + "a" * 10000),  # 414
    ):
        response = exchange(server, raw)
        assert response.header("X-Content-Type-Options") == "nosniff", (raw[:20], response.status)


def test_html_error_page_csp_over_the_wire(porch: Start, site: Path) -> None:
    server = porch(site)
    page = requests.get(f"{server.url}/missing", headers={"Accept": "text/html"}, timeout=5)
    assert page.status_code == 404
    assert "default-src 'none'" in page.headers["Content-Security-Policy"]
    assert page.headers["Referrer-Policy"] == "same-origin"
    user = requests.get(f"{server.url}/page.html", timeout=5)
    assert "Content-Security-Policy" not in user.headers


def test_cors_over_the_wire(porch: Start, site: Path) -> None:
    plain = porch(site)
    assert (
        "Access-Control-Allow-Origin"
        not in requests.get(f"{plain.url}/hello.txt", timeout=5).headers
    )
    server = porch(site, "--cors")
    read = requests.get(
        f"{server.url}/hello.txt", headers={"Origin": "https://a.example"}, timeout=5
    )
    assert read.headers["Access-Control-Allow-Origin"] == "*"
    preflight = requests.options(
        f"{server.url}/hello.txt",
        headers={"Origin": "https://a.example", "Access-Control-Request-Method": "GET"},
        timeout=5,
    )
    assert preflight.status_code == 204
    assert preflight.headers["Access-Control-Allow-Methods"] == "GET, HEAD"


def test_health_over_https_without_credentials(
    porch: Start, site: Path, certs: Certificates, users_file: Path
) -> None:
    server = porch(site, "--auth-file", str(users_file), *tls_args(certs))
    response = requests.get(f"{server.url}/-/health", verify=str(certs.ca), timeout=5)
    assert (response.status_code, response.json()) == (200, {"status": "ok"})
