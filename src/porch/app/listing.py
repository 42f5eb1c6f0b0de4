"""Directory listings: read a directory once, sort it, render it as text, HTML or JSON.

Theory of operation. ``read_entries`` walks the directory with one ``os.scandir`` pass (the
kernel's d_type saves a stat for the link check; one ``stat`` per entry gives size and mtime)
and keeps exactly the entries a request could fetch: ``porch.app.paths.listable`` applies the
same rules as ``resolve`` (hidden names, names a URL cannot carry, symlinks out of the root).
``sort_entries`` orders them (directories first, like nginx and miniserve), and one renderer
per format escapes every name for that format: control characters as ``\\xNN`` in text, HTML
escaping plus percent-encoded links in HTML (Jinja2 autoescape), JSON string escaping in JSON.
The format is negotiated on Accept (text/plain first, so ``*/*`` and no Accept get text, which
is what curl sees), or forced with ``?format=text|html|json``.
"""

from __future__ import annotations

import functools
import html
import json
import os
import stat
import time
import urllib.parse
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import NamedTuple

import markupsafe

from porch.app.invisible import is_invisible, show_invisible
from porch.app.listingcache import LISTINGS, TTL_SECONDS
from porch.app.offload import offload
from porch.app.pages import ENVIRONMENT
from porch.app.paths import listable, url_segments
from porch.app.qr import QR_PATH, share_url, split_host
from porch.app.security import PAGE_CSP
from porch.app.sharepiece import (
    NOTE_END,
    NOTE_START,
    SHARE_MARK,
    PagePieces,
    fill_page,
    page_size,
    split_page,
)
from porch.app.usertemplates import served_name
from porch.app.visitor import Visitor
from porch.http import Headers, HTTPError, Request, Response, Source, negotiate
from porch.share import is_loopback_host

FORMATS = {"text": "text/plain", "html": "text/html", "json": "application/json"}
OFFERS = ("text/plain", "text/html", "application/json")
SORT_KEYS = ("name", "size", "modified")
ORDERS = ("asc", "desc")
FIRST_ROWS = 150
"""Rows of a listing page rendered at once; more wait in a <noscript> (see render_html)."""
MODULES = tuple(
    sorted(
        name
        for name in os.listdir(Path(__file__).parent / "static")
        # Vendored scripts (tus.min.js) are not modules: loaded when needed, never preloaded.
        if name.endswith(".js") and name != "listing.js" and not name.endswith(".min.js")
    )
)
"""The page's ES modules besides listing.js: preloaded in parallel (``modulepreload``) instead
of discovered one import at a time (issue 19: a listing that opens fast)."""
FILL_ON_LOOP_BYTES = 1024 * 1024
"""Cached pages up to this size get their share URL joined in on the loop (a memory copy of
under a millisecond); larger ones in a worker thread."""
STATIC_PREFIX = "/-/static/"
"""URL prefix reserved for porch's own assets (the listing's stylesheet); see docs/reading.md."""


@dataclass(frozen=True, slots=True)
class UploadForm:
    """How a listing page offers uploads: ``show`` the form on this page; ``listed_at``, the
    URL of the upload directory's listing when porch serves it (else None: uploads are saved
    out of sight); ``max_size``, the upload limit in bytes, if any. Issue 19: ``post_url``,
    the directory URL the script sends files to (``post_url + NAME``); ``replace``, whether
    this visitor may replace a file (else a name conflict offers only "keep both"); ``locked``,
    the form would be here but this visitor may not write (the page offers to sign in)."""

    show: bool
    listed_at: str | None
    max_size: int | None
    post_url: str = "/"
    replace: bool = True
    locked: bool = False


@dataclass(frozen=True, slots=True)
class FileRights:
    """What the page offers on the folder it lists (issue 13, docs/webapp.md "Managing
    files"): ``access``, the visitor's level for writing here in the served tree (``none``,
    ``read``, ``add``: create only, ``write``: also rename, move, delete), and ``trash``,
    whether deletions go to a trash the page can undo from. Only what controls the page shows:
    the server judges every request itself."""

    access: str = "read"
    trash: bool = False


READ_ONLY = FileRights()


@dataclass(frozen=True, slots=True)
class FolderPage:
    """What the folder features add to a listing page (issue 15, docs/folders.md): a
    ``readme`` (name, safe HTML, or ``readme_too_large``), and whether the page offers
    archives and thumbnails (its search box, zip link and gallery)."""

    archives: bool = True
    thumbnails: bool = True
    readme_name: str = ""
    readme_html: str = ""
    readme_too_large: bool = False


