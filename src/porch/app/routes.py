"""Dynamic routes: Python functions answering exact URL paths, ``/time``, and route modules.

Theory of operation. A ``Routes`` table maps an exact decoded URL path to a handler per
method. ``App.dispatch`` asks it first: ``await routes.dispatch(request)`` returns a
``Response`` when a route owns the path, or None to let templates and files answer. A route
owns its path for every method: a method it was not registered for gets 405 with ``Allow``
(HEAD is answered by the GET handler unless one is registered for HEAD; the server drops the
body), and OPTIONS gets 204 with ``Allow``.

Handlers are plain functions of the ``Request``. An ``async def`` runs on the event loop; a
plain ``def`` runs in a worker thread (``asyncio.to_thread``) so a slow one (a database query,
a subprocess) does not stall every other connection. What a handler returns becomes a
response in ``to_response``: a ``Response`` as is, ``str`` as HTML, ``bytes`` as
``application/octet-stream``, ``dict``/``list`` as JSON. Errors are not caught here: an
``HTTPError`` becomes its error page and anything else a logged 500, both in ``App.handle``.

Route modules (``porch --routes MODULE_OR_PATH``) are imported once at start by
``install_routes``; each must define ``register(app)``. Every failure there (not found, syntax
error, an exception at import or in ``register``, a bad route) is a ``RouteLoadError`` that the
command line reports before serving (exit status 2), never a 500 on some later request.
"""

from __future__ import annotations

import asyncio
import importlib
import importlib.util
import inspect
import os
import re
import sys
import traceback
from collections.abc import Awaitable, Callable
from pathlib import Path
from types import ModuleType
from typing import Any, Protocol, TypeVar, cast

from porch.app.pages import html_response, json_response
from porch.app.paths import contains
from porch.http import KNOWN_METHODS, Headers, HTTPError, Request, Response

RouteResult = Response | str | bytes | dict[str, Any] | list[Any]
"""What a handler may return (see ``to_response``)."""

RouteHandler = Callable[[Request], RouteResult | Awaitable[RouteResult]]
"""A route: a sync or async function of the ``Request``."""

HandlerT = TypeVar("HandlerT", bound=RouteHandler)

_SLASHES = re.compile(r"/{2,}")


class RouteHost(Protocol):
    """What a route module's ``register(app)`` is given: porch's ``App`` (this module does not
    import it, so the app and its routes do not import each other)."""

    @property
    def routes(self) -> Routes: ...

    @property
    def root(self) -> Path: ...  # issue 19: a route module inside it is refused

    def route(
        self, path: str, methods: tuple[str, ...] = ("GET",)
    ) -> Callable[[HandlerT], HandlerT]: ...


class RouteLoadError(Exception):
    """A route module could not be loaded or registered; the message says which and why."""


def normalize_route_path(path: str) -> str:
    """The form routes are matched in: runs of ``/`` collapsed (``//time`` is ``/time``).

    File serving drops empty segments too, so a route and the file it shadows answer the
    same set of URLs. A trailing slash is kept: ``/time/`` is not ``/time``.
    """
    return _SLASHES.sub("/", path) if "//" in path else path


def to_response(result: object, path: str) -> Response:
    """Turn what a handler returned into a ``Response``.

    ``Response`` passes through; ``str`` is ``text/html; charset=utf-8`` (the handler is
    responsible for escaping what it puts in it); ``bytes`` is ``application/octet-stream``;
    ``dict`` and ``list`` are JSON. Anything else is a programming error in the route
    (``TypeError``, hence a logged 500).
    """
    if isinstance(result, Response):
        return result
    if isinstance(result, str):
        return html_response(200, result)
    if isinstance(result, bytes):
        return Response(200, Headers([("Content-Type", "application/octet-stream")]), result)
    if isinstance(result, dict | list):
        return json_response(200, result)
    raise TypeError(
        f"route {path} returned {type(result).__name__}; "
        "expected Response, str, bytes, dict or list"
    )


