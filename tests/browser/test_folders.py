"""The folder features on the page, in real headless Chromium: grid view with thumbnails, the
lightbox, a hostile README rendered inert, checksums on demand, the search box and the page's
one selection (selection.js's check column) downloaded as one zip. Every page is watched for
console errors and CSP violations, and screenshots (desktop, phone, light, dark) go to the
test's tmp dir (docs/screenshots/ with ``PORCH_UPDATE_SCREENSHOTS=1``).
"""

from __future__ import annotations

import hashlib
import io
import os
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from PIL import Image

from tests.browser import test_webapp
from tests.browser.test_webapp import DOCS, Watched, row
from tests.helpers import PorchProcess

# The page fixtures of test_webapp (one Chromium per module, pages watched for errors).
chromium = test_webapp.chromium
watched = test_webapp.watched

pytestmark = pytest.mark.browser

HOSTILE_README = """# Holiday pictures

Pictures from the trip. <script>window.__pwned = "raw script"</script>
<img src=x onerror="window.__pwned = 'onerror'">

[a javascript: link](javascript:window.__pwned='link') and [data](data:text/html,<b>x</b>)
and [the notes](notes.txt).

| day | place |
|-----|-------|
""" + "".join(f"| {n} | <script>window.__pwned={n}</script> |\n" for n in range(400))

COLOURS = {
    "beach.jpg": (230, 170, 60),
    "forest.png": (40, 140, 70),
    "lake.webp": (40, 100, 200),
    "sunset.gif": (220, 80, 60),
}


def make_share(root: Path) -> None:
    root.mkdir()
    for name, colour in COLOURS.items():
        image = Image.new("RGB", (640, 420), colour)
        kind = {"jpg": "JPEG", "png": "PNG", "webp": "WEBP", "gif": "GIF"}[name.rsplit(".", 1)[1]]
        image.save(root / name, kind)
    (root / "broken.jpg").write_bytes(b"\xff\xd8\xff not a picture at all")
    (root / "notes.txt").write_text("packing list\n")
    (root / "README.md").write_text(HOSTILE_README)
    (root / "more").mkdir()
    (root / "more" / "notes-2.txt").write_text("more notes\n")


@pytest.fixture
def server(tmp_path: Path, porch: Callable[..., PorchProcess]) -> tuple[Path, PorchProcess]:
    root = tmp_path / "share"
    make_share(root)
    return root, porch(root, "--quiet", "--state-dir", str(tmp_path / "state"))


def checkboxes_per_row(page: Any) -> list[int]:
    """How many checkboxes each listed row has (the parent row's check cell is empty)."""
    return page.eval_on_selector_all(
        "#rows tr:not(.parent)",
        "rows => rows.map(r => r.querySelectorAll('input[type=checkbox]').length)",
    )


def zip_names(download: Any, target: Path) -> list[str]:
    """The member names of a caught zip download, sorted."""
    download.save_as(str(target))
    with zipfile.ZipFile(io.BytesIO(target.read_bytes())) as archive:
        return sorted(archive.namelist())


def thumbnails_loaded(page: Any) -> None:
    page.wait_for_function(
        "() => { const t = [...document.querySelectorAll('img.thumb')];"
        " return t.length === 5 && t.every(i => i.complete && i.naturalWidth > 0); }"
    )


