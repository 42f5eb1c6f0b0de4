"""Helpers for the fleet tests: porch nodes that can be stopped, killed and started again on
their port, HAProxy run from examples/haproxy.cfg, and Varnish from examples/porch.vcl.

Everything binds loopback ports found free at run time; every process is started by the test
(no systemd, no daemons) and stopped by it, and each waits only a bounded time.
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from tests.e2e.servers import free_port
from tests.helpers import PorchProcess, exchange, get, porch_env, require_tool

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
HAPROXY_CONFIG = EXAMPLES / "haproxy.cfg"
VARNISH_CONFIG = EXAMPLES / "porch.vcl"
CHECK_INTERVAL = "300ms"
"""HAProxy's health-check interval in the tests (the example's default is 1 s)."""
DRAIN_DELAY = "1.5"
"""The nodes' --drain-delay: longer than HAProxy's fall (2) x CHECK_INTERVAL."""


def tool(name: str) -> str:
    """The path of an outside program (HAProxy and Varnish live in /usr/sbin, which is not on
    every user's PATH); skips, or fails under scripts/test.sh, when it is missing."""
    found = shutil.which(name) or shutil.which(name, path="/usr/sbin:/usr/local/sbin")
    require_tool(found is not None, f"{name} is not installed")
    assert found is not None
    return found


def need(name: str) -> None:
    tool(name)


@dataclass
class Node:
    """One porch process on a fixed port, restartable; its stderr accumulates in ``log_path``."""

    name: str
    root: Path
    port: int
    args: tuple[str, ...]
    log_path: Path
    proc: subprocess.Popen[str] | None = None

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"

    def start(self) -> None:
        self.launch()
        self.wait_started()

    def launch(self) -> None:
        """Start the process; ``wait_started`` reads its banner (so several start at once)."""
        with self.log_path.open("a") as stderr:
            self.proc = subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "porch",
                    str(self.root),
                    "--host",
                    "127.0.0.1",
                    "--port",
                    str(self.port),
                    *self.args,
                ],
                stdout=subprocess.PIPE,
                stderr=stderr,
                text=True,
                env=porch_env(),
            )

    def wait_started(self) -> None:
        assert self.proc is not None
        assert self.proc.stdout is not None
        banner = self.proc.stdout.readline()
        if "http://" not in banner:
            self.proc.kill()
            raise RuntimeError(f"{self.name} did not start: {banner!r}\n{self.log()}")

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 20.0) -> int:
        assert self.proc is not None
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
        status = self.proc.wait(timeout=timeout)
        if self.proc.stdout is not None:
            self.proc.stdout.close()
        return status

    def kill(self) -> None:
        self.stop(signal.SIGKILL)

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")


