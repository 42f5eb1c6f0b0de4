"""Resumable uploads over real sockets with clients nobody here wrote: tuspy (Python) and
tus-js-client in Node (tus and the IETF draft), plus the 104 interim response on the wire.

A "kill" is SIGKILL: nothing of porch's shutdown runs, so what survives is what was durable.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import signal
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
import requests

from tests.helpers import PorchProcess, ResponseReader, require_tool, run_porch

NODE_DIR = Path(__file__).resolve().parents[1] / "node"
CHUNK = 256 * 1024


def sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as data:
        while block := data.read(1 << 20):
            digest.update(block)
    return digest.hexdigest()


@pytest.fixture
def site(tmp_path: Path) -> Path:
    root = tmp_path / "root"
    (root / "incoming").mkdir(parents=True)
    return root


@contextmanager
def porch(site: Path, tmp_path: Path, *args: str) -> Iterator[PorchProcess]:
    with run_porch(
        site,
        "--quiet",
        "--upload-dir",
        str(site / "incoming"),
        "--state-dir",
        str(tmp_path / "state"),
        *args,
        tmp=tmp_path,
    ) as server:
        yield server


def source_file(tmp_path: Path, size: int, name: str = "source.bin") -> Path:
    path = tmp_path / name
    path.write_bytes(os.urandom(size))
    return path


def partial_files(tmp_path: Path) -> list[Path]:
    return sorted((tmp_path / "state" / "uploads").glob("*.data"))


# -- tuspy ---------------------------------------------------------------------------------


def test_tuspy_uploads_in_chunks_survives_a_killed_server_and_finishes(
    site: Path, tmp_path: Path
) -> None:
    from tusclient import client as tus_client
    from tusclient.storage import filestorage

    source = source_file(tmp_path, 10 * CHUNK + 1234)
    storage = filestorage.FileStorage(str(tmp_path / "tuspy-urls.json"))
    with porch(site, tmp_path) as server:
        client = tus_client.TusClient(server.url + "/incoming/")
        uploader = client.uploader(
            str(source),
            chunk_size=CHUNK,
            metadata={"filename": "movie.bin"},
            store_url=True,
            url_storage=storage,
            upload_checksum=True,  # sha1 Upload-Checksum on every chunk
        )
        uploader.upload(stop_at=4 * CHUNK)
        assert uploader.offset == 4 * CHUNK
        url = uploader.url
        port = server.port
        server.stop(signal.SIGKILL)
    # Nothing is visible while it is partial; the partial's bytes are in the state directory.
    assert not (site / "incoming" / "movie.bin").exists()
    assert [path.stat().st_size for path in partial_files(tmp_path)] == [4 * CHUNK]
    # tuspy remembers the absolute URL, so the server comes back on the same port.
    with porch(site, tmp_path, "--port", str(port)) as server:
        client = tus_client.TusClient(server.url + "/incoming/")
        resumed = client.uploader(
            str(source),
            chunk_size=CHUNK,
            metadata={"filename": "movie.bin"},
            store_url=True,
            url_storage=storage,
            upload_checksum=True,
        )
        # tuspy found its upload by fingerprint and asked porch (HEAD) where it stands.
        assert resumed.url.rsplit("/", 1)[1] == url.rsplit("/", 1)[1]
        assert resumed.offset == 4 * CHUNK
        resumed.upload()
    stored = site / "incoming" / "movie.bin"
    assert sha256(stored) == sha256(source)
    assert partial_files(tmp_path) == []


def test_tuspy_refused_by_the_size_limit_at_creation(site: Path, tmp_path: Path) -> None:
    from tusclient import client as tus_client
    from tusclient.exceptions import TusCommunicationError

    source = source_file(tmp_path, 2000)
    with porch(site, tmp_path, "--max-upload-size", "1999") as server:
        uploader = tus_client.TusClient(server.url + "/incoming/").uploader(
            str(source), chunk_size=CHUNK, metadata={"filename": "big.bin"}
        )
        with pytest.raises(TusCommunicationError) as refused:
            uploader.upload()
        assert refused.value.status_code == 413
    assert partial_files(tmp_path) == []


# -- tus-js-client in Node -----------------------------------------------------------------


def node_client(mode: str, endpoint: str, *args: str, timeout: float = 60) -> dict[str, object]:
    require_tool(shutil.which("node") is not None, "node is not installed")
    require_tool(
        (NODE_DIR / "node_modules" / "tus-js-client").is_dir(),
        "tus-js-client is not installed (scripts/test.sh runs npm ci in tests/node)",
    )
    done = subprocess.run(
        ["node", str(NODE_DIR / "client.mjs"), mode, endpoint, *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    assert done.returncode == 0, done.stderr + done.stdout
    result: dict[str, object] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


@pytest.mark.parametrize("protocol", ["tus-v1", "ietf-draft-05"])
def test_tus_js_client_in_node_uploads_pauses_and_resumes(
    site: Path, tmp_path: Path, protocol: str
) -> None:
    source = source_file(tmp_path, 5 * CHUNK + 17)
    with porch(site, tmp_path) as server:
        result = node_client(
            "resume", server.url + "/incoming/", str(source), "clip.bin", protocol, str(CHUNK)
        )
    # It stopped after two chunks, then a second Upload found the first by fingerprint.
    assert result["pausedAt"] == 2 * CHUNK
    assert result["resumedFrom"] == 2 * CHUNK
    assert sha256(site / "incoming" / "clip.bin") == sha256(source)
    assert partial_files(tmp_path) == []


def test_tus_js_client_terminates_an_upload(site: Path, tmp_path: Path) -> None:
    source = source_file(tmp_path, 4 * CHUNK)
    with porch(site, tmp_path) as server:
        result = node_client("terminate", server.url + "/incoming/", str(source), "no.bin")
        assert result["terminated"] is True
        head = subprocess.run(
            [
                "curl",
                "-s",
                "-o",
                "/dev/null",
                "-w",
                "%{http_code}",
                "-I",
                "-H",
                "Tus-Resumable: 1.0.0",
                str(result["url"]),
            ],
            capture_output=True,
            text=True,
            check=True,
        )
        assert head.stdout == "404"
    assert partial_files(tmp_path) == []
    assert not (site / "incoming" / "no.bin").exists()


def test_tus_js_client_concatenates_four_parallel_parts(site: Path, tmp_path: Path) -> None:
    source = source_file(tmp_path, 4 * CHUNK + 3)
    with porch(site, tmp_path) as server:
        result = node_client("parallel", server.url + "/incoming/", str(source), "four.bin")
    assert result["parts"] == 4
    assert sha256(site / "incoming" / "four.bin") == sha256(source)
    assert partial_files(tmp_path) == []


def test_an_expired_partial_is_removed_by_the_running_server(site: Path, tmp_path: Path) -> None:
    from tusclient import client as tus_client

    source = source_file(tmp_path, 3 * CHUNK)
    with porch(site, tmp_path, "--resumable-expiry", "1") as server:
        uploader = tus_client.TusClient(server.url + "/incoming/").uploader(
            str(source), chunk_size=CHUNK, metadata={"filename": "stale.bin"}
        )
        uploader.upload(stop_at=CHUNK)
        assert len(partial_files(tmp_path)) == 1
        time.sleep(1.5)
        head = requests.head(uploader.url, headers={"Tus-Resumable": "1.0.0"}, timeout=10)
        assert head.status_code == 404
        assert partial_files(tmp_path) == []
    assert not (site / "incoming" / "stale.bin").exists()


# -- the IETF draft on the wire ----------------------------------------------------------


def test_ietf_104_head_patch_and_completion_over_a_socket(site: Path, tmp_path: Path) -> None:
    with porch(site, tmp_path) as server, server.connect() as sock:
        sock.sendall(
            b"POST /incoming/report.txt HTTP/1.1\r\nHost: localhost\r\nUpload-Complete: ?0\r\n"
            b"Upload-Draft-Interop-Version: 6\r\nContent-Length: 5\r\n\r\nhello"
        )
        reader = ResponseReader(sock)
        interim = reader.read()
        assert interim.status == 104
        location = interim.header("location")
        assert location is not None
        assert location.startswith("/-/uploads/")
        assert interim.header("upload-limit") is not None
        final = reader.read()
        assert final.status == 201
        assert final.header("location") == location
        assert final.header("upload-offset") == "5"
        sock.sendall(f"HEAD {location} HTTP/1.1\r\nHost: localhost\r\n\r\n".encode())
        head = reader.read("HEAD")
        assert (head.status, head.header("upload-offset")) == (204, "5")
        assert head.header("upload-complete") == "?0"
        assert not (site / "incoming" / "report.txt").exists()
        sock.sendall(
            f"PATCH {location} HTTP/1.1\r\nHost: localhost\r\nUpload-Offset: 5\r\n"
            "Upload-Complete: ?1\r\nContent-Type: application/partial-upload\r\n"
            "Content-Length: 6\r\n\r\n world".encode()
        )
        done = reader.read()
        assert done.status == 201
        assert done.header("upload-complete") == "?1"
    assert (site / "incoming" / "report.txt").read_bytes() == b"hello world"


def test_an_interrupted_ietf_upload_keeps_what_arrived(site: Path, tmp_path: Path) -> None:
    """The client is cut off mid-body after the 104: the bytes that arrived are kept and the
    upload continues from there with PATCH."""
    with porch(site, tmp_path) as server:
        with server.connect() as sock:
            sock.sendall(
                b"PUT /incoming/cut.bin HTTP/1.1\r\nHost: localhost\r\nUpload-Complete: ?1\r\n"
                b"Content-Length: 1000\r\n\r\n" + b"a" * 600
            )
            interim = ResponseReader(sock).read()
            assert interim.status == 104
            location = interim.header("location")
        with server.connect() as sock:
            reader = ResponseReader(sock)
            for _ in range(50):
                sock.sendall(f"HEAD {location} HTTP/1.1\r\nHost: localhost\r\n\r\n".encode())
                head = reader.read("HEAD")
                if head.header("upload-offset") == "600":
                    break
            assert head.header("upload-offset") == "600"
            sock.sendall(
                f"PATCH {location} HTTP/1.1\r\nHost: localhost\r\nUpload-Offset: 600\r\n"
                "Upload-Complete: ?1\r\nContent-Type: application/partial-upload\r\n"
                "Content-Length: 400\r\n\r\n".encode()
                + b"b" * 400
            )
            assert reader.read().status == 201
    assert (site / "incoming" / "cut.bin").read_bytes() == b"a" * 600 + b"b" * 400


def test_workers_share_the_partial_uploads(site: Path, tmp_path: Path) -> None:
    """With --workers 2 each PATCH may reach either process: one store, one offset."""
    from tusclient import client as tus_client

    source = source_file(tmp_path, 12 * CHUNK + 5)
    with porch(site, tmp_path, "--workers", "2") as server:
        first = tus_client.TusClient(server.url + "/incoming/").uploader(
            str(source), chunk_size=CHUNK, metadata={"filename": "shared.bin"}
        )
        first.upload(stop_at=6 * CHUNK)
        # a new client (new connections) resumes by URL and finishes
        second = tus_client.TusClient(server.url + "/incoming/").uploader(
            str(source), chunk_size=CHUNK, url=first.url
        )
        assert second.offset == 6 * CHUNK
        second.upload()
    assert sha256(site / "incoming" / "shared.bin") == sha256(source)
