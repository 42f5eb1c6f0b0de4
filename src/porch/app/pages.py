"""porch's own pages (error pages now; listings later), rendered with Jinja2.

These templates ship inside the package and are trusted; user templates under ROOT are a
different, sandboxed environment. Autoescaping is on: every value put into a page is escaped.
"""

from __future__ import annotations

import json

import jinja2

from porch.app.security import PAGE_CSP
from porch.http import Headers, HTTPError, Request, Response, negotiate, text_response

ENVIRONMENT = jinja2.Environment(
    loader=jinja2.PackageLoader("porch.app", "templates"),
    autoescape=jinja2.select_autoescape(default=True, default_for_string=True),
    trim_blocks=True,
    lstrip_blocks=True,
    # porch's own templates ship with it and do not change while it runs: checking each
    # one's file on every use (an isfile and a getmtime) was a quarter of /time's cost.
    auto_reload=False,
)

ERROR_FORMATS = ("text/html", "text/plain", "application/json")
"""In porch's order of preference: HTML for a client that states none (curl, scripts, like
nginx's error pages), text or JSON for one that prefers them."""


def html_response(status: int, html: str, headers: Headers | None = None) -> Response:
    """A ``text/html; charset=utf-8`` page of porch's own, with its strict CSP unless
    ``headers`` already hold one (a user template's looser policy)."""
    out = headers if headers is not None else Headers()
    out.set("Content-Type", "text/html; charset=utf-8")
    out.setdefault("Content-Security-Policy", PAGE_CSP)
    return Response(status, out, html.encode("utf-8"))


def json_response(status: int, data: object, headers: Headers | None = None) -> Response:
    """An ``application/json`` response (UTF-8, compact)."""
    out = headers if headers is not None else Headers()
    out.set("Content-Type", "application/json")
    body = json.dumps(data, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
    return Response(status, out, body)


def error_response(request: Request | None, error: HTTPError) -> Response:
    """The error page for ``error`` in the format the client prefers (HTML by default, and
    when the error was found before a request could be built: ``request`` None).

    Only ``error.status``, its reason and ``error.detail`` appear in it: details are written in
    the client's terms, never with server paths or tracebacks.
    """
    headers = Headers(list(error.headers.items()))
    accept = request.headers.get("accept") if request is not None else None
    chosen = negotiate(accept, ERROR_FORMATS) or "text/plain"
    if chosen == "text/html":
        page = ENVIRONMENT.get_template("error.html").render(
            status=error.status, reason=error.reason, detail=error.detail
        )
        return html_response(error.status, page, headers)
    if chosen == "application/json":
        data = {"status": error.status, "error": error.reason, "detail": error.detail}
        return json_response(error.status, data, headers)
    return text_response(error.status, f"{error.status} {error.reason}: {error.detail}\n", headers)
