"""The listing page as a web app, in real headless Chromium (Debian's, through Playwright).

Every page load is watched: a console error, an uncaught exception or a Content-Security-
Policy violation fails the test, so the page provably works under the strict CSP porch sends.
Screenshots (desktop and phone width, light and dark) go to the test's tmp dir; with
``PORCH_UPDATE_SCREENSHOTS=1`` they are also written to docs/screenshots/ for the README.
"""

from __future__ import annotations

import importlib.util
import os
import struct
import time
import zlib
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import requests

from tests.browser.conftest import ARGS, CHROMIUM
from tests.helpers import PorchProcess, require_tool

pytestmark = pytest.mark.browser

DOCS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"

WATCH_CSP = """
window.__cspViolations = [];
document.addEventListener("securitypolicyviolation", (event) => {
  window.__cspViolations.push(event.violatedDirective + " " + event.blockedURI);
});
"""


def png(width: int, height: int, rgb: tuple[int, int, int]) -> bytes:
    """A solid-colour PNG, made without Pillow."""
    raw = b"".join(b"\x00" + bytes(rgb) * width for _ in range(height))

    def chunk(kind: bytes, data: bytes) -> bytes:
        crc = zlib.crc32(kind + data) & 0xFFFFFFFF
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", crc)

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(raw))
        + chunk(b"IEND", b"")
    )


def wav(seconds: float = 0.5, rate: int = 8000) -> bytes:
    """A silent 8-bit mono WAV file."""
    samples = b"\x80" * int(seconds * rate)
    header = struct.pack(
        "<4sI4s4sIHHIIHH4sI",
        b"RIFF", 36 + len(samples), b"WAVE", b"fmt ", 16, 1, 1, rate, rate, 1, 8,
        b"data", len(samples),
    )  # fmt: skip
    return header + samples


@pytest.fixture(scope="module")
def chromium() -> Iterator[Any]:
    """One headless Chromium for the module; each test gets fresh contexts from it."""
    require_tool(importlib.util.find_spec("playwright") is not None, "playwright is not installed")
    require_tool(Path(CHROMIUM).exists(), "chromium is not installed (scripts/test.sh installs it)")
    import playwright.sync_api as sync_api

    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=ARGS)
        try:
            yield browser
        finally:
            browser.close()


class Watched:
    """A page whose console errors, uncaught exceptions and CSP violations are recorded."""

    def __init__(self, browser: Any, **options: Any) -> None:
        options.setdefault("viewport", {"width": 1000, "height": 720})
        self.context = browser.new_context(**options)
        self.context.set_default_timeout(10_000)
        self.context.add_init_script(WATCH_CSP)
        self.page = self.context.new_page()
        self.errors: list[str] = []
        self.requests: list[str] = []
        self.page.on("console", lambda m: self.errors.append(m.text) if m.type == "error" else None)
        self.page.on("pageerror", lambda error: self.errors.append(str(error)))
        self.page.on("request", lambda request: self.requests.append(request.url))

    def assert_clean(self, *expected: str) -> None:
        """No CSP violation and no console error beyond the ``expected`` ones (Chromium logs
        every 4xx response as a console error, even one the page asked for on purpose)."""
        violations = self.page.evaluate("window.__cspViolations")
        assert violations == []
        assert [e for e in self.errors if not any(text in e for text in expected)] == []

    def close(self) -> None:
        self.context.close()


@pytest.fixture
def watched(chromium: Any) -> Iterator[Callable[..., Watched]]:
    opened: list[Watched] = []

    def open_page(**options: Any) -> Watched:
        page = Watched(chromium, **options)
        opened.append(page)
        return page

    yield open_page
    for page in opened:
        page.close()


def row(page: Any, name: str) -> Any:
    return page.locator("#rows tr").filter(has=page.locator(f'td.name a:text-is("{name}")'))


def visible_names(page: Any) -> list[str]:
    return page.eval_on_selector_all(
        "#rows tr:not([hidden]) td.name a", "links => links.map(a => a.textContent)"
    )


def close_preview(page: Any) -> None:
    """Escape, then wait for the page's close handler (a queued event, not run inside the key
    press) to have emptied the preview, so the next step never races with it."""
    page.keyboard.press("Escape")
    page.wait_for_function(
        "() => !document.querySelector('#preview').open"
        " && document.querySelector('#preview-body').childElementCount === 0"
    )


