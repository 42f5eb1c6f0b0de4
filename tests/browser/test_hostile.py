"""Issue 17 in real Chromium: a DNS-rebound page cannot read or write, and an uploaded page
runs no script in porch's origin.

Rebinding is reproduced as it happens: the attacker's server answers the first load of
``http://attacker.example:PORT/`` (here Playwright's ``route`` plays that server), then the
name resolves to 127.0.0.1 (Chromium's ``--host-resolver-rules``), so the page's later
same-origin requests reach porch with ``Host: attacker.example:PORT``.
"""

from __future__ import annotations

import importlib.util
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.browser.conftest import ARGS, CHROMIUM
from tests.helpers import PorchProcess, require_tool

pytestmark = pytest.mark.browser

ATTACK = """<!doctype html><title>attacker</title><script>
async function attack() {
  const results = {};
  try {
    const read = await fetch("/private/secret.txt");
    results.read = read.status + " " + (await read.text());
  } catch (error) { results.read = "error " + error; }
  try {
    const put = await fetch("/incoming/planted.html", {method: "PUT", body: "<p>planted</p>"});
    results.put = String(put.status);
  } catch (error) { results.put = "error " + error; }
  window.results = results;
}
attack();
</script>"""


@pytest.fixture
def rebinding_page(tmp_path: Path) -> Iterator[Any]:
    """A page in a Chromium that resolves attacker.example to 127.0.0.1."""
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
            args=[
                *ARGS,
                "--host-resolver-rules=MAP attacker.example 127.0.0.1",
                # Chromium's own partial defence (Private Network Access) off: porch must hold
                # without it, as it must for browsers that have none.
                "--disable-features=BlockInsecurePrivateNetworkRequests,"
                "PrivateNetworkAccessSendPreflights,PrivateNetworkAccessRespectPreflightResults,"
                "LocalNetworkAccessChecks",
            ],
        )
        try:
            context.set_default_timeout(10_000)
            yield context.pages[0] if context.pages else context.new_page()
        finally:
            context.close()


@pytest.mark.parametrize("check", ["on", "off"])
def test_a_rebound_page_can_neither_read_nor_put(
    rebinding_page: Any, site: Path, porch: Callable[..., PorchProcess], check: str
) -> None:
    (site / "private").mkdir()
    (site / "private" / "secret.txt").write_text("the secret")
    incoming = site / "incoming"
    incoming.mkdir()
    off = ("--allowed-host", "*") if check == "off" else ()
    server = porch(site, "--quiet", "--upload-dir", str(incoming), *off)
    origin = f"http://attacker.example:{server.port}"

    def attacker_server(route: Any) -> None:
        route.fulfill(status=200, content_type="text/html", body=ATTACK)

    rebinding_page.route(origin + "/", attacker_server)
    rebinding_page.goto(origin + "/")
    rebinding_page.wait_for_function("window.results !== undefined")
    results = rebinding_page.evaluate("window.results")
    if check == "off":
        # What porch did before issue 17 (and does with --allowed-host '*'): the attack works,
        # so this harness really reaches porch under the rebound name.
        assert results == {"read": "200 the secret", "put": "201"}
        return
    assert results["read"].startswith("421 ")
    assert "the secret" not in results["read"]
    assert results["put"] == "421"
    assert list(incoming.iterdir()) == []

    # The same page script on porch's real name works: the refusal is about the name.
    rebinding_page.goto(server.url + "/private/secret.txt")
    assert "the secret" in rebinding_page.content()


EVIL_HTML = """<!doctype html><title>uploaded</title><script>
document.title = "script ran";
fetch("/private/secret.txt").then(r => r.text()).then(t => { document.title = "stole " + t; });
</script><p id="body">uploaded page</p>"""

EVIL_SVG = """<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10">
<script>document.documentElement.setAttribute("data-ran", "yes");
fetch("/private/secret.txt").then(r => r.text()).then(
  t => document.documentElement.setAttribute("data-stole", t));</script></svg>"""


def test_an_uploaded_page_runs_no_script(
    page: Any, site: Path, porch: Callable[..., PorchProcess]
) -> None:
    import requests

    (site / "private").mkdir()
    (site / "private" / "secret.txt").write_text("the secret")
    incoming = site / "incoming"
    incoming.mkdir()
    server = porch(site, "--quiet", "--upload-dir", str(incoming))
    for name, text in (("evil.html", EVIL_HTML), ("evil.svg", EVIL_SVG)):
        stored = requests.put(f"{server.url}/incoming/{name}", data=text.encode(), timeout=5)
        assert stored.status_code == 201

    page.goto(server.url + "/incoming/evil.html")
    page.wait_for_timeout(300)
    assert page.title() == "uploaded"  # the script never ran
    assert page.locator("#body").inner_text() == "uploaded page"

    page.goto(server.url + "/incoming/evil.svg")
    page.wait_for_timeout(300)
    assert page.evaluate("document.documentElement.getAttribute('data-ran')") is None
    assert page.evaluate("document.documentElement.getAttribute('data-stole')") is None


def test_trusted_uploaded_html_runs_as_the_owner_asked(
    page: Any, site: Path, porch: Callable[..., PorchProcess]
) -> None:
    incoming = site / "incoming"
    incoming.mkdir()
    (incoming / "app.html").write_text(
        '<!doctype html><title>before</title><script>document.title = "ran";</script>'
    )
    server = porch(site, "--quiet", "--upload-dir", str(incoming), "--trust-uploaded-html")
    page.goto(server.url + "/incoming/app.html")
    page.wait_for_function("document.title === 'ran'")
