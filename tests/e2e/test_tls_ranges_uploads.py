"""HTTPS end to end for the reading and upload features, on both event loops.

Under TLS porch never uses sendfile (the bounded read/write copy loop sends files and single
ranges; multipart ranges are streamed), so ranges, a resumed download and uploads are checked
byte for byte over a real TLS connection with the asyncio loop and with uvloop. The throwaway
CA is trustme's (tests/security_helpers.py), as in tests/e2e/test_security.py.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import requests

from porch.http import Headers
from tests.helpers import PorchProcess
from tests.range_checks import check_range_answer
from tests.security_helpers import Certificates, make_certificates

Start = Callable[..., PorchProcess]
SIZE = 1_500_000  # several 256 KiB copy-loop chunks, not a multiple of one


@pytest.fixture(scope="module")
def certs(tmp_path_factory: pytest.TempPathFactory) -> Certificates:
    return make_certificates(tmp_path_factory.mktemp("tls"))


@pytest.fixture(scope="module")
def content() -> bytes:
    return os.urandom(SIZE)


def session_for(certs: Certificates) -> requests.Session:
    session = requests.Session()
    session.trust_env = False  # REQUESTS_CA_BUNDLE would override verify (requests #3829)
    session.verify = str(certs.ca)
    return session


@pytest.fixture(params=["asyncio", "uvloop"])
def server(
    request: pytest.FixtureRequest, porch: Start, site: Path, certs: Certificates, content: bytes
) -> PorchProcess:
    (site / "big.bin").write_bytes(content)
    (site / "incoming").mkdir()
    started = porch(
        site,
        "--loop",
        request.param,
        "--tls-cert",
        str(certs.cert),
        "--tls-key",
        str(certs.key),
        "--upload-dir",
        str(site / "incoming"),
    )
    assert started.url.startswith("https://")
    return started


def check(response: requests.Response, value: str, content: bytes) -> None:
    check_range_answer(
        value,
        content,
        response.status_code,
        Headers(list(response.headers.items())),
        response.content,
        max_ranges=100,
        content_type="application/octet-stream",
    )


def test_ranges_over_tls(server: PorchProcess, certs: Certificates, content: bytes) -> None:
    with session_for(certs) as session:
        single = "bytes=1000-1299999"
        response = session.get(f"{server.url}/big.bin", headers={"Range": single}, timeout=20)
        assert response.status_code == 206
        assert response.headers["Content-Range"] == f"bytes 1000-1299999/{SIZE}"
        assert response.content == content[1000:1300000]
        check(response, single, content)
        several = "bytes=0-99,300000-599999,-10"
        response = session.get(f"{server.url}/big.bin", headers={"Range": several}, timeout=20)
        assert response.status_code == 206
        assert response.headers["Content-Type"].startswith("multipart/byteranges; boundary=")
        check(response, several, content)  # each part byte-identical to its slice
        beyond = session.get(f"{server.url}/big.bin", headers={"Range": "bytes=9999999-"})
        assert beyond.status_code == 416
        assert beyond.headers["Content-Range"] == f"bytes */{SIZE}"


def test_resumed_download_over_tls(
    server: PorchProcess, certs: Certificates, content: bytes
) -> None:
    with session_for(certs) as session:
        first = session.get(f"{server.url}/big.bin", stream=True, timeout=20)
        etag = first.headers["ETag"]
        received = bytearray()
        for chunk in first.iter_content(64 * 1024):
            received += chunk
            if len(received) >= 400_000:
                break
        first.close()  # the download is cut off
    assert 0 < len(received) < SIZE
    with session_for(certs) as session:
        rest = session.get(
            f"{server.url}/big.bin",
            headers={"Range": f"bytes={len(received)}-", "If-Range": etag},
            timeout=20,
        )
    assert rest.status_code == 206
    assert rest.headers["Content-Range"] == f"bytes {len(received)}-{SIZE - 1}/{SIZE}"
    whole = bytes(received) + rest.content
    assert hashlib.sha256(whole).hexdigest() == hashlib.sha256(content).hexdigest()


def test_uploads_over_tls(server: PorchProcess, certs: Certificates, site: Path) -> None:
    data = os.urandom(2_000_000)
    digest = hashlib.sha256(data).hexdigest()
    with session_for(certs) as session:
        put = session.put(f"{server.url}/incoming/put.bin", data=data, timeout=30)
        assert put.status_code == 201

        def chunks() -> Iterator[bytes]:
            for at in range(0, len(data), 100_000):
                yield data[at : at + 100_000]

        chunked = session.post(f"{server.url}/chunked.bin", data=chunks(), timeout=30)
        assert chunked.status_code == 201
        form = session.post(
            f"{server.url}/incoming/",
            files={"file": ("form.bin", data)},
            headers={"Accept": "application/json"},
            timeout=30,
        )
        assert form.status_code == 201
        assert form.json()[0]["sha256"] == digest
        served = session.get(f"{server.url}/incoming/put.bin", timeout=30)
        assert hashlib.sha256(served.content).hexdigest() == digest
    for name in ("put.bin", "chunked.bin", "form.bin"):
        stored = (site / "incoming" / name).read_bytes()
        assert hashlib.sha256(stored).hexdigest() == digest, name