DROP_THREE = """
async (files) => {
  const transfer = new DataTransfer();
  for (const [name, size] of files) {
    const bytes = new Uint8Array(size);
    for (let i = 0; i < size; i++) bytes[i] = (i * 7 + name.length) & 255;
    transfer.items.add(new File([bytes], name, { type: "application/octet-stream" }));
  }
  const zone = document.getElementById("dropzone");
  for (const type of ["dragenter", "dragover", "drop"]) {
    const init = { dataTransfer: transfer, bubbles: true, cancelable: true };
    zone.dispatchEvent(new DragEvent(type, init));
  }
}
"""


def test_drop_three_files_then_409_for_an_existing_name(
    watched: Callable[..., Watched], site: Path, porch: Callable[..., PorchProcess], tmp_path: Path
) -> None:
    server = porch(site, "--quiet", "--upload-dir", str(site), "--max-upload-size", "64M")
    tab = watched()
    page = tab.page
    page.goto(server.url + "/")
    assert page.locator("#dropzone").is_visible()
    files = [("drop-a.txt", 1), ("drop-b.bin", 300_000), ("drop c ü.bin", 2_500_000)]
    page.evaluate(DROP_THREE, [list(f) for f in files])

    items = page.locator("#queue li")
    for index in range(3):
        page.wait_for_function(
            f"() => document.querySelectorAll('#queue li')[{index}]?.dataset.state === 'done'"
        )
    assert items.count() == 3
    for index, (name, size) in enumerate(files):
        item = items.nth(index)
        assert item.locator(".item-name").inner_text() == name
        assert item.locator(".item-status").inner_text() == "Done"
        bar = item.locator("progress")
        assert bar.evaluate("p => [p.value, p.max]") == [size, size]  # 100 %
        assert (
            item.locator(".item-detail")
            .inner_text()
            .startswith({1: "1 B", 300_000: "293 KiB", 2_500_000: "2.4 MiB"}[size])
        )
        on_disk = (site / name).read_bytes()
        assert len(on_disk) == size
        assert on_disk == bytes((i * 7 + len(name)) & 255 for i in range(size))
    # The listing refreshed by itself: the new rows are there, with their sizes, marked new.
    for name, size in files:
        cell = row(page, name).locator("td.size")
        cell.wait_for()
        assert cell.get_attribute("data-bytes") == str(size)
        assert "new" in (row(page, name).get_attribute("class") or "")
    assert row(page, "drop-b.bin").locator("td.size").inner_text() == "293 KiB"
    page.screenshot(path=str(tmp_path / "uploaded.png"), full_page=True)

    # A name that exists: the server's 409 and its message, the old file untouched.
    before = (site / "hello.txt").read_bytes()
    page.set_input_files(
        "#upload-files", files=[{"name": "hello.txt", "mimeType": "text/plain", "buffer": b"new"}]
    )
    failed = items.nth(3)
    page.wait_for_function(
        "() => document.querySelectorAll('#queue li')[3]?.dataset.state === 'error'"
    )
    assert failed.locator(".item-status").inner_text() == "Failed"
    assert failed.locator(".item-detail").inner_text() == (
        "409 Conflict: a file with that name exists already"
    )
    assert failed.locator(".item-detail").get_attribute("role") == "alert"
    assert (site / "hello.txt").read_bytes() == before
    page.screenshot(path=str(tmp_path / "conflict.png"), full_page=True)
    tab.assert_clean("the server responded with a status of 409 (Conflict)")


