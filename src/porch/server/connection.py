"""One HTTP/1.1 connection: bytes in, requests to the handler, responses out, in order.

Theory of operation. ``Connection`` is an ``asyncio.Protocol``. ``data_received`` is the one
place client bytes enter porch: it feeds httptools, whose callbacks build a ``Request`` per
message (``on_url``/``on_header`` count bytes against the URL and header limits, which llhttp
does not enforce). A finished head becomes a job on ``pipeline``; one runner task per busy
connection takes jobs in order, awaits the handler and writes the response, so pipelined
requests are answered in the order they came. A job is either a request or a protocol error to
answer before closing.

Bodies stream: ``on_body`` appends to the request's ``StreamBody``, which the app iterates. When
more than ``BODY_HIGH_WATER`` bytes wait unread, or too many requests wait in the pipeline,
reading from the socket pauses until the app catches up; that is the backpressure that keeps a
2 GiB upload in constant memory. Writes wait on ``pause_writing``/``resume_writing``.

Timers (one at a time): the header timer runs from connection start, or from the first byte of
a new message, until its head is complete (slowloris); the keep-alive timer runs while the
connection is idle between requests; the body timer lives in ``StreamBody``, between chunks.
A timer is a deadline and a callback in two attributes; one loop ``TimerHandle`` per connection
wakes at the earliest deadline and, when the deadline has moved later meanwhile, sleeps again
until it. So arming and disarming per request cost two assignments, not a heap push and a
cancelled handle each (four per keep-alive request), and a deadline still fires on time.

Closing: when a response leaves a request body unread, or after a protocol error, the
connection half-closes and discards what the client still sends for ``LINGER_SECONDS``, so the
client reads the response instead of a reset (nginx's lingering close).
"""

from __future__ import annotations

import asyncio
import logging
import os
import re
import time
from collections import deque
from collections.abc import AsyncIterator, Callable
from typing import Final, NoReturn, cast

import httptools

from porch.config import Config
from porch.http import (
    FileBody,
    Handler,
    Headers,
    HTTPError,
    ProtocolError,
    Request,
    Response,
    body_allowed,
    body_length,
    build_request,
    check_version,
    format_http_date,
    is_token,
    plain_error,
    status_line,
)
from porch.http.forwarded import Network, forwarded_origin
from porch.server.accesslog import AccessLog

log = logging.getLogger("porch.server")

BODY_HIGH_WATER: Final = 1024 * 1024
"""Unread request-body bytes held per connection before reading pauses."""
SMALL_FILE: Final = 64 * 1024
"""Files up to this size go out in the same write as the head (one packet, no sendfile)."""
FILE_CHUNK: Final = 256 * 1024
"""Read size of the portable file path (uvloop, TLS): bounded memory per connection."""
LINGER_SECONDS: Final = 2.0
SENDFILE_PIECE: Final = 1024 * 1024
"""Bytes per ``loop.sendfile`` call: the send timeout is checked between pieces."""

_SERVER_HEADER: Final = b"Server: porch\r\n"
_CONTINUE: Final = b"HTTP/1.1 100 Continue\r\n\r\n"
_HOP_BY_HOP: Final = frozenset(
    {"content-length", "transfer-encoding", "connection", "date", "server", "keep-alive"}
)
_OVERLOADED: Final = (
    b"HTTP/1.1 503 Service Unavailable\r\nRetry-After: 1\r\nContent-Length: 0\r\n"
    b"X-Content-Type-Options: nosniff\r\nConnection: close\r\n\r\n"
)
"""The answer beyond --max-connections, or --max-connections-per-client from one address."""
_METHOD_START = re.compile(rb"([^ \r\n]*) ")

_HEADER_LINES: dict[tuple[str, str], bytes] = {}
"""Encoded ``Name: value\r\n`` lines (``b""`` for fields the server sets itself): most
response fields repeat (Content-Type, a file's ETag), so a line is encoded once."""
_HEADER_LINE_ENTRIES: Final = 8192
_HEADER_LINE_MAX_BYTES: Final = 256
"""Longer lines are not kept (issue 17): the cache stays under 8192 x 256 bytes, 2 MiB."""


