"""Varnish (examples/porch.vcl) in front of porch (issue 16): a second GET is a cache hit, an
expired object is revalidated (304 from porch while the file is unchanged, the new bytes once it
changed), and nothing is served stale past its freshness."""

from __future__ import annotations

import os
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.e2e.fleet import VARNISH_CONFIG, access_lines, fetch, tool
from tests.e2e.servers import free_port
from tests.helpers import PorchProcess, run_porch

MAX_AGE = 1


def porch_log(server: PorchProcess, path: str) -> list[int]:
    """The statuses porch logged for GETs of ``path``, in order."""
    statuses = []
    for line in access_lines(server.log()):
        if f'"GET {path} ' in line:
            statuses.append(int(line.rsplit(" ", 2)[1]))
    return statuses


def wait_for_log(server: PorchProcess, path: str, count: int) -> list[int]:
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        found = porch_log(server, path)
        if len(found) >= count:
            return found
        time.sleep(0.05)
    return porch_log(server, path)


@pytest.fixture
def site(tmp_path: Path) -> Path:
    root = tmp_path / "site"
    root.mkdir()
    (root / "f.bin").write_bytes(b"version one " * 100)
    return root


def start_varnish(tmp_path: Path, backend_port: int) -> tuple[subprocess.Popen[bytes], int]:
    text = VARNISH_CONFIG.read_text()
    assert '.port = "8000";' in text
    vcl = tmp_path / "porch.vcl"
    vcl.write_text(text.replace('.port = "8000";', f'.port = "{backend_port}";'))
    port = free_port()
    log = (tmp_path / "varnish.log").open("w")
    proc = subprocess.Popen(
        [
            tool("varnishd"),
            "-F",
            "-n",
            str(tmp_path / "varnish"),
            "-a",
            f"127.0.0.1:{port}",
            "-f",
            str(vcl),
            "-s",
            "malloc,32m",
            "-T",
            "none",
            "-j",
            "none",
        ],
        stdout=log,
        stderr=log,
    )
    deadline = time.monotonic() + 60  # the VCL is compiled to C first
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError((tmp_path / "varnish.log").read_text())
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return proc, port
        except OSError:
            time.sleep(0.2)
    proc.kill()
    raise RuntimeError("varnishd did not start listening")


@pytest.fixture
def cached(
    site: Path, tmp_path: Path, request: pytest.FixtureRequest
) -> Iterator[tuple[PorchProcess, tuple[str, int]]]:
    flags: tuple[str, ...] = getattr(request, "param", ())
    with run_porch(
        site, "--drain-delay", "0", "--allowed-host", "files.test", *flags, tmp=tmp_path
    ) as server:
        proc, port = start_varnish(tmp_path, server.port)
        try:
            yield server, ("127.0.0.1", port)
        finally:
            proc.terminate()
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


def is_hit(headers: dict[str, str]) -> bool:
    """Varnish's X-Varnish holds two transaction ids on a hit (this one, the object's)."""
    return len(headers.get("x-varnish", "").split()) == 2


def edit(path: Path, data: bytes) -> None:
    path.write_bytes(data)
    stamp = time.time_ns()
    os.utime(path, ns=(stamp, stamp))


@pytest.mark.parametrize("cached", [("--max-age", str(MAX_AGE))], indirect=True)
def test_a_cache_hit_then_revalidation_then_the_edit(
    cached: tuple[PorchProcess, tuple[str, int]], site: Path
) -> None:
    server, address = cached
    old = (site / "f.bin").read_bytes()
    first, body = fetch(address, "/f.bin")
    assert (first.status, body) == (200, old)
    assert first.headers["cache-control"] == f"max-age={MAX_AGE}"
    assert not is_hit(first.headers)
    second, body = fetch(address, "/f.bin")
    assert (second.status, body) == (200, old)
    assert is_hit(second.headers), second.headers
    assert "age" in second.headers
    assert wait_for_log(server, "/f.bin", 1) == [200]  # the hit never reached porch

    # Past max-age: Varnish asks porch again, conditionally; unchanged, so porch says 304.
    time.sleep(MAX_AGE + 0.3)
    third, body = fetch(address, "/f.bin")
    assert (third.status, body) == (200, old)
    assert wait_for_log(server, "/f.bin", 2) == [200, 304]

    # Edited: within max-age the old copy may still be served, never after.
    new = b"version two, longer " * 100
    edit(site / "f.bin", new)
    edited_at = time.monotonic()
    stale_after = None
    while time.monotonic() - edited_at < MAX_AGE + 1.5:
        asked_at = time.monotonic() - edited_at  # before the request: a slow answer is no excuse
        head, body = fetch(address, "/f.bin")
        assert head.status == 200
        assert int(head.headers.get("age", "0")) <= MAX_AGE
        assert body in (old, new)
        if body == old:
            stale_after = asked_at
        time.sleep(0.1)
    assert body == new
    if stale_after is not None:
        assert stale_after <= MAX_AGE + 0.1, f"old bytes asked {stale_after:.2f}s after the edit"
    assert 200 in wait_for_log(server, "/f.bin", 3)[2:]  # the new bytes came from porch


def test_by_default_every_request_is_revalidated(
    cached: tuple[PorchProcess, tuple[str, int]], site: Path
) -> None:
    server, address = cached
    old = (site / "f.bin").read_bytes()
    first, body = fetch(address, "/f.bin")
    assert (first.status, body, first.headers["cache-control"]) == (200, old, "no-cache")
    time.sleep(0.02)  # the VCL stores no-cache for 1 ms (a zero ttl is how Varnish purges)
    second, body = fetch(address, "/f.bin")
    assert (second.status, body) == (200, old)
    assert wait_for_log(server, "/f.bin", 2) == [200, 304]  # stored, and asked about again
    edit(site / "f.bin", b"changed")
    time.sleep(0.02)
    third, body = fetch(address, "/f.bin")
    assert (third.status, body) == (200, b"changed")  # at once: no-cache is never stale
