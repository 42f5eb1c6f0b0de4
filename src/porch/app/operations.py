"""What porch tells the machines around it: caches (Cache-Control) and operators (/-/metrics).

Freshness (docs/deploy.md). Files and listings carry ``Cache-Control: no-cache`` by default:
a browser or a cache in front (Varnish, a CDN) may store them but must revalidate each time,
and a revalidation is a cheap 304 because the validators are the same on every node. Without
any Cache-Control a cache would pick a heuristic lifetime (10 % of the file's age: days for an
old file) and go on serving an edited file's old bytes. ``--max-age N`` lets caches answer
from their copy for N seconds instead (the edit shows after at most N seconds). Responses to
requests with credentials are ``private``: a shared cache must not hand them to others.

Metrics. ``/-/metrics`` exists only with ``--metrics`` (else 404, like any unknown path), is
answered before the access rules (a scraper needs no account) and only to client addresses in
``--metrics-allow`` (default loopback; 403 for anyone else). It shows counts, never paths or
names.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Sequence
from typing import Final

from porch.http import Headers, HTTPError, Request, Response
from porch.http.forwarded import Network
from porch.metrics import Metrics

METRICS_PATH: Final = "/-/metrics"
METRICS_TYPE: Final = "text/plain; version=0.0.4; charset=utf-8"


def cache_control(request: Request, max_age: int) -> str:
    """The Cache-Control of a file or listing: ``no-cache`` or ``max-age=N`` (``max_age`` >
    0), ``private`` in front when the request carried credentials."""
    value = f"max-age={max_age}" if max_age > 0 else "no-cache"
    if "authorization" in request.headers:
        return "private, " + value
    return value


def metrics_allowed(request: Request, allowed: Sequence[Network]) -> bool:
    """True when the request's client address lies in one of the ``allowed`` networks."""
    if request.client is None:
        return False
    try:
        address = ipaddress.ip_address(request.client[0])
    except ValueError:
        return False
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    return any(address in network for network in allowed)


def metrics_response(request: Request, metrics: Metrics, allowed: Sequence[Network]) -> Response:
    """``/-/metrics``: the Prometheus text format; 403 outside ``allowed``, 405 but GET/HEAD."""
    if not metrics_allowed(request, allowed):
        raise HTTPError(403, "the metrics are not open to this address (see --metrics-allow)")
    if request.method not in ("GET", "HEAD"):
        raise HTTPError(405, "the metrics answer GET and HEAD", {"Allow": "GET, HEAD"})
    headers = Headers([("Content-Type", METRICS_TYPE), ("Cache-Control", "no-store")])
    return Response(200, headers, metrics.render())
