"""The allowed-hosts check as the app applies it (``porch.http.hosts`` has the rule).

``App.guarded`` calls ``check_host`` before anything else, health check included, so porch's
server, ``porch.asgi`` and ``porch.testing`` all refuse a rebound name the same way.
"""

from __future__ import annotations

from porch.config import Config
from porch.http import HTTPError, Request
from porch.http.hosts import AllowedHosts
from porch.share import WILDCARDS


def banner_names(config: Config) -> list[str]:
    """The host names the start-up banner prints: the bind address when it is a name (the
    other URLs it prints are IP literals, which are allowed anyway)."""
    return [] if config.host in WILDCARDS else [config.host]


def allowed_hosts(config: Config) -> AllowedHosts:
    """What ``config`` answers for: banner names plus ``--allowed-host`` values."""
    return AllowedHosts.build([*banner_names(config), *config.allowed_hosts])


def check_host(request: Request, allowed: AllowedHosts) -> None:
    """Raise ``HTTPError(421)`` unless the request's Host is one porch answers for."""
    if not allowed.allows(request.headers.get("host")):
        raise HTTPError(
            421,
            "this server does not answer for that host name; if it is really yours, "
            "start porch with --allowed-host NAME (docs/security.md)",
        )
