"""porch as a fleet (issue 16): HAProxy (examples/haproxy.cfg) in front of three nodes, over
(a) one shared directory and (b) rsync'd replicas with preserved mtimes.

- a 1 GiB download whose node is killed midway resumes on another node with If-Range and
  ends with the file's sha256;
- eight racing POSTs of one name through different nodes: one 201, seven 409, the file whole;
- a rolling restart of all three nodes under a steady wrk load: zero failed requests;
- --trusted-proxy: the real client address in every node's access log.

The byte counts per node and the wrk figures are printed (``pytest -s`` shows them).
"""

from __future__ import annotations

import hashlib
import re
import signal
import subprocess
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.e2e.fleet import (
    Fleet,
    access_lines,
    fetch,
    make_big_file,
    need,
    run_fleet,
    send_request,
)

GIB = 1024**3
CLIENT = "127.0.0.7"
"""The client's own loopback address, so that it differs from HAProxy's (127.0.0.1)."""


def replicate(source: Path, targets: list[Path]) -> None:
    """rsync the tree to each target (at once): archive mode keeps mtimes, to the nanosecond,
    and sparse files stay sparse."""
    need("rsync")
    for target in targets:
        target.parent.mkdir(parents=True, exist_ok=True)
    copies = [
        subprocess.Popen(["rsync", "-a", "--sparse", f"{source}/", f"{target}/"])
        for target in targets
    ]
    assert [copy.wait(timeout=120) for copy in copies] == [0] * len(copies)


def make_tree(root: Path, *, big: bool) -> str:
    """The served tree; the sha256 of its 1 GiB big.bin (``""`` without one)."""
    (root / "incoming").mkdir(parents=True)
    (root / "a.txt").write_bytes(b"a" * 1024)
    return make_big_file(root / "big.bin", GIB) if big else ""


