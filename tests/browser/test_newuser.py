"""Issue 19 in headless Chromium: the page under per-folder grants, signing in, name
conflicts, failed uploads, and a 2,000-entry folder."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.browser.test_webapp import Watched, chromium, row, watched
from tests.helpers import PorchProcess
from tests.security_helpers import quick_hash

pytestmark = pytest.mark.browser
__all__ = ["chromium", "watched"]  # fixtures, used by name

PICK = "#upload-files"


def shared_folder(tmp_path: Path) -> Path:
    share = tmp_path / "share"
    (share / "incoming").mkdir(parents=True)
    (share / "readme.txt").write_text("read me\n")
    return share


def grant_server(porch: Callable[..., PorchProcess], share: Path, *extra: str) -> PorchProcess:
    """docs/security.md's pattern: bob writes in /incoming, everyone reads."""
    account = f"bob:{quick_hash('secret')}:read,write@/incoming"
    flags = ["--quiet", "--auth", account, "--anonymous", "read"]
    return porch(share, *flags, "--upload-dir", str(share / "incoming"), *extra)


def wait_state(page: object, index: int, state: str) -> None:
    page.wait_for_function(  # type: ignore[attr-defined]
        f"() => document.querySelectorAll('#queue li')[{index}]?.dataset.state === '{state}'"
    )


def test_sign_in_then_upload_under_a_per_folder_grant(
    watched: Callable[..., Watched], tmp_path: Path, porch: Callable[..., PorchProcess]
) -> None:
    share = shared_folder(tmp_path)
    server = grant_server(porch, share)
    tab = watched(http_credentials={"username": "bob", "password": "secret"})
    page = tab.page
    page.goto(server.url + "/incoming/")
    # Anonymous: no upload form (the upload would get 401), a way to sign in instead.
    assert page.locator("#dropzone").count() == 0
    assert page.locator("#upload-locked").inner_text() == "Sign in to upload files here"
    page.locator("#sign-in").click()
    page.wait_for_url(server.url + "/incoming/")
    assert page.locator("#visitor").inner_text() == "Signed in as bob"
    # The browser now sends the credentials everywhere on the site, the root page included.
    page.goto(server.url + "/")
    assert page.locator("#visitor").inner_text() == "Signed in as bob"
    page.goto(server.url + "/incoming/")

    # bob's upload lands: the page posts to /incoming/NAME, which his grant covers.
    page.set_input_files(PICK, files=[{"name": "x.txt", "mimeType": "text/plain", "buffer": b"1"}])
    wait_state(page, 0, "done")
    assert (share / "incoming" / "x.txt").read_bytes() == b"1"

    # The same name again: a clear failure with the server's text, then "Keep both".
    page.set_input_files(PICK, files=[{"name": "x.txt", "mimeType": "text/plain", "buffer": b"2"}])
    wait_state(page, 1, "error")
    item = page.locator("#queue li").nth(1)
    assert item.locator(".item-status").inner_text() == "Failed"
    assert item.locator(".item-detail").inner_text() == (
        "409 Conflict: a file with that name exists already"
    )
    choices = item.locator(".item-choices button")
    assert choices.all_inner_texts() == ["Keep both", "Replace"]
    choices.first.click()
    wait_state(page, 1, "done")
    assert "saved as x (1).txt" in item.locator(".item-detail").inner_text()
    assert (share / "incoming" / "x.txt").read_bytes() == b"1"
    assert (share / "incoming" / "x (1).txt").read_bytes() == b"2"
    row(page, "x (1).txt").wait_for()

    # And "Replace", which bob (write, not only add) is offered.
    page.set_input_files(PICK, files=[{"name": "x.txt", "mimeType": "text/plain", "buffer": b"3"}])
    wait_state(page, 2, "error")
    page.locator("#queue li").nth(2).locator("button[data-policy=replace]").click()
    wait_state(page, 2, "done")
    assert (share / "incoming" / "x.txt").read_bytes() == b"3"
    tab.assert_clean("409 (Conflict)")


def test_a_refused_upload_ends_failed_with_the_servers_text(
    watched: Callable[..., Watched], site: Path, porch: Callable[..., PorchProcess]
) -> None:
    server = porch(site, "--quiet", "--upload-dir", str(site), "--max-upload-size", "1K")
    tab = watched()
    page = tab.page
    page.goto(server.url + "/")
    big = {"name": "big.bin", "mimeType": "application/octet-stream", "buffer": b"x" * 300_000}
    page.set_input_files(PICK, files=[big])
    wait_state(page, 0, "error")
    item = page.locator("#queue li").first
    assert item.locator(".item-status").inner_text() == "Failed"
    assert item.locator(".item-detail").inner_text() == (
        "413 Content Too Large: uploads are limited to 1024 bytes"
    )
    assert not (site / "big.bin").exists()
    tab.assert_clean("413")


READY = """() => {
  const nav = performance.getEntriesByType("navigation")[0];
  const ready = performance.getEntriesByName("porch-ready")[0];
  return [nav.responseEnd, ready.startTime];
}"""


