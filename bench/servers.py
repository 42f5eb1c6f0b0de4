"""Processes: the corpus, the servers under test, wrk, /proc accounting and probes.

Theory of operation. Every server is started pinned to CPU 0 (``taskset -c 0``; children
inherit the mask, so nginx's worker is pinned too) and every load generator on CPU 1. A server
is ready when its port accepts a connection; if its process exits first, its stderr is the
error. CPU time and memory are read from /proc for the server's whole process tree (nginx's
master and worker), so a server that forks is charged for its children. Nothing here hides a
failure: a server that dies, a wrk that prints no result, a probe that times out all come back
as text for the table.
"""

from __future__ import annotations

import contextlib
import http.client
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import textwrap
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from tests.e2e.servers import host_command, host_env

from bench.harness import GIB, KIB, MIB, Scenario, WrkResult, parse_wrk

BENCH_CONNECTION_FLAGS = ("--max-connections", "4096")
"""porch's connection limit for the benchmark (nginx: worker_connections 4096)."""

ASGI_HOSTS = {"porch-asgi-uvicorn": "uvicorn", "porch-asgi-granian": "granian"}
"""Server kinds that run ``porch.asgi`` inside an ASGI server (issue 9), by host."""

BENCH_DIR = Path(__file__).resolve().parent
REPO = BENCH_DIR.parent
SRC = Path(os.environ.get("PORCH_BENCH_SRC") or REPO / "src")
REPORT_LUA = BENCH_DIR / "report.lua"
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")
PAGE_SIZE = os.sysconf("SC_PAGE_SIZE")
HOST = "127.0.0.1"

TEMPLATE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Hello</title></head>
<body><h1>Hello, {{ name }}!</h1>
<ul>{% for i in range(20) %}<li>item {{ i }}</li>{% endfor %}</ul>
</body></html>
"""

STARLETTE_APP = """\
from starlette.applications import Starlette
from starlette.routing import Mount
from starlette.staticfiles import StaticFiles