class Routes:
    """The route table: exact path -> method -> handler.

    Registration checks its arguments loudly (``ValueError``): a path must start with ``/``
    and hold no query or fragment, methods must be ones porch knows, and one path and method
    cannot have two handlers.
    """

    def __init__(self) -> None:
        self._table: dict[str, dict[str, RouteHandler]] = {}
        # The ids of handlers that are coroutine functions, found once when added (not per
        # request). Ids, not the handlers: a callable object need not be hashable, and every
        # handler stays in ``_table`` for the process's life, so its id stays its own.
        self._coroutines: set[int] = set()
        self.builtin: set[str] = set()  # paths porch registered itself (/time)

    def add(
        self,
        path: str,
        handler: RouteHandler,
        methods: tuple[str, ...] = ("GET",),
        *,
        builtin: bool = False,
    ) -> None:
        """Register ``handler`` for ``path`` (decoded, e.g. ``/café``) and ``methods``;
        ``builtin`` marks porch's own (``--no-builtin-routes`` turns those off)."""
        if not isinstance(path, str) or not path.startswith("/"):
            raise ValueError(f"a route path must start with /: {path!r}")
        if "?" in path or "#" in path:
            raise ValueError(f"a route path has no query or fragment: {path!r}")
        if isinstance(methods, str):
            methods = (methods,)
        if not methods:
            raise ValueError(f"route {path} needs at least one method")
        path = normalize_route_path(path)
        handlers = self._table.setdefault(path, {})
        if inspect.iscoroutinefunction(handler):
            self._coroutines.add(id(handler))
        for method in methods:
            upper = method.upper()
            if upper not in KNOWN_METHODS:
                raise ValueError(f"route {path}: unknown method {method!r}")
            if upper in handlers:
                hint = ""
                if path in self.builtin:
                    hint = " (a built-in route: turn those off with --no-builtin-routes)"
                raise ValueError(f"route {path} already has a {upper} handler{hint}")
        for method in methods:
            handlers[method.upper()] = handler
        if builtin:
            self.builtin.add(path)

    def route(
        self, path: str, methods: tuple[str, ...] = ("GET",)
    ) -> Callable[[HandlerT], HandlerT]:
        """Decorator form of ``add``; returns the function unchanged."""

        def decorator(handler: HandlerT) -> HandlerT:
            self.add(path, handler, methods)
            return handler

        return decorator

    def paths(self) -> list[str]:
        """Every registered path, sorted."""
        return sorted(self._table)

    def allowed(self, path: str) -> tuple[str, ...]:
        """The methods ``path`` answers: its own, HEAD when it has GET, and OPTIONS."""
        handlers = self._table.get(normalize_route_path(path), {})
        methods = set(handlers)
        if "GET" in methods:
            methods.add("HEAD")
        methods.add("OPTIONS")
        return tuple(sorted(methods))

    async def dispatch(self, request: Request) -> Response | None:
        """The route's response for ``request``, or None when no route owns its path.

        Raises ``HTTPError(405)`` (with ``Allow``) for a method the route lacks, and lets
        whatever the handler raises propagate to ``App.handle``.
        """
        path = normalize_route_path(request.path)
        handlers = self._table.get(path)
        if handlers is None:
            return None
        method = request.method
        handler = handlers.get(method)
        if handler is None and method == "HEAD":
            handler = handlers.get("GET")
        if handler is None:
            allowed = ", ".join(self.allowed(path))
            if method == "OPTIONS":
                return Response(204, Headers([("Allow", allowed)]))
            raise HTTPError(405, f"{method} is not allowed on {path}", {"Allow": allowed})
        if id(handler) in self._coroutines:
            result: object = await cast(Awaitable[RouteResult], handler(request))
        else:
            result = await asyncio.to_thread(handler, request)
            if inspect.isawaitable(result):
                result = await result
        return to_response(result, path)


# --- route modules -----------------------------------------------------------------------


def _describe(error: BaseException) -> str:
    """One exception as its last line(s), with file and line for syntax errors."""
    return "".join(traceback.format_exception_only(error)).strip()


def import_route_module(spec: str) -> ModuleType:
    """Import a route module named by ``spec``: a path to a ``.py`` file, or a dotted name.

    A spec ending in ``.py`` or containing a path separator is a file, imported under the name
    ``porch_routes_<stem>`` (registered in ``sys.modules``, so dataclasses and pickling work).
    Otherwise it is a module name, looked up on ``sys.path`` with the current directory first
    (as ``python -m`` would), so ``porch --routes myroutes`` finds ``./myroutes.py``.
    Raises ``RouteLoadError`` for every failure.
    """
    if spec.endswith(".py") or os.sep in spec or (os.altsep and os.altsep in spec):
        path = Path(spec).expanduser()
        if not path.is_file():
            raise RouteLoadError(f"routes file not found: {spec}")
        name = "porch_routes_" + re.sub(r"\W", "_", path.stem)
        module_spec = importlib.util.spec_from_file_location(name, path)
        if module_spec is None or module_spec.loader is None:
            raise RouteLoadError(f"cannot import routes from {spec}: not a Python file")
        module = importlib.util.module_from_spec(module_spec)
        sys.modules[name] = module
        try:
            module_spec.loader.exec_module(module)
        except Exception as error:
            del sys.modules[name]
            raise RouteLoadError(f"cannot import routes from {spec}: {_describe(error)}") from error
        return module
    cwd = os.getcwd()
    if cwd not in sys.path:
        sys.path.insert(0, cwd)
    try:
        return importlib.import_module(spec)
    except ModuleNotFoundError as error:
        if error.name is not None and spec.startswith(error.name):
            raise RouteLoadError(f"routes module not found: {spec}") from error
        raise RouteLoadError(f"cannot import routes from {spec}: {_describe(error)}") from error
    except Exception as error:
        raise RouteLoadError(f"cannot import routes from {spec}: {_describe(error)}") from error


def load_route_module(app: RouteHost, spec: str) -> ModuleType:
    """Import the module ``spec`` names and call its ``register(app)``; once, at start.

    The contract for a route module: a top-level function ``register(app)`` that registers
    routes with ``@app.route(path, methods=...)`` (or ``app.routes.add``). Its return value is
    ignored. Raises ``RouteLoadError`` when there is no such function or it raises.
    """
    module = import_route_module(spec)
    source = getattr(module, "__file__", None)
    if source is not None and contains(str(app.root), os.path.realpath(source)):
        # Issue 19: its source (and whatever secrets it holds) could be downloaded.
        raise RouteLoadError(
            f"routes module {spec} is inside the served directory, where anyone could "
            "download its source: move it out (docs/pages.md)"
        )
    register = getattr(module, "register", None)
    if not callable(register):
        raise RouteLoadError(f"routes module {spec} has no register(app) function")
    try:
        register(app)
    except Exception as error:
        raise RouteLoadError(f"register(app) in {spec} failed: {_describe(error)}") from error
    return module


def install_routes(app: RouteHost, specs: tuple[str, ...]) -> None:
    """Import each ``--routes`` module in order and let it register its routes.

    The app registers its built-in routes first, so a module that registers ``/time`` again
    is told to use ``--no-builtin-routes`` rather than silently winning or losing.
    """
    for spec in specs:
        load_route_module(app, spec)
