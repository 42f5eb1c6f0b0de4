"""The benchmark: ``python3 bench/run.py`` (full, ~10 min) or ``--quick`` (short, a smoke run).

It installs what is missing (the ``bench`` extra's pip packages; Debian's wrk, nginx-light,
lighttpd), writes a corpus to a temporary directory, starts porch (``--loop asyncio`` and
``--loop uvloop``) and its peers one at a time on 127.0.0.1 pinned to CPU 0, loads each with
the same wrk scenarios from CPU 1, measures memory and uploads, profiles porch with py-spy,
prints the tables and writes docs/benchmarks.md and docs/benchmarks.png (``--quick`` writes
them to the temporary directory instead, unless ``--out`` says where).

A scenario a server does not support (its probe gets another status: no /time on nginx, no
listing in Starlette's StaticFiles, a porch build without templates yet) is "n/a" with the
reason; every error (wrk socket errors, non-2xx/3xx answers, a server that dies) is shown.
"""

from __future__ import annotations

import argparse
import collections
import contextlib
import datetime
import importlib.util
import os
import platform
import re
import resource
import shlex
import shutil
import subprocess
import sys
import tempfile
import time
import tomllib
from pathlib import Path

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.harness import (
    GIB,
    MIB,
    PROBE,
    SCENARIOS,
    Measurement,
    MemoryFigures,
    Run,
    Scenario,
    cpu_rows,
    detail_rows,
    failures,
    markdown_table,
    memory_rows,
    size_text,
    summary_rows,
    text_table,
)
from bench.resumable import measure_resumable
from bench.servers import (
    ASGI_HOSTS,
    REPO,
    Corpus,
    RssSampler,
    ServerSpec,
    StartFailed,
    conditional_headers,
    cpu_seconds,
    hold_idle_connections,
    lighttpd_binary,
    make_corpus,
    memory,
    nginx_binary,
    pinned,
    probe,
    request,
    run_wrk,
    running,
    still_open,
    upload,
    wrk_command,
)

SERVERS: tuple[ServerSpec, ...] = (
    ServerSpec("porch asyncio", "porch", loop="asyncio"),
    ServerSpec("porch uvloop", "porch", loop="uvloop"),
    ServerSpec(
        "porch uvloop +log",
        "porch",
        loop="uvloop",
        access_log=True,
        only=("1 KiB keep-alive -c64", "1 KiB -c1"),
    ),
    ServerSpec("nginx", "nginx"),
    ServerSpec(PROBE, "probe"),
    ServerSpec("porch.asgi uvicorn", "porch-asgi-uvicorn"),
    ServerSpec("porch.asgi granian", "porch-asgi-granian"),
    ServerSpec("uvicorn+starlette", "uvicorn"),
    ServerSpec("http.server", "http.server"),
)
UPLOADERS: tuple[ServerSpec, ...] = (
    ServerSpec("porch asyncio", "porch", loop="asyncio", uploads=True),
    ServerSpec("porch uvloop", "porch", loop="uvloop", uploads=True),
    ServerSpec("nginx", "nginx", uploads=True),
    ServerSpec("lighttpd", "lighttpd", uploads=True),
)
APT_PACKAGES = {"wrk": "wrk", "nginx": "nginx-light", "lighttpd": "lighttpd"}
WEBDAV_MODULE = Path("/usr/lib/lighttpd/mod_webdav.so")


SETTLE_SECONDS = 2.5
"""How long the fresh corpus is left alone before the first scenario."""


def log(message: str) -> None:
    print(f"[bench {time.strftime('%H:%M:%S')}] {message}", flush=True)


# ---------------------------------------------------------------- tools


def bench_requirements() -> list[str]:
    """porch's own dependencies and the ``bench`` extra, from pyproject.toml."""
    data = tomllib.loads((REPO / "pyproject.toml").read_text())
    project = data["project"]
    requirements: list[str] = [
        *project["dependencies"],
        *project["optional-dependencies"]["bench"],
    ]
    return requirements


