"""The wire core (porch.http.wire): state machine, framing and head limits, without sockets.

The parser-driven tests feed the same bytes whole, byte by byte and in random splits
(hypothesis) through httptools into the state machine and the head limits, and assert the exact
events: what the wire core decides must not depend on how TCP cut the bytes.
"""

from __future__ import annotations

import itertools

import httptools
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from porch.http import HTTPError, ProtocolError
from porch.http.wire import (
    ConnectionState,
    Event,
    HeadLimits,
    Phase,
    Timer,
    WireStateError,
    frame,
    response_head,
)
from porch.http.wire.state import TIMERS, TRANSITIONS

# -- the state machine ------------------------------------------------------------------------


def run(*events: Event) -> Phase:
    state = ConnectionState()
    for event in events:
        state.handle(event)
    return state.phase


def test_a_keep_alive_request_goes_round_the_cycle() -> None:
    state = ConnectionState()
    assert (state.phase, state.timer) == (Phase.NEW, Timer.HEADER)
    assert state.handle(Event.BEGIN) == Phase.HEAD
    assert state.timer == Timer.HEADER
    assert state.handle(Event.HEAD_DONE) == Phase.BUSY
    assert state.timer == Timer.NONE
    assert state.handle(Event.DRAINED) == Phase.IDLE
    assert state.timer == Timer.KEEPALIVE
    assert state.handle(Event.BEGIN) == Phase.HEAD


def test_pipelining_reads_a_head_while_busy() -> None:
    assert run(Event.BEGIN, Event.HEAD_DONE, Event.BEGIN) == Phase.HEAD
    # the first answer went out while the second head is still arriving: still reading it
    assert run(Event.BEGIN, Event.HEAD_DONE, Event.BEGIN, Event.DRAINED) == Phase.HEAD


@pytest.mark.parametrize(
    ("events", "phase"),
    [
        ((Event.TIMEOUT,), Phase.CLOSED),  # never sent a byte
        ((Event.BEGIN, Event.TIMEOUT), Phase.CLOSING),  # slow head: answered 408, then closed
        ((Event.BEGIN, Event.HEAD_DONE, Event.DRAINED, Event.TIMEOUT), Phase.CLOSED),  # idle
        ((Event.BEGIN, Event.HEAD_DONE, Event.EOF), Phase.CLOSING),  # answer, then close
        ((Event.BEGIN, Event.HEAD_DONE, Event.CLOSE_AFTER, Event.DONE), Phase.LINGER),
        ((Event.BEGIN, Event.CLOSE_AFTER, Event.DONE, Event.TIMEOUT), Phase.CLOSED),
        ((Event.BEGIN, Event.HEAD_DONE, Event.DRAINED, Event.SHUTDOWN), Phase.CLOSED),
        ((Event.LOST,), Phase.CLOSED),
    ],
)
def test_endings(events: tuple[Event, ...], phase: Phase) -> None:
    assert run(*events) == phase


@pytest.mark.parametrize(
    "events",
    [
        (Event.HEAD_DONE,),  # a head that never began
        (Event.DRAINED,),  # an answer to nothing
        (Event.BEGIN, Event.HEAD_DONE, Event.CLOSE_AFTER, Event.BEGIN),  # reading after closing
        (Event.DONE,),
    ],
)
def test_impossible_events_are_errors_not_silent_moves(events: tuple[Event, ...]) -> None:
    with pytest.raises(WireStateError):
        run(*events)


def test_every_phase_has_a_timer_and_closed_absorbs_everything() -> None:
    assert set(TIMERS) == set(Phase)
    assert all(TRANSITIONS[Phase.CLOSED][event] == Phase.CLOSED for event in Event)
    assert all(TRANSITIONS[phase][Event.LOST] == Phase.CLOSED for phase in Phase)


def test_reading_stops_once_closing() -> None:
    state = ConnectionState()
    assert state.reading
    state.handle(Event.CLOSE_AFTER)
    assert not state.reading
    assert state.open


# -- framing ----------------------------------------------------------------------------------

