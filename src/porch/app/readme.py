"""A directory's README, rendered under its HTML listing (text and JSON listings unchanged).

Theory of operation. The first of ``README.md``, ``README``, ``README.txt`` in the directory
is found through ``resolve`` like any read (a README that is a symlink out of ROOT, or hidden,
is not shown) and opened as a regular file. ``README.md`` is rendered with markdown-it-py's
CommonMark preset plus tables and strikethrough, with raw HTML off (``<script>`` comes out as
text) and a link check stricter than the library's: only ``http:``, ``https:``, ``mailto:``
and relative URLs survive as links or images (no ``javascript:``, ``vbscript:``, ``file:``,
and no ``data:`` at all); a refused link stays as its text. The other two are shown as
preformatted text. Everything is escaped by the renderer; the page's CSP (script from porch's
origin only) stands behind it.

Rendering takes about 5 ms per KiB of prose and far more for tables (a 128 KiB README of table
rows takes seconds), so it runs in a worker thread before the listing is built
(``porch.app.folders``), and only for a README not seen before: the result is cached by the
file's identity (``st_dev``, ``st_ino``, ``st_size``, ``st_mtime_ns``), so a new version is
rendered once and an old one is never shown. Finding it (``Readmes.lookup``) is cheap enough
for the event loop. A README over ``Config.max_readme_size`` is not rendered (the page says so
and links to it).
"""

from __future__ import annotations

import html
import os
import re
import stat
import threading
import urllib.parse
from collections import OrderedDict
from pathlib import Path
from typing import Final

from markdown_it import MarkdownIt

from porch.app.files import open_regular
from porch.app.paths import confine, resolve
from porch.http import HTTPError

NAMES: Final = ("README.md", "README", "README.txt")
Key = tuple[int, int, int, int]
"""A README version: (st_dev, st_ino, st_size, st_mtime_ns)."""
CACHE_ENTRIES: Final = 256
_SAFE_SCHEMES: Final = frozenset({"http", "https", "mailto"})
_SCHEME = re.compile(r"^([a-zA-Z][a-zA-Z0-9+.\-]*):")


def safe_link(url: str) -> bool:
    """True for a link the page may carry: relative, or http(s)/mailto.

    Control characters and whitespace are stripped first, as browsers do before reading a
    scheme (``java\\tscript:`` is ``javascript:`` to a browser)."""
    cleaned = re.sub(r"[\x00-\x20\x7f]+", "", urllib.parse.unquote(url))
    match = _SCHEME.match(cleaned)
    return match is None or match.group(1).lower() in _SAFE_SCHEMES


def _markdown() -> MarkdownIt:
    renderer = MarkdownIt("commonmark", {"html": False, "linkify": False})
    renderer.enable(["table", "strikethrough"])
    renderer.validateLink = safe_link  # type: ignore[method-assign]
    return renderer


_MARKDOWN = _markdown()


class Readme:
    """The rendered README of a directory, if any: name, HTML (already safe), and whether
    it was too large to render."""

    __slots__ = ("html", "name", "too_large")

    def __init__(self, name: str, html_text: str, too_large: bool = False) -> None:
        self.name = name
        self.html = html_text
        self.too_large = too_large


def render(name: str, text: str) -> str:
    """Safe HTML for a README's text (module docstring)."""
    if name.lower().endswith(".md"):
        return str(_MARKDOWN.render(text))
    return f"<pre>{html.escape(text)}</pre>"


class Readmes:
    """READMEs by file identity (module docstring)."""

    def __init__(self, root: Path, *, hidden: bool, max_bytes: int) -> None:
        self.root = root
        self.hidden = hidden
        self.max_bytes = max_bytes
        self._cache: OrderedDict[Key, Readme] = OrderedDict()
        self._lock = threading.Lock()

    def find(self, url_dir: str) -> Readme | None:
        """The README of the directory at the decoded URL path ``url_dir``, rendered here
        (a test and tool helper; the app uses ``lookup`` and renders off the loop)."""
        found = self.lookup(url_dir)
        if found is None or isinstance(found, Readme):
            return found
        return self.rendered(*found)

    def lookup(self, url_dir: str) -> Readme | tuple[str, Key, bytes] | None:
        """The README of the directory at the decoded URL path ``url_dir`` when it is cached
        (or too large: nothing to render); ``(name, key, text bytes)`` to pass to ``rendered``
        when it must be rendered; None when there is none. Cheap enough for the event loop:
        one ``resolve`` of the directory, an ``lstat`` per candidate name, and for a README
        not seen before one read of at most ``max_bytes``.
        """
        try:
            directory = str(resolve(self.root, url_dir, hidden=self.hidden))
        except HTTPError:
            return None
        for name in NAMES:
            joined = os.path.join(directory, name)
            try:
                if stat.S_ISLNK(os.lstat(joined).st_mode):
                    joined = str(confine(self.root, joined, hidden=self.hidden))
                fd, info = open_regular(joined)
            except (HTTPError, OSError):
                continue
            try:
                key = (info.st_dev, info.st_ino, info.st_size, info.st_mtime_ns)
                cached = self._cache.get(key)
                if cached is not None and cached.name == name:
                    self._cache.move_to_end(key)
                    return cached
                if info.st_size > self.max_bytes:
                    return self._remember(key, Readme(name, "", too_large=True))
                return name, key, os.pread(fd, self.max_bytes + 1, 0)[: self.max_bytes]
            finally:
                os.close(fd)
        return None

    def rendered(self, name: str, key: Key, data: bytes) -> Readme:
        """Render a README ``lookup`` read (slow for big ones: a worker thread's job)."""
        return self._remember(key, Readme(name, render(name, data.decode("utf-8", "replace"))))

    def _remember(self, key: Key, readme: Readme) -> Readme:
        with self._lock:
            self._cache[key] = readme
            if len(self._cache) > CACHE_ENTRIES:
                self._cache.popitem(last=False)
        return readme
