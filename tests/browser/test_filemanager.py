"""The page as a file manager, in real headless Chromium: new folder, rename, move (picker and
drag), delete with the trash's undo, the confirmation without a trash, multi-select, folder
upload keeping the tree, the server's errors shown, and the controls per access level.

Every operation goes to a real porch (WebDAV methods, grants, the trash), and every test looks
at the files on disk, not only at the page. Screenshots: ``PORCH_UPDATE_SCREENSHOTS=1`` writes
them to docs/screenshots/ (docs/webapp.md).
"""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import requests

from tests.browser import test_webapp
from tests.browser.test_webapp import DOCS, Watched, row
from tests.helpers import PorchProcess, require_tool

chromium = test_webapp.chromium  # the module's browser and watched pages, shared
watched = test_webapp.watched

pytestmark = pytest.mark.browser

NOTHING_LEFT = "() => !document.querySelector('dialog[open]')"


def names(page: Any) -> list[str]:
    return page.eval_on_selector_all(
        "#rows tr:not(.parent) td.name a", "links => links.map(a => a.textContent)"
    )


def wait_rows(page: Any, expected: list[str]) -> None:
    """Wait until the listing's rows are exactly ``expected`` (directories first, by name)."""
    page.wait_for_function(
        "(want) => JSON.stringify(Array.from(document.querySelectorAll("
        "'#rows tr:not(.parent) td.name a'), a => a.textContent)) === JSON.stringify(want)",
        arg=expected,
    )


def writable(
    porch: Callable[..., PorchProcess], site: Path, tmp_path: Path, *extra: str, trash: bool = True
) -> PorchProcess:
    args = ["--quiet", "--anonymous", "write", *extra]
    if trash:
        args += ["--trash", str(tmp_path / "trash")]
    return porch(site, *args)


def test_new_folder_rename_and_move_with_the_picker(
    watched: Callable[..., Watched], site: Path, porch: Callable[..., PorchProcess], tmp_path: Path
) -> None:
    server = writable(porch, site, tmp_path)
    tab = watched()
    page = tab.page
    page.goto(server.url + "/")
    # New folder: the button (or n), a name, Enter.
    page.click("#new-folder")
    page.fill("#name-input", "Photos 2024")
    page.keyboard.press("Enter")
    row(page, "Photos 2024/").wait_for()
    assert (site / "Photos 2024").is_dir()
    assert "new" in (row(page, "Photos 2024/").get_attribute("class") or "")
    page.wait_for_function(NOTHING_LEFT)

    # Rename with F2: the dialog offers the old name with the stem selected.
    row(page, "hello.txt").locator("td.name a").focus()
    page.keyboard.press("F2")
    assert page.input_value("#name-input") == "hello.txt"
    assert page.evaluate(
        "() => [document.activeElement.selectionStart, document.activeElement.selectionEnd]"
    ) == [0, 5]
    page.keyboard.type("greeting")
    page.keyboard.press("Enter")
    row(page, "greeting.txt").wait_for()
    assert not (site / "hello.txt").exists()
    assert (site / "greeting.txt").read_text() == "hello, porch\n"
    assert "hello.txt" not in names(page)

    # Renaming onto an existing name: the server's 412 is shown in the dialog, nothing lost.
    page.keyboard.press("F2")
    page.fill("#name-input", "page.html")
    page.keyboard.press("Enter")
    error = page.locator("#name-error")
    error.wait_for()
    assert error.inner_text().startswith("412 Precondition Failed")
    assert (site / "page.html").read_text().startswith("<!doctype html>")
    assert (site / "greeting.txt").exists()
    page.keyboard.press("Escape")
    page.wait_for_function(NOTHING_LEFT)

    # Move with the picker: check two rows, Move, into "Photos 2024", Move here.
    row(page, "greeting.txt").locator("td.check input").check()
    row(page, "data.bin").locator("td.check input").check()
    assert page.inner_text("#selcount") == "2 selected"
    page.click("#sel-move")
    # Into docs/ (it has an index.html: PROPFIND still lists it), then back up.
    page.locator("#picker .picker-folder", has_text="docs").click()
    page.locator("#picker .picker-empty").wait_for()
    assert page.inner_text("#picker-path") == "/docs/"
    assert page.inner_text("#move-error") == ""
    page.click("#picker-up")
    page.locator("#picker .picker-folder", has_text="Photos 2024").click()
    page.wait_for_function(
        "() => document.querySelector('#picker-path').textContent === '/Photos 2024/'"
    )
    page.click("#move-ok")
    page.wait_for_function("() => !document.querySelector('#rows a[href=\"data.bin\"]')")
    assert (site / "Photos 2024" / "greeting.txt").read_text() == "hello, porch\n"
    assert (site / "Photos 2024" / "data.bin").read_bytes() == bytes(range(256)) * 1024
    assert not (site / "data.bin").exists()
    assert page.locator("#toasts").inner_text().startswith("Moved 2 items to /Photos 2024/")
    assert page.is_hidden("#selbar")
    tab.assert_clean("412")


