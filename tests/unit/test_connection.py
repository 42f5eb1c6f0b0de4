"""``Connection`` against a fake transport: the protocol without sockets (uvicorn's middle level).

The same request bytes are fed whole, byte by byte and in random splits (h11's test style):
the responses must be identical. Then the timers, 100-continue, bodies and the connection limit,
with timeouts of a fraction of a second.
"""

from __future__ import annotations

import asyncio
import random
import re
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from porch.config import Config
from porch.http import Headers, HTTPError, Request, Response, plain_error
from porch.server.admission import ServerState
from porch.server.protocol import Connection


class FakeTransport:
    """Records what the connection writes; closing reports ``connection_lost`` like asyncio."""

    def __init__(self, protocol: Connection) -> None:
        self.protocol = protocol
        self.output = bytearray()
        self.closed = False
        self.eof_written = False
        self.reading = True

    def write(self, data: bytes) -> None:
        assert not self.closed, "write after close"
        assert not self.eof_written, "write after write_eof"
        self.output += data

    def is_closing(self) -> bool:
        return self.closed

    def close(self) -> None:
        if not self.closed:
            self.closed = True
            asyncio.get_running_loop().call_soon(self.protocol.connection_lost, None)

    abort = close

    def can_write_eof(self) -> bool:
        return True

    def write_eof(self) -> None:
        self.eof_written = True

    def pause_reading(self) -> None:
        self.reading = False

    def resume_reading(self) -> None:
        self.reading = True

    def get_extra_info(self, name: str, default: Any = None) -> Any:
        return ("127.0.0.1", 40000) if name == "peername" else default


async def echo(request: Request) -> Response:
    """Answers with what it understood, after reading the whole body."""
    try:
        body = await request.read_body(1 << 20)
    except HTTPError as error:
        return plain_error(error)
    text = f"{request.method} {request.path} {request.query} {body!r}"
    return Response(200, Headers([("Content-Type", "text/plain")]), text.encode())


def make(tmp_path: Path, state: ServerState | None = None, **limits: Any) -> Connection:
    config = Config(root=tmp_path, **limits)
    connection = Connection(echo, config, state or ServerState(), None)
    transport = FakeTransport(connection)
    connection.connection_made(transport)  # type: ignore[arg-type]
    return connection


def output(connection: Connection) -> FakeTransport:
    transport = connection.transport
    assert isinstance(transport, FakeTransport)
    return transport


async def settle(connection: Connection, responses: int, timeout: float = 2.0) -> bytes:
    """Wait until ``responses`` final responses were written or the connection is done."""
    transport = output(connection)
    async with asyncio.timeout(timeout):
        while transport.output.count(b"HTTP/1.1 2") + transport.output.count(
            b"HTTP/1.1 4"
        ) < responses and not (transport.closed or transport.eof_written):
            await asyncio.sleep(0.005)
        await asyncio.sleep(0.01)
    return bytes(transport.output)


def without_dates(raw: bytes) -> bytes:
    return re.sub(rb"Date: [^\r]*\r\n", b"", raw)


REQUESTS = (
    b"GET /a?x=1 HTTP/1.1\r\nHost: h\r\n\r\n"
    b"POST /up HTTP/1.1\r\nHost: h\r\nContent-Length: 5\r\n\r\nhello"
    b"PUT /c HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n"
    b"3\r\nabc\r\n4;ext=1\r\ndefg\r\n0\r\nTrailer: x\r\n\r\n"
    b"HEAD /d%20e HTTP/1.1\r\nHost: h\r\n\r\n"
    b"GET /last HTTP/1.0\r\n\r\n"
)


def splits(data: bytes, seed: int) -> list[bytes]:
    rng = random.Random(seed)
    parts, start = [], 0
    while start < len(data):
        size = rng.randint(1, 12)
        parts.append(data[start : start + size])
        start += size
    return parts


async def feed_and_collect(tmp_path: Path, parts: list[bytes]) -> bytes:
    connection = make(tmp_path)
    for part in parts:
        connection.data_received(part)
        await asyncio.sleep(0)
    return without_dates(await settle(connection, 5))


def test_same_responses_whatever_the_splits(tmp_path: Path) -> None:
    async def main() -> None:
        whole = await feed_and_collect(tmp_path, [REQUESTS])
        assert whole.count(b"HTTP/1.1 200 OK") == 5
        assert b"GET /a {'x': ['1']} b''" in whole
        assert b"POST /up {} b'hello'" in whole
        assert b"PUT /c {} b'abcdefg'" in whole
        # responses in request order, the HTTP/1.0 one last and closing
        order = [m.group(1) for m in re.finditer(rb"\r\n\r\n(GET|POST|PUT)", whole)]
        assert order == [b"GET", b"POST", b"PUT", b"GET"]
        assert whole.endswith(b"GET /last {} b''")
        assert whole.count(b"Connection: close") == 1
        bytewise = await feed_and_collect(tmp_path, [bytes([b]) for b in REQUESTS])
        assert bytewise == whole
        for seed in range(20):
            assert await feed_and_collect(tmp_path, splits(REQUESTS, seed)) == whole

    asyncio.run(main())


