"""What a user of porch sees, over real sockets, on every server porch runs under.

One suite, parametrised: each test runs against porch's own server (``python -m porch``) and
against ``porch.asgi`` under uvicorn and granian (tests/e2e/servers.py), each started once per
module and kind. A test here asserts only what porch decides; what a host server decides for
itself (its limits, timeouts, ``Server``/``Date`` headers, HTTP/1.0, absolute-form targets,
requests it refuses before porch sees them) is listed in docs/asgi.md instead.
"""

from __future__ import annotations

import gzip
import os
import re
import socket
import struct
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import requests

from porch.app.auth import hash_password
from tests.e2e.servers import KINDS, Served, available, serve
from tests.helpers import RawResponse, ResponseReader

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
SECRET = b"TOP-SECRET-OUTSIDE"
ODD_NAME = "a<b>&\"c'.txt"
MiB = 1024 * 1024
TIMEOUT = 10


@dataclass
class Tree:
    """The files one kind of server serves (each kind gets its own copy: uploads differ)."""

    base: Path
    root: Path
    updir: Path
    secure_updir: Path
    data: bytes
    notes: bytes


@pytest.fixture(scope="module", params=KINDS)
def kind(request: pytest.FixtureRequest) -> str:
    name: str = request.param
    reason = available(name)
    if reason is not None:
        pytest.skip(reason)
    return name


@pytest.fixture(scope="module")
def tree(kind: str, tmp_path_factory: pytest.TempPathFactory) -> Tree:
    base = tmp_path_factory.mktemp(f"behaviour-{kind}").resolve()
    (base / "secret.txt").write_bytes(SECRET)
    root = base / "site"
    root.mkdir()
    data = os.urandom(3 * MiB + 17)  # several adapter chunks, not a multiple of one
    notes = b"".join(b"note %d\n" % i for i in range(5000))
    (root / "hello.txt").write_text("hello, porch\n")
    (root / "data.bin").write_bytes(data)
    (root / "notes.txt").write_bytes(notes)
    (root / "page.html").write_text("<!doctype html><title>t</title><p>page</p>\n")
    (root / "docs").mkdir()
    (root / "docs" / "index.html").write_text("<p>docs index</p>\n")
    (root / "listed").mkdir()
    (root / "listed" / ODD_NAME).write_text("odd\n")
    (root / "listed" / "sub").mkdir()
    (root / "listed" / ".hidden").write_text("hidden\n")
    (root / ".secret").write_text("hidden\n")
    (root / "greet.html.j2").write_text("<p>Hello, {{ name }}!</p>\n")
    (root / "out").symlink_to(base / "secret.txt")
    updir = root / "uploads"
    updir.mkdir()
    secure_updir = base / "secure-uploads"
    secure_updir.mkdir()
    return Tree(base, root, updir, secure_updir, data, notes)


@pytest.fixture(scope="module")
def served(kind: str, tree: Tree) -> Iterator[Served]:
    """Uploads on (into ROOT/uploads), the example route module, no access control."""
    settings: dict[str, Any] = {
        "upload_dir": str(tree.updir),
        "routes": [str(EXAMPLES / "routes_example.py")],
        "quiet": True,
    }
    with serve(kind, tree.root, settings, log_dir=tree.base) as server:
        yield server


@pytest.fixture(scope="module")
def secured(kind: str, tree: Tree) -> Iterator[Served]:
    """Accounts (a reader and a writer), no anonymous access, uploads capped at 1 KiB."""
    settings: dict[str, Any] = {
        "accounts": [
            f"reader:{hash_password('r-pass')}",
            f"writer:{hash_password('w-pass')}:write",
        ],
        "upload_dir": str(tree.secure_updir),
        "max_upload_size": 1024,
        "quiet": True,
    }
    with serve(kind, tree.root, settings, log_dir=tree.base) as server:
        yield server


# -- helpers --------------------------------------------------------------------------------


def raw(method: str, target: str, *lines: str) -> bytes:
    """Request bytes with ``target`` exactly as given: no client normalises it."""
    extra = "".join(line + "\r\n" for line in lines)
    return f"{method} {target} HTTP/1.1\r\nHost: localhost\r\n{extra}\r\n".encode("latin-1")