@dataclass
class Balancer:
    """HAProxy running examples/haproxy.cfg, addresses given through its environment."""

    port: int
    stats: Path
    nodes: list[Node]
    proc: subprocess.Popen[bytes] | None = None
    log_path: Path | None = None

    @property
    def address(self) -> tuple[str, int]:
        return ("127.0.0.1", self.port)

    def start(self, tmp: Path) -> None:
        env = dict(os.environ)
        env.update(
            PORCH_FRONTEND=f"127.0.0.1:{self.port}",
            PORCH_HAPROXY_STATS=str(self.stats),
            PORCH_CHECK_INTERVAL=CHECK_INTERVAL,
        )
        for number, node in enumerate(self.nodes, 1):
            env[f"PORCH_NODE{number}"] = node.address
        self.log_path = tmp / "haproxy.log"
        with self.log_path.open("w") as log:
            self.proc = subprocess.Popen(
                [tool("haproxy"), "-db", "-f", str(HAPROXY_CONFIG)], stdout=log, stderr=log, env=env
            )
        self.wait_up([node.name for node in self.nodes])

    def states(self) -> dict[str, str]:
        """Each node's status in HAProxy's eyes (``UP``, ``DOWN``, ``UP 1/2`` ...)."""
        with socket.socket(socket.AF_UNIX) as sock:
            sock.settimeout(2)
            sock.connect(str(self.stats))
            sock.sendall(b"show stat\n")
            data = b""
            while chunk := sock.recv(65536):
                data += chunk
        lines = data.decode().splitlines()
        columns = lines[0].lstrip("# ").split(",")
        status = columns.index("status")
        found = {}
        for line in lines[1:]:
            cells = line.split(",")
            if len(cells) > status and cells[0] == "porch" and cells[1].startswith("node"):
                found[cells[1]] = cells[status]
        return found

    def wait_up(self, names: list[str], timeout: float = 20.0) -> None:
        deadline = time.monotonic() + timeout
        last: dict[str, str] = {}
        while time.monotonic() < deadline:
            if self.proc is not None and self.proc.poll() is not None:
                raise RuntimeError(f"haproxy exited: {self.log_text()}")
            try:
                last = self.states()
            except OSError:
                time.sleep(0.1)
                continue
            if all(last.get(name) == "UP" for name in names):
                return
            time.sleep(0.1)
        raise AssertionError(f"nodes not UP in HAProxy: {last}\n{self.log_text()}")

    def log_text(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path else ""

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


@dataclass
class Fleet:
    nodes: list[Node]
    balancer: Balancer
    roots: list[Path] = field(default_factory=list)

    def node(self, name: str) -> Node:
        return next(node for node in self.nodes if node.name == name)


@contextmanager
def run_fleet(roots: list[Path], tmp: Path, *args: str, count: int = 3) -> Iterator[Fleet]:
    """Three porch nodes (node1..3, over ``roots[i]``) behind HAProxy; all stopped at the end."""
    need("haproxy")
    nodes = [
        Node(
            f"node{number}",
            roots[number - 1],
            free_port(),
            # The name clients use for the fleet (what HAProxy passes on as Host).
            (
                "--drain-delay",
                DRAIN_DELAY,
                "--trusted-proxy",
                "127.0.0.1",
                "--allowed-host",
                "files.test",
                *args,
            ),
            tmp / f"node{number}.log",
        )
        for number in range(1, count + 1)
    ]
    balancer = Balancer(free_port(), tmp / "haproxy.sock", nodes)
    try:
        for node in nodes:
            node.launch()
        for node in nodes:
            node.wait_started()
        balancer.start(tmp)
        yield Fleet(nodes, balancer, roots)
    finally:
        balancer.stop()
        running = [node for node in nodes if node.proc is not None and node.proc.poll() is None]
        for node in running:  # all at once: each drains for a while
            assert node.proc is not None
            node.proc.send_signal(signal.SIGTERM)
        for node in running:
            node.stop()


# -- files and HTTP over raw sockets ------------------------------------------------------


def make_big_file(path: Path, size: int, *, marks: int = 16) -> str:
    """A sparse file of ``size`` bytes with ``marks`` random 64 KiB pieces spread through it
    (so a resumed download spliced at the wrong offset changes the hash); its sha256."""
    with path.open("wb") as file:
        file.truncate(size)
        for mark in range(marks):
            file.seek(mark * (size // marks) + 4096 * mark)
            file.write(os.urandom(64 * 1024))
    return sha256_of(path)


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as file:
        while chunk := file.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


@dataclass
class Head:
    status: int
    headers: dict[str, str]


def send_request(
    address: tuple[str, int],
    request: bytes,
    *,
    source: str = "127.0.0.1",
    timeout: float = 20.0,
) -> tuple[socket.socket, Head, bytes]:
    """Connect from ``source``, send ``request``, read the head; the socket and the body
    bytes already read come back with it."""
    sock = socket.create_connection(address, timeout=timeout, source_address=(source, 0))
    sock.sendall(request)
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(65536)
        if not chunk:
            raise ConnectionError(f"closed before the head: {data!r}")
        data += chunk
    head, _, rest = data.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split(" ")[1])
    headers = {}
    for line in lines[1:]:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    return sock, Head(status, headers), rest


def fetch(
    address: tuple[str, int],
    path: str,
    *,
    method: str = "GET",
    headers: dict[str, str] | None = None,
    body: bytes = b"",
    source: str = "127.0.0.1",
) -> tuple[Head, bytes]:
    """One request on its own connection; the whole body (by Content-Length)."""
    fields = {"Host": "files.test", "Connection": "close", **(headers or {})}
    if body or method in ("POST", "PUT"):
        fields["Content-Length"] = str(len(body))
    text = f"{method} {path} HTTP/1.1\r\n" + "".join(f"{k}: {v}\r\n" for k, v in fields.items())
    sock, head, rest = send_request(address, text.encode("latin-1") + b"\r\n" + body, source=source)
    with sock:
        if method == "HEAD" or head.status in (204, 304):
            return head, b""
        length = int(head.headers.get("content-length", "-1"))
        while len(rest) < length or length < 0:
            chunk = sock.recv(1 << 20)
            if not chunk:
                break
            rest += chunk
    return head, rest


def access_lines(log: str) -> list[str]:
    """The access-log lines (Common Log Format) of a node's stderr."""
    return [line for line in log.splitlines() if re.match(r"^\S+ - - \[", line)]


def wait_serving(server: PorchProcess, timeout: float = 10.0) -> None:
    """Until a request is answered: --workers prints its banner before every child listens."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            exchange(server, get("/a.txt"))
            return
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.05)
