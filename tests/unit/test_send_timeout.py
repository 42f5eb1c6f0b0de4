"""The send timeout (``--send-timeout``): a response whose client reads nothing for the whole
period is cut off; a client that keeps reading, however slowly, is not."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

from porch.config import DEFAULT_SEND_TIMEOUT, Config
from porch.http import Headers, Request, Response
from porch.server.admission import ServerState
from porch.server.protocol import Connection
from tests.unit.test_connection import FakeTransport


class SlowReader(FakeTransport):
    """A transport whose client reads when the test says: ``buffered`` is what waits."""

    def __init__(self, protocol: Connection) -> None:
        super().__init__(protocol)
        self.buffered = 0
        self.aborted = False

    def write(self, data: bytes) -> None:
        super().write(data)
        self.buffered += len(data)
        if self.buffered > 1000:
            self.protocol.pause_writing()

    def get_write_buffer_size(self) -> int:
        return self.buffered

    def abort(self) -> None:  # type: ignore[override]
        self.aborted = True
        self.close()

    def client_reads(self, size: int) -> None:
        self.buffered = max(0, self.buffered - size)
        if self.buffered <= 100:
            self.protocol.resume_writing()


async def chunks() -> AsyncIterator[bytes]:
    for _ in range(4):
        yield b"x" * 2000


async def handler(request: Request) -> Response:
    return Response(200, Headers(), chunks())


def start(tmp_path: Path, timeout: float) -> SlowReader:
    config = Config(root=tmp_path, send_timeout=timeout)
    connection = Connection(handler, config, ServerState(), None)
    transport = SlowReader(connection)
    connection.connection_made(transport)  # type: ignore[arg-type]
    connection.data_received(b"GET / HTTP/1.1\r\nHost: h\r\n\r\n")
    return transport


def test_the_default_is_nginx_s() -> None:
    assert DEFAULT_SEND_TIMEOUT == 60.0


def test_a_client_that_reads_nothing_for_the_timeout_is_cut_off(tmp_path: Path) -> None:
    async def main() -> None:
        transport = start(tmp_path, 0.3)
        await asyncio.sleep(0.2)  # N: still waiting
        assert not transport.closed
        await asyncio.sleep(0.3)  # past N
        assert transport.aborted
        assert not bytes(transport.output).endswith(b"0\r\n\r\n")

    asyncio.run(main())


def test_a_client_that_reads_within_the_timeout_gets_everything(tmp_path: Path) -> None:
    async def main() -> None:
        transport = start(tmp_path, 0.3)
        for _ in range(6):
            await asyncio.sleep(0.2)  # each pause shorter than the timeout
            transport.client_reads(10_000)
        await asyncio.sleep(0.05)
        assert not transport.aborted
        assert bytes(transport.output).endswith(b"0\r\n\r\n")

    asyncio.run(main())


def test_a_slow_but_steady_reader_is_not_cut_off(tmp_path: Path) -> None:
    """Each period sees some progress, though writing never resumes within one."""

    async def main() -> None:
        transport = start(tmp_path, 0.2)
        for _ in range(5):
            await asyncio.sleep(0.15)
            transport.client_reads(200)  # not enough to resume writing
        assert not transport.aborted
        for _ in range(6):
            transport.client_reads(100_000)
            await asyncio.sleep(0.05)
        assert not transport.aborted
        assert bytes(transport.output).endswith(b"0\r\n\r\n")

    asyncio.run(main())


def test_the_flag_reaches_the_config(tmp_path: Path) -> None:
    from porch.cli import build_parser, config_from_args

    parser = build_parser()
    settings = config_from_args(parser.parse_args([str(tmp_path), "--send-timeout", "2.5"]), parser)
    assert settings.send_timeout == 2.5
    default = config_from_args(parser.parse_args([str(tmp_path)]), parser)
    assert default.send_timeout == DEFAULT_SEND_TIMEOUT
