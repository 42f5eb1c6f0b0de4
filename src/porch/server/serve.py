"""Listening, the event loop, signals, draining and graceful shutdown.

Stopping (docs/deploy.md). SIGTERM first *drains*: the server marks ``Lifecycle.draining``
(the app's ``/-/health`` answers 503, so a load balancer takes the node out) and answers every
response from then on with ``Connection: close``, while the listener stays open for
``--drain-delay`` seconds so connections the balancer already sent are still accepted. Then
the listener closes, idle connections close, responses in flight get ``--shutdown-grace``
seconds to finish, and what is left is aborted; the process exits 0. The delay is skipped
when nothing ever polled ``/-/health`` (no balancer is watching, so waiting helps nobody)
and on SIGINT (Ctrl-C means now).
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import logging
import resource
import signal
import socket
import sys
import time
from collections.abc import Callable
from typing import TextIO

from porch.http import ErrorPage, Handler, ServerFault, plain_error
from porch.http.lifecycle import Lifecycle
from porch.metrics import Metrics
from porch.runtime import Runtime
from porch.server.accesslog import AccessLog
from porch.server.admission import ServerState
from porch.server.banner import banner_extra
from porch.server.cycle import refusal_bytes
from porch.server.protocol import Connection
from porch.server.replay import ReplayCache
from porch.server.senders import SendPolicy
from porch.server.tlsgate import gated

log = logging.getLogger("porch.server")


class StartupError(Exception):
    """The server cannot start (port in use, bad address); the message says why."""


def loop_factory(name: str) -> Callable[[], asyncio.AbstractEventLoop]:
    """The event loop to run on: ``uvloop``, ``asyncio``, or ``auto`` (uvloop when installed)."""
    if name in ("auto", "uvloop"):
        try:
            import uvloop
        except ImportError:
            if name == "uvloop":
                raise StartupError(
                    "--loop uvloop was asked for, but uvloop is not installed"
                ) from None
        else:
            factory: Callable[[], asyncio.AbstractEventLoop] = uvloop.new_event_loop
            return factory
    return asyncio.new_event_loop


def raise_file_limit() -> None:
    """Lift the soft open-file limit to the hard one: each connection is a descriptor."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft != hard:
        with contextlib.suppress(ValueError, OSError):
            resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))


def url_host(host: str) -> str:
    """``host`` as it appears in a URL (IPv6 literals in brackets)."""
    return f"[{host}]" if ":" in host else host


