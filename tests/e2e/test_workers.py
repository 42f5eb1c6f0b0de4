"""--workers N: N processes on one port, a crashed one replaced, all stopped by SIGTERM."""

from __future__ import annotations

import os
import signal
import time
from collections.abc import Callable
from pathlib import Path

from tests.helpers import PorchProcess, exchange, get


def children(pid: int) -> set[int]:
    found: set[int] = set()
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            stat = Path(f"/proc/{entry}/stat").read_text()
        except OSError:
            continue
        if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
            found.add(int(entry))
    return found


def wait_for(predicate: Callable[[], bool], timeout: float = 10.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.05)
    return False


def test_workers_share_the_port_restart_and_stop_together(
    site: Path, porch: Callable[..., PorchProcess]
) -> None:
    server = porch(site, "--workers", "2", "--quiet")
    assert wait_for(lambda: len(children(server.proc.pid)) == 2)
    for _ in range(20):
        assert exchange(server, get("/hello.txt")).body == b"hello, porch\n"

    first = children(server.proc.pid)
    victim = min(first)
    os.kill(victim, signal.SIGKILL)
    assert wait_for(
        lambda: (
            len(children(server.proc.pid) - {victim}) == 2
            and victim not in children(server.proc.pid)
        )
    )
    assert exchange(server, get("/hello.txt")).status == 200

    workers = children(server.proc.pid)
    assert server.stop(signal.SIGTERM) == 0
    assert wait_for(lambda: not any(Path(f"/proc/{pid}").exists() for pid in workers))
