"""Content codings: Accept-Encoding negotiation (RFC 9110 §12.5.3) and what is worth compressing.

Pure: the app decides which bytes to send, these functions only decide which coding.
"""

from __future__ import annotations

from collections.abc import Sequence

from porch.http.negotiation import parse_qvalues

COMPRESSIBLE_APPLICATION = frozenset(
    {
        "application/json",
        "application/javascript",
        "application/xml",
        "application/xhtml+xml",
        "application/toml",
        "application/yaml",
        "application/wasm",
        "application/x-ndjson",
        "image/svg+xml",
    }
)


def parse_accept_encoding(value: str) -> dict[str, float]:
    """Accept-Encoding as coding (lower-case) -> q; malformed q counts as 0 (not acceptable)."""
    return dict(parse_qvalues(value))


def choose_encoding(accept_encoding: str | None, offers: Sequence[str]) -> str | None:
    """The content coding to send among ``offers`` (in the server's preference), or None.

    None means identity. No Accept-Encoding gets identity: RFC 9110 lets a server pick any
    coding then, but old clients that send nothing may not decode, and every server people
    use (nginx, Apache) sends identity. A coding is acceptable with q > 0, either named or
    through ``*``; among acceptable offers the highest q wins, ties going to the earlier offer.
    ``identity;q=0`` is not honoured by refusing (porch always has identity to fall back on,
    and a 415 there helps nobody).
    """
    if not accept_encoding or not offers:
        return None
    qualities = parse_accept_encoding(accept_encoding)
    star = qualities.get("*", 0.0)
    best: str | None = None
    best_q = 0.0
    for offer in offers:
        q = qualities.get(offer, star)
        if offer == "gzip" and "gzip" not in qualities and "x-gzip" in qualities:
            q = qualities["x-gzip"]
        if q > best_q:
            best, best_q = offer, q
    return best


def is_compressible(content_type: str) -> bool:
    """True for types that shrink under gzip: text and structured text (JSON, XML, SVG, ...).

    Everything else — images, audio, video, archives, fonts like woff2 — is already
    compressed or binary, and gzip would only spend CPU to make it a little larger.
    """
    media = content_type.split(";", 1)[0].strip().lower()
    return media.startswith("text/") or media in COMPRESSIBLE_APPLICATION
