"""Files through porch.testing: validators, conditionals, ranges, ?bytes=N, compression."""

from __future__ import annotations

import email.parser
import gzip
import os
from pathlib import Path

import pytest

from porch.app import App
from porch.config import Config
from porch.http import format_http_date
from porch.testing import Client, TestResponse

TEXT = ("porch serves files. " * 200).encode()  # 4000 bytes, compressible


@pytest.fixture
def root(tmp_path: Path) -> Path:
    site = tmp_path / "site"
    site.mkdir()
    (site / "text.txt").write_bytes(TEXT)
    (site / "data.bin").write_bytes(bytes(range(256)) * 40)  # 10240 bytes
    (site / "small.txt").write_text("tiny\n")
    (site / "empty.txt").write_bytes(b"")
    (site / "image.png").write_bytes(b"\x89PNG" + b"\x00" * 5000)
    return site


def client(root: Path, **settings: object) -> Client:
    return Client(App(Config(root=root, **settings)))  # type: ignore[arg-type]


def multipart_parts(response: TestResponse) -> list[tuple[str, bytes]]:
    """(Content-Range, bytes) of each part of a multipart/byteranges body."""
    content_type = response.headers.get("content-type") or ""
    raw = f"Content-Type: {content_type}\r\n\r\n".encode() + response.body
    message = email.parser.BytesParser().parsebytes(raw)
    assert message.is_multipart()
    parts = []
    for part in message.get_payload():  # type: ignore[union-attr]
        payload = part.get_payload(decode=True)  # type: ignore[union-attr]
        parts.append((part["Content-Range"], payload))  # type: ignore[index]
    return parts


# -- validators and conditionals ----------------------------------------------------------------


def test_validators_on_every_file(root: Path) -> None:
    response = client(root).get("/text.txt")
    assert response.status == 200
    etag = response.headers.get("etag") or ""
    assert etag.startswith('"')
    assert not etag.startswith("W/")
    info = os.stat(root / "text.txt")
    assert response.headers.get("last-modified") == format_http_date(info.st_mtime)
    assert response.headers.get("accept-ranges") == "bytes"


def test_etag_changes_when_the_file_changes(root: Path) -> None:
    c = client(root)
    before = c.get("/small.txt").headers.get("etag")
    (root / "small.txt").write_text("tiny!\n")
    assert c.get("/small.txt").headers.get("etag") != before


@pytest.mark.parametrize("method", ["GET", "HEAD"])
def test_if_none_match_gives_304_with_validators(root: Path, method: str) -> None:
    c = client(root)
    first = c.get("/text.txt")
    etag = first.headers.get("etag") or ""
    again = c.request(method, "/text.txt", headers={"If-None-Match": f'"nope", W/{etag}'})
    assert again.status == 304
    assert again.body == b""
    assert again.headers.get("etag") == etag
    assert again.headers.get("last-modified") == first.headers.get("last-modified")
    assert again.headers.get("vary") == "Accept-Encoding"


def test_if_modified_since(root: Path) -> None:
    c = client(root)
    last_modified = c.get("/text.txt").headers.get("last-modified") or ""
    assert c.get("/text.txt", headers={"If-Modified-Since": last_modified}).status == 304
    older = format_http_date(os.stat(root / "text.txt").st_mtime - 3600)
    assert c.get("/text.txt", headers={"If-Modified-Since": older}).status == 200


def test_failed_if_match_and_if_unmodified_since_give_412(root: Path) -> None:
    c = client(root)
    assert c.get("/text.txt", headers={"If-Match": '"stale"'}).status == 412
    older = format_http_date(os.stat(root / "text.txt").st_mtime - 3600)
    assert c.get("/text.txt", headers={"If-Unmodified-Since": older}).status == 412
    etag = c.get("/text.txt").headers.get("etag") or ""
    assert c.get("/text.txt", headers={"If-Match": etag}).status == 200


# -- ranges -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("header", "first", "last"),
    [("bytes=0-99", 0, 99), ("bytes=10000-", 10000, 10239), ("bytes=-40", 10200, 10239)],
)
def test_single_range(root: Path, header: str, first: int, last: int) -> None:
    response = client(root).get("/data.bin", headers={"Range": header})
    assert response.status == 206
    assert response.headers.get("content-range") == f"bytes {first}-{last}/10240"
    data = (root / "data.bin").read_bytes()
    assert response.body == data[first : last + 1]


def test_single_range_is_a_file_body_for_sendfile(root: Path) -> None:
    import asyncio

    from porch.http import FileBody, Headers, Request

    app = App(Config(root=root))
    request = Request("GET", "/data.bin", "/data.bin", headers=Headers([("Range", "bytes=5-9")]))
    response = asyncio.run(app(request))
    assert isinstance(response.body, FileBody)
    assert (response.body.offset, response.body.length) == (5, 5)
    assert response.body.fd is not None
    os.close(response.body.fd)


