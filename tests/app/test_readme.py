"""READMEs under HTML listings through porch.testing: rendering, hostile input, visibility."""

from __future__ import annotations

import os
import re
import time
from pathlib import Path

import pytest

from porch.app import App
from porch.app.readme import render, safe_link
from porch.config import Config
from porch.testing import Client

HTML = {"Accept": "text/html"}

HOSTILE = (
    """# Hostile <b>README</b>

<script>alert("raw script")</script>
<img src=x onerror="alert('img')">
<a href="javascript:alert(1)">raw link</a>

[js link](javascript:alert(2)) [tab js](java\tscript:alert(3)) [encoded](jav&#x61;script:alert(4))
[data link](data:text/html,<script>alert(5)</script>) ![data image](data:image/png;base64,AAAA)
[vb](vbscript:msgbox) [file](file:///etc/passwd) [pct](%6Aavascript:alert(6))
[ok](https://example.org/) [relative](docs/note.txt) [mail](mailto:a@example.org)

"""
    + "| a | b |\n|---|---|\n"
    + "| <script>x</script> | [j](javascript:alert(7)) |\n" * 2000
)


@pytest.fixture
def site(tmp_path: Path) -> Path:
    root = tmp_path / "site"
    (root / "docs").mkdir(parents=True)
    (root / "README.md").write_text(HOSTILE)
    (root / "docs" / "README").write_text("plain <text> & stuff\n")
    (root / "docs" / "note.txt").write_text("n")
    (root / "outside-readme").mkdir()
    outside = tmp_path / "secret.md"
    outside.write_text("# secret outside ROOT\n")
    (root / "outside-readme" / "README.md").symlink_to(outside)
    (root / "hidden-readme").mkdir()
    (root / "hidden-readme" / "README.md").symlink_to("../.private.md")
    (root / ".private.md").write_text("# private hidden\n")
    return root


def readme_section(page: str) -> str:
    found = re.search(r'<section class="readme".*?</section>', page, re.DOTALL)
    assert found is not None
    return found.group(0)


def test_hostile_readme_renders_inert(site: Path) -> None:
    page = Client(App(Config(root=site, max_readme_size=1 << 20))).get("/", headers=HTML)
    assert page.status == 200
    section = readme_section(page.text)
    assert "<script" not in section
    assert "onerror" not in section.replace("onerror=&quot;", "")  # only as escaped text
    assert "<img src=x" not in section
    hrefs = re.findall(r'(?:href|src)="([^"]*)"', section)
    assert hrefs, "the safe links survive"
    for href in hrefs:
        assert not href.lower().startswith(("javascript", "data", "vbscript", "file", "%6a")), href
    assert 'href="https://example.org/"' in section
    assert 'href="docs/note.txt"' in section
    assert 'href="mailto:a@example.org"' in section
    assert section.count("<tr>") == 2001  # the huge table, as a table
    assert page.headers.get("content-security-policy")


def test_plain_readme_is_preformatted(site: Path) -> None:
    page = Client(App(Config(root=site))).get("/docs/", headers=HTML).text
    assert "<pre>plain &lt;text&gt; &amp; stuff\n</pre>" in readme_section(page)


@pytest.mark.parametrize("folder", ["/outside-readme/", "/hidden-readme/"])
def test_readme_through_resolve(site: Path, folder: str) -> None:
    page = Client(App(Config(root=site))).get(folder, headers=HTML).text
    assert 'class="readme"' not in page
    assert "secret" not in page
    assert "private hidden" not in page


def test_text_and_json_listings_unchanged(site: Path) -> None:
    with_readmes = Client(App(Config(root=site)))
    without = Client(App(Config(root=site, readmes=False)))
    for accept in ("text/plain", "application/json"):
        headers = {"Accept": accept}
        assert with_readmes.get("/", headers=headers).body == without.get("/", headers=headers).body
    assert 'class="readme"' not in without.get("/", headers=HTML).text


@pytest.mark.parametrize(("limit", "shown"), [(22, True), (21, False)])
def test_size_limit_at_n_and_n_plus_one(site: Path, limit: int, shown: bool) -> None:
    (site / "docs" / "README").write_text("x" * 22)
    page = Client(App(Config(root=site, max_readme_size=limit))).get("/docs/", headers=HTML).text
    section = readme_section(page)
    assert ("x" * 22 in section) is shown
    assert ("too large" in section) is not shown


def test_new_version_is_shown(site: Path) -> None:
    client = Client(App(Config(root=site)))
    assert "plain &lt;text&gt;" in client.get("/docs/", headers=HTML).text
    (site / "docs" / "README").write_text("second version\n")
    later = time.time() + 5
    os.utime(site / "docs" / "README", (later, later))
    time.sleep(1.1)  # past the listing cache's lifetime (porch.app.listingcache)
    assert "second version" in client.get("/docs/", headers=HTML).text


@pytest.mark.parametrize(
    ("url", "safe"),
    [
        ("https://a.example/", True),
        ("docs/x.txt", True),
        ("#top", True),
        ("mailto:x@example.org", True),
        ("javascript:alert(1)", False),
        (" JavaScript:alert(1)", False),
        ("java\nscript:alert(1)", False),
        ("%6Aavascript:alert(1)", False),
        ("data:text/html,x", False),
        ("data:image/png;base64,AA", False),
        ("vbscript:x", False),
        ("file:///etc/passwd", False),
    ],
)
def test_safe_link_table(url: str, safe: bool) -> None:
    assert safe_link(url) is safe


def test_render_has_no_raw_html() -> None:
    assert render("README.md", "<div>x</div>") == "<p>&lt;div&gt;x&lt;/div&gt;</p>\n"
