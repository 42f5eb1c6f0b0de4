"""Test helpers: start a real porch process, speak raw HTTP over sockets.

The server runs as ``python -m porch`` with this checkout's ``src`` first on PYTHONPATH, so a
test exercises the tree it sits in (git worktrees included), not whatever is installed.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

SRC = Path(__file__).resolve().parents[1] / "src"


def porch_env() -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(SRC), env.get("PYTHONPATH", "")]).rstrip(os.pathsep)
    env["PYTHONUNBUFFERED"] = "1"
    return env


@dataclass
class PorchProcess:
    proc: subprocess.Popen[str]
    host: str
    port: int
    banner: str
    stderr_path: Path

    @property
    def url(self) -> str:
        scheme = "https" if "https://" in self.banner else "http"
        return f"{scheme}://{self.host}:{self.port}"

    def connect(self, timeout: float = 5.0) -> socket.socket:
        sock = socket.create_connection((self.host, self.port), timeout=timeout)
        return sock

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 15.0) -> int:
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
        return self.proc.wait(timeout=timeout)

    def log(self) -> str:
        return self.stderr_path.read_text(errors="replace")


@contextmanager
def run_porch(root: Path, *args: str, tmp: Path | None = None) -> Iterator[PorchProcess]:
    """Start porch on a free loopback port; stop it (SIGTERM) at the end."""
    stderr_dir = tmp if tmp is not None else root
    stderr_path = stderr_dir / f"porch-stderr-{time.monotonic_ns()}.log"
    with stderr_path.open("w") as stderr:
        proc = subprocess.Popen(
            [sys.executable, "-m", "porch", str(root), "--host", "127.0.0.1", "--port", "0", *args],
            stdout=subprocess.PIPE,
            stderr=stderr,
            text=True,
            env=porch_env(),
        )
    assert proc.stdout is not None
    banner = proc.stdout.readline()
    if "http://" not in banner and "https://" not in banner:
        proc.kill()
        raise RuntimeError(f"porch did not start: {banner!r}\n{stderr_path.read_text()}")
    port = int(banner.rsplit(":", 1)[1].strip().strip("/"))
    server = PorchProcess(proc, "127.0.0.1", port, banner, stderr_path)
    try:
        yield server
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        proc.stdout.close()


@dataclass
class RawResponse:
    status: int
    reason: str
    version: str
    headers: list[tuple[str, str]] = field(default_factory=list)
    body: bytes = b""

    def header(self, name: str) -> str | None:
        for key, value in self.headers:
            if key.lower() == name.lower():
                return value
        return None

    def header_all(self, name: str) -> list[str]:
        return [v for k, v in self.headers if k.lower() == name.lower()]


class ResponseReader:
    """Reads successive HTTP/1.1 responses from one socket (for keep-alive and pipelining)."""

    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock
        self.buffer = b""

    def _fill(self) -> bool:
        data = self.sock.recv(65536)
        if not data:
            return False
        self.buffer += data
        return True

    def _read_until(self, marker: bytes) -> bytes:
        while marker not in self.buffer:
            if not self._fill():
                raise ConnectionError(f"closed before {marker!r}; got {self.buffer[:200]!r}")
        head, _, self.buffer = self.buffer.partition(marker)
        return head

    def _read_exact(self, n: int) -> bytes:
        while len(self.buffer) < n:
            if not self._fill():
                raise ConnectionError(f"closed after {len(self.buffer)} of {n} body bytes")
        data, self.buffer = self.buffer[:n], self.buffer[n:]
        return data

    def read(self, method: str = "GET") -> RawResponse:
        head = self._read_until(b"\r\n\r\n").decode("latin-1")
        lines = head.split("\r\n")
        version, status, *reason = lines[0].split(" ", 2)
        response = RawResponse(int(status), reason[0] if reason else "", version)
        for line in lines[1:]:
            name, _, value = line.partition(":")
            response.headers.append((name.strip(), value.strip()))
        if method == "HEAD" or response.status in (204, 304) or response.status < 200:
            return response
        length = response.header("content-length")
        if length is not None:
            response.body = self._read_exact(int(length))
        elif (response.header("transfer-encoding") or "").lower() == "chunked":
            parts = []
            while True:
                size = int(self._read_until(b"\r\n").split(b";")[0], 16)
                if size == 0:
                    self._read_until(b"\r\n")
                    break
                parts.append(self._read_exact(size))
                self._read_exact(2)
            response.body = b"".join(parts)
        else:
            while self._fill():
                pass
            response.body, self.buffer = self.buffer, b""
        return response

    def closed(self, timeout: float = 5.0) -> bool:
        """True when the server closes the connection (EOF or reset) within ``timeout``."""
        self.sock.settimeout(timeout)
        try:
            while True:
                data = self.sock.recv(65536)
                if not data:
                    return True
                self.buffer += data
        except ConnectionResetError:
            return True
        except TimeoutError:
            return False


def exchange(server: PorchProcess, raw: bytes, method: str = "GET") -> RawResponse:
    """Send raw request bytes on a new connection and read one response."""
    with server.connect() as sock:
        sock.sendall(raw)
        return ResponseReader(sock).read(method)


def get(path: str, *, host: str = "localhost", extra: str = "") -> bytes:
    """A minimal GET request's bytes; ``path`` is sent exactly as given (no normalising)."""
    return f"GET {path} HTTP/1.1\r\nHost: {host}\r\n{extra}\r\n".encode("latin-1")


def require_tool(available: bool, reason: str) -> None:
    """Skip a test whose outside tool is missing — but fail under scripts/test.sh.

    The test script installs every tool the suite uses and sets PORCH_REQUIRE_TOOLS=1, so
    there a missing tool means a broken install step, which must not pass as a skip.
    """
    if available:
        return
    import pytest

    if os.environ.get("PORCH_REQUIRE_TOOLS") == "1":
        pytest.fail(f"{reason} (PORCH_REQUIRE_TOOLS=1: scripts/test.sh should have installed it)")
    pytest.skip(reason)


def run_cli(
    *args: str, timeout: float = 30, input: str | None = None
) -> subprocess.CompletedProcess[str]:
    """Run ``python -m porch ARGS`` to completion (for commands that exit: bad starts,
    ``hash-password``); stdout and stderr captured as text, the exit status not checked."""
    return subprocess.run(
        [sys.executable, "-m", "porch", *args],
        input=input,
        capture_output=True,
        text=True,
        env=porch_env(),
        timeout=timeout,
        check=False,
    )
