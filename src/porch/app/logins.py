"""Logins that cannot be flooded (issue 17): a bounded queue for password checks, nothing
checked for a client that has gone, and exponential back-off after failures.

Theory of operation. An Argon2 check costs tens of milliseconds of CPU and 64 MiB, on purpose;
``porch.app.auth`` runs at most ``MAX_CONCURRENT_CHECKS`` at once. Without more, a flood of
guesses on connections the attacker resets at once queued without bound and was checked
anyway, so a real user's login waited behind every guess (58 s behind 400 guesses). Now:

* ``LoginQueue`` admits at most ``max_pending`` checks (running or waiting); one more gets 503
  with ``Retry-After``. A check waiting for its turn looks at ``Request.is_disconnected`` when
  its turn comes and is dropped, unstarted, when its client is gone.
* ``Backoff`` counts failed logins per client address and per user name (any name, known or
  not, so the answer does not tell which names exist). After ``free`` failures, each further
  one closes that key for ``2 ** (failures - free)`` seconds, at most ``max_seconds``; while
  closed, requests with credentials get 429 with ``Retry-After`` and no check runs, so a
  guess costs the attacker time and porch nothing. A success clears the user's and the
  address's count. Both tables are bounded (least recently failed forgotten first) and
  entries are forgotten ``FORGET_SECONDS`` after their last failure.

The price, as with every per-account back-off: someone who floods an account locks its owner
out for as long as the flood goes on (``max_seconds`` after it stops). docs/security.md.
"""

from __future__ import annotations

import asyncio
import logging
import math
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from typing import Final, TypeVar

from porch.http import HTTPError, Request, ServerFault

log = logging.getLogger("porch.auth")

T = TypeVar("T")

FORGET_SECONDS: Final = 15 * 60.0
"""A key with no failure for this long starts again from zero."""
MAX_KEYS: Final = 10_000
"""Addresses (and, separately, user names) whose failures are remembered."""


class LoginQueue:
    """At most ``max_pending`` password checks admitted, ``concurrent`` of them running."""

    def __init__(self, max_pending: int, concurrent: int) -> None:
        self.max_pending = max_pending
        self.pending = 0
        self.refused = 0  # 503s since the last log line
        self._logged_at = 0.0
        self._slots = asyncio.Semaphore(concurrent)

    async def run(self, request: Request, check: Callable[[], Awaitable[T]]) -> T:
        """``await check()`` when a slot is free; 503 when the queue is full, 400 (never
        seen: nobody is listening) when the client left while waiting."""
        if self.pending >= self.max_pending:
            self.refused += 1
            now = time.monotonic()
            if now - self._logged_at >= 1.0:  # one line a second, however big the flood
                log.warning(
                    "login queue full (%d checks): %d logins refused with 503, latest from %s",
                    self.pending, self.refused, _address(request),
                )  # fmt: skip
                self._logged_at, self.refused = now, 0
            raise ServerFault(
                503, "too many logins are being checked; try again shortly", {"Retry-After": "1"}
            )
        self.pending += 1
        try:
            async with self._slots:
                if request.is_disconnected():
                    raise HTTPError(400, "the client went away before its login was checked")
                return await check()
        finally:
            self.pending -= 1


class Backoff:
    """Failed logins by key, and until when each key is closed."""

    def __init__(self, free: int, max_seconds: float, max_keys: int = MAX_KEYS) -> None:
        self.free = free
        self.max_seconds = max_seconds
        self.max_keys = max_keys
        self._failures: OrderedDict[str, tuple[int, float, float]] = OrderedDict()
        # key -> (failures, last failure (monotonic), closed until (monotonic))

    def wait(self, key: str) -> float:
        """Seconds ``key`` stays closed (0: open)."""
        entry = self._failures.get(key)
        if entry is None:
            return 0.0
        now = time.monotonic()
        _, last, until = entry
        if now - last > FORGET_SECONDS:
            del self._failures[key]
            return 0.0
        return max(0.0, until - now)

    def fail(self, key: str) -> float:
        """Count a failure for ``key``; the seconds it is now closed for."""
        now = time.monotonic()
        count, last, _ = self._failures.pop(key, (0, now, now))
        if now - last > FORGET_SECONDS:
            count = 0
        count += 1
        delay = 0.0 if count <= self.free else min(self.max_seconds, 2.0 ** (count - self.free))
        self._failures[key] = (count, now, now + delay)
        while len(self._failures) > self.max_keys:
            self._failures.popitem(last=False)
        return delay

    def forget(self, key: str) -> None:
        self._failures.pop(key, None)

    def __len__(self) -> int:
        return len(self._failures)


class LoginGuard:
    """The queue and the two back-off tables of one server."""

    def __init__(
        self, *, max_pending: int, concurrent: int, free_failures: int, max_backoff: float
    ) -> None:
        self.queue = LoginQueue(max_pending, concurrent)
        self.by_address = Backoff(free_failures, max_backoff)
        self.by_user = Backoff(free_failures, max_backoff)

    def refuse_if_closed(self, request: Request, user: str) -> None:
        """429 with Retry-After while the client's address or the user name is backed off."""
        address = _address(request)
        wait = max(self.by_address.wait(address), self.by_user.wait(user))
        if wait > 0:
            raise HTTPError(
                429,
                "too many failed logins; wait before trying again",
                {"Retry-After": str(max(1, math.ceil(wait)))},
            )

    def failed(self, request: Request, user: str) -> None:
        address = _address(request)
        delay = max(self.by_address.fail(address), self.by_user.fail(user))
        if delay > 0:
            log.warning(
                "failed login for user %r from %s: backing off %.0f s", user, address, delay
            )

    def succeeded(self, request: Request, user: str) -> None:
        self.by_address.forget(_address(request))
        self.by_user.forget(user)


def _address(request: Request) -> str:
    return request.client[0] if request.client is not None else "-"