def test_multiple_ranges_are_multipart(root: Path) -> None:
    response = client(root).get("/data.bin", headers={"Range": "bytes=0-9, 100-199, -5"})
    assert response.status == 206
    assert (response.headers.get("content-type") or "").startswith("multipart/byteranges;")
    data = (root / "data.bin").read_bytes()
    assert multipart_parts(response) == [
        ("bytes 0-9/10240", data[0:10]),
        ("bytes 100-199/10240", data[100:200]),
        ("bytes 10235-10239/10240", data[10235:]),
    ]


def test_large_multipart_range_streams_in_bounded_chunks(root: Path) -> None:
    big = root / "big.bin"
    big.write_bytes(os.urandom(600_000))
    response = client(root).get("/big.bin", headers={"Range": "bytes=0-299999,400000-"})
    data = big.read_bytes()
    assert multipart_parts(response) == [
        ("bytes 0-299999/600000", data[:300000]),
        ("bytes 400000-599999/600000", data[400000:]),
    ]


def test_unsatisfiable_range_is_416(root: Path) -> None:
    response = client(root).get("/data.bin", headers={"Range": "bytes=20000-"})
    assert response.status == 416
    assert response.headers.get("content-range") == "bytes */10240"


@pytest.mark.parametrize("header", ["bytes=5-1", "bytes=abc", "pages=1-2", "bytes 0-1"])
def test_bad_range_syntax_is_ignored(root: Path, header: str) -> None:
    response = client(root).get("/data.bin", headers={"Range": header})
    assert response.status == 200
    assert len(response.body) == 10240


def test_range_ignored_for_head_and_empty_files(root: Path) -> None:
    c = client(root)
    assert c.head("/data.bin", headers={"Range": "bytes=0-1"}).status == 200
    assert c.get("/empty.txt", headers={"Range": "bytes=0-1"}).status == 200


def test_if_range(root: Path) -> None:
    c = client(root)
    etag = c.get("/data.bin").headers.get("etag") or ""
    fresh = c.get("/data.bin", headers={"Range": "bytes=0-1", "If-Range": etag})
    assert fresh.status == 206
    stale = c.get("/data.bin", headers={"Range": "bytes=0-1", "If-Range": '"old"'})
    assert stale.status == 200
    assert len(stale.body) == 10240


def test_max_ranges_at_limit_and_past_it(root: Path) -> None:
    c = client(root, max_ranges=3)
    three = c.get("/data.bin", headers={"Range": "bytes=0-0,2-2,4-4"})
    assert three.status == 206
    four = c.get("/data.bin", headers={"Range": "bytes=0-0,2-2,4-4,6-6"})
    assert four.status == 200
    assert len(four.body) == 10240


def test_overlapping_ranges_do_not_multiply_the_file(root: Path) -> None:
    response = client(root).get("/data.bin", headers={"Range": "bytes=0-,0-,0-,0-"})
    assert response.status == 206
    assert response.headers.get("content-range") == "bytes 0-10239/10240"
    assert len(response.body) == 10240


# -- ?bytes=N -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("n", "length"), [("0", 0), ("10", 10), ("10240", 10240), ("99999", 10240)]
)
def test_bytes_parameter(root: Path, n: str, length: int) -> None:
    response = client(root).get(f"/data.bin?bytes={n}")
    assert response.status == 200
    assert response.body == (root / "data.bin").read_bytes()[:length]


def test_bytes_parameter_with_head(root: Path) -> None:
    import asyncio

    from porch.http import FileBody, Headers, Request

    app = App(Config(root=root))
    request = Request("HEAD", "/data.bin?bytes=7", "/data.bin", {"bytes": ["7"]}, headers=Headers())
    response = asyncio.run(app(request))
    assert response.status == 200
    assert isinstance(response.body, FileBody)
    assert response.body.length == 7  # the server's Content-Length
    assert response.body.fd is not None
    os.close(response.body.fd)


@pytest.mark.parametrize(
    ("n", "message"),
    [
        ("-1", "must not be negative"),
        ("abc", "non-negative integer"),
        ("1.5", "non-negative integer"),
        ("", "non-negative integer"),
        ("+3", "non-negative integer"),
    ],
)
def test_bad_bytes_parameter_is_400(root: Path, n: str, message: str) -> None:
    response = client(root).get(f"/data.bin?bytes={n}")
    assert response.status == 400
    assert message in response.text


def test_bytes_parameter_wins_over_range_and_is_never_compressed(root: Path) -> None:
    response = client(root).get(
        "/text.txt?bytes=5", headers={"Range": "bytes=0-0", "Accept-Encoding": "gzip"}
    )
    assert response.status == 200
    assert response.body == TEXT[:5]
    assert response.headers.get("content-encoding") is None


# -- compression --------------------------------------------------------------------------------


def test_gzip_on_the_fly(root: Path) -> None:
    c = client(root)
    plain = c.get("/text.txt")
    zipped = c.get("/text.txt", headers={"Accept-Encoding": "gzip, deflate"})
    assert zipped.headers.get("content-encoding") == "gzip"
    assert zipped.headers.get("content-type") == "text/plain; charset=utf-8"
    assert zipped.headers.get("vary") == "Accept-Encoding"
    assert gzip.decompress(zipped.body) == TEXT
    assert len(zipped.body) < len(TEXT) // 10
    assert zipped.headers.get("etag") != plain.headers.get("etag")
    # Its own ETag gives 304 for the gzip representation.
    again = c.get(
        "/text.txt",
        headers={"Accept-Encoding": "gzip", "If-None-Match": zipped.headers.get("etag") or ""},
    )
    assert again.status == 304


