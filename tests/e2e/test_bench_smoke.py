"""The benchmark harness end to end, as small as it gets: porch only, one 1 s wrk run.

Benchmarks never run in the test suite; this only proves the harness can start porch, probe,
load it with wrk and read the result. Skipped where wrk is not installed.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from bench.harness import MIB, Run, Scenario
from bench.resumable import measure_resumable
from bench.run import measure_scenario, measure_upload
from bench.servers import ServerSpec, make_corpus, nginx_binary, running

from tests.helpers import require_tool


@pytest.fixture(autouse=True)
def _wrk() -> None:
    require_tool(shutil.which("wrk") is not None, "wrk is not installed")


@pytest.fixture
def corpus(tmp_path: Path):
    return make_corpus(tmp_path, download_size=MIB, large_size=MIB)


def test_one_second_of_1kib_keep_alive_against_porch(corpus):
    spec = ServerSpec("porch", "porch", loop="asyncio")
    with running(spec, corpus) as server:
        measured = measure_scenario(
            server.port, server.pid, Scenario("1 KiB", "/1k.bin", connections=4), 1.0
        )
    assert measured.failure == ""
    assert measured.result is not None
    assert measured.result.requests > 0
    assert measured.result.errors == 0
    assert measured.cpu_s is not None
    assert measured.cpu_s > 0


def test_a_scenario_porch_refuses_is_na_unless_every_server_must_do_it(corpus):
    spec = ServerSpec("porch", "porch", loop="asyncio")
    with running(spec, corpus) as server:
        optional = measure_scenario(server.port, server.pid, Scenario("gone", "/no-such-file"), 1.0)
        required = measure_scenario(
            server.port, server.pid, Scenario("gone", "/no-such-file", required=True), 1.0
        )
    assert (optional.skipped, optional.result, optional.failure) == ("404, not 200", None, "")
    assert required.failure == "probe: 404, not 200"


def test_the_bare_probe_serves_small_files_and_is_na_for_what_it_cannot_do(corpus):
    spec = ServerSpec("bare probe", "probe")
    with running(spec, corpus) as server:
        small = measure_scenario(
            server.port, server.pid, Scenario("1 KiB", "/1k.bin", connections=4), 1.0
        )
        conditional = measure_scenario(
            server.port,
            server.pid,
            Scenario("304", "/1k.bin", expect=304, validator="etag"),
            1.0,
        )
        ranged = measure_scenario(
            server.port,
            server.pid,
            Scenario("206", "/1k.bin", headers=(("Range", "bytes=0-9"),), expect=206),
            1.0,
        )
    assert small.result is not None
    assert small.result.requests > 0
    assert small.result.errors == 0
    assert small.cpu_us_per_request is not None
    assert conditional.result is not None  # the ceiling for porch's 304 row
    assert conditional.result.errors == 0
    assert ranged.result is None  # no Range: n/a, not an error
    assert ranged.skipped == "200, not 206"
    assert ranged.failure == ""


def test_nginx_put_is_an_upload_baseline(corpus):
    require_tool(Path(nginx_binary()).exists(), "nginx is not installed")
    run = Run(servers=[], scenarios=[])
    measure_upload(ServerSpec("nginx", "nginx", uploads=True), corpus, 4 * MIB, run)
    figures = run.memory["nginx"]
    assert figures.upload_note == ""
    assert figures.upload_mb_per_s is not None
    assert figures.upload_mb_per_s > 0


def test_resumable_row_uploads_in_chunks_beside_the_put(corpus):
    """Tiny: 4 MiB in 1 MiB tus chunks after a 4 MiB PUT; the row names its ratio to the PUT."""
    run = Run(servers=[], scenarios=[])
    spec = ServerSpec("porch asyncio", "porch", loop="asyncio", uploads=True)
    measure_upload(spec, corpus, 4 * MIB, run)
    name = measure_resumable(spec, corpus, 4 * MIB, run, chunk=MIB)
    figures = run.memory[name]
    assert name == "porch asyncio tus 1 MiB chunks"
    assert figures.upload_mb_per_s is not None
    assert figures.upload_mb_per_s > 0
    assert figures.upload_note.endswith("x this server's PUT")
    assert not (corpus.upload_dir / "bench-tus.bin").exists()
