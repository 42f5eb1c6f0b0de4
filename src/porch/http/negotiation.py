"""Content negotiation on ``Accept`` (RFC 9110 §12.5.1)."""

from __future__ import annotations

from collections.abc import Sequence


def parse_qvalues(value: str) -> list[tuple[str, float]]:
    """A comma-separated list with q weights (``Accept``, ``Accept-Encoding``) as
    (lower-cased token, q) pairs; empty members are skipped, and a malformed q counts as 0
    (not acceptable), q being clamped to 0..1."""
    result: list[tuple[str, float]] = []
    for member in value.split(","):
        parts = [p.strip() for p in member.split(";")]
        token = parts[0].lower()
        if not token:
            continue
        q = 1.0
        for param in parts[1:]:
            name, _, raw = param.partition("=")
            if name.strip().lower() == "q":
                try:
                    q = min(max(float(raw.strip()), 0.0), 1.0)
                except ValueError:
                    q = 0.0
        result.append((token, q))
    return result


def parse_accept(value: str) -> list[tuple[str, float]]:
    """``Accept`` as (media-range lower-cased, q) pairs; members without a ``/`` are skipped."""
    return [(media, q) for media, q in parse_qvalues(value) if "/" in media]


def _quality(media_type: str, ranges: list[tuple[str, float]]) -> tuple[float, int]:
    """The q of the most specific range matching ``media_type`` and how specific it is."""
    kind = media_type.split("/")[0]
    best: tuple[float, int] = (-1.0, -1)
    for media_range, q in ranges:
        if media_range == media_type:
            specificity = 2
        elif media_range == f"{kind}/*":
            specificity = 1
        elif media_range == "*/*":
            specificity = 0
        else:
            continue
        if specificity > best[1]:
            best = (q, specificity)
    return best


def negotiate(accept: str | None, offers: Sequence[str]) -> str | None:
    """The offer the client prefers, or None when it accepts none of them.

    No ``Accept`` header means anything goes: the first offer wins. Ties in q go to the
    earlier offer, so the server's order of preference breaks them (a browser's
    ``text/html,...,*/*;q=0.8`` picks HTML even when text/plain is offered first).
    """
    if not offers:
        return None
    if accept is None or not accept.strip():
        return offers[0]
    ranges = parse_accept(accept)
    best: str | None = None
    best_q = 0.0
    for offer in offers:
        q, _ = _quality(offer, ranges)
        if q > best_q:
            best, best_q = offer, q
    return best
