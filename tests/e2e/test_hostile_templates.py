"""User templates under a time and size budget (issue 17), over real sockets: a runaway
template ends in a clear 500, never holds the event loop, and frees its worker."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from pathlib import Path

from tests.helpers import PorchProcess, exchange, get

Start = Callable[..., PorchProcess]

FOREVER = "{% for a in range(100000) %}{% for b in range(100000) %}{% endfor %}{% endfor %}"


def test_a_runaway_template_ends_in_a_500_and_the_loop_keeps_serving(
    porch: Start, site: Path
) -> None:
    (site / "forever.html.j2").write_text(FOREVER)
    (site / "hello.html.j2").write_text("hello {{ name }}")
    server = porch(site, "--template-timeout", "1")
    answers: list[tuple[int, bytes, float]] = []

    def ask() -> None:
        start = time.monotonic()
        response = exchange(server, get("/forever.html"))
        answers.append((response.status, response.body, time.monotonic() - start))

    runaway = threading.Thread(target=ask)
    runaway.start()
    time.sleep(0.2)
    start = time.monotonic()
    assert exchange(server, get("/-/health")).status == 200  # the loop is free meanwhile
    assert time.monotonic() - start < 0.5
    runaway.join(timeout=10)
    ((status, body, took),) = answers
    assert status == 500
    assert b"longer than 1 s" in body
    assert took < 3
    # The worker was interrupted, not left spinning: templates still render, repeatedly.
    for _ in range(3):
        response = exchange(server, get("/hello.html?name=Ada"))
        assert (response.status, response.body) == (200, b"hello Ada")
    assert "forever.html.j2 took longer than 1" in server.log()


def test_the_size_budget_at_n_and_n_plus_1(porch: Start, site: Path) -> None:
    (site / "big.txt.j2").write_text('{{ "x" * (params.n | int) }}')
    server = porch(site, "--template-max-bytes", "1K")
    at_limit = exchange(server, get("/big.txt?n=1024"))
    assert (at_limit.status, len(at_limit.body)) == (200, 1024)
    over = exchange(server, get("/big.txt?n=1025"))
    assert over.status == 500
    assert b"more than 1024 bytes" in over.body


def test_a_template_made_slow_by_its_parameters_leaves_the_loop_and_still_renders(
    porch: Start, site: Path
) -> None:
    """Templates render on the loop while they take under a few milliseconds
    (porch.app.offload.run_briefly); one that runs over moves to a worker thread and is
    rendered there in full, and the loop answers others meanwhile."""
    nested = "{% for a in range(params.n|int) %}{% for b in range(params.n|int) %}{% endfor %}"
    (site / "count.txt.j2").write_text(nested + "{% endfor %}done {{ params.n }}")
    server = porch(site)
    quick = exchange(server, get("/count.txt?n=3"))
    assert (quick.status, quick.body) == (200, b"done 3")
    answers: list[tuple[int, bytes]] = []

    def ask() -> None:
        response = exchange(server, get("/count.txt?n=7000"))  # ~1 s of rendering
        answers.append((response.status, response.body))

    slow = threading.Thread(target=ask)
    slow.start()
    time.sleep(0.2)
    start = time.monotonic()
    assert exchange(server, get("/-/health")).status == 200
    assert time.monotonic() - start < 0.5
    slow.join(timeout=20)
    assert answers == [(200, b"done 7000")]
    again = exchange(server, get("/count.txt?n=4"))
    assert (again.status, again.body) == (200, b"done 4")