def test_drag_rows_onto_a_folder_and_onto_the_parent(
    watched: Callable[..., Watched], site: Path, porch: Callable[..., PorchProcess], tmp_path: Path
) -> None:
    server = writable(porch, site, tmp_path)
    page = watched().page
    page.goto(server.url + "/")
    row(page, "hello.txt").locator("td.name a").drag_to(row(page, "empty/"))
    page.wait_for_function("() => !document.querySelector('#rows a[href=\"hello.txt\"]')")
    assert (site / "empty" / "hello.txt").read_text() == "hello, porch\n"
    # Two checked rows travel together; "../" is a drop target too.
    page.goto(server.url + "/empty/")
    (site / "empty" / "two.txt").write_text("2")
    page.reload()
    row(page, "hello.txt").locator("td.check input").check()
    row(page, "two.txt").locator("td.check input").check()
    row(page, "two.txt").locator("td.name a").drag_to(page.locator("#rows tr.parent"))
    wait_rows(page, [])
    assert (site / "hello.txt").exists()
    assert (site / "two.txt").read_text() == "2"


def test_delete_goes_to_the_trash_and_undo_brings_it_back(
    watched: Callable[..., Watched], site: Path, porch: Callable[..., PorchProcess], tmp_path: Path
) -> None:
    server = writable(porch, site, tmp_path)
    tab = watched()
    page = tab.page
    page.goto(server.url + "/")
    before = names(page)
    # Shift-click from the cursor's row checks the range (directories first, then files).
    row(page, "empty/").locator("td.size").click()
    row(page, "hello.txt").locator("td.size").click(modifiers=["Shift"])
    assert page.inner_text("#selcount") == "3 selected"  # empty/, data.bin, hello.txt
    page.keyboard.press("Escape")
    assert page.is_hidden("#selbar")
    # Multi-select: click a row, ctrl-click another, shift-click to extend; Delete.
    row(page, "empty/").locator("td.size").click()
    row(page, "data.bin").locator("td.size").click(modifiers=["Control"])
    row(page, "hello.txt").locator("td.size").click(modifiers=["Shift"])
    assert page.inner_text("#selcount") == "2 selected"
    row(page, "page.html").locator("td.size").click(modifiers=["Shift"])
    assert page.inner_text("#selcount") == "3 selected"  # data.bin, hello.txt, page.html
    page.keyboard.press("Delete")
    page.wait_for_function("() => document.querySelectorAll('#toasts .toast').length === 1")
    assert page.locator("#toasts .toast-text").inner_text() == "Deleted 3 items"
    assert not page.locator("#confirm-dialog").is_visible()  # a trash: no question asked
    for name in ("data.bin", "hello.txt", "page.html"):
        assert not (site / name).exists()
    trashed = requests.get(server.url + "/-/trash/", timeout=5).json()["items"]
    assert sorted(item["name"] for item in trashed) == ["data.bin", "hello.txt", "page.html"]
    wait_rows(page, ["docs/", "empty/"])

    page.click("#toasts .toast-undo")
    wait_rows(page, before)
    assert (site / "hello.txt").read_text() == "hello, porch\n"
    assert (site / "data.bin").read_bytes() == bytes(range(256)) * 1024
    assert page.locator("#toasts .toast-text").inner_text() == "Restored 3 items"
    # A folder goes to the trash whole, and comes back whole (Ctrl+Z presses Undo).
    row(page, "docs/").locator("td.name a").focus()
    page.keyboard.press("Delete")
    page.locator("#toasts .toast-undo").wait_for()
    assert not (site / "docs").exists()
    page.keyboard.press("Control+z")
    row(page, "docs/").wait_for()
    assert (site / "docs" / "note.md").read_text() == "# note\n"
    tab.assert_clean()


