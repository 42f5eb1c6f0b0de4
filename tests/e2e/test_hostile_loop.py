"""Nothing blocks the loop, and no cache grows with Host values (issue 17), over real sockets.

The health check stays fast while 20 clients pull gzip of a 200 MB text file and 20 pull a
50,000-entry listing (bounded: a few seconds of load, then everything stops); porch's RSS
stays under 150 MiB after 1,000 distinct Host values ask for a 9,000-entry listing.
"""

from __future__ import annotations

import shutil
import socket
import statistics
import subprocess
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.helpers import PorchProcess, ResponseReader, require_tool

Start = Callable[..., PorchProcess]

LOAD_SECONDS = 6.0


def log_text(size: int) -> Iterator[bytes]:
    """Log-like lines, varied enough that gzip does real work (not a run of zeros)."""
    written = 0
    n = 0
    while written < size:
        block = "".join(
            f"2026-12-02T13:{k // 60 % 60:02d}:{k % 60:02d}.{k * 7919 % 10**6:06d} INFO porch"
            f" request id={k * 2654435761 % 2**32:08x} path=/files/{k % 997}/item-"
            f"{k * 31 % 10007}.txt status={200 + k % 7} bytes={k * 13 % 99991}\n"
            for k in range(n, n + 2000)
        ).encode()
        n += 2000
        written += len(block)
        yield block


@pytest.fixture(scope="module")
def loaded_site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("loop-site")
    with (root / "big.log").open("wb") as file:
        for block in log_text(200 * 1024 * 1024):
            file.write(block)
    many = root / "many"
    many.mkdir()
    for n in range(50_000):
        (many / f"entry-{n:05d}.txt").touch()
    return root


def curl(server: PorchProcess, path: str, *headers: str) -> subprocess.Popen[bytes]:
    """A curl process fetching ``path`` over and over (URL globbing, one keep-alive
    connection) with gzip accepted, the compressed bytes thrown away: a real client in a
    process of its own, so the test's own GIL does not skew the health timings."""
    args = ["curl", "-s", "--no-progress-meter", "-H", "Accept-Encoding: gzip"]
    for header in headers:
        args += ["-H", header]
    url = f"{server.url}{path}?n=[1-100000]"
    return subprocess.Popen([*args, url], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def test_health_stays_fast_while_gzip_and_big_listings_load_the_server(
    porch: Start, loaded_site: Path
) -> None:
    require_tool(shutil.which("curl") is not None, "curl is not installed")
    server = porch(loaded_site, "--quiet")
    # Before issue 17: 16 s behind ten gzip downloads, 33.6 s behind 20 big listings. The
    # bound is 100 ms above what the same server shows idle on this machine at this moment
    # (a shared CI machine alone adds tens of ms); a second run is allowed for a machine's
    # hiccup, never for the seconds-long stalls this test is about.
    results = []
    for _ in range(2):
        idle, loaded = measure(server)
        results.append(f"idle: {summary(idle)}; under load: {summary(loaded)}")
        print("health " + results[-1])
        if p99(loaded) < 0.100 + p99(idle):
            return
    raise AssertionError("the health check was slow under load:\n" + "\n".join(results))


def measure(server: PorchProcess) -> tuple[list[float], list[float]]:
    """Health latencies idle, then with 20 gzip clients and 20 big-listing clients."""
    idle = health_latencies(server, 2.0)
    clients = [curl(server, "/big.log") for _ in range(20)]
    clients += [curl(server, "/many/", "Accept: text/html") for _ in range(20)]
    try:
        time.sleep(1.0)  # let every client get going
        loaded = health_latencies(server, LOAD_SECONDS)
    finally:
        for client in clients:
            client.kill()
        for client in clients:
            client.wait(timeout=10)
    return idle, loaded


def health_latencies(server: PorchProcess, seconds: float) -> list[float]:
    """Seconds each of a series of health checks took (one keep-alive connection, one
    every 20 ms)."""
    latencies: list[float] = []
    with socket.create_connection((server.host, server.port), timeout=10) as sock:
        reader = ResponseReader(sock)
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            start = time.monotonic()
            sock.sendall(b"GET /-/health HTTP/1.1\r\nHost: localhost\r\n\r\n")
            assert reader.read().status == 200
            latencies.append(time.monotonic() - start)
            time.sleep(0.02)
    return latencies


def p99(latencies: list[float]) -> float:
    ordered = sorted(latencies)
    return ordered[int(len(ordered) * 0.99)]


def summary(latencies: list[float]) -> str:
    return (
        f"{len(latencies)} checks, median {statistics.median(latencies) * 1000:.1f} ms,"
        f" p99 {p99(latencies) * 1000:.1f} ms, max {max(latencies) * 1000:.1f} ms"
    )


def rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise AssertionError("no VmRSS")


def test_rss_stays_bounded_whatever_host_values_arrive(porch: Start, tmp_path: Path) -> None:
    root = tmp_path / "root"
    folder = root / "folder"
    folder.mkdir(parents=True)
    for n in range(9_000):
        (folder / f"report-{n:05d}.txt").touch()  # a ~4 MB page, as in the finding
    old = time.time() - 60  # old enough for the listing cache to keep it
    import os

    os.utime(folder, (old, old))
    server = porch(root, "--quiet")
    before = rss_mib(server.proc.pid)
    with socket.create_connection((server.host, server.port), timeout=30) as sock:
        reader = ResponseReader(sock)
        for n in range(1_000):
            host = f"10.{n // 65536}.{n // 256 % 256}.{n % 256}:8000"  # IP literals: allowed
            # HEAD renders (and would cache) the same page as GET, without moving 4 MB.
            method = "GET" if n % 250 == 0 else "HEAD"
            sock.sendall(
                f"{method} /folder/ HTTP/1.1\r\nHost: {host}\r\nAccept: text/html\r\n\r\n".encode()
            )
            response = reader.read(method)
            assert response.status == 200
            if method == "GET":  # every page shows its own Host in the share URL
                assert f"http://{host}/folder/".encode() in response.body
    after = rss_mib(server.proc.pid)
    print(f"RSS {before:.0f} MiB before, {after:.0f} MiB after 1,000 Host values")
    # Before issue 17: 108 MB -> 1,060 MB after 255 Host values.
    assert after < 150
