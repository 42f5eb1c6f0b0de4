"""Property test: no client bytes make ``Connection`` misbehave (in process, fake transport).

The same generator as tests/e2e/test_fuzz_head.py, many more examples: for every input the
connection writes a valid HTTP/1.1 response stream whose bodies match what it logged, ends
(close or half-close) instead of hanging, shows no server path, and lets no exception escape.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.fuzzing import Harness, Malformed, check_responses, make_site, request_streams, split


@pytest.fixture(scope="module")
def harness(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Harness]:
    root = make_site(tmp_path_factory.mktemp("fuzz") / "site")
    h = Harness(root, max_url_bytes=512, max_header_bytes=2048, max_headers=20)
    yield h
    h.close()


@settings(max_examples=600, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    data=request_streams(),
    cuts=st.lists(st.integers(0, 10_000), max_size=4),
    half_close=st.booleans(),
)
def test_any_request_bytes_get_valid_responses_or_a_close(
    harness: Harness, data: bytes, cuts: list[int], half_close: bool
) -> None:
    harness.run(split(data, cuts), half_close=half_close).check(harness.root.resolve())


@pytest.mark.parametrize("cuts", [[], list(range(1, 200))], ids=["whole", "byte-by-byte"])
def test_valid_pipeline_is_answered_in_order_however_split(
    harness: Harness, cuts: list[int]
) -> None:
    data = (
        b"GET /hello.txt HTTP/1.1\r\nHost: localhost\r\n\r\n"
        b"HEAD /docs/ HTTP/1.1\r\nHost: localhost\r\n\r\n"
        b"GET /nope HTTP/1.1\r\nHost: localhost\r\n\r\n"
    )
    responses = harness.run(split(data, cuts), half_close=True).check()
    assert [(r.status, r.body) for r in responses] == [
        (200, b"hello, porch\n"),
        (200, b""),
        (404, responses[2].body),
    ]


def test_harness_reports_a_hang_and_an_escaped_exception(tmp_path: Path) -> None:
    """The harness must be able to fail, or the property above proves nothing."""
    h = Harness(make_site(tmp_path / "site"), header_timeout=30.0, keepalive_timeout=30.0)
    try:
        waiting = h.run([b"GET /hello.txt HTTP/1.1\r\nHost: localhost\r\n\r\n"], half_close=False)
        with pytest.raises(AssertionError, match="hung"):
            waiting.check()

        async def broken(request: object) -> object:
            raise RuntimeError("boom")

        h.app = broken  # type: ignore[assignment]
        crashed = h.run([b"GET / HTTP/1.1\r\nHost: localhost\r\n\r\n"], half_close=True)
        with pytest.raises(AssertionError, match="escaped"):
            crashed.check()
    finally:
        h.close()


@pytest.mark.parametrize(
    ("stream", "closed", "problem"),
    [
        (b"HTTP/1.1 200 OK\r\nDate: x\r\nContent-Length: 5\r\n\r\nabc", True, "shorter"),
        (b"HTTP/1.0 200 OK\r\nDate: x\r\nContent-Length: 0\r\n\r\n", True, "status line"),
        (b"HTTP/1.1 600 No\r\nDate: x\r\nContent-Length: 0\r\n\r\n", True, "status line"),
        (b"HTTP/1.1 200 OK\r\nDate: x\r\nBad Name: v\r\n\r\n", True, "header line"),
        (b"HTTP/1.1 200 OK\r\nDate: x\r\nA: \x00\r\nContent-Length: 0\r\n\r\n", True, "value"),
        (b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n", True, "Date"),
        (b"HTTP/1.1 204 OK\r\nDate: x\r\nContent-Length: 0\r\n\r\n", True, "framing"),
        (b"HTTP/1.1 200 OK\r\nDate: x\r\n\r\nbody", True, "without framing"),
        (
            b"HTTP/1.1 200 OK\r\nDate: x\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
            False,
            "stayed open",
        ),
        (
            b"HTTP/1.1 400 No\r\nDate: x\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
            b"HTTP/1.1 200 OK\r\n",
            True,
            "after a Connection: close",
        ),
        (b"HTTP/1.1 200 OK\r\nDate: x\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nab", True, "chunk"),
        (b"HTTP/1.1 200 OK\r\nDate: x\r\n", True, "never ends"),
    ],
)
def test_checker_rejects_malformed_streams(stream: bytes, closed: bool, problem: str) -> None:
    with pytest.raises(Malformed, match=problem):
        check_responses(stream, closed=closed)


def test_checker_accepts_keep_alive_head_chunked_and_interim() -> None:
    stream = (
        b"HTTP/1.1 100 Continue\r\n\r\n"
        b"HTTP/1.1 200 OK\r\nDate: x\r\nContent-Length: 3\r\n\r\nabc"
        b"HTTP/1.1 200 OK\r\nDate: x\r\nContent-Length: 3\r\n\r\n"
        b"HTTP/1.1 200 OK\r\nDate: x\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nab\r\n0\r\n\r\n"
    )
    responses = check_responses(stream, closed=False, body_sizes=[3, 0, 2])
    assert [r.body for r in responses] == [b"", b"abc", b"", b"ab"]
