"""User templates: a file ``NAME.j2`` under ROOT is rendered and served at ``/NAME``.

Theory of operation. ``App.dispatch`` asks ``UserTemplates.dispatch`` after the routes and
before uploads and files. For GET and HEAD of ``/a/b.html`` it looks for ``ROOT/a/b.html.j2``
(for ``/a/``, ``ROOT/a/index.html.j2``): a single ``stat`` when there is none, so plain file
serving pays almost nothing; when there is one, the path is checked by ``paths.resolve`` (the
one containment function) and the template is rendered. Any request whose last path segment
ends in ``.j2`` gets 404 whatever the method: the source of a template is never served (nor,
through this step, written).

Rendering happens in an ``ImmutableSandboxedEnvironment``: templates cannot reach
underscore attributes, call unsafe methods or mutate lists and dicts, and an attempt is an
error (500, logged) rather than an empty string. Template names in ``{% include %}`` and
``{% extends %}`` are relative to ROOT and go through ``resolve`` as URL paths do, so ``..``,
absolute names, backslashes, symlinks out of ROOT and (without ``--hidden``) dot-files are not
found. Autoescaping is on unless the served name has a non-markup type (``.txt``, ``.css``,
``.js``, ``.json``, ``.csv``, ``.md``), where HTML escaping would corrupt the output and
``X-Content-Type-Options: nosniff`` stops a browser from reading it as HTML.

Compiled templates are cached by name; before each use the cache entry is checked against the
file (real path, mtime in ns, size, inode), so an edit or an atomic replace is picked up on
the next request without a restart.

The variables a template sees (documented in docs/pages.md): each query parameter by name with
its first value (a ``str``), ``params`` (name -> first value, for any name), ``params_all``
(name -> list of all values), and ``request`` (method, path, query string and headers, read
only, with credentials left out). A parameter named like a reserved variable or a Jinja global
(``request``, ``range``, ...) is only in ``params``/``params_all``, so a client cannot shadow
what the template relies on.
"""

from __future__ import annotations

import logging
import os
import stat
import traceback
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType
from typing import Any, NoReturn

import jinja2
from jinja2.exceptions import SecurityError
from jinja2.sandbox import ImmutableSandboxedEnvironment

from porch.app.files import open_regular
from porch.app.mediatypes import content_type
from porch.app.offload import BudgetExceeded, TooLong, run_bounded, run_briefly
from porch.app.paths import resolve, url_segments
from porch.config import DEFAULT_TEMPLATE_MAX_BYTES, DEFAULT_TEMPLATE_SECONDS
from porch.http import Headers, HTTPError, Request, Response, ServerFault

log = logging.getLogger("porch.app.templates")

TEMPLATE_SUFFIX = ".j2"
SLOW_TEMPLATES = 1024
"""Names remembered as too slow for the loop (then forgotten all at once, and relearnt)."""

_UNESCAPED_TYPES = frozenset(
    {
        "text/plain",
        "text/css",
        "text/csv",
        "text/markdown",
        "text/javascript",
        "application/javascript",
        "application/json",
    }
)

HIDDEN_REQUEST_HEADERS = frozenset({"authorization", "proxy-authorization", "cookie"})
"""Headers a template never sees: a template must not be able to copy a visitor's
credentials into a page (or a link to somewhere else)."""

RESERVED_NAMES = frozenset({"request", "params", "params_all"})

CANDIDATE_CACHE_ENTRIES = 4096
"""URL paths whose template candidate ``UserTemplates.find`` keeps worked out."""
CANDIDATE_CACHE_PATH_BYTES = 512
"""Longer URL paths are worked out each time, not kept (issue 17: the cache's bytes stay
bounded, about 4096 x 3 x 512, whatever paths clients send)."""


def is_template_source(name: str) -> bool:
    """True when a file name is a template source (``NAME.j2`` with a non-empty NAME)."""
    return name.endswith(TEMPLATE_SUFFIX) and len(name) > len(TEMPLATE_SUFFIX)


