"""Uploaded content is inert by default (issue 17, docs/security.md).

Theory of operation. A file a client uploaded is served from porch's own origin, so an
uploaded ``.html`` or ``.svg`` would run its script with the reader's access: it could read
whatever that reader may read and send it elsewhere. So every file served from a *writable
place* carries ``Content-Security-Policy: sandbox`` (an opaque origin, no script, no forms,
no plugins), and active types (HTML, SVG, XML, XHTML) also ``default-src 'none'`` (nothing
loaded at all). ``--trust-uploaded-html`` turns this off on purpose.

A writable place is where porch's write paths put files: today the upload directory (when
porch serves it under ROOT; the URL a write grant is checked against is where the file lands,
porch.app.app). A grant elsewhere does not make a place writable, since nothing writes there
(WebDAV adds its own places with ``WritablePlaces.add``). In writable places precompressed
siblings (``NAME.gz``, ``NAME.br``) are never used as another coding of ``NAME`` — an uploaded
``report.txt.gz`` would otherwise replace what ``curl --compressed`` gets for an existing
``report.txt`` — and uploads named ``index.html`` are refused (it would replace the listing).
"""

from __future__ import annotations

from typing import Final

from porch.http import HTTPError

SANDBOX_CSP: Final = "sandbox"
ACTIVE_CSP: Final = "sandbox; default-src 'none'"
ACTIVE_TYPES: Final = frozenset(
    {"text/html", "image/svg+xml", "application/xml", "text/xml", "application/xhtml+xml"}
)
"""Media types a browser runs script in (or renders with active content)."""

INDEX_NAMES: Final = frozenset({"index.html"})


class WritablePlaces:
    """URL prefixes (decoded, ending in ``/``) where clients can put files."""

    def __init__(self, prefixes: list[str] | None = None, *, trusted: bool = False) -> None:
        self.prefixes: list[str] = []
        self.trusted = trusted
        for prefix in prefixes or []:
            self.add(prefix)

    def add(self, prefix: str) -> None:
        """Count everything under the URL ``prefix`` as writable."""
        self.prefixes.append(prefix if prefix.endswith("/") else prefix + "/")

    def covers(self, url_path: str) -> bool:
        """True when ``url_path`` (decoded) lies in a writable place."""
        return any(url_path.startswith(prefix) for prefix in self.prefixes)

    def policy(self, url_path: str, content_type: str) -> str | None:
        """The CSP a file at ``url_path`` of ``content_type`` is served with, or None."""
        if self.trusted or not self.covers(url_path):
            return None
        media = content_type.split(";", 1)[0].strip().lower()
        return ACTIVE_CSP if media in ACTIVE_TYPES else SANDBOX_CSP


def check_served_upload_name(name: str) -> None:
    """Refuse (400) an upload name that would change how its served folder behaves."""
    if name.lower() in INDEX_NAMES:
        raise HTTPError(
            400, "an upload cannot be named index.html: it would replace the folder's listing"
        )