def test_grid_lightbox_and_inert_readme(
    watched: Callable[..., Watched], server: tuple[Path, PorchProcess]
) -> None:
    _, porch = server
    tab = watched()
    page = tab.page
    page.goto(porch.url + "/")
    # Only pictures and a few other files: the grid is the default view here? No: two text
    # files and a folder, so the list is; the toggle switches.
    page.click("#view-toggle")
    assert page.get_attribute("#view-toggle", "aria-pressed") == "true"
    thumbnails_loaded(page)  # the broken picture shows the icon, not a broken image
    assert page.eval_on_selector_all("img.thumb", "t => t.map(i => i.loading)") == ["lazy"] * 5
    row(page, "forest.png").locator("img.thumb").click()
    assert page.text_content("#lightbox-title") == "forest.png"
    assert page.text_content("#lightbox-count") == "3 / 5"
    page.wait_for_function("() => document.querySelector('#lightbox-image').naturalWidth === 640")
    page.keyboard.press("ArrowRight")
    assert page.text_content("#lightbox-title") == "lake.webp"
    page.click("#lightbox-next")
    assert page.text_content("#lightbox-title") == "sunset.gif"
    assert page.is_disabled("#lightbox-next")
    page.keyboard.press("Escape")
    assert not page.evaluate("document.querySelector('#lightbox').open")
    # The README is under the listing, rendered, and nothing in it ran or links to script.
    readme = page.locator("#readme .readme-body")
    assert readme.locator("h1").text_content() == "Holiday pictures"
    assert readme.locator("table tbody tr").count() == 400
    assert readme.locator("script").count() == 0
    assert readme.locator("img").count() == 0
    assert page.evaluate("window.__pwned") is None
    hrefs = readme.locator("a").evaluate_all("links => links.map(a => a.getAttribute('href'))")
    assert hrefs == ["notes.txt"]
    # The view is remembered.
    page.reload()
    assert page.get_attribute("#view-toggle", "aria-pressed") == "true"
    tab.assert_clean("422")


def test_checksum_search_and_selection(
    watched: Callable[..., Watched], server: tuple[Path, PorchProcess], tmp_path: Path
) -> None:
    root, porch = server
    tab = watched(accept_downloads=True)
    page = tab.page
    page.goto(porch.url + "/")
    notes = row(page, "notes.txt")
    notes.hover()
    notes.locator(".checksum-button").click()
    expected = hashlib.sha256((root / "notes.txt").read_bytes()).hexdigest()
    page.wait_for_function(
        f"() => document.querySelector('#checksum-value').textContent === '{expected}'"
    )
    page.keyboard.press("Escape")
    # One selection: one checkbox per row (selection.js's column, nothing of folders.js's),
    # in the list and in the grid.
    assert checkboxes_per_row(page) == [1] * 8
    page.click("#view-toggle")
    assert checkboxes_per_row(page) == [1] * 8
    page.click("#view-toggle")
    # Two entries, one a folder, checked there and downloaded as one zip from the selection bar.
    row(page, "notes.txt").locator("td.check input").check()
    row(page, "more/").locator("td.check input").check()
    assert page.inner_text("#selcount") == "2 selected"
    assert page.inner_text("#sel-zip") == "Download 2 selected (.zip)"
    assert page.locator("#sel-download").count() == 0  # the zip is the download here
    with page.expect_download() as caught:
        page.click("#sel-zip")
    assert zip_names(caught.value, tmp_path / "selected.zip") == [
        "root/",
        "root/more/",
        "root/more/notes-2.txt",
        "root/notes.txt",
    ]
    # The search box finds names below the folder.
    page.fill("#search", "notes")
    page.press("#search", "Enter")
    page.wait_for_selector(".search-note")
    links = page.eval_on_selector_all("table a", "l => l.map(a => a.getAttribute('href'))")
    assert links == ["/notes.txt", "/more/notes-2.txt"]
    assert "2 found" in (page.text_content(".search-note") or "")
    tab.assert_clean("422")  # the grid asked for broken.jpg's thumbnail