def py_spy() -> str | None:
    """py-spy on PATH, or beside this Python (a venv's bin/ need not be on PATH)."""
    beside = Path(sys.executable).parent / "py-spy"
    return shutil.which("py-spy") or (str(beside) if beside.exists() else None)


def ensure_tools(install: bool) -> list[str]:
    """Install the bench extra's packages and Debian's tools when missing; notes for the report.

    Only the requirements are pip-installed (not porch itself: the servers run from this
    checkout's src), so an existing editable install of porch is left pointing where it points.
    """
    notes = []
    modules = ("httptools", "uvloop", "jinja2", "uvicorn", "starlette", "granian", "matplotlib")
    missing = [module for module in modules if importlib.util.find_spec(module) is None]
    if py_spy() is None:
        missing.append("py-spy")
    if missing and install:
        log(f"pip install (porch's dependencies, bench extra): missing {', '.join(missing)}")
        subprocess.run(
            [sys.executable, "-m", "pip", "install", "--quiet", "--disable-pip-version-check",
             *bench_requirements()],
            check=False,
        )  # fmt: skip
        importlib.invalidate_caches()
    lacking = [tool for tool in APT_PACKAGES if shutil.which(tool) is None]
    if not WEBDAV_MODULE.exists():
        lacking.append("lighttpd-mod-webdav")
    if lacking and install:
        packages = [APT_PACKAGES.get(tool, tool) for tool in lacking]
        if "lighttpd" in packages and "lighttpd-mod-webdav" not in packages:
            packages.append("lighttpd-mod-webdav")
        sudo = [] if os.geteuid() == 0 else ["sudo"]
        log(f"apt-get install {' '.join(packages)}")
        env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
        subprocess.run([*sudo, "apt-get", "update", "-qq"], check=False, env=env)
        for package in packages:
            done = subprocess.run(
                [*sudo, "apt-get", "install", "-y", "-qq", package],
                check=False, env=env, capture_output=True, text=True,
            )  # fmt: skip
            if done.returncode != 0:
                notes.append(f"apt-get install {package} failed: {done.stderr.strip()[-200:]}")
    for tool in ("wrk", "nginx", "lighttpd"):
        if shutil.which(tool) is None:
            notes.append(f"{tool} is not installed: its rows are missing")
    if not WEBDAV_MODULE.exists():
        notes.append("lighttpd's mod_webdav is not installed: no upload baseline")
    if (os.cpu_count() or 1) < 2 or shutil.which("taskset") is None:
        notes.append("fewer than 2 CPUs or no taskset: server and wrk are NOT pinned apart")
    return notes


def available(spec: ServerSpec) -> str:
    """Empty when ``spec`` can run here; else why not."""
    if spec.kind == "uvicorn":
        for module in ("uvicorn", "starlette", "httptools", "uvloop"):
            if importlib.util.find_spec(module) is None:
                return f"{module} is not installed"
    if spec.kind in ASGI_HOSTS:
        for module in (ASGI_HOSTS[spec.kind], "httptools", "uvloop"):
            if importlib.util.find_spec(module) is None:
                return f"{module} is not installed"
    if spec.kind == "nginx" and not Path(nginx_binary()).exists():
        return "nginx is not installed"
    if spec.kind == "lighttpd":
        if not Path(lighttpd_binary()).exists():
            return "lighttpd is not installed"
        if not WEBDAV_MODULE.exists():
            return "lighttpd's mod_webdav is not installed"
    return ""


def version(command: list[str]) -> str:
    try:
        done = subprocess.run(command, capture_output=True, text=True, timeout=10, check=False)
    except OSError:
        return "not installed"
    text = (done.stdout + done.stderr).strip().splitlines()
    return text[0] if text else "unknown"


def module_version(name: str) -> str:
    try:
        module = __import__(name)
    except ImportError:
        return "not installed"
    return str(getattr(module, "__version__", "unknown"))