class Entry(NamedTuple):
    """One listed name: directory or regular file, its size in bytes (0 for a directory) and
    modification time (POSIX seconds). A tuple, not a class: the garbage collector stops
    tracking tuples of plain values, so the 50,000 entries of a big folder being rendered in a
    worker thread do not make it scan them all, holding the GIL from the loop (issue 17)."""

    name: str
    is_dir: bool
    size: int
    modified: float


def read_entries(root: Path, directory: str, *, hidden: bool) -> list[Entry]:
    """The entries of the real directory ``directory`` (resolved, under ``root``) that a
    client may fetch, in directory order.

    Broken symlinks, entries that vanish mid-listing and anything neither a directory nor a
    regular file (FIFOs, sockets, devices: porch refuses to serve them) are left out. A
    template ``NAME.j2`` is listed as ``NAME``, the URL that renders it, and replaces a plain
    file ``NAME`` beside it, since the template is what that URL serves (its size is the
    template source's). Raises ``HTTPError(403)`` when the directory cannot be read.
    """
    entries: list[Entry] = []
    templates: dict[str, Entry] = {}
    try:
        with os.scandir(directory) as iterator:
            for item in iterator:
                try:
                    if not listable(
                        root, directory, item.name, hidden=hidden, is_link=item.is_symlink()
                    ):
                        continue
                    info = item.stat()
                except OSError:
                    continue
                if stat.S_ISDIR(info.st_mode):
                    entries.append(Entry(item.name, True, 0, info.st_mtime))
                elif stat.S_ISREG(info.st_mode):
                    served = served_name(item.name)
                    entry = Entry(served, False, info.st_size, info.st_mtime)
                    if served != item.name:
                        templates[served] = entry
                    else:
                        entries.append(entry)
    except PermissionError:
        raise HTTPError(403, "this directory cannot be listed") from None
    except (FileNotFoundError, NotADirectoryError):
        raise HTTPError(404, "not found") from None
    if templates:
        entries = [e for e in entries if e.is_dir or e.name not in templates]
        entries.extend(templates.values())
    return entries


def sort_entries(entries: list[Entry], key: str = "name", order: str = "asc") -> list[Entry]:
    """``entries`` sorted by ``key`` (name, size or modified) in ``order``; directories first.

    Names compare case-insensitively, then exactly, so the order is total and stable; size and
    time ties fall back to the name.
    """
    keys: dict[str, Callable[[Entry], tuple[object, ...]]] = {
        "name": lambda e: (e.name.casefold(), e.name),
        "size": lambda e: (e.size, e.name.casefold(), e.name),
        "modified": lambda e: (e.modified, e.name.casefold(), e.name),
    }
    ordered = sorted(entries, key=keys[key], reverse=order == "desc")
    return [e for e in ordered if e.is_dir] + [e for e in ordered if not e.is_dir]


def escape_text(name: str) -> str:
    """A name for the one-name-per-line text format: control characters (C0, DEL, C1, and the
    Unicode line and paragraph separators) become ``\\xNN`` / ``\\uNNNN``, as do bidi and
    zero-width controls (porch.app.invisible), so a name can never
    break a line or smuggle terminal escapes. Backslashes need no escaping: porch never lists
    a name containing one (no URL could fetch it)."""
    if name.isprintable():  # the common case, checked in C; no character below needs escaping
        return name
    out: list[str] = []
    for char in name:
        code = ord(char)
        if code < 0x20 or 0x7F <= code <= 0x9F:
            out.append(f"\\x{code:02x}")
        elif code in (0x2028, 0x2029):
            out.append(f"\\u{code:04x}")
        elif is_invisible(char):
            out.append(show_invisible(char))
        else:
            out.append(char)
    return "".join(out)


def human_size(size: int) -> str:
    """``532 B``, ``1.4 KiB``, ``23 MiB``: one decimal below 10, binary units."""
    if size < 1024:
        return f"{size} B"
    value = float(size)
    for unit in ("KiB", "MiB", "GiB", "TiB", "PiB"):
        value /= 1024
        if value < 1024 or unit == "PiB":
            return f"{value:.1f} {unit}" if value < 10 else f"{value:.0f} {unit}"
    raise AssertionError("unreachable")  # pragma: no cover


@functools.lru_cache(maxsize=4096)
def _iso(seconds: int) -> str:
    # Cached: the entries of one directory often share mtimes (a checkout, an unpacked archive).
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(seconds))