def test_malformed_bytes_get_400_then_close(tmp_path: Path) -> None:
    async def main() -> None:
        connection = make(tmp_path)
        connection.data_received(
            b"GET /ok HTTP/1.1\r\nHost: h\r\n\r\nGET / HTTP/1.1\r\nHo st: h\r\n"
        )
        raw = await settle(connection, 2)
        assert raw.count(b"HTTP/1.1 200") == 1
        assert b"HTTP/1.1 400 Bad Request" in raw
        assert raw.index(b"HTTP/1.1 200") < raw.index(b"HTTP/1.1 400")
        assert b"Connection: close" in raw
        assert output(connection).eof_written or output(connection).closed

    asyncio.run(main())


def test_header_timeout_applies_after_a_keep_alive_request(tmp_path: Path) -> None:
    async def main() -> None:
        connection = make(tmp_path, header_timeout=0.2, keepalive_timeout=5.0)
        connection.data_received(b"GET /one HTTP/1.1\r\nHost: h\r\n\r\n")
        await settle(connection, 1)
        connection.data_received(b"GET /two HTTP/1.1\r\nHost")  # then silence
        await asyncio.sleep(0.5)
        raw = bytes(output(connection).output)
        assert b"HTTP/1.1 408 Request Timeout" in raw
        assert output(connection).eof_written or output(connection).closed

    asyncio.run(main())


def test_idle_keep_alive_connection_closes(tmp_path: Path) -> None:
    async def main() -> None:
        connection = make(tmp_path, keepalive_timeout=0.2, header_timeout=5.0)
        connection.data_received(b"GET /one HTTP/1.1\r\nHost: h\r\n\r\n")
        await settle(connection, 1)
        assert not output(connection).closed
        await asyncio.sleep(0.4)
        assert output(connection).closed
        assert output(connection).output.count(b"HTTP/1.1") == 1  # closed silently

    asyncio.run(main())


def test_connection_that_never_sends_is_closed(tmp_path: Path) -> None:
    async def main() -> None:
        connection = make(tmp_path, header_timeout=0.2)
        await asyncio.sleep(0.4)
        assert output(connection).closed
        assert output(connection).output == b""

    asyncio.run(main())


def test_short_body_gets_408_after_the_body_timeout(tmp_path: Path) -> None:
    async def main() -> None:
        connection = make(tmp_path, body_timeout=0.2)
        connection.data_received(b"POST /up HTTP/1.1\r\nHost: h\r\nContent-Length: 10\r\n\r\nabc")
        raw = await settle(connection, 1, timeout=1.0)
        assert b"HTTP/1.1 408 Request Timeout" in raw
        assert b"Connection: close" in raw

    asyncio.run(main())


