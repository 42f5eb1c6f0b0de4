"""The pure parts of the benchmark: scenarios, wrk's report, ratios and tables.

Nothing here starts a process or opens a socket, so the smoke test can check it exactly.
wrk runs with ``report.lua``, whose ``done()`` prints one JSON line after ``BENCH_RESULT``
(requests, bytes, duration, every error counter and latency percentiles in microseconds):
that is parsed instead of wrk's human summary, whose units vary with the magnitude.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field

RESULT_MARKER = "BENCH_RESULT"

KIB = 1024
MIB = 1024 * KIB
GIB = 1024 * MIB


@dataclass(frozen=True)
class Scenario:
    """One wrk load: the same path, headers and connection count for every server.

    ``metric`` is what the scenario is judged by: ``"req/s"`` or ``"MB/s"``.
    ``expect`` is the status a probe request must get before load is applied: a server that
    answers something else does not support the scenario and is reported "n/a" (with the
    status and reason), never loaded and never counted as an error.
    ``must_contain`` is a byte string the probe's body must contain (a listing entry, the
    rendered template value); ``must_not_contain`` one it must not (template source).
    ``validator`` (``"etag"`` or ``"last-modified"``) makes the harness read that validator
    from a first GET and send it back as If-None-Match / If-Modified-Since.
    ``required`` scenarios (plain file downloads) are something every server must do: a
    failed probe there is an error in the table, not "n/a". So is a 5xx probe anywhere.
    """

    name: str
    path: str
    connections: int = 64
    headers: tuple[tuple[str, str], ...] = ()
    metric: str = "req/s"
    expect: int = 200
    must_contain: bytes = b""
    must_not_contain: bytes = b""
    content_type: str = ""
    long_requests: bool = False
    validator: str = ""
    required: bool = False


@dataclass
class WrkResult:
    """What one wrk run measured. Latencies are in microseconds; errors are never dropped."""

    requests: int
    duration_s: float
    bytes_read: int
    p50_us: float
    p99_us: float
    connect_errors: int = 0
    read_errors: int = 0
    write_errors: int = 0
    timeout_errors: int = 0
    status_errors: int = 0

    @property
    def requests_per_s(self) -> float:
        return self.requests / self.duration_s if self.duration_s > 0 else 0.0

    @property
    def mb_per_s(self) -> float:
        """Megabytes (10**6 bytes) per second read by wrk, heads included."""
        return self.bytes_read / self.duration_s / 1e6 if self.duration_s > 0 else 0.0

    @property
    def errors(self) -> int:
        return (
            self.connect_errors
            + self.read_errors
            + self.write_errors
            + self.timeout_errors
            + self.status_errors
        )

    def error_text(self) -> str:
        """``0``, or the total with each non-zero kind: ``12 (status 10, timeout 2)``."""
        if not self.errors:
            return "0"
        kinds = [
            ("connect", self.connect_errors),
            ("read", self.read_errors),
            ("write", self.write_errors),
            ("timeout", self.timeout_errors),
            ("status", self.status_errors),
        ]
        detail = ", ".join(f"{kind} {count}" for kind, count in kinds if count)
        return f"{self.errors} ({detail})"


def parse_wrk(output: str) -> WrkResult:
    """The result line ``report.lua`` printed into wrk's stdout.

    Raises ``ValueError`` when wrk printed no result (it failed to start, or was killed):
    the caller reports that as an error rather than a zero.
    """
    for line in output.splitlines():
        if line.startswith(RESULT_MARKER):
            data = json.loads(line[len(RESULT_MARKER) :])
            return WrkResult(
                requests=int(data["requests"]),
                duration_s=float(data["duration_us"]) / 1e6,
                bytes_read=int(data["bytes"]),
                p50_us=float(data["p50_us"]),
                p99_us=float(data["p99_us"]),
                connect_errors=int(data["connect"]),
                read_errors=int(data["read"]),
                write_errors=int(data["write"]),
                timeout_errors=int(data["timeout"]),
                status_errors=int(data["status"]),
            )
    raise ValueError(f"wrk printed no {RESULT_MARKER} line: {output[-500:]!r}")


@dataclass
class Measurement:
    """One server in one scenario: a result, or why there is none.

    ``skipped`` holds the reason a scenario is "n/a" for this server (its probe got another
    status); ``failure`` holds an error of the harness or the server (wrk crashed, the server
    died): both are shown in the table, only ``failure`` counts as a fault.
    """

    result: WrkResult | None = None
    cpu_s: float | None = None
    skipped: str = ""
    failure: str = ""

    def value(self, metric: str) -> float | None:
        if self.result is None:
            return None
        return self.result.mb_per_s if metric == "MB/s" else self.result.requests_per_s

    @property
    def cpu_us_per_request(self) -> float | None:
        """The server's CPU time (user + system, whole process tree) per request, in µs:
        what the shared machine disturbs far less than req/s."""
        if self.result is None or self.cpu_s is None or self.result.requests == 0:
            return None
        return self.cpu_s / self.result.requests * 1e6


@dataclass
class MemoryFigures:
    """Resident memory of one server (its whole process tree), in bytes; None = not measured."""

    idle: int | None = None
    peak: int | None = None
    idle_connections: int | None = None
    idle_connections_opened: int = 0
    download: int | None = None
    upload_idle: int | None = None
    upload: int | None = None
    upload_mb_per_s: float | None = None
    upload_note: str = ""


@dataclass
class Run:
    """Everything one benchmark run measured, by server name then scenario name."""

    servers: list[str]
    scenarios: list[Scenario]
    results: dict[str, dict[str, Measurement]] = field(default_factory=dict)
    memory: dict[str, MemoryFigures] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    transfer_bytes: int = GIB

    def measurement(self, server: str, scenario: str) -> Measurement:
        return self.results.get(server, {}).get(scenario, Measurement(skipped="not run"))


def ratio(ours: float | None, theirs: float | None) -> float | None:
    """``ours / theirs`` (higher is better for porch), or None when either is missing."""
    if ours is None or theirs is None or theirs <= 0 or math.isnan(theirs):
        return None
    return ours / theirs


def format_ratio(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.2f}×"  # noqa: RUF001


def format_rate(value: float | None, metric: str) -> str:
    if value is None:
        return "n/a"
    if metric == "MB/s":
        return f"{value:,.0f} MB/s" if value >= 10 else f"{value:.2f} MB/s"
    return f"{value:,.0f}"


def format_latency(us: float | None) -> str:
    if us is None:
        return "n/a"
    if us >= 1_000_000:
        return f"{us / 1e6:.2f} s"
    if us >= 1000:
        return f"{us / 1000:.2f} ms"
    return f"{us:.0f} µs"


def format_bytes(value: int | None) -> str:
    return "n/a" if value is None else f"{value / MIB:.1f} MiB"


def markdown_table(header: list[str], rows: list[list[str]]) -> str:
    """A GitHub-flavoured markdown table; ``|`` in cells is escaped."""

    def line(cells: list[str]) -> str:
        return "| " + " | ".join(cell.replace("|", "\\|") for cell in cells) + " |"

    out = [line(header), "| " + " | ".join("---" for _ in header) + " |"]
    out.extend(line(row) for row in rows)
    return "\n".join(out)


def text_table(header: list[str], rows: list[list[str]]) -> str:
    """The same table aligned for a terminal."""
    widths = [max(len(row[i]) for row in [header, *rows]) for i in range(len(header))]
    out = ["  ".join(cell.ljust(widths[i]) for i, cell in enumerate(header))]
    out.append("  ".join("-" * width for width in widths))
    out.extend("  ".join(cell.ljust(widths[i]) for i, cell in enumerate(row)) for row in rows)
    return "\n".join(out)


def porch_servers(run: Run) -> list[str]:
    """The porch rows that get ratio columns (not the access-log variant: it has its own row)."""
    return [name for name in run.servers if name.startswith("porch") and "+log" not in name]


def peer_servers(run: Run) -> list[str]:
    return [name for name in run.servers if not name.startswith("porch")]


def cell(measurement: Measurement, metric: str) -> str:
    """A throughput cell: the figure, ``n/a (why)`` or ``ERROR (what)``."""
    if measurement.failure:
        return f"ERROR ({measurement.failure})"
    if measurement.result is None:
        return f"n/a ({measurement.skipped})" if measurement.skipped else "n/a"
    return format_rate(measurement.value(metric), metric)


def summary_rows(run: Run) -> tuple[list[str], list[list[str]]]:
    """Scenario x server throughput, then porch's ratio to each peer (same run)."""
    ours, peers = porch_servers(run), peer_servers(run)
    header = ["scenario", "unit", *run.servers]
    header += [f"{mine} ÷ {peer}" for mine in ours for peer in peers]
    rows = []
    for scenario in run.scenarios:
        row = [scenario.name, scenario.metric]
        row += [cell(run.measurement(s, scenario.name), scenario.metric) for s in run.servers]
        for mine in ours:
            for peer in peers:
                value = ratio(
                    run.measurement(mine, scenario.name).value(scenario.metric),
                    run.measurement(peer, scenario.name).value(scenario.metric),
                )
                row.append(format_ratio(value))
        rows.append(row)
    return header, rows


