"""``?q=`` on a directory: the names below it that match, streamed as they are found.

Theory of operation. A search walks the tree depth first from the directory, in sorted
order, and matches each name case-insensitively: as a substring, or as a glob when the query
holds ``*``, ``?`` or ``[`` (``*.JPG`` finds ``a.jpg``; the glob must match the whole name).
What it may show is what a listing shows: every name passes the same checks as
``porch.app.paths.listable`` (hidden names, names no URL can carry, symlinks out of ROOT
through ``confine``, checked at query time since a link's target can change without its
directory changing), every result's URL path passes the client's grants, a template
``NAME.j2`` is found as ``NAME`` (its URL), and a link to a directory inside ROOT is searched
under the link's URL unless it leads back to a directory above it (a cycle).

Speed: ``TreeCache`` keeps each directory's names (already folded for matching) under the
directory's identity and mtime (``st_dev``, ``st_ino``, ``st_mtime_ns``). A search stats every
directory it passes (one syscall each) and rescans only those that changed, since adding,
removing or renaming a name changes its directory's mtime. A directory modified within the
last ``FRESH_SECONDS`` is not cached (a coarse mtime could hide a second change in the same
tick: porch.app.listingcache makes the same argument). The cache is bounded by the number of
names it holds.

The walk runs in a worker thread in short steps (``STEP_SECONDS``), each returning what it
found, so the first results go out while the walk goes on and the event loop is never held.
It stops at the result limit or the time limit, and the output says so.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import fnmatch
import html
import json
import os
import re
import threading
import time
import urllib.parse
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Final

from porch.app.listing import (
    STATIC_PREFIX,
    _iso,
    choose_format,
    escape_text,
    file_type,
    human_size,
)
from porch.app.names import _DRIVE, check_name
from porch.app.paths import _CONTROL, confine
from porch.app.security import PAGE_CSP
from porch.app.usertemplates import TEMPLATE_SUFFIX
from porch.http import Headers, HTTPError, Request, Response

MAX_QUERY_CHARS: Final = 256
STEP_SECONDS: Final = 0.03
FRESH_SECONDS: Final = 1.0
MAX_CACHED_NAMES: Final = 2_000_000
"""Names the tree cache holds before it starts over (about 200 bytes each)."""


@dataclass(frozen=True, slots=True)
class Folder:
    """One directory as the cache keeps it: its visible names in sorted order (a template
    under its served name), their folded forms, which are directories and which symlinks,
    and ``blob``, the folded names joined by newlines, so a directory without a candidate is
    passed over with one substring test in C instead of a Python loop over its names."""

    names: list[str]
    folded: list[str]
    dirs: frozenset[str]
    links: frozenset[str]
    templates: frozenset[str]
    blob: str


@dataclass(frozen=True, slots=True)
class Found:
    """A result: its decoded URL path (directories end in ``/``), whether it is a directory,
    and its real path for a stat (never shown)."""

    url: str
    is_dir: bool
    real: str


_EMPTY = Folder([], [], frozenset(), frozenset(), frozenset(), "")


class TreeCache:
    """Directory -> its visible names, by directory version (module docstring)."""

    def __init__(self, root: Path, *, hidden: bool, limit: int = MAX_CACHED_NAMES) -> None:
        self.root = root
        self.hidden = hidden
        self.limit = limit
        self._names = 0
        self._entries: dict[str, tuple[tuple[int, int, int], Folder]] = {}
        self._lock = threading.Lock()

    def folder(self, directory: str) -> Folder:
        """The names in the real ``directory`` a listing could show (links unchecked)."""
        try:
            info = os.stat(directory)
        except OSError:
            return _EMPTY
        version = (info.st_dev, info.st_ino, info.st_mtime_ns)
        with self._lock:
            cached = self._entries.get(directory)
        if cached is not None and cached[0] == version:
            return cached[1]
        folder = self._scan(directory)
        if time.time() - info.st_mtime > FRESH_SECONDS:
            with self._lock:
                if self._names + len(folder.names) > self.limit:
                    self._entries.clear()
                    self._names = 0
                previous = self._entries.pop(directory, None)
                if previous is not None:
                    self._names -= len(previous[1].names)
                self._entries[directory] = (version, folder)
                self._names += len(folder.names)
        return folder

    def _scan(self, directory: str) -> Folder:
        try:
            with os.scandir(directory) as iterator:
                items = sorted(iterator, key=lambda item: item.name)
        except OSError:
            return _EMPTY
        suffix = TEMPLATE_SUFFIX
        templates = {i.name[: -len(suffix)] for i in items if i.name.endswith(suffix)}
        names: list[str] = []
        dirs: set[str] = set()
        links: set[str] = set()
        hidden = self.hidden
        for item in items:
            name = item.name
            if name in templates:
                continue  # the template's URL shows (and serves) under this name
            try:
                if not name.isprintable():
                    name.encode("utf-8")
                    if _CONTROL.search(name):
                        continue
                if name[0] == "." or "\\" in name or _DRIVE.match(name):
                    check_name(name, hidden=hidden)
                is_dir = item.is_dir()  # follows links, like the listing's stat
                if not is_dir and not item.is_file():
                    continue
                is_link = item.is_symlink()
            except (HTTPError, UnicodeEncodeError, OSError):
                continue
            if name.endswith(suffix):
                name = name[: -len(suffix)]
            names.append(name)
            if is_dir:
                dirs.add(name)
            if is_link:
                links.add(name)
        folded = [name.casefold() for name in names]
        shown = frozenset(templates)
        blob = "\n".join(folded)
        return Folder(names, folded, frozenset(dirs), frozenset(links), shown, blob)

    def __len__(self) -> int:
        return self._names


def matcher(query: str) -> tuple[Callable[[str], bool], str]:
    """A test on folded names — a glob (whole name) when ``query`` has ``*?[``, else a
    substring — and a literal every matching name contains (for ``Folder.blob``)."""
    folded = query.casefold()
    if any(char in folded for char in "*?["):
        pattern = re.compile(fnmatch.translate(folded), re.DOTALL)
        literal = max(re.split(r"\[[^]]*\]?|[*?\[]", folded), key=len)
        return (lambda name: pattern.match(name) is not None), literal
    return (lambda name: folded in name), folded


def walk(
    cache: TreeCache,
    directory: str,
    url_dir: str,
    query: str,
    readable: Callable[[str], bool],
) -> Iterator[Found]:
    """Every visible name below the real ``directory`` (served at ``url_dir``, ending in
    ``/``) that matches ``query``, depth first in sorted order (module docstring)."""
    matches, literal = matcher(query)
    root = cache.root
    # Each folder carries the real paths above it: a link back up (a cycle) is not followed.
    stack = [(directory, url_dir, frozenset([directory]))]
    while stack:
        real_dir, url_here, above = stack.pop()
        folder = cache.folder(real_dir)
        if literal in folder.blob:
            for name, folded in zip(folder.names, folder.folded, strict=True):
                if not matches(folded):
                    continue
                joined = os.path.join(real_dir, name)
                if name in folder.templates:
                    joined += TEMPLATE_SUFFIX  # the file behind the URL, for its size and time
                if name in folder.links:
                    try:
                        confine(root, joined, hidden=cache.hidden)
                    except HTTPError:
                        continue
                is_dir = name in folder.dirs
                url = url_here + name
                if readable(url):
                    yield Found(url + "/" if is_dir else url, is_dir, joined)
        for name in sorted(folder.dirs, reverse=True):
            joined = os.path.join(real_dir, name)
            if name in folder.links:
                try:
                    joined = str(confine(root, joined, hidden=cache.hidden))
                except HTTPError:
                    continue
                if joined in above:
                    continue
            stack.append((joined, url_here + name + "/", above | {joined}))


@dataclass(frozen=True, slots=True)
class SearchLimits:
    """When a search stops (``Config.max_search_results`` / ``search_seconds``)."""

    results: int
    seconds: float


class _Search:
    """The walk, advanced in steps from a worker thread, with the limits applied."""

    def __init__(self, found: Iterator[Found], limits: SearchLimits, with_stat: bool) -> None:
        self.found = found
        self.limits = limits
        self.with_stat = with_stat
        self.count = 0
        self.deadline = time.monotonic() + limits.seconds
        self.cut = ""
        self.done = False

    def step(self) -> list[tuple[Found, os.stat_result | None]]:
        out: list[tuple[Found, os.stat_result | None]] = []
        stop = min(self.deadline, time.monotonic() + STEP_SECONDS)
        for item in self.found:
            info: os.stat_result | None = None
            if self.with_stat:
                try:
                    info = os.stat(item.real)
                except OSError:
                    continue
            out.append((item, info))
            self.count += 1
            if self.count >= self.limits.results:
                if next(self.found, None) is not None:  # only a real N+1st is a cut
                    self.cut = f"stopped after {self.limits.results} results"
                self.done = True
                return out
            if time.monotonic() >= stop:
                break
        else:
            self.done = True
            return out
        if time.monotonic() >= self.deadline:
            self.cut = f"stopped after {self.limits.seconds:g} seconds"
            self.done = True
        return out


class _Renderer:
    """One output format: a head, one piece per result, and a foot with the note."""

    def __init__(self, media: str, request: Request, query: str) -> None:
        self.media = media
        self.request = request
        self.query = query
        self.first = True

    def head(self) -> bytes:
        if self.media == "application/json":
            return (
                b'{"query":' + json.dumps(self.query, ensure_ascii=False).encode() + b',"results":['
            )
        if self.media == "text/html":
            return _html_head(self.request, self.query).encode()
        return b""

    def rows(self, found: list[tuple[Found, os.stat_result | None]]) -> bytes:
        prefix = self.request.root_path
        if self.media == "application/json":
            parts = []
            for item, info in found:
                record = {
                    "path": item.url,
                    "type": "dir" if item.is_dir else "file",
                    "size": None if item.is_dir or info is None else info.st_size,
                    "modified": _iso(int(info.st_mtime)) if info is not None else None,
                }
                text = json.dumps(record, ensure_ascii=False, separators=(",", ":"))
                parts.append(text if self.first else "," + text)
                self.first = False
            return "".join(parts).encode()
        if self.media == "text/html":
            return "".join(_html_row(prefix, item, info) for item, info in found).encode()
        return "".join(_text_line(item.url) + "\n" for item, _ in found).encode()

    def foot(self, count: int, cut: str) -> bytes:
        if self.media == "application/json":
            return b'],"count":%d,"cut":%s}' % (count, json.dumps(cut or None).encode())
        if self.media == "text/html":
            return _html_foot(count, cut).encode()
        # Every result line starts with "/", so a line that does not is a note.
        return f"search {cut}: more names may match\n".encode() if cut else b""


def _text_line(url: str) -> str:
    return escape_text(url)


def _href(prefix: str, url: str) -> str:
    return prefix + urllib.parse.quote(url, safe="/")


def _html_row(prefix: str, item: Found, info: os.stat_result | None) -> str:
    href = html.escape(_href(prefix, item.url))
    name = html.escape(item.url)
    when = _iso(int(info.st_mtime)) if info is not None else ""
    if item.is_dir or info is None:
        size, data = "—", ""
    else:
        size, data = human_size(info.st_size), f' data-bytes="{info.st_size}"'
    kind = "dir" if item.is_dir else "file"
    kind_type = "dir" if item.is_dir else file_type(item.url.rsplit("/", 1)[-1])
    return (
        f'<tr class="{kind}" data-type="{kind_type}"><td class="name"><a href="{href}">{name}</a>'
        f'</td><td class="size"{data}>{size}</td><td class="modified"><time datetime="{when}">'
        f"{when[:10]} {when[11:16]}{' UTC' if when else ''}</time></td></tr>\n"
    )


def _html_head(request: Request, query: str) -> str:
    prefix = request.root_path
    here = html.escape(request.path)
    value = html.escape(query)
    return (
        '<!doctype html>\n<html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        '<meta name="color-scheme" content="light dark">'
        f"<title>Search {value} in {here}</title>"
        f'<link rel="icon" href="{html.escape(prefix + STATIC_PREFIX)}favicon.svg" '
        'type="image/svg+xml">'
        f'<link rel="stylesheet" href="{html.escape(prefix + STATIC_PREFIX)}listing.css">'
        f'<link rel="stylesheet" href="{html.escape(prefix + STATIC_PREFIX)}folders.css">'
        '</head><body class="search-results">\n<main>'
        f'<h1>Names matching “{value}” in <a href=".">{here}</a></h1>\n'
        '<form class="search" role="search" method="get" action="">'
        f'<input type="search" name="q" value="{value}" '
        'aria-label="Search names below this folder">'
        '<button type="submit">Search</button></form>\n'
        '<table class="listing"><thead><tr><th>Path</th><th>Size</th><th>Modified</th></tr>'
        "</thead><tbody>\n"
    )


def _html_foot(count: int, cut: str) -> str:
    note = f"{count} found" + (f"; search {html.escape(cut)}: more names may match" if cut else "")
    return (
        f'</tbody></table>\n<p class="search-note" role="status">{note}</p></main></body></html>\n'
    )


class SearchBody:
    """The streamed body: head, rows as the walk finds them, foot."""

    def __init__(
        self, search: _Search, renderer: _Renderer, executor: concurrent.futures.Executor
    ) -> None:
        self.search = search
        self.renderer = renderer
        self.executor = executor
        self.started = False
        self.finished = False

    def __aiter__(self) -> SearchBody:
        return self

    async def __anext__(self) -> bytes:
        if not self.started:
            self.started = True
            head = self.renderer.head()
            if head:
                return head
        if self.finished:
            raise StopAsyncIteration
        loop = asyncio.get_running_loop()
        while not self.search.done:
            found = await loop.run_in_executor(self.executor, self.search.step)
            if found:
                return self.renderer.rows(found)
        self.finished = True
        foot = self.renderer.foot(self.search.count, self.search.cut)
        if not foot:
            raise StopAsyncIteration
        return foot

    async def aclose(self) -> None:
        self.finished = True
        self.search.done = True


def search_query(request: Request) -> str | None:
    """The query of ``?q=``; None when empty (the directory is then listed as usual)."""
    values = request.query.get("q")
    if not values or not values[0].strip():
        return None
    query = values[0].strip()
    if len(query) > MAX_QUERY_CHARS:
        raise HTTPError(400, f"a search is at most {MAX_QUERY_CHARS} characters")
    return query


def search_response(
    request: Request,
    cache: TreeCache,
    directory: str,
    query: str,
    readable: Callable[[str], bool],
    limits: SearchLimits,
    executor: concurrent.futures.Executor,
) -> Response:
    """The streamed search results for ``query`` below the real ``directory``."""
    media, negotiated = choose_format(request)
    url_dir = request.path if request.path.endswith("/") else request.path + "/"
    found = walk(cache, directory, url_dir, query, readable)
    search = _Search(found, limits, with_stat=media != "text/plain")
    headers = Headers([("Cache-Control", "no-store")])
    if negotiated:
        headers.add("Vary", "Accept")
    if media == "text/html":
        headers.add("Content-Type", "text/html; charset=utf-8")
        headers.add("Content-Security-Policy", PAGE_CSP)
    elif media == "application/json":
        headers.add("Content-Type", "application/json")
    else:
        headers.add("Content-Type", "text/plain; charset=utf-8")
    return Response(200, headers, SearchBody(search, _Renderer(media, request, query), executor))
