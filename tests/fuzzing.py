"""What the fuzz tests and the fuzz targets share: a response checker, an in-process
connection harness, and hypothesis strategies for hostile request heads.

Theory of operation. Whatever bytes a client sends, porch must answer with a well-formed
HTTP/1.1 response stream or close, and never raise past the connection. ``check_responses``
states "well-formed" once: it reads a byte stream as successive responses and raises
``Malformed`` at the first thing a strict client would choke on. ``drive_connection`` feeds
bytes to a real ``porch.server.protocol.Connection`` (the real ``App`` behind it) through a
fake transport on a private event loop, and reports what came out, whether the connection
closed, and every exception that escaped (from ``data_received``, from a task, or through the
loop's exception handler, or an ERROR logged by porch) — so the same input can be run by
hypothesis here, by atheris in fuzz/, and over a real socket in tests/e2e.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
import re
from collections.abc import Callable, Coroutine
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from hypothesis import strategies as st

_STATUS_LINE = re.compile(rb"HTTP/1\.1 ([1-5][0-9][0-9]) ([\t \x21-\x7e\x80-\xff]*)")
_TOKEN = re.compile(rb"[!#$%&'*+\-.^_`|~0-9A-Za-z]+")
_FIELD_VALUE = re.compile(rb"[\t \x21-\x7e\x80-\xff]*")


class Malformed(AssertionError):
    """The server's bytes are not a valid HTTP/1.1 response stream."""


@dataclass
class ParsedResponse:
    status: int
    headers: list[tuple[str, str]]
    body: bytes
    closes: bool

    def header(self, name: str) -> str | None:
        for key, value in self.headers:
            if key.lower() == name:
                return value
        return None


def _read_head(data: bytes, at: int) -> tuple[int, list[tuple[str, str]], int]:
    end = data.find(b"\r\n\r\n", at)
    if end < 0:
        raise Malformed(f"response head never ends: {data[at : at + 200]!r}")
    lines = data[at:end].split(b"\r\n")
    match = _STATUS_LINE.fullmatch(lines[0])
    if match is None:
        raise Malformed(f"bad status line {lines[0][:200]!r}")
    headers: list[tuple[str, str]] = []
    for line in lines[1:]:
        name, colon, value = line.partition(b":")
        if not colon or _TOKEN.fullmatch(name) is None:
            raise Malformed(f"bad header line {line[:200]!r}")
        value = value.strip(b" \t")
        if _FIELD_VALUE.fullmatch(value) is None:
            raise Malformed(f"bad header value {line[:200]!r}")
        headers.append((name.decode("latin-1"), value.decode("latin-1")))
    return int(match.group(1)), headers, end + 4


def _read_chunked(data: bytes, at: int) -> tuple[bytes, int]:
    parts = []
    while True:
        eol = data.find(b"\r\n", at)
        if eol < 0:
            raise Malformed("chunked body cut short")
        size_text = data[at:eol]
        if re.fullmatch(rb"[0-9a-f]+", size_text) is None:
            raise Malformed(f"bad chunk size {size_text[:50]!r}")
        size = int(size_text, 16)
        at = eol + 2
        if size == 0:
            if data[at : at + 2] != b"\r\n":
                raise Malformed("chunked body without its final CRLF")
            return b"".join(parts), at + 2
        if len(data) < at + size + 2 or data[at + size : at + size + 2] != b"\r\n":
            raise Malformed("chunk shorter than its size or without CRLF")
        parts.append(data[at : at + size])
        at += size + 2


