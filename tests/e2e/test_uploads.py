"""Uploads over real sockets against a running porch (docs/uploads.md).

Every test that refuses or breaks an upload also checks the upload directory afterwards:
nothing final and no temporary ``.porch-upload-*`` file may be left behind.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import socket
import struct
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import requests

from tests.helpers import (
    PorchProcess,
    RawResponse,
    ResponseReader,
    require_tool,
    run_cli,
)

Start = Callable[..., PorchProcess]
MiB = 1024 * 1024


@pytest.fixture
def updir(site: Path) -> Path:
    """The upload directory, inside the served root (so uploads are served at /uploads/)."""
    directory = site / "uploads"
    directory.mkdir()
    return directory


def listing(directory: Path) -> list[str]:
    return sorted(os.listdir(directory))


def wait_empty(directory: Path, timeout: float = 5.0) -> list[str]:
    """The directory's entries once it is empty, or what is left after ``timeout``."""
    deadline = time.monotonic() + timeout
    while listing(directory) and time.monotonic() < deadline:
        time.sleep(0.05)
    return listing(directory)


def head(method: str, path: str, *lines: str) -> bytes:
    extra = "".join(line + "\r\n" for line in lines)
    return f"{method} {path} HTTP/1.1\r\nHost: localhost\r\n{extra}\r\n".encode()


def send(server: PorchProcess, raw: bytes, method: str = "POST") -> RawResponse:
    with server.connect() as sock:
        sock.sendall(raw)
        return ResponseReader(sock).read(method)


def post(server: PorchProcess, name: str, body: bytes, *lines: str) -> RawResponse:
    return send(server, head("POST", name, f"Content-Length: {len(body)}", *lines) + body)


def chunked(parts: list[bytes]) -> bytes:
    return b"".join(b"%x\r\n%s\r\n" % (len(p), p) for p in parts if p) + b"0\r\n\r\n"


def abort(sock: socket.socket) -> None:
    """Close with a TCP reset (SO_LINGER 0): a client that crashed or lost its network."""
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    sock.close()


# -- integrity ------------------------------------------------------------------------------


@pytest.mark.parametrize("size", [0, 1, MiB])
def test_posted_bytes_are_stored_exactly(porch: Start, site: Path, updir: Path, size: int) -> None:
    server = porch(site, "--upload-dir", str(updir))
    body = os.urandom(size)
    response = post(server, "/file.bin", body)
    assert response.status == 201
    assert response.header("location") == "/uploads/file.bin"
    digest = hashlib.sha256(body).hexdigest()
    assert digest in response.body.decode()
    assert hashlib.sha256((updir / "file.bin").read_bytes()).hexdigest() == digest
    assert listing(updir) == ["file.bin"]
    served = requests.get(server.url + "/uploads/file.bin", timeout=5)
    assert served.content == body


