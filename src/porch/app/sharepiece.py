"""The listing page's Host-dependent piece, kept out of the cached bytes (issue 17).

Theory of operation. The page shows a share URL built from the request's ``Host`` (and the
note saying porch listens on this machine only, when that URL is a loopback one). If those
were part of the cached page, every distinct Host value would make a new cache entry: an
attacker sending 1,000 Host values would make 1,000 copies of a big listing. So the page is
rendered once with markers where those pieces go, split at the markers into ``PagePieces``,
and cached as such; each response joins the pieces with its own share URL (one ``join``,
a memory copy). The markers hold NUL, which no listed name, URL or template text contains.
"""

from __future__ import annotations

import html
from typing import Final

SHARE_MARK: Final = "\x00porch:share\x00"
"""Where the share URL goes (HTML-escaped at fill time)."""
NOTE_START: Final = "\x00porch:note\x00"
NOTE_END: Final = "\x00porch:/note\x00"
"""Around the markup shown only when the share URL is a loopback one."""

_MARKS: Final = tuple(mark.encode() for mark in (SHARE_MARK, NOTE_START, NOTE_END))

PagePieces = tuple[bytes, ...]
"""Literal bytes and marker bytes, in page order."""


def split_page(body: bytes) -> PagePieces:
    """``body`` cut at every marker, the markers kept as pieces of their own."""
    pieces: list[bytes] = []
    rest = body
    while True:
        found = [(rest.find(mark), mark) for mark in _MARKS]
        hits = [(at, mark) for at, mark in found if at != -1]
        if not hits:
            pieces.append(rest)
            return tuple(pieces)
        at, mark = min(hits)
        pieces.append(rest[:at])
        pieces.append(mark)
        rest = rest[at + len(mark) :]


def fill_page(pieces: PagePieces, share: str, local: bool) -> bytes:
    """The page for one request: ``share`` where it goes, the note only when ``local``."""
    share_bytes = html.escape(share).encode()
    share_mark, start, end = _MARKS
    out: list[bytes] = []
    skipping = False
    for piece in pieces:
        if piece == share_mark:
            if not skipping:
                out.append(share_bytes)
        elif piece == start:
            skipping = not local
        elif piece == end:
            skipping = False
        elif not skipping:
            out.append(piece)
    return b"".join(out)


def page_size(pieces: PagePieces) -> int:
    """Bytes the pieces hold (what a cache counts)."""
    return sum(len(piece) for piece in pieces)