def test_a_reader_selects_with_the_keys_and_downloads_a_zip(
    watched: Callable[..., Watched], tmp_path: Path, porch: Callable[..., PorchProcess]
) -> None:
    """A visitor who may only read still gets the check column and the zip of a selection
    (no move or delete), in a subfolder: the form goes to that folder's ?zip."""
    root = tmp_path / "share"
    make_share(root)
    (root / "more" / "deep").mkdir()
    (root / "more" / "deep" / "inside.txt").write_text("inside\n")
    (root / "more" / "left out.txt").write_text("not selected\n")
    server = porch(root, "--quiet", "--anonymous", "read", "--state-dir", str(tmp_path / "s"))
    tab = watched(accept_downloads=True)
    page = tab.page
    page.goto(server.url + "/more/")
    assert page.get_attribute("body", "data-access") == "read"
    assert checkboxes_per_row(page) == [1, 1, 1]  # deep/, left out.txt, notes-2.txt
    # The keys: onto deep/ (past "../"), x checks it, down twice, x checks notes-2.txt.
    for key in ("ArrowDown", "ArrowDown", "x", "ArrowDown", "ArrowDown", "x"):
        page.keyboard.press(key)
    assert page.inner_text("#selcount") == "2 selected"
    assert page.is_visible("#sel-zip")
    for control in ("#sel-move", "#sel-delete", "#sel-rename"):
        assert page.is_hidden(control), control
    with page.expect_download() as caught:
        page.click("#sel-zip")
    assert zip_names(caught.value, tmp_path / "reader.zip") == [
        "more/",
        "more/deep/",
        "more/deep/inside.txt",
        "more/notes-2.txt",
    ]
    tab.assert_clean()


def test_without_archives_no_zip_of_a_selection(
    watched: Callable[..., Watched], tmp_path: Path, porch: Callable[..., PorchProcess]
) -> None:
    """With --no-archives the page still has its one check column, and the selection bar
    downloads files one by one: no zip link, no zip button."""
    root = tmp_path / "share"
    make_share(root)
    server = porch(root, "--quiet", "--no-archives", "--state-dir", str(tmp_path / "s"))
    tab = watched()
    page = tab.page
    page.goto(server.url + "/")
    assert checkboxes_per_row(page) == [1] * 8
    row(page, "notes.txt").locator("td.check input").check()
    assert page.inner_text("#selcount") == "1 selected"
    assert page.locator("#zip, #sel-zip").count() == 0
    assert page.is_visible("#sel-download")
    assert "zip" not in page.inner_text("#selbar").lower()
    tab.assert_clean()


def test_folder_screenshots(
    watched: Callable[..., Watched], server: tuple[Path, PorchProcess], tmp_path: Path
) -> None:
    root, porch = server
    (root / "broken.jpg").unlink()
    targets = [tmp_path]
    if os.environ.get("PORCH_UPDATE_SCREENSHOTS") == "1":
        DOCS.mkdir(parents=True, exist_ok=True)
        targets.append(DOCS)
    for scheme in ("light", "dark"):
        for form, options in (
            ("desktop", {"viewport": {"width": 1100, "height": 900}}),
            (
                "phone",
                {
                    "viewport": {"width": 390, "height": 844},
                    "device_scale_factor": 2,
                    "is_mobile": True,
                    "has_touch": True,
                },
            ),
        ):
            tab = watched(color_scheme=scheme, **options)
            page = tab.page
            page.goto(porch.url + "/")
            page.click("#view-toggle")
            page.wait_for_function(
                "() => [...document.querySelectorAll('img.thumb')]"
                ".every(i => i.complete && i.naturalWidth > 0)"
            )
            # Two pictures checked: the one check column in the grid, and the selection bar.
            row(page, "beach.jpg").locator("td.check input").check()
            row(page, "lake.webp").locator("td.check input").check()
            page.mouse.move(0, 0)
            for target in targets:
                page.screenshot(path=str(target / f"gallery-{form}-{scheme}.png"))
            if form == "desktop":
                row(page, "beach.jpg").locator("img.thumb").click()
                page.wait_for_function(
                    "() => document.querySelector('#lightbox-image').naturalWidth === 640"
                )
                for target in targets:
                    page.screenshot(path=str(target / f"lightbox-{scheme}.png"))
            tab.assert_clean()
            tab.close()