def check_responses(
    data: bytes, *, closed: bool, body_sizes: list[int] | None = None
) -> list[ParsedResponse]:
    """Read ``data`` as successive responses; raise ``Malformed`` if any is invalid.

    ``closed`` says whether the server ended the stream (close or half-close). When
    ``body_sizes`` is given (the body bytes the server says it sent for each final response,
    from its access log) every body must have exactly that size; without it, a response with
    a Content-Length may also have no body (it answered a HEAD). Checked: the status line (a
    1xx-5xx code), header syntax, one Date, one framing (Content-Length xor chunked, none on
    1xx/204/304), a body that matches its framing, and nothing after ``Connection: close``.
    """
    responses: list[ParsedResponse] = []
    at = 0
    finals = 0
    while at < len(data):
        if responses and responses[-1].closes:
            raise Malformed(f"bytes after a Connection: close response: {data[at : at + 100]!r}")
        status, headers, at = _read_head(data, at)
        names = [name.lower() for name, _ in headers]
        lengths = [v for n, v in headers if n.lower() == "content-length"]
        codings = [v for n, v in headers if n.lower() == "transfer-encoding"]
        closes = any(n.lower() == "connection" and v.lower() == "close" for n, v in headers)
        if status >= 200 and names.count("date") != 1:
            raise Malformed(f"{status} response without exactly one Date")
        if lengths and codings:
            raise Malformed("both Content-Length and Transfer-Encoding")
        if len(lengths) > 1 or (lengths and not lengths[0].isdigit()):
            raise Malformed(f"bad Content-Length {lengths!r}")
        if codings and codings != ["chunked"]:
            raise Malformed(f"bad Transfer-Encoding {codings!r}")
        expected = None
        if body_sizes is not None and status >= 200:
            if finals >= len(body_sizes):
                raise Malformed("more responses than the server logged")
            expected = body_sizes[finals]
        body = b""
        if status < 200 or status in (204, 304):
            if lengths or codings:
                raise Malformed(f"{status} response with framing headers")
        elif lengths:
            length = int(lengths[0])
            head_only = (
                expected == 0
                if expected is not None
                else (at == len(data) or data.startswith(b"HTTP/1.1 ", at))
            )
            if not head_only or length == 0:
                if len(data) < at + length:
                    raise Malformed(f"body shorter than Content-Length {length}")
                body, at = data[at : at + length], at + length
        elif codings:
            body, at = _read_chunked(data, at)
        else:
            if not closes:
                raise Malformed(f"{status} response without framing nor Connection: close")
            body, at = data[at:], len(data)
        if expected is not None and len(body) != expected:
            raise Malformed(f"body of {len(body)} bytes, the server logged {expected}")
        if status >= 200:
            finals += 1
        responses.append(ParsedResponse(status, headers, body, closes))
    if responses and responses[-1].closes and not closed:
        raise Malformed("Connection: close announced but the connection stayed open")
    if body_sizes is not None and finals != len(body_sizes):
        raise Malformed(f"{finals} responses on the wire, {len(body_sizes)} logged")
    return responses


# -- the in-process harness -----------------------------------------------------------------


class FakeTransport(asyncio.Transport):
    """Collects what the connection writes; closing schedules ``connection_lost``."""

    def __init__(self, protocol: asyncio.Protocol, loop: asyncio.AbstractEventLoop) -> None:
        super().__init__()
        self.protocol = protocol
        self.loop = loop
        self.out = bytearray()
        self.closed = False
        self.eof_written = False
        self.reading = True

    def write(self, data: bytes | bytearray | memoryview) -> None:
        if self.closed:
            return
        if self.eof_written:
            raise RuntimeError("write after write_eof")
        self.out += data

    def writelines(self, list_of_data: Any) -> None:
        for data in list_of_data:
            self.write(data)

    def write_eof(self) -> None:
        self.eof_written = True

    def can_write_eof(self) -> bool:
        return True

    def close(self) -> None:
        if not self.closed:
            self.closed = True
            self.loop.call_soon(self.protocol.connection_lost, None)

    def abort(self) -> None:
        self.close()

    def is_closing(self) -> bool:
        return self.closed

    def pause_reading(self) -> None:
        self.reading = False

    def resume_reading(self) -> None:
        self.reading = True

    def is_reading(self) -> bool:
        return self.reading

    def get_extra_info(self, name: str, default: Any = None) -> Any:
        return {"peername": ("127.0.0.1", 40000)}.get(name, default)