def test_without_a_trash_the_page_asks_before_deleting(
    watched: Callable[..., Watched], site: Path, porch: Callable[..., PorchProcess], tmp_path: Path
) -> None:
    server = writable(porch, site, tmp_path, trash=False)
    page = watched().page
    page.goto(server.url + "/")
    row(page, "hello.txt").locator("td.check input").check()
    page.click("#sel-delete")
    dialog = page.locator("#confirm-dialog")
    dialog.wait_for()
    assert page.inner_text("#confirm-title") == "Delete “hello.txt”?"
    assert "gone for good" in page.inner_text("#confirm-text")
    page.click("#confirm-dialog [data-close]")  # Cancel
    page.wait_for_function(NOTHING_LEFT)
    assert (site / "hello.txt").exists()
    page.click("#sel-delete")
    page.click("#confirm-ok")
    page.wait_for_function("() => !document.querySelector('#rows a[href=\"hello.txt\"]')")
    assert not (site / "hello.txt").exists()
    assert page.locator("#toasts .toast-text").inner_text() == "Deleted “hello.txt”"
    assert page.locator("#toasts .toast-undo").count() == 0  # nothing to undo from


def test_select_all_and_delete_with_the_keyboard(
    watched: Callable[..., Watched], site: Path, porch: Callable[..., PorchProcess], tmp_path: Path
) -> None:
    (site / "docs" / "index.html").unlink()
    server = writable(porch, site, tmp_path)
    page = watched().page
    page.goto(server.url + "/docs/")
    (site / "docs" / "two.md").write_text("2")
    page.reload()
    page.keyboard.press("ArrowDown")  # onto "../"
    page.keyboard.press("Control+a")
    assert page.inner_text("#selcount") == "2 selected"  # "../" is never selected
    page.keyboard.press("Escape")
    assert page.is_hidden("#selbar")
    page.keyboard.press("ArrowDown")
    page.keyboard.press("Shift+ArrowDown")
    page.wait_for_function("() => document.querySelector('#selcount').textContent === '2 selected'")
    page.keyboard.press("Delete")
    wait_rows(page, [])
    assert sorted(os.listdir(site / "docs")) == []
    assert page.inner_text("main .empty:not(.no-match)") == "This directory is empty."


def test_folder_upload_keeps_the_tree(
    watched: Callable[..., Watched], site: Path, porch: Callable[..., PorchProcess], tmp_path: Path
) -> None:
    server = writable(porch, site, tmp_path)
    tree = tmp_path / "pick" / "album"
    (tree / "day 1").mkdir(parents=True)
    (tree / "day 1" / "ü.txt").write_text("one")
    (tree / "cover.bin").write_bytes(bytes(range(256)) * 64)
    page = watched().page
    page.goto(server.url + "/docs/note.md")
    page.goto(server.url + "/empty/")
    # The folder picker (input webkitdirectory).
    page.set_input_files("#upload-tree-input", str(tree))
    page.wait_for_function(
        "() => [...document.querySelectorAll('#queue li')].filter(i => i.dataset.state === 'done')"
        ".length === 2"
    )
    assert (site / "empty" / "album" / "day 1" / "ü.txt").read_text() == "one"
    assert (site / "empty" / "album" / "cover.bin").read_bytes() == bytes(range(256)) * 64
    row(page, "album/").wait_for()
    labels = page.eval_on_selector_all("#queue .item-name", "l => l.map(x => x.textContent)")
    assert sorted(labels) == ["album/cover.bin", "album/day 1/ü.txt"]

    # A dropped folder (a real drag of a directory, through the DevTools protocol), with an
    # empty folder in it; the second time its files exist: the server's 409 on each.
    (tree / "day 2").mkdir()
    (site / "empty" / "album" / "cover.bin").unlink()
    cdp = page.context.new_cdp_session(page)
    data = {"items": [], "files": [str(tree)], "dragOperationsMask": 1}
    for kind in ("dragEnter", "dragOver", "drop"):
        cdp.send("Input.dispatchDragEvent", {"type": kind, "x": 300, "y": 300, "data": data})
    page.wait_for_function(
        "() => [...document.querySelectorAll('#queue li')].slice(2)"
        ".every(i => i.dataset.state === 'done' || i.dataset.state === 'error')"
        " && document.querySelectorAll('#queue li').length === 4"
    )
    assert (site / "empty" / "album" / "day 2").is_dir()
    assert (site / "empty" / "album" / "cover.bin").read_bytes() == bytes(range(256)) * 64
    failed = page.locator("#queue li[data-state=error]")
    assert failed.count() == 1
    assert failed.locator(".item-name").inner_text() == "album/day 1/ü.txt"
    assert failed.locator(".item-detail").inner_text().startswith("409 Conflict")