def test_filter_and_keyboard(
    watched: Callable[..., Watched], site: Path, porch: Callable[..., PorchProcess]
) -> None:
    for name in ("sunset.png", "sunrise.png", "Summary.txt", "zebra.md"):
        (site / name).write_bytes(b"x")
    server = porch(site, "--quiet")
    tab = watched()
    page = tab.page
    page.goto(server.url + "/")
    everything = visible_names(page)
    assert len(everything) == 9
    assert page.locator("#count").inner_text() == "9 entries"

    page.keyboard.press("/")  # focuses the filter
    assert page.evaluate("document.activeElement.id") == "filter"
    page.keyboard.type("su")
    assert visible_names(page) == ["Summary.txt", "sunrise.png", "sunset.png"]  # case-folded
    assert page.locator("#count").inner_text() == "3 of 9 entries"
    page.keyboard.type("nr")
    assert visible_names(page) == ["sunrise.png"]
    page.fill("#filter", "nothing-like-this")
    assert visible_names(page) == []
    assert page.locator("#no-match").is_visible()
    page.fill("#filter", "s .png")  # every word must match
    assert visible_names(page) == ["sunrise.png", "sunset.png"]

    # Arrows move the selection through the visible rows; Enter opens the selected one.
    page.keyboard.press("ArrowDown")
    assert page.locator("tr.selected td.name a").inner_text() == "sunrise.png"
    page.keyboard.press("ArrowDown")
    page.keyboard.press("ArrowDown")  # stays on the last
    assert page.locator("tr.selected td.name a").inner_text() == "sunset.png"
    assert page.evaluate("document.activeElement.textContent") == "sunset.png"
    page.keyboard.press("ArrowUp")
    assert page.locator("tr.selected td.name a").inner_text() == "sunrise.png"
    tab.assert_clean()
    page.keyboard.press("Enter")
    page.wait_for_url(server.url + "/sunrise.png")

    # Back in the listing: Escape in the filter clears it; every row is back. (Viewing the
    # image made Chromium ask for /favicon.ico, a 404 in this ROOT: not the page's error.)
    page.goto(server.url + "/")
    tab.errors.clear()
    page.keyboard.press("/")
    page.keyboard.type("zeb")
    assert visible_names(page) == ["zebra.md"]
    page.keyboard.press("Escape")
    assert visible_names(page) == everything
    tab.assert_clean()


def test_previews_and_download(
    watched: Callable[..., Watched], site: Path, porch: Callable[..., PorchProcess], tmp_path: Path
) -> None:
    (site / "photo.png").write_bytes(png(64, 40, (230, 120, 40)))
    long_text = "".join(f"line {i}: <b>not markup</b>\n" for i in range(5000))  # > 64 KiB
    (site / "long.txt").write_text(long_text)
    (site / "ünï code.py").write_text("print('hi')\n")
    (site / "tone.wav").write_bytes(wav())
    server = porch(site, "--quiet")
    tab = watched()
    page = tab.page
    page.goto(server.url + "/")

    # Image.
    row(page, "photo.png").locator(".preview-button").click()
    dialog = page.locator("#preview")
    assert dialog.is_visible()
    assert page.locator("#preview-title").inner_text() == "photo.png"
    image = page.locator("#preview-body img")
    image.wait_for()
    page.wait_for_function("() => document.querySelector('#preview-body img').naturalWidth === 64")
    page.screenshot(path=str(tmp_path / "preview-image.png"))
    close_preview(page)
    assert not dialog.is_visible()

    # Text: only the first 64 KiB is fetched (?bytes=65536), shown as text, never as markup.
    row(page, "long.txt").locator(".preview-button").click()
    text = page.locator("#preview-body pre")
    page.wait_for_function(
        "() => document.querySelector('#preview-body pre').textContent.length > 100"
    )
    shown = text.inner_text()
    assert shown.startswith("line 0: <b>not markup</b>\nline 1:")
    assert len(shown.encode()) <= 65536
    assert page.locator("#preview-body b").count() == 0
    assert page.locator("#preview-note").inner_text().startswith("Showing the first 64 KiB of")
    assert server.url + "/long.txt?bytes=65536" in tab.requests
    page.screenshot(path=str(tmp_path / "preview-text.png"))
    # The arrow keys step through the previewable files; the download link forces a save.
    page.keyboard.press("ArrowRight")
    page.wait_for_function(
        "() => document.querySelector('#preview-title').textContent === 'page.html'"
    )
    page.keyboard.press("ArrowRight")
    page.wait_for_function(
        "() => document.querySelector('#preview-title').textContent === 'photo.png'"
    )
    download = page.locator("#preview-download").get_attribute("href")
    assert download == server.url + "/photo.png?download"
    close_preview(page)
    # Focus follows the preview to the row it was showing last.
    assert page.evaluate("document.activeElement.textContent") == "photo.png"

    # Space previews the selected row too (here a code file with a non-ASCII name).
    # (The "/" shortcut itself is covered by the filter test; filling is race-free here.)
    page.fill("#filter", "code")
    assert visible_names(page) == ["ünï code.py"]
    page.keyboard.press("ArrowDown")
    assert page.evaluate("document.activeElement.textContent") == "ünï code.py"
    page.keyboard.press(" ")
    page.wait_for_function(
        "() => document.querySelector('#preview-body pre')?.textContent === \"print('hi')\\n\""
    )
    close_preview(page)

    page.fill("#filter", "")
    assert "tone.wav" in visible_names(page)
    # Audio: the native player loads it (media-src 'self' in the page's CSP allows it).
    row(page, "tone.wav").locator(".preview-button").click()
    page.wait_for_function("() => document.querySelector('#preview-body audio')?.readyState >= 1")
    assert page.locator("#preview-body audio").evaluate("a => a.duration") == pytest.approx(0.5)
    close_preview(page)  # closing stops the player: the close handler removes it

    with page.expect_download() as info:
        row(page, "ünï code.py").locator("td.actions a.download").click()
    assert info.value.suggested_filename == "ünï code.py"
    response = requests.get(server.url + "/%C3%BCn%C3%AF%20code.py?download", timeout=5)
    assert response.headers["Content-Disposition"] == (
        "attachment; filename=\"_n_ code.py\"; filename*=UTF-8''%C3%BCn%C3%AF%20code.py"
    )
    tab.assert_clean()


