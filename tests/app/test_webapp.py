"""The web app's server side: ?download, /-/qr.svg, where the upload form appears, --qr."""

from __future__ import annotations

import io
import re
from pathlib import Path

import pytest

import porch.share
from porch.app import App
from porch.app.files import attachment_disposition
from porch.app.listing import file_type
from porch.app.qr import MAX_QR_PATH, split_host
from porch.cli import build_parser, config_from_args
from porch.config import Config
from porch.server.banner import banner_extra
from porch.testing import Client

HTML = {"Accept": "text/html"}


@pytest.fixture
def root(tmp_path: Path) -> Path:
    site = tmp_path / "site"
    (site / "incoming").mkdir(parents=True)
    (site / "sub").mkdir()
    (site / "ünï code.py").write_text("print()\n")
    (site / 'quote"d %20.txt').write_text("q\n")
    return site


@pytest.mark.parametrize(
    ("name", "header"),
    [
        ("plain.txt", "attachment; filename=\"plain.txt\"; filename*=UTF-8''plain.txt"),
        (
            "ünï code.py",
            "attachment; filename=\"_n_ code.py\"; filename*=UTF-8''%C3%BCn%C3%AF%20code.py",
        ),
        (
            'quote"d %20.txt',
            "attachment; filename=\"quote_d _20.txt\"; filename*=UTF-8''quote%22d%20%2520.txt",
        ),
        ("a\\b;c.txt", "attachment; filename=\"a_b;c.txt\"; filename*=UTF-8''a%5Cb%3Bc.txt"),
    ],
)
def test_attachment_disposition(name: str, header: str) -> None:
    assert attachment_disposition(name) == header


def test_download_parameter_forces_a_save(root: Path) -> None:
    client = Client(App(Config(root=root)))
    plain = client.get("/%C3%BCn%C3%AF%20code.py")
    assert "Content-Disposition" not in plain.headers
    saved = client.get("/%C3%BCn%C3%AF%20code.py?download")
    assert saved.status == 200
    assert saved.body == b"print()\n"
    assert saved.headers.get("Content-Disposition") == attachment_disposition("ünï code.py")
    ranged = client.get("/%C3%BCn%C3%AF%20code.py?download", headers={"Range": "bytes=0-1"})
    assert ranged.status == 206
    assert ranged.headers.get("Content-Disposition", "").startswith("attachment;")
    missing = client.get("/nothing.txt?download")
    assert missing.status == 404
    assert "Content-Disposition" not in missing.headers


def test_listing_rows_carry_type_size_and_download_link(root: Path) -> None:
    page = Client(App(Config(root=root))).get("/", headers=HTML).text
    assert (
        '<tr class="file" data-type="code"><td class="name">'
        '<a href="%C3%BCn%C3%AF%20code.py">ünï code.py</a></td>'
        '<td class="size" data-bytes="8" title="8 bytes">8 B</td>'
    ) in page
    assert (
        '<a class="download" href="%C3%BCn%C3%AF%20code.py?download"'
        ' aria-label="Download ünï code.py"></a>'
    ) in page
    assert '<tr class="dir" data-type="dir"><td class="name"><a href="sub/">sub/</a>' in page
    assert 'href="sub/?download"' not in page


@pytest.mark.parametrize(
    ("name", "kind"),
    [
        ("a.PNG", "image"),
        ("song.flac", "audio"),
        ("clip.webm", "video"),
        ("x.tar.gz", "archive"),
        ("doc.pdf", "pdf"),
        ("main.rs", "code"),
        ("Makefile", "code"),
        ("notes.md", "text"),
        ("blob", "file"),
        ("weird.", "file"),
    ],
)
def test_file_type(name: str, kind: str) -> None:
    assert file_type(name) == kind


def form_shown(page: str) -> bool:
    return 'id="dropzone"' in page


def test_upload_form_placement(root: Path, tmp_path: Path) -> None:
    no_uploads = Client(App(Config(root=root))).get("/", headers=HTML).text
    assert not form_shown(no_uploads)
    assert "Uploads go to" not in no_uploads

    inside = Client(App(Config(root=root, upload_dir=root / "incoming")))
    assert form_shown(inside.get("/incoming/", headers=HTML).text)
    elsewhere = inside.get("/sub/", headers=HTML).text
    assert not form_shown(elsewhere)
    assert 'Uploads go to <a href="/incoming/">/incoming/</a>' in elsewhere

    outside_dir = tmp_path / "outside"
    outside_dir.mkdir()
    outside = Client(App(Config(root=root, upload_dir=outside_dir, max_upload_size=10 << 20)))
    for path in ("/", "/sub/"):
        page = outside.get(path, headers=HTML).text
        assert form_shown(page)
        assert "Saved in the upload folder (not listed here) · up to 10 MiB each" in page
        assert str(outside_dir) not in page  # never a server path