def detail_rows(run: Run) -> tuple[list[str], list[list[str]]]:
    """One row per scenario and server: every figure wrk and /proc gave."""
    header = ["scenario", "server", "req/s", "MB/s", "p50", "p99", "errors", "CPU µs/req"]
    rows = []
    for scenario in run.scenarios:
        for server in run.servers:
            m = run.measurement(server, scenario.name)
            if m.result is None:
                why = f"ERROR ({m.failure})" if m.failure else f"n/a ({m.skipped})"
                rows.append([scenario.name, server, why, "", "", "", "", ""])
                continue
            r = m.result
            cpu = m.cpu_us_per_request
            rows.append(
                [
                    scenario.name,
                    server,
                    f"{r.requests_per_s:,.0f}",
                    f"{r.mb_per_s:,.1f}",
                    format_latency(r.p50_us),
                    format_latency(r.p99_us),
                    r.error_text(),
                    "n/a" if cpu is None else f"{cpu:.1f}",
                ]
            )
    return header, rows


PROBE = "bare probe"
"""The server row that is the Python ceiling (bench/probe.py): porch's CPU is compared to it."""


def cpu_rows(run: Run) -> tuple[list[str], list[list[str]]]:
    """Scenario x server CPU µs per request, then porch's CPU over the bare probe's and over
    nginx's (lower is better; 1.30 means 30% more CPU per request than the probe)."""
    ours = porch_servers(run)
    baselines = [name for name in (PROBE, "nginx") if name in run.servers]
    header = ["scenario", *run.servers]
    header += [f"{mine} CPU ÷ {base}" for mine in ours for base in baselines]
    rows = []
    for scenario in run.scenarios:
        row = [scenario.name]
        for server in run.servers:
            cpu = run.measurement(server, scenario.name).cpu_us_per_request
            row.append("n/a" if cpu is None else f"{cpu:.1f}")
        for mine in ours:
            for base in baselines:
                value = ratio(
                    run.measurement(mine, scenario.name).cpu_us_per_request,
                    run.measurement(base, scenario.name).cpu_us_per_request,
                )
                row.append(format_ratio(value))
        rows.append(row)
    return header, rows