# method, version, status, length, keep-alive asked -> kind, body bytes sent, keep-alive after
FRAMING_RULES = [
    ("GET", "1.1", 200, 5, True, "length", True, True),
    ("GET", "1.1", 200, None, True, "chunked", True, True),
    ("GET", "1.0", 200, 5, True, "length", True, True),
    ("GET", "1.0", 200, None, True, "close", True, False),  # the end of the body is the close
    ("HEAD", "1.1", 200, 5, True, "length", False, True),  # HEAD announces what GET would get
    ("HEAD", "1.1", 200, None, True, "chunked", False, True),
    ("HEAD", "1.0", 200, None, True, "none", False, True),  # nothing sent: nothing to delimit
    ("GET", "1.1", 204, 0, True, "none", False, True),
    ("GET", "1.1", 304, 5, True, "none", False, True),
    ("GET", "1.0", 304, None, True, "none", False, True),
    ("GET", "1.1", 103, None, True, "none", False, True),
    ("GET", "1.1", 404, 9, False, "length", True, False),
]


def kind_of(method: str, version: str, status: int, length: int | None, keep: bool) -> str:
    framing = frame(method, version, status, length, keep)
    if framing.declares_length:
        return "length"
    if framing.chunked_head:
        return "chunked"
    return "close" if framing.close_delimited else "none"


