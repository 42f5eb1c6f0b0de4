"""Property test: no request-target resolves outside the root (real files and symlinks).

``parse_target`` then ``resolve`` is the route every URL takes to the file system. For any
target they either raise ``HTTPError`` or return the root or a path below it after following
every symlink, and with hidden names off, no name in it below the root starts with a dot. The
tree (tests/fuzzing.py ``make_path_tree``) has links inside, to the parent, to ``/``, to a
sibling ``site2`` that a string-prefix check would admit, and into a hidden folder.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from porch.app.paths import resolve
from porch.http import HTTPError, parse_target
from tests.fuzzing import make_path_tree, targets

_NAMES = ["a", "b", "in", "up", "out", "sib", "sib-file", "abs", "to-hidden", "hid", "loop"]
_PIECES = ["..", ".", "%2e%2e", "%2E.", ".%2e", "%2f", "%5c", "\\", "%00", "", ".hidden", "site2"]


@pytest.fixture(scope="module")
def root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_path_tree(tmp_path_factory.mktemp("paths")).resolve()


def assert_contained(root: Path, target: str, hidden: bool) -> None:
    try:
        path, _ = parse_target(target)
        real = resolve(root, path, hidden=hidden)
    except HTTPError:
        return
    text = os.path.realpath(real)
    assert text == str(real), f"{target!r} resolved to a path that still has links: {real}"
    assert text == str(root) or text.startswith(str(root) + os.sep), f"{target!r} -> {real}"
    if not hidden:
        inside = Path(os.path.relpath(text, root)).parts
        assert not any(p.startswith(".") and p != "." for p in inside), f"{target!r} -> {real}"


segments = st.lists(st.sampled_from(_NAMES + _PIECES) | st.text(max_size=4), max_size=6)


@settings(max_examples=1500, deadline=None)
@given(parts=segments, hidden=st.booleans())
def test_segment_walks_stay_inside(root: Path, parts: list[str], hidden: bool) -> None:
    assert_contained(root, "/" + "/".join(parts), hidden)


@settings(max_examples=1000, deadline=None)
@given(target=targets(), hidden=st.booleans())
def test_wire_targets_stay_inside(root: Path, target: bytes, hidden: bool) -> None:
    assert_contained(root, target.decode("latin-1"), hidden)


@pytest.mark.parametrize(
    ("target", "hidden", "expected"),
    [
        ("/in", False, "a/file.txt"),
        ("/a/b/up/in", False, "a/file.txt"),
        ("/a/b/up/", False, ""),
        ("/a/b/out/site2/secret.txt", False, 404),
        ("/sib/secret.txt", False, 404),
        ("/sib-file", False, 404),
        ("/abs/etc/passwd", False, 404),
        ("/to-hidden", False, 404),
        ("/to-hidden", True, ".hidden/in"),
        ("/a/hid/in", False, 404),
        ("/a/%2e%2e/in", False, 400),
        ("/a%2f..%2fin", False, 400),
        ("/a/..\\in", False, 400),
    ],
)
def test_symlink_table(root: Path, target: str, hidden: bool, expected: str | int) -> None:
    """The invariant above holds because of these outcomes; each can fail on its own."""
    if isinstance(expected, int):
        with pytest.raises(HTTPError) as caught:
            resolve(root, parse_target(target)[0], hidden=hidden)
        assert caught.value.status == expected
    else:
        assert resolve(root, parse_target(target)[0], hidden=hidden) == root / expected
