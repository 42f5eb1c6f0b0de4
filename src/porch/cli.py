"""``porch`` on the command line: argparse -> ``Config`` -> ``serve``.

Everything is checked here, loudly, before the first request: a missing root or a port in use
is an error message and exit status 2, never a server that answers 404 to everything.
"""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

from porch import __version__, config
from porch.app import App
from porch.config import Config
from porch.server import StartupError, run


def _positive(kind: Callable[[str], float | int]) -> Callable[[str], float | int]:
    def parse(text: str) -> float | int:
        value = kind(text)
        if value <= 0:
            raise argparse.ArgumentTypeError(f"must be above zero: {text}")
        return value

    parse.__name__ = kind.__name__
    return parse


def build_parser() -> argparse.ArgumentParser:
    """The argument parser; every limit has a flag, every flag a default from ``porch.config``."""
    parser = argparse.ArgumentParser(
        prog="porch",
        description="Serve a directory over HTTP/1.1: files, listings, uploads, templates.",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    parser.add_argument("root", nargs="?", default=".", help="directory to serve")
    parser.add_argument("--host", default=config.DEFAULT_HOST, help="address to listen on")
    parser.add_argument("--port", type=int, default=config.DEFAULT_PORT, help="0 picks a free one")
    parser.add_argument("--hidden", action="store_true", help="serve and list dot-files")
    parser.add_argument("--quiet", action="store_true", help="no access log")
    parser.add_argument(
        "--loop", choices=("auto", "asyncio", "uvloop"), default="auto", help="event loop"
    )
    limits = parser.add_argument_group("limits and timeouts")
    positive_int, positive_float = _positive(int), _positive(float)
    limits.add_argument(
        "--max-url-bytes", type=positive_int, default=config.DEFAULT_MAX_URL_BYTES, help="414"
    )
    limits.add_argument(
        "--max-header-bytes",
        type=positive_int,
        default=config.DEFAULT_MAX_HEADER_BYTES,
        help="431 past this many bytes of header fields",
    )
    limits.add_argument(
        "--max-headers",
        type=positive_int,
        default=config.DEFAULT_MAX_HEADERS,
        help="431 past this many header fields",
    )
    limits.add_argument(
        "--header-timeout",
        type=positive_float,
        default=config.DEFAULT_HEADER_TIMEOUT,
        help="seconds for a request head to arrive (408)",
    )
    limits.add_argument(
        "--body-timeout",
        type=positive_float,
        default=config.DEFAULT_BODY_TIMEOUT,
        help="seconds a request body may go without sending a byte (408)",
    )
    limits.add_argument(
        "--keepalive-timeout",
        type=positive_float,
        default=config.DEFAULT_KEEPALIVE_TIMEOUT,
        help="seconds an idle keep-alive connection stays open",
    )
    limits.add_argument(
        "--max-connections",
        type=positive_int,
        default=config.DEFAULT_MAX_CONNECTIONS,
        help="connections beyond this get 503",
    )
    limits.add_argument(
        "--max-pipeline",
        type=positive_int,
        default=config.DEFAULT_MAX_PIPELINE,
        help="pipelined requests queued per connection before reading pauses",
    )
    limits.add_argument(
        "--shutdown-grace",
        type=positive_float,
        default=config.DEFAULT_SHUTDOWN_GRACE,
        help="seconds requests in flight may take to finish on SIGINT/SIGTERM",
    )
    reading = parser.add_argument_group("reading files: ranges and compression")
    reading.add_argument(
        "--max-ranges",
        type=positive_int,
        default=config.DEFAULT_MAX_RANGES,
        help="a Range with more ranges than this is ignored (whole file, 200)",
    )
    reading.add_argument(
        "--compress-min-bytes",
        type=positive_int,
        default=config.DEFAULT_COMPRESS_MIN_BYTES,
        help="gzip only text responses larger than this",
    )
    reading.add_argument(
        "--no-compress", action="store_true", help="never gzip on the fly (.gz/.br still served)"
    )
    parser.add_argument("--version", action="version", version=f"porch {__version__}")
    return parser


def config_from_args(args: argparse.Namespace, parser: argparse.ArgumentParser) -> Config:
    """Validate the parsed arguments into a ``Config``; ``parser.error`` (exit 2) on faults."""
    root = Path(args.root).expanduser()
    if not root.exists():
        parser.error(f"root directory does not exist: {args.root}")
    if not root.is_dir():
        parser.error(f"root is not a directory: {args.root}")
    if not 0 <= args.port <= 65535:
        parser.error(f"port out of range: {args.port}")
    return Config(
        root=root.resolve(strict=True),
        host=args.host,
        port=args.port,
        hidden=args.hidden,
        quiet=args.quiet,
        loop=args.loop,
        max_url_bytes=args.max_url_bytes,
        max_header_bytes=args.max_header_bytes,
        max_headers=args.max_headers,
        header_timeout=args.header_timeout,
        body_timeout=args.body_timeout,
        keepalive_timeout=args.keepalive_timeout,
        max_connections=args.max_connections,
        max_pipeline=args.max_pipeline,
        shutdown_grace=args.shutdown_grace,
        max_ranges=args.max_ranges,
        compress=not args.no_compress,
        compress_min_bytes=args.compress_min_bytes,
    )


def main(argv: Sequence[str] | None = None) -> int:
    """Run porch; returns the exit status (0 after a clean stop, 2 for a bad start)."""
    parser = build_parser()
    args = parser.parse_args(argv)
    settings = config_from_args(args, parser)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    app = App(settings)
    try:
        run(settings, app)
    except StartupError as error:
        print(f"porch: error: {error}", file=sys.stderr)
        return 2
    return 0
