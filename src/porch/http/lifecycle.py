"""``Lifecycle``: what the server tells the app about its own life (draining), pure data.

The server owns the signals, the app owns ``/-/health``; this object is the one thing they
share, handed to both by whoever wires them (``porch.cli``). A server that is draining
(SIGTERM received, the listener still open for ``--drain-delay`` seconds) has the app answer
the health check with 503, so a load balancer takes the node out before it stops accepting.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(slots=True)
class Lifecycle:
    """``draining``: set by the server when it begins to stop. ``health_polled``: set by the
    app when it answers a health check, so the server knows whether anyone is watching (a
    node nobody polls gains nothing from waiting before it closes its listener)."""

    draining: bool = False
    health_polled: bool = False
