"""Reading files with real clients over real sockets: curl, requests, raw HTTP."""

from __future__ import annotations

import gzip
import hashlib
import os
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest
import requests

from tests.helpers import PorchProcess, ResponseReader, exchange, get

Start = Callable[..., PorchProcess]


@pytest.fixture
def served(site: Path, porch: Start) -> tuple[Path, PorchProcess]:
    (site / "big.bin").write_bytes(os.urandom(3 * 1024 * 1024 + 17))
    (site / "notes.txt").write_bytes(b"".join(b"note %d\n" % i for i in range(5000)))
    return site, porch(site, "--quiet")


def curl(*args: str) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run(
        ["curl", "--silent", "--show-error", "--max-time", "20", *args],
        capture_output=True,
        check=False,
        timeout=30,
    )


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_curl_range(served: tuple[Path, PorchProcess]) -> None:
    site, server = served
    result = curl("-r", "100-199", "-D", "-", f"{server.url}/data.bin")
    head, _, body = result.stdout.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 206")
    assert b"Content-Range: bytes 100-199/262144" in head
    assert body == (site / "data.bin").read_bytes()[100:200]


def test_curl_multiple_ranges(served: tuple[Path, PorchProcess]) -> None:
    site, server = served
    result = curl("-r", "0-9,-10", "-i", f"{server.url}/data.bin")
    data = (site / "data.bin").read_bytes()
    assert b"multipart/byteranges; boundary=" in result.stdout
    assert b"Content-Range: bytes 0-9/262144\r\n\r\n" + data[:10] in result.stdout
    assert b"Content-Range: bytes 262134-262143/262144\r\n\r\n" + data[-10:] in result.stdout


def test_curl_time_condition(served: tuple[Path, PorchProcess], tmp_path: Path) -> None:
    site, server = served
    copy = tmp_path / "hello.txt"
    copy.write_bytes(b"old")
    # -z FILE: only fetch when newer than FILE's mtime; curl leaves the output empty on 304.
    future = os.stat(site / "hello.txt").st_mtime + 3600
    os.utime(copy, (future, future))
    result = curl(
        "-z", str(copy), "-w", "%{http_code}", "-o", "/dev/null", f"{server.url}/hello.txt"
    )
    assert result.stdout == b"304"
    past = os.stat(site / "hello.txt").st_mtime - 3600
    os.utime(copy, (past, past))
    result = curl("-z", str(copy), f"{server.url}/hello.txt")
    assert result.stdout == b"hello, porch\n"


def test_curl_compressed(served: tuple[Path, PorchProcess]) -> None:
    site, server = served
    result = curl("--compressed", "-D", "-", f"{server.url}/notes.txt")
    head, _, body = result.stdout.partition(b"\r\n\r\n")
    assert b"Content-Encoding: gzip" in head
    assert b"Transfer-Encoding: chunked" in head
    assert body == (site / "notes.txt").read_bytes()


def test_curl_bytes_parameter_and_head(served: tuple[Path, PorchProcess]) -> None:
    site, server = served
    assert curl(f"{server.url}/data.bin?bytes=5").stdout == (site / "data.bin").read_bytes()[:5]
    head = curl("-I", f"{server.url}/data.bin?bytes=5").stdout
    assert b"Content-Length: 5\r\n" in head
    bad = curl("-w", "%{http_code}", f"{server.url}/data.bin?bytes=-5")
    assert bad.stdout.endswith(b"400")
    assert b"must not be negative" in bad.stdout


def test_curl_listing_is_plain_text(served: tuple[Path, PorchProcess]) -> None:
    _, server = served
    lines = curl(f"{server.url}/").stdout.decode().splitlines()
    assert lines == [
        "docs/",
        "empty/",
        "big.bin",
        "data.bin",
        "hello.txt",
        "notes.txt",
        "page.html",
    ]