def exchange(server: Served, data: bytes, method: str = "GET") -> RawResponse:
    with server.connect() as sock:
        sock.sendall(data)
        return ResponseReader(sock).read(method)


def get(server: Served, path: str, **kwargs: Any) -> requests.Response:
    kwargs.setdefault("timeout", TIMEOUT)
    return requests.get(server.url + path, **kwargs)


def temp_files(directory: Path) -> list[str]:
    return sorted(name for name in os.listdir(directory) if name.startswith(".porch-upload-"))


def abort(sock: socket.socket) -> None:
    """Close with a TCP reset (SO_LINGER 0): a client that crashed or lost its network."""
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    sock.close()


# -- files ----------------------------------------------------------------------------------


def test_file_get_has_type_length_and_exact_bytes(served: Served, tree: Tree) -> None:
    small = get(served, "/hello.txt")
    assert small.status_code == 200
    assert small.headers["Content-Type"] == "text/plain; charset=utf-8"
    assert small.headers["Content-Length"] == "13"
    assert small.content == b"hello, porch\n"
    assert small.headers["Accept-Ranges"] == "bytes"
    assert small.headers["ETag"]
    assert small.headers["Last-Modified"].endswith(" GMT")
    big = get(served, "/data.bin")
    assert big.headers["Content-Type"] == "application/octet-stream"
    assert big.headers["Content-Length"] == str(len(tree.data))
    assert big.content == tree.data


def test_head_matches_get_without_a_body(served: Served) -> None:
    # HEAD then GET on one connection: a body after the HEAD response would be read as the
    # next response's head and fail.
    with served.connect() as sock:
        reader = ResponseReader(sock)
        for path, length in (("/hello.txt", "13"), ("/data.bin", str(3 * MiB + 17))):
            sock.sendall(raw("HEAD", path))
            head = reader.read("HEAD")
            assert head.status == 200
            assert head.header("content-length") == length
            sock.sendall(raw("GET", "/hello.txt"))
            assert reader.read().body == b"hello, porch\n"
        sock.sendall(raw("HEAD", "/time"))
        time_head = reader.read("HEAD")
        assert time_head.header("content-type") == "text/html; charset=utf-8"
        assert int(time_head.header("content-length") or 0) > 0
        sock.sendall(raw("GET", "/hello.txt"))
        assert reader.read().body == b"hello, porch\n"


@pytest.mark.parametrize(
    ("accept", "media"),
    [
        ("text/html", "text/html; charset=utf-8"),
        ("application/json", "application/json"),
        ("text/plain", "text/plain; charset=utf-8"),
        ("*/*", "text/html; charset=utf-8"),  # no preference: HTML, like nginx (issue 18)
    ],
)
def test_404_page_negotiated_by_accept(served: Served, accept: str, media: str) -> None:
    response = get(served, "/missing.txt", headers={"Accept": accept})
    assert response.status_code == 404
    assert response.headers["Content-Type"] == media
    assert response.headers["Content-Length"] == str(len(response.content))
    if media == "application/json":
        assert response.json()["status"] == 404
    else:
        assert b"404" in response.content or b"Not Found" in response.content


TRAVERSAL = [
    "/../secret.txt",
    "/sub/../../secret.txt",
    "/%2e%2e/secret.txt",
    "/%2E%2E/secret.txt",
    "/.%2e/secret.txt",
    "/..%2fsecret.txt",
    "/%2e%2e%2fsecret.txt",
    "/%2F..%2Fsecret.txt",
    "/..%5csecret.txt",
    "/..\\secret.txt",
    "/docs\\..\\..\\secret.txt",
    "/%00",
    "/hello.txt%00.png",
    "/c:%5csecret.txt",
    "/%c0%ae%c0%ae/secret.txt",
    "/%252e%252e/secret.txt",
    "/.secret",
    "/out",
]