app = Starlette(routes=[Mount("/", app=StaticFiles(directory={root!r}))])
"""

NGINX_CONF = """\
worker_processes 1;
daemon off;
pid {tmp}/nginx.pid;
error_log {tmp}/nginx-error.log warn;
worker_rlimit_nofile 8192;
events {{ worker_connections 4096; }}
http {{
    types {{ text/html html; text/plain txt; application/octet-stream bin; }}
    default_type application/octet-stream;
    sendfile on;
    access_log off;
    client_body_temp_path {tmp}/nginx-body;
    proxy_temp_path {tmp}/nginx-proxy;
    fastcgi_temp_path {tmp}/nginx-fastcgi;
    uwsgi_temp_path {tmp}/nginx-uwsgi;
    scgi_temp_path {tmp}/nginx-scgi;
    server {{
        listen {host}:{port} backlog=2048;
        root {root};
        autoindex on;
    }}
}}
"""

NGINX_PUT_CONF = NGINX_CONF.replace(
    "        autoindex on;\n",
    "        dav_methods PUT;\n"
    "        client_max_body_size 0;\n"
    "        client_body_buffer_size 1m;\n",
)
"""nginx as an upload server (its dav module's PUT), over the upload directory, for the upload
rows: the body is written to a temporary file under the prefix, then renamed into place."""

LIGHTTPD_CONF = """\
server.document-root = "{root}"
server.bind = "{host}"
server.port = {port}
server.modules = ("mod_webdav")
server.errorlog = "{tmp}/lighttpd-error.log"
server.upload-dirs = ("{tmp}/lighttpd-tmp")
server.max-request-size = 0
webdav.activate = "enable"
webdav.is-readonly = "disable"
"""


@dataclass(frozen=True)
class Corpus:
    """The files every server serves; ``root`` is the document root."""

    root: Path
    upload_dir: Path
    tmp: Path
    download_size: int


def make_corpus(tmp: Path, download_size: int = GIB, large_size: int = 100 * MIB) -> Corpus:
    """Write the corpus under ``tmp`` (``large_size`` is the "100 MiB" file, smaller in tests).

    The 100 MiB file holds real (pseudo-random) bytes; the large download file is sparse
    (``truncate``), which reads as zeros from the page cache without writing a GiB to disk:
    what it measures is the server's memory while it streams, not the disk.
    """
    # nginx's worker runs as an unprivileged user when started by root: it must read the tree.
    tmp.chmod(0o755)
    root = tmp / "root"
    root.mkdir()
    block = os.urandom(MIB)
    (root / "1k.bin").write_bytes(block[:KIB])
    (root / "64k.bin").write_bytes(block[: 64 * KIB])
    with (root / "100m.bin").open("wb") as out:
        for start in range(0, large_size, MIB):
            out.write(block[: min(MIB, large_size - start)])
    with (root / "big.bin").open("wb") as out:
        out.truncate(download_size)
    listing = root / "dir1000"
    listing.mkdir()
    for i in range(1000):
        (listing / f"file-{i:04d}.txt").write_text(f"entry {i}\n")
    (root / "page.html.j2").write_text(TEMPLATE)
    upload_dir = tmp / "uploads"
    upload_dir.mkdir()
    return Corpus(root, upload_dir, tmp, download_size)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        port: int = sock.getsockname()[1]
        return port


def pinned(cpu: int, command: list[str]) -> list[str]:
    """``command`` under ``taskset -c cpu``, or unchanged when pinning is impossible."""
    if shutil.which("taskset") is None or (os.cpu_count() or 1) < 2:
        return command
    return ["taskset", "-c", str(cpu), *command]


def porch_env() -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(SRC), env.get("PYTHONPATH", "")]).rstrip(os.pathsep)
    return env


@dataclass
class ServerSpec:
    """How to start one server; ``command`` gets the port, ``prepare`` writes its config."""

    name: str
    kind: str
    loop: str = ""
    uploads: bool = False
    access_log: bool = False
    only: tuple[str, ...] = ()
    """When set, the only scenarios this server is loaded with (the others say why not)."""

    def command(self, corpus: Corpus, port: int) -> list[str]:
        root = str(corpus.root)
        if self.kind == "porch":
            cmd = [sys.executable, "-m", "porch", root, "--host", HOST]
            cmd += ["--port", str(port), "--loop", self.loop]
            cmd += [*BENCH_CONNECTION_FLAGS]
            if not self.access_log:
                cmd.append("--quiet")
            if self.uploads:
                cmd += ["--upload-dir", str(corpus.upload_dir)]
                # resumable partials (bench/resumable.py) stay in the run's temporary directory
                cmd += ["--state-dir", str(corpus.tmp / "porch-state")]
            return cmd
        if self.kind == "probe":
            return [sys.executable, str(REPO / "bench" / "probe.py"), root, str(port), HOST]
        if self.kind == "http.server":
            return [sys.executable, "-m", "http.server", str(port), "--bind", HOST, "-d", root]
        if self.kind == "uvicorn":
            app_dir = corpus.tmp / "starlette_app"
            app_dir.mkdir(exist_ok=True)
            (app_dir / "bench_static.py").write_text(STARLETTE_APP.format(root=root))
            return [
                *(sys.executable, "-m", "uvicorn", "bench_static:app"),
                *("--app-dir", str(app_dir), "--host", HOST, "--port", str(port)),
                *("--http", "httptools", "--loop", "uvloop"),
                *("--no-access-log", "--log-level", "warning"),
            ]
        if self.kind in ASGI_HOSTS:
            # porch.asgi in another server, started exactly as the behaviour suite starts it.
            return host_command(ASGI_HOSTS[self.kind], port)
        if self.kind == "nginx":
            conf = corpus.tmp / f"nginx-{port}.conf"
            template = NGINX_PUT_CONF if self.uploads else NGINX_CONF
            served = str(corpus.upload_dir) if self.uploads else root
            text = template.format(tmp=corpus.tmp, host=HOST, port=port, root=served)
            if self.uploads and os.geteuid() == 0:
                # Started as root, nginx's workers run as nobody, who may not write the body
                # temp files or the upload directory in a root-owned temporary directory.
                text = "user root;\n" + text
            conf.write_text(text)
            error_log = str(corpus.tmp / "nginx-error.log")
            return [nginx_binary(), "-p", str(corpus.tmp), "-e", error_log, "-c", str(conf)]
        if self.kind == "lighttpd":
            conf = corpus.tmp / f"lighttpd-{port}.conf"
            (corpus.tmp / "lighttpd-tmp").mkdir(exist_ok=True)
            conf.write_text(
                LIGHTTPD_CONF.format(root=corpus.upload_dir, host=HOST, port=port, tmp=corpus.tmp)
            )
            return [lighttpd_binary(), "-D", "-f", str(conf)]
        raise ValueError(f"unknown server kind {self.kind}")


def nginx_binary() -> str:
    return shutil.which("nginx") or "/usr/sbin/nginx"


def lighttpd_binary() -> str:
    return shutil.which("lighttpd") or "/usr/sbin/lighttpd"


class StartFailed(Exception):
    """The server exited or never listened; the message carries its exit status and stderr."""


@dataclass
class Server:
    """A running server process (and its children)."""

    spec: ServerSpec
    proc: subprocess.Popen[bytes]
    port: int
    stderr_path: Path

    @property
    def pid(self) -> int:
        return self.proc.pid

    def alive(self) -> bool:
        return self.proc.poll() is None

    def stderr_tail(self, limit: int = 600) -> str:
        try:
            return self.stderr_path.read_text(errors="replace")[-limit:].strip()
        except OSError:
            return ""

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


@contextlib.contextmanager
def running(spec: ServerSpec, corpus: Corpus, timeout: float = 15.0) -> Iterator[Server]:
    """Start ``spec`` pinned to CPU 0 on a free port; stop it on exit. Raises ``StartFailed``."""
    port = free_port()
    stderr_path = corpus.tmp / f"{spec.name.replace(' ', '_')}-{port}.stderr"
    if spec.kind == "porch":
        env = porch_env()
    elif spec.kind in ASGI_HOSTS:
        env = host_env(corpus.root, {})
    else:
        env = dict(os.environ)
    with stderr_path.open("wb") as stderr:
        proc = subprocess.Popen(
            pinned(0, spec.command(corpus, port)),
            stdout=subprocess.DEVNULL,
            stderr=stderr,
            env=env,
            cwd=corpus.tmp,
            start_new_session=True,
        )
    server = Server(spec, proc, port, stderr_path)
    try:
        deadline = time.monotonic() + timeout
        while True:
            if proc.poll() is not None:
                raise StartFailed(f"exit status {proc.returncode}: {server.stderr_tail()}")
            try:
                socket.create_connection((HOST, port), timeout=0.5).close()
                break
            except OSError:
                if time.monotonic() > deadline:
                    raise StartFailed(f"not listening after {timeout:.0f} s") from None
                time.sleep(0.05)
        yield server
    finally:
        server.stop()


# ---------------------------------------------------------------- /proc accounting


def _children() -> dict[int, list[int]]:
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            stat = Path(f"/proc/{entry}/stat").read_text()
        except OSError:
            continue
        ppid = int(stat.rsplit(")", 1)[1].split()[1])
        children.setdefault(ppid, []).append(int(entry))
    return children


def process_tree(pid: int) -> list[int]:
    """``pid`` and all its descendants alive now."""
    children = _children()
    tree, todo = [], [pid]
    while todo:
        current = todo.pop()
        tree.append(current)
        todo.extend(children.get(current, []))
    return tree


def cpu_seconds(pid: int) -> float:
    """User + system CPU seconds of the tree, including reaped children (cutime/cstime)."""
    ticks = 0
    for member in process_tree(pid):
        with contextlib.suppress(OSError):
            fields = Path(f"/proc/{member}/stat").read_text().rsplit(")", 1)[1].split()
            # fields[0] is state (field 3): utime..cstime are fields 14..17.
            ticks += sum(int(value) for value in fields[11:15])
    return ticks / CLOCK_TICKS


def memory(pid: int, key: str) -> int:
    """The sum of ``key`` (``VmRSS`` or ``VmHWM``) over the tree, in bytes."""
    total = 0
    for member in process_tree(pid):
        with contextlib.suppress(OSError):
            for line in Path(f"/proc/{member}/status").read_text().splitlines():
                if line.startswith(key + ":"):
                    total += int(line.split()[1]) * 1024
    return total


class RssSampler:
    """Samples the tree's VmRSS every ``interval`` seconds in a thread; ``peak`` is the max."""

    def __init__(self, pid: int, interval: float = 0.05) -> None:
        self.pid = pid
        self.interval = interval
        self.peak = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)

    def _sample(self) -> None:
        while not self._stop.is_set():
            self.peak = max(self.peak, memory(self.pid, "VmRSS"))
            self._stop.wait(self.interval)

    def __enter__(self) -> RssSampler:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()