def _header_line(field: tuple[str, str]) -> bytes:
    line = _HEADER_LINES.get(field)
    if line is None:
        name, value = field
        line = b"" if name.lower() in _HOP_BY_HOP else f"{name}: {value}\r\n".encode("latin-1")
        if len(line) > _HEADER_LINE_MAX_BYTES:
            return line  # a Location or file name from the request: not worth keeping
        if len(_HEADER_LINES) >= _HEADER_LINE_ENTRIES:
            _HEADER_LINES.clear()
        _HEADER_LINES[field] = line
    return line


class _DateHeader:
    """The Date header line, formatted at most once per second."""

    def __init__(self) -> None:
        self.second = -1
        self.line = b""

    def get(self) -> bytes:
        now = int(time.time())
        if now != self.second:
            self.second = now
            self.line = f"Date: {format_http_date(now)}\r\n".encode("latin-1")
        return self.line


_DATE = _DateHeader()


class ServerState:
    """What all connections of one server share: the live set, counters, parsed settings."""

    def __init__(self, trusted_proxies: tuple[Network, ...] = ()) -> None:
        self.trusted_proxies = trusted_proxies
        self.connections: set[Connection] = set()
        self.total_requests = 0
        self.shutting_down = False
        self.per_client: dict[str, int] = {}  # open connections by client address


class StreamBody:
    """The body of one request as an async iterator of chunks, fed by the connection.

    Iterating raises ``HTTPError(408)`` when no byte arrives for ``timeout`` seconds,
    ``HTTPError(400)`` when the chunked framing breaks or the client goes away. It may be
    iterated once. With ``Expect: 100-continue`` the interim 100 goes out when the app first
    asks for the body, so an app that refuses the request never makes the client send it.
    """

    def __init__(self, connection: Connection, timeout: float, expect_continue: bool) -> None:
        self._connection = connection
        self._timeout = timeout
        self._expect_continue = expect_continue
        self._chunks: deque[bytes] = deque()
        self._waiter: asyncio.Future[None] | None = None
        self._error: HTTPError | None = None
        self._iterated = False
        self.buffered = 0
        self.complete = False

    def feed(self, data: bytes) -> None:
        self._chunks.append(data)
        self.buffered += len(data)
        self._wake()

    def finish(self) -> None:
        self.complete = True
        self._wake()

    def fail(self, error: HTTPError) -> None:
        if not self.complete:
            self._error = error
        self._wake()

    def discard(self) -> None:
        """Drop what is buffered (the app answered without reading it)."""
        self._chunks.clear()
        self.buffered = 0

    def _wake(self) -> None:
        if self._waiter is not None and not self._waiter.done():
            self._waiter.set_result(None)

    def __aiter__(self) -> AsyncIterator[bytes]:
        if self._iterated:
            raise RuntimeError("a request body can be read only once")
        self._iterated = True
        return self._iterate()

    async def _iterate(self) -> AsyncIterator[bytes]:
        if self._expect_continue and not self.complete:
            self._connection.send_continue()
        loop = asyncio.get_running_loop()
        while True:
            if self._chunks:
                chunk = self._chunks.popleft()
                self.buffered -= len(chunk)
                self._connection.body_consumed()
                yield chunk
                continue
            if self._error is not None:
                raise self._error
            if self.complete:
                return
            self._waiter = loop.create_future()
            try:
                async with asyncio.timeout(self._timeout):
                    await self._waiter
            except TimeoutError:
                self._error = HTTPError(408, "the request body stopped arriving")
            finally:
                self._waiter = None


class _Job:
    """A request waiting for its answer, with what the connection must remember of it."""

    __slots__ = ("body", "error", "keep_alive", "request")

    def __init__(
        self,
        request: Request | None,
        body: StreamBody | None,
        keep_alive: bool,
        error: HTTPError | None = None,
    ) -> None:
        self.request = request
        self.body = body
        self.keep_alive = keep_alive
        self.error = error


