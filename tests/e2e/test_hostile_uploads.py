"""Uploaded content is inert by default, over real sockets (issue 17): sandboxing CSP on
files in the served upload directory, no index.html uploads, no precompressed siblings
in writable folders, and a write grant checked where the file lands."""

from __future__ import annotations

import base64
import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.helpers import PorchProcess, exchange, get, require_tool
from tests.security_helpers import quick_hash

Start = Callable[..., PorchProcess]


def put(name: str, data: bytes, extra: str = "") -> bytes:
    head = f"PUT /incoming/{name} HTTP/1.1\r\nHost: localhost\r\nContent-Length: {len(data)}\r\n"
    return (head + extra + "\r\n").encode() + data


@pytest.fixture
def served(site: Path) -> Path:
    incoming = site / "incoming"
    incoming.mkdir()
    return incoming


@pytest.mark.parametrize(
    ("name", "policy"),
    [
        ("page.html", "sandbox; default-src 'none'"),
        ("image.svg", "sandbox; default-src 'none'"),
        ("data.xml", "sandbox; default-src 'none'"),
        ("page.xsl", "sandbox; default-src 'none'"),  # application/xml
        ("page.xhtml", "sandbox"),  # served as application/octet-stream: a download
        ("notes.txt", "sandbox"),
        ("photo.png", "sandbox"),
    ],
)
def test_uploaded_files_are_served_with_a_sandbox_policy(
    porch: Start, site: Path, served: Path, name: str, policy: str
) -> None:
    server = porch(site, "--upload-dir", str(served))
    assert exchange(server, put(name, b"<script>alert(1)</script>")).status == 201
    response = exchange(server, get(f"/incoming/{name}"))
    assert response.status == 200
    assert response.header("content-security-policy") == policy
    # The owner's own pages outside the upload folder are untouched.
    own = exchange(server, get("/page.html"))
    assert own.status == 200
    assert own.header("content-security-policy") is None


def test_trust_uploaded_html_turns_the_sandbox_off(porch: Start, site: Path, served: Path) -> None:
    server = porch(site, "--upload-dir", str(served), "--trust-uploaded-html")
    assert exchange(server, put("page.html", b"<p>trusted</p>")).status == 201
    response = exchange(server, get("/incoming/page.html"))
    assert response.header("content-security-policy") is None


@pytest.mark.parametrize("name", ["index.html", "INDEX.HTML"])
def test_an_upload_named_index_html_is_refused(
    porch: Start, site: Path, served: Path, name: str
) -> None:
    server = porch(site, "--upload-dir", str(served))
    response = exchange(server, put(name, b"<p>not the listing</p>"))
    assert response.status == 400
    assert list(served.iterdir()) == []
    listing = exchange(server, get("/incoming/"))
    assert listing.status == 200


def test_an_uploaded_gz_sibling_does_not_replace_what_compressed_clients_get(
    porch: Start, site: Path, served: Path
) -> None:
    require_tool(shutil.which("curl") is not None, "curl is not installed")
    original = b"the real report\n" * 200
    (served / "report.txt").write_bytes(original)
    server = porch(site, "--upload-dir", str(served))
    import gzip

    evil = gzip.compress(b"forged report\n")
    assert exchange(server, put("report.txt.gz", evil)).status == 201
    fetched = subprocess.run(
        ["curl", "-s", "--compressed", f"{server.url}/incoming/report.txt"],
        capture_output=True,
        check=True,
        timeout=10,
    ).stdout
    assert fetched == original


def basic(user: str, password: str) -> str:
    return "Authorization: Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()


def test_a_write_grant_is_checked_where_the_file_lands(
    porch: Start, site: Path, served: Path
) -> None:
    (site / "pub").mkdir()
    account = f"pubber:{quick_hash('pw')}:read,write@/pub"
    server = porch(site, "--upload-dir", str(served), "--auth", account)
    body = (
        b"--b\r\nContent-Disposition: form-data; name=file; filename=x.txt\r\n\r\n"
        b"smuggled\r\n--b--\r\n"
    )
    head = (
        f"POST /pub/ HTTP/1.1\r\nHost: localhost\r\n{basic('pubber', 'pw')}\r\n"
        f"Content-Type: multipart/form-data; boundary=b\r\nContent-Length: {len(body)}\r\n\r\n"
    )
    response = exchange(server, head.encode() + body)
    assert response.status == 403
    raw = (
        f"POST /pub/y.txt HTTP/1.1\r\nHost: localhost\r\n{basic('pubber', 'pw')}\r\n"
        "Content-Length: 3\r\n\r\nabc"
    )
    # A raw upload under the grant's own prefix is a write in the tree (WebDAV's rule,
    # docs/webdav.md): it lands at the URL the grant covers, never in the upload folder.
    assert exchange(server, raw.encode()).status == 201
    assert list(served.iterdir()) == []
    assert sorted(p.name for p in (site / "pub").iterdir()) == ["y.txt"]
