"""Sharing porch on a LAN: the addresses it is reachable at, and QR codes pointing there.

Used by the start-up banner (``porch.server.banner``: every URL when bound to a wildcard
address, and ``--qr``'s terminal code) and by the listing page's QR image (``porch.app.qr``).
Neither layer owns it: it only reads the host's addresses, it never serves or sends anything.

Theory of operation. There is no portable, dependency-free way to list interfaces in Python
(``ip -j addr`` is Linux-only, psutil is a C extension). Two cheap sources together cover
the cases that matter:

1. the *primary* address: ``connect()`` a UDP socket to a documentation address
   (192.0.2.1, 2001:db8::1; RFC 5737 / RFC 3849). ``connect`` on UDP sends nothing; it only
   asks the kernel's routing table which source address it would use, which is the address
   the machine's default route goes out of: the one a phone on the same Wi-Fi can reach;
2. the addresses the host name resolves to (``getaddrinfo(gethostname())``), which adds the
   other interfaces on most set-ups (and on a machine without a default route, the only
   ones).

Loopback, link-local (fe80::/10 needs a zone id no phone would type) and unspecified
addresses are dropped; the primary address comes first.
"""

from __future__ import annotations

import contextlib
import io
import ipaddress
import socket
import time

import segno

WILDCARDS = frozenset({"0.0.0.0", "::", ""})
"""Bind addresses meaning "every interface" (asyncio binds ``::`` IPv6-only)."""

_PROBES = {socket.AF_INET: "192.0.2.1", socket.AF_INET6: "2001:db8::1"}


def url_host(host: str) -> str:
    """``host`` as it appears in a URL (IPv6 literals in brackets)."""
    return f"[{host}]" if ":" in host and not host.startswith("[") else host


def _usable(text: str) -> bool:
    try:
        address = ipaddress.ip_address(text.split("%", 1)[0])
    except ValueError:
        return False
    return not (address.is_loopback or address.is_link_local or address.is_unspecified)


def primary_address(family: socket.AddressFamily) -> str | None:
    """The source address of the default route for ``family``, or None without one.

    Sends no packet: a UDP ``connect`` only chooses the route.
    """
    try:
        with socket.socket(family, socket.SOCK_DGRAM) as probe:
            probe.connect((_PROBES[family], 9))
            address = str(probe.getsockname()[0])
    except OSError:
        return None
    return address if _usable(address) else None


CACHE_SECONDS = 30.0
"""How long ``lan_addresses`` trusts its last answer: listings ask on every request, and
``getaddrinfo(gethostname())`` may consult DNS; a laptop changing networks is seen soon."""
_cache: dict[str, tuple[float, list[str]]] = {}


def lan_addresses(bind_host: str) -> list[str]:
    """The non-loopback addresses other machines may reach porch at, primary first.

    Only for a wildcard ``bind_host`` (``0.0.0.0``: IPv4; ``::``: IPv6); a specific address
    is its own answer and the banner already shows it, so this returns ``[]`` for it.
    Answers are cached for ``CACHE_SECONDS``.
    """
    if bind_host not in WILDCARDS:
        return []
    now = time.monotonic()
    cached = _cache.get(bind_host)
    if cached is not None and now - cached[0] < CACHE_SECONDS:
        return list(cached[1])
    found = _discover(bind_host)
    _cache[bind_host] = (now, found)
    return list(found)


def _discover(bind_host: str) -> list[str]:
    family = socket.AF_INET6 if bind_host == "::" else socket.AF_INET
    found: list[str] = []
    primary = primary_address(family)
    if primary is not None:
        found.append(primary)
    with contextlib.suppress(OSError):
        for info in socket.getaddrinfo(socket.gethostname(), None, family, socket.SOCK_STREAM):
            address = str(info[4][0])
            if _usable(address) and address not in found:
                found.append(address)
    return found


def is_loopback_host(host: str) -> bool:
    """True for ``localhost`` and loopback literals (a Host header's host part)."""
    name = host.strip("[]").lower()
    if name == "localhost" or name.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False


def reachable_urls(bind_host: str, port: int, scheme: str = "http") -> list[tuple[str, str]]:
    """``(label, url)`` for every URL worth printing besides the bound one: for a wildcard
    bind, this machine's loopback URL and each LAN address; nothing otherwise."""
    if bind_host not in WILDCARDS:
        return []
    local = "[::1]" if bind_host == "::" else "127.0.0.1"
    urls = [("local", f"{scheme}://{local}:{port}/")]
    urls += [("network", f"{scheme}://{url_host(a)}:{port}/") for a in lan_addresses(bind_host)]
    return urls


def qr_svg(text: str) -> bytes:
    """An SVG QR code of ``text`` (UTF-8, no XML declaration), dark modules on white.

    Always dark on light, even in a dark page: phone cameras read that best. Error
    correction M (15 %) survives a glare or a slightly dirty screen.
    """
    code = segno.make(text, error="m", micro=False)
    out = io.BytesIO()
    code.save(
        out, kind="svg", scale=4, border=3, dark="#000", light="#fff", xmldecl=False,
        title=None, nl=False,
    )  # fmt: skip
    return out.getvalue()


def qr_terminal(text: str, *, unicode: bool = True) -> str:
    """``text`` as a QR code drawn with characters, for the start-up banner.

    With ``unicode``, half blocks (two module rows per line: compact and readable in any
    UTF-8 terminal, light or dark theme, because light modules are drawn too); without, ANSI
    background colours.
    """
    code = segno.make(text, error="m", micro=False)
    if not unicode:
        out = io.StringIO()
        code.terminal(out=out, border=2)
        return out.getvalue()
    matrix = [list(row) for row in code.matrix]
    border = 2
    size = len(matrix) + 2 * border
    dark = [[False] * size for _ in range(size)]
    for y, row in enumerate(matrix):
        for x, value in enumerate(row):
            dark[y + border][x + border] = bool(value)
    if size % 2:
        dark.append([False] * size)
    # Light modules are drawn (as ink), dark ones left as the background: a normal code on the
    # dark terminals most people use, as ``qrencode -t UTF8`` does.
    glyphs = {(False, False): "█", (False, True): "▀", (True, False): "▄", (True, True): " "}
    lines = []
    for y in range(0, len(dark), 2):
        lines.append("".join(glyphs[(dark[y][x], dark[y + 1][x])] for x in range(size)))
    return "\n".join(lines) + "\n"