@pytest.mark.parametrize("target", TRAVERSAL)
def test_traversal_vectors_are_refused(served: Served, tree: Tree, target: str) -> None:
    response = exchange(served, raw("GET", target))
    assert 400 <= response.status < 500, response
    assert SECRET not in response.body
    assert b"hidden" not in response.body
    assert str(tree.base).encode() not in response.body
    assert all(str(tree.base) not in value for _, value in response.headers)


def test_a_name_too_long_for_the_file_system_is_404(served: Served) -> None:
    for target in ("/" + "a" * 300, "/" + "a" * 300 + "/b.txt", "/docs/" + "b" * 300):
        response = exchange(served, raw("GET", target))
        assert response.status == 404, (target[:10], response.status)


# What porch refuses before dispatch (porch.http.check_head and the URL and header limits);
# the ASGI adapter applies the same rules to the requests the host server lets through.
DEFAULT_URL_LIMIT = 8 * 1024
DEFAULT_HEADER_LIMIT = 16 * 1024


@pytest.mark.parametrize(
    ("request_bytes", "status"),
    [
        (b"GET /hello.txt HTTP/1.1\r\n\r\n", 400),
        (b"GET /hello.txt HTTP/1.1\r\nHost: localhost\r\nHost: y\r\n\r\n", 400),
        (b"REPORT /hello.txt HTTP/1.1\r\nHost: localhost\r\n\r\n", 501),
        (raw("GET", "/" + "u" * (DEFAULT_URL_LIMIT - 1)), 404),
        (raw("GET", "/" + "u" * DEFAULT_URL_LIMIT), 414),
        (raw("GET", "/hello.txt?q=" + "u" * (DEFAULT_URL_LIMIT - 13)), 200),
        (raw("GET", "/hello.txt?q=" + "u" * (DEFAULT_URL_LIMIT - 12)), 414),
        # Host: localhost is 4 + 9 + 4 bytes; X-Big: adds 5 + 4 and its value.
        (raw("GET", "/hello.txt", "X-Big: " + "h" * (DEFAULT_HEADER_LIMIT - 26)), 200),
        (raw("GET", "/hello.txt", "X-Big: " + "h" * (DEFAULT_HEADER_LIMIT - 25)), 431),
    ],
    ids=[
        "no-host",
        "two-hosts",
        "unknown-method",
        "url-at-limit",
        "url-over-limit",
        "query-at-limit",
        "query-over-limit",
        "headers-at-limit",
        "headers-over-limit",
    ],
)
def test_refused_before_dispatch(served: Served, request_bytes: bytes, status: int) -> None:
    if served.kind == "granian" and b"Host:" not in request_bytes:
        pytest.skip("granian hands the app an empty Host of its own (docs/asgi.md)")
    response = exchange(served, request_bytes)
    assert response.status == status
    assert response.header("x-content-type-options") == "nosniff"


def test_directory_redirects_to_the_slash_form_then_serves_index(served: Served) -> None:
    redirect = get(served, "/docs", allow_redirects=False)
    assert redirect.status_code == 301
    assert redirect.headers["Location"] == "/docs/"
    with_query = get(served, "/docs?x=1", allow_redirects=False)
    assert with_query.headers["Location"] == "/docs/?x=1"
    escaped = exchange(served, raw("GET", "//evil.example"))
    assert escaped.status == 404 or escaped.header("location") == "/evil.example/"
    index = get(served, "/docs/")
    assert (index.status_code, index.content) == (200, b"<p>docs index</p>\n")
    assert index.headers["Content-Type"] == "text/html; charset=utf-8"


def test_listing_as_text_html_and_json_with_names_escaped(served: Served) -> None:
    text = get(served, "/listed/")
    assert text.headers["Content-Type"] == "text/plain; charset=utf-8"
    assert text.text.splitlines() == ["sub/", ODD_NAME]
    page = get(served, "/listed/", headers={"Accept": "text/html"})
    assert page.headers["Content-Type"] == "text/html; charset=utf-8"
    assert "a&lt;b&gt;&amp;" in page.text
    assert "<b>" not in page.text
    assert ".hidden" not in page.text
    assert "default-src 'none'" in page.headers["Content-Security-Policy"]
    listing = get(served, "/listed/", headers={"Accept": "application/json"}).json()
    assert [(entry["name"], entry["type"]) for entry in listing] == [
        ("sub", "dir"),
        (ODD_NAME, "file"),
    ]


