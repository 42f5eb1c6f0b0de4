"""porch.app.offload.run_briefly: work on the loop's thread for at most a few milliseconds."""

from __future__ import annotations

import contextlib
import signal
import threading
import time
from collections.abc import Iterator

import pytest

from porch.app import offload
from porch.app.offload import BRIEF_SECONDS, TooLong, run_briefly


@pytest.fixture(autouse=True)
def alarm_free() -> Iterator[None]:
    """SIGALRM as a porch process has it (pytest-timeout uses it around each test here)."""
    handler = signal.getsignal(signal.SIGALRM)
    timer = signal.getitimer(signal.ITIMER_REAL)
    signal.setitimer(signal.ITIMER_REAL, 0)
    signal.signal(signal.SIGALRM, signal.SIG_DFL)
    offload._Brief.installed = False
    yield
    signal.signal(signal.SIGALRM, handler)
    offload._Brief.installed = False
    if timer[0]:
        signal.setitimer(signal.ITIMER_REAL, *timer)


def test_someone_elses_alarm_is_left_alone() -> None:
    def theirs(signum: int, frame: object) -> None:
        raise AssertionError("not ours to take")

    signal.signal(signal.SIGALRM, theirs)
    assert run_briefly(lambda: 1) is None
    assert signal.getsignal(signal.SIGALRM) is theirs


def test_quick_work_runs_here_and_returns_its_value() -> None:
    assert run_briefly(lambda: threading.current_thread().name) == (threading.main_thread().name,)


def test_work_over_the_budget_is_interrupted_soon_after_it() -> None:
    def spin() -> None:
        while True:
            pass

    started = time.monotonic()
    with pytest.raises(TooLong):
        run_briefly(spin, 0.01)
    assert time.monotonic() - started < 0.5
    # The timer is off again: nothing fires later.
    time.sleep(0.05)
    assert signal.getitimer(signal.ITIMER_REAL) == (0.0, 0.0)


def test_an_except_exception_in_the_work_cannot_swallow_it() -> None:
    def stubborn() -> None:
        while True:
            with contextlib.suppress(Exception):  # what must not swallow it
                time.sleep(0.001)

    with pytest.raises(TooLong):
        run_briefly(stubborn, 0.01)


def test_off_the_main_thread_it_declines() -> None:
    answers: list[object] = []
    worker = threading.Thread(target=lambda: answers.append(run_briefly(lambda: 1)))
    worker.start()
    worker.join()
    assert answers == [None]


def test_the_default_budget_is_a_few_milliseconds() -> None:
    assert 0 < BRIEF_SECONDS <= 0.01