@pytest.fixture(scope="module", params=["shared", "replicas"])
def storage(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> tuple[str, list[Path], str]:
    """(kind, each node's root, the sha256 of big.bin); made once per kind. Replicas: the
    first node serves the original, the other two rsync'd copies (other inodes)."""
    # Every node serves the same path (a listing names its folder), on its own disk.
    origin = tmp_path_factory.mktemp(f"fleet-{request.param}") / "node1" / "files"
    digest = make_tree(origin, big=True)
    if request.param == "shared":
        return "shared", [origin] * 3, digest
    copies = [origin.parent.parent / f"node{number}" / "files" for number in (2, 3)]
    replicate(origin, copies)
    return "replicas", [origin, *copies], digest


@pytest.fixture
def fleet(storage: tuple[str, list[Path], str], tmp_path: Path) -> Iterator[Fleet]:
    _, roots, _ = storage
    with run_fleet(roots, tmp_path) as running:
        yield running


@pytest.fixture
def shared_fleet(tmp_path: Path) -> Iterator[Fleet]:
    """Three nodes over one directory, uploads on (into its incoming/)."""
    root = tmp_path / "shared"
    make_tree(root, big=False)
    with run_fleet([root] * 3, tmp_path, "--upload-dir", str(root / "incoming")) as running:
        yield running


def test_validators_and_listings_are_the_same_on_every_node(fleet: Fleet) -> None:
    seen: dict[str, set[tuple[str, ...]]] = {}
    for _ in range(6):  # round robin: each node twice
        head, _ = fetch(fleet.balancer.address, "/big.bin", method="HEAD")
        answers = seen.setdefault(head.headers["x-porch-node"], set())
        answers.add(("etag", head.headers["etag"], head.headers["last-modified"]))
    for accept in ("text/plain", "application/json", "text/html"):
        for _ in range(3):
            head, body = fetch(fleet.balancer.address, "/", headers={"Accept": accept})
            assert head.status == 200
            seen[head.headers["x-porch-node"]].add((accept, hashlib.sha256(body).hexdigest()))
    assert len(seen) == 3  # every node answered
    first, *others = seen.values()
    assert len(first) == 4  # one validator pair and one body per listing format
    assert all(answers == first for answers in others)


def test_a_download_resumes_on_another_node_after_its_node_dies(
    fleet: Fleet, storage: tuple[str, list[Path], str]
) -> None:
    kind, _, digest = storage
    request = b"GET /big.bin HTTP/1.1\r\nHost: files.test\r\n\r\n"
    sock, head, first = send_request(fleet.balancer.address, request)
    assert head.status == 200
    assert int(head.headers["content-length"]) == GIB
    etag, first_node = head.headers["etag"], head.headers["x-porch-node"]
    hasher = hashlib.sha256(first)
    received = len(first)
    with sock:
        while received < GIB // 3:
            chunk = sock.recv(1 << 20)
            assert chunk, "the download ended before its node was killed"
            hasher.update(chunk)
            received += len(chunk)
        fleet.node(first_node).kill()  # midway, with no warning
        try:
            while chunk := sock.recv(1 << 20):  # what was already on its way
                hasher.update(chunk)
                received += len(chunk)
        except OSError:
            pass
    assert received < GIB

    resume = (
        f"GET /big.bin HTTP/1.1\r\nHost: files.test\r\nRange: bytes={received}-\r\n"
        f"If-Range: {etag}\r\nConnection: close\r\n\r\n"
    ).encode()
    sock, head, rest = send_request(fleet.balancer.address, resume)
    assert head.status == 206, head
    assert head.headers["content-range"] == f"bytes {received}-{GIB - 1}/{GIB}"
    second_node = head.headers["x-porch-node"]
    assert second_node != first_node
    hasher.update(rest)
    second = len(rest)
    with sock:
        while chunk := sock.recv(1 << 20):
            hasher.update(chunk)
            second += len(chunk)
    assert received + second == GIB
    assert hasher.hexdigest() == digest
    print(
        f"\n[fleet {kind}] 1 GiB download: {received} bytes from {first_node} (killed), "
        f"{second} bytes from {second_node} (206, If-Range), sha256 equal"
    )


def test_racing_posts_of_one_name_through_every_node(shared_fleet: Fleet) -> None:
    fleet, roots = shared_fleet, shared_fleet.roots
    bodies = [bytes([65 + number]) * (2 * 1024 * 1024) for number in range(8)]
    results: list[tuple[int, str]] = []
    barrier = threading.Barrier(8)
    lock = threading.Lock()

    def post(body: bytes) -> None:
        barrier.wait()
        head, _ = fetch(fleet.balancer.address, "/race.bin", method="POST", body=body)
        with lock:
            results.append((head.status, head.headers.get("x-porch-node", "?")))

    threads = [threading.Thread(target=post, args=(body,)) for body in bodies]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    statuses = sorted(status for status, _ in results)
    assert statuses == [201] + [409] * 7, results
    assert len({node for _, node in results}) == 3  # through every node
    stored = (roots[0] / "incoming" / "race.bin").read_bytes()
    assert stored in bodies  # one client's bytes, whole
    leftovers = [p.name for p in (roots[0] / "incoming").iterdir() if p.name != "race.bin"]
    assert leftovers == []  # no temporary file left behind


def test_a_rolling_restart_under_load_fails_no_request(shared_fleet: Fleet) -> None:
    fleet = shared_fleet
    need("wrk")
    host, port = fleet.balancer.address
    # wrk runs until told to stop (SIGINT prints its summary), bounded by -d.
    load = subprocess.Popen(
        ["wrk", "-t1", "-c4", "-d60s", "--timeout", "5s", f"http://{host}:{port}/a.txt"],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    started = time.monotonic()
    try:
        time.sleep(1)
        for node in fleet.nodes:
            assert node.stop() == 0  # SIGTERM: drain, then exit 0
            node.start()
            fleet.balancer.wait_up([node.name])
        time.sleep(1)
    finally:
        load.send_signal(signal.SIGINT)
    output, _ = load.communicate(timeout=30)
    duration = time.monotonic() - started
    total = int(re.search(r"(\d+) requests in", output).group(1))  # type: ignore[union-attr]
    errors = re.search(
        r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", output
    )
    failed = re.search(r"Non-2xx or 3xx responses: (\d+)", output)
    socket_errors = sum(int(n) for n in errors.groups()) if errors else 0
    bad_statuses = int(failed.group(1)) if failed else 0
    print(
        f"\n[fleet rolling restart] {total} requests in {duration:.1f}s through HAProxy while "
        f"all three nodes restarted one by one: {socket_errors} socket errors, "
        f"{bad_statuses} non-2xx/3xx"
    )
    assert total > 100, output
    assert (socket_errors, bad_statuses) == (0, 0), output
    for node in fleet.nodes:  # each node served load before and after its restart
        assert sum('"GET /a.txt' in line for line in access_lines(node.log())) > 10


def test_every_node_logs_the_real_client(fleet: Fleet) -> None:
    for _ in range(6):  # round robin: two requests per node
        head, _ = fetch(
            fleet.balancer.address,
            "/a.txt",
            headers={"X-Forwarded-For": "6.6.6.6"},  # a forged hop, left of the real one
            source=CLIENT,
        )
        assert head.status == 200
    deadline = time.monotonic() + 5
    for node in fleet.nodes:
        while True:
            lines = [line for line in access_lines(node.log()) if '"GET /a.txt' in line]
            if lines or time.monotonic() > deadline:
                break
            time.sleep(0.05)
        assert lines, f"{node.name} logged no request"
        assert all(line.startswith(f"{CLIENT} - - [") for line in lines), lines