# ---------------------------------------------------------------- requests and probes


@dataclass
class ProbeResult:
    status: int
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes = b""


def request(
    port: int,
    path: str,
    headers: tuple[tuple[str, str], ...] = (),
    *,
    method: str = "GET",
    body: bytes | None = None,
    limit: int = 2 * MIB,
    timeout: float = 10.0,
) -> ProbeResult:
    """One request on a fresh connection; at most ``limit`` body bytes are read."""
    connection = http.client.HTTPConnection(HOST, port, timeout=timeout)
    try:
        connection.putrequest(method, path, skip_accept_encoding=True)
        for name, value in headers:
            connection.putheader(name, value)
        if body is not None:
            connection.putheader("Content-Length", str(len(body)))
        connection.endheaders(body)
        response = connection.getresponse()
        data = response.read(limit) if method != "HEAD" else b""
        return ProbeResult(response.status, {k.lower(): v for k, v in response.getheaders()}, data)
    finally:
        connection.close()


def conditional_headers(port: int, scenario: Scenario) -> tuple[tuple[str, str], ...] | str:
    """The scenario's headers, plus the validator read from a first GET; or why not."""
    if not scenario.validator:
        return scenario.headers
    first = request(port, scenario.path, limit=0)
    if scenario.validator == "etag":
        etag = first.headers.get("etag")
        if etag is None:
            return "sends no ETag"
        return (*scenario.headers, ("If-None-Match", etag))
    modified = first.headers.get("last-modified")
    if modified is None:
        return "sends no Last-Modified"
    return (*scenario.headers, ("If-Modified-Since", modified))


