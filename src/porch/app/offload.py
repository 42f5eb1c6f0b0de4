"""Work that must not hold the event loop (issue 17): run it in porch's worker threads.

Theory of operation. One event loop serves every client, so anything that takes more than a
few milliseconds of CPU on it — gzip of a large file, rendering a 50,000-entry listing, a
slow template — delays every other request by as much (a health check took 16 s behind ten
gzip downloads). Such work goes to ``WORKERS`` threads of a pool of porch's own (not the
loop's default executor, which uploads' disk writes use): zlib releases the GIL while it
compresses, and pure-Python rendering gives it back every switch interval (5 ms), so the
loop keeps answering. The pool is small on purpose: the work is CPU-bound, and a few threads
keep the queue fair (first come, first served) instead of thrashing.

Python threads take turns with the GIL every switch interval: 5 ms by default, which the loop
may wait for every time it wants the GIL back from a rendering thread (after each system
call), so ``use_short_switch_interval`` lowers it to ``SWITCH_INTERVAL`` for the process; the
App does so when it is made.

``run_bounded`` adds a time budget for work that may not end by itself (user templates): when
it runs out the caller gets ``BudgetExceeded`` at once, and the worker thread is interrupted
with an asynchronous exception (``PyThreadState_SetAsyncExc``), which Python code — Jinja's
compiled templates are Python code — sees at its next bytecode.

``run_briefly`` is for such work that is usually quick (most template pages render in tens of
microseconds, and the hand-off to a worker thread and back costs more than that): it runs
the work on the loop's own thread under a short interval timer (``ITIMER_REAL``); when the
timer fires first, its signal handler raises ``TooLong`` into the work at its next bytecode,
and the caller then gives the work to ``run_bounded`` (it must be safe to run again: a
sandboxed template is). So the loop is held at most ``BRIEF_SECONDS`` for it. Only on the
main thread (where Python runs signal handlers) of a platform with ``setitimer``; elsewhere
it says so (None) and the caller offloads at once.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import ctypes
import os
import signal
import sys
import threading
from collections.abc import Callable
from typing import Any, Final, TypeVar

T = TypeVar("T")

WORKERS: Final = max(1, min(4, (os.cpu_count() or 2) - 1))
"""Threads for CPU-heavy work: one core is left to the loop (two busy workers on a two-core
machine took CPU time from the loop itself), at most four."""

SWITCH_INTERVAL: Final = 0.001
"""Seconds a thread may hold the GIL while another waits for it (CPython's default: 0.005)."""

_POOL = concurrent.futures.ThreadPoolExecutor(WORKERS, thread_name_prefix="porch-work")


def use_short_switch_interval() -> None:
    """Let the loop get the GIL back within ``SWITCH_INTERVAL`` from a working thread."""
    if sys.getswitchinterval() > SWITCH_INTERVAL:
        sys.setswitchinterval(SWITCH_INTERVAL)


def offload_pool() -> concurrent.futures.ThreadPoolExecutor:
    """The worker pool, for callers that submit with ``run_in_executor`` themselves."""
    return _POOL


async def offload(work: Callable[..., T], *args: object) -> T:
    """``work(*args)`` in a worker thread; the loop serves others meanwhile."""
    return await asyncio.get_running_loop().run_in_executor(_POOL, work, *args)


class BudgetExceeded(Exception):
    """The work ran out of its time budget (raised in the caller, and in the worker)."""


def _interrupt(thread_id: int) -> None:
    ctypes.pythonapi.PyThreadState_SetAsyncExc(
        ctypes.c_ulong(thread_id), ctypes.py_object(BudgetExceeded)
    )


class _Bounded:
    """One bounded run: which thread works on it and whether it finished or was abandoned
    (the lock orders the worker's start and end against the loop's giving up)."""

    __slots__ = ("abandoned", "done", "lock", "thread")

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.thread: int | None = None
        self.done = False
        self.abandoned = False

    def run(self, work: Callable[[], T]) -> T:
        with self.lock:
            if self.abandoned:
                raise BudgetExceeded("the budget ran out before the work started")
            self.thread = threading.get_ident()
        try:
            return work()
        finally:
            with self.lock:
                self.done = True

    def abandon(self, future: asyncio.Future[Any]) -> None:
        """The budget ran out (a timer callback on the loop): stop waiting and interrupt."""
        with self.lock:
            if self.done:
                return  # finished in time; its result is on the way to the loop
            self.abandoned = True
            if self.thread is not None:
                _interrupt(self.thread)
        future.add_done_callback(_retrieve)
        future.cancel()


async def run_bounded(work: Callable[[], T], seconds: float) -> T:
    """``work()`` in a worker thread, for at most ``seconds``; else ``BudgetExceeded``.

    The worker is interrupted when the budget runs out, so runaway work does not keep a
    thread busy forever (C code that never returns to Python cannot be interrupted; Jinja
    rendering always does). One timer on the loop, not ``wait_for`` around a shielded
    future: that pair cost a template page a fifth of its time (docs/performance.md).
    """
    loop = asyncio.get_running_loop()
    bounded = _Bounded()
    future = loop.run_in_executor(_POOL, bounded.run, work)
    timer = loop.call_later(seconds, bounded.abandon, future)
    try:
        return await future
    except asyncio.CancelledError:
        if bounded.abandoned:
            raise BudgetExceeded(f"over {seconds} s") from None
        raise
    finally:
        timer.cancel()


BRIEF_SECONDS: Final = 0.005
"""The longest ``run_briefly`` holds the loop before the work moves to a worker thread."""


class TooLong(BaseException):
    """``run_briefly``'s timer fired: run the work again with ``run_bounded``. Not an
    ``Exception``: no ``except Exception`` in the work (Jinja has several) may swallow it and
    keep the loop."""


class _Brief:
    """The interval timer's state: whether a run is under way (the handler raises only then,
    so a signal that arrives just after the work ended does nothing)."""

    armed = False
    installed = False

    @staticmethod
    def on_alarm(signum: int, frame: object) -> None:
        if _Brief.armed:
            _Brief.armed = False
            raise TooLong("over the brief budget")


def run_briefly(work: Callable[[], T], seconds: float = BRIEF_SECONDS) -> tuple[T] | None:
    """``(work(),)`` run right here for at most ``seconds``; ``TooLong`` when it takes longer
    (the work was interrupted: run it with ``run_bounded``); None when it cannot be timed
    here (not the main thread, no ``setitimer``, or another SIGALRM handler in place): then
    offload it."""
    if (
        not hasattr(signal, "setitimer")
        or threading.current_thread() is not threading.main_thread()
    ):
        return None
    if not _Brief.installed:
        if signal.getsignal(signal.SIGALRM) not in (signal.SIG_DFL, None):
            return None  # someone else's alarm: leave it alone
        signal.signal(signal.SIGALRM, _Brief.on_alarm)
        _Brief.installed = True
    elif signal.getsignal(signal.SIGALRM) is not _Brief.on_alarm:
        return None
    _Brief.armed = True
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        return (work(),)
    finally:
        _Brief.armed = False
        signal.setitimer(signal.ITIMER_REAL, 0)


def _retrieve(future: asyncio.Future[Any]) -> None:
    if not future.cancelled():
        future.exception()
