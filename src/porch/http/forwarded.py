"""``X-Forwarded-For`` / ``X-Forwarded-Proto`` from trusted reverse proxies only.

A client can send any ``X-Forwarded-For`` it likes, so the header means something only when
the peer that sent it is a proxy the operator named (``--trusted-proxy``). The chain is read
from the right: each hop was appended by the proxy before it, so the first address from the
right that is not itself a trusted proxy is the real client.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Sequence

from porch.http.headers import Headers

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


def parse_networks(specs: Sequence[str]) -> tuple[Network, ...]:
    """``["127.0.0.1", "10.0.0.0/8"]`` as networks; raises ``ValueError`` on a bad entry."""
    return tuple(ipaddress.ip_network(spec.strip(), strict=False) for spec in specs)


def _trusted(address: str, networks: Sequence[Network]) -> bool:
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    return any(ip in network for network in networks)


def forwarded_origin(
    peer: tuple[str, int] | None, scheme: str, headers: Headers, trusted: Sequence[Network]
) -> tuple[tuple[str, int] | None, str]:
    """The (client address, scheme) the request really came from.

    Unchanged unless ``peer`` is trusted. Then the client is the rightmost address in
    ``X-Forwarded-For`` that is not trusted (port 0: the proxy does not say), and the scheme
    is the last ``X-Forwarded-Proto`` when it is ``http`` or ``https``.
    """
    if peer is None or not trusted or not _trusted(peer[0], trusted):
        return peer, scheme
    client = peer
    hops = headers.get_list("x-forwarded-for")
    for hop in reversed(hops):
        try:
            ipaddress.ip_address(hop)
        except ValueError:
            break  # a malformed hop: trust nothing further left
        client = (hop, 0)
        if not _trusted(hop, trusted):
            break
    protos = headers.get_list("x-forwarded-proto")
    if protos and protos[-1].lower() in ("http", "https"):
        scheme = protos[-1].lower()
    return client, scheme