def test_hidden_files_are_neither_served_nor_listed(served: Served) -> None:
    assert get(served, "/.secret").status_code == 404
    assert get(served, "/listed/.hidden").status_code == 404
    names = [entry["name"] for entry in get(served, "/?format=json").json()]
    assert "hello.txt" in names
    assert not [name for name in names if name.startswith(".")]


# -- conditional requests, ranges, compression ----------------------------------------------


def test_conditional_get_304_and_412(served: Served) -> None:
    first = get(served, "/hello.txt")
    etag, modified = first.headers["ETag"], first.headers["Last-Modified"]
    by_etag = get(served, "/hello.txt", headers={"If-None-Match": etag})
    assert (by_etag.status_code, by_etag.content) == (304, b"")
    assert by_etag.headers["ETag"] == etag
    by_date = get(served, "/hello.txt", headers={"If-Modified-Since": modified})
    assert (by_date.status_code, by_date.content) == (304, b"")
    changed = get(served, "/hello.txt", headers={"If-None-Match": '"other"'})
    assert changed.status_code == 200
    failed = get(served, "/hello.txt", headers={"If-Match": '"other"'})
    assert failed.status_code == 412


def test_single_range_is_206(served: Served, tree: Tree) -> None:
    response = get(served, "/data.bin", headers={"Range": "bytes=100-199"})
    assert response.status_code == 206
    assert response.headers["Content-Range"] == f"bytes 100-199/{len(tree.data)}"
    assert response.headers["Content-Length"] == "100"
    assert response.content == tree.data[100:200]
    tail = get(served, "/data.bin", headers={"Range": f"bytes={MiB}-"})
    assert tail.content == tree.data[MiB:]


def test_multiple_ranges_are_multipart_byteranges(served: Served, tree: Tree) -> None:
    response = get(served, "/data.bin", headers={"Range": "bytes=0-9,-10"})
    assert response.status_code == 206
    media, _, boundary = response.headers["Content-Type"].partition("; boundary=")
    assert media == "multipart/byteranges"
    size = len(tree.data)
    body = response.content
    assert f"--{boundary}\r\n".encode() in body
    assert f"Content-Range: bytes 0-9/{size}\r\n\r\n".encode() + tree.data[:10] in body
    last = f"Content-Range: bytes {size - 10}-{size - 1}/{size}\r\n\r\n".encode()
    assert last + tree.data[-10:] in body
    assert body.rstrip().endswith(f"--{boundary}--".encode())


def test_unsatisfiable_range_is_416(served: Served) -> None:
    response = get(served, "/hello.txt", headers={"Range": "bytes=999-"})
    assert response.status_code == 416
    assert response.headers["Content-Range"] == "bytes */13"


def test_bytes_parameter(served: Served, tree: Tree) -> None:
    first = get(served, "/data.bin?bytes=5")
    assert (first.status_code, first.content) == (200, tree.data[:5])
    assert first.headers["Content-Length"] == "5"
    assert get(served, "/hello.txt?bytes=999").content == b"hello, porch\n"
    assert get(served, "/data.bin?bytes=-5").status_code == 400


def test_gzip_when_accepted(served: Served, tree: Tree) -> None:
    response = exchange(served, raw("GET", "/notes.txt", "Accept-Encoding: gzip"))
    assert response.status == 200
    assert response.header("content-encoding") == "gzip"
    assert "Accept-Encoding" in (response.header("vary") or "")
    assert gzip.decompress(response.body) == tree.notes
    plain = exchange(served, raw("GET", "/notes.txt", "Accept-Encoding: identity"))
    assert plain.header("content-encoding") is None
    assert plain.body == tree.notes


# -- uploads --------------------------------------------------------------------------------


