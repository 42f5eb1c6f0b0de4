"""One request cycle: from a queued request to its response on the wire, in order.

A finished head becomes a ``Job`` on the connection's pipeline; one runner task per busy
connection takes the jobs in order, awaits the handler and writes the response, so pipelined
requests are answered in the order they came. A job is either a request or an error found on
the wire (a malformed head, a limit) to answer before closing; both are answered through the
same error page (``ErrorPage``, the app's when the CLI wires one in).

Keep-alive is decided here once per response, by ``porch.http.wire.framing.frame``, from what
the connection allows (the client asked for it, its body was read, no more requests will be
read, the server is stopping) and what the framing needs (a close-delimited body ends it).
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from porch.http import (
    ErrorPage,
    FileBody,
    Headers,
    HTTPError,
    Request,
    Response,
    ServerFault,
    body_length,
    build_request,
    check_version,
)
from porch.http.forwarded import forwarded_origin
from porch.http.wire import Phase, frame, response_head
from porch.server.body import StreamBody
from porch.server.senders import release_body

if TYPE_CHECKING:
    from porch.server.protocol import Connection

log = logging.getLogger("porch.server")

_IDLE, _CLOSED = Phase.IDLE, Phase.CLOSED  # a member read off its Enum class: ~0.25 µs (3.11)


class Job:
    """A request waiting for its answer, with what the connection must remember of it."""

    __slots__ = ("body", "error", "keep_alive", "replay_key", "request")

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
        self.replay_key: tuple[bytes, ...] | None = None  # porch.server.replay


def job_for_head(
    connection: Connection,
    method: str,
    target: str,
    version: str,
    fields: list[tuple[str, str]],
    keep_alive: bool,
) -> Job:
    """The job for a complete head: its ``Request`` (through ``build_request``, the same rules
    as every front end) with a ``StreamBody`` the connection feeds, or the error refusing it."""
    config = connection.config
    headers = Headers(fields)
    expect = headers.get("expect")
    body = StreamBody(
        connection,
        config.body_timeout,
        expect_continue=expect is not None
        and expect.lower() == "100-continue"
        and version == "1.1",
    )
    client, scheme = connection.client, connection.scheme
    trusted = connection.state.trusted_proxies
    if trusted:
        client, scheme = forwarded_origin(client, scheme, headers, trusted)
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
            max_query_fields=config.max_query_fields,
            informational=connection.interim,
        )
    except HTTPError as refused:
        # A refused head still gets a request: its answer and access-log line need one.
        request = Request(method, target, "/", {}, version, headers, client, body, scheme)
        return Job(request, body, keep_alive and not refused.close, refused)
    request.is_disconnected = connection.is_lost  # issue 17: no work for a client that left
    return Job(request, body, keep_alive)


async def respond(connection: Connection, job: Job) -> bool:
    """Compute and send the response to ``job``; True when the connection may continue."""
    request = job.request
    error = job.error
    if request is None or error is not None:
        error = error or HTTPError(400, "malformed request")
        response = connection.error_page(error, request)
        keep_alive = job.keep_alive and not error.close
    else:
        try:
            response = await connection.handler(request)
        except Exception:
            log.exception("handler failed on %s %s", request.method, request.target)
            fault = ServerFault(500, "the server hit an unexpected error")
            response = connection.error_page(fault, request)
        keep_alive = job.keep_alive
    if job.replay_key is not None and response.source is not None and request is not None:
        assert connection.replays is not None  # a key is made only with a cache
        connection.replays.offer(job.replay_key, request, response)
    if job.body is not None and not job.body.complete:
        keep_alive = False  # the rest of the body would be read as the next request
    # Once no more requests will be read, the last response due says so; the ones before it
    # still go out, in order (a malformed request after two good ones gets two answers and
    # then its 400).
    if connection.state.shutting_down or (
        connection.wire.phase > _IDLE and len(connection.pipeline) <= 1  # no longer reading
    ):
        keep_alive = False
    if connection.flow.lost:
        # The client left while the app worked (issue 17): nothing to write to (a closed
        # uvloop transport raises on write), but the access log still records the answer.
        await release_body(response.body)
        sent, keep_alive = 0, False
    else:
        sent, keep_alive = await send(connection, request, response, keep_alive)
    connection.state.total_requests += 1
    connection.state.bytes_out += sent
    access_log = connection.access_log
    if access_log is not None:
        if request is not None:
            line = f"{request.method} {request.target} HTTP/{request.version}"
            client = request.client
        else:
            line, client = "-", connection.client
        user = request.user if request is not None else None  # issue 19: CLF's user field
        access_log.write(client[0] if client else "-", line, response.status, sent, user)
    return keep_alive


async def send(
    connection: Connection, request: Request | None, response: Response, keep_alive: bool
) -> tuple[int, bool]:
    """Frame and write ``response``: (body bytes sent, whether the connection stays open)."""
    body = response.body
    status = response.status
    length = body_length(body)
    if request is not None:
        framing = frame(request.method, request.version, status, length, keep_alive)
    else:
        framing = frame("GET", "1.1", status, length, keep_alive)
    head = response_head(framing, status, response.headers, length)
    sender = connection.sender
    if isinstance(body, bytes):
        sent, whole = await sender.send_bytes(framing, head, body)
    elif isinstance(body, FileBody):
        sent, whole = await sender.send_file(framing, head, body)
    else:
        sent, whole = await sender.send_stream(framing, head, body, length)
    return sent, framing.keep_alive and whole


def refusal_bytes(error_page: ErrorPage, error: HTTPError) -> bytes:
    """A whole closing response for ``error`` rendered by ``error_page`` for no request (the
    503 of admission, answered before any request is read): computed once at start, written
    as is, so it carries the same page and security headers as every other error."""
    response = error_page(error, None)
    body = response.body if isinstance(response.body, bytes) else b""
    framing = frame("GET", "1.1", response.status, len(body), False)
    return response_head(framing, response.status, response.headers, len(body)) + body


async def run_pipeline(connection: Connection) -> None:
    """Answer the queued jobs in order until the queue is empty or the connection ends."""
    pipeline = connection.pipeline
    try:
        while pipeline and connection.wire.phase != _CLOSED:
            job = pipeline[0]
            keep_going = await respond(connection, job)
            pipeline.popleft()
            if job.body is not None:
                job.body.discard()
            connection.recount_body()
            if not keep_going:
                connection.end_after_response()
                return
            connection.update_reading()
    except (ConnectionError, OSError) as error:
        log.debug("connection to %s ended while answering: %s", connection.client, error)
        connection.abort()
    finally:
        connection.runner = None
    connection.drained()
