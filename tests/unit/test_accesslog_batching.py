"""The access log writes once per event-loop turn, and loses no line."""

from __future__ import annotations

import asyncio
import io

from porch.server.accesslog import AccessLog


def test_lines_of_one_turn_go_out_together_after_it() -> None:
    stream = io.StringIO()
    log = AccessLog(stream)

    async def main() -> str:
        log.write("127.0.0.1", "GET / HTTP/1.1", 200, 5)
        log.write("127.0.0.1", "GET /a HTTP/1.1", 404, None)
        before = stream.getvalue()
        await asyncio.sleep(0)
        return before

    assert asyncio.run(main()) == ""
    lines = stream.getvalue().splitlines()
    assert len(lines) == 2
    assert lines[0].endswith('"GET / HTTP/1.1" 200 5')
    assert lines[1].endswith('"GET /a HTTP/1.1" 404 -')


def test_without_a_loop_a_line_is_written_at_once() -> None:
    stream = io.StringIO()
    AccessLog(stream).write("::1", "HEAD / HTTP/1.0", 200, 0)
    assert stream.getvalue().endswith('"HEAD / HTTP/1.0" 200 0\n')


def test_json_lines_format() -> None:
    import json

    stream = io.StringIO()
    log = AccessLog(stream, json_lines=True)
    log.write("203.0.113.7", 'GET /a%20b"c HTTP/1.1', 206, 512)
    log.write("127.0.0.1", "-", 400, 0)
    first, second = (json.loads(line) for line in stream.getvalue().splitlines())
    assert first["client"] == "203.0.113.7"
    assert (first["method"], first["target"], first["protocol"]) == ("GET", '/a%20b"c', "HTTP/1.1")
    assert (first["status"], first["bytes"]) == (206, 512)
    assert first["time"].endswith("Z")
    assert (second["method"], second["status"]) == (None, 400)
