"""The file senders and the policy that picks one (porch.server.senders), each exercised over a
real socket pair: sendfile where the loop has it, the bounded copy everywhere."""

from __future__ import annotations

import asyncio
import os
import socket
from pathlib import Path
from typing import Any

import pytest
import uvloop

from porch.server.flow import FlowControl
from porch.server.senders import FILE_CHUNK, FileSender, SendPolicy, copy_file, sendfile


class _Sink(asyncio.Protocol):
    def __init__(self) -> None:
        self.flow: FlowControl | None = None

    def pause_writing(self) -> None:
        assert self.flow is not None
        self.flow.pause_writing()

    def resume_writing(self) -> None:
        assert self.flow is not None
        self.flow.resume_writing()


async def send_through(sender: FileSender, path: Path, offset: int, length: int) -> bytes:
    loop = asyncio.get_running_loop()
    ours, theirs = socket.socketpair()
    protocol = _Sink()
    transport, _ = await loop.connect_accepted_socket(lambda: protocol, ours)
    protocol.flow = FlowControl(transport, send_timeout=5)
    received = bytearray()

    async def read() -> None:
        theirs.setblocking(False)
        while len(received) < length:
            received.extend(await loop.sock_recv(theirs, 65536))

    reader = asyncio.ensure_future(read())
    fd = os.open(path, os.O_RDONLY)
    try:
        sent = await sender(transport, protocol.flow, fd, offset, length)  # type: ignore[arg-type]
    finally:
        os.close(fd)
    await asyncio.wait_for(reader, 5)
    transport.close()
    theirs.close()
    assert sent == length
    return bytes(received)


@pytest.mark.parametrize("sender", [copy_file, sendfile], ids=["copy", "sendfile"])
def test_each_sender_sends_the_range(tmp_path: Path, sender: FileSender) -> None:
    data = os.urandom(3 * FILE_CHUNK + 123)
    path = tmp_path / "f.bin"
    path.write_bytes(data)
    got = asyncio.run(send_through(sender, path, 1000, len(data) - 2000))
    assert got == data[1000:-1000]


def test_copy_runs_on_uvloop_too(tmp_path: Path) -> None:
    data = os.urandom(FILE_CHUNK + 7)
    path = tmp_path / "f.bin"
    path.write_bytes(data)
    with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
        assert runner.run(send_through(copy_file, path, 0, len(data))) == data


class _Transport:
    def __init__(self, tls: bool) -> None:
        self.tls = tls

    def get_extra_info(self, name: str, default: Any = None) -> Any:
        return object() if name == "sslcontext" and self.tls else default


def test_the_policy_asks_the_loop_not_its_module_name() -> None:
    asyncio_loop = asyncio.new_event_loop()
    uv_loop = uvloop.new_event_loop()
    try:
        assert SendPolicy.for_loop(asyncio_loop).use_sendfile
        assert not SendPolicy.for_loop(uv_loop).use_sendfile  # uvloop has no sendfile
    finally:
        asyncio_loop.close()
        uv_loop.close()
    policy = SendPolicy(use_sendfile=True)
    assert policy.file_sender(_Transport(tls=False)) is sendfile  # type: ignore[arg-type]
    assert policy.file_sender(_Transport(tls=True)) is copy_file  # type: ignore[arg-type]
    assert SendPolicy(use_sendfile=False).file_sender(_Transport(tls=False)) is copy_file  # type: ignore[arg-type]
