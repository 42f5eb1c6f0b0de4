"""``/-/qr.svg?path=/dir/``: a QR code of a page's URL, for the listing's Share button.

The URL encoded is the one a phone on the same network should open: the request's scheme
and ``Host`` plus ``path``, except that a loopback Host (``localhost``, ``127.0.0.1``,
``[::1]``: someone browsing on the serving machine itself) is swapped for the machine's LAN
address when porch is bound to every interface; a phone cannot reach ``localhost``. That swap
is skipped for a request that came through a proxy (``X-Forwarded-For``, ``Forwarded`` or
``Via``): behind a balancer the Host is the fleet's name, and a node's own address in the page
would make identical trees list differently on every node (docs/deploy.md).

It is an image rendered on demand (segno, no network) rather than a data: URI in every
listing, so listings pay nothing for it; ``img-src 'self'`` in the page's CSP allows it.
"""

from __future__ import annotations

from typing import Final

from porch.http import Headers, HTTPError, Request, Response
from porch.share import is_loopback_host, lan_addresses, qr_svg, url_host

QR_PATH: Final = "/-/qr.svg"
MAX_QR_PATH: Final = 1024
"""Longest ``path`` encoded: a version-40 code holds ~2,300 bytes at level M, and a
code that dense is hard for a phone camera to read anyway."""

SVG_CSP: Final = "default-src 'none'; style-src 'unsafe-inline'"


def split_host(host: str) -> tuple[str, str]:
    """``("example.org", ":8000")`` for ``example.org:8000``; IPv6 literals keep brackets."""
    if host.startswith("["):
        end = host.find("]")
        if end != -1:
            return host[: end + 1], host[end + 1 :]
    name, colon, port = host.rpartition(":")
    if colon and port.isdigit() and ":" not in name:
        return name, ":" + port
    return host, ""


def share_url(request: Request, bind_host: str, path: str) -> str:
    """The absolute URL of ``path`` on this server as another device should open it.

    From the request alone (scheme and Host) unless someone browses on this very machine
    without a proxy in between: only then does a node's own LAN address appear in it.
    """
    host = (request.headers.get("host") or "").strip() or f"{url_host(bind_host)}"
    name, port = split_host(host)
    if is_loopback_host(name) and not _proxied(request):
        lan = lan_addresses(bind_host)
        if lan:
            host = url_host(lan[0]) + port
    return f"{request.scheme}://{host}{path}"


def _proxied(request: Request) -> bool:
    """True when a proxy says it forwarded the request (not checked against --trusted-proxy:
    a client that forges the field only changes the URL its own page shows)."""
    headers = request.headers
    return "x-forwarded-for" in headers or "forwarded" in headers or "via" in headers


def qr_response(request: Request, bind_host: str) -> Response:
    """The SVG QR code for ``?path=`` (default ``/``); 400 for a path that is not an
    absolute, already percent-encoded URL path (printable ASCII, one leading slash) or is
    longer than ``MAX_QR_PATH``."""
    path = (request.query.get("path") or ["/"])[0]
    if len(path) > MAX_QR_PATH:
        raise HTTPError(400, f"?path is longer than {MAX_QR_PATH} characters")
    if (
        not path.startswith("/")
        or path.startswith("//")
        or not all("!" <= char <= "~" for char in path)
    ):
        raise HTTPError(400, "?path must be a percent-encoded path starting with one /")
    url = share_url(request, bind_host, path)
    headers = Headers(
        [
            ("Content-Type", "image/svg+xml"),
            # It depends on the Host header, and it is cheap to make: no caching.
            ("Cache-Control", "no-store"),
            ("Content-Security-Policy", SVG_CSP),
        ]
    )
    return Response(200, headers, qr_svg(url))  # the server drops the body for HEAD
