#!/usr/bin/env python3
"""Coverage-guided fuzz target: request-target -> ``parse_target`` -> ``resolve``.

Input layout: byte 0 bit 0 sets ``hidden``; the rest is the request-target as it comes off the
wire (decoded latin-1, as ``Connection`` does). Invariants: only ``HTTPError`` is raised; a
returned path is the root or below it after following every symlink; with ``hidden`` off no
name in it below the root starts with a dot. The tree has symlinks inside, to the parent, to
a sibling whose name shares the root's prefix (``site`` / ``site2``) and into a hidden folder.
"""

from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path

import atheris

HERE = Path(__file__).resolve().parent
sys.path[:0] = [str(HERE.parent / "src"), str(HERE.parent)]

with atheris.instrument_imports(include=["porch"]):
    from porch.app.paths import resolve
    from porch.http import HTTPError, parse_target

from tests.fuzzing import make_path_tree  # noqa: E402

ROOT = make_path_tree(Path(tempfile.mkdtemp(prefix="porch-fuzz-"))).resolve()


def check_target(target: str, hidden: bool) -> None:
    """Raise AssertionError when resolving ``target`` breaks containment."""
    try:
        path, _ = parse_target(target)
        real = resolve(ROOT, path, hidden=hidden)
    except HTTPError:
        return
    text = os.path.realpath(real)
    assert text == str(real), f"{target!r}: resolve returned a path with links left: {real}"
    assert text == str(ROOT) or text.startswith(str(ROOT) + os.sep), f"{target!r} -> {real}"
    if not hidden:
        inside = Path(os.path.relpath(text, ROOT)).parts
        assert not any(p.startswith(".") and p != "." for p in inside), f"{target!r} -> {real}"


def test_one_input(data: bytes) -> None:
    if not data:
        return
    check_target(data[1:].decode("latin-1"), hidden=bool(data[0] & 1))


def main() -> None:
    atheris.Setup(sys.argv, test_one_input)
    atheris.Fuzz()


if __name__ == "__main__":
    main()
