"""One table of framing rules, run through all three front ends: porch's server over real
sockets, ``porch.asgi`` (driven with ASGI messages) and ``porch.testing``.

Each row is a request; each front end must give the same status, the same declared
Content-Length (or none) and the same body bytes, because all three frame with
``porch.http.wire.frame``. The server row also checks the delimitation on the wire (chunked or
close-delimited) against the framing ``porch.testing`` reports.
"""

from __future__ import annotations

import asyncio
import re
import socket
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import porch.asgi
from porch.app import App
from porch.config import Config
from porch.http import Headers, Response
from porch.testing import Client
from tests.helpers import PorchProcess, run_porch

ROUTES = """
from porch.http import Headers, Response


async def chunks():
    yield b"alpha "
    yield b"beta"


def register(app):
    app.routes.add("/stream", lambda request: Response(200, Headers(), chunks()))
    app.routes.add("/nothing", lambda request: Response(204, Headers(), b"ignored"))
"""


def register(app: App) -> None:
    async def chunks() -> Any:
        yield b"alpha "
        yield b"beta"

    async def stream(request: object) -> Response:
        return Response(200, Headers(), chunks())

    async def nothing(request: object) -> Response:
        return Response(204, Headers(), b"ignored")

    app.routes.add("/stream", stream)
    app.routes.add("/nothing", nothing)


# method, target, version, extra headers
ROWS = [
    ("GET", "/hello.txt", "1.1", ()),
    ("HEAD", "/hello.txt", "1.1", ()),
    ("GET", "/hello.txt", "1.0", ()),
    ("GET", "/nothing", "1.1", ()),
    ("GET", "/hello.txt", "1.1", (("If-Modified-Since", "Fri, 01 Jan 2100 00:00:00 GMT"),)),
    ("GET", "/stream", "1.1", ()),
    ("HEAD", "/stream", "1.1", ()),
    ("GET", "/stream", "1.0", ()),
    ("GET", "/data.bin", "1.1", (("Range", "bytes=0-1,5-6"),)),
    ("GET", "/data.bin", "1.0", (("Range", "bytes=2-3"),)),
    ("GET", "/missing", "1.1", (("Accept", "text/plain"),)),
    ("GET", "/docs/", "1.1", ()),
]
IDS = [f"{m} {t} {v} {dict(e)}" for m, t, v, e in ROWS]


@pytest.fixture(scope="module")
def root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    site = tmp_path_factory.mktemp("framing") / "site"
    site.mkdir()
    (site / "hello.txt").write_text("hello, porch\n")
    (site / "data.bin").write_bytes(bytes(range(64)))
    (site / "docs").mkdir()
    (site / "docs" / "index.html").write_text("<p>docs</p>\n")
    return site


@pytest.fixture(scope="module")
def server(root: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[PorchProcess]:
    routes = tmp_path_factory.mktemp("routes") / "framing_routes.py"
    routes.write_text(ROUTES)
    with run_porch(root, "--quiet", "--routes", str(routes)) as process:
        yield process


def app_for(root: Path) -> App:
    app = App(Config(root=root.resolve()))
    register(app)
    return app


Observed = tuple[int, str | None, bytes]
BOUNDARY = re.compile(rb"porch-[0-9a-f]{32}")


def same_boundary(observed: Observed) -> Observed:
    """Multipart boundaries are random per response: compare the rest."""
    status, length, body = observed
    return status, length, BOUNDARY.sub(b"porch-B", body)


def over_the_wire(server: PorchProcess, row: tuple[Any, ...]) -> tuple[Observed, str]:
    method, target, version, extra = row
    lines = [
        f"{method} {target} HTTP/{version}",
        "Host: localhost",
        *(f"{k}: {v}" for k, v in extra),
    ]
    with socket.create_connection((server.host, server.port), timeout=5) as sock:
        sock.sendall(("\r\n".join([*lines, "Connection: close", "", ""])).encode())
        data = b""
        while chunk := sock.recv(65536):
            data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    fields = dict(
        line.split(": ", 1) for line in head.decode("latin-1").split("\r\n")[1:] if ": " in line
    )
    fields = {k.lower(): v for k, v in fields.items()}
    status = int(head.split(b" ", 2)[1])
    delimited = "none"
    if "content-length" in fields:
        delimited = "length"
    elif fields.get("transfer-encoding") == "chunked":
        delimited = "chunked"
        if method != "HEAD":
            decoded, rest = b"", body
            while True:
                size_line, _, rest = rest.partition(b"\r\n")
                size = int(size_line, 16)
                if size == 0:
                    break
                decoded, rest = decoded + rest[:size], rest[size + 2 :]
            body = decoded
    elif body:
        delimited = "close"
    return (status, fields.get("content-length"), body), delimited


def through_asgi(root: Path, row: tuple[Any, ...]) -> Observed:
    method, target, version, extra = row
    asgi = porch.asgi.PorchASGI(app_for(root))
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": version,
        "method": method,
        "scheme": "http",
        "path": target,
        "raw_path": target.encode(),
        "root_path": "",
        "query_string": b"",
        "headers": [(b"host", b"localhost"), *((k.lower().encode(), v.encode()) for k, v in extra)],
        "client": ("127.0.0.1", 1),
    }
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    asyncio.run(asgi(scope, receive, send))
    headers = {k.decode(): v.decode() for k, v in sent[0]["headers"]}
    body = b"".join(m.get("body", b"") for m in sent[1:])
    return sent[0]["status"], headers.get("content-length"), body


@pytest.mark.parametrize("row", ROWS, ids=IDS)
def test_three_front_ends_frame_alike(
    server: PorchProcess, root: Path, row: tuple[Any, ...]
) -> None:
    method, target, version, extra = row
    tested = Client(app_for(root), version=version).request(method, target, headers=list(extra))
    assert tested.framing is not None
    in_memory: Observed = (
        tested.status,
        None if tested.content_length is None else str(tested.content_length),
        tested.body,
    )
    wire, delimited = over_the_wire(server, row)
    assert same_boundary(wire) == same_boundary(in_memory)
    assert same_boundary(through_asgi(root, row)) == same_boundary(in_memory)
    expected = (
        "length"
        if tested.framing.declares_length
        else "chunked"
        if tested.framing.chunked_head
        else "close"
        if tested.framing.close_delimited and tested.body
        else "none"
    )
    assert delimited == expected


def test_interim_responses_per_front_end(root: Path) -> None:
    app = app_for(root)

    async def interim(request: Any) -> Response:
        await request.send_informational(104, [("Upload-Draft-Interop-Version", "6")])
        return Response(201, Headers(), b"made")

    app.routes.add("/interim", interim, ("POST",))
    response = Client(app).post("/interim")
    assert response.status == 201
    assert [(s, h.get("upload-draft-interop-version")) for s, h in response.informational] == [
        (104, "6")
    ]
    assert Client(app, version="1.0").post("/interim").informational == []  # none to HTTP/1.0
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    scope = {
        "type": "http",
        "method": "POST",
        "path": "/interim",
        "headers": [(b"host", b"localhost")],
    }
    asyncio.run(porch.asgi.PorchASGI(app)(scope, receive, send))
    assert [m.get("status") for m in sent if m["type"] == "http.response.start"] == [201]
