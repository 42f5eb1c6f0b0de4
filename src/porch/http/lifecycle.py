"""``Lifecycle``: what the server tells the app about its own life (draining), and back.

The server owns the signals, the app owns ``/-/health``; this object is the one thing they
share, handed to both by whoever wires them (``porch.cli``). A server that is draining
(SIGTERM received, the listener still open for ``--drain-delay`` seconds) has the app answer
the health check with 503, so a load balancer takes the node out before it stops accepting.

``health_polled`` goes the other way: the app records that someone polls the health check, so
the server knows whether waiting before it closes its listener helps anyone. With
``--workers`` that one flag lives in memory shared across the fork (``Lifecycle(shared=True)``
before forking): the balancer's polls reach one worker or another, and every worker must
wait if any was polled, else a worker closing its listener early would drop the connections
already queued on it.
"""

from __future__ import annotations

import mmap


class Lifecycle:
    """``draining``: set by the server when it begins to stop (per process). ``health_polled``:
    set by the app when it answers a health check (shared by all workers when ``shared``)."""

    __slots__ = ("_polled", "draining")

    def __init__(self, *, shared: bool = False) -> None:
        self.draining = False
        self._polled: mmap.mmap | bytearray = mmap.mmap(-1, 1) if shared else bytearray(1)

    @property
    def health_polled(self) -> bool:
        return self._polled[0] != 0

    @health_polled.setter
    def health_polled(self, value: bool) -> None:
        self._polled[0] = 1 if value else 0