_ROW = (
    '<tr class="{kind}" data-type="{type}"><td class="name"><a href="{href}">{name}</a></td>'
    '<td class="size"{bytes}>{size}</td>'
    '<td class="modified"><time datetime="{iso}">{when}</time></td>'
    '<td class="actions">{actions}</td></tr>\n'
)
_DOWNLOAD = '<a class="download" href="{href}?download" aria-label="Download {name}"></a>'

FILE_TYPES: dict[str, str] = {
    extension: kind
    for kind, extensions in (
        ("image", "png jpg jpeg gif webp avif svg bmp ico apng"),
        ("audio", "mp3 ogg oga opus wav flac m4a aac weba"),
        ("video", "mp4 webm m4v ogv mov mkv avi"),
        ("archive", "zip tar gz tgz bz2 xz zst 7z rar iso deb rpm whl"),
        ("pdf", "pdf"),
        (
            "code",
            "py js mjs ts tsx jsx c h cc cpp hpp rs go java kt rb php pl sh bash zsh fish lua"
            " swift cs sql html htm css scss xml json toml yaml yml ini cfg conf j2 mk cmake"
            " dockerfile makefile",
        ),
        ("text", "txt md markdown rst log csv tsv tex org adoc srt vtt"),
    )
    for extension in extensions.split()
}
"""File type by extension, for the page's icons and previews (docs/webapp.md). Not
Content-Type: an icon guessed wrong costs nothing, and the page decides previews from it."""


def file_type(name: str) -> str:
    """``image``, ``audio``, ``video``, ``archive``, ``pdf``, ``code``, ``text`` or ``file``."""
    base = name.lower()
    extension = base.rpartition(".")[2] if "." in base else base
    return FILE_TYPES.get(extension, "file")


def _rows_html(entries: list[Entry]) -> str:
    """The table rows, formatted directly: a Jinja2 loop costs ~20 µs a row, too slow for
    100,000 entries. Every name goes through ``html.escape`` (quotes included) and every
    link through ``urllib.parse.quote`` with no safe characters."""
    parts: list[str] = []
    for e in entries:
        iso = _iso(int(e.modified))
        href = urllib.parse.quote(e.name, safe="")
        if e.is_dir:
            row = _ROW.format(
                kind="dir",
                type="dir",
                href=href + "/",
                name=html.escape(show_invisible(e.name) + "/"),
                bytes="",
                size="—",
                iso=iso,
                when=iso[:10] + " " + iso[11:16] + " UTC",
                actions="",
            )
        else:
            name = html.escape(show_invisible(e.name))
            row = _ROW.format(
                kind="file",
                type=file_type(e.name),
                href=href,
                name=name,
                bytes=f' data-bytes="{e.size}" title="{e.size:,} bytes"',
                size=human_size(e.size),
                iso=iso,
                when=iso[:10] + " " + iso[11:16] + " UTC",
                actions=_DOWNLOAD.format(href=href, name=name),
            )
        parts.append(row)
    return "".join(parts)


def _choice(request: Request, name: str, allowed: tuple[str, ...], default: str) -> str:
    values = request.query.get(name)
    if not values:
        return default
    value = values[0]
    if value not in allowed:
        raise HTTPError(400, f"?{name} must be one of: {', '.join(allowed)}")
    return value


def choose_format(request: Request) -> tuple[str, bool]:
    """The listing's media type and whether it was negotiated (so ``Vary: Accept`` applies).

    ``?format=`` wins; otherwise Accept, with text/plain the default and the fallback when the
    client accepts none of the three (a listing is better than a 406 for a directory URL).
    """
    forced = _choice(request, "format", tuple(FORMATS), "")
    if forced:
        return FORMATS[forced], False
    return negotiate(request.headers.get("accept"), OFFERS) or "text/plain", True


def render_text(entries: list[Entry]) -> str:
    """The chapter's format: one name per line, directories with a trailing ``/``."""
    return "".join(escape_text(e.name) + ("/\n" if e.is_dir else "\n") for e in entries)


def render_json(entries: list[Entry]) -> str:
    """``[{"name", "type": "file"|"dir", "size", "modified"}]``; a directory's size is null
    (its st_size is a file-system detail, not a size anyone wants) and ``modified`` is
    ISO 8601 UTC."""
    data = [
        {
            "name": e.name,
            "type": "dir" if e.is_dir else "file",
            "size": None if e.is_dir else e.size,
            "modified": _iso(int(e.modified)),
        }
        for e in entries
    ]
    text = json.dumps(data, ensure_ascii=False, separators=(",", ":"))
    if text.isprintable():
        return text
    # Same JSON value, but bidi and zero-width controls written as \\u escapes.
    return "".join(show_invisible(char) if is_invisible(char) else char for char in text)


