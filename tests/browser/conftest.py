"""Headless Chromium for page tests: Debian's /usr/bin/chromium driven by Playwright.

Never a downloaded browser build (``playwright install`` is not run anywhere): Playwright
launches the system binary through ``executable_path``, with a fresh profile per test and
everything that phones home switched off. Tests are skipped, loudly, when either piece is
missing; scripts/test.sh installs both on a fresh machine.
"""

from __future__ import annotations

import importlib.util
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.helpers import require_tool

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@pytest.fixture
def page(tmp_path: Path) -> Iterator[Any]:
    """A Playwright page in a fresh headless Chromium (own --user-data-dir under tmp_path)."""
    require_tool(importlib.util.find_spec("playwright") is not None, "playwright is not installed")
    require_tool(Path(CHROMIUM).exists(), "chromium is not installed (scripts/test.sh installs it)")
    import playwright.sync_api as sync_api

    profile = tmp_path / "chromium-profile"
    profile.mkdir()
    with sync_api.sync_playwright() as playwright:
        context = playwright.chromium.launch_persistent_context(
            str(profile),
            executable_path=CHROMIUM,
            headless=True,
            args=ARGS,
            viewport={"width": 900, "height": 640},
        )
        try:
            context.set_default_timeout(10_000)
            yield context.pages[0] if context.pages else context.new_page()
        finally:
            context.close()
