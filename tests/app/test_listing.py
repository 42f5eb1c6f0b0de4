"""Listings through porch.testing, on a pyfakefs file system (the listing logic), plus the
pure helpers of porch.app.listing."""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from pyfakefs.fake_filesystem_unittest import Patcher

import porch.app
from porch.app import App
from porch.app.listing import Entry, escape_text, human_size, sort_entries
from porch.app.security import PAGE_CSP
from porch.config import Config
from porch.testing import Client

TEMPLATES = Path(porch.app.__file__).parent / "templates"
ROOT = Path("/srv/site")
HTML = {"Accept": "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"}


@pytest.fixture
def fake() -> Iterator[Patcher]:
    with Patcher() as patcher:
        assert patcher.fs is not None
        patcher.fs.add_real_directory(str(TEMPLATES))
        fs = patcher.fs
        fs.create_file(ROOT / "b.txt", contents="bb")
        fs.create_file(ROOT / "A.txt", contents="a" * 3000)
        fs.create_file(ROOT / "c.bin", contents="c" * 10)
        fs.create_dir(ROOT / "zdir")
        fs.create_dir(ROOT / "adir")
        fs.create_file(ROOT / "zdir" / "inner.txt", contents="in")
        fs.create_file(ROOT / ".hidden", contents="h")
        fs.create_dir(ROOT / ".git")
        fs.create_file("/srv/outside.txt", contents="secret")
        fs.create_symlink(ROOT / "escape.txt", "/srv/outside.txt")
        fs.create_symlink(ROOT / "inside.txt", ROOT / "b.txt")
        fs.create_symlink(ROOT / "to-hidden", ROOT / ".hidden")
        fs.create_symlink(ROOT / "broken", ROOT / "missing")
        for path, when in (("b.txt", 3000), ("A.txt", 1000), ("c.bin", 2000)):
            os.utime(ROOT / path, (when, when))
        yield patcher


def client(*, hidden: bool = False) -> Client:
    return Client(App(Config(root=ROOT, hidden=hidden)))


def names(text: str) -> list[str]:
    return text.splitlines()


def test_text_is_the_default(fake: Patcher) -> None:
    for headers in ({}, {"Accept": "*/*"}):
        response = client().get("/", headers=headers)
        assert response.status == 200
        assert response.headers.get("content-type") == "text/plain; charset=utf-8"
        assert names(response.text) == ["adir/", "zdir/", "A.txt", "b.txt", "c.bin", "inside.txt"]
        assert "Accept" in response.headers.get_all("vary")


def test_hidden_and_escaping_and_broken_links_are_left_out(fake: Patcher) -> None:
    listed = names(client().get("/").text)
    for absent in (".hidden", ".git/", "escape.txt", "to-hidden", "broken"):
        assert absent not in listed


def test_hidden_flag_lists_dot_files_but_never_links_outside(fake: Patcher) -> None:
    listed = names(client(hidden=True).get("/").text)
    assert ".hidden" in listed
    assert ".git/" in listed
    assert "to-hidden" in listed
    assert "escape.txt" not in listed


def test_json(fake: Patcher) -> None:
    response = client().get("/", headers={"Accept": "application/json"})
    assert response.headers.get("content-type") == "application/json"
    data = response.json()
    assert isinstance(data, list)
    by_name = {item["name"]: item for item in data}
    assert by_name["adir"] == {
        "name": "adir",
        "type": "dir",
        "size": None,
        "modified": by_name["adir"]["modified"],
    }
    assert by_name["A.txt"]["type"] == "file"
    assert by_name["A.txt"]["size"] == 3000
    assert by_name["A.txt"]["modified"] == "1970-01-01T00:16:40Z"


def test_html_for_browsers(fake: Patcher) -> None:
    response = client().get("/zdir/", headers=HTML)
    assert response.headers.get("content-type") == "text/html; charset=utf-8"
    page = response.text
    assert '<a href="inner.txt">inner.txt</a>' in page
    assert '<a href="../">../</a>' in page
    assert '<a href="/">site</a>' in page  # breadcrumbs, from the root folder's own name
    assert "<title>zdir</title>" in page  # the folder's name (issue 19)
    assert '<link rel="stylesheet" href="/-/static/listing.css">' in page
    # Script only from porch's own files (the CSP forbids inline script): every tag has a src
    # under /-/static/ and nothing between the tags; no inline style or event handler either.
    scripts = re.findall(r"<script([^>]*)>(.*?)</script>", page, re.DOTALL)
    assert scripts == [(' type="module" src="/-/static/listing.js"', "")]
    assert "<style" not in page
    assert " style=" not in page
    assert not re.search(r"\son[a-z]+=", page)
    assert response.headers.get("Content-Security-Policy") == PAGE_CSP