def test_the_server_error_is_shown_locked_and_forbidden(
    watched: Callable[..., Watched], site: Path, porch: Callable[..., PorchProcess], tmp_path: Path
) -> None:
    (site / "docs" / "index.html").unlink()
    server = porch(
        site, "--quiet", "--anonymous", "read,write@/docs", "--trash", str(tmp_path / "t")
    )
    lock = requests.request(
        "LOCK",
        server.url + "/docs/note.md",
        data=(
            '<?xml version="1.0"?><D:lockinfo xmlns:D="DAV:"><D:lockscope><D:exclusive/>'
            "</D:lockscope><D:locktype><D:write/></D:locktype></D:lockinfo>"
        ),
        timeout=5,
    )
    assert lock.status_code == 200
    tab = watched()
    page = tab.page
    page.goto(server.url + "/docs/")
    row(page, "note.md").locator("td.name a").focus()
    page.keyboard.press("Delete")
    toast = page.locator("#toasts .toast.error")
    toast.wait_for()
    assert toast.get_attribute("role") == "alert"
    assert toast.inner_text().startswith("Could not delete “note.md”: 423 Locked")
    assert (site / "docs" / "note.md").exists()
    # Moving out of /docs/ to / where this visitor may not write: the server's 403.
    (site / "docs" / "free.md").write_text("free")
    page.reload()
    row(page, "free.md").locator("td.check input").check()
    page.keyboard.press("m")
    page.click("#picker-up")
    page.wait_for_function("() => document.querySelector('#picker-path').textContent === '/'")
    page.click("#move-ok")
    page.locator("#toasts .toast.error", has_text="403").wait_for()
    assert (site / "docs" / "free.md").exists()
    assert not (site / "free.md").exists()
    tab.assert_clean("423", "403")


@pytest.mark.parametrize(
    ("grant", "shown", "hidden"),
    [
        ("read", ["#sel-zip"], ["#new-folder", "#sel-move", "#sel-delete", "#sel-rename"]),
        ("add", ["#new-folder", "#upload-tree", "#sel-zip"], ["#sel-move", "#sel-delete"]),
        ("write", ["#new-folder", "#sel-move", "#sel-delete", "#sel-rename", "#sel-zip"], []),
    ],
)
def test_controls_follow_the_access_level(
    watched: Callable[..., Watched],
    site: Path,
    porch: Callable[..., PorchProcess],
    grant: str,
    shown: list[str],
    hidden: list[str],
) -> None:
    server = porch(site, "--quiet", "--anonymous", grant)
    page = watched().page
    page.goto(server.url + "/")
    assert page.get_attribute("body", "data-access") == grant
    # One check column whatever the level: a reader selects to download a zip.
    assert page.locator("#rows tr:not(.parent) input[type=checkbox]").count() == len(names(page))
    row(page, "hello.txt").locator("td.check input").check()
    assert page.inner_text("#sel-zip") == "Download 1 selected (.zip)"
    for selector in shown:
        assert page.is_visible(selector), selector
    for selector in hidden:
        assert page.is_hidden(selector), selector
    # The keys do nothing the level does not allow (and the server would refuse anyway).
    page.keyboard.press("Delete")
    page.keyboard.press("F2")
    if grant != "write":
        assert page.wait_for_function("() => !document.querySelector('dialog[open]')")
        assert (site / "hello.txt").exists()


def test_download_a_selection_file_by_file_without_archives(
    watched: Callable[..., Watched], site: Path, porch: Callable[..., PorchProcess]
) -> None:
    """With archives off the selection bar downloads the checked files one by one (with
    archives on it offers their zip instead: tests/browser/test_folders.py)."""
    server = porch(site, "--quiet", "--no-archives")
    tab = watched(accept_downloads=True)
    page = tab.page
    page.goto(server.url + "/")
    row(page, "hello.txt").locator("td.check input").check()
    row(page, "data.bin").locator("td.check input").check()
    row(page, "empty/").locator("td.check input").check()
    got: list[str] = []
    page.on("download", lambda download: got.append(download.suggested_filename))
    page.click("#sel-download")
    page.wait_for_function("() => document.querySelector('#toasts').textContent.includes('empty')")
    page.wait_for_timeout(800)
    assert sorted(got) == ["data.bin", "hello.txt"]


def test_help_lists_the_keys(
    watched: Callable[..., Watched], site: Path, porch: Callable[..., PorchProcess], tmp_path: Path
) -> None:
    server = writable(porch, site, tmp_path)
    page = watched().page
    page.goto(server.url + "/")
    page.keyboard.press("?")
    help_text = page.locator("#help-dialog").inner_text()
    for key in ("F2", "Delete", "New folder", "Select all", "Move to a folder"):
        assert key in help_text
    page.keyboard.press("Escape")
    page.wait_for_function(NOTHING_LEFT)


