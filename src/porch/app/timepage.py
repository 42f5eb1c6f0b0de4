"""``/time``: the built-in dynamic page, registered by the app itself (``App.__init__``)."""

from __future__ import annotations

import datetime
import functools

from porch.app.pages import ENVIRONMENT, html_response, json_response
from porch.http import Headers, Request, Response, negotiate

TIME_PATH = "/time"


async def time_page(request: Request) -> Response:
    """``/time``: the server's current time, local and UTC, in ISO 8601; never cached.

    HTML by default; JSON (``{"local": ..., "utc": ..., "timezone": ...}``) for a client that
    prefers ``application/json``.
    """
    now = datetime.datetime.now(datetime.UTC)
    local = now.astimezone()
    values = {
        "local": local.isoformat(timespec="seconds"),
        "utc": now.isoformat(timespec="seconds").replace("+00:00", "Z"),
        "timezone": local.tzname() or "",
    }
    headers = Headers([("Cache-Control", "no-store")])
    chosen = negotiate(request.headers.get("accept"), ("text/html", "application/json"))
    if chosen == "application/json":
        return json_response(200, values, headers)
    return html_response(
        200, _rendered(values["local"], values["utc"], values["timezone"]), headers
    )


@functools.lru_cache(maxsize=2)
def _rendered(local: str, utc: str, timezone: str) -> str:
    """The page for these values: they change once a second, so the page is rendered once a
    second, not once a request (a quarter of the page's cost)."""
    return ENVIRONMENT.get_template("time.html").render(local=local, utc=utc, timezone=timezone)
