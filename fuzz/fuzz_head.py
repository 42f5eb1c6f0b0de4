#!/usr/bin/env python3
"""Coverage-guided fuzz target: raw client bytes into ``Connection`` (httptools + porch glue).

Input layout: byte 0 is flags (bit 0: the client half-closes after sending; bits 1-3: how many
read boundaries follow, one byte each, scaled over the data); the rest is what the client
sends. Each input runs on a fresh ``Connection`` with the real ``App`` serving a small tree with
symlinks, through a fake transport (tests/fuzzing.py). A crash is any exception escaping the
connection, a response stream that is not valid HTTP/1.1, a connection left hanging, or a
server path in a response. Run: see fuzz/README.md.
"""

from __future__ import annotations

import itertools
import sys
import tempfile
from pathlib import Path

import atheris

HERE = Path(__file__).resolve().parent
sys.path[:0] = [str(HERE.parent / "src"), str(HERE.parent)]

with atheris.instrument_imports(include=["porch"]):
    import porch.app
    import porch.http
    import porch.server.protocol  # noqa: F401

from tests.fuzzing import Harness, make_site  # noqa: E402

ROOT = make_site(Path(tempfile.mkdtemp(prefix="porch-fuzz-")) / "site").resolve()
HARNESS = Harness(
    ROOT,
    header_timeout=0.005,
    body_timeout=0.005,
    keepalive_timeout=0.005,
    max_url_bytes=512,
    max_header_bytes=2048,
    max_headers=20,
)


def decode(data: bytes) -> tuple[list[bytes], bool]:
    """(the reads the client's bytes arrive in, whether it half-closes) from one input."""
    if not data:
        return [], True
    flags, rest = data[0], data[1:]
    cuts_count = (flags >> 1) & 7
    cuts, payload = rest[:cuts_count], rest[cuts_count:]
    points = sorted({c * len(payload) // 256 for c in cuts} | {0, len(payload)})
    pieces = [payload[a:b] for a, b in itertools.pairwise(points) if b > a]
    return pieces, not (flags & 1)


def test_one_input(data: bytes) -> None:
    pieces, half_close = decode(data)
    HARNESS.run(pieces, half_close=half_close).check(ROOT)


def main() -> None:
    atheris.Setup(sys.argv, test_one_input)
    atheris.Fuzz()


if __name__ == "__main__":
    main()