def test_expect_100_continue_is_sent_when_the_app_reads(tmp_path: Path) -> None:
    async def main() -> None:
        connection = make(tmp_path)
        connection.data_received(
            b"PUT /x HTTP/1.1\r\nHost: h\r\nContent-Length: 3\r\nExpect: 100-continue\r\n\r\n"
        )
        async with asyncio.timeout(1):
            while b"100 Continue" not in output(connection).output:
                await asyncio.sleep(0.005)
        connection.data_received(b"abc")
        raw = await settle(connection, 1)
        assert raw.startswith(b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK")
        assert b"PUT /x {} b'abc'" in raw

    asyncio.run(main())


def test_client_closing_mid_body_ends_the_request(tmp_path: Path) -> None:
    async def main() -> None:
        connection = make(tmp_path, body_timeout=5.0)
        connection.data_received(b"POST /up HTTP/1.1\r\nHost: h\r\nContent-Length: 10\r\n\r\nabc")
        await asyncio.sleep(0.01)
        connection.eof_received()
        raw = await settle(connection, 1, timeout=1.0)
        assert b"HTTP/1.1 400" in raw
        assert output(connection).closed

    asyncio.run(main())


def test_request_then_eof_is_still_answered(tmp_path: Path) -> None:
    async def main() -> None:
        connection = make(tmp_path)
        connection.data_received(b"GET /a HTTP/1.1\r\nHost: h\r\n\r\n")
        connection.eof_received()
        raw = await settle(connection, 1)
        assert b"HTTP/1.1 200 OK" in raw
        await asyncio.sleep(0.01)
        assert output(connection).closed

    asyncio.run(main())


def test_connection_over_the_limit_gets_503(tmp_path: Path) -> None:
    async def main() -> None:
        state = ServerState()
        first = make(tmp_path, state, max_connections=1)
        second = make(tmp_path, state, max_connections=1)
        assert b"HTTP/1.1 503 Service Unavailable" in output(second).output
        assert output(second).closed
        assert not output(first).closed
        first.data_received(b"GET /a HTTP/1.1\r\nHost: h\r\n\r\n")
        assert b"HTTP/1.1 200 OK" in await settle(first, 1)
        output(first).close()
        await asyncio.sleep(0.01)
        third = make(tmp_path, state, max_connections=1)
        assert output(third).output == b""  # the slot was freed

    asyncio.run(main())


def test_handler_exception_is_a_500_without_traceback(tmp_path: Path) -> None:
    async def boom(request: Request) -> Response:
        raise RuntimeError("secret detail")

    async def main() -> None:
        connection = Connection(boom, Config(root=tmp_path), ServerState(), None)
        transport = FakeTransport(connection)
        connection.connection_made(transport)  # type: ignore[arg-type]
        connection.data_received(b"GET /a HTTP/1.1\r\nHost: h\r\n\r\n")
        async with asyncio.timeout(1):
            while b"HTTP/1.1 500" not in transport.output:
                await asyncio.sleep(0.005)
        raw = bytes(transport.output)
        assert b"secret detail" not in raw
        assert b"Traceback" not in raw

    asyncio.run(main())


@pytest.mark.parametrize("pipeline", [2, 3])
def test_reading_pauses_when_the_pipeline_is_full(tmp_path: Path, pipeline: int) -> None:
    gate = asyncio.Event()

    async def slow(request: Request) -> Response:
        await gate.wait()
        return Response(200, Headers(), b"ok")

    async def main() -> None:
        connection = Connection(
            slow, Config(root=tmp_path, max_pipeline=pipeline), ServerState(), None
        )
        transport = FakeTransport(connection)
        connection.connection_made(transport)  # type: ignore[arg-type]
        request = b"GET / HTTP/1.1\r\nHost: h\r\n\r\n"
        for _ in range(pipeline - 1):
            connection.data_received(request)
        assert transport.reading
        connection.data_received(request)
        assert not transport.reading
        gate.set()
        async with asyncio.timeout(1):
            while transport.output.count(b"HTTP/1.1 200") < pipeline:
                await asyncio.sleep(0.005)
        assert transport.reading

    asyncio.run(main())


@pytest.mark.parametrize("failure", [HTTPError(408, "late"), RuntimeError("bug")])
def test_failing_response_stream_ends_the_connection(tmp_path: Path, failure: Exception) -> None:
    async def stream() -> AsyncIterator[bytes]:
        yield b"first part"
        raise failure

    async def handler(request: Request) -> Response:
        return Response(200, Headers(), stream())

    async def main() -> None:
        connection = Connection(handler, Config(root=tmp_path), ServerState(), None)
        transport = FakeTransport(connection)
        connection.connection_made(transport)  # type: ignore[arg-type]
        connection.data_received(b"GET /a HTTP/1.1\r\nHost: h\r\n\r\n" * 2)
        async with asyncio.timeout(1):
            while not (transport.eof_written or transport.closed):
                await asyncio.sleep(0.005)
        raw = bytes(transport.output)
        assert raw.count(b"HTTP/1.1 200") == 1  # the second request is not answered
        assert b"Transfer-Encoding: chunked" in raw
        assert b"first part" in raw
        assert not raw.endswith(b"0\r\n\r\n")  # no last chunk: the client sees it cut short

    asyncio.run(main())


def test_first_byte_does_not_restart_the_header_clock(tmp_path: Path) -> None:
    async def main() -> None:
        connection = make(tmp_path, header_timeout=0.6)
        await asyncio.sleep(0.3)
        connection.data_received(b"G")  # a slowloris byte before the deadline
        await asyncio.sleep(0.5)  # 0.8 s since the connection opened
        assert b"HTTP/1.1 408" in output(connection).output

    asyncio.run(main())


def test_a_stream_is_closed_when_the_client_goes_away(tmp_path: Path) -> None:
    closed: list[bool] = []

    class Stream:
        def __aiter__(self) -> Stream:
            return self

        async def __anext__(self) -> bytes:
            await asyncio.sleep(0)  # the fake transport never pushes back: let the test run
            return b"x" * 1024

        async def aclose(self) -> None:
            closed.append(True)

    async def endless(request: Request) -> Response:
        return Response(200, Headers(), Stream())

    async def scenario() -> None:
        connection = Connection(endless, Config(root=tmp_path), ServerState(), None)
        transport = FakeTransport(connection)
        connection.connection_made(transport)  # type: ignore[arg-type]
        connection.data_received(b"GET / HTTP/1.1\r\nHost: h\r\n\r\n")
        await asyncio.sleep(0.01)
        connection.pause_writing()  # the client stops reading ...
        await asyncio.sleep(0.01)
        connection.connection_lost(ConnectionResetError())  # ... and goes away
        async with asyncio.timeout(2):
            while not closed:
                await asyncio.sleep(0.005)

    asyncio.run(scenario())
    assert closed == [True]
