"""Deployment knobs over real sockets: --trusted-proxy and --max-query-fields."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

from tests.helpers import PorchProcess, exchange, get, run_cli


def last_log_line(server: PorchProcess) -> str:
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        lines = [line for line in server.log().splitlines() if '"GET ' in line]
        if lines:
            return lines[-1]
        time.sleep(0.05)
    raise AssertionError("no access log line")


def test_forwarded_client_is_logged_only_from_a_trusted_proxy(
    site: Path, porch: Callable[..., PorchProcess]
) -> None:
    forwarded = "X-Forwarded-For: 203.0.113.7\r\n"
    trusting = porch(site, "--trusted-proxy", "127.0.0.1")
    assert exchange(trusting, get("/hello.txt", extra=forwarded)).status == 200
    assert last_log_line(trusting).startswith("203.0.113.7 - - [")

    untrusting = porch(site)
    assert exchange(untrusting, get("/hello.txt", extra=forwarded)).status == 200
    assert last_log_line(untrusting).startswith("127.0.0.1 - - [")


def test_bad_trusted_proxy_is_refused_at_start(site: Path, tmp_path: Path) -> None:
    done = run_cli(str(site), "--trusted-proxy", "not-an-ip")
    assert done.returncode == 2
    assert "--trusted-proxy" in done.stderr


def test_query_field_limit_at_n_and_n_plus_one(
    site: Path, porch: Callable[..., PorchProcess]
) -> None:
    server = porch(site, "--max-query-fields", "3")
    assert exchange(server, get("/hello.txt?a=1&b=2&c=3")).status == 200
    refused = exchange(server, get("/hello.txt?a=1&b=2&c=3&d=4"))
    assert refused.status == 400
    assert b"more than 3 query parameters" in refused.body
