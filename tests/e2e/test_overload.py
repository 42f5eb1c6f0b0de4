"""Under attack: slowloris heads and a thousand idle keep-alive connections.

There is no per-address cap (docs/limits.md, "Admission under pressure"): the slowloris
connections come from the normal client's own address, as through a NAT or a proxy, and are all
accepted. What is asserted is "not starved": the normal client, on that same address, gets its
response within a generous bound.
"""

from __future__ import annotations

import select
import socket
import time
from collections.abc import Callable
from pathlib import Path

from tests.helpers import PorchProcess, ResponseReader, exchange, get

Start = Callable[..., PorchProcess]
PROMPT = 2.0  # seconds: "served", not a benchmark


def attacker(server: PorchProcess, source: str) -> socket.socket:
    return socket.create_connection(
        (server.host, server.port), timeout=5, source_address=(source, 0)
    )


def timed_get(server: PorchProcess) -> float:
    started = time.monotonic()
    response = exchange(server, get("/hello.txt"))
    elapsed = time.monotonic() - started
    assert (response.status, response.body) == (200, b"hello, porch\n")
    return elapsed


def test_slowloris_300_connections(porch: Start, site: Path) -> None:
    server = porch(site, "--header-timeout", "3", "--quiet")
    socks = [attacker(server, "127.0.0.1") for _ in range(300)]
    for sock in socks:
        sock.sendall(b"GET /hello.txt HTTP/1.1\r\nHost: localhost\r\n")
    # Under --max-connections (1024) every one is accepted, whatever its address.
    time.sleep(0.5)
    poller = select.poll()  # not select(): descriptors may be past 1024
    for sock in socks:
        poller.register(sock, select.POLLIN)
    readable = {fd for fd, _ in poller.poll(0)}
    refused = [sock for sock in socks if sock.fileno() in readable]
    held = [sock for sock in socks if sock.fileno() not in readable]
    for sock in refused:
        data = sock.recv(4096)
        assert data.startswith(b"HTTP/1.1 503 "), data[:40]
        assert b"Retry-After: 1\r\n" in data
    assert (len(held), len(refused)) == (300, 0)

    worst = 0.0
    started = time.monotonic()
    round_number = 0
    while time.monotonic() - started < 2.0:  # trickle a header line, then a normal request
        for sock in held:
            sock.sendall(b"X-Trickle-%d: y\r\n" % round_number)
        round_number += 1
        worst = max(worst, timed_get(server))
        time.sleep(0.3)
    assert worst < PROMPT

    # The header timeout (3 s from connection start) ends every trickling head with 408.
    deadline = time.monotonic() + 6
    for sock in held:
        sock.settimeout(max(0.1, deadline - time.monotonic()))
        data = sock.recv(4096)
        assert data.startswith(b"HTTP/1.1 408 ") or data == b""
    for sock in socks:
        sock.close()
    assert timed_get(server) < PROMPT


def test_thousand_idle_keepalive_connections(porch: Start, site: Path) -> None:
    server = porch(site, "--keepalive-timeout", "60", "--quiet")
    idle: list[tuple[socket.socket, ResponseReader]] = []
    for index in range(1000):  # 250 from each of four addresses: under the default caps
        sock = attacker(server, f"127.0.0.{2 + index % 4}")
        sock.sendall(get("/hello.txt"))
        idle.append((sock, ResponseReader(sock)))
    for _, reader in idle:
        response = reader.read()
        assert response.status == 200
        assert response.header("Connection") is None  # kept alive
    worst = max(timed_get(server) for _ in range(10))
    assert worst < PROMPT
    # The idle connections are still alive and usable.
    for sock, reader in idle[::100]:
        sock.sendall(get("/hello.txt"))
        assert reader.read().status == 200
    for sock, _ in idle:
        sock.close()