def names_template_source(segment: str) -> bool:
    """True when a URL segment could name a template source: ends in ``.j2`` in any case.

    Wider than ``is_template_source`` on purpose: on a case-insensitive file system
    ``/greet.html.J2`` would open ``greet.html.j2``.
    """
    return segment.lower().endswith(TEMPLATE_SUFFIX)


def served_name(filename: str) -> str:
    """The name a file is served under: ``greet.html.j2`` -> ``greet.html``; others unchanged.

    For listings: a template must be listed under this name (its URL), never as ``.j2``.
    When a directory holds both ``greet.html`` and ``greet.html.j2``, the template is what
    ``/greet.html`` serves, so a listing should show the name once.
    """
    if is_template_source(filename):
        return filename[: -len(TEMPLATE_SUFFIX)]
    return filename


def autoescape_for(template_name: str | None) -> bool:
    """Whether a template is HTML-escaped: yes unless its served type is known not markup."""
    if template_name is None:
        return True
    base = served_name(template_name.rsplit("/", 1)[-1])
    kind = content_type(base).split(";", 1)[0]
    return kind not in _UNESCAPED_TYPES


@dataclass(frozen=True, slots=True)
class RequestView:
    """The ``request`` a template sees: read-only facts about the request.

    ``headers`` maps lower-case names to values (repeated fields joined with ``, ``), without
    Authorization, Proxy-Authorization and Cookie.
    """

    method: str
    path: str
    query_string: str
    headers: Mapping[str, str]

    @classmethod
    def of(cls, request: Request) -> RequestView:
        headers: dict[str, list[str]] = {}
        for name, value in request.headers.items():
            lower = name.lower()
            if lower not in HIDDEN_REQUEST_HEADERS:
                headers.setdefault(lower, []).append(value)
        _, _, query = request.target.partition("?")
        return cls(
            method=request.method,
            path=request.path,
            query_string=query,
            headers=MappingProxyType({k: ", ".join(v) for k, v in headers.items()}),
        )


class StrictSandbox(ImmutableSandboxedEnvironment):
    """The sandbox, with unsafe attribute access an error instead of an empty value.

    Jinja's sandbox returns an undefined value for ``''.__class__``, which renders as an empty
    string; porch raises, so an attempt is a 500 in the log rather than a silent blank.
    """

    def unsafe_undefined(self, obj: Any, attribute: str) -> NoReturn:
        raise SecurityError(
            f"access to attribute {attribute!r} of {type(obj).__name__!r} object is unsafe"
        )


class RootLoader(jinja2.BaseLoader):
    """Loads templates by ROOT-relative name, every name through ``paths.resolve``.

    A name that is empty, absolute, or refused by ``resolve`` (``..``, backslashes, a symlink
    out of ROOT, a dot-file without ``hidden``) is simply not found.
    """

    def __init__(self, root: Path, *, hidden: bool) -> None:
        self.root = root
        self.hidden = hidden

    def locate(self, name: str) -> Path:
        """The real path of template ``name``; ``TemplateNotFound`` when refused."""
        if not name or name.startswith("/"):
            raise jinja2.TemplateNotFound(name)
        try:
            return resolve(self.root, "/" + name, hidden=self.hidden)
        except HTTPError:
            raise jinja2.TemplateNotFound(name) from None

    def get_source(
        self, environment: jinja2.Environment, template: str
    ) -> tuple[str, str, Callable[[], bool]]:
        real = self.locate(template)
        try:
            fd, info = open_regular(str(real))
        except HTTPError:
            raise jinja2.TemplateNotFound(template) from None
        with os.fdopen(fd, "rb") as source_file:
            source = source_file.read().decode("utf-8")
        signature = (str(real), info.st_mtime_ns, info.st_size, info.st_ino)
        identity = _identity(info)
        joined = os.path.join(self.root, template)

        def uptodate() -> bool:
            # The name still reaching the very file that was located and checked (same
            # device, inode, size and times) is that file: one stat answers. Anything else
            # goes the whole way through ``resolve`` again.
            try:
                if _identity(os.stat(joined)) == identity:
                    return True
                current = self.locate(template)
                now = os.stat(current)
            except (jinja2.TemplateNotFound, OSError):
                return False
            return signature == (str(current), now.st_mtime_ns, now.st_size, now.st_ino)

        return source, str(real), uptodate