def test_gzip_of_a_large_file_streams(root: Path) -> None:
    big = root / "big.txt"
    content = b"".join(b"line %d of a large text file\n" % i for i in range(200_000))
    big.write_bytes(content)
    response = client(root).get("/big.txt", headers={"Accept-Encoding": "gzip"})
    assert gzip.decompress(response.body) == content


@pytest.mark.parametrize(
    ("headers", "path"),
    [
        ({}, "/text.txt"),  # no Accept-Encoding
        ({"Accept-Encoding": "gzip;q=0"}, "/text.txt"),
        ({"Accept-Encoding": "gzip"}, "/image.png"),  # already compressed type
        ({"Accept-Encoding": "gzip"}, "/small.txt"),  # too small
        ({"Accept-Encoding": "gzip", "Range": "bytes=0-99"}, "/text.txt"),  # a range
    ],
)
def test_no_compression(root: Path, headers: dict[str, str], path: str) -> None:
    response = client(root).get(path, headers=headers)
    assert response.headers.get("content-encoding") is None


def test_compress_min_bytes_at_limit_and_past_it(root: Path) -> None:
    (root / "n.txt").write_bytes(b"a" * 2000)
    (root / "n1.txt").write_bytes(b"a" * 2001)
    c = client(root, compress_min_bytes=2000)
    gz = {"Accept-Encoding": "gzip"}
    assert c.get("/n.txt", headers=gz).headers.get("content-encoding") is None
    assert c.get("/n1.txt", headers=gz).headers.get("content-encoding") == "gzip"


def test_no_compress_flag(root: Path) -> None:
    response = client(root, compress=False).get("/text.txt", headers={"Accept-Encoding": "gzip"})
    assert response.headers.get("content-encoding") is None


def test_precompressed_siblings(root: Path) -> None:
    (root / "style.css").write_text("body { color: red }\n" * 100)
    (root / "style.css.gz").write_bytes(b"GZ-SIBLING")
    (root / "style.css.br").write_bytes(b"BR-SIBLING")
    c = client(root)
    br = c.get("/style.css", headers={"Accept-Encoding": "gzip, br"})
    assert br.body == b"BR-SIBLING"
    assert br.headers.get("content-encoding") == "br"
    assert br.headers.get("content-type") == "text/css; charset=utf-8"
    assert br.headers.get("vary") == "Accept-Encoding"
    gz = c.get("/style.css", headers={"Accept-Encoding": "gzip"})
    assert gz.body == b"GZ-SIBLING"
    assert gz.headers.get("content-encoding") == "gzip"
    plain = c.get("/style.css")
    etags = {r.headers.get("etag") for r in (br, gz, plain)}
    assert len(etags) == 3
    assert c.get("/style.css", headers={"Range": "bytes=0-3"}).body == b"body"


def test_stale_sibling_is_ignored(root: Path) -> None:
    (root / "app.js").write_text("let x = 1;\n" * 200)
    (root / "app.js.gz").write_bytes(b"OLD")
    newer = os.stat(root / "app.js").st_mtime_ns
    os.utime(root / "app.js.gz", ns=(newer - 10**9, newer - 10**9))
    response = client(root).get("/app.js", headers={"Accept-Encoding": "gzip"})
    assert response.headers.get("content-encoding") == "gzip"
    assert gzip.decompress(response.body) == (root / "app.js").read_bytes()


def test_sibling_linking_outside_root_is_not_read(root: Path, tmp_path: Path) -> None:
    (tmp_path / "secret.gz").write_bytes(b"SECRET")
    (root / "notes.txt").write_text("notes\n" * 400)
    (root / "notes.txt.gz").symlink_to(tmp_path / "secret.gz")
    response = client(root).get("/notes.txt", headers={"Accept-Encoding": "gzip"})
    assert b"SECRET" not in response.body
    assert gzip.decompress(response.body) == (root / "notes.txt").read_bytes()


def test_static_stylesheet_is_served(root: Path) -> None:
    response = client(root).get("/-/static/listing.css")
    assert response.status == 200
    assert response.headers.get("content-type") == "text/css; charset=utf-8"
    assert client(root).get("/-/static/nope.css").status == 404
    assert client(root).get("/-/static/../app.py").status in (400, 404)


def test_cli_flags_reach_the_config(root: Path) -> None:
    from porch.cli import build_parser, config_from_args

    parser = build_parser()
    args = parser.parse_args(
        [str(root), "--max-ranges", "7", "--compress-min-bytes", "99", "--no-compress"]
    )
    settings = config_from_args(args, parser)
    assert (settings.max_ranges, settings.compress_min_bytes, settings.compress) == (7, 99, False)
    defaults = config_from_args(parser.parse_args([str(root)]), parser)
    assert (defaults.max_ranges, defaults.compress_min_bytes, defaults.compress) == (
        100,
        1024,
        True,
    )
