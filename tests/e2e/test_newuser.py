"""Issue 19 over real sockets: what a new user trips over in the first ten minutes."""

from __future__ import annotations

import base64
import time
from collections.abc import Callable
from pathlib import Path

from tests.helpers import PorchProcess, exchange, get
from tests.security_helpers import quick_hash


def basic(user: str, password: str) -> str:
    token = base64.b64encode(f"{user}:{password}".encode()).decode()
    return f"Authorization: Basic {token}\r\n"


def log_lines(server: PorchProcess, marker: str, count: int = 1) -> list[str]:
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        lines = [line for line in server.log().splitlines() if marker in line]
        if len(lines) >= count:
            return lines
        time.sleep(0.05)
    raise AssertionError(f"no access log line with {marker!r}:\n{server.log()}")


def test_access_log_names_the_authenticated_user(
    site: Path, porch: Callable[..., PorchProcess]
) -> None:
    account = f"bob:{quick_hash('pw')}:read"
    server = porch(site, "--auth", account, "--anonymous", "read")
    assert exchange(server, get("/hello.txt", extra=basic("bob", "pw"))).status == 200
    assert exchange(server, get("/page.html")).status == 200
    assert log_lines(server, '"GET /hello.txt ')[0].startswith("127.0.0.1 - bob [")
    assert log_lines(server, '"GET /page.html ')[0].startswith("127.0.0.1 - - [")
