"""Allowed hosts: which ``Host`` values porch answers (DNS rebinding, issue 17).

Theory of operation. A web page on ``attacker.example`` can make a visitor's browser talk to
porch on 127.0.0.1 by pointing its own name at 127.0.0.1 after the page has loaded (DNS
rebinding). The browser then thinks porch *is* attacker.example: same origin, so the page
reads every file and posts forms with ``Origin: http://attacker.example``. What the browser
cannot hide is the name: it sends ``Host: attacker.example``. So porch answers only names it
knows are its own and refuses the rest with 421 Misdirected Request, as Jupyter,
webpack-dev-server and Vite do:

* loopback names (``localhost``, ``*.localhost``) and every IP literal (a rebinding needs a
  name the attacker's DNS answers for; an address names no one);
* the bind address and the names porch prints in its start-up banner;
* names given with ``--allowed-host`` (``.example.org`` or ``*.example.org`` also admit the
  subdomains); ``*`` turns the check off, for a proxy that sets Host itself.

A request without Host (HTTP/1.0) or with an empty one is allowed: every browser sends a
name. Pure: a decision on a
header value, no sockets, used by ``porch.app`` for every front end.
"""

from __future__ import annotations

import functools
import ipaddress
from collections.abc import Iterable
from dataclasses import dataclass


@functools.lru_cache(maxsize=1024)
def split_authority(text: str) -> tuple[str, int | None] | None:
    """``(host, port)`` of a Host value or URL authority, host lower-cased without a
    trailing dot and IPv6 literals without brackets; None when it is malformed (userinfo,
    a path, a bad port, an empty host). Remembered for the last 1,024 values: every request
    carries one, and most carry the same few."""
    text = text.strip()
    if not text or any(char in text for char in "@/?#\\ \t"):
        return None
    port: int | None = None
    if text.startswith("["):
        end = text.find("]")
        if end == -1:
            return None
        host, rest = text[1:end], text[end + 1 :]
        if rest:
            if not rest.startswith(":"):
                return None
            rest = rest[1:]
            if not (rest.isascii() and rest.isdigit()) or int(rest) > 65535:
                return None
            port = int(rest)
        try:
            ipaddress.IPv6Address(host.split("%", 1)[0])
        except ValueError:
            return None
        return host.lower(), port
    host, colon, rest = text.rpartition(":")
    if not colon:
        host = text
    elif ":" in host:
        return None  # an IPv6 address without brackets
    elif not (rest.isascii() and rest.isdigit()) or int(rest) > 65535:
        return None
    else:
        port = int(rest)
    host = host.lower().removesuffix(".")
    if not host:
        return None
    return host, port


@functools.lru_cache(maxsize=1024)
def is_ip_literal(host: str) -> bool:
    """True for an IPv4 dotted quad or an IPv6 address (brackets already removed).

    Remembered for the last 1,024 names: most requests carry one of a few, and ``ipaddress``
    takes microseconds to say so on every request."""
    try:
        ipaddress.ip_address(host.split("%", 1)[0])
    except ValueError:
        return False
    return True


def is_loopback_name(host: str) -> bool:
    """``localhost`` and its subdomains (RFC 6761: they always resolve to loopback)."""
    return host == "localhost" or host.endswith(".localhost")


@dataclass(frozen=True, slots=True)
class AllowedHosts:
    """The host names porch answers for besides loopback names and IP literals.

    ``names`` holds exact names; ``suffixes`` the ``.example.org`` forms (a name equal to the
    suffix without its dot matches too); ``anything`` is ``*``: no check at all.
    """

    names: frozenset[str] = frozenset()
    suffixes: tuple[str, ...] = ()
    anything: bool = False

    @classmethod
    def build(cls, entries: Iterable[str]) -> AllowedHosts:
        """From ``--allowed-host`` values and the names porch prints: ``*`` turns the check
        off; ``.example.org`` and ``*.example.org`` admit example.org and every subdomain."""
        names: set[str] = set()
        suffixes: list[str] = []
        anything = False
        for entry in entries:
            value = entry.strip().lower().removesuffix(".")
            if value == "*":
                anything = True
            elif value.startswith("*.") or value.startswith("."):
                suffixes.append("." + value.lstrip("*."))
            elif value:
                parsed = split_authority(value)
                names.add(parsed[0] if parsed is not None else value)
        return cls(frozenset(names), tuple(suffixes), anything)

    def allows_name(self, host: str) -> bool:
        """True when porch answers for ``host`` (as ``split_authority`` returns it)."""
        if self.anything or is_loopback_name(host) or is_ip_literal(host):
            return True
        if host in self.names:
            return True
        return any(host.endswith(suffix) or host == suffix[1:] for suffix in self.suffixes)

    def allows(self, host_header: str | None) -> bool:
        """True when a request with this ``Host`` value (None: none sent) may be answered."""
        if host_header is None or not host_header.strip() or self.anything:
            return True  # no name to check (HTTP/1.0, or an empty authority): no browser
        parsed = split_authority(host_header)
        return parsed is not None and self.allows_name(parsed[0])