CLOSE_THEN = """
(then) => new Promise((done) => {
  document.querySelector("#preview").close();  // its close event is queued, not fired here
  if (then === "filter") document.querySelector("#filter").focus();
  else document.querySelector(`#rows tr:has(a[href="${then}"]) .preview-button`).click();
  setTimeout(() => done(null), 100);  // the queued close event has run by now
})
"""


def test_closing_preview_acts_only_on_current_state(
    watched: Callable[..., Watched], site: Path, porch: Callable[..., PorchProcess]
) -> None:
    """What a user does right after closing the preview (press "/" and type, reopen another
    file) is not undone by the dialog's close event, which the browser fires later."""
    (site / "a.txt").write_text("first\n")
    (site / "b.txt").write_text("second\n")
    server = porch(site, "--quiet")
    tab = watched()
    page = tab.page
    page.goto(server.url + "/")
    row(page, "a.txt").locator(".preview-button").click()
    page.wait_for_function("() => document.querySelector('#preview-body pre')?.textContent")
    page.evaluate(CLOSE_THEN, "filter")
    assert page.evaluate("document.activeElement.id") == "filter"  # focus is not taken back
    page.keyboard.type("b.t")
    assert visible_names(page) == ["b.txt"]

    page.fill("#filter", "")
    row(page, "a.txt").locator(".preview-button").click()
    page.wait_for_function("() => document.querySelector('#preview-body pre')?.textContent")
    page.evaluate(CLOSE_THEN, "b.txt")
    assert page.locator("#preview").is_visible()
    page.wait_for_function(
        "() => document.querySelector('#preview-body pre')?.textContent === 'second\\n'"
    )
    tab.assert_clean()


def test_share_panel_shows_a_qr_code(
    watched: Callable[..., Watched], site: Path, porch: Callable[..., PorchProcess]
) -> None:
    server = porch(site, "--quiet")
    tab = watched()
    page = tab.page
    page.goto(server.url + "/empty/")
    assert page.locator("#share-qr").get_attribute("src") is None  # loaded only when opened
    page.click("#share")
    page.wait_for_function("() => document.querySelector('#share-qr').naturalWidth > 0")
    assert page.locator("#share-url").inner_text() == server.url + "/empty/"
    assert page.locator(".share-note").is_visible()  # bound to 127.0.0.1: says how to share
    assert tab.requests[-1] == server.url + "/-/qr.svg?path=/empty/"
    page.keyboard.press("Escape")
    tab.assert_clean()


def test_page_works_without_javascript(
    watched: Callable[..., Watched], site: Path, porch: Callable[..., PorchProcess]
) -> None:
    server = porch(site, "--quiet", "--upload-dir", str(site))
    tab = watched(java_script_enabled=False)
    page = tab.page
    page.goto(server.url + "/")
    assert not page.locator(".filter").is_visible()  # script-only controls stay hidden
    page.set_input_files(
        "#upload-files", files=[{"name": "plain.txt", "mimeType": "text/plain", "buffer": b"p"}]
    )
    page.click("button[type=submit]")
    page.wait_for_load_state()
    assert page.url == server.url + "/"
    assert (site / "plain.txt").read_bytes() == b"p"
    assert row(page, "plain.txt").count() == 1


