"""Property test over a real socket: hostile request heads against a running porch.

Each generated input (tests/fuzzing.py ``request_streams``: valid requests mutated in method,
target, version, header names and values, CL/TE combinations, line ends, truncation) goes on
a new connection, the client half-closes, and what comes back must be a valid HTTP/1.1
response stream or nothing, ending within the socket timeout. After the run the process must
be alive, serve a normal GET, and have logged no traceback.
"""

from __future__ import annotations

import socket
from collections.abc import Iterator

import pytest
from hypothesis import HealthCheck, given, settings

from tests.fuzzing import check_responses, make_site, request_streams
from tests.helpers import PorchProcess, exchange, get, run_porch

TRACEBACK_MARKERS = ("Traceback", "Exception in callback", "Task exception was never retrieved")


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PorchProcess]:
    root = make_site(tmp_path_factory.mktemp("fuzz-e2e") / "site")
    limits = ("--max-url-bytes", "512", "--max-header-bytes", "2048", "--max-headers", "20")
    timeouts = ("--header-timeout", "1", "--body-timeout", "1", "--keepalive-timeout", "1")
    with run_porch(root, *limits, *timeouts, tmp=root.parent) as process:
        yield process


def send_and_read(server: PorchProcess, data: bytes) -> bytes:
    """Send ``data``, half-close, read to EOF; a reset counts as the end of the stream."""
    received = bytearray()
    with server.connect(timeout=5.0) as sock:
        try:
            sock.sendall(data)
            sock.shutdown(socket.SHUT_WR)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the server answered and closed before taking everything: allowed
        try:
            while chunk := sock.recv(65536):
                received += chunk
        except ConnectionResetError:
            pass
        except TimeoutError:
            raise AssertionError(f"porch hung on {data[:200]!r}") from None
    return bytes(received)


def test_hostile_heads_get_valid_responses_and_porch_survives(server: PorchProcess) -> None:
    root = server.banner.split(" ")[2].encode()
    statuses: set[int] = set()

    @settings(max_examples=300, deadline=None, suppress_health_check=list(HealthCheck))
    @given(data=request_streams())
    def one_connection(data: bytes) -> None:
        output = send_and_read(server, data)
        responses = check_responses(output, closed=True)
        assert root not in output  # no server path in any answer
        statuses.update(response.status for response in responses)

    one_connection()
    assert {200, 400} <= statuses  # the generator reaches the app, not only the parser

    response = exchange(server, get("/hello.txt"))
    assert (response.status, response.body) == (200, b"hello, porch\n")
    assert server.proc.poll() is None
    log = server.log()
    assert "/hello.txt" in log  # the log read is the one this server writes
    for marker in TRACEBACK_MARKERS:
        assert marker not in log