def test_a_2000_entry_folder_is_interactive_in_under_300_ms(
    watched: Callable[..., Watched], tmp_path: Path, porch: Callable[..., PorchProcess]
) -> None:
    """From the last byte of the page to the script answering keys and the filter, measured
    with the Performance API (best of three loads), against a 20-entry folder measured the
    same way: the big folder must cost about what the small one does (it cost ~5x before),
    and under 300 ms unless the machine is overloaded (the suite shares it; load average
    over the core count). The rest of the rows arrive in pieces after that, and the filter
    finds them."""
    small = tmp_path / "small"
    small.mkdir()
    for number in range(20):
        (small / f"file-{number:04d}.txt").write_bytes(b"x")
    big = tmp_path / "big"
    big.mkdir()
    for number in range(1999):
        (big / f"file-{number:04d}.txt").write_bytes(b"x")
    (big / "zz\n<tr x>.txt").write_bytes(b"y")  # never listed: a control character
    (big / "zz <tr x> &amp; <b>.txt").write_bytes(b"y")  # sorts last: a deferred row
    server, baseline = porch(big, "--quiet"), porch(small, "--quiet")
    tab = watched()
    page = tab.page
    spans: dict[str, list[float]] = {"big": [], "small": []}
    for _ in range(3):
        for name, target in (("small", baseline), ("big", server)):
            page.goto(target.url + "/")
            page.wait_for_function("() => performance.getEntriesByName('porch-ready').length")
            response_end, ready = page.evaluate(READY)
            spans[name].append(ready - response_end)
    big_ms, small_ms = min(spans["big"]), min(spans["small"])
    assert big_ms < 2 * small_ms + 100, spans
    if os.getloadavg()[0] <= (os.cpu_count() or 1):
        assert big_ms < 300, spans
    page.goto(server.url + "/")
    page.wait_for_function("() => document.documentElement.dataset.rows === 'all'")
    assert page.locator("#rows tr").count() == 2000
    assert page.locator("#more-rows").count() == 0
    page.locator("#filter").fill("file-1998")
    assert page.locator("#rows tr:not([hidden])").count() == 1
    last = page.locator("#rows tr").last.locator("td.name a")
    assert last.evaluate("a => a.textContent") == "zz <tr x> &amp; <b>.txt"
    assert page.locator("#count").inner_text() == "1 of 2000 entries"
    tab.assert_clean()


def test_without_scripting_every_row_is_still_there(
    chromium: object, tmp_path: Path, porch: Callable[..., PorchProcess]
) -> None:
    big = tmp_path / "big"
    big.mkdir()
    for number in range(400):
        (big / f"f{number:03d}.txt").write_bytes(b"x")
    server = porch(big, "--quiet")
    context = chromium.new_context(java_script_enabled=False)  # type: ignore[attr-defined]
    try:
        page = context.new_page()
        page.goto(server.url + "/")
        links = "main tbody tr td.name a"
        names = page.eval_on_selector_all(links, "a => a.map(x => x.textContent)")
        assert names == [f"f{number:03d}.txt" for number in range(400)]
    finally:
        context.close()


PHONE = {
    "viewport": {"width": 390, "height": 844},
    "device_scale_factor": 2,
    "is_mobile": True,
    "has_touch": True,
}

SWIPE = """([dx]) => {
  const body = document.getElementById("preview-body");
  const box = body.getBoundingClientRect();
  const x = box.left + box.width / 2, y = box.top + box.height / 2;
  const init = { pointerType: "touch", isPrimary: true, bubbles: true, pointerId: 7 };
  body.dispatchEvent(new PointerEvent("pointerdown", { ...init, clientX: x, clientY: y }));
  body.dispatchEvent(new PointerEvent("pointerup", { ...init, clientX: x + dx, clientY: y + 4 }));
}"""


def test_phone_layout_and_stepping_through_previews(
    watched: Callable[..., Watched], tmp_path: Path, porch: Callable[..., PorchProcess]
) -> None:
    share = tmp_path / "holiday"
    (share / "photos").mkdir(parents=True)
    for name in ("a.txt", "b.txt", "c.txt"):
        (share / name).write_text(f"text of {name}\n")
    server = porch(share, "--quiet")
    tab = watched(**PHONE)
    page = tab.page
    page.goto(server.url + "/")
    assert page.title() == "holiday"
    # The date column has a header on phones too, so the list can be sorted by date.
    modified = page.locator("th.modified a")
    assert modified.is_visible()
    modified.click()
    assert page.url.endswith("?sort=modified&order=asc")
    # A folder row is one line (its time beside the name) and as tall as a file row.
    folder, file = row(page, "photos/"), row(page, "a.txt")
    name_box = folder.locator("td.name").bounding_box()
    time_box = folder.locator("td.modified").bounding_box()
    assert (
        abs((name_box["y"] + name_box["height"] / 2) - (time_box["y"] + time_box["height"] / 2)) < 4
    )
    assert folder.bounding_box()["height"] == file.bounding_box()["height"]

    # Previous / next buttons and swipes step through the previewable files.
    row(page, "a.txt").locator(".preview-button").click()
    title = page.locator("#preview-title")
    assert title.inner_text() == "a.txt"
    assert page.locator("#preview-previous").is_disabled()
    page.locator("#preview-next").click()
    page.wait_for_function("() => document.getElementById('preview-title').textContent === 'b.txt'")
    page.evaluate(SWIPE, [-120])  # a swipe to the left: the next file
    page.wait_for_function("() => document.getElementById('preview-title').textContent === 'c.txt'")
    assert page.locator("#preview-next").is_disabled()
    page.evaluate(SWIPE, [120])  # to the right: back
    page.wait_for_function("() => document.getElementById('preview-title').textContent === 'b.txt'")
    tab.assert_clean()


def test_desktop_rows_are_one_height(
    watched: Callable[..., Watched], tmp_path: Path, porch: Callable[..., PorchProcess]
) -> None:
    share = tmp_path / "share"
    (share / "folder").mkdir(parents=True)
    (share / "a.txt").write_text("a\n")
    server = porch(share, "--quiet")
    tab = watched()
    tab.page.goto(server.url + "/")
    heights = tab.page.eval_on_selector_all(
        "#rows tr", "rows => rows.map(r => Math.round(r.getBoundingClientRect().height))"
    )
    assert len(heights) == 2
    assert len(set(heights)) == 1, heights