def test_raw_post_201_then_409(served: Served, tree: Tree) -> None:
    body = os.urandom(200_000)
    created = requests.post(served.url + "/posted.bin", data=body, timeout=TIMEOUT)
    assert created.status_code == 201
    assert (tree.updir / "posted.bin").read_bytes() == body
    again = requests.post(served.url + "/posted.bin", data=b"other", timeout=TIMEOUT)
    assert again.status_code == 409
    assert (tree.updir / "posted.bin").read_bytes() == body
    assert get(served, "/uploads/posted.bin").content == body


def test_streamed_chunked_post(served: Served, tree: Tree) -> None:
    body = os.urandom(MiB + 5)

    def generate() -> Iterator[bytes]:
        for start in range(0, len(body), 100_000):
            yield body[start : start + 100_000]

    response = requests.post(served.url + "/chunked.bin", data=generate(), timeout=TIMEOUT)
    assert response.status_code == 201
    assert (tree.updir / "chunked.bin").read_bytes() == body


def test_put_creates_201_then_replaces_204(served: Served, tree: Tree) -> None:
    url = served.url + "/put.txt"
    assert requests.put(url, data=b"first", timeout=TIMEOUT).status_code == 201
    assert requests.put(url, data=b"second", timeout=TIMEOUT).status_code == 409
    replace = url + "?on-conflict=replace"
    assert requests.put(replace, data=b"second", timeout=TIMEOUT).status_code == 204
    assert (tree.updir / "put.txt").read_bytes() == b"second"


def test_multipart_form_201_json(served: Served, tree: Tree) -> None:
    response = requests.post(
        served.url + "/",
        files=[("f", ("one.txt", b"one")), ("f", ("two.bin", b"\x00two"))],
        data={"comment": "ignored"},
        timeout=TIMEOUT,
    )
    assert response.status_code == 201
    assert [(item["name"], item["size"]) for item in response.json()] == [
        ("one.txt", 3),
        ("two.bin", 4),
    ]
    assert (tree.updir / "two.bin").read_bytes() == b"\x00two"


def test_bad_upload_name_is_400(served: Served, tree: Tree) -> None:
    response = requests.post(served.url + "/.dotted", data=b"x", timeout=TIMEOUT)
    assert response.status_code == 400
    assert not (tree.updir / ".dotted").exists()


def test_expect_100_continue(served: Served, tree: Tree) -> None:
    with served.connect() as sock:
        sock.sendall(raw("POST", "/asked.txt", "Content-Length: 5", "Expect: 100-continue"))
        reader = ResponseReader(sock)
        assert reader.read().status == 100
        sock.sendall(b"hello")
        assert reader.read().status == 201
    assert (tree.updir / "asked.txt").read_bytes() == b"hello"


def test_interrupted_upload_leaves_nothing(served: Served, tree: Tree) -> None:
    sock = served.connect()
    sock.sendall(raw("POST", "/killed.bin", f"Content-Length: {100 * MiB}"))
    sock.sendall(os.urandom(3 * MiB))
    deadline = time.monotonic() + 5
    while not temp_files(tree.updir) and time.monotonic() < deadline:
        time.sleep(0.02)
    assert temp_files(tree.updir), "the upload should be staged while the body arrives"
    abort(sock)
    deadline = time.monotonic() + 5
    while temp_files(tree.updir) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert temp_files(tree.updir) == []
    assert not (tree.updir / "killed.bin").exists()
    after = requests.post(served.url + "/after-kill.txt", data=b"ok", timeout=TIMEOUT)
    assert after.status_code == 201


# -- pages ----------------------------------------------------------------------------------


def test_template_renders_query_parameters_escaped(served: Served) -> None:
    page = get(served, "/greet.html", params={"name": "<script>alert(1)</script>"})
    assert page.status_code == 200
    assert page.headers["Content-Type"] == "text/html; charset=utf-8"
    assert "Hello, &lt;script&gt;alert(1)&lt;/script&gt;!" in page.text
    assert "<script>" not in page.text
    assert get(served, "/greet.html.j2").status_code == 404


def test_time_page(served: Served) -> None:
    page = get(served, "/time")
    assert page.status_code == 200
    assert page.headers["Content-Type"] == "text/html; charset=utf-8"
    assert page.headers["Cache-Control"] == "no-store"
    assert re.search(r'<time id="utc" datetime="[^"]+">', page.text)


