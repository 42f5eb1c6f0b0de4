"""Start porch on loopback three ways: its own server, and ``porch.asgi`` under uvicorn and granian.

Theory of operation. One description of what to serve — a root and ``settings``, a mapping of
``porch.config.Config`` field names to JSON values — starts any of the servers in ``KINDS``:

- ``porch``: ``python -m porch ROOT --flag ...``, the settings turned into command-line flags
  (``porch_flags``), through ``tests.helpers.run_porch``.
- ``uvicorn`` / ``granian``: the host server imports ``tests.e2e.servers:asgi_factory``, which
  reads the root and the settings (JSON) from the environment and calls
  ``porch.asgi.app(root, **settings)``: the adapter is built exactly as a user builds it.

Every process runs this checkout's ``src`` (``tests.helpers.porch_env``), listens on a free
127.0.0.1 port, and counts as started once that port accepts a connection. The benchmark can
start the same servers with ``serve(kind, root, settings)`` (a context manager yielding
``Served``) without pytest. Nothing here imports pytest.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tests.helpers import porch_env, run_porch

KINDS = ("porch", "uvicorn", "granian")
REPO = Path(__file__).resolve().parents[2]
ROOT_VARIABLE = "PORCH_ASGI_ROOT"
SETTINGS_VARIABLE = "PORCH_ASGI_SETTINGS"
FACTORY = "tests.e2e.servers:asgi_factory"
START_TIMEOUT = 20.0


class ServerUnavailable(RuntimeError):
    """The host server is not installed here (the caller skips, saying which)."""


@dataclass
class Served:
    """A running server: where it listens and where its output goes."""

    kind: str
    host: str
    port: int
    log_path: Path

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def connect(self, timeout: float = 5.0) -> socket.socket:
        return socket.create_connection((self.host, self.port), timeout=timeout)

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")


# -- settings: one mapping, two spellings --------------------------------------------------


def porch_flags(settings: Mapping[str, Any]) -> list[str]:
    """``settings`` as ``python -m porch`` flags: ``{"upload_dir": "/u"}`` -> ``--upload-dir /u``.

    ``accounts`` are ``USER:HASH[:ACCESS]`` strings (``--auth``), ``anonymous`` an access
    string, list values repeat their flag, ``True`` is a switch, ``False`` on a setting whose
    default is on (``compress``, ``builtin_routes``) is its ``--no-`` switch.
    """
    flags: list[str] = []
    for name, value in settings.items():
        flag = "--" + ("auth" if name == "accounts" else name.replace("_", "-"))
        if name == "routes":
            flag = "--routes"
        if value is True:
            flags.append(flag)
        elif value is False:
            flags.append("--no-" + name.replace("_", "-"))
        elif isinstance(value, list | tuple):
            for item in value:
                flags += [flag, str(item)]
        elif value is not None:
            flags += [flag, str(value)]
    return flags


def config_settings(settings: Mapping[str, Any]) -> dict[str, Any]:
    """``settings`` (JSON values) as ``porch.asgi.app`` keyword arguments (Config types)."""
    from porch.http.auth import parse_account, parse_grants

    converted: dict[str, Any] = {}
    for name, value in settings.items():
        if name == "accounts":
            converted[name] = tuple(parse_account(text) for text in value)
        elif name == "anonymous":
            converted[name] = parse_grants(value)
        elif name in ("upload_dir", "tls_cert", "tls_key") and value is not None:
            converted[name] = Path(value)
        elif isinstance(value, list):
            converted[name] = tuple(value)
        else:
            converted[name] = value
    return converted


def asgi_factory() -> Any:
    """The ASGI app the host servers load (``--factory``): ``porch.asgi.app(root, **settings)``."""
    import porch.asgi

    settings = json.loads(os.environ.get(SETTINGS_VARIABLE, "{}"))
    return porch.asgi.app(os.environ[ROOT_VARIABLE], **config_settings(settings))


# -- starting servers ----------------------------------------------------------------------


def free_port() -> int:
    """A port nothing listens on right now (the host servers cannot report a port 0 bind)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def host_command(kind: str, port: int, *, workers: int = 1) -> list[str]:
    """The command line starting ``kind`` (uvicorn or granian) on 127.0.0.1:``port``."""
    if kind == "uvicorn":
        return [
            sys.executable,
            "-m",
            "uvicorn",
            "--factory",
            FACTORY,
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--loop",
            "uvloop",
            "--http",
            "httptools",
            "--lifespan",
            "on",
            "--no-access-log",
            "--log-level",
            "warning",
            "--workers",
            str(workers),
        ]
    if kind == "granian":
        return [
            sys.executable,
            "-m",
            "granian",
            "--interface",
            "asgi",
            "--factory",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--no-ws",
            "--log-level",
            "warning",
            "--workers",
            str(workers),
            FACTORY,
        ]
    raise ValueError(f"unknown host server {kind!r}")