def render_html(
    url_path: str,
    entries: list[Entry],
    key: str,
    order: str,
    *,
    hidden: bool,
    upload: UploadForm | None = None,
    share: str = SHARE_MARK,
    prefix: str = "",
    rights: FileRights = READ_ONLY,
    visitor: Visitor | None = None,
    root_name: str = "",
    folder: FolderPage | None = None,
) -> str:
    """The browser page: breadcrumbs, parent link, a table sortable by query links, the
    upload form per ``upload``, and ``share``, the URL its QR code encodes (by default the
    marker ``fill_page`` replaces: porch.app.sharepiece). The script
    (``listing.js``) adds filter, keyboard, previews and upload progress on top; the page
    works without it (docs/webapp.md). ``prefix`` is the mount point under ASGI
    (``Request.root_path``): every absolute link on the page starts with it. ``rights``
    says which file operations the page offers (<body data-access data-trash>)."""
    names = url_segments(url_path, hidden=hidden)
    crumbs = [(root_name or "root", prefix + "/")]
    href = prefix + "/"
    for name in names:
        href += urllib.parse.quote(name, safe="") + "/"
        crumbs.append((show_invisible(name), href))
    columns = []
    for column, label in (("name", "Name"), ("size", "Size"), ("modified", "Modified")):
        active = column == key
        next_order = "desc" if active and order == "asc" else "asc"
        columns.append(
            {
                "label": label,
                "key": column,
                "href": f"?sort={column}&order={next_order}",
                "arrow": ("▲" if order == "asc" else "▼") if active else "",
                "sort": ("ascending" if order == "asc" else "descending") if active else "none",
            }
        )
    template = ENVIRONMENT.get_template("listing.html")
    return template.render(
        # Issue 19: the folder's own name, as a tab or bookmark would show it (controls
        # shown visibly, issue 17).
        title=show_invisible(names[-1]) if names else (show_invisible(root_name) or "/"),
        crumbs=crumbs,
        parent="../" if names else None,
        # Issue 19: the first FIRST_ROWS rows in the table; the rest in a <noscript>, which a
        # browser with scripting parses as plain text (cheap), so a big folder is interactive
        # at once and morerows.js adds them in pieces; without scripting they render as a
        # second table, and DOMParser (no scripting) reads them as rows (rows.js refresh).
        rows=markupsafe.Markup(_rows_html(entries[:FIRST_ROWS])),  # noqa: S704 (escaped there)
        more_rows=markupsafe.Markup(_rows_html(entries[FIRST_ROWS:])),  # noqa: S704
        columns=columns,
        stylesheet=prefix + STATIC_PREFIX + "listing.css",
        script=prefix + STATIC_PREFIX + "listing.js",
        modules=[prefix + STATIC_PREFIX + name for name in MODULES],
        favicon=prefix + STATIC_PREFIX + "favicon.svg",
        count=len(entries),
        files=sum(not e.is_dir for e in entries),
        upload=upload,
        upload_limit=None
        if upload is None or upload.max_size is None
        else human_size(upload.max_size),
        share=share,
        note_start=markupsafe.Markup(NOTE_START),  # noqa: S704 (constant)
        note_end=markupsafe.Markup(NOTE_END),  # noqa: S704 (constant)
        prefix=prefix,
        rights=rights,
        visitor=visitor or Visitor(),
        qr=prefix + QR_PATH + "?path=" + urllib.parse.quote(href, safe="/"),
        folder=folder,
        readme=markupsafe.Markup(folder.readme_html) if folder else "",  # noqa: S704 (porch.app.readme)
    )