def machine() -> dict[str, str]:
    cpuinfo = Path("/proc/cpuinfo").read_text() if Path("/proc/cpuinfo").exists() else ""
    model = re.search(r"^model name\s*:\s*(.+)$", cpuinfo, re.MULTILINE)
    return {
        "nproc": str(os.cpu_count()),
        "CPU": model.group(1) if model else platform.processor() or "unknown",
        "kernel": platform.release(),
        "Python": platform.python_version(),
        "nginx": version([nginx_binary(), "-v"]),
        "lighttpd": version([lighttpd_binary(), "-v"]),
        "wrk": version(["wrk", "-v"]),
        "uvicorn": module_version("uvicorn"),
        "starlette": module_version("starlette"),
        "httptools": module_version("httptools"),
        "uvloop": module_version("uvloop"),
        "granian": module_version("granian"),
        "load average at start (1, 5, 15 min)": " ".join(f"{x:.2f}" for x in os.getloadavg()),
        "date": datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d %H:%M UTC"),
    }


# ---------------------------------------------------------------- measuring


def measure_scenario(port: int, pid: int, scenario: Scenario, duration: float) -> Measurement:
    try:
        headers = conditional_headers(port, scenario)
        if isinstance(headers, str):
            return Measurement(skipped=headers)
        why = probe(port, scenario, headers)
    except OSError as error:
        return Measurement(failure=f"probe failed: {error}")
    if why:
        if scenario.required or why.startswith("5"):
            return Measurement(failure=f"probe: {why}")
        return Measurement(skipped=why)
    before = cpu_seconds(pid)
    try:
        from bench.servers import run_wrk

        result = run_wrk(wrk_command(port, scenario, headers, duration), duration)
    except RuntimeError as error:
        return Measurement(failure=str(error))
    return Measurement(result=result, cpu_s=cpu_seconds(pid) - before)


def measure_server(
    spec: ServerSpec,
    corpus: Corpus,
    scenarios: list[Scenario],
    duration: float,
    run: Run,
) -> None:
    results = run.results.setdefault(spec.name, {})
    mem = run.memory.setdefault(spec.name, MemoryFigures())
    why = available(spec)
    if why:
        for scenario in scenarios:
            results[scenario.name] = Measurement(skipped=why)
        return
    try:
        with running(spec, corpus) as server:
            time.sleep(0.3)
            mem.idle = memory(server.pid, "VmRSS")
            for scenario in scenarios:
                if spec.only and scenario.name not in spec.only:
                    results[scenario.name] = Measurement(skipped="not measured")
                    continue
                if not server.alive():
                    results[scenario.name] = Measurement(
                        failure=f"server died (exit {server.proc.returncode})"
                    )
                    continue
                log(f"{spec.name}: {scenario.name}")
                results[scenario.name] = measure_scenario(
                    server.port, server.pid, scenario, duration
                )
            if not server.alive():
                run.notes.append(f"{spec.name} died: {server.stderr_tail()}")
                return
            if spec.only:
                return
            mem.peak = memory(server.pid, "VmHWM")
            log(f"{spec.name}: 1,000 idle keep-alive connections")
            sockets = hold_idle_connections(server.port, 1000, "/1k.bin")
            try:
                time.sleep(0.5)
                mem.idle_connections = memory(server.pid, "VmRSS")
                mem.idle_connections_opened = sum(still_open(sock) for sock in sockets)
            finally:
                for sock in sockets:
                    sock.close()
            time.sleep(0.5)
            log(f"{spec.name}: {corpus.download_size // MIB} MiB download, sampling RSS")
            big = Scenario("big", "/big.bin", connections=1, long_requests=True)
            command = wrk_command(server.port, big, (), duration)
            with RssSampler(server.pid) as sampler:
                subprocess.run(command, capture_output=True, timeout=duration + 60, check=False)
            mem.download = sampler.peak
    except StartFailed as error:
        run.notes.append(f"{spec.name} did not start: {error}")
        for scenario in scenarios:
            results.setdefault(scenario.name, Measurement(failure=f"did not start: {error}"))