def size_text(size: int) -> str:
    return f"{size // GIB} GiB" if size % GIB == 0 else f"{size // MIB} MiB"


def memory_rows(run: Run) -> tuple[list[str], list[list[str]]]:
    big = size_text(run.transfer_bytes)
    header = [
        "server",
        "idle RSS",
        "peak RSS (VmHWM, after the scenarios)",
        "RSS, 1,000 idle keep-alive conns",
        f"RSS during {big} download",
        f"RSS during {big} upload (idle before)",
        f"{big} upload",
        "upload ÷ lighttpd",
        "upload ÷ nginx",
    ]
    rows = []
    baseline = run.memory.get("lighttpd", MemoryFigures()).upload_mb_per_s
    nginx = run.memory.get("nginx", MemoryFigures()).upload_mb_per_s
    for server in [*run.servers, *(name for name in run.memory if name not in run.servers)]:
        mem = run.memory.get(server, MemoryFigures())
        conns = format_bytes(mem.idle_connections)
        if mem.idle_connections is not None and mem.idle_connections_opened < 1000:
            conns += f" (only {mem.idle_connections_opened} kept open)"
        if mem.upload is not None:
            upload_rss = f"{format_bytes(mem.upload)} ({format_bytes(mem.upload_idle)})"
            upload = format_rate(mem.upload_mb_per_s, "MB/s")
        else:
            upload_rss, upload = "n/a", f"n/a ({mem.upload_note})" if mem.upload_note else "n/a"
        if mem.upload is not None and mem.upload_note:
            upload += f" ({mem.upload_note})"
        rows.append(
            [
                server,
                format_bytes(mem.idle),
                format_bytes(mem.peak),
                conns,
                format_bytes(mem.download),
                upload_rss,
                upload,
                format_ratio(ratio(mem.upload_mb_per_s, baseline))
                if server.startswith("porch")
                else "",
                format_ratio(ratio(mem.upload_mb_per_s, nginx))
                if server.startswith("porch")
                else "",
            ]
        )
    return header, rows