def test_root_has_no_parent_link(fake: Patcher) -> None:
    assert 'href="../"' not in client().get("/", headers=HTML).text


@pytest.mark.parametrize(
    ("query", "content_type"),
    [("text", "text/plain"), ("html", "text/html"), ("json", "application/json")],
)
def test_format_parameter_overrides_accept(fake: Patcher, query: str, content_type: str) -> None:
    response = client().get(f"/?format={query}", headers={"Accept": "image/png"})
    assert (response.headers.get("content-type") or "").startswith(content_type)
    assert "Accept" not in response.headers.get_all("vary")


@pytest.mark.parametrize("query", ["format=xml", "sort=colour", "order=up"])
def test_bad_parameters_are_400(fake: Patcher, query: str) -> None:
    response = client().get(f"/?{query}")
    assert response.status == 400
    assert "must be one of" in response.text


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("sort=name&order=desc", ["zdir/", "adir/", "inside.txt", "c.bin", "b.txt", "A.txt"]),
        ("sort=size", ["adir/", "zdir/", "b.txt", "inside.txt", "c.bin", "A.txt"]),
        ("sort=size&order=desc", ["zdir/", "adir/", "A.txt", "c.bin", "inside.txt", "b.txt"]),
        ("sort=modified", ["A.txt", "c.bin", "b.txt"]),
    ],
)
def test_sorting(fake: Patcher, query: str, expected: list[str]) -> None:
    listed = names(client().get(f"/?{query}").text)
    if query == "sort=modified":
        listed = [n for n in listed if n in expected]
    assert listed == expected


def test_sort_links_toggle_order(fake: Patcher) -> None:
    page = client().get("/?sort=size&order=asc", headers=HTML).text
    assert 'href="?sort=size&amp;order=desc"' in page
    assert 'href="?sort=name&amp;order=asc"' in page
    assert 'aria-sort="ascending"' in page


NASTY = [
    '<img src="x" onerror=alert(1)>.txt',
    "quote\"and'apos.txt",
    "50% off #1?.txt",
    "javascript:alert(1)",
    "new\nline.txt",  # cannot be requested (control character), so not listed
    "line\u2028separator\x85.txt",
    "ünïcödé ✓.txt",
]


def test_names_are_escaped_in_every_format(fake: Patcher) -> None:
    assert fake.fs is not None
    for name in NASTY:
        fake.fs.create_file(ROOT / "nasty" / name, contents="x")
    c = client()
    text = c.get("/nasty/").text
    assert "line\\u2028separator\\x85.txt" in text.split("\n")
    assert len(text.split("\n")) == len(NASTY)  # the newline name is out; one empty last line
    page = c.get("/nasty/", headers=HTML).text
    assert "<img src=" not in page  # (the page's own QR <img> has no src until opened)
    assert "&lt;img src=&quot;x&quot; onerror=alert(1)&gt;.txt" in page
    assert 'href="%3Cimg%20src%3D%22x%22%20onerror%3Dalert%281%29%3E.txt"' in page
    assert 'href="50%25%20off%20%231%3F.txt"' in page
    assert 'href="javascript%3Aalert%281%29"' in page
    assert 'href="%C3%BCn%C3%AFc%C3%B6d%C3%A9%20%E2%9C%93.txt"' in page
    data = c.get("/nasty/?format=json").json()
    assert isinstance(data, list)
    assert sorted(item["name"] for item in data) == sorted(NASTY[:4] + NASTY[5:])


def test_names_a_url_cannot_carry_are_not_listed(fake: Patcher) -> None:
    assert fake.fs is not None
    fake.fs.create_file(ROOT / "odd" / "back\\slash", contents="x")
    fake.fs.create_file(ROOT / "odd" / "C:drive", contents="x")
    fake.fs.create_file(ROOT / "odd" / "fine", contents="x")
    assert names(client().get("/odd/").text) == ["fine"]


def test_empty_directory(fake: Patcher) -> None:
    c = client()
    assert c.get("/adir/").text == ""
    assert "This directory is empty." in c.get("/adir/", headers=HTML).text
    assert c.get("/adir/?format=json").json() == []