class _Entries:
    """An AccessLog stand-in that keeps each response's status and body size."""

    def __init__(self) -> None:
        self.entries: list[tuple[str, int, int | None]] = []

    def write(
        self, host: str, request_line: str, status: int, size: int | None, user: str | None = None
    ) -> None:
        self.entries.append((request_line, status, size))


class _Errors(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.ERROR)
        self.records: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(self.format(record))


@dataclass
class Outcome:
    """What one input did to one connection."""

    output: bytes
    closed: bool
    entries: list[tuple[str, int, int | None]]
    errors: list[str] = field(default_factory=list)

    def check(self, root: Path | None = None) -> list[ParsedResponse]:
        """Every invariant: no escaped error, a valid stream, closed, no server path shown."""
        if self.errors:
            raise AssertionError("exception escaped the connection:\n" + "\n".join(self.errors))
        if not self.closed:
            raise AssertionError(f"the connection hung; sent so far {self.output[:300]!r}")
        if root is not None and str(root).encode() in self.output:
            raise AssertionError("a response shows the server's file-system path")
        sizes = [size or 0 for _, _, size in self.entries]
        return check_responses(self.output, closed=self.closed, body_sizes=sizes)


class Harness:
    """Runs inputs against ``Connection`` + ``App`` serving ``root``, one private event loop.

    Timeouts are a few milliseconds so an input that leaves the connection waiting (a head
    cut short, an idle keep-alive) ends by the server's own timers, quickly.
    """

    def __init__(self, root: Path, **limits: Any) -> None:
        from porch.app import App
        from porch.config import Config

        settings: dict[str, Any] = {
            "header_timeout": 0.02,
            "body_timeout": 0.02,
            "keepalive_timeout": 0.02,
            "quiet": True,
        }
        settings.update(limits)
        self.root = root
        self.config = Config(root=root.resolve(), **settings)
        self.app = App(self.config)
        self.loop = asyncio.new_event_loop()
        self.errors = _Errors()
        self.tasks: list[asyncio.Task[Any]] = []
        self.loop.set_exception_handler(self._loop_error)

        def factory(
            loop: asyncio.AbstractEventLoop, coro: Coroutine[Any, Any, Any], **kw: Any
        ) -> asyncio.Task[Any]:
            task = asyncio.Task(coro, loop=loop, **kw)
            self.tasks.append(task)
            return task

        self.loop.set_task_factory(factory)  # type: ignore[arg-type]
        for name in ("porch", "asyncio"):
            logging.getLogger(name).addHandler(self.errors)

    def _loop_error(self, loop: asyncio.AbstractEventLoop, context: dict[str, Any]) -> None:
        self.errors.records.append(f"loop error: {context.get('message')} {context!r}")

    def close(self) -> None:
        for name in ("porch", "asyncio"):
            logging.getLogger(name).removeHandler(self.errors)
        self.loop.close()

    def run(self, pieces: list[bytes], *, half_close: bool) -> Outcome:
        """Feed ``pieces`` one read at a time, then (maybe) EOF; wait for the connection."""
        self.errors.records = []
        self.tasks = []
        outcome = self.loop.run_until_complete(self._drive(pieces, half_close))
        for task in self.tasks:
            if not task.done():
                outcome.errors.append(f"task still pending: {task!r}")
                task.cancel()
            elif not task.cancelled() and task.exception() is not None:
                outcome.errors.append(f"task failed: {task.exception()!r}")
        self.loop.run_until_complete(asyncio.sleep(0))
        outcome.errors.extend(self.errors.records)
        return outcome

    async def _drive(self, pieces: list[bytes], half_close: bool) -> Outcome:
        from porch.server.admission import ServerState
        from porch.server.protocol import Connection
        from porch.server.senders import SendPolicy

        entries = _Entries()
        connection = Connection(
            self.app,
            self.config,
            ServerState(),
            entries,  # type: ignore[arg-type]
            policy=SendPolicy(use_sendfile=False),
        )
        transport = FakeTransport(connection, self.loop)
        connection.connection_made(transport)
        errors: list[str] = []

        def call(step: Callable[[], object]) -> bool:
            try:
                step()
            except Exception as error:  # noqa: BLE001 - any escape is the finding
                errors.append(f"{type(error).__name__}: {error}")
                transport.close()
                return False
            return True

        for piece in pieces:
            if transport.closed or transport.eof_written:
                break
            if not transport.reading:
                # A real socket would hold these bytes until reading resumes.
                for _ in range(50):
                    await asyncio.sleep(0.001)
                    if transport.reading or transport.closed:
                        break
                if not transport.reading:
                    break
            if not call(lambda piece=piece: connection.data_received(piece)):
                break
            await asyncio.sleep(0)
        if half_close and not transport.closed:
            call(connection.eof_received)
        # Server timers are ~20 ms and the linger is 2 s: a second means it hung.
        deadline = self.loop.time() + 1.0
        while not (transport.closed or transport.eof_written) and self.loop.time() < deadline:
            await asyncio.sleep(0.002)
        ended = transport.closed or transport.eof_written
        if not transport.closed:
            transport.close()
        await asyncio.sleep(0)
        return Outcome(bytes(transport.out), ended, entries.entries, errors)