SCREEN_FILES = {
    "README.md": (b"# Holiday share\n\nPhotos and notes from the trip.\n", 3600 * 5),
    "build.py": (b"import sys\n\nprint(sys.argv)\n", 86400 * 2),
    "data.csv": (b"a,b\n1,2\n" * 500, 90),
    "notes.txt": (b"remember the milk\n", 86400),
    "report-2024.pdf": (b"%PDF-1.4\n" + b"\0" * 180_000, 86400 * 40),
    "backup.tar.gz": (b"\0" * 3_400_000, 86400 * 400),
    "talk.mp4": (b"\0" * 12_000_000, 600),
    "voice memo.mp3": (b"\0" * 900_000, 86400 * 9),
}


def test_screenshots(
    watched: Callable[..., Watched], tmp_path: Path, porch: Callable[..., PorchProcess]
) -> None:
    root = tmp_path / "share"
    root.mkdir()
    now = time.time()
    for name, age in (("photos", 3600), ("music", 86400 * 3), ("project notes", 86400 * 15)):
        (root / name).mkdir()
        os.utime(root / name, (now - age, now - age))
    (root / "sunset.png").write_bytes(png(640, 400, (240, 140, 60)))
    os.utime(root / "sunset.png", (now - 120, now - 120))
    for name, (data, age) in SCREEN_FILES.items():
        (root / name).write_bytes(data)
        os.utime(root / name, (now - age, now - age))
    server = porch(root, "--quiet", "--upload-dir", str(root), "--max-upload-size", "2G")
    targets = [tmp_path]
    if os.environ.get("PORCH_UPDATE_SCREENSHOTS") == "1":
        DOCS.mkdir(parents=True, exist_ok=True)
        targets.append(DOCS)
    for scheme in ("light", "dark"):
        for form, options in (
            ("desktop", {"viewport": {"width": 1100, "height": 760}}),
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
            page.goto(server.url + "/")
            background = page.evaluate("getComputedStyle(document.body).backgroundColor")
            assert background == ("rgb(13, 17, 23)" if scheme == "dark" else "rgb(246, 248, 250)")
            if form == "desktop":
                row(page, "sunset.png").hover()
            for target in targets:
                page.screenshot(path=str(target / f"listing-{form}-{scheme}.png"))
            if form == "desktop" and scheme == "dark":
                row(page, "sunset.png").locator(".preview-button").click()
                page.wait_for_function(
                    "() => document.querySelector('#preview-body img')?.naturalWidth === 640"
                )
                for target in targets:
                    page.screenshot(path=str(target / "preview-dark.png"))
            tab.assert_clean()
            tab.close()


def test_a_1_gib_upload_streams_without_freezing_the_page(
    watched: Callable[..., Watched], site: Path, porch: Callable[..., PorchProcess], tmp_path: Path
) -> None:
    """The page sends the File itself (the browser streams it from disk): progress moves, the
    page keeps answering while 1 GiB goes up, and the stored file is the whole file."""
    size = 1 << 30
    source = tmp_path / "big.bin"
    with source.open("wb") as out:  # sparse: no gigabyte of test data on disk
        out.truncate(size)
        out.seek(size // 2)
        out.write(b"middle")
    server = porch(site, "--quiet", "--upload-dir", str(site))
    tab = watched()
    page = tab.page
    page.goto(server.url + "/")
    page.set_input_files("#upload-files", files=[str(source)])
    page.wait_for_function(
        "() => Number(document.querySelector('#queue li progress')?.value) > 0", timeout=60_000
    )
    slowest = 0.0
    while page.evaluate("() => document.querySelector('#queue li').dataset.state") == "sending":
        started = time.monotonic()
        page.evaluate("() => document.querySelector('#filter').value.length")
        slowest = max(slowest, time.monotonic() - started)
        time.sleep(0.2)
    item = page.locator("#queue li").first
    page.wait_for_function(
        "() => document.querySelector('#queue li').dataset.state === 'done'", timeout=120_000
    )
    assert item.locator("progress").evaluate("p => [p.value, p.max]") == [size, size]
    assert slowest < 1.0, f"the page stopped answering for {slowest:.2f} s during the upload"
    stored = site / "big.bin"
    assert stored.stat().st_size == size
    with stored.open("rb") as data:
        data.seek(size // 2)
        assert data.read(6) == b"middle"
    stored.unlink()  # pytest keeps old tmp dirs: do not leave a gigabyte behind
    tab.assert_clean()