def _identity(info: os.stat_result) -> tuple[int, int, int, int, int]:
    return info.st_dev, info.st_ino, info.st_size, info.st_mtime_ns, info.st_ctime_ns


def _template_location(error: BaseException, root: str) -> str:
    """``file line N`` of the innermost template frame in ``error``'s traceback (Jinja
    rewrites tracebacks so template frames carry the template's file and line)."""
    frames = [
        frame
        for frame in traceback.extract_tb(error.__traceback__)
        if frame.filename.startswith(root + os.sep)
    ]
    if not frames:
        return "unknown location"
    frame = frames[-1]
    return f"{os.path.relpath(frame.filename, root)} line {frame.lineno}"


class UserTemplates:
    """The templates under one ROOT: lookup, sandboxed rendering, caching."""

    def __init__(
        self,
        root: Path,
        *,
        hidden: bool,
        seconds: float = DEFAULT_TEMPLATE_SECONDS,
        max_bytes: int = DEFAULT_TEMPLATE_MAX_BYTES,
    ) -> None:
        self.root = root
        self.hidden = hidden
        self.seconds = seconds
        self.max_bytes = max_bytes
        self._slow: set[str] = set()  # templates that ran over BRIEF_SECONDS: worker threads
        self.environment = StrictSandbox(
            loader=RootLoader(root, hidden=hidden),
            autoescape=autoescape_for,
            auto_reload=True,
            keep_trailing_newline=True,  # a rendered file ends as its source does
        )
        self._candidates: dict[str, tuple[str, str, str] | tuple[()]] = {}

    def find(self, url_path: str) -> tuple[str, str] | None:
        """(template name, served name) for a URL path, or None when no template serves it.

        Raises ``HTTPError`` as ``resolve`` does for a refused path, and 404 for a path
        whose last segment names a template source.
        """
        candidate = self._candidates.get(url_path)
        if candidate is None:
            candidate = self._candidate(url_path)
            if len(url_path) <= CANDIDATE_CACHE_PATH_BYTES:
                if len(self._candidates) >= CANDIDATE_CACHE_ENTRIES:
                    self._candidates.clear()
                self._candidates[url_path] = candidate
        if not candidate:
            return None
        joined, name, served = candidate
        # One syscall answers both "no template here" (almost every request) and "a template
        # here": a template page rendered in a worker thread holds the GIL, so each syscall
        # the loop makes meanwhile waits for it back (an access() and an isfile() here cost
        # ~30 µs each under load). Containment is checked by resolve (in the loader) only when
        # there is something to render.
        try:
            found = stat.S_ISREG(os.stat(joined).st_mode)
        except OSError:
            return None
        return (name, served) if found else None

    def _candidate(self, url_path: str) -> tuple[str, str, str] | tuple[()]:
        """(file-system path to look at, template name, served name) for a URL path, or
        ``()`` when no template could serve it: a pure function of the path, so ``find``
        remembers it. Raises as ``find`` does (those answers are not remembered)."""
        names = url_segments(url_path, hidden=self.hidden)
        if names and names_template_source(names[-1]):
            raise HTTPError(404, "not found")
        if url_path.endswith("/"):
            names = [*names, "index.html" + TEMPLATE_SUFFIX]
        elif names:
            names[-1] += TEMPLATE_SUFFIX
        else:
            return ()
        joined = os.path.join(self.root, *names)
        return joined, "/".join(names), served_name(names[-1])

    def dispatch(self, request: Request) -> Response | None:
        """The rendered template for a GET/HEAD, or None when no template serves the path.

        Other methods are not handled here (a form that submits to a template uses
        ``method="get"``): they go on to uploads, which refuse ``.j2`` names inside ROOT, or
        to the 405 every read-only path gives. Reading a ``.j2`` source is refused in
        ``find`` (404).
        """
        if request.method not in ("GET", "HEAD"):
            return None
        found = self.find(request.path)
        if found is None:
            return None
        name, served = found
        return self._response(served, self.render(name, self.context(request)))

    async def adispatch(self, request: Request) -> Response | None:
        """``dispatch``, with the rendering in a worker thread under the time and size
        budget (issue 17): a slow template never holds the event loop, and one that runs
        past ``seconds`` or ``max_bytes`` ends in a 500 that says so (and is logged)."""
        if request.method not in ("GET", "HEAD"):
            return None
        found = self.find(request.path)
        if found is None:
            return None
        name, served = found
        variables = self.context(request)
        try:
            text = self._render_briefly(name, variables)
            if text is None:
                text = await run_bounded(lambda: self.render(name, variables), self.seconds)
        except BudgetExceeded:
            log.error("template %s took longer than %s s: stopped", name, self.seconds)
            raise ServerFault(
                500, f"this page's template took longer than {self.seconds:g} s to render"
            ) from None
        return self._response(served, text)

    def _render_briefly(self, name: str, variables: dict[str, Any]) -> str | None:
        """The page rendered on the loop if it takes at most ``BRIEF_SECONDS`` (most do: the
        hand-off to a worker and back costs more than rendering); None when it is for a worker
        thread: it ran over once (it stays there; the work is rerun, templates being pure), or
        it cannot be timed on this thread."""
        if name in self._slow:
            return None
        try:
            done = run_briefly(lambda: self.render(name, variables))
        except TooLong:
            if len(self._slow) >= SLOW_TEMPLATES:
                self._slow.clear()
            self._slow.add(name)
            return None
        return None if done is None else done[0]

    def _response(self, served: str, text: str) -> Response:
        headers = Headers(
            [
                ("Content-Type", content_type(served)),
                ("Cache-Control", "no-cache"),
                ("X-Content-Type-Options", "nosniff"),
            ]
        )
        return Response(200, headers, text.encode("utf-8"))

    def context(self, request: Request) -> dict[str, Any]:
        """The variables for rendering ``request`` (see the module docstring)."""
        variables: dict[str, Any] = {}
        for key, values in request.query.items():
            if key not in RESERVED_NAMES and key not in self.environment.globals:
                variables[key] = values[0]
        variables["params"] = MappingProxyType({k: v[0] for k, v in request.query.items()})
        variables["params_all"] = MappingProxyType({k: list(v) for k, v in request.query.items()})
        variables["request"] = RequestView.of(request)
        return variables

    def _generate(self, template: jinja2.Template, variables: dict[str, Any]) -> str:
        """The rendered text, piece by piece, refusing (500) past ``max_bytes``."""
        parts: list[str] = []
        size = 0
        for piece in template.generate(variables):
            size += len(piece) if piece.isascii() else len(piece.encode("utf-8"))
            if size > self.max_bytes:
                log.error("template %s rendered over %d bytes: stopped", template.name,
                          self.max_bytes)  # fmt: skip
                raise ServerFault(
                    500, f"this page's template rendered more than {self.max_bytes} bytes"
                )
            parts.append(piece)
        return "".join(parts)

    def render(self, name: str, variables: dict[str, Any]) -> str:
        """Render template ``name``; every failure is logged with its place and becomes a 500
        whose page names neither the file nor its source."""
        try:
            template = self.environment.get_template(name)
        except jinja2.TemplateNotFound:
            # It vanished (or was replaced by a link out of ROOT) since find() saw it.
            raise HTTPError(404, "not found") from None
        except jinja2.TemplateSyntaxError as error:
            log.error("template syntax error in %s line %s: %s", name, error.lineno, error.message)
            raise ServerFault(500, "this page's template has an error") from None
        except Exception:
            log.exception("cannot load template %s", name)
            raise ServerFault(500, "this page's template has an error") from None
        try:
            return self._generate(template, variables)
        except BudgetExceeded:
            raise
        except HTTPError:
            raise
        except jinja2.TemplateSyntaxError as error:
            log.error(
                "template syntax error in %s line %s (rendering %s): %s",
                error.name,
                error.lineno,
                name,
                error.message,
            )
            raise ServerFault(500, "this page's template has an error") from None
        except Exception as error:
            where = _template_location(error, str(self.root))
            log.error("template %s failed at %s: %s: %s", name, where, type(error).__name__, error)
            log.debug("template traceback", exc_info=error)
            raise ServerFault(500, "this page's template failed to render") from None