def test_qr_svg(root: Path) -> None:
    client = Client(App(Config(root=root, allowed_hosts=("files.example",))))
    response = client.get("/-/qr.svg?path=/sub/", headers={"Host": "files.example:8000"})
    assert response.status == 200
    assert response.headers.get("Content-Type") == "image/svg+xml"
    assert response.headers.get("Cache-Control") == "no-store"
    assert response.body.startswith(b"<svg")
    assert b"<script" not in response.body
    assert response.body == porch.share.qr_svg("http://files.example:8000/sub/")
    assert client.get("/-/qr.svg").body == porch.share.qr_svg("http://localhost/")


@pytest.mark.parametrize(
    "path", ["sub/", "//evil.example/", "/a b", "/\u00e9", "/" + "a" * MAX_QR_PATH]
)
def test_qr_svg_refuses_odd_paths(root: Path, path: str) -> None:
    import urllib.parse

    target = "/-/qr.svg?path=" + urllib.parse.quote(path)
    assert Client(App(Config(root=root))).get(target).status == 400


def test_qr_path_limit_at_n(root: Path) -> None:
    target = "/-/qr.svg?path=/" + "a" * (MAX_QR_PATH - 1)
    assert Client(App(Config(root=root))).get(target).status == 200


def test_qr_swaps_loopback_for_the_lan_address(root: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(
        "porch.app.qr.lan_addresses", lambda host: ["192.168.1.20"] if host == "0.0.0.0" else []
    )
    client = Client(App(Config(root=root, host="0.0.0.0", allowed_hosts=("laptop.lan",))))
    for host in ("localhost:8000", "127.0.0.1:8000", "[::1]:8000"):
        page = client.get("/sub/", headers={**HTML, "Host": host}).text
        assert '<code id="share-url">http://192.168.1.20:8000/sub/</code>' in page
        assert "share-note" not in page
    page = client.get("/sub/", headers={**HTML, "Host": "laptop.lan:8000"}).text
    assert '<code id="share-url">http://laptop.lan:8000/sub/</code>' in page
    local = Client(App(Config(root=root))).get("/", headers={**HTML, "Host": "127.0.0.1:9"})
    assert '<code id="share-url">http://127.0.0.1:9/</code>' in local.text
    assert "--host 0.0.0.0" in local.text  # how to share, said on the page


@pytest.mark.parametrize(
    ("host", "parts"),
    [
        ("example.org:8000", ("example.org", ":8000")),
        ("example.org", ("example.org", "")),
        ("[::1]:8000", ("[::1]", ":8000")),
        ("[::1]", ("[::1]", "")),
    ],
)
def test_split_host(host: str, parts: tuple[str, str]) -> None:
    assert split_host(host) == parts


def test_qr_flag_reaches_config(root: Path) -> None:
    parser = build_parser()
    assert config_from_args(parser.parse_args([str(root)]), parser).qr is False
    assert config_from_args(parser.parse_args([str(root), "--qr"]), parser).qr is True


def test_banner_lists_every_url_and_the_qr(root: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(porch.share, "lan_addresses", lambda host: ["192.168.1.20", "10.0.0.5"])
    out = io.StringIO()
    banner_extra(Config(root=root, host="0.0.0.0", qr=True), 8000, "http", out)
    lines = out.getvalue().splitlines()
    assert lines[:3] == [
        "  local:   http://127.0.0.1:8000/",
        "  network: http://192.168.1.20:8000/",
        "  network: http://10.0.0.5:8000/",
    ]
    assert [line.split(":")[0].strip() for line in lines[3:6]] == ["uploads", "TLS", "access"]
    assert lines[-1] == "  http://192.168.1.20:8000/"
    assert len(lines) > 15  # the code itself, drawn with block characters
    assert set("".join(lines[6:-1])) <= set("█▀▄ ")

    quiet = io.StringIO()
    banner_extra(Config(root=root, host="127.0.0.1"), 8000, "http", quiet)
    assert "http://" not in quiet.getvalue()  # one specific address: the first line says it
    warned = io.StringIO()
    banner_extra(Config(root=root, host="127.0.0.1", qr=True), 8000, "http", warned)
    assert "a phone cannot open the code's URL" in warned.getvalue()


def test_lan_addresses_are_never_loopback_and_only_for_wildcards() -> None:
    porch.share._cache.clear()
    found = porch.share.lan_addresses("0.0.0.0")
    assert all(re.fullmatch(r"\d+\.\d+\.\d+\.\d+", a) for a in found)
    assert not any(a.startswith("127.") for a in found)
    assert porch.share.lan_addresses("127.0.0.1") == []
    assert porch.share.lan_addresses("192.168.1.20") == []
