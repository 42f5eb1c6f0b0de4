"""Path containment: the one function between a client's URL and the file system.

A table of traversal vectors (each as ``parse_target`` decodes it, then through ``resolve``),
then a property test over generated paths against a real directory with symlinks.
"""

from __future__ import annotations

import os
import string
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from porch.app.paths import contains, resolve, url_segments
from porch.http import HTTPError, parse_target


@pytest.fixture
def root(tmp_path: Path) -> Path:
    """A root with a sibling that shares its name as a prefix, and symlinks in and out."""
    base = tmp_path.resolve()
    site = base / "site"
    (site / "sub").mkdir(parents=True)
    (site / "sub" / "file.txt").write_text("in")
    (site / "top.txt").write_text("top")
    (site / ".hidden").mkdir()
    (site / ".hidden" / "x.txt").write_text("hidden")
    (site / ".env").write_text("SECRET=1")
    (base / "site-other").mkdir()
    (base / "site-other" / "leak.txt").write_text("outside")
    (base / "outside.txt").write_text("outside")
    (site / "link-in").symlink_to(site / "sub")
    (site / "link-in-rel").symlink_to("sub/file.txt")
    (site / "link-out").symlink_to(base / "outside.txt")
    (site / "link-out-dir").symlink_to(base / "site-other")
    (site / "link-up").symlink_to("..")
    (site / "link-hidden").symlink_to(site / ".env")
    (site / "link-hidden-dir").symlink_to(site / ".hidden")
    (site / "link-root").symlink_to("/")
    return site


def through_the_wire(root: Path, target: str, *, hidden: bool = False) -> Path:
    """What the server does with a request-target: decode it, then resolve it."""
    path, _ = parse_target(target)
    return resolve(root, path, hidden=hidden)


@pytest.mark.parametrize(
    ("target", "expected"),
    [
        ("/", ""),
        ("/top.txt", "top.txt"),
        ("/sub/file.txt", "sub/file.txt"),
        ("//sub//file.txt", "sub/file.txt"),
        ("/sub/", "sub"),
        ("/missing/thing", "missing/thing"),  # may not exist: the caller stats it
        ("/link-in/file.txt", "sub/file.txt"),
        ("/link-in-rel", "sub/file.txt"),
        ("/a..b", "a..b"),  # dots inside a name are fine
        ("/ab:c", "ab:c"),  # a colon after two letters is not a drive prefix
    ],
)
def test_allowed_paths_stay_under_root(root: Path, target: str, expected: str) -> None:
    assert through_the_wire(root, target) == root.joinpath(expected)


@pytest.mark.parametrize(
    ("target", "status"),
    [
        ("/..", 400),
        ("/../outside.txt", 400),
        ("/sub/../../outside.txt", 400),
        ("/sub/..", 400),
        ("/./top.txt", 400),
        ("/%2e%2e/outside.txt", 400),
        ("/%2E%2E/outside.txt", 400),
        ("/.%2e/outside.txt", 400),
        ("/sub/%2e%2e/%2e%2e/outside.txt", 400),
        ("/..%2foutside.txt", 400),
        ("/%2e%2e%2foutside.txt", 400),
        ("/..%5coutside.txt", 400),
        ("/..\\outside.txt", 400),
        ("/sub\\..\\..\\outside.txt", 400),
        ("/%00", 400),
        ("/top.txt%00.html", 400),
        ("/C:/Windows/win.ini", 400),
        ("/c:", 400),
        ("/x:y", 400),  # drive-relative on Windows
        ("/...", 404),  # a hidden name, not a dot-segment
        ("/sub/C:%5cboot.ini", 400),
        ("/%c0%ae%c0%ae/outside.txt", 400),  # overlong UTF-8 dots
        ("http://example.org/top.txt", 400),
        ("/.env", 404),
        ("/.hidden/x.txt", 404),
        ("/sub/.git/config", 404),
        ("/link-out", 404),
        ("/link-out-dir/leak.txt", 404),
        ("/link-up/outside.txt", 404),
        ("/link-up/site-other/leak.txt", 404),
        ("/link-root/etc/passwd", 404),
        ("/link-hidden", 404),
        ("/link-hidden-dir/x.txt", 404),
    ],
)
def test_traversal_vectors_are_refused(root: Path, target: str, status: int) -> None:
    with pytest.raises(HTTPError) as caught:
        through_the_wire(root, target)
    assert caught.value.status == status
    assert str(root) not in caught.value.detail


def test_hidden_names_are_served_only_with_hidden(root: Path) -> None:
    assert through_the_wire(root, "/.env", hidden=True) == root / ".env"
    assert through_the_wire(root, "/link-hidden", hidden=True) == root / ".env"
    assert through_the_wire(root, "/link-hidden-dir/x.txt", hidden=True) == (
        root / ".hidden" / "x.txt"
    )
    # --hidden never unlocks the way out
    with pytest.raises(HTTPError):
        through_the_wire(root, "/link-out", hidden=True)
    with pytest.raises(HTTPError):
        through_the_wire(root, "/..", hidden=True)


def test_url_segments_drop_empty_segments() -> None:
    assert url_segments("//a///b/", hidden=False) == ["a", "b"]
    assert url_segments("/", hidden=False) == []
    with pytest.raises(HTTPError):
        url_segments("relative", hidden=False)


def test_contains_is_not_a_string_prefix() -> None:
    assert contains("/srv/data", "/srv/data")
    assert contains("/srv/data", "/srv/data/x")
    assert not contains("/srv/data", "/srv/database")
    assert not contains("/srv/data", "/srv")


_SEGMENT_ALPHABET = string.ascii_letters + string.digits + "._-~%:\\ éü/"
_SEGMENTS = st.one_of(
    st.sampled_from(
        [
            "..",
            ".",
            "%2e%2e",
            "%2E.",
            "%2f",
            "%5c",
            "%00",
            "..%2f",
            "link-up",
            "link-out",
            "link-out-dir",
            "link-root",
            "link-in",
            "sub",
            ".hidden",
            "C:",
            "\\",
            "",
            "etc",
            "site-other",
        ]
    ),
    st.text(alphabet=_SEGMENT_ALPHABET, max_size=8),
)


@settings(
    max_examples=400, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(segments=st.lists(_SEGMENTS, max_size=8), hidden=st.booleans())
def test_no_url_path_resolves_outside_root(root: Path, segments: list[str], hidden: bool) -> None:
    target = "/" + "/".join(segments)
    try:
        real = through_the_wire(root, target, hidden=hidden)
    except HTTPError as error:
        status = error.status
    else:
        status = 200
    if status != 200:
        assert 400 <= status < 500
        return
    assert os.path.commonpath([root, real]) == str(root)
    assert real == Path(os.path.realpath(real))
    if not hidden:
        assert not any(part.startswith(".") for part in real.relative_to(root).parts)
