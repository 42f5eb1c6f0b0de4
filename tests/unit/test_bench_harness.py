"""The benchmark harness's pure parts: wrk's result line, ratios, tables, profile summary."""

from __future__ import annotations

import pytest
from bench.harness import (
    MIB,
    SCENARIOS,
    Measurement,
    MemoryFigures,
    Run,
    Scenario,
    WrkResult,
    cpu_rows,
    detail_rows,
    failures,
    markdown_table,
    memory_rows,
    parse_wrk,
    ratio,
    summary_rows,
    text_table,
)
from bench.run import summarise_profile

WRK_OUTPUT = """\
Running 1s test @ http://127.0.0.1:18123/
  1 threads and 2 connections
  Thread Stats   Avg      Stdev     Max   +/- Stdev
    Latency     1.42ms    1.45ms   8.56ms   86.13%
  Latency Distribution
     50%    0.85ms
     99%    7.19ms
  1474 requests in 1.00s, 2.88MB read
Requests/sec:   1473.77
Transfer/sec:      2.88MB
BENCH_RESULT {"requests": 1474, "duration_us": 1000158, "bytes": 3018908, "connect": 0, \
"read": 2, "write": 0, "timeout": 1, "status": 7, "p50_us": 851.0, "p99_us": 7186.0}
"""


def result(requests: int, *, seconds: float = 1.0, status_errors: int = 0) -> WrkResult:
    return WrkResult(
        requests=requests,
        duration_s=seconds,
        bytes_read=requests * 1000,
        p50_us=100.0,
        p99_us=900.0,
        status_errors=status_errors,
    )


def test_parse_wrk_reads_the_result_line_with_every_error_kind():
    parsed = parse_wrk(WRK_OUTPUT)
    assert parsed.requests == 1474
    assert parsed.duration_s == pytest.approx(1.000158)
    assert parsed.requests_per_s == pytest.approx(1473.77, rel=1e-4)
    assert parsed.mb_per_s == pytest.approx(3.0185, rel=1e-3)
    assert (parsed.p50_us, parsed.p99_us) == (851.0, 7186.0)
    assert parsed.errors == 10
    assert parsed.error_text() == "10 (read 2, timeout 1, status 7)"


def test_parse_wrk_without_a_result_is_an_error_not_a_zero():
    with pytest.raises(ValueError, match="no BENCH_RESULT"):
        parse_wrk("unable to connect to 127.0.0.1:1 Connection refused\n")


def test_ratio_is_porch_over_peer_and_missing_when_either_is():
    assert ratio(50_000, 25_000) == 2.0
    assert ratio(None, 25_000) is None
    assert ratio(50_000, None) is None
    assert ratio(50_000, 0) is None


def build_run() -> Run:
    scenarios = [
        Scenario("1 KiB", "/1k.bin"),
        Scenario("/time", "/time"),
        Scenario("100 MiB", "/100m.bin", metric="MB/s"),
    ]
    run = Run(servers=["porch uvloop", "nginx"], scenarios=scenarios)
    run.results = {
        "porch uvloop": {
            "1 KiB": Measurement(result=result(30_000), cpu_s=0.9),
            "/time": Measurement(result=result(10_000, status_errors=3), cpu_s=0.5),
            "100 MiB": Measurement(failure="server died (exit -9)"),
        },
        "nginx": {
            "1 KiB": Measurement(result=result(60_000), cpu_s=0.3),
            "/time": Measurement(skipped="404, not 200"),
            "100 MiB": Measurement(result=result(10, seconds=1.0)),
        },
    }
    return run


def test_summary_has_each_server_and_porchs_ratio_to_each_peer():
    header, rows = summary_rows(build_run())
    assert header == ["scenario", "unit", "porch uvloop", "nginx", "porch uvloop ÷ nginx"]
    assert rows[0] == ["1 KiB", "req/s", "30,000", "60,000", "0.50\u00d7"]
    assert rows[1] == ["/time", "req/s", "10,000", "n/a (404, not 200)", "n/a"]
    assert rows[2][2] == "ERROR (server died (exit -9))"
    assert rows[2][4] == "n/a"


