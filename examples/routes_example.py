"""An example route module: ``porch ROOT --routes examples/routes_example.py``.

porch imports this file once at start and calls ``register(app)``; every route registered
there is answered before templates and files (see docs/pages.md).
"""

from __future__ import annotations

import html
import itertools
from typing import Any

from porch.app import App
from porch.http import Headers, HTTPError, Request, Response

MAX_ECHO_BYTES = 64 * 1024


def register(app: App) -> None:
    """Register the example routes on ``app``."""
    visits = itertools.count(1)

    @app.route("/hello")
    def hello(request: Request) -> str:
        # A plain function runs in a worker thread; a str is sent as text/html.
        name = request.query.get("name", ["world"])[0]
        return f"<!doctype html><title>Hello</title><p>Hello, {html.escape(name)}!</p>\n"

    @app.route("/api/visits")
    async def count(request: Request) -> dict[str, Any]:
        # An async function runs on the event loop; a dict is sent as JSON.
        return {"visits": next(visits)}

    @app.route("/api/echo", methods=("POST",))
    async def echo(request: Request) -> Response:
        # Read the body (async only); a Response is sent as is.
        body = await request.read_body(MAX_ECHO_BYTES)
        headers = Headers([("Content-Type", "text/plain; charset=utf-8")])
        return Response(200, headers, body)

    @app.route("/teapot")
    def teapot(request: Request) -> str:
        # An HTTPError becomes porch's usual error page (text, HTML or JSON by Accept).
        raise HTTPError(418, "this route only brews tea")
