"""Admission under pressure: who gets a connection slot when they run out.

Theory of operation. There is no fixed cap per client address: a benchmark, a NAT or a proxy
in front legitimately opens hundreds of connections from one address, and nginx serves them.
Protection comes from pressure instead. Below ``--max-connections`` every connection is
accepted, whatever its address. At the limit a newcomer takes a slot reclaimed in this order:

1. the idle keep-alive connection that has been idle longest (closing it costs its client a
   new handshake at most: it has no request in flight);
2. a connection still sending its head (accepted but no complete request yet — where a
   slowloris sits) from the address holding the most such connections, its oldest first;
   only when that address holds more of them than the newcomer's own, so a flood cannot
   make porch shuffle its own connections round and round, and one address holding many
   slots loses them first;
3. otherwise nothing can be reclaimed: the newcomer gets ``503`` with ``Retry-After`` and is
   closed.

Reclaiming an idle connection closes it quietly (a keep-alive client reconnects as after any
keep-alive timeout); a shed head-sender gets the same 503 a refused newcomer gets.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Final, Protocol

from porch.http.forwarded import Network
from porch.http.wire import Phase, Replay

OVERLOADED: Final = (
    b"HTTP/1.1 503 Service Unavailable\r\nRetry-After: 1\r\nContent-Length: 0\r\n"
    b"X-Content-Type-Options: nosniff\r\nConnection: close\r\n\r\n"
)
"""The answer when no slot can be reclaimed, and to a shed connection, without an app's error
page; ``serve`` renders the app's page once at start instead (``cycle.refusal_bytes``)."""


_HEAD_SENDING: Final = (Phase.NEW, Phase.HEAD)


class Admitted(Protocol):
    """What admission needs to know of a connection."""

    address: str
    transport: asyncio.Transport | None

    @property
    def phase(self) -> Phase: ...

    def shutdown(self) -> None: ...


class ServerState:
    """What all connections of one server share: the live set, counters, parsed settings.

    ``connections`` and ``idle`` are dicts used as ordered sets (insertion order is age:
    oldest first).
    """

    def __init__(self, trusted_proxies: tuple[Network, ...] = ()) -> None:
        self.trusted_proxies = trusted_proxies
        self.overloaded = OVERLOADED
        self.connections: dict[Admitted, None] = {}
        self.idle: dict[Admitted, None] = {}
        self.total_requests = 0
        self.reclaimed_idle = 0
        self.shed = 0
        self.refused = 0
        self.shutting_down = False
        # Counters for /-/metrics (issue 16; porch.server.serve.collect_server reads them).
        self.accepted = 0
        self.bytes_in = 0
        self.bytes_out = 0
        self.replayed: Callable[[Replay], None] | None = None  # a replay hit (metrics)

    def admit(self, newcomer: Admitted, limit: int) -> bool:
        """Take ``newcomer`` in, reclaiming a slot when at ``limit``; False: refuse it."""
        self.accepted += 1
        if len(self.connections) >= limit and not self._reclaim(newcomer.address):
            self.refused += 1
            return False
        self.connections[newcomer] = None
        return True

    def release(self, connection: Admitted) -> None:
        self.connections.pop(connection, None)
        self.idle.pop(connection, None)

    def _reclaim(self, address: str) -> bool:
        for connection in self.idle:
            self.release(connection)
            self.reclaimed_idle += 1
            if connection.transport is not None:
                connection.transport.close()
            return True
        victim = self._head_sender_to_shed(address)
        if victim is None:
            return False
        self.release(victim)
        self.shed += 1
        if victim.transport is not None:
            victim.transport.write(self.overloaded)
            victim.transport.close()
        return True

    def _head_sender_to_shed(self, address: str) -> Admitted | None:
        oldest: dict[str, Admitted] = {}
        counts: dict[str, int] = {}
        for connection in self.connections:  # oldest first
            if connection.phase in _HEAD_SENDING:
                where = connection.address
                counts[where] = counts.get(where, 0) + 1
                oldest.setdefault(where, connection)
        if not counts:
            return None
        top = max(counts, key=lambda where: counts[where])  # ties: the first seen, the oldest
        if counts[top] <= counts.get(address, 0):
            return None
        return oldest[top]
