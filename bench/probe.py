"""The bare probe: the Python ceiling for serving a small file on this machine.

``python3 bench/probe.py ROOT PORT`` serves files of up to 1 MiB under ROOT with the least a
correct-enough HTTP/1.1 server can do per request: an ``asyncio.Protocol`` on uvloop, httptools
parsing, one ``os.stat`` of the file per request, and one ``transport.write`` of a cached head
and body (re-read only when size or mtime change). Keep-alive, ``Connection: close`` and
HTTP/1.0 are honoured, and an ``ETag`` with ``If-None-Match`` (304: the ceiling for porch's
conditional row); nothing else is (no Range, no dates, no listings, no containment beyond
refusing ``..``): the bench reports "n/a" for what it cannot answer. It is a yardstick,
not a server: porch's target is a CPU time per request close to this one's.
"""

from __future__ import annotations

import asyncio
import os
import sys

import httptools
import uvloop

LIMIT = 1024 * 1024
NOT_FOUND = b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n"
cache: dict[bytes, tuple[int, int, bytes, bytes, bytes]] = {}
"""URL path -> (size, mtime_ns, keep-alive response, closing response, ETag)."""


def answer(root: bytes, url: bytes, keep_alive: bool, if_none_match: bytes = b"") -> bytes:
    path = url.split(b"?", 1)[0]
    if b".." in path:
        return NOT_FOUND
    full = root + path
    try:
        info = os.stat(full)
    except OSError:
        return NOT_FOUND
    if info.st_size > LIMIT or not os.path.isfile(full):
        return NOT_FOUND
    hit = cache.get(path)
    if hit is None or hit[0] != info.st_size or hit[1] != info.st_mtime_ns:
        with open(full, "rb") as file:
            body = file.read()
        etag = b'"%x-%x"' % (info.st_size, info.st_mtime_ns)
        head = b"HTTP/1.1 200 OK\r\nContent-Type: application/octet-stream\r\n"
        head += b"ETag: %s\r\nContent-Length: %d\r\n" % (etag, len(body))
        closing = head + b"Connection: close\r\n\r\n" + body
        hit = (info.st_size, info.st_mtime_ns, head + b"\r\n" + body, closing, etag)
        cache[path] = hit
    if if_none_match and if_none_match == hit[4]:
        return b"HTTP/1.1 304 Not Modified\r\nETag: %s\r\n\r\n" % hit[4]
    return hit[2] if keep_alive else hit[3]


class Probe(asyncio.Protocol):
    def __init__(self, root: bytes) -> None:
        self.root = root
        self.parser = httptools.HttpRequestParser(self)
        self.url = b""
        self.if_none_match = b""
        self.transport: asyncio.Transport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def data_received(self, data: bytes) -> None:
        try:
            self.parser.feed_data(data)
        except httptools.HttpParserError:
            assert self.transport is not None
            self.transport.write(b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n")
            self.transport.close()

    def on_url(self, url: bytes) -> None:
        self.url += url

    def on_header(self, name: bytes, value: bytes) -> None:
        if name.lower() == b"if-none-match":
            self.if_none_match = value

    def on_message_complete(self) -> None:
        assert self.transport is not None
        keep_alive = self.parser.should_keep_alive()
        self.transport.write(answer(self.root, self.url, keep_alive, self.if_none_match))
        self.url = b""
        self.if_none_match = b""
        if not keep_alive:
            self.transport.close()


def main() -> None:
    root, port = os.fsencode(os.path.abspath(sys.argv[1])), int(sys.argv[2])
    host = sys.argv[3] if len(sys.argv) > 3 else "127.0.0.1"
    uvloop.install()
    loop = asyncio.new_event_loop()
    server = loop.run_until_complete(
        loop.create_server(lambda: Probe(root), host, port, backlog=2048)
    )
    print(f"probe serving on http://{host}:{port}/", flush=True)
    try:
        loop.run_forever()
    finally:
        server.close()


if __name__ == "__main__":
    main()
