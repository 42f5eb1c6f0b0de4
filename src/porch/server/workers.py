"""``--workers N``: N server processes sharing one port, supervised by the parent.

Theory of operation. The parent picks the port (binding port 0 first when asked for a free
one), then forks N children; each runs the ordinary single-process server with
``SO_REUSEPORT``, so the kernel spreads new connections across their accept queues. Where
``SO_REUSEPORT`` is missing, the parent opens one listening socket before forking and the
children share it. The parent only supervises: a child that dies while the server is running
is restarted (a crash loop is slowed to one restart per second), and SIGINT/SIGTERM is passed
on to every child, which finishes its requests in flight within the grace period; the parent
exits 0 once they are all gone.
"""

from __future__ import annotations

import contextlib
import dataclasses
import logging
import os
import signal
import socket
import sys
import time
from collections.abc import Callable

from porch.config import Config
from porch.http import ErrorPage, Handler, plain_error
from porch.runtime import Runtime
from porch.server.banner import banner_extra
from porch.server.serve import StartupError, run, url_host

log = logging.getLogger("porch.server")

RESTART_DELAY = 1.0


def _reserve_port(config: Config) -> tuple[int, socket.socket | None]:
    """The port the children will use, and a shared socket when SO_REUSEPORT is missing."""
    family = socket.AF_INET6 if ":" in config.host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    reuse_port = hasattr(socket, "SO_REUSEPORT")
    if reuse_port:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    try:
        sock.bind((config.host, config.port))
    except OSError as error:
        sock.close()
        raise StartupError(f"cannot listen on {config.host}:{config.port}: {error}") from None
    port = int(sock.getsockname()[1])
    if reuse_port:
        return port, sock  # held (bound, not listening) until the children are up
    sock.listen(2048)
    sock.set_inheritable(True)
    return port, sock


def run_workers(
    runtime: Runtime, make_handler: Callable[[], Handler], error_page: ErrorPage = plain_error
) -> int:
    """Run ``config.workers`` supervised server processes; returns the exit status.

    ``runtime`` was validated before this is called (the TLS context built, the paths
    checked), so a child never fails for a reason the parent could have found: a child that
    dies is a crash, and is restarted.
    """
    config = runtime.config
    port, reserved = _reserve_port(config)
    shared = reserved if not hasattr(socket, "SO_REUSEPORT") else None
    child = dataclasses.replace(runtime, config=dataclasses.replace(config, port=port))
    stopping = False
    children: dict[int, float] = {}

    def spawn() -> None:
        pid = os.fork()
        if pid == 0:
            status = 0
            try:
                if reserved is not None and shared is None:
                    reserved.close()
                signal.signal(signal.SIGINT, signal.SIG_DFL)
                signal.signal(signal.SIGTERM, signal.SIG_DFL)
                run(child, make_handler(), sock=shared, announce=False, error_page=error_page)
            except BaseException:
                log.exception("worker %d failed", os.getpid())
                status = 1
            finally:
                os._exit(status)
        children[pid] = time.monotonic()

    def stop(signum: int, frame: object) -> None:
        nonlocal stopping
        stopping = True
        for pid in children:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGTERM)

    signal.signal(signal.SIGINT, stop)
    signal.signal(signal.SIGTERM, stop)
    for _ in range(config.workers):
        spawn()
    time.sleep(0.2)
    if reserved is not None and shared is None:
        reserved.close()
    scheme = runtime.scheme
    sys.stdout.write(
        f"porch serving {config.root} at {scheme}://{url_host(config.host)}:{port}/\n"
        f"porch: {config.workers} worker processes\n"
    )
    banner_extra(config, port, scheme, sys.stdout)
    sys.stdout.flush()
    while children:
        try:
            pid, status = os.wait()
        except ChildProcessError:
            break
        except InterruptedError:
            continue
        started = children.pop(pid, time.monotonic())
        if stopping:
            continue
        log.warning("worker %d exited (status %d); starting another", pid, status)
        if time.monotonic() - started < RESTART_DELAY:
            time.sleep(RESTART_DELAY)
        spawn()
    return 0