async def serve(
    runtime: Runtime,
    handler: Handler,
    *,
    announce: TextIO | None = None,
    stop: asyncio.Event | None = None,
    sock: socket.socket | None = None,
    quiet_start: bool = False,
    error_page: ErrorPage = plain_error,
    policy: SendPolicy | None = None,
    lifecycle: Lifecycle | None = None,
    metrics: Metrics | None = None,
) -> None:
    """Serve ``handler`` on the validated ``runtime``'s host and port until SIGINT/SIGTERM or
    ``stop``.

    On stop: close the listening socket, close idle connections, let responses in flight
    finish for up to ``config.shutdown_grace`` seconds, then abort what is left.
    Raises ``StartupError`` when the address cannot be bound. ``sock`` is an already
    listening socket to serve on (shared by ``--workers`` where SO_REUSEPORT is missing);
    ``quiet_start`` skips the start-up banner (workers leave it to their parent).
    ``error_page`` renders the errors the server finds itself (the app's, so they look like
    the app's own); ``policy`` picks how files are sent (default: from what the loop can do).
    ``lifecycle`` is shared with the app (draining: the module docstring); ``metrics`` gets
    the server's counters (connections, bytes, refusals) once a second.
    """
    loop = asyncio.get_running_loop()
    config = runtime.config
    state = ServerState(runtime.trusted_proxies)
    state.overloaded = refusal_bytes(
        error_page, ServerFault(503, "too many connections; try again", {"Retry-After": "1"})
    )
    lifecycle = lifecycle if lifecycle is not None else Lifecycle()
    access_log = None if config.quiet else AccessLog(json_lines=config.access_log_format == "json")
    raise_file_limit()
    context = runtime.ssl_context
    handshake_timeout = config.header_timeout if context is not None else None
    policy = policy if policy is not None else SendPolicy.for_loop(loop)

    replays = ReplayCache(config.response_cache_size, trusted_proxies=bool(state.trusted_proxies))

    def make_connection() -> asyncio.BaseProtocol:
        return Connection(
            handler,
            config,
            state,
            access_log,
            error_page=error_page,
            policy=policy,
            replays=replays,
        )

    factory: Callable[[], asyncio.BaseProtocol] = make_connection
    listen_context, listen_timeout = context, handshake_timeout
    if context is not None:  # issue 19: plain HTTP on the TLS port gets a 400 (tlsgate)
        factory = gated(make_connection, context, handshake_timeout)
        listen_context, listen_timeout = None, None
    try:
        if sock is not None:
            server = await loop.create_server(
                factory,
                sock=sock,
                backlog=2048,
                ssl=listen_context,
                ssl_handshake_timeout=listen_timeout,
            )
        else:
            server = await loop.create_server(
                factory,
                host=config.host,
                port=config.port,
                reuse_address=True,
                reuse_port=config.workers > 1,
                backlog=2048,
                ssl=listen_context,
                ssl_handshake_timeout=listen_timeout,
            )
    except OSError as error:
        if error.errno == errno.EADDRINUSE:
            raise StartupError(f"port {config.port} on {config.host} is already in use") from None
        raise StartupError(f"cannot listen on {config.host}:{config.port}: {error}") from None

    out = announce if announce is not None else sys.stdout
    scheme = runtime.scheme
    if not quiet_start:
        for listener in server.sockets:
            host, port = listener.getsockname()[:2]
            out.write(f"porch serving {config.root} at {scheme}://{url_host(host)}:{port}/\n")
        banner_extra(config, server.sockets[0].getsockname()[1], scheme, out)
        out.flush()

    stop = stop if stop is not None else asyncio.Event()
    terminated = False

    def on_sigterm() -> None:
        nonlocal terminated
        terminated = True
        stop.set()

    loop.add_signal_handler(signal.SIGINT, stop.set)
    loop.add_signal_handler(signal.SIGTERM, on_sigterm)
    sampler = None
    if metrics is not None:
        registry = metrics
        state.replayed = lambda kept: registry.request(kept.method, kept.status, 0.0)
        metrics.collect(lambda registry: collect_server(registry, state, replays))
        sampler = loop.create_task(_sample_every_second(metrics))
    try:
        await stop.wait()
    finally:
        for signum in (signal.SIGINT, signal.SIGTERM):
            loop.remove_signal_handler(signum)
        lifecycle.draining = True
        state.shutting_down = True  # every response from now on says Connection: close
        if terminated and lifecycle.health_polled and config.drain_delay > 0:
            log.info("draining: /-/health says 503 for %ss before the listener closes",
                     config.drain_delay)  # fmt: skip
            await asyncio.sleep(config.drain_delay)
        server.close()
        for connection in list(state.connections):
            connection.shutdown()
        deadline = time.monotonic() + config.shutdown_grace
        while state.connections and time.monotonic() < deadline:
            await asyncio.sleep(0.05)
        for connection in list(state.connections):
            if connection.transport is not None:
                connection.transport.abort()
        await asyncio.sleep(0)
        if sampler is not None:
            sampler.cancel()
        if access_log is not None:
            access_log.flush()  # the lines of the last loop turn


async def _sample_every_second(metrics: Metrics) -> None:
    while True:
        await asyncio.sleep(1.0)
        metrics.sample()


def collect_server(metrics: Metrics, state: ServerState, replays: ReplayCache) -> None:
    """The server's counters and gauges into this process's metrics slot (porch.metrics)."""
    metrics.add_total(("cache", "response", "hit"), replays.hits, replays)
    metrics.add_total(("cache", "response", "miss"), replays.misses, replays)
    metrics.set_gauge("porch_connections_open", len(state.connections))
    metrics.set_gauge("porch_connections_idle", len(state.idle))
    metrics.add_total(("counter", "porch_received_bytes_total"), state.bytes_in, state)
    metrics.add_total(("counter", "porch_sent_bytes_total"), state.bytes_out, state)
    metrics.add_total(("counter", "porch_connections_total"), state.accepted, state)
    metrics.add_total(("refused", "refused"), state.refused, state)
    metrics.add_total(("refused", "shed"), state.shed, state)
    metrics.add_total(("refused", "reclaimed_idle"), state.reclaimed_idle, state)


def run(
    runtime: Runtime,
    handler: Handler,
    *,
    sock: socket.socket | None = None,
    announce: bool = True,
    error_page: ErrorPage = plain_error,
    lifecycle: Lifecycle | None = None,
    metrics: Metrics | None = None,
) -> None:
    """Run ``serve`` on the configured event loop until stopped (blocking)."""
    with asyncio.Runner(loop_factory=loop_factory(runtime.config.loop)) as runner:
        runner.run(
            serve(
                runtime,
                handler,
                sock=sock,
                quiet_start=not announce,
                error_page=error_page,
                lifecycle=lifecycle,
                metrics=metrics,
            )
        )