@pytest.mark.parametrize(
    ("method", "version", "status", "length", "keep", "kind", "with_body", "kept"), FRAMING_RULES
)
def test_framing_rules(
    method: str,
    version: str,
    status: int,
    length: int | None,
    keep: bool,
    kind: str,
    with_body: bool,
    kept: bool,
) -> None:
    framing = frame(method, version, status, length, keep)
    assert kind_of(method, version, status, length, keep) == kind
    assert framing.with_body is with_body
    assert framing.keep_alive is kept
    head = response_head(framing, status, [("Content-Type", "text/plain")], length)
    assert head.endswith(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 %d " % status)
    assert (b"Content-Length: %d\r\n" % (length or 0) in head) is (kind == "length")
    assert (b"Transfer-Encoding: chunked\r\n" in head) is (kind == "chunked")
    assert (b"Connection: close\r\n" in head) is (not kept)
    assert (b"Connection: keep-alive\r\n" in head) is (kept and version == "1.0")


def test_framing_values_are_preallocated() -> None:
    assert frame("GET", "1.1", 200, 10, True) is frame("GET", "1.1", 404, 3, True)


def test_producer_framing_fields_are_dropped() -> None:
    framing = frame("GET", "1.1", 200, 2, True)
    head = response_head(
        framing, 200, [("Content-Length", "99"), ("Connection", "x"), ("ETag", '"a"')], 2
    )
    assert b"99" not in head
    assert b"Connection: x" not in head
    assert head.count(b"Content-Length") == 1
    assert b'ETag: "a"\r\n' in head


# -- head limits, fed through the parser in any split -------------------------------------------


class Recorder:
    """httptools callbacks -> wire events and limit checks, as porch.server.protocol does."""

    def __init__(self, limits: HeadLimits) -> None:
        self.limits = limits
        self.state = ConnectionState()
        self.events: list[str] = []
        self.parser = httptools.HttpRequestParser(self)

    def on_message_begin(self) -> None:
        self.state.handle(Event.BEGIN)
        self.limits.start()
        self.events.append("begin")

    def on_url(self, url: bytes) -> None:
        self.limits.url(len(url))

    def on_header(self, name: bytes, value: bytes) -> None:
        self.limits.header(len(name), len(value))

    def on_headers_complete(self) -> None:
        self.state.handle(Event.HEAD_DONE)
        self.events.append(f"head {self.parser.get_method().decode()}")

    def on_message_complete(self) -> None:
        self.state.handle(Event.DRAINED)  # answered at once
        self.events.append("complete")

    def feed(self, parts: list[bytes]) -> tuple[list[str], int | None, Phase]:
        for part in parts:
            try:
                self.parser.feed_data(part)
            except httptools.HttpParserCallbackError as error:
                cause = error.__context__
                assert isinstance(cause, HTTPError)
                self.state.handle(Event.CLOSE_AFTER)
                return self.events, cause.status, self.state.phase
        return self.events, None, self.state.phase


def cut(data: bytes, points: list[int]) -> list[bytes]:
    edges = sorted({0, len(data), *(p % (len(data) + 1) for p in points)})
    return [data[a:b] for a, b in itertools.pairwise(edges)]


def outcome(data: bytes, parts: list[bytes], **limits: int) -> tuple[list[str], int | None, Phase]:
    assert b"".join(parts) == data
    return Recorder(HeadLimits(**limits)).feed(parts)


def head_with(url_bytes: int = 1, fields: int = 1, value_bytes: int = 1) -> bytes:
    target = b"/" + b"a" * (url_bytes - 1)
    lines = b"".join(b"X%d: %s\r\n" % (n, b"v" * value_bytes) for n in range(fields - 1))
    return b"GET " + target + b" HTTP/1.1\r\nHost: h\r\n" + lines + b"\r\n"


LIMIT_CASES = [
    # (head, limits, expected status or None)
    (head_with(url_bytes=64), {"max_url_bytes": 64}, None),
    (head_with(url_bytes=65), {"max_url_bytes": 64}, 414),
    (head_with(fields=10), {"max_headers": 10}, None),
    (head_with(fields=11), {"max_headers": 10}, 431),
    # Host: h is 1 + 4 + 4 = 9 bytes; X0: vvvv...(v) is 2 + v + 4
    (head_with(fields=2, value_bytes=85), {"max_header_bytes": 100}, None),
    (head_with(fields=2, value_bytes=86), {"max_header_bytes": 100}, 431),
]


@pytest.mark.parametrize(("data", "limits", "status"), LIMIT_CASES)
def test_limits_at_n_and_n_plus_one_whole_and_bytewise(
    data: bytes, limits: dict[str, int], status: int | None
) -> None:
    whole = outcome(data, [data], **limits)
    assert whole[1] == status
    assert outcome(data, [bytes([b]) for b in data], **limits) == whole


@settings(max_examples=60, deadline=None)
@given(
    case=st.sampled_from(LIMIT_CASES),
    points=st.lists(st.integers(min_value=0, max_value=4096), max_size=12),
)
def test_limits_in_random_splits(
    case: tuple[bytes, dict[str, int], int | None], points: list[int]
) -> None:
    data, limits, _status = case
    assert outcome(data, cut(data, points), **limits) == outcome(data, [data], **limits)


PIPELINE = (
    b"GET /a HTTP/1.1\r\nHost: h\r\n\r\n"
    b"POST /b HTTP/1.1\r\nHost: h\r\nContent-Length: 3\r\n\r\nabc"
    b"PUT /c HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nxy\r\n0\r\n\r\n"
)


@settings(max_examples=60, deadline=None)
@given(points=st.lists(st.integers(min_value=0, max_value=len(PIPELINE)), max_size=20))
def test_pipelined_events_do_not_depend_on_the_splits(points: list[int]) -> None:
    expected = (
        [
            "begin",
            "head GET",
            "complete",
            "begin",
            "head POST",
            "complete",
            "begin",
            "head PUT",
            "complete",
        ],
        None,
        Phase.IDLE,
    )
    assert outcome(PIPELINE, [PIPELINE]) == expected
    assert outcome(PIPELINE, [bytes([b]) for b in PIPELINE]) == expected
    assert outcome(PIPELINE, cut(PIPELINE, points)) == expected


def test_check_counts_a_whole_head_like_the_stream() -> None:
    limits = HeadLimits(max_url_bytes=10, max_headers=2)
    limits.check(10, [("Host", "h"), ("A", "b")])
    with pytest.raises(ProtocolError) as refused:
        limits.check(11, [("Host", "h")])
    assert refused.value.status == 414
    with pytest.raises(ProtocolError) as refused:
        limits.check(1, [("Host", "h"), ("A", "b"), ("C", "d")])
    assert refused.value.status == 431