def host_env(root: Path, settings: Mapping[str, Any]) -> dict[str, str]:
    """The environment for ``host_command``: this checkout's ``src`` and the repository on
    PYTHONPATH (the factory lives in ``tests.e2e.servers``), the root and the settings."""
    env = porch_env()
    env["PYTHONPATH"] = os.pathsep.join([env["PYTHONPATH"], str(REPO)])
    env[ROOT_VARIABLE] = str(root)
    env[SETTINGS_VARIABLE] = json.dumps(dict(settings))
    return env


def available(kind: str) -> str | None:
    """None when ``kind`` can run here, else why not (for a skip message)."""
    if kind == "porch":
        return None
    try:
        __import__(kind)
    except ImportError:
        return f"{kind} is not installed (pip install {kind})"
    return None


def wait_listening(port: int, proc: subprocess.Popen[bytes], log_path: Path) -> None:
    """Return once 127.0.0.1:``port`` accepts a connection; raise if ``proc`` dies or stalls."""
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"server exited ({proc.returncode}):\n{log_path.read_text()}")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"server not listening after {START_TIMEOUT} s:\n{log_path.read_text()}")


def stop(proc: subprocess.Popen[bytes], timeout: float = 15.0) -> None:
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


@contextmanager
def serve_host(
    kind: str,
    root: Path,
    settings: Mapping[str, Any],
    log_dir: Path,
    *,
    workers: int = 1,
    extra: Sequence[str] = (),
) -> Iterator[Served]:
    """``porch.asgi`` under ``kind`` (uvicorn or granian), serving ``root``."""
    env = host_env(root, settings)
    log_path = log_dir / f"{kind}-{time.monotonic_ns()}.log"
    for attempt in range(3):  # a free port can be taken between the probe and the bind
        port = free_port()
        with log_path.open("wb") as log:
            proc = subprocess.Popen(
                [*host_command(kind, port, workers=workers), *extra],
                stdout=log,
                stderr=subprocess.STDOUT,
                env=env,
                cwd=REPO,
            )
        try:
            wait_listening(port, proc, log_path)
        except RuntimeError:
            stop(proc)
            if attempt == 2 or "address already in use" not in log_path.read_text().lower():
                raise
            continue
        try:
            yield Served(kind, "127.0.0.1", port, log_path)
        finally:
            stop(proc)
        return


@contextmanager
def serve(
    kind: str,
    root: Path,
    settings: Mapping[str, Any] | None = None,
    *,
    log_dir: Path | None = None,
    workers: int = 1,
    extra: Sequence[str] = (),
) -> Iterator[Served]:
    """Serve ``root`` with ``settings`` on a free loopback port under ``kind`` (see ``KINDS``).

    ``extra`` is appended to the command line (porch flags, or the host server's own options).
    Raises ``ServerUnavailable`` when ``kind`` is not installed here.
    """
    settings = dict(settings or {})
    log_dir = log_dir if log_dir is not None else root.parent
    reason = available(kind)
    if reason is not None:
        raise ServerUnavailable(reason)
    if kind == "porch":
        args = [*porch_flags(settings), *extra]
        if workers > 1:
            args += ["--workers", str(workers)]
        with run_porch(root, *args, tmp=log_dir) as process:
            yield Served(kind, process.host, process.port, process.stderr_path)
        return
    with serve_host(kind, root, settings, log_dir, workers=workers, extra=extra) as served:
        yield served