def measure_upload(spec: ServerSpec, corpus: Corpus, size: int, run: Run) -> None:
    mem = run.memory.setdefault(spec.name, MemoryFigures())
    why = available(spec)
    if why:
        mem.upload_note = why
        return
    try:
        with running(spec, corpus) as server:
            probe_reply = request(server.port, "/bench-probe.txt", method="PUT", body=b"probe\n")
            with contextlib.suppress(FileNotFoundError):
                (corpus.upload_dir / "bench-probe.txt").unlink()
            if probe_reply.status not in (200, 201, 204):
                mem.upload_note = f"PUT probe got {probe_reply.status}"
                return
            time.sleep(0.3)
            mem.upload_idle = memory(server.pid, "VmRSS")
            log(f"{spec.name}: {size // MIB} MiB PUT upload")
            with RssSampler(server.pid) as sampler:
                status, seconds, head = upload(server.port, "/bench-upload.bin", size)
            mem.upload = sampler.peak
            mem.upload_mb_per_s = size / seconds / 1e6
            stored = corpus.upload_dir / "bench-upload.bin"
            stored_size = stored.stat().st_size if stored.exists() else -1
            if status not in (200, 201, 204):
                mem.upload_note = f"ERROR: status {status}: {head[:80]!r}"
            elif stored_size != size:
                mem.upload_note = f"ERROR: stored {stored_size} bytes of {size}"
            with contextlib.suppress(FileNotFoundError):
                stored.unlink()
    except StartFailed as error:
        if "unrecognized arguments" in str(error):
            mem.upload_note = "this porch has no --upload-dir"
        else:
            mem.upload_note = f"ERROR: did not start: {error}"
            run.notes.append(f"{spec.name} (uploads) did not start: {error}")
    except (OSError, RuntimeError) as error:
        mem.upload_note = f"ERROR: {error}"


def disk_ceiling(directory: Path, size: int) -> str:
    """The note on what the disk allows an upload that, like porch's, is fsynced before it is
    acknowledged: ``size`` bytes written in 1 MiB pieces and fsynced by one process, with and
    without early writeback (``POSIX_FADV_DONTNEED`` per 8 MiB, what porch does). nginx's and
    lighttpd's PUT acknowledge a file still in the page cache (neither fsyncs)."""
    block = bytes(MIB)
    rates = []
    for early in (False, True):
        path = directory / "disk-ceiling.bin"
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        started = time.monotonic()
        try:
            for offset in range(0, size, MIB):
                os.write(fd, block[: min(MIB, size - offset)])
                if early and offset % (8 * MIB) == 7 * MIB:
                    os.posix_fadvise(fd, offset - 7 * MIB, 8 * MIB, os.POSIX_FADV_DONTNEED)
            os.fsync(fd)
        finally:
            os.close(fd)
            path.unlink()
        rates.append(size / (time.monotonic() - started) / 1e6)
    return (
        f"disk ceiling for a fsynced upload: {size_text(size)} written and fsynced by one "
        f"process at {rates[0]:,.0f} MB/s ({rates[1]:,.0f} MB/s with early writeback, as porch "
        "does); nginx's and lighttpd's PUT do not fsync"
    )


def profile_porch(corpus: Corpus, duration: float) -> str:
    """py-spy's view of porch (default loop) under the 1 KiB keep-alive load: top functions."""
    spy = py_spy()
    if spy is None:
        return "py-spy is not installed: no profile."
    spec = ServerSpec("porch auto", "porch", loop="auto")
    out = corpus.tmp / "profile.txt"
    scenario = SCENARIOS[0]
    with running(spec, corpus) as server:
        spy = subprocess.Popen(
            # Blocking mode (py-spy pauses porch per sample): --nonblocking reads the stack
            # while it changes and mixes frames of different moments.
            pinned(1, [spy, "record", "--pid", str(server.pid), "--duration",
                       str(max(1, round(duration))), "--rate", "100", "--format", "raw",
                       "--output", str(out)]),
            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
        )  # fmt: skip
        time.sleep(0.5)
        result = run_wrk(wrk_command(server.port, scenario, (), duration + 1), duration + 1)
        try:
            _, spy_err = spy.communicate(timeout=duration + 30)
        except subprocess.TimeoutExpired:
            spy.kill()
            return "py-spy did not finish."
    if not out.exists():
        return f"py-spy failed: {spy_err.strip()[-300:]}"
    return summarise_profile(out.read_text(), result.requests_per_s)


