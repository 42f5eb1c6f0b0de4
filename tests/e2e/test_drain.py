"""Draining on SIGTERM over real sockets (issue 16): health 503 first, the listener open for
--drain-delay, requests in flight finished, exit 0 — one process and --workers alike."""

from __future__ import annotations

import signal
import socket
import time
from pathlib import Path

import pytest

from tests.e2e.fleet import wait_serving
from tests.helpers import PorchProcess, ResponseReader, exchange, get, run_cli, run_porch

BIG = 64 * 1024 * 1024


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("drain")
    (root / "a.txt").write_text("alpha\n")
    with (root / "big.bin").open("wb") as file:
        file.truncate(BIG)  # sparse
    return root


def health(server: PorchProcess) -> int:
    return exchange(server, get("/-/health")).status


def refused(server: PorchProcess) -> bool:
    try:
        with socket.create_connection((server.host, server.port), timeout=1):
            return False
    except OSError:
        return True


@pytest.mark.parametrize("workers", ["1", "2"])
def test_sigterm_drains_then_exits_0(site: Path, tmp_path: Path, workers: str) -> None:
    with run_porch(site, "--drain-delay", "1.5", "--workers", workers, tmp=tmp_path) as server:
        wait_serving(server)
        assert health(server) == 200  # one poll, by one worker: every worker then drains
        # A download in flight when the signal comes.
        download = server.connect(timeout=10)
        download.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 64 * 1024)
        download.sendall(get("/big.bin"))
        first = download.recv(65536)
        assert first.startswith(b"HTTP/1.1 200")
        signalled = time.monotonic()
        server.proc.send_signal(signal.SIGTERM)
        time.sleep(0.3)
        # Draining: the listener still accepts; health says 503, the rest is answered and
        # each answer closes its connection.
        statuses = [health(server) for _ in range(4)]
        assert set(statuses) == {503}
        with server.connect() as sock:
            sock.sendall(get("/a.txt"))
            reader = ResponseReader(sock)
            answer = reader.read()
            assert (answer.status, answer.body) == (200, b"alpha\n")
            assert answer.header("connection") == "close"
            assert reader.closed()
        # The download in flight goes on to its last byte.
        received = len(first)
        while True:
            data = download.recv(1 << 20)
            if not data:
                break
            received += len(data)
        download.close()
        head_length = first.index(b"\r\n\r\n") + 4
        assert received - head_length == BIG
        assert server.proc.wait(timeout=15) == 0
        elapsed = time.monotonic() - signalled
        assert elapsed >= 1.4  # the drain delay was kept
        assert refused(server)


def test_nobody_polled_health_so_no_delay(site: Path, tmp_path: Path) -> None:
    with run_porch(site, "--drain-delay", "30", tmp=tmp_path) as server:
        assert exchange(server, get("/a.txt")).status == 200
        started = time.monotonic()
        assert server.stop(signal.SIGTERM) == 0
        assert time.monotonic() - started < 10


def test_ctrl_c_skips_the_delay(site: Path, tmp_path: Path) -> None:
    with run_porch(site, "--drain-delay", "30", tmp=tmp_path) as server:
        assert health(server) == 200
        started = time.monotonic()
        assert server.stop(signal.SIGINT) == 0
        assert time.monotonic() - started < 10


def test_drain_delay_flag_is_checked(site: Path) -> None:
    done = run_cli(str(site), "--drain-delay", "-1")
    assert done.returncode == 2
    assert "--drain-delay" in done.stderr