def probe(port: int, scenario: Scenario, headers: tuple[tuple[str, str], ...]) -> str:
    """Empty when the server answers ``scenario`` as expected; else why it is "n/a"."""
    got = request(port, scenario.path, headers)
    if got.status != scenario.expect:
        return f"{got.status}, not {scenario.expect}"
    if scenario.must_contain and scenario.must_contain not in got.body:
        return f"body lacks {scenario.must_contain.decode()!r}"
    if scenario.must_not_contain and scenario.must_not_contain in got.body:
        return f"body has {scenario.must_not_contain.decode()!r}"
    if scenario.content_type and not got.headers.get("content-type", "").startswith(
        scenario.content_type
    ):
        return f"Content-Type {got.headers.get('content-type')}, not {scenario.content_type}"
    return ""


# ---------------------------------------------------------------- load


def wrk_command(
    port: int,
    scenario: Scenario,
    headers: tuple[tuple[str, str], ...],
    duration: float,
    connections: int | None = None,
) -> list[str]:
    conns = connections if connections is not None else scenario.connections
    timeout = "30s" if scenario.long_requests else "5s"
    cmd = ["wrk", "-t1", f"-c{conns}", f"-d{max(1, round(duration))}s", "--latency"]
    cmd += ["--timeout", timeout, "-s", str(REPORT_LUA)]
    for name, value in headers:
        cmd += ["-H", f"{name}: {value}"]
    return pinned(1, [*cmd, f"http://{HOST}:{port}{scenario.path}"])


