"""The page resumes by itself: a 1 GiB upload from headless Chromium (tus-js-client, vendored)
survives three cut connections and one killed server, directly and through Debian's nginx with
``client_max_body_size 10m`` (configured as docs/deploy.md says: bodies streamed through), and
ends with the same SHA-256 as the file picked, having re-sent at most one 8 MiB chunk per
interruption. A reload resumes instead of starting again.

The connection is cut by a loopback TCP proxy in front of everything (tests/cutter.py), which
also counts the bytes the browser sent. The 1 GiB file is sparse, with random marks every few
MiB (not aligned to the chunks) so that a misplaced chunk changes the hash.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import shutil
import signal
import subprocess
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import requests

from tests.cutter import Cutter
from tests.helpers import PorchProcess, require_tool, run_porch

pytestmark = pytest.mark.browser

MIB = 1024 * 1024
CHUNK = 8 * MIB
HEADROOM = 1 * MIB  # request heads, HEADs and the page itself, on top of the re-sent chunks


def sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as data:
        while block := data.read(8 * MIB):
            digest.update(block)
    return digest.hexdigest()


def marked_sparse_file(path: Path, size: int) -> Path:
    with path.open("wb") as out:
        out.truncate(size)
        for offset in range(12345, size - 4096, 3 * MIB + 777):
            out.seek(offset)
            out.write(os.urandom(4096))
    return path


class Server:
    """porch that can be killed and started again on the same port (the proxy's upstream)."""

    def __init__(self, site: Path, tmp: Path) -> None:
        self.site, self.tmp = site, tmp
        self.stack = contextlib.ExitStack()
        self.process: PorchProcess | None = None
        self.port = 0

    def start(self) -> PorchProcess:
        self.process = self.stack.enter_context(
            run_porch(
                self.site,
                "--upload-dir",
                str(self.site),
                "--state-dir",
                str(self.tmp / "state"),
                "--port",
                str(self.port),
                tmp=self.tmp,
            )
        )
        self.port = self.process.port
        return self.process

    def kill(self) -> None:
        assert self.process is not None
        self.process.stop(signal.SIGKILL)

    def close(self) -> None:
        self.stack.close()


@pytest.fixture
def server(tmp_path: Path) -> Iterator[Server]:
    site = tmp_path / "site"
    site.mkdir()
    running = Server(site, tmp_path)
    running.start()
    try:
        yield running
    finally:
        running.close()


def free_port() -> int:
    with contextlib.closing(__import__("socket").socket()) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@contextlib.contextmanager
def nginx_in_front(upstream: int, tmp: Path) -> Iterator[int]:
    """Debian's nginx as a reverse proxy with a 10 MiB body cap, on a free port."""
    binary = shutil.which("nginx") or "/usr/sbin/nginx"
    require_tool(Path(binary).exists(), "nginx is not installed (scripts/test.sh installs it)")
    prefix = tmp / "nginx"
    prefix.mkdir()
    port = free_port()
    conf = prefix / "nginx.conf"
    conf.write_text(
        f"""
daemon off;
master_process off;
pid {prefix}/nginx.pid;
error_log {prefix}/error.log warn;
events {{ worker_connections 64; }}
http {{
    access_log off;
    client_body_temp_path {prefix}/body;
    proxy_temp_path {prefix}/proxy;
    fastcgi_temp_path {prefix}/fastcgi;
    uwsgi_temp_path {prefix}/uwsgi;
    scgi_temp_path {prefix}/scgi;
    server {{
        listen 127.0.0.1:{port};
        client_max_body_size 10m;
        # as docs/deploy.md recommends: stream request bodies through (porch refuses a stale
        # PATCH with 409 before its body; a buffering nginx would first swallow all 8 MiB)
        proxy_request_buffering off;
        proxy_buffering off;
        location / {{
            proxy_pass http://127.0.0.1:{upstream};
            proxy_http_version 1.1;
            proxy_set_header Host $http_host;
            proxy_set_header Connection "";
        }}
    }}
}}
"""
    )
    process = subprocess.Popen(
        [binary, "-p", str(prefix), "-e", str(prefix / "error.log"), "-c", str(conf)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 10
        while True:
            with contextlib.suppress(OSError):
                __import__("socket").create_connection(("127.0.0.1", port), timeout=1).close()
                break
            assert process.poll() is None, (prefix / "error.log").read_text()
            assert time.monotonic() < deadline, "nginx did not start"
            time.sleep(0.05)
        yield port
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def item_state(page: Any) -> str:
    state: str = page.evaluate("() => document.querySelector('#queue li')?.dataset.state || ''")
    return state


def wait_until(condition: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.05)


@pytest.mark.timeout(600)  # a gigabyte through a browser and proxies on a shared machine
@pytest.mark.parametrize("proxy", ["direct", "nginx"])
def test_a_1_gib_upload_survives_three_cuts_and_a_restart(
    page: Any, server: Server, tmp_path: Path, proxy: str
) -> None:
    size = 1 << 30
    source = marked_sparse_file(tmp_path / "big.bin", size)
    expected = sha256(source)
    with contextlib.ExitStack() as stack:
        upstream = server.port
        if proxy == "nginx":
            upstream = stack.enter_context(nginx_in_front(server.port, tmp_path))
            # the cap is real: one request of 11 MiB does not pass (a plain upload would fail)
            capped = requests.post(
                f"http://127.0.0.1:{upstream}/capped.bin", data=bytes(11 * MIB), timeout=30
            )
            assert capped.status_code == 413
        cutter = stack.enter_context(Cutter(upstream))
        page.goto(cutter.url + "/")
        page.set_input_files("#upload-files", files=[str(source)])
        interruptions = 0
        for fraction, action in [(0.15, "cut"), (0.35, "cut"), (0.55, "restart"), (0.75, "cut")]:
            wait_until(lambda f=fraction: cutter.sent > f * size, 240, f"{fraction:.0%} sent")
            assert item_state(page) == "sending"
            if action == "cut":
                cutter.cut()
            else:
                server.kill()
                cutter.cut()
                time.sleep(0.5)
                server.start()  # same port: the proxies point at it
            interruptions += 1
        wait_until(lambda: item_state(page) in ("done", "error"), 300, "the upload to finish")
        detail = page.evaluate("() => document.querySelector('#queue li .item-detail').textContent")
        assert item_state(page) == "done", detail
        progress = page.evaluate(
            "() => [...document.querySelectorAll('#queue li progress')]"
            ".map((p) => [p.value, p.max])"
        )
        assert progress == [[size, size]]
        resent = cutter.sent - size
        print(f"re-sent {resent / MIB:.1f} MiB over {interruptions} interruptions")
    stored = server.site / "big.bin"
    assert stored.stat().st_size == size
    assert sha256(stored) == expected
    assert resent <= interruptions * CHUNK + HEADROOM, f"re-sent {resent / MIB:.1f} MiB"
    assert list((tmp_path / "state" / "uploads").glob("*.data")) == []
    stored.unlink()  # pytest keeps old tmp dirs: do not leave a gigabyte behind


def test_picking_the_same_file_after_a_reload_resumes_it(
    page: Any, server: Server, tmp_path: Path
) -> None:
    size = 48 * MIB
    source = marked_sparse_file(tmp_path / "clip.bin", size)
    with Cutter(server.port) as cutter:
        page.goto(cutter.url + "/")
        page.set_input_files("#upload-files", files=[str(source)])
        wait_until(lambda: cutter.sent > 20 * MIB, 60, "20 MiB sent")
        page.reload()
        before = cutter.sent
        page.set_input_files("#upload-files", files=[str(source)])
        wait_until(lambda: item_state(page) in ("done", "error"), 60, "the upload to finish")
        assert item_state(page) == "done"
        # after the reload only what the server did not have yet went again
        assert cutter.sent - before < size - 16 * MIB + CHUNK
        stored_keys = page.evaluate(
            "() => Object.keys(localStorage).filter((k) => k.startsWith('tus::'))"
        )
    assert sha256(server.site / "clip.bin") == sha256(source)
    assert stored_keys == []  # the fingerprint is forgotten once the upload is done


def test_a_taken_name_fails_at_once_instead_of_retrying(
    page: Any, server: Server, tmp_path: Path
) -> None:
    source = marked_sparse_file(tmp_path / "taken.bin", 12 * MIB)
    (server.site / "taken.bin").write_bytes(b"the old one")
    assert server.process is not None
    page.goto(server.process.url + "/")
    page.set_input_files("#upload-files", files=[str(source)])
    wait_until(lambda: item_state(page) in ("done", "error"), 10, "the upload to end")
    assert item_state(page) == "error"
    detail = page.evaluate("() => document.querySelector('#queue li .item-detail').textContent")
    assert detail.startswith("409")
    assert "exists" in detail
    assert (server.site / "taken.bin").read_bytes() == b"the old one"
    assert list((tmp_path / "state" / "uploads").glob("*.data")) == []
