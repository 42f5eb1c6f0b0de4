"""``--send-timeout`` over real sockets: a client that requests a large file and reads
nothing is disconnected after the timeout, on both event loops (uvloop copies the file
through the transport; asyncio's loop uses sendfile)."""

from __future__ import annotations

import socket
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.helpers import PorchProcess


@pytest.mark.parametrize("loop", ["uvloop", "asyncio"])
def test_a_client_that_reads_nothing_is_disconnected(
    tmp_path: Path, porch: Callable[..., PorchProcess], loop: str
) -> None:
    root = tmp_path / "big"
    root.mkdir()
    with (root / "big.bin").open("wb") as out:
        out.truncate(64 * 1024 * 1024)  # sparse: far more than the socket buffers hold
    server = porch(root, "--send-timeout", "1", "--loop", loop, "--quiet")
    with socket.socket() as client:
        client.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        client.connect((server.host, server.port))
        client.sendall(b"GET /big.bin HTTP/1.1\r\nHost: localhost\r\n\r\n")
        time.sleep(2.5)  # reads nothing for more than the timeout
        client.settimeout(10)
        received = 0
        while True:
            try:
                data = client.recv(1 << 20)
            except ConnectionResetError:  # the abort can arrive as a reset
                break
            if not data:
                break
            received += len(data)
    assert received < 64 * 1024 * 1024  # cut off, not completed
