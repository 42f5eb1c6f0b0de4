"""The hot path's caches never change an answer (issue 6): the open-file cache, the
template-candidate cache, the validator cache. Real files (tmp_path): the open-file cache's
guarantee rests on inode numbers, which only a real file system has."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from porch.app import App
from porch.config import Config
from porch.testing import Client


@pytest.fixture
def root(tmp_path: Path) -> Path:
    served = tmp_path / "root"
    served.mkdir()
    (served / "sub").mkdir()
    (served / "sub" / "a.txt").write_text("inside\n")
    (tmp_path / "secret.txt").write_text("outside\n")
    return served.resolve()


def make_client(root: Path, *, hidden: bool = False) -> Client:
    return Client(App(Config(root=root, hidden=hidden)))


def test_a_second_request_is_served_from_the_cache(root: Path) -> None:
    client = make_client(root)
    assert client.get("/sub/a.txt").body == b"inside\n"
    assert len(client.app.opened) == 1
    assert client.get("/sub/a.txt").body == b"inside\n"


def test_a_directory_swapped_for_a_link_out_of_the_root_is_not_followed(root: Path) -> None:
    """The cached real path now leads outside through a symlinked component: another inode,
    so the full resolve runs and refuses it."""
    client = make_client(root)
    assert client.get("/sub/a.txt").status == 200
    os.rename(root / "sub", root.parent / "moved")
    (root.parent / "elsewhere").mkdir()
    (root.parent / "elsewhere" / "a.txt").write_text("outside\n")
    (root / "sub").symlink_to(root.parent / "elsewhere")
    response = client.get("/sub/a.txt")
    assert response.status == 404
    assert b"outside" not in response.body


def test_a_file_swapped_for_a_link_out_of_the_root_is_not_followed(root: Path) -> None:
    client = make_client(root)
    assert client.get("/sub/a.txt").status == 200
    (root / "sub" / "a.txt").unlink()
    (root / "sub" / "a.txt").symlink_to(root.parent / "secret.txt")
    assert client.get("/sub/a.txt").status == 404


def test_a_replaced_file_is_served_new(root: Path) -> None:
    client = make_client(root)
    first = client.get("/sub/a.txt")
    replacement = root / "sub" / "new.tmp"
    replacement.write_text("replaced, longer\n")
    os.replace(replacement, root / "sub" / "a.txt")
    second = client.get("/sub/a.txt")
    assert second.body == b"replaced, longer\n"
    assert second.headers.get("etag") != first.headers.get("etag")


def test_an_edit_in_place_changes_the_validators(root: Path) -> None:
    client = make_client(root)
    first = client.get("/sub/a.txt")
    target = root / "sub" / "a.txt"
    target.write_text("edited in place, longer\n")
    os.utime(target, ns=(0, 86400 * 10**9))
    second = client.get("/sub/a.txt")
    assert second.body == b"edited in place, longer\n"
    assert second.headers.get("etag") != first.headers.get("etag")
    assert second.headers.get("last-modified") == "Fri, 02 Jan 1970 00:00:00 GMT"


def test_a_removed_file_is_404(root: Path) -> None:
    client = make_client(root)
    assert client.get("/sub/a.txt").status == 200
    (root / "sub" / "a.txt").unlink()
    assert client.get("/sub/a.txt").status == 404


def test_a_file_replaced_by_a_directory_is_a_redirect(root: Path) -> None:
    client = make_client(root)
    assert client.get("/sub/a.txt").status == 200
    (root / "sub" / "a.txt").unlink()
    (root / "sub" / "a.txt").mkdir()
    assert client.get("/sub/a.txt").status == 301


def test_a_template_added_later_takes_over_its_url(root: Path) -> None:
    """The template-candidate cache remembers where to look, never that nothing is there."""
    client = make_client(root)
    (root / "page.html").write_text("static\n")
    assert client.get("/page.html").body == b"static\n"
    (root / "page.html.j2").write_text("rendered {{ name }}\n")
    assert client.get("/page.html?name=x").body == b"rendered x\n"
    (root / "page.html.j2").unlink()
    assert client.get("/page.html").body == b"static\n"