class Connection(asyncio.Protocol):
    """The protocol object for one client socket."""

    def __init__(
        self,
        handler: Handler,
        config: Config,
        state: ServerState,
        access_log: AccessLog | None,
    ) -> None:
        # Global: shared by every connection of the server.
        self.handler = handler
        self.config = config
        self.state = state
        self.access_log = access_log
        self.loop = asyncio.get_running_loop()
        self.use_sendfile = False

        # Per connection.
        self.transport: asyncio.Transport | None = None
        self.client: tuple[str, int] | None = None
        self.scheme = "http"
        self.counted_as: str | None = None  # the key this connection holds in state.per_client
        self.parser = httptools.HttpRequestParser(self)
        self.pipeline: deque[_Job] = deque()
        self.runner: asyncio.Task[None] | None = None
        self.timer: asyncio.TimerHandle | None = None
        self.timer_at = 0.0  # when self.timer fires
        self.deadline: float | None = None  # when the armed timeout expires, None: none armed
        self.on_deadline: Callable[[], None] | None = None
        self.head_timer_running = False
        self.reading = True
        self.writable = asyncio.Event()
        self.writable.set()
        self.lost = False
        self.closing = False  # no more requests will be read; answer the ones queued
        self.framing_broken = False  # a response went out short: close right after it
        self.lingering = False
        self.eof = False
        self.buffered_body = 0

        # Per request, while its head is being parsed.
        self.in_head = False
        self.url = bytearray()
        self.raw_headers: list[tuple[bytes, bytes]] = []
        self.header_bytes = 0
        self.receiving: StreamBody | None = None

    # -- connection events ----------------------------------------------------------------

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # uvloop's transports implement asyncio.Transport without subclassing it.
        self.transport = transport = cast(asyncio.Transport, transport)
        peer = transport.get_extra_info("peername")
        self.client = (str(peer[0]), int(peer[1])) if isinstance(peer, tuple) else None
        if transport.get_extra_info("sslcontext") is not None:
            self.scheme = "https"
        address = self.client[0] if self.client is not None else ""
        if (
            len(self.state.connections) >= self.config.max_connections
            or self.state.per_client.get(address, 0) >= self.config.max_connections_per_client
        ):
            transport.write(_OVERLOADED)
            transport.close()
            self.lost = True
            return
        self.state.connections.add(self)
        self.state.per_client[address] = self.state.per_client.get(address, 0) + 1
        self.counted_as = address
        self.use_sendfile = (
            type(self.loop).__module__.startswith("asyncio")
            and transport.get_extra_info("sslcontext") is None
        )
        self._arm(self.config.header_timeout, self._header_timeout)

    def connection_lost(self, exc: Exception | None) -> None:
        self.lost = True
        self.state.connections.discard(self)
        if self.counted_as is not None:
            left = self.state.per_client.pop(self.counted_as) - 1
            if left:
                self.state.per_client[self.counted_as] = left
            self.counted_as = None
        self._cancel_timer()
        self.writable.set()
        error = HTTPError(400, "the client closed the connection")
        for job in self.pipeline:
            if job.body is not None:
                job.body.fail(error)

    def eof_received(self) -> bool:
        self.eof = True
        if self.receiving is not None:
            self.receiving.fail(HTTPError(400, "the client closed before sending the whole body"))
        if not self.pipeline:
            self._close()
        return True

    def is_lost(self) -> bool:
        """True once the client's connection is gone (``Request.is_disconnected``)."""
        return self.lost

    def pause_writing(self) -> None:
        self.writable.clear()

    def resume_writing(self) -> None:
        self.writable.set()

    def data_received(self, data: bytes) -> None:
        if self.lingering or self.closing:
            return
        try:
            self.parser.feed_data(data)
        except httptools.HttpParserUpgrade:
            # Upgrades (WebSocket, h2c) are not offered: answer the request, then close.
            if self.pipeline:
                self.pipeline[-1].keep_alive = False
        except httptools.HttpParserCallbackError as error:
            cause = error.__context__
            if isinstance(cause, HTTPError):
                self._protocol_error(cause)
            else:
                raise
        except httptools.HttpParserInvalidMethodError:
            match = _METHOD_START.match(data)
            if match and is_token(match.group(1).decode("latin-1")):
                self._protocol_error(ProtocolError(501, "this method is not implemented"))
            else:
                self._protocol_error(ProtocolError(400, "malformed request line"))
        except httptools.HttpParserError as error:
            self._protocol_error(ProtocolError(400, f"malformed request: {error}"))
        self._update_reading()

    # -- parser callbacks -----------------------------------------------------------------

    def on_message_begin(self) -> None:
        self.in_head = True
        self.url = bytearray()
        self.raw_headers = []
        self.header_bytes = 0
        # The head's clock starts at the first byte after an idle keep-alive wait, but a clock
        # already running for it (from connection start) is not restarted by that byte: else a
        # client could take twice the header timeout.
        if not self.head_timer_running:
            self._arm(self.config.header_timeout, self._header_timeout)

    def on_url(self, url: bytes) -> None:
        self.url += url
        if len(self.url) > self.config.max_url_bytes:
            raise ProtocolError(414, f"the URL is longer than {self.config.max_url_bytes} bytes")

    def on_header(self, name: bytes, value: bytes) -> None:
        self.header_bytes += len(name) + len(value) + 4
        self.raw_headers.append((name, value))
        if self.header_bytes > self.config.max_header_bytes:
            raise ProtocolError(
                431, f"the headers are larger than {self.config.max_header_bytes} bytes"
            )
        if len(self.raw_headers) > self.config.max_headers:
            raise ProtocolError(431, f"more than {self.config.max_headers} header fields")

    def on_headers_complete(self) -> None:
        self.in_head = False
        self._disarm()
        method = self.parser.get_method().decode("latin-1")
        version = self.parser.get_http_version()
        headers = Headers([(n.decode("latin-1"), v.decode("latin-1")) for n, v in self.raw_headers])
        target = self.url.decode("latin-1")
        keep_alive = bool(self.parser.should_keep_alive()) and not self.state.shutting_down
        body = StreamBody(
            self,
            self.config.body_timeout,
            expect_continue=(headers.get("expect") or "").lower() == "100-continue"
            and version == "1.1",
        )
        self.receiving = body
        client, scheme = self.client, self.scheme
        if self.state.trusted_proxies:
            client, scheme = forwarded_origin(client, scheme, headers, self.state.trusted_proxies)
        error: HTTPError | None = None
        try:
            check_version(version)  # issue 17: no version, or HTTP/2.0 -> 400/505
            request = build_request(
                method,
                target,
                version,
                headers,
                body=body,
                client=client,
                scheme=scheme,
                max_query_fields=self.config.max_query_fields,
            )
        except HTTPError as refused:
            error = refused
            # A refused head still gets a request: its answer and access-log line need one.
            request = Request(
                method=method,
                target=target,
                path="/",
                version=version,
                headers=headers,
                client=client,
                body=body,
                scheme=scheme,
            )
            if isinstance(refused, ProtocolError):
                keep_alive = False
        request.is_disconnected = self.is_lost  # issue 17: no work for a client that left
        self._enqueue(_Job(request, body, keep_alive, error))
        if isinstance(error, ProtocolError):
            self.closing = True
            self.receiving = None

    def on_body(self, data: bytes) -> None:
        if self.receiving is not None:
            self.receiving.feed(data)
            self.buffered_body += len(data)

    def on_message_complete(self) -> None:
        if self.receiving is not None:
            self.receiving.finish()
            self.receiving = None

    # -- flow control ---------------------------------------------------------------------

    def body_consumed(self) -> None:
        """A body chunk was taken by the app; reading may resume."""
        self._recount_body()
        self._update_reading()

    def _recount_body(self) -> None:
        self.buffered_body = sum(job.body.buffered for job in self.pipeline if job.body)

    def _update_reading(self) -> None:
        if self.transport is None or self.lost:
            return
        pause = (
            self.buffered_body > BODY_HIGH_WATER
            or len(self.pipeline) >= self.config.max_pipeline
            or self.closing
        ) and not self.lingering
        if pause and self.reading:
            self.reading = False
            self.transport.pause_reading()
        elif not pause and not self.reading:
            self.reading = True
            self.transport.resume_reading()

    async def drain(self) -> None:
        """Wait until the transport wants more; raises ConnectionError once the peer is gone,
        or when the client read nothing of what waits for ``send_timeout`` seconds.

        The timeout is about progress, as nginx's ``send_timeout``: a slow reader that keeps
        taking bytes is never cut, one that takes none for the whole period is.
        """
        assert self.transport is not None
        while not self.writable.is_set() and not self.lost:
            waiting = self.transport.get_write_buffer_size()
            try:
                async with asyncio.timeout(self.config.send_timeout):
                    await self.writable.wait()
            except TimeoutError:
                if self.lost or self.transport.get_write_buffer_size() < waiting:
                    continue  # it read some: wait another period
                self._send_timed_out()
        if self.lost:
            raise ConnectionResetError("the client went away")

    async def next_piece(self) -> None:
        """Between two pieces of a body: wait for the transport when it is full, and yield to
        the loop when it is not, so a client reading fast never keeps the others waiting
        (issue 17: the transport of a fast reader stays writable for a whole 200 MB body)."""
        if self.writable.is_set() and not self.lost:
            await asyncio.sleep(0)
        else:
            await self.drain()

    def _send_timed_out(self) -> NoReturn:
        assert self.transport is not None
        log.info("closing the connection to %s: nothing read for %ss", self.client,
                 self.config.send_timeout)  # fmt: skip
        self.framing_broken = True
        self.transport.abort()
        raise ConnectionAbortedError("the client read nothing within the send timeout")

    def send_continue(self) -> None:
        if self.transport is not None and not self.lost:
            self.transport.write(_CONTINUE)

    # -- timers ---------------------------------------------------------------------------

    def _arm(self, seconds: float, callback: Callable[[], None]) -> None:
        """Run ``callback`` in ``seconds`` unless disarmed or re-armed first."""
        deadline = self.loop.time() + seconds
        self.deadline = deadline
        self.on_deadline = callback
        self.head_timer_running = callback == self._header_timeout
        if self.timer is None or self.timer_at > deadline:
            if self.timer is not None:
                self.timer.cancel()
            self.timer_at = deadline
            self.timer = self.loop.call_at(deadline, self._wake)

    def _disarm(self) -> None:
        self.head_timer_running = False
        self.deadline = None
        self.on_deadline = None

    def _wake(self) -> None:
        """The loop timer fired: run the armed callback if its deadline has come, else sleep
        again until the (later) deadline now armed."""
        self.timer = None
        deadline, callback = self.deadline, self.on_deadline
        if deadline is None or callback is None:
            return
        if deadline > self.loop.time():
            self.timer_at = deadline
            self.timer = self.loop.call_at(deadline, self._wake)
            return
        self.deadline = None
        self.on_deadline = None
        callback()

    def _cancel_timer(self) -> None:
        self._disarm()
        if self.timer is not None:
            self.timer.cancel()
            self.timer = None

    def _header_timeout(self) -> None:
        self.head_timer_running = False
        if self.in_head:
            self._protocol_error(ProtocolError(408, "the request head did not arrive in time"))
        elif not self.pipeline:
            self._close()

    def _keepalive_timeout(self) -> None:
        if not self.pipeline and not self.in_head:
            self._close()

    # -- the runner -----------------------------------------------------------------------

    def _protocol_error(self, error: HTTPError) -> None:
        """Answer ``error`` after the responses already due, then close."""
        if self.closing:
            return
        self.closing = True
        if self.receiving is not None:
            self.receiving.fail(HTTPError(400, "malformed request body"))
            self.receiving = None
            return  # the app reading that body answers and the connection then closes
        self._enqueue(_Job(None, None, False, error))

    def _enqueue(self, job: _Job) -> None:
        self.pipeline.append(job)
        if self.runner is None:
            self.runner = self.loop.create_task(self._run())

    async def _run(self) -> None:
        try:
            while self.pipeline and not self.lost:
                job = self.pipeline[0]
                keep_going = await self._answer(job)
                self.pipeline.popleft()
                if job.body is not None:
                    job.body.discard()
                self._recount_body()
                if not keep_going:
                    self._close(linger=True)
                    return
                self._update_reading()
        except (ConnectionError, OSError) as error:
            log.debug("connection to %s ended while answering: %s", self.client, error)
            self._close()
        finally:
            self.runner = None
        if self.eof or self.state.shutting_down:
            self._close()
        elif not self.in_head and not self.lost:
            self._arm(self.config.keepalive_timeout, self._keepalive_timeout)

    async def _answer(self, job: _Job) -> bool:
        """Compute and send the response to ``job``; True when the connection may continue."""
        request = job.request
        if request is None or job.error is not None:
            error = job.error or ProtocolError(400, "malformed request")
            response = plain_error(error)
            keep_alive = job.keep_alive and not isinstance(error, ProtocolError)
        else:
            try:
                response = await self.handler(request)
            except Exception:
                log.exception("handler failed on %s %s", request.method, request.target)
                response = plain_error(HTTPError(500, "the server hit an unexpected error"))
            keep_alive = job.keep_alive
        if job.body is not None and not job.body.complete:
            keep_alive = False  # the rest of the body would be read as the next request
        # Once no more requests will be read, the last response due says so; the ones before
        # it still go out, in order (a malformed request after two good ones gets two answers
        # and then its 400).
        if (self.closing and len(self.pipeline) <= 1) or self.state.shutting_down:
            keep_alive = False
        if self.lost:
            # The client left while the app worked: nothing to write to (a closed uvloop
            # transport raises on write), but the access log still records the answer.
            await _close_iterator_or_file(response)
            sent = 0
            keep_alive = False
        else:
            sent = await self._send(request, response, keep_alive)
        if self.framing_broken:
            keep_alive = False
        self.state.total_requests += 1
        if self.access_log is not None:
            line = (
                f"{request.method} {request.target} HTTP/{request.version}"
                if request is not None
                else "-"
            )
            client = request.client if request is not None else self.client
            host = client[0] if client else "-"
            self.access_log.write(host, line, response.status, sent)
        return keep_alive

    # -- writing --------------------------------------------------------------------------

    def _head(
        self, request: Request | None, response: Response, keep_alive: bool, length: int | None
    ) -> bytes:
        parts = [status_line(response.status), _DATE.get(), _SERVER_HEADER]
        parts += map(_header_line, response.headers)
        if response.status >= 200 and response.status not in (204, 304):
            if length is not None:
                parts.append(b"Content-Length: %d\r\n" % length)
            elif request is not None and request.version == "1.1":
                parts.append(b"Transfer-Encoding: chunked\r\n")
        if not keep_alive:
            parts.append(b"Connection: close\r\n")
        elif request is not None and request.version == "1.0":
            parts.append(b"Connection: keep-alive\r\n")
        parts.append(b"\r\n")
        return b"".join(parts)

    async def _send(self, request: Request | None, response: Response, keep_alive: bool) -> int:
        """Write ``response``; returns the body bytes sent. Closes file bodies it is given."""
        assert self.transport is not None
        body = response.body
        method = request.method if request is not None else "GET"
        with_body = body_allowed(method, response.status)
        length = body_length(body)
        if length is None and with_body and (request is None or request.version != "1.1"):
            keep_alive = False  # an HTTP/1.0 stream is delimited by closing
        if isinstance(body, FileBody):
            return await self._send_file(body, request, response, keep_alive, with_body)
        head = self._head(request, response, keep_alive, length)
        if isinstance(body, bytes):
            self.transport.write(head + body if with_body else head)
            if self.lost or not self.writable.is_set():
                await self.drain()
            return len(body) if with_body else 0
        self.transport.write(head)
        if not with_body:
            await _close_iterator(body)
            return 0
        chunked = request is not None and request.version == "1.1"
        sent = 0
        try:
            async for chunk in body:
                if not chunk:
                    continue
                sent += len(chunk)
                self.transport.write(b"%x\r\n%s\r\n" % (len(chunk), chunk) if chunked else chunk)
                await self.next_piece()
        except ConnectionError:
            await _close_iterator(body)  # release its file now, not when it is collected
            raise
        except Exception as error:
            # The head is out, so no error page can follow: end the connection without the
            # last chunk, which tells the client the body is incomplete.
            if isinstance(error, HTTPError):
                log.warning("response stream stopped: %s", error)
            else:
                log.exception("response stream failed")
            self.framing_broken = True
            await _close_iterator(body)
            return sent
        if chunked:
            self.transport.write(b"0\r\n\r\n")
        return sent

    async def _send_file(
        self,
        body: FileBody,
        request: Request | None,
        response: Response,
        keep_alive: bool,
        with_body: bool,
    ) -> int:
        assert self.transport is not None
        fd = body.fd if body.fd is not None else os.open(body.path, os.O_RDONLY)
        try:
            head = self._head(request, response, keep_alive, body.length)
            if not with_body:
                self.transport.write(head)
                return 0
            if body.length <= SMALL_FILE:
                data = os.pread(fd, body.length, body.offset)
                self.transport.write(head + data)
                if len(data) != body.length:
                    self.framing_broken = True  # the file shrank: the framing is now wrong
                if self.lost or not self.writable.is_set():
                    await self.drain()
                return len(data)
            self.transport.write(head)
            await self.drain()
            if self.use_sendfile:
                sent = await self._sendfile(fd, body.offset, body.length)
            else:
                sent = await self._copy_file(fd, body.offset, body.length)
            if sent != body.length:
                self.framing_broken = True
            return sent
        finally:
            os.close(fd)

    async def _sendfile(self, fd: int, offset: int, length: int) -> int:
        """Send a file range with the loop's ``sendfile``, in pieces of ``SENDFILE_PIECE``,
        each of which must go out within the send timeout (the loop's sendfile shows no
        progress inside one call, so the timeout is per piece here: a client slower than a
        piece per timeout, 1 MiB per 60 s by default, is cut off)."""
        assert self.transport is not None
        sent = 0
        with open(fd, "rb", closefd=False) as file:
            while sent < length:
                piece = min(SENDFILE_PIECE, length - sent)
                try:
                    async with asyncio.timeout(self.config.send_timeout):
                        done = await self.loop.sendfile(
                            self.transport, file, offset + sent, piece, fallback=True
                        )
                except TimeoutError:
                    self._send_timed_out()
                sent += done
                if done < piece:
                    break  # the file shrank
        return sent

    async def _copy_file(self, fd: int, offset: int, length: int) -> int:
        """Send a file range by bounded reads and writes, honouring flow control."""
        assert self.transport is not None
        sent = 0
        while sent < length:
            data = os.pread(fd, min(FILE_CHUNK, length - sent), offset + sent)
            if not data:
                break
            self.transport.write(data)
            sent += len(data)
            await self.next_piece()
        return sent

    # -- closing --------------------------------------------------------------------------

    def shutdown(self) -> None:
        """Server stopping: close now when idle, else after the response in flight."""
        if not self.pipeline and not self.in_head:
            self._close()

    def _close(self, linger: bool = False) -> None:
        if self.transport is None or self.transport.is_closing():
            return
        self._disarm()
        if linger and not self.lost and not self.eof and self.transport.can_write_eof():
            self.lingering = True
            self.transport.write_eof()
            if not self.reading:
                self.reading = True
                self.transport.resume_reading()
            self._arm(LINGER_SECONDS, self.transport.close)
            return
        self.transport.close()


async def _close_iterator_or_file(response: Response) -> None:
    body = response.body
    if isinstance(body, FileBody):
        if body.fd is not None:
            os.close(body.fd)
    elif not isinstance(body, bytes):
        await _close_iterator(body)


async def _close_iterator(body: AsyncIterator[bytes]) -> None:
    closer = getattr(body, "aclose", None)
    if closer is not None:
        await closer()