def test_detail_rows_show_errors_and_cpu_us_per_request():
    _, rows = detail_rows(build_run())
    by_key = {(row[0], row[1]): row for row in rows}
    assert by_key[("1 KiB", "porch uvloop")][7] == "30.0"
    assert by_key[("1 KiB", "nginx")][7] == "5.0"
    assert by_key[("/time", "porch uvloop")][6] == "3 (status 3)"
    assert by_key[("/time", "nginx")][2] == "n/a (404, not 200)"


def test_cpu_rows_compare_porch_with_the_probe_and_nginx():
    run = build_run()
    run.servers.append("bare probe")
    run.results["bare probe"] = {"1 KiB": Measurement(result=result(90_000), cpu_s=0.9)}
    header, rows = cpu_rows(run)
    assert header == [
        "scenario",
        "porch uvloop",
        "nginx",
        "bare probe",
        "porch uvloop CPU ÷ bare probe",
        "porch uvloop CPU ÷ nginx",
    ]
    assert rows[0] == ["1 KiB", "30.0", "5.0", "10.0", "3.00\u00d7", "6.00\u00d7"]
    assert rows[1][3] == "n/a"


def test_failures_list_server_deaths_and_wrk_errors_but_not_unsupported_scenarios():
    assert failures(build_run()) == [
        "porch uvloop / /time: 3 (status 3) errors",
        "porch uvloop / 100 MiB: server died (exit -9)",
    ]


def test_memory_rows_name_partial_connection_counts_and_upload_ratio():
    run = build_run()
    run.memory = {
        "porch uvloop": MemoryFigures(
            idle=20 * MIB,
            idle_connections=30 * MIB,
            idle_connections_opened=640,
            upload=25 * MIB,
            upload_idle=20 * MIB,
            upload_mb_per_s=400.0,
        ),
        "lighttpd": MemoryFigures(upload=6 * MIB, upload_idle=5 * MIB, upload_mb_per_s=800.0),
        "nginx": MemoryFigures(upload=4 * MIB, upload_idle=3 * MIB, upload_mb_per_s=200.0),
    }
    header, rows = memory_rows(run)
    assert "RSS during 1 GiB download" in header
    porch, nginx, lighttpd = rows
    assert porch[1] == "20.0 MiB"
    assert porch[3] == "30.0 MiB (only 640 kept open)"
    assert porch[5:] == ["25.0 MiB (20.0 MiB)", "400 MB/s", "0.50\u00d7", "2.00\u00d7"]
    assert (nginx[0], nginx[6], nginx[8]) == ("nginx", "200 MB/s", "")
    assert (lighttpd[0], lighttpd[6]) == ("lighttpd", "800 MB/s")


def test_tables_escape_pipes_and_align():
    md = markdown_table(["a", "b"], [["x|y", "z"]])
    assert md.splitlines() == ["| a | b |", "| --- | --- |", "| x\\|y | z |"]
    text = text_table(["name", "n"], [["long name", "1"]])
    assert text.splitlines()[0] == "name       n"


def test_profile_summary_counts_own_and_inclusive_time():
    collapsed = (
        "process 1;main (cli.py:3);_send (connection.py:10) 30\n"
        "process 1;main (cli.py:3);_send (connection.py:12);write (x.py:1) 10\n"
        "process 1;main (cli.py:3);handle (app.py:5) 60\n"
    )
    text = summarise_profile(collapsed, 1234.0)
    assert text.startswith("100 samples at 1,234 req/s.")
    own = text.split("Inclusive")[0]
    assert "| 60.0% | handle (app.py) |" in own
    assert "| 30.0% | _send (connection.py) |" in own
    assert "| 40.0% | _send (connection.py) |" in text.split("Inclusive")[1]


def test_every_scenario_name_is_unique_and_file_downloads_are_required():
    names = [scenario.name for scenario in SCENARIOS]
    assert len(names) == len(set(names))
    required = {scenario.path for scenario in SCENARIOS if scenario.required}
    assert required == {"/1k.bin", "/64k.bin", "/100m.bin"}