def test_requests_conditional_and_validators(served: tuple[Path, PorchProcess]) -> None:
    _, server = served
    with requests.Session() as session:
        first = session.get(f"{server.url}/hello.txt", timeout=10)
        etag = first.headers["ETag"]
        assert first.headers["Accept-Ranges"] == "bytes"
        again = session.get(f"{server.url}/hello.txt", headers={"If-None-Match": etag}, timeout=10)
        assert again.status_code == 304
        assert again.content == b""
        assert again.headers["ETag"] == etag
        assert again.headers["Last-Modified"] == first.headers["Last-Modified"]
        failed = session.get(f"{server.url}/hello.txt", headers={"If-Match": '"x"'}, timeout=10)
        assert failed.status_code == 412
        # requests asks for gzip by default and decodes it.
        notes = session.get(f"{server.url}/notes.txt", timeout=10)
        assert notes.headers["Content-Encoding"] == "gzip"
        assert notes.content.startswith(b"note 0\nnote 1\n")


def test_requests_416_and_listing_json(served: tuple[Path, PorchProcess]) -> None:
    _, server = served
    response = requests.get(f"{server.url}/hello.txt", headers={"Range": "bytes=999-"}, timeout=10)
    assert response.status_code == 416
    assert response.headers["Content-Range"] == "bytes */13"
    listing = requests.get(f"{server.url}/?format=json", timeout=10).json()
    assert {k: v for k, v in listing[1].items() if k != "modified"} == {
        "name": "empty",
        "type": "dir",
        "size": None,
    }


def test_resumed_download_is_byte_identical(
    served: tuple[Path, PorchProcess], tmp_path: Path
) -> None:
    site, server = served
    url = f"{server.url}/big.bin"
    target = tmp_path / "big.part"
    # First attempt stops part way (the client gives up after 1 MiB + 3 bytes).
    with requests.get(url, stream=True, timeout=10) as response:
        etag = response.headers["ETag"]
        with target.open("wb") as out:
            for chunk in response.iter_content(64 * 1024):
                out.write(chunk)
                if out.tell() > 1024 * 1024:
                    break
    have = target.stat().st_size
    assert 0 < have < (site / "big.bin").stat().st_size
    # Resume from where it stopped, only if the file is still the same.
    with requests.get(
        url,
        headers={"Range": f"bytes={have}-", "If-Range": etag, "Accept-Encoding": "identity"},
        stream=True,
        timeout=10,
    ) as response:
        assert response.status_code == 206
        assert response.headers["Content-Range"].startswith(f"bytes {have}-")
        with target.open("ab") as out:
            for chunk in response.iter_content(64 * 1024):
                out.write(chunk)
    assert sha256(target) == sha256(site / "big.bin")


def test_curl_resume_is_byte_identical(served: tuple[Path, PorchProcess], tmp_path: Path) -> None:
    site, server = served
    target = tmp_path / "curl.part"
    target.write_bytes((site / "big.bin").read_bytes()[:777_777])
    result = curl("-C", "-", "-o", str(target), f"{server.url}/big.bin")
    assert result.returncode == 0, result.stderr
    assert sha256(target) == sha256(site / "big.bin")


def test_pipelined_ranges_and_conditionals_on_one_connection(
    served: tuple[Path, PorchProcess],
) -> None:
    site, server = served
    data = (site / "data.bin").read_bytes()
    etag = exchange(server, get("/data.bin")).header("etag")
    with server.connect() as sock:
        sock.sendall(
            get("/data.bin", extra="Range: bytes=0-3,8-9\r\n")
            + get("/data.bin", extra=f"If-None-Match: {etag}\r\n")
            + get("/data.bin", extra="Range: bytes=-4\r\n")
        )
        reader = ResponseReader(sock)
        multi = reader.read()
        assert multi.status == 206
        assert data[:4] in multi.body
        # framed with Content-Length: its length is known before the first byte (issue 18)
        assert multi.header("transfer-encoding") is None
        assert multi.header("content-length") == str(len(multi.body))
        assert reader.read().status == 304
        last = reader.read()
        assert last.status == 206
        assert last.body == data[-4:]


def test_precompressed_sibling_over_the_wire(site: Path, porch: Start) -> None:
    (site / "app.css").write_text("body { margin: 0 }\n" * 200)
    (site / "app.css.gz").write_bytes(gzip.compress((site / "app.css").read_bytes()))
    server = porch(site, "--quiet")
    response = requests.get(f"{server.url}/app.css", timeout=10)
    assert response.headers["Content-Encoding"] == "gzip"
    assert response.headers["Content-Type"] == "text/css; charset=utf-8"
    assert response.headers["Content-Length"] == str((site / "app.css.gz").stat().st_size)
    assert response.content == (site / "app.css").read_bytes()