def test_user_route_module(served: Served) -> None:
    hello = get(served, "/hello", params={"name": "<b>Ada"})
    assert hello.status_code == 200
    assert "Hello, &lt;b&gt;Ada!" in hello.text
    echo = requests.post(served.url + "/api/echo", data=b"echo me", timeout=TIMEOUT)
    assert (echo.status_code, echo.content) == (200, b"echo me")
    teapot = get(served, "/teapot", headers={"Accept": "application/json"})
    assert teapot.status_code == 418
    assert teapot.json()["detail"] == "this route only brews tea"
    not_allowed = requests.post(served.url + "/hello", data=b"", timeout=TIMEOUT)
    assert not_allowed.status_code == 405
    assert not_allowed.headers["Allow"] == "GET, HEAD, OPTIONS"


# -- security -------------------------------------------------------------------------------


def test_basic_auth(secured: Served) -> None:
    anonymous = get(secured, "/hello.txt")
    assert anonymous.status_code == 401
    assert anonymous.headers["WWW-Authenticate"] == 'Basic realm="porch", charset="UTF-8"'
    assert get(secured, "/hello.txt", auth=("reader", "nope")).status_code == 401
    right = get(secured, "/hello.txt", auth=("reader", "r-pass"))
    assert (right.status_code, right.content) == (200, b"hello, porch\n")
    url = secured.url + "/written.txt"
    refused = requests.put(url, data=b"x", auth=("reader", "r-pass"), timeout=TIMEOUT)
    assert refused.status_code == 403


def test_max_upload_size_at_n_and_n_plus_1(secured: Served, tree: Tree) -> None:
    writer = ("writer", "w-pass")
    at_limit = requests.post(secured.url + "/n", data=b"x" * 1024, auth=writer, timeout=TIMEOUT)
    assert at_limit.status_code == 201
    over = requests.post(secured.url + "/n1", data=b"x" * 1025, auth=writer, timeout=TIMEOUT)
    assert over.status_code == 413
    assert sorted(os.listdir(tree.secure_updir)) == ["n"]


def test_security_headers(served: Served) -> None:
    for path, accept in (("/hello.txt", "*/*"), ("/missing", "*/*"), ("/listed/", "text/html")):
        response = get(served, path, headers={"Accept": accept})
        assert response.headers["X-Content-Type-Options"] == "nosniff", path
        assert response.headers["Referrer-Policy"] == "same-origin", path
    error_page = get(served, "/missing", headers={"Accept": "text/html"})
    assert "default-src 'none'" in error_page.headers["Content-Security-Policy"]
    user_page = get(served, "/page.html")
    assert "Content-Security-Policy" not in user_page.headers


def test_health(served: Served, secured: Served) -> None:
    for server in (served, secured):
        response = get(server, "/-/health")
        assert (response.status_code, response.json()) == (200, {"status": "ok"})


# -- mounted under a prefix (the host servers only: porch's own server has no prefix) -------

MOUNTS = {
    # uvicorn --root-path: a proxy stripped /files; uvicorn puts it back in front of the path.
    "uvicorn": (["--root-path", "/files"], "/hello.txt", "/docs"),
    # granian --url-path-prefix: the prefix arrives in the URL itself.
    "granian": (["--url-path-prefix", "/files"], "/files/hello.txt", "/files/docs"),
}


@pytest.mark.parametrize("host", sorted(MOUNTS))
def test_mounted_under_a_prefix_redirects_back_under_it(tmp_path: Path, host: str) -> None:
    reason = available(host)
    if reason is not None:
        pytest.skip(reason)
    root = tmp_path / "site"
    (root / "docs").mkdir(parents=True)
    (root / "hello.txt").write_text("hello, porch\n")
    extra, file_target, directory_target = MOUNTS[host]
    with serve(host, root, {"quiet": True}, log_dir=tmp_path, extra=extra) as server:
        assert exchange(server, raw("GET", file_target)).body == b"hello, porch\n"
        redirect = exchange(server, raw("GET", directory_target))
        assert redirect.status == 301
        assert redirect.header("location") == "/files/docs/"
