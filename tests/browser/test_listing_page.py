"""The listing page in real headless Chromium: renders, sorts, navigates down and back."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tests.helpers import PorchProcess

pytestmark = pytest.mark.browser


def names_in_order(page: Any) -> list[str]:
    return [text.strip() for text in page.locator("tbody td.name a").all_inner_texts()]


def test_listing_renders_sorts_and_navigates(
    page: Any, site: Path, porch: Callable[..., PorchProcess], tmp_path: Path
) -> None:
    (site / "zebra.txt").write_bytes(b"z" * 300_000)
    (site / "apple.txt").write_bytes(b"a" * 10)
    (site / "<b>bold & more.txt").write_text("escaped")
    (site / "empty" / "inside.txt").write_text("inside\n")
    for name, when in (("zebra.txt", 1_600_000_000), ("apple.txt", 1_700_000_000)):
        os.utime(site / name, (when, when))
    server = porch(site, "--quiet")

    page.goto(server.url + "/")
    assert page.title() == "site"  # the folder's own name (issue 19)
    # The stylesheet loaded from porch's reserved prefix and applied (no inline CSS at all).
    assert page.evaluate("getComputedStyle(document.querySelector('th')).textTransform") == (
        "uppercase"
    )
    listed = names_in_order(page)
    assert listed[:2] == ["docs/", "empty/"]
    assert "<b>bold & more.txt" in listed  # shown as text, not markup
    assert page.locator("td.name b").count() == 0
    page.screenshot(path=str(tmp_path / "listing.png"), full_page=True)

    # Sort by size by clicking the column header link (no JavaScript involved).
    page.click("th.size a")
    assert page.url.endswith("?sort=size&order=asc")
    files = [n for n in names_in_order(page) if not n.endswith("/")]
    assert files[-1] == "zebra.txt"
    page.click("th.size a")
    assert page.url.endswith("?sort=size&order=desc")
    assert next(n for n in names_in_order(page) if not n.endswith("/")) == "zebra.txt"
    page.click("th.modified a")
    files = [n for n in names_in_order(page) if not n.endswith("/")]
    assert files.index("zebra.txt") < files.index("apple.txt")
    page.screenshot(path=str(tmp_path / "listing-sorted.png"), full_page=True)

    # Into a subdirectory and back, by the parent link and the breadcrumbs.
    page.click("text=empty/")
    assert page.url == server.url + "/empty/"
    assert names_in_order(page) == ["../", "inside.txt"]
    assert page.title() == "empty"
    page.screenshot(path=str(tmp_path / "listing-sub.png"), full_page=True)
    page.click("text=../")
    assert page.url == server.url + "/"
    page.click("text=empty/")
    page.click("nav.crumbs a[href='/']")
    assert page.url == server.url + "/"

    # The escaped name's link fetches that file.
    page.click("text=<b>bold & more.txt")
    assert page.locator("body").inner_text().strip() == "escaped"
