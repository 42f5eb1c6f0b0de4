"""/-/metrics and the JSON access log over real sockets (issue 16), with --workers summed."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

from tests.e2e.fleet import wait_serving
from tests.helpers import PorchProcess, exchange, get, run_porch


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("metrics")
    (root / "a.txt").write_bytes(b"x" * 1000)
    return root


def scrape(server: PorchProcess) -> dict[str, float]:
    response = exchange(server, get("/-/metrics"))
    assert response.status == 200
    return {
        line.rsplit(" ", 1)[0]: float(line.rsplit(" ", 1)[1])
        for line in response.body.decode().splitlines()
        if line and not line.startswith("#")
    }


def test_workers_are_summed_whichever_answers(site: Path, tmp_path: Path) -> None:
    with run_porch(site, "--workers", "2", "--metrics", "--quiet", tmp=tmp_path) as server:
        wait_serving(server)
        for _ in range(20):  # one connection each: the kernel spreads them over both workers
            assert exchange(server, get("/a.txt")).status == 200
        time.sleep(1.3)  # the server's own counters are copied in once a second
        for _ in range(4):  # whichever worker answers, the sum is the same
            found = scrape(server)
            assert found["porch_workers"] == 2
            assert found['porch_requests_total{method="GET",code="2xx"}'] >= 21
            assert found["porch_sent_bytes_total"] >= 20 * 1000
            assert found["porch_connections_total"] >= 20
            assert found["porch_connections_open"] >= 1  # the scrape's own


def test_json_access_log(site: Path, tmp_path: Path) -> None:
    with run_porch(site, "--access-log-format", "json", "--trusted-proxy", "127.0.0.1",
                   tmp=tmp_path) as server:  # fmt: skip
        extra = "X-Forwarded-For: 198.51.100.4\r\n"
        assert exchange(server, get("/a.txt?x=1", extra=extra)).status == 200
        deadline = time.monotonic() + 5
        lines: list[str] = []
        while time.monotonic() < deadline and not lines:
            lines = [line for line in server.log().splitlines() if line.startswith("{")]
            time.sleep(0.05)
    record = json.loads(lines[0])
    assert record["client"] == "198.51.100.4"
    assert (record["method"], record["target"], record["status"]) == ("GET", "/a.txt?x=1", 200)
    assert record["bytes"] == 1000


def test_admission_under_pressure_is_counted(site: Path, tmp_path: Path) -> None:
    with run_porch(site, "--metrics", "--max-connections", "2", "--quiet", tmp=tmp_path) as server:
        slow = [server.connect() for _ in range(2)]
        for sock in slow:
            sock.sendall(b"GET /a.txt HTTP/1.1\r\nHost: x\r\n")  # a head that never ends
        time.sleep(0.2)
        # A third from the same address: nobody holds more head-senders than it, so it is
        # refused with 503.
        refused = exchange(server, get("/a.txt"))
        assert refused.status == 503
        for sock in slow:
            sock.close()
        time.sleep(1.3)
        found = scrape(server)
        assert found['porch_admission_refusals_total{reason="refused"}'] >= 1
