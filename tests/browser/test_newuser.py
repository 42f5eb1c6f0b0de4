"""Issue 19 in headless Chromium: the page under per-folder grants, signing in, name
conflicts, failed uploads, and a 2,000-entry folder."""

from __future__ import annotations

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
