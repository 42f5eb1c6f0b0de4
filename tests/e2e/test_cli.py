"""The command line and process life: start-up errors, the banner, signals, graceful stop."""

from __future__ import annotations

import dataclasses
import hashlib
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from porch.cli import build_parser
from porch.config import Config
from tests.helpers import ResponseReader, get, porch_env, run_cli, run_porch


def test_missing_root_exits_2_with_a_message(tmp_path: Path) -> None:
    result = run_cli(str(tmp_path / "nowhere"), "--port", "0")
    assert result.returncode == 2
    assert "does not exist" in result.stderr


def test_file_as_root_exits_2_with_a_message(tmp_path: Path) -> None:
    (tmp_path / "file.txt").write_text("x")
    result = run_cli(str(tmp_path / "file.txt"), "--port", "0")
    assert result.returncode == 2
    assert "not a directory" in result.stderr


def test_port_in_use_exits_2_with_a_message(tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = run_cli(str(tmp_path), "--host", "127.0.0.1", "--port", str(port))
    assert result.returncode == 2
    assert "already in use" in result.stderr
    assert "Traceback" not in result.stderr


@pytest.mark.parametrize("flag", ["--header-timeout", "--max-connections", "--max-url-bytes"])
def test_limits_must_be_positive(tmp_path: Path, flag: str) -> None:
    result = run_cli(str(tmp_path), flag, "0")
    assert result.returncode == 2
    assert "above zero" in result.stderr


def test_every_config_field_has_a_flag() -> None:
    options = {o for action in build_parser()._actions for o in action.option_strings}
    for field in dataclasses.fields(Config):
        if field.name != "root":
            flag = field.name.replace("_", "-")
            # A switch may be spelled --no-X; a tuple field is a repeatable singular flag.
            singular = flag[:-3] + "y" if flag.endswith("ies") else flag.removesuffix("s")
            # --auth USER:HASH and --auth-file build accounts; --config FILE is config_file.
            aliases = {"accounts": "--auth", "config-file": "--config"}
            spellings = {f"--{flag}", f"--no-{flag}", f"--{singular}", aliases.get(flag, "")}
            assert spellings & options, flag


def test_python_m_porch_serves_and_prints_its_url(tmp_path: Path) -> None:
    (tmp_path / "a.txt").write_text("a")
    with run_porch(tmp_path, tmp=tmp_path) as server:
        assert server.banner.startswith("porch serving ")
        assert f"http://127.0.0.1:{server.port}/" in server.banner
        with server.connect() as sock:
            sock.sendall(get("/a.txt"))
            assert ResponseReader(sock).read().body == b"a"


def test_root_defaults_to_the_current_directory(tmp_path: Path) -> None:
    (tmp_path / "here.txt").write_text("here")
    proc = subprocess.Popen(
        [sys.executable, "-m", "porch", "--port", "0"],
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
        env=porch_env(),
    )
    try:
        assert proc.stdout is not None
        banner = proc.stdout.readline()
        assert str(tmp_path.resolve()) in banner
        port = int(banner.rsplit(":", 1)[1].strip().strip("/"))
        with socket.create_connection(("127.0.0.1", port), timeout=5) as sock:
            sock.sendall(get("/here.txt"))
            assert ResponseReader(sock).read().body == b"here"
    finally:
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=10) == 0
        proc.stdout.close()  # type: ignore[union-attr]


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT])
def test_signal_lets_a_slow_download_finish_then_exits_0(tmp_path: Path, signum: int) -> None:
    data = hashlib.shake_256(b"slow").digest(
        12 * 1024 * 1024
    )  # well over the 4 MiB kernel send buffer
    (tmp_path / "big.bin").write_bytes(data)
    with run_porch(tmp_path, "--shutdown-grace", "8", tmp=tmp_path) as server:
        sock = socket.socket()
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 16 * 1024)
        sock.settimeout(5)
        sock.connect((server.host, server.port))
        with sock:
            sock.sendall(get("/big.bin"))
            first = sock.recv(16 * 1024)
            assert first.startswith(b"HTTP/1.1 200")
            time.sleep(0.2)
            server.proc.send_signal(signum)
            time.sleep(0.3)
            assert server.proc.poll() is None  # still sending to us
            # the listener is closed: new clients are refused, the download goes on
            with pytest.raises(ConnectionRefusedError):
                socket.create_connection((server.host, server.port), timeout=1).close()
            received = bytearray(first)
            while chunk := sock.recv(256 * 1024):
                received += chunk
                time.sleep(0.001)  # a slow reader
            head, _, body = bytes(received).partition(b"\r\n\r\n")
            assert b"Content-Length: %d" % len(data) in head
            assert body == data
        assert server.proc.wait(timeout=10) == 0


def test_idle_connections_do_not_delay_the_stop(tmp_path: Path) -> None:
    with run_porch(tmp_path, tmp=tmp_path) as server:
        idle = server.connect()
        idle.sendall(get("/missing"))
        ResponseReader(idle).read()
        start = time.monotonic()
        server.proc.send_signal(signal.SIGTERM)
        assert server.proc.wait(timeout=10) == 0
        assert time.monotonic() - start < 2
        idle.close()


def test_state_dir_inside_root_is_a_startup_error(tmp_path: Path) -> None:
    result = run_cli(str(tmp_path), "--state-dir", str(tmp_path / "state"))
    assert result.returncode == 2
    assert "state directory is inside the served directory" in result.stderr