def summarise_profile(collapsed: str, requests_per_s: float) -> str:
    """Top functions by own time and by inclusive time, from py-spy's collapsed stacks."""
    own: collections.Counter[str] = collections.Counter()
    inclusive: collections.Counter[str] = collections.Counter()
    total = 0
    for line in collapsed.splitlines():
        stack, _, count_text = line.rpartition(" ")
        if not stack or not count_text.isdigit():
            continue
        count = int(count_text)
        total += count
        frames = [re.sub(r":\d+\)$", ")", frame) for frame in stack.split(";")]
        frames = [frame for frame in frames if not frame.startswith("process ")]
        if frames:
            own[frames[-1]] += count
        for frame in set(frames):
            inclusive[frame] += count
    if not total:
        return "py-spy recorded no samples."

    def table(counter: collections.Counter[str]) -> str:
        rows = [[f"{count / total:.1%}", name] for name, count in counter.most_common(15)]
        return markdown_table(["share of samples", "function (file)"], rows)

    return (
        f"{total} samples at {requests_per_s:,.0f} req/s.\n\n"
        f"Own time (where the CPU is):\n\n{table(own)}\n\n"
        f"Inclusive time (what it is spent under):\n\n{table(inclusive)}\n"
    )


# ---------------------------------------------------------------- report