async def listing_response(
    request: Request,
    root: Path,
    directory: str,
    *,
    hidden: bool,
    upload: UploadForm | None = None,
    bind_host: str = "127.0.0.1",
    rights: FileRights = READ_ONLY,
    visitor: Visitor | None = None,
    folder: FolderPage | None = None,
) -> Response:
    """The listing of ``directory`` (real, under ``root``) for ``request`` in its format;
    the HTML page offers uploads per ``upload``, file operations per ``rights`` and a QR code
    for porch bound to ``bind_host``.

    Raises ``HTTPError(400)`` for an unknown ``format``, ``sort`` or ``order`` value. A listing
    not in the cache is read and rendered in a worker thread (porch.app.offload): 50,000
    entries take over a second, which the event loop must not spend (issue 17).
    """
    media, negotiated = choose_format(request)
    key = _choice(request, "sort", SORT_KEYS, "name")
    order = _choice(request, "order", ORDERS, "asc")
    headers = Headers()
    share = ""
    if negotiated:
        headers.add("Vary", "Accept")
    if media == "text/html":
        names = url_segments(request.path, hidden=hidden)
        path = "/" + "".join(urllib.parse.quote(name, safe="") + "/" for name in names)
        share = share_url(request, bind_host, request.root_path + path)
        headers.add("Content-Type", "text/html; charset=utf-8")
        headers.add("Content-Security-Policy", PAGE_CSP)  # porch's own page (docs/security.md)
    elif media == "application/json":
        headers.add("Content-Type", "application/json")
    else:
        headers.add("Content-Type", "text/plain; charset=utf-8")
    # A rendered listing is reused only while the directory is unchanged (listingcache), and
    # only for requests that render the same page: everything the page shows is in the key,
    # except the share URL from Host, which is filled in per request (porch.app.sharepiece).
    variant = (
        str(root),
        hidden,
        media,
        key,
        order,
        request.path,
        request.root_path,
        upload,
        rights if media == "text/html" else None,
        visitor,
        folder if media == "text/html" else None,
    )
    # Taken before the directory is read: a change while it is read moves its times past
    # this, so a replayed listing is never older than what this answer shows.
    try:
        before: os.stat_result | None = os.lstat(directory)
    except OSError:
        before = None
    found = LISTINGS.lookup(directory, variant)
    if found is not None:
        pieces, expires = found
    else:
        expires = time.monotonic() + TTL_SECONDS
        pieces = await offload(
            _render_pieces,
            request,
            root,
            directory,
            hidden,
            upload,
            media,
            key,
            order,
            variant,
            PageParts(rights, visitor, root.name, folder),
        )
    if media == "text/html":
        local = is_loopback_host(split_host(urllib.parse.urlsplit(share).netloc)[0])
        body = (
            fill_page(pieces, share, local=local)
            if page_size(pieces) <= FILL_ON_LOOP_BYTES
            else await offload(fill_page, pieces, share, local)
        )
    else:
        body = pieces[0]
    response = Response(200, headers, body)
    if before is not None and stat.S_ISDIR(before.st_mode):
        # The listing depends on the directory, and until ``expires`` on nothing else the
        # request does not name (porch.server.replay; its key holds Accept, Host, the proxy
        # fields; requests with credentials are never replayed).
        # Watched by its URL's path too, so a symlink on the way re-pointed is seen.
        joined = os.path.join(root, *request.path.split("/")[1:])
        response.source = Source(directory, before, joined, expires)
    return response


@dataclass(frozen=True, slots=True)
class PageParts:
    """What an HTML listing shows besides its entries: the visitor's file rights (issue 13),
    who they are (issue 19), the served folder's name, and the folder features (issue 15)."""

    rights: FileRights
    visitor: Visitor | None
    root_name: str
    folder: FolderPage | None


def _render_pieces(
    request: Request,
    root: Path,
    directory: str,
    hidden: bool,
    upload: UploadForm | None,
    media: str,
    key: str,
    order: str,
    variant: tuple[object, ...],
    parts: PageParts,
) -> PagePieces:
    """Read, sort and render the listing and remember it (runs in a worker thread).

    When many clients ask for one big listing at once, each request queues a render; the
    first one caches it and the others find it here instead of rendering again."""
    cached = LISTINGS.get(directory, variant)
    if cached is not None:
        return cached
    started = time.monotonic()
    signature = LISTINGS.signature(directory)
    entries = sort_entries(read_entries(root, directory, hidden=hidden), key, order)
    if media == "text/html":
        text = render_html(
            request.path, entries, key, order, hidden=hidden, upload=upload,
            prefix=request.root_path, rights=parts.rights, visitor=parts.visitor,
            root_name=parts.root_name, folder=parts.folder,
        )  # fmt: skip
    elif media == "application/json":
        text = render_json(entries)
    else:
        text = render_text(entries)
    pieces = split_page(text.encode("utf-8")) if media == "text/html" else (text.encode(),)
    LISTINGS.put(directory, signature, variant, pieces, time.monotonic() - started)
    return pieces