def failures(run: Run) -> list[str]:
    """Every harness or server error and every wrk error count, one line each."""
    out = []
    for scenario in run.scenarios:
        for server in run.servers:
            m = run.measurement(server, scenario.name)
            if m.failure:
                out.append(f"{server} / {scenario.name}: {m.failure}")
            elif m.result is not None and m.result.errors:
                out.append(f"{server} / {scenario.name}: {m.result.error_text()} errors")
    return out


RANGE_START = 50 * MIB
"""The Range scenario asks for 64 KiB from the middle of the 100 MiB file."""

SCENARIOS: tuple[Scenario, ...] = (
    Scenario("1 KiB keep-alive -c64", "/1k.bin", required=True),
    Scenario(
        "1 KiB new connection each -c64",
        "/1k.bin",
        headers=(("Connection", "close"),),
        required=True,
    ),
    Scenario("1 KiB -c1", "/1k.bin", connections=1, required=True),
    Scenario("1 KiB -c1000", "/1k.bin", connections=1000, required=True),
    Scenario("64 KiB -c64", "/64k.bin", required=True),
    Scenario(
        "100 MiB -c4", "/100m.bin", connections=4, metric="MB/s", long_requests=True, required=True
    ),
    Scenario(
        "Range 64 KiB of 100 MiB -c64",
        "/100m.bin",
        headers=(("Range", f"bytes={RANGE_START}-{RANGE_START + 64 * KIB - 1}"),),
        expect=206,
    ),
    Scenario(
        "Range 1 KiB of 64 KiB -c64",
        "/64k.bin",
        headers=(("Range", "bytes=1024-2047"),),
        expect=206,
    ),
    Scenario("304 If-None-Match -c64", "/1k.bin", expect=304, validator="etag"),
    Scenario("304 If-Modified-Since -c64", "/1k.bin", expect=304, validator="last-modified"),
    Scenario(
        "listing 1,000 text -c64",
        "/dir1000/",
        headers=(("Accept", "text/plain"),),
        must_contain=b"file-0999.txt",
    ),
    Scenario(
        "listing 1,000 HTML -c64",
        "/dir1000/",
        headers=(("Accept", "text/html"),),
        must_contain=b"file-0999.txt",
        content_type="text/html",
    ),
    Scenario(
        "template page -c64",
        "/page.html?name=Ada",
        must_contain=b"Hello, Ada!",
        must_not_contain=b"{{",
    ),
    Scenario("/time -c64", "/time", content_type="text/html"),
)