def test_screenshots(
    chromium: Any,
    site: Path,
    porch: Callable[..., PorchProcess],
    tmp_path: Path,
) -> None:
    """The file manager on a desktop and a phone, light and dark: two rows selected and the
    undo toast of a deletion; the move picker in dark."""
    (site / "Holiday photos").mkdir()
    (site / "report.pdf").write_bytes(b"%PDF-1.4\n" * 200)
    server = writable(porch, site, tmp_path)
    target = DOCS if os.environ.get("PORCH_UPDATE_SCREENSHOTS") else tmp_path
    target.mkdir(parents=True, exist_ok=True)
    phone = {"device_scale_factor": 2, "is_mobile": True, "has_touch": True}
    for form, viewport in (("desktop", (1000, 640)), ("phone", (390, 780))):
        for scheme in ("light", "dark"):
            (site / "old draft.txt").write_text("draft\n")
            page = Watched(
                chromium,
                viewport={"width": viewport[0], "height": viewport[1]},
                color_scheme=scheme,
                reduced_motion="reduce",
                **(phone if form == "phone" else {}),
            )
            try:
                page.page.goto(server.url + "/")
                row(page.page, "old draft.txt").locator("td.check input").check()
                page.page.keyboard.press("Delete")
                page.page.locator("#toasts .toast-undo").wait_for()
                row(page.page, "hello.txt").locator("td.check input").check()
                row(page.page, "data.bin").locator("td.check input").check()
                page.page.mouse.move(0, 0)
                page.page.screenshot(path=str(target / f"files-{form}-{scheme}.png"))
                if form == "desktop" and scheme == "dark":
                    page.page.click("#sel-move")
                    page.page.locator("#picker .picker-folder").first.wait_for()
                    page.page.screenshot(path=str(target / "files-move-dark.png"))
                page.assert_clean()
            finally:
                page.close()


def test_the_page_stays_where_it_was(
    watched: Callable[..., Watched], site: Path, porch: Callable[..., PorchProcess], tmp_path: Path
) -> None:
    """After an operation the rows are fetched again, the scroll position is kept and the
    cursor goes on to the next row."""
    for index in range(60):
        (site / f"file-{index:02d}.txt").write_text(str(index))
    server = writable(porch, site, tmp_path)
    page = watched().page
    page.goto(server.url + "/")
    link = row(page, "file-40.txt").locator("td.name a")
    link.scroll_into_view_if_needed()
    link.focus()
    scrolled = page.evaluate("scrollY")
    assert scrolled > 500
    page.keyboard.press("Delete")
    page.wait_for_function("() => !document.querySelector('#rows a[href=\"file-40.txt\"]')")
    assert not (site / "file-40.txt").exists()
    assert page.evaluate("scrollY") == scrolled
    assert page.evaluate("document.activeElement.textContent") == "file-41.txt"
    assert "selected" in (row(page, "file-41.txt").get_attribute("class") or "")


def test_a_folder_deleted_only_in_part_says_what_is_left(
    watched: Callable[..., Watched], site: Path, porch: Callable[..., PorchProcess], tmp_path: Path
) -> None:
    """A DELETE answered with 207 Multi-Status is a failure: the members the server could not
    remove are named (here a file marked immutable), and the rows show what is left."""
    require_tool(shutil.which("chattr") is not None, "chattr (e2fsprogs) is not installed")
    stuck = site / "docs" / "note.md"
    if subprocess.run(["chattr", "+i", str(stuck)], capture_output=True, check=False).returncode:
        pytest.skip("this file system cannot mark a file immutable (chattr +i)")
    try:
        server = writable(porch, site, tmp_path, trash=False)
        tab = watched()
        page = tab.page
        page.goto(server.url + "/")
        row(page, "docs/").locator("td.check input").check()
        page.click("#sel-delete")
        page.click("#confirm-ok")
        toast = page.locator("#toasts .toast.error")
        toast.wait_for()
        assert toast.inner_text().startswith(
            "Could not delete “docs”: 207 Multi-Status: not everything inside:"
            " /docs/note.md (403 Forbidden)"
        )
        assert stuck.exists()
        assert not (site / "docs" / "index.html").exists()
        assert "Deleted" not in page.inner_text("#toasts")
        row(page, "docs/").wait_for()  # still listed: it is not empty
        tab.assert_clean()
    finally:
        subprocess.run(["chattr", "-i", str(stuck)], capture_output=True, check=False)
