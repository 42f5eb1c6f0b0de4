"""Headers porch puts on every response, CORS for reads, and the health check.

``App.handle`` calls ``finish`` on every response it returns (errors included), and answers
``/-/health`` and CORS preflights before the access rules: a load balancer and a browser's
preflight carry no credentials. docs/security.md lists each header and why.
"""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path
from typing import Final

from porch.http import Headers, HTTPError, Request, Response
from porch.http.auth import READ_METHODS

HEALTH_PATH: Final = "/-/health"
"""The health check; ``/-/`` is reserved for porch's own URLs (a ROOT/-/ directory is shadowed
there)."""

PAGE_CSP: Final = (
    "default-src 'none'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; "
    "media-src 'self'; script-src 'self'; connect-src 'self'; form-action 'self'; "
    "base-uri 'none'; frame-ancestors 'none'"
)
"""The Content-Security-Policy of porch's own HTML pages (error pages, listings): no inline
script, nothing from other origins, no framing. Files under ROOT are the user's and get none."""

REFERRER_POLICY: Final = "same-origin"
"""No Referer (so no private share paths) to other sites. Not ``no-referrer``: under it a
browser sends ``Origin: null`` with a same-origin form post, which the upload form's Origin
check would refuse."""

CORS_ALLOW_HEADERS: Final = "Range, If-Range, If-None-Match, If-Modified-Since, Accept"
CORS_EXPOSE_HEADERS: Final = "Content-Range, Accept-Ranges, ETag, Content-Disposition"
CORS_MAX_AGE: Final = "600"


def finish(request: Request | None, response: Response, *, cors: bool) -> Response:
    """Add the headers every response carries (and, with ``cors``, the CORS ones on reads);
    ``request`` is None for an error found before a request could be built."""
    headers = response.headers
    headers.set("X-Content-Type-Options", "nosniff")
    headers.setdefault("Referrer-Policy", REFERRER_POLICY)
    if cors and request is not None and request.method in READ_METHODS:
        headers.set("Access-Control-Allow-Origin", "*")
        headers.setdefault("Access-Control-Expose-Headers", CORS_EXPOSE_HEADERS)
    return response


def is_preflight(request: Request) -> bool:
    """True for a CORS preflight: OPTIONS with Origin and Access-Control-Request-Method."""
    return (
        request.method == "OPTIONS"
        and "origin" in request.headers
        and "access-control-request-method" in request.headers
    )


def preflight_response() -> Response:
    """204 allowing cross-origin reads only (``--cors``): writes stay same-origin."""
    return Response(
        204,
        Headers(
            [
                ("Access-Control-Allow-Origin", "*"),
                ("Access-Control-Allow-Methods", "GET, HEAD"),
                ("Access-Control-Allow-Headers", CORS_ALLOW_HEADERS),
                ("Access-Control-Max-Age", CORS_MAX_AGE),
            ]
        ),
    )


def health_response(request: Request, root: Path) -> Response:
    """200 ``{"status":"ok"}`` while ``root`` is a directory, else 503; GET and HEAD only.

    One ``stat`` of the root and nothing else: cheap enough for a load balancer to poll, and
    it reveals nothing about the files.
    """
    if request.method not in ("GET", "HEAD"):
        raise HTTPError(405, "the health check answers GET and HEAD", {"Allow": "GET, HEAD"})
    try:
        healthy = stat.S_ISDIR(os.stat(root).st_mode)
    except OSError:
        healthy = False
    status, word = (200, "ok") if healthy else (503, "unavailable")
    headers = Headers([("Content-Type", "application/json"), ("Cache-Control", "no-store")])
    if not healthy:
        headers.add("Retry-After", "5")
    return Response(status, headers, json.dumps({"status": word}, separators=(",", ":")).encode())
