"""``porch`` on the command line: argparse -> ``Config`` -> ``serve``.

Everything is checked here, loudly, before the first request: a missing root or a port in use
is an error message and exit status 2, never a server that answers 404 to everything.
"""

from __future__ import annotations

import argparse
import dataclasses
import getpass
import ipaddress
import logging
import os
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

from porch import __version__, config
from porch.app import App
from porch.app.auth import check_hash, hash_password
from porch.app.paths import contains
from porch.config import Config
from porch.http.auth import Access, Account, Grant, parse_account, parse_grants
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
    add_security_arguments(parser, positive_int)
    parser.add_argument("--version", action="version", version=f"porch {__version__}")
    return parser


def add_security_arguments(
    parser: argparse.ArgumentParser, positive_int: Callable[[str], float | int]
) -> None:
    """TLS, accounts, access rules, CORS, per-client connections (docs/security.md)."""
    security = parser.add_argument_group("security (see docs/security.md)")
    security.add_argument("--tls-cert", metavar="FILE", help="serve HTTPS with this certificate")
    security.add_argument("--tls-key", metavar="FILE", help="the certificate's private key")
    security.add_argument(
        "--auth",
        action="append",
        default=[],
        metavar="USER:HASH[:ACCESS]",
        help="a user (repeatable); HASH from `porch hash-password`; ACCESS like "
        "read, write, or read,write@/incoming (default read)",
    )
    security.add_argument(
        "--auth-file", metavar="FILE", help="users, one USER:HASH[:ACCESS] per line (# comments)"
    )
    security.add_argument(
        "--anonymous",
        metavar="ACCESS",
        help="what clients without credentials may do: none, read, write, or e.g. read@/pub "
        "(default: none when there are users, else no access control)",
    )
    security.add_argument(
        "--cors", action="store_true", help="allow cross-origin reads (Access-Control-Allow-Origin)"
    )
    security.add_argument(
        "--max-connections-per-client",
        type=positive_int,
        default=config.DEFAULT_MAX_CONNECTIONS_PER_CLIENT,
        help="connections from one address beyond this get 503",
    )


def _inside_root(root: Path, name: str) -> bool:
    return contains(str(root), os.path.realpath(name))


def with_security(
    settings: Config, args: argparse.Namespace, parser: argparse.ArgumentParser
) -> Config:
    """``settings`` with the security fields from ``args``; ``parser.error`` (exit 2) on faults.

    Refuses a TLS key, certificate or auth file inside the served root: it could be downloaded.
    """
    root = settings.root
    if (args.tls_cert is None) != (args.tls_key is None):
        parser.error("--tls-cert and --tls-key go together")
    for flag, name in (("--tls-cert", args.tls_cert), ("--tls-key", args.tls_key)):
        if name is None:
            continue
        if not os.path.isfile(name):
            parser.error(f"{flag}: no such file: {name}")
        if _inside_root(root, name):
            parser.error(f"{flag}: the file is inside the served directory; move it out")
    lines = [(f"--auth {n + 1}", text) for n, text in enumerate(args.auth)]
    if args.auth_file is not None:
        if not os.path.isfile(args.auth_file):
            parser.error(f"--auth-file: no such file: {args.auth_file}")
        if _inside_root(root, args.auth_file):
            parser.error("--auth-file: the file is inside the served directory; move it out")
        with open(args.auth_file, encoding="utf-8") as file:
            for number, line in enumerate(file, 1):
                if line.strip() and not line.lstrip().startswith("#"):
                    lines.append((f"{args.auth_file}:{number}", line.strip()))
    accounts: list[Account] = []
    for where, text in lines:
        try:
            account = parse_account(text)
            check_hash(account.password_hash)
        except ValueError as error:
            parser.error(f"{where}: {error}")
        if any(a.name == account.name for a in accounts):
            parser.error(f"{where}: user {account.name!r} is defined twice")
        accounts.append(account)
    anonymous: tuple[Grant, ...] = (Grant(Access.NONE),) if accounts else (Grant(Access.WRITE),)
    if args.anonymous is not None:
        try:
            anonymous = parse_grants(args.anonymous)
        except ValueError as error:
            parser.error(f"--anonymous: {error}")
    return dataclasses.replace(
        settings,
        tls_cert=Path(args.tls_cert).resolve() if args.tls_cert else None,
        tls_key=Path(args.tls_key).resolve() if args.tls_key else None,
        accounts=tuple(accounts),
        anonymous=anonymous,
        cors=args.cors,
        max_connections_per_client=args.max_connections_per_client,
    )


def is_loopback(host: str) -> bool:
    """True when ``host`` only accepts connections from this machine."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def security_warnings(settings: Config) -> list[str]:
    """What to warn about at start: passwords in clear text over the network."""
    if settings.accounts and settings.tls_cert is None and not is_loopback(settings.host):
        return [
            f"passwords will cross the network unencrypted: {settings.host} is not loopback "
            "and TLS is off (use --tls-cert/--tls-key, or a TLS reverse proxy on this machine)"
        ]
    return []


def hash_password_main(argv: Sequence[str]) -> int:
    """``porch hash-password``: print an Argon2id hash of a password for --auth.

    Reads the password from standard input when it is not a terminal (first line, newline
    stripped), else asks twice without echo.
    """
    parser = argparse.ArgumentParser(
        prog="porch hash-password",
        description="Print an Argon2id hash of a password (read from stdin, or prompted) "
        "for --auth USER:HASH or --auth-file.",
    )
    parser.parse_args(argv)
    if sys.stdin.isatty():
        password = getpass.getpass("Password: ")
        if getpass.getpass("Again: ") != password:
            print("porch: error: the passwords differ", file=sys.stderr)
            return 2
    else:
        password = sys.stdin.readline().removesuffix("\n").removesuffix("\r")
    if not password:
        print("porch: error: empty password", file=sys.stderr)
        return 2
    print(hash_password(password))
    return 0


def config_from_args(args: argparse.Namespace, parser: argparse.ArgumentParser) -> Config:
    """Validate the parsed arguments into a ``Config``; ``parser.error`` (exit 2) on faults."""
    root = Path(args.root).expanduser()
    if not root.exists():
        parser.error(f"root directory does not exist: {args.root}")
    if not root.is_dir():
        parser.error(f"root is not a directory: {args.root}")
    if not 0 <= args.port <= 65535:
        parser.error(f"port out of range: {args.port}")
    settings = Config(
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
    )
    return with_security(settings, args, parser)


def main(argv: Sequence[str] | None = None) -> int:
    """Run porch; returns the exit status (0 after a clean stop, 2 for a bad start)."""
    arguments = list(sys.argv[1:] if argv is None else argv)
    if arguments[:1] == ["hash-password"]:
        return hash_password_main(arguments[1:])
    parser = build_parser()
    args = parser.parse_args(arguments)
    settings = config_from_args(args, parser)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    for warning in security_warnings(settings):
        print(f"porch: warning: {warning}", file=sys.stderr)
    app = App(settings)
    try:
        run(settings, app)
    except StartupError as error:
        print(f"porch: error: {error}", file=sys.stderr)
        return 2
    return 0