def run_wrk(command: list[str], duration: float) -> WrkResult:
    """Run wrk (bounded by ``duration`` plus a margin); raises ``RuntimeError`` on failure."""
    try:
        done = subprocess.run(
            command, capture_output=True, text=True, timeout=duration + 60, check=False
        )
    except subprocess.TimeoutExpired:
        raise RuntimeError("wrk did not finish in time") from None
    try:
        return parse_wrk(done.stdout)
    except ValueError:
        raise RuntimeError(
            f"wrk exit {done.returncode}: {(done.stderr or done.stdout).strip()[-300:]}"
        ) from None


def hold_idle_connections(
    port: int, count: int, path: str, budget: float = 20.0
) -> list[socket.socket]:
    """Open up to ``count`` keep-alive connections, one GET answered on each, left idle.

    Stops early (returning fewer) when the server refuses or stalls, or after ``budget``
    seconds: the caller reports how many were opened next to the figure.
    """
    request_bytes = f"GET {path} HTTP/1.1\r\nHost: {HOST}\r\n\r\n".encode()
    sockets: list[socket.socket] = []
    deadline = time.monotonic() + budget
    try:
        for _ in range(count):
            if time.monotonic() > deadline:
                raise TimeoutError("out of time")
            sock = socket.create_connection((HOST, port), timeout=2)
            sockets.append(sock)
            sock.sendall(request_bytes)
        for sock in sockets:
            if time.monotonic() > deadline:
                raise TimeoutError("out of time")
            _read_one_response(sock)
    except OSError:
        live = []
        for sock in sockets:
            try:
                sock.settimeout(0.01 if time.monotonic() > deadline + 5 else 0.2)
                _read_one_response(sock)
                live.append(sock)
            except OSError:
                sock.close()
        return live
    return sockets


def still_open(sock: socket.socket) -> bool:
    """True when the server has not closed ``sock`` (HTTP/1.0 servers close after answering)."""
    sock.setblocking(False)
    try:
        return sock.recv(1, socket.MSG_PEEK) != b""
    except BlockingIOError:
        return True
    except OSError:
        return False


def _read_one_response(sock: socket.socket) -> None:
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(65536)
        if not chunk:
            raise ConnectionError("closed")
        data += chunk
    head, _, rest = data.partition(b"\r\n\r\n")
    length = 0
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            length = int(value)
    while len(rest) < length:
        chunk = sock.recv(65536)
        if not chunk:
            raise ConnectionError("closed")
        rest += chunk


UPLOAD_CLIENT = textwrap.dedent(
    """\
    import json, socket, sys, time
    host, port, path, size = sys.argv[1], int(sys.argv[2]), sys.argv[3], int(sys.argv[4])
    chunk = memoryview(bytes(1024 * 1024))
    sock = socket.create_connection((host, port), timeout=120)
    start = time.monotonic()
    sock.sendall(f"PUT {path} HTTP/1.1\\r\\nHost: {host}\\r\\nContent-Length: {size}\\r\\n"
                 f"Content-Type: application/octet-stream\\r\\n\\r\\n".encode())
    left = size
    while left:
        n = min(left, len(chunk))
        sock.sendall(chunk[:n])
        left -= n
    head = b""
    while b"\\r\\n" not in head:
        data = sock.recv(4096)
        if not data:
            break
        head += data
    seconds = time.monotonic() - start
    status = int(head.split(b" ", 2)[1]) if head.startswith(b"HTTP/") else 0
    print(json.dumps({"status": status, "seconds": seconds, "head": head[:200].decode("latin-1")}))
    """
)


def upload(port: int, path: str, size: int) -> tuple[int, float, str]:
    """PUT ``size`` zero bytes from a client pinned to CPU 1: (status, seconds, head)."""
    command = pinned(1, [sys.executable, "-c", UPLOAD_CLIENT, HOST, str(port), path, str(size)])
    done = subprocess.run(command, capture_output=True, text=True, timeout=300, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"upload client failed: {done.stderr.strip()[-300:]}")
    data = json.loads(done.stdout)
    return int(data["status"]), float(data["seconds"]), str(data["head"])