def test_one_gib_streamed_upload_keeps_memory_flat(porch: Start, site: Path, updir: Path) -> None:
    """1 GiB with Content-Length, generated on the fly; figures go to the test output."""
    server = porch(site, "--upload-dir", str(updir), "--quiet")
    assert post(server, "/warm", b"x").status == 201  # imports and thread pool warmed up
    idle = vm_kib(server.proc.pid, "VmRSS")
    size = 1024 * MiB
    block = bytearray(os.urandom(MiB))
    sent = hashlib.sha256()
    started = time.monotonic()
    with server.connect(timeout=60) as sock:
        sock.sendall(head("PUT", "/big.bin", f"Content-Length: {size}"))
        for index in range(size // MiB):
            block[:8] = index.to_bytes(8, "big")  # no two blocks alike
            sent.update(block)
            sock.sendall(block)
        response = ResponseReader(sock).read("PUT")
    seconds = time.monotonic() - started
    peak = vm_kib(server.proc.pid, "VmHWM")
    assert response.status == 201
    assert json_or_text_sha(response) == sent.hexdigest()
    assert file_sha256(updir / "big.bin") == sent.hexdigest()
    print(
        f"\n1 GiB upload: {size / MiB / seconds:.0f} MiB/s, idle RSS {idle // 1024} MiB, "
        f"peak RSS {peak // 1024} MiB"
    )
    assert peak - idle < 64 * 1024, "server memory grew by more than 64 MiB during the upload"


def vm_kib(pid: int, field: str) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    raise AssertionError(f"{field} not in /proc/{pid}/status")


def json_or_text_sha(response: RawResponse) -> str:
    return response.body.decode().rsplit("sha256 ", 1)[1].strip()


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as file:
        while chunk := file.read(4 * MiB):
            digest.update(chunk)
    return digest.hexdigest()


def test_bytes_past_content_length_are_not_stored(porch: Start, site: Path, updir: Path) -> None:
    server = porch(site, "--upload-dir", str(updir))
    with server.connect() as sock:
        sock.sendall(
            head("POST", "/five", "Content-Length: 5") + b"hello" + head("GET", "/hello.txt")
        )
        reader = ResponseReader(sock)
        assert reader.read().status == 201
        assert reader.read().body == b"hello, porch\n"  # the extra bytes were the next request
    assert (updir / "five").read_bytes() == b"hello"


# -- POST / PUT semantics -------------------------------------------------------------------


def test_post_to_existing_name_is_409_and_the_file_is_untouched(
    porch: Start, site: Path, updir: Path
) -> None:
    server = porch(site, "--upload-dir", str(updir))
    assert post(server, "/a.txt", b"first").status == 201
    assert post(server, "/a.txt", b"second").status == 409
    assert (updir / "a.txt").read_bytes() == b"first"
    assert listing(updir) == ["a.txt"]


def test_put_creates_then_replaces(porch: Start, site: Path, updir: Path) -> None:
    server = porch(site, "--upload-dir", str(updir))
    first = send(server, head("PUT", "/p.txt", "Content-Length: 3") + b"one", "PUT")
    assert first.status == 201
    refused = send(server, head("PUT", "/p.txt", "Content-Length: 3") + b"two", "PUT")
    assert refused.status == 409  # --on-conflict refuse, the default
    assert (updir / "p.txt").read_bytes() == b"one"
    replace = "/p.txt?on-conflict=replace"
    second = send(server, head("PUT", replace, "Content-Length: 3") + b"two", "PUT")
    assert second.status == 204
    assert (updir / "p.txt").read_bytes() == b"two"
    assert listing(updir) == ["p.txt"]


def test_upload_dir_outside_root_has_no_location(porch: Start, site: Path, tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    server = porch(site, "--upload-dir", str(outside))
    response = post(server, "/x.bin", b"data")
    assert response.status == 201
    assert response.header("location") is None
    assert (outside / "x.bin").read_bytes() == b"data"


@pytest.mark.parametrize(
    "target",
    [
        "/a/b",  # a directory component
        "/docs/x",
        "/..",
        "/a/..",
        "/%2e%2e",
        "/a%2fb",  # percent-encoded slash
        "/a%5cb",  # percent-encoded backslash
        "/a%01b",  # control character
        "/a%7fb",
        "/.hidden",
        "/.porch-upload-x",
        "/",
        "/uploads/",
        "/" + "a" * 256,
        "/" + "%C3%A9" * 128,  # 128 two-byte characters: 256 bytes
    ],
)
def test_bad_names_get_400_and_write_nothing(
    porch: Start, site: Path, updir: Path, target: str
) -> None:
    server = porch(site, "--upload-dir", str(updir))
    before = sorted(p.name for p in site.rglob("*"))
    assert post(server, target, b"data").status == 400
    assert sorted(p.name for p in site.rglob("*")) == before


def test_name_of_255_bytes_is_accepted(porch: Start, site: Path, updir: Path) -> None:
    server = porch(site, "--upload-dir", str(updir))
    name = "%C3%A9" * 127 + "a"  # 255 bytes of UTF-8
    assert post(server, "/" + name, b"data").status == 201
    assert listing(updir) == ["é" * 127 + "a"]


def test_without_upload_dir_post_and_put_are_405(porch: Start, site: Path) -> None:
    server = porch(site)
    before = sorted(p.name for p in site.rglob("*"))
    for method in ("POST", "PUT"):
        response = send(server, head(method, "/new.txt", "Content-Length: 2") + b"hi", method)
        assert response.status == 405
        assert response.header("allow") == "GET, HEAD, OPTIONS, PROPFIND"
    assert sorted(p.name for p in site.rglob("*")) == before


def test_with_upload_dir_allow_lists_post_and_put(porch: Start, site: Path, updir: Path) -> None:
    server = porch(site, "--upload-dir", str(updir))
    response = send(server, head("DELETE", "/hello.txt"), "DELETE")
    assert response.status == 405
    assert response.header("allow") == "GET, HEAD, POST, PUT, OPTIONS, PROPFIND"


# -- broken uploads leave nothing ------------------------------------------------------------


@pytest.mark.parametrize("close", [abort, socket.socket.close], ids=["reset", "fin"])
def test_connection_killed_mid_upload_leaves_nothing(
    porch: Start, site: Path, updir: Path, close: Callable[[socket.socket], None]
) -> None:
    server = porch(site, "--upload-dir", str(updir))
    sock = server.connect()
    sock.sendall(head("POST", "/killed.bin", f"Content-Length: {100 * MiB}"))
    sock.sendall(os.urandom(3 * MiB))  # more than one write batch: the temp file has data
    deadline = time.monotonic() + 5
    while not listing(updir) and time.monotonic() < deadline:
        time.sleep(0.02)
    assert listing(updir)[0].startswith(".porch-upload-")  # staged while the body arrives
    close(sock)
    assert wait_empty(updir) == []
    assert post(server, "/after", b"ok").status == 201  # the server carries on


def test_server_stopped_mid_upload_leaves_nothing(porch: Start, site: Path, updir: Path) -> None:
    server = porch(site, "--upload-dir", str(updir), "--shutdown-grace", "0.5")
    with server.connect() as sock:
        sock.sendall(head("PUT", "/stopped.bin", f"Content-Length: {100 * MiB}"))
        sock.sendall(os.urandom(3 * MiB))
        deadline = time.monotonic() + 5
        while not listing(updir) and time.monotonic() < deadline:
            time.sleep(0.02)
        assert listing(updir), "the upload should be staged by now"
        assert server.stop() == 0
    assert listing(updir) == []


def test_short_body_gets_408_and_leaves_nothing(porch: Start, site: Path, updir: Path) -> None:
    server = porch(site, "--upload-dir", str(updir), "--body-timeout", "1")
    with server.connect() as sock:
        sock.sendall(head("POST", "/short.bin", "Content-Length: 100") + b"x" * 50)
        response = ResponseReader(sock).read()
    assert response.status == 408
    assert wait_empty(updir) == []


def test_broken_chunked_body_leaves_nothing(porch: Start, site: Path, updir: Path) -> None:
    server = porch(site, "--upload-dir", str(updir))
    raw = head("POST", "/broken", "Transfer-Encoding: chunked") + b"5\r\nhello\r\nzz\r\n"
    assert send(server, raw).status == 400
    assert wait_empty(updir) == []


def test_racing_posts_for_one_name_exactly_one_wins(porch: Start, site: Path, updir: Path) -> None:
    server = porch(site, "--upload-dir", str(updir))
    racers = 8
    bodies = [bytes([index]) * (256 * 1024) for index in range(racers)]
    sockets = [server.connect() for _ in range(racers)]
    # Every head and most of every body first: all pass the early "exists?" check...
    for sock, body in zip(sockets, bodies, strict=True):
        sock.sendall(head("POST", "/race.bin", f"Content-Length: {len(body)}") + body[:-1])
    time.sleep(0.3)
    statuses: list[int] = []
    barrier = threading.Barrier(racers)

    def finish(sock: socket.socket, body: bytes) -> None:
        barrier.wait()
        sock.sendall(body[-1:])  # ...then they all finish at once and race to link
        statuses.append(ResponseReader(sock).read().status)

    threads = [
        threading.Thread(target=finish, args=pair) for pair in zip(sockets, bodies, strict=True)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(10)
    for sock in sockets:
        sock.close()
    assert sorted(statuses) == [201] + [409] * (racers - 1)
    assert listing(updir) == ["race.bin"]
    assert (updir / "race.bin").read_bytes() in bodies  # one whole body, not a mixture


# -- framing, limits, 100-continue ------------------------------------------------------------


def test_chunked_upload(porch: Start, site: Path, updir: Path) -> None:
    server = porch(site, "--upload-dir", str(updir))
    parts = [os.urandom(n) for n in (1, 1000, 65536, 3 * MiB, 7)]
    raw = head("POST", "/chunks.bin", "Transfer-Encoding: chunked") + chunked(parts)
    assert send(server, raw).status == 201
    assert (updir / "chunks.bin").read_bytes() == b"".join(parts)


def test_no_length_and_no_chunked_is_411(porch: Start, site: Path, updir: Path) -> None:
    server = porch(site, "--upload-dir", str(updir))
    assert send(server, head("POST", "/x")).status == 411
    assert listing(updir) == []


def test_max_upload_size_at_n_and_n_plus_1(porch: Start, site: Path, updir: Path) -> None:
    server = porch(site, "--upload-dir", str(updir), "--max-upload-size", "1K")
    assert post(server, "/n", b"x" * 1024).status == 201
    assert post(server, "/n1", b"x" * 1025).status == 413
    chunk_n = head("POST", "/cn", "Transfer-Encoding: chunked") + chunked([b"y" * 1024])
    assert send(server, chunk_n).status == 201
    chunk_n1 = head("POST", "/cn1", "Transfer-Encoding: chunked") + chunked([b"y" * 1024, b"y"])
    assert send(server, chunk_n1).status == 413
    assert wait_empty_of(updir, {"n", "cn"}) == ["cn", "n"]


def wait_empty_of(directory: Path, keep: set[str]) -> list[str]:
    deadline = time.monotonic() + 5
    while set(listing(directory)) - keep and time.monotonic() < deadline:
        time.sleep(0.05)
    return listing(directory)


def test_declared_413_is_sent_before_reading_the_body(
    porch: Start, site: Path, updir: Path
) -> None:
    server = porch(site, "--upload-dir", str(updir), "--max-upload-size", "1M")
    with server.connect() as sock:
        sock.sendall(head("POST", "/big", f"Content-Length: {10 * 1024 * MiB}"))
        response = ResponseReader(sock).read()  # no body byte was sent
    assert response.status == 413
    assert listing(updir) == []


def test_expect_100_continue_accepted(porch: Start, site: Path, updir: Path) -> None:
    server = porch(site, "--upload-dir", str(updir))
    with server.connect() as sock:
        sock.sendall(head("POST", "/ask.txt", "Content-Length: 5", "Expect: 100-continue"))
        reader = ResponseReader(sock)
        assert reader.read().status == 100
        sock.sendall(b"hello")
        assert reader.read().status == 201
    assert (updir / "ask.txt").read_bytes() == b"hello"


@pytest.mark.parametrize(
    ("target", "args", "extra", "status"),
    [
        ("/exists.txt", [], [], 409),
        ("/.bad", [], [], 400),
        ("/big", ["--max-upload-size", "10"], [], 413),
        ("/x", [], ["Origin: http://evil.example"], 403),
    ],
)
def test_expect_100_continue_refused_without_100(
    porch: Start,
    site: Path,
    updir: Path,
    target: str,
    args: list[str],
    extra: list[str],
    status: int,
) -> None:
    server = porch(site, "--upload-dir", str(updir), *args)
    (updir / "exists.txt").write_bytes(b"old")
    with server.connect() as sock:
        sock.sendall(head("POST", target, "Content-Length: 50", "Expect: 100-continue", *extra))
        reader = ResponseReader(sock)
        assert reader.read().status == status  # the final status first: no 100
        assert reader.closed(), "a refused body must not be read as the next request"
    assert (updir / "exists.txt").read_bytes() == b"old"
    assert listing(updir) == ["exists.txt"]


# -- full disk ------------------------------------------------------------------------------


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    """A 1 MiB tmpfs; skips when this machine does not allow mounting (not root, container).

    tests/app/test_uploads.py injects ENOSPC at the write, so 507 is covered either way.
    """
    mount = tmp_path / "small-disk"
    mount.mkdir()
    if shutil.which("mount") is None or os.geteuid() != 0:
        pytest.skip("mounting a tmpfs needs root; ENOSPC injection runs in tests/app instead")
    result = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", str(mount)],
        capture_output=True,
        check=False,
    )
    if result.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {result.stderr.decode().strip()}")
    try:
        yield mount
    finally:
        subprocess.run(["umount", "-l", str(mount)], check=False)


def test_full_disk_is_507_and_leaves_nothing(porch: Start, site: Path, small_disk: Path) -> None:
    """Runs on a real full file system: a 1 MiB tmpfs."""
    server = porch(site, "--upload-dir", str(small_disk))
    assert post(server, "/fits.bin", b"x" * 1000).status == 201
    response = post(server, "/huge.bin", os.urandom(2 * MiB))
    assert response.status == 507
    assert listing(small_disk) == ["fits.bin"]
    chunk = head("PUT", "/huge2.bin", "Transfer-Encoding: chunked") + chunked([b"z" * 2 * MiB])
    assert send(server, chunk, "PUT").status == 507
    assert listing(small_disk) == ["fits.bin"]


# -- clients: curl and requests ------------------------------------------------------------


@pytest.fixture
def curl() -> Callable[..., subprocess.CompletedProcess[str]]:
    require_tool(shutil.which("curl") is not None, "curl is not installed")

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            ["curl", "--silent", "--show-error", "--noproxy", "*", *args],
            capture_output=True,
            text=True,
            check=True,
            timeout=30,
        )

    return run


def test_curl_data_binary_put_and_form(
    porch: Start, site: Path, updir: Path, tmp_path: Path, curl: Callable[..., object]
) -> None:
    server = porch(site, "--upload-dir", str(updir))
    source = tmp_path / "source.bin"
    source.write_bytes(os.urandom(2 * MiB + 3))
    status = ["-o", "/dev/null", "-w", "%{http_code}"]
    assert curl(*status, "--data-binary", f"@{source}", server.url + "/db.bin").stdout == "201"
    assert curl(*status, "-T", str(source), server.url + "/t.bin").stdout == "201"
    assert curl(*status, "-T", str(source), server.url + "/t.bin").stdout == "409"
    replace = server.url + "/t.bin?on-conflict=replace"
    assert curl(*status, "-T", str(source), replace).stdout == "204"
    form = curl(
        "-F",
        f"file=@{source};filename=f1.bin",
        "-F",
        f"other=@{source};filename=f2.bin",
        server.url + "/",
    )
    summary = json.loads(form.stdout)
    digest = hashlib.sha256(source.read_bytes()).hexdigest()
    assert [(item["name"], item["size"], item["sha256"]) for item in summary] == [
        ("f1.bin", source.stat().st_size, digest),
        ("f2.bin", source.stat().st_size, digest),
    ]
    for name in ("db.bin", "t.bin", "f1.bin", "f2.bin"):
        assert (updir / name).read_bytes() == source.read_bytes()
    assert listing(updir) == ["db.bin", "f1.bin", "f2.bin", "t.bin"]


def test_requests_raw_streamed_and_files(porch: Start, site: Path, updir: Path) -> None:
    server = porch(site, "--upload-dir", str(updir))
    body = os.urandom(MiB + 5)
    assert requests.post(server.url + "/r.bin", data=body, timeout=10).status_code == 201

    def generate() -> Iterator[bytes]:
        for start in range(0, len(body), 100_000):
            yield body[start : start + 100_000]

    streamed = requests.put(server.url + "/gen.bin", data=generate(), timeout=10)  # chunked
    assert streamed.status_code == 201
    form = requests.post(
        server.url + "/docs/",
        files=[("f", ("one.txt", b"one")), ("f", ("two.bin", body))],
        data={"comment": "ignored"},
        timeout=10,
    )
    assert form.status_code == 201
    assert [item["name"] for item in form.json()] == ["one.txt", "two.bin"]
    assert (updir / "r.bin").read_bytes() == body
    assert (updir / "gen.bin").read_bytes() == body
    assert (updir / "one.txt").read_bytes() == b"one"
    assert (updir / "two.bin").read_bytes() == body


# -- browser forms ---------------------------------------------------------------------------


def test_browser_form_gets_303_to_the_listing(porch: Start, site: Path, updir: Path) -> None:
    server = porch(site, "--upload-dir", str(updir))
    response = requests.post(
        server.url + "/docs",
        files={"file": ("b.txt", b"browser")},
        headers={
            "Accept": "text/html,application/xhtml+xml,*/*;q=0.8",
            "Origin": server.url,
        },
        allow_redirects=False,
        timeout=10,
    )
    assert response.status_code == 303
    assert response.headers["Location"] == "/docs/"
    assert (updir / "b.txt").read_bytes() == b"browser"


@pytest.mark.parametrize(
    "origin", ["http://evil.example", "null", "http://127.0.0.1:1", "https://127.0.0.1"]
)
def test_foreign_origin_is_403(porch: Start, site: Path, updir: Path, origin: str) -> None:
    server = porch(site, "--upload-dir", str(updir))
    response = requests.post(
        server.url + "/",
        files={"file": ("x.txt", b"csrf")},
        headers={"Origin": origin},
        timeout=10,
    )
    assert response.status_code == 403
    assert listing(updir) == []


def test_bad_form_file_name_writes_nothing(porch: Start, site: Path, updir: Path) -> None:
    server = porch(site, "--upload-dir", str(updir))
    response = requests.post(
        server.url + "/",
        files=[("f", ("good.txt", b"good")), ("f", ("../evil.txt", b"evil"))],
        timeout=10,
    )
    assert response.status_code == 400
    assert wait_empty(updir) == []
    assert not (site / "evil.txt").exists()


# -- command line ----------------------------------------------------------------------------


@pytest.mark.parametrize("problem", ["missing", "file"])
def test_bad_upload_dir_exits_2(site: Path, problem: str) -> None:
    target = site / "nope" if problem == "missing" else site / "hello.txt"
    result = run_cli(str(site), "--port", "0", "--upload-dir", str(target), timeout=20)
    assert result.returncode == 2
    assert "upload directory" in result.stderr