def test_large_listing_is_gzipped_when_accepted(fake: Patcher) -> None:
    import gzip

    assert fake.fs is not None
    for index in range(300):
        fake.fs.create_file(ROOT / "many" / f"file-{index:04}.txt")
    response = client().get("/many/", headers={"Accept-Encoding": "gzip"})
    assert response.headers.get("content-encoding") == "gzip"
    assert names(gzip.decompress(response.body).decode()) == [
        f"file-{index:04}.txt" for index in range(300)
    ]
    assert "Accept-Encoding" in response.headers.get_all("vary")


# -- on the real file system (file bodies are read with os.pread, which pyfakefs lacks) ------


def test_what_is_listed_is_served_and_links_work(tmp_path: Path) -> None:
    root = tmp_path / "site"
    root.mkdir()
    (tmp_path / "outside.txt").write_text("secret")
    (root / "b.txt").write_text("bb")
    (root / "escape.txt").symlink_to(tmp_path / "outside.txt")
    (root / "inside.txt").symlink_to(root / "b.txt")
    for name in NASTY:
        (root / name).write_text(name)
    (root / "sub").mkdir()
    (root / "sub" / "index.html").write_text("<p>home</p>")
    c = Client(App(Config(root=root)))
    listed = names(c.get("/").text)
    assert "inside.txt" in listed
    assert "escape.txt" not in listed
    assert c.get("/escape.txt").status == 404
    assert c.get("/inside.txt").text == "bb"
    # Every link in the HTML page fetches the file it names.
    import re
    import urllib.parse

    page = c.get("/", headers=HTML).text
    links = re.findall(r'<td class="name"><a href="([^"]+)">', page)
    assert len(links) == len(listed)
    for link in links:
        name = urllib.parse.unquote(link)
        fetched = c.get("/" + link)
        assert fetched.status == 200
        if name in NASTY:
            assert fetched.text == name
    # A directory with index.html serves it instead of a listing.
    assert c.get("/sub/").text == "<p>home</p>"


# -- pure helpers -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("size", "text"),
    [
        (0, "0 B"),
        (1023, "1023 B"),
        (1024, "1.0 KiB"),
        (1536, "1.5 KiB"),
        (10 * 1024, "10 KiB"),
        (5 * 1024**3, "5.0 GiB"),
    ],
)
def test_human_size(size: int, text: str) -> None:
    assert human_size(size) == text


def test_escape_text() -> None:
    assert escape_text("a\tb\x1b[31m\u2028") == "a\\x09b\\x1b[31m\\u2028"
    assert escape_text("plain name.txt") == "plain name.txt"


def test_sort_entries_puts_directories_first_in_both_orders() -> None:
    entries = [Entry("b", False, 1, 0), Entry("a", True, 0, 0), Entry("c", True, 0, 0)]
    assert [e.name for e in sort_entries(entries)] == ["a", "c", "b"]
    assert [e.name for e in sort_entries(entries, "name", "desc")] == ["c", "a", "b"]


def test_templates_are_listed_under_the_name_that_serves_them(fake: Patcher) -> None:
    fake.fs.create_file(ROOT / "greet.html.j2", contents="<p>{{ name }}</p>")
    fake.fs.create_file(ROOT / "report.txt.j2", contents="{{ n }}")
    fake.fs.create_file(ROOT / "report.txt", contents="shadowed by the template")
    listed = names(client().get("/").text)
    assert "greet.html" in listed
    assert listed.count("report.txt") == 1
    assert not any(name.endswith(".j2") for name in listed)
    rows = client().get("/?format=json").json()
    assert isinstance(rows, list)
    report = next(row for row in rows if row["name"] == "report.txt")
    assert report["size"] == len("{{ n }}")


def test_cached_listing_pages_are_never_shared_between_different_pages(tmp_path: Path) -> None:
    """The listing cache keys on everything the page shows: the Host (share URL), the mount."""
    import time as _time

    root = tmp_path / "site"
    root.mkdir()
    (root / "a.txt").write_text("a")
    past = _time.time() - 60  # old enough for the listing cache to keep it
    os.utime(root, (past, past))
    app = App(Config(root=root.resolve(), allowed_hosts=("one.example", "two.example")))
    client = Client(app)
    first = client.get("/", headers={**HTML, "Host": "one.example:8000"}).text
    second = client.get("/", headers={**HTML, "Host": "two.example:8000"}).text
    assert "http://one.example:8000/" in first
    assert "http://two.example:8000/" in second
    assert "one.example" not in second