# -- hypothesis strategies: mutations of valid requests --------------------------------------

SITE_NAMES = ("", "hello.txt", "docs/", "docs", "docs/note.md", "empty/", ".secret", "nope")
"""Names in the site the tests serve (see ``make_site``), plus a missing one."""

# fmt: off
_ESCAPES = (
    "%2e", "%2E%2e", "%2f", "%2F", "%5c", "%00", "%0a", "%0d", "%25", "%zz", "%", "%e2%80%ae",
    "%c0%ae", "%ff", "..", ".", "//", "\\", "?", "?a=1&a=2&b", "#frag", ";x", " ", "\t", "*",
)
# fmt: on
_ODD_BYTES = st.sampled_from(
    [b"\x00", b"\r", b"\n", b"\r\n", b" ", b"\t", b"\x7f", b"\x80", b"\xff", b":", b"\x1b", b"%"]
)


def mostly(valid: st.SearchStrategy[Any], odd: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    """``valid`` nine times in ten, else ``odd``: most inputs get past the first check."""
    # Not roll 0: hypothesis favours the ends of a range, and shrinks towards 0.
    return st.integers(0, 9).flatmap(lambda roll: odd if roll == 5 else valid)


def few(limit: int) -> st.SearchStrategy[int]:
    """A count from 0 to ``limit``, 0 half the time."""
    return mostly(st.just(0), st.integers(1, limit)) if limit else st.just(0)


@st.composite
def targets(draw: st.DrawFn) -> bytes:
    """Request-targets: site paths with escapes, raw bytes, absolute and authority forms."""
    form = draw(st.integers(0, 19))
    if form == 7:
        return draw(st.sampled_from([b"*", b"http://x/hello.txt", b"x:80", b"", b"//x/docs"]))
    parts = [draw(st.sampled_from(SITE_NAMES)).encode()]
    for _ in range(draw(mostly(st.just(0), st.integers(1, 3)))):
        kind = draw(st.integers(0, 2))
        if kind == 0:
            piece = draw(st.sampled_from(_ESCAPES)).encode()
        elif kind == 1:
            piece = draw(_ODD_BYTES)
        else:
            piece = draw(st.binary(max_size=6))
        at = draw(st.integers(0, len(parts)))
        parts.insert(at, piece)
    target = b"/" + b"".join(parts)
    if draw(st.integers(0, 19)) == 7:
        target += b"/a" * draw(st.integers(100, 400))  # past the URL limit
    return target


_PLAIN_HEADERS = [
    (b"Accept", b"application/json;q=0.9, text/html"),
    (b"Accept", b"*/*"),
    (b"If-None-Match", b'"x", *'),
    (b"If-Modified-Since", b"Thu, 01 Jan 1970 00:00:00 GMT"),
    (b"Range", b"bytes=0-1"),
    (b"Cookie", b"a=b"),
    (b"Connection", b"close"),
    (b"Connection", b"keep-alive"),
    (b"Content-Length", b"0"),
    (b"Content-Length", b"5"),
    (b"Transfer-Encoding", b"chunked"),
    (b"Expect", b"100-continue"),
]
_FRAMING_HEADERS = [
    (b"Host", b"localhost"),
    (b"Host", b""),
    (b"Content-Length", b"-1"),
    (b"Content-Length", b"+5"),
    (b"Content-Length", b" 5 "),
    (b"Content-Length", b"5, 5"),
    (b"Content-Length", b"0x5"),
    (b"Content-Length", b"99999999999999999999999"),
    (b"Transfer-Encoding", b"Chunked"),
    (b"Transfer-Encoding", b"gzip, chunked"),
    (b"Transfer-Encoding", b"chunked, chunked"),
    (b"Transfer-Encoding", b"identity"),
    (b"Transfer-Encoding", b"xchunked"),
    (b"Connection", b"upgrade"),
    (b"Upgrade", b"websocket"),
]


@st.composite
def header_lines(draw: st.DrawFn) -> list[tuple[bytes, bytes]]:
    """A header section: Host usually first, then common fields, framing edge cases (CL/TE
    combinations, bad numbers, Upgrade), odd names and odd values."""
    lines: list[tuple[bytes, bytes]] = []
    if draw(st.integers(0, 9)) != 5:
        lines.append((b"Host", b"localhost"))
    for _ in range(draw(st.integers(0, 5))):
        kind = draw(st.integers(0, 9))
        if kind <= 6:
            lines.append(draw(st.sampled_from(_PLAIN_HEADERS)))
        elif kind == 7:
            lines.append(draw(st.sampled_from(_FRAMING_HEADERS)))
        elif kind == 8:
            name = draw(st.sampled_from([b"X-A", b"Host", b"Content-Length", b"X A", b""]))
            lines.append((name + draw(_ODD_BYTES), draw(st.binary(max_size=8))))
        else:
            lines.append((b"X-V", b"a" + draw(_ODD_BYTES) + b"b"))
    if draw(st.integers(0, 19)) == 7:
        lines.extend([(b"X-Pad", b"p" * 200)] * draw(st.integers(1, 30)))  # past the limits
    return lines


@st.composite
def requests(draw: st.DrawFn) -> bytes:
    """One request, built valid then mutated: method, target, version, headers, EOLs, body."""
    method = draw(
        mostly(
            st.sampled_from([b"GET", b"GET", b"HEAD", b"POST", b"PUT", b"OPTIONS", b"DELETE"]),
            st.sampled_from([b"CONNECT", b"PATCH", b"PRI", b"BREW", b"get", b"G\x00T", b""])
            | st.binary(min_size=1, max_size=8),
        )
    )
    version = draw(
        mostly(
            st.sampled_from([b"HTTP/1.1", b"HTTP/1.0"]),
            st.sampled_from([b"HTTP/0.9", b"HTTP/2.0", b"HTTP/1.2", b"http/1.1", b"1.1", b""]),
        )
    )
    eol = draw(mostly(st.just(b"\r\n"), st.sampled_from([b"\n", b"\r", b"", b"\r\r\n"])))
    request_line = method + draw(mostly(st.just(b" "), st.sampled_from([b"  ", b"\t", b""])))
    request_line += draw(targets())
    request_line += (b" " + version) if version else b""
    out = [request_line + eol]
    fold = draw(st.integers(0, 19)) == 7
    for name, value in draw(header_lines()):
        separator = draw(mostly(st.just(b": "), st.sampled_from([b":", b" : ", b":\t", b""])))
        out.append(name + separator + value + eol)
        if fold:
            out.append(b" folded" + eol)
    out.append(draw(mostly(st.just(b"\r\n"), st.sampled_from([b"\n", b"", b"\r"]))))
    body_kind = draw(mostly(st.just(0), st.integers(1, 4)))
    if body_kind == 1:
        out.append(b"hello")
    elif body_kind == 2:
        out.append(b"5\r\nhello\r\n0\r\n\r\n")
    elif body_kind == 3:
        out.append(draw(st.sampled_from([b"zz\r\n", b"-1\r\n", b"ffffffffffffffffff\r\n"])))
        out.append(draw(st.sampled_from([b"", b"x\r\n0\r\n\r\n", b"5;ext=1\r\nhello\r\n"])))
    elif body_kind == 4:
        out.append(b"0\r\nTrailer: x\r\n\r\n")
    return b"".join(out)


@st.composite
def request_streams(draw: st.DrawFn) -> bytes:
    """What one client sends on one connection: 1-3 requests, then byte-level mutations."""
    data = b"".join(draw(st.lists(requests(), min_size=1, max_size=3)))
    for _ in range(draw(few(2))):
        if not data:
            break
        at = draw(st.integers(0, len(data) - 1))
        kind = draw(st.integers(0, 3))
        if kind == 0:
            data = data[:at]  # truncation
        elif kind == 1:
            data = data[:at] + bytes([draw(st.integers(0, 255))]) + data[at + 1 :]
        elif kind == 2:
            data = data[:at] + draw(st.binary(min_size=1, max_size=4)) + data[at:]
        else:
            data = data[:at] + data[at + draw(st.integers(1, 8)) :]
    return data


def split(data: bytes, cuts: list[int]) -> list[bytes]:
    """``data`` in pieces at the given offsets (taken modulo its length), as reads arrive."""
    points = sorted({cut % (len(data) + 1) for cut in cuts} | {0, len(data)})
    return [data[a:b] for a, b in itertools.pairwise(points) if b > a]


def make_site(root: Path) -> Path:
    """The small tree the fuzz runs serve, with symlinks that stay in and that leave."""
    root.mkdir(parents=True, exist_ok=True)
    (root / "hello.txt").write_text("hello, porch\n")
    (root / "docs").mkdir(exist_ok=True)
    (root / "docs" / "index.html").write_text("<p>docs index</p>\n")
    (root / "docs" / "note.md").write_text("# note\n")
    (root / "empty").mkdir(exist_ok=True)
    (root / ".secret").write_text("hidden\n")
    for name, target in (("inside", "docs/note.md"), ("outside", "/etc"), ("up", "..")):
        link = root / name
        if not link.is_symlink():
            link.symlink_to(target)
    return root


def make_path_tree(base: Path) -> Path:
    """``base/site`` with symlinks that stay inside, leave by ``..``, reach the sibling
    ``base/site2`` (a string-prefix check would admit it), point at ``/`` and into a hidden
    folder; returns the root ``base/site``."""
    root = base / "site"
    (root / "a" / "b").mkdir(parents=True, exist_ok=True)
    (root / ".hidden" / "in").mkdir(parents=True, exist_ok=True)
    (base / "site2").mkdir(exist_ok=True)
    (base / "site2" / "secret.txt").write_text("outside\n")
    (root / "a" / "file.txt").write_text("inside\n")
    links = {
        "in": "a/file.txt",
        "a/b/up": "../..",
        "a/b/out": "../../..",
        "sib": "../site2",
        "sib-file": "../site2/secret.txt",
        "abs": "/",
        "to-hidden": ".hidden/in",
        "a/hid": "../.hidden",
        "loop": "loop",
    }
    for name, target in links.items():
        link = root / name
        if not link.is_symlink():
            link.symlink_to(target)
    return root
