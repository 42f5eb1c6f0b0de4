"""porch's own URLs: one reserved namespace, ``/-/``, registered like routes.

Theory of operation. Everything porch itself answers (the health check, its static assets,
the QR code, and whatever later features add: metrics, trash, thumbnails, resumable-upload
endpoints ...) lives under ``/-/`` and is registered here, by exact path or by prefix, with
the methods it answers. ``App.guarded`` looks a ``/-/`` path up before anything else:

* an entry marked ``public`` is answered before authentication (a load balancer's health
  probe, a sign-in page's stylesheet carry no credentials);
* any other entry is answered after the access rules, before routes, templates and files.

A ``/-/`` path with no entry falls through to the ordinary dispatch (a route or file there
still answers; ``ROOT/-/`` itself is shadowed only where porch registered a name). A method an
entry does not answer gets 405 with ``Allow``. Handlers are porch's own, fast and trusted:
called directly on the loop, sync or async.
"""

from __future__ import annotations

import inspect
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Final

from porch.http import Headers, HTTPError, Request, Response

PREFIX: Final = "/-/"
"""The reserved namespace."""

ReservedHandler = Callable[[Request], Response | Awaitable[Response]]


@dataclass(frozen=True, slots=True)
class Entry:
    """One reserved URL (or prefix) and how it is answered."""

    path: str
    handler: ReservedHandler
    methods: tuple[str, ...] | None
    public: bool
    prefix: bool

    async def answer(self, request: Request) -> Response:
        """The handler's response; 405 (with Allow) for a method it does not answer."""
        method = request.method
        methods = self.methods
        head_as_get = method == "HEAD" and methods is not None and "GET" in methods
        if methods is not None and method not in methods and not head_as_get:
            allowed = ", ".join(self.allowed())
            if method == "OPTIONS":
                return Response(204, Headers([("Allow", allowed)]))
            raise HTTPError(405, f"{method} is not allowed on {request.path}", {"Allow": allowed})
        result = self.handler(request)
        if inspect.isawaitable(result):
            return await result
        return result

    def allowed(self) -> tuple[str, ...]:
        methods = set(self.methods or ()) | {"OPTIONS"}
        if "GET" in methods:
            methods.add("HEAD")
        return tuple(sorted(methods))


class Reserved:
    """The table of porch's own URLs under ``/-/``."""

    def __init__(self) -> None:
        self._exact: dict[str, Entry] = {}
        self._prefixes: list[Entry] = []

    def add(
        self,
        path: str,
        handler: ReservedHandler,
        *,
        methods: tuple[str, ...] | None = ("GET",),
        public: bool = False,
        prefix: bool = False,
    ) -> None:
        """Register ``handler`` at ``path`` (every path below it with ``prefix``, which must
        then end with ``/``) for ``methods`` (HEAD with GET; None: every method reaches the
        handler, which refuses what it does not answer). ``public``: answered before
        authentication. ``ValueError`` for a path outside ``/-/`` or one already taken."""
        if not path.startswith(PREFIX) or path == PREFIX:
            raise ValueError(f"porch's own URLs live under {PREFIX}: {path!r}")
        if prefix and not path.endswith("/"):
            raise ValueError(f"a reserved prefix ends with /: {path!r}")
        if self.match(path) is not None or any(e.path.startswith(path) for e in self._prefixes):
            raise ValueError(f"{path} is already registered")
        wanted = tuple(m.upper() for m in methods) if methods is not None else None
        entry = Entry(path, handler, wanted, public, prefix)
        if prefix:
            self._prefixes.append(entry)
        else:
            self._exact[path] = entry

    def match(self, path: str) -> Entry | None:
        """The entry answering ``path``, or None."""
        entry = self._exact.get(path)
        if entry is not None:
            return entry
        for candidate in self._prefixes:
            if path.startswith(candidate.path):
                return candidate
        return None

    def paths(self) -> list[str]:
        """Every registered path and prefix, sorted (for docs and tests)."""
        return sorted([*self._exact, *(e.path for e in self._prefixes)])