def chart(run: Run, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    count = len(run.scenarios)
    cols = 4
    rows = (count + cols - 1) // cols
    fig, axes = plt.subplots(rows, cols, figsize=(4.2 * cols, 2.6 * rows), squeeze=False)
    colours = plt.get_cmap("tab10")
    for index, scenario in enumerate(run.scenarios):
        ax = axes[index // cols][index % cols]
        values = [run.measurement(s, scenario.name).value(scenario.metric) for s in run.servers]
        ax.barh(
            range(len(run.servers)),
            [v or 0 for v in values],
            color=[colours(i) for i in range(len(run.servers))],
        )
        for i, value in enumerate(values):
            if value is None:
                ax.text(0, i, " n/a", va="center", fontsize=7)
        ax.set_yticks(range(len(run.servers)), run.servers, fontsize=7)
        ax.invert_yaxis()
        ax.set_title(f"{scenario.name} ({scenario.metric})", fontsize=8)
        ax.tick_params(axis="x", labelsize=7)
    for index in range(count, rows * cols):
        axes[index // cols][index % cols].axis("off")
    fig.suptitle("porch and peers, one core each (higher is better)", fontsize=10)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def render(
    run: Run,
    info: dict[str, str],
    command: str,
    duration: float,
    profile: str,
    upload_size: int,
) -> str:
    summary = markdown_table(*summary_rows(run))
    detail = markdown_table(*detail_rows(run))
    cpu = markdown_table(*cpu_rows(run))
    mem = markdown_table(*memory_rows(run))
    machine_rows = [[key, value] for key, value in info.items()]
    errors = failures(run)
    problems = "\n".join(f"- {line}" for line in errors) if errors else "- none"
    notes = "\n".join(f"- {note}" for note in run.notes) if run.notes else "- none"
    return f"""# Benchmarks

Generated by `{command}` on {info["date"]}. Rerun it to refresh this page and
[benchmarks.png](benchmarks.png); `python3 bench/run.py --quick` is a short smoke run that
writes to a temporary directory.

**Compare rows of the same run, not runs with each other**: the machine has {info["nproc"]}
cores and its load average was {info["load average at start (1, 5, 15 min)"]} (1, 5, 15 min)
at the start; anything else running beside the benchmark moves these figures by tens of
percent (run it on a quiet machine). Each wrk run lasts {duration:.0f} s.

## Method

- Corpus in a temporary directory: 1 KiB, 64 KiB and 100 MiB files, a 1,000-entry directory,
  a template `page.html.j2` (served by porch at `/page.html`), and a sparse
  {size_text(upload_size)} file for the download-memory figure.
- Each server runs alone, on 127.0.0.1, pinned to CPU 0 (`taskset -c 0`); wrk (one thread) and
  every other client run on CPU 1. Servers: porch from this checkout's `src`
  (`python -m porch ROOT --quiet --loop asyncio|uvloop`), nginx (1 worker, sendfile on,
  access_log off, autoindex on, its own config in the temporary directory, otherwise
  defaults, including `keepalive_requests 1000`), uvicorn + Starlette `StaticFiles`
  (`--http httptools --loop uvloop --no-access-log`), `python -m http.server` (its default
  HTTP/1.0: a new connection per request), and lighttpd with mod_webdav for the upload baseline.
  "porch uvloop +log" is porch with its access log on (written to a file), in two scenarios
  only: the difference to "porch uvloop" is what the log costs.
- Before loading a scenario, one probe request must get the expected status (200, 206 for
  Range, 304 for the conditional GETs with the server's own ETag / Last-Modified) and body;
  otherwise the cell is "n/a" with the reason (nginx has no `/time` or templates, Starlette's
  StaticFiles no listings, `http.server` no Range or ETag). nginx and http.server answer the
  "text" listing with HTML (they ignore Accept). An "n/a" for porch means the porch build
  under test does not do that yet: the harness finds out by probing, it is not told.
  http.server speaks HTTP/1.0 and closes every connection, so it keeps none of the 1,000
  idle connections open ("only 0 kept open").
- req/s, MB/s (10^6 bytes/s read by wrk, heads included), p50/p99 latency and errors come
  from wrk (`bench/report.lua`); errors are socket errors (connect, read, write, timeout)
  plus non-2xx/3xx answers. CPU s / 10k req is user + system time of the server's process
  tree from /proc/PID/stat (children included) over the run, per 10,000 requests.
- Memory is the server process tree's RSS: idle after start, VmHWM after the scenarios,
  with 1,000 idle keep-alive connections (one request answered on each), the peak while wrk
  downloads the large file on one connection, and the peak during a {size_text(upload_size)} PUT
  upload (porch `--upload-dir`, lighttpd WebDAV), whose throughput includes writing the file.

## Throughput, and porch's ratio to each peer (same run)

{summary}

![chart](benchmarks.png)

## CPU per request, and porch's over the bare probe's and nginx's (same run)

The server's user + system CPU time over the wrk run divided by the requests answered, in
µs (lower is better). A shared machine moves req/s a lot and this much less. The bare probe
(`bench/probe.py`, ~90 lines: uvloop + httptools, one `os.stat` and one write of a cached
response per request, nothing else checked) is the Python ceiling on this machine.

{cpu}

## Every figure

{detail}

## Memory and uploads

{mem}

## Errors

{problems}

## Notes

{notes}

## Where porch's time goes

py-spy (`py-spy record --format raw`) on porch (`--loop auto`) under the 1 KiB keep-alive load:

{profile}

## Machine

{markdown_table(["what", "value"], machine_rows)}
"""


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="1 s runs, 64 MiB transfers")
    parser.add_argument("--duration", type=float, help="seconds per wrk run (default 5, quick 1)")
    parser.add_argument("--out", type=Path, help="where benchmarks.md/.png go (default docs/)")
    parser.add_argument("--no-install", action="store_true", help="install nothing")
    parser.add_argument("--servers", help="comma-separated names to run (default: all)")
    parser.add_argument("--scenarios", help="comma-separated substrings of scenario names")
    parser.add_argument("--no-upload", action="store_true", help="skip the upload measurements")
    parser.add_argument("--no-profile", action="store_true", help="skip the py-spy profile")
    parser.add_argument(
        "--profile-only", action="store_true", help="only profile porch; print, write nothing"
    )
    args = parser.parse_args(argv)
    if args.profile_only:
        with tempfile.TemporaryDirectory(prefix="porch-bench-") as tmp:
            corpus = make_corpus(Path(tmp), download_size=MIB, large_size=MIB)
            time.sleep(SETTLE_SECONDS)
            print(profile_porch(corpus, args.duration or 5.0))
        return 0

    duration = args.duration or (1.0 if args.quick else 5.0)
    transfer = 64 * MIB if args.quick else GIB
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    with contextlib.suppress(ValueError, OSError):
        resource.setrlimit(resource.RLIMIT_NOFILE, (max(soft, min(hard, 65536)), hard))

    notes = ensure_tools(install=not args.no_install)
    if shutil.which("wrk") is None:
        print("bench: wrk is required (apt-get install wrk)", file=sys.stderr)
        return 2
    wanted = [s.strip() for s in args.servers.split(",")] if args.servers else None
    servers = [s for s in SERVERS if wanted is None or s.name in wanted]
    uploaders = [s for s in UPLOADERS if wanted is None or s.name in wanted]
    scenarios = list(SCENARIOS)
    if args.scenarios:
        keys = [key.strip() for key in args.scenarios.split(",")]
        scenarios = [s for s in scenarios if any(key in s.name for key in keys)]
    run = Run(servers=[s.name for s in servers], scenarios=scenarios, notes=notes)
    run.transfer_bytes = transfer
    info = machine()
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="porch-bench-") as tmp:
        log(f"corpus in {tmp}")
        corpus = make_corpus(Path(tmp), transfer)
        # Served files are seldom seconds old; porch's replay cache keeps a response only for a
        # file and folder unchanged for 2 s (coarse file-system clocks, porch.server.replay), so
        # a corpus loaded the moment it is written would measure the first scenarios uncached.
        time.sleep(SETTLE_SECONDS)
        for spec in servers:
            measure_server(spec, corpus, scenarios, duration, run)
        if not args.no_upload:
            for spec in uploaders:
                measure_upload(spec, corpus, transfer, run)
            for spec in uploaders:  # the resumable row beside each porch's PUT (issue 14)
                if spec.kind == "porch":
                    measure_resumable(spec, corpus, transfer, run)
            run.notes.append(disk_ceiling(corpus.upload_dir, transfer))
        profile = "not run (--no-profile)."
        if not args.no_profile:
            log("profiling porch under the 1 KiB keep-alive load")
            try:
                profile = profile_porch(corpus, duration)
            except (StartFailed, RuntimeError, OSError) as error:
                profile = f"profiling failed: {error}"
        out = args.out or (
            Path(tempfile.mkdtemp(prefix="porch-bench-out-")) if args.quick else REPO / "docs"
        )
        out.mkdir(parents=True, exist_ok=True)
        command = "python3 bench/run.py" + (
            " " + shlex.join(argv if argv is not None else sys.argv[1:])
            if (argv if argv is not None else sys.argv[1:])
            else ""
        )
        (out / "benchmarks.md").write_text(render(run, info, command, duration, profile, transfer))
        chart(run, out / "benchmarks.png")
        print()
        print(text_table(*summary_rows(run)))
        print()
        print(text_table(*detail_rows(run)))
        print()
        print(text_table(*cpu_rows(run)))
        print()
        print(text_table(*memory_rows(run)))
        print()
        for line in failures(run) + run.notes:
            print(f"! {line}")
        print()
        print(profile)
        elapsed = time.monotonic() - started
        log(f"wrote {out / 'benchmarks.md'} and benchmarks.png in {elapsed:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
