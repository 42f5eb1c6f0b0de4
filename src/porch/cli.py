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
from porch.app.routes import RouteLoadError
from porch.cliformat import PorchParser
from porch.config import Config
from porch.configfile import ConfigFileError, load_defaults
from porch.fleetcli import add_fleet_arguments, with_fleet
from porch.http.auth import NO_ACCESS_CONTROL, Access, Account, Grant, parse_account, parse_grants
from porch.http.lifecycle import Lifecycle
from porch.metrics import Metrics
from porch.runtime import ConfigError, Runtime
from porch.server import StartupError, run
from porch.server.workers import run_workers


def _positive(kind: Callable[[str], float | int]) -> Callable[[str], float | int]:
    def parse(text: str) -> float | int:
        value = kind(text)
        if value <= 0:
            raise argparse.ArgumentTypeError(f"must be above zero: {text}")
        return value

    parse.__name__ = kind.__name__
    return parse


_SIZE_UNITS = {"": 1, "K": 1024, "M": 1024**2, "G": 1024**3, "T": 1024**4}


def parse_size(text: str) -> int:
    """A byte count with an optional binary suffix: ``512``, ``64K``, ``10M``, ``2G``, ``1GiB``."""
    cleaned = text.strip().upper().removesuffix("B").removesuffix("I")
    number, unit = cleaned, ""
    if cleaned and cleaned[-1] in _SIZE_UNITS:
        number, unit = cleaned[:-1], cleaned[-1]
    if not number.isdigit() or int(number) * _SIZE_UNITS[unit] <= 0:
        raise argparse.ArgumentTypeError(f"not a size above zero (like 512, 64K, 10M, 2G): {text}")
    return int(number) * _SIZE_UNITS[unit]


parse_size.__name__ = "size"


def parse_size_or_zero(text: str) -> int:
    """``parse_size``, or 0 (a cache turned off)."""
    return 0 if text.strip() == "0" else parse_size(text)


parse_size_or_zero.__name__ = "size"


USAGE = """porch [ROOT] [-b ADDRESS] [-p PORT] [--upload-dir DIR] [options]
       porch hash-password        print an Argon2 hash of a password, for --auth"""

EPILOG = """examples:
  porch share                                 serve ./share at http://127.0.0.1:8000/
  porch share -b 0.0.0.0 --qr                 ... to your network, with a QR code to scan
  porch share --upload-dir share/incoming     accept uploads into share/incoming
  porch share --auth 'bob:HASH:read,write@/incoming' --anonymous read
                                              bob may upload in /incoming, everyone may read
                                              (single quotes: the shell eats $... in "...")

docs/ has the whole story: configuration.md, uploads.md, security.md, webapp.md, limits.md.
"""


def parse_upload_size(text: str) -> int | None:
    """``parse_size``, or None for ``unlimited`` (issue 17: the default is a limit)."""
    if text.strip().lower() in ("unlimited", "none"):
        return None
    return parse_size(text)


parse_upload_size.__name__ = "size"


def build_parser() -> argparse.ArgumentParser:
    """The argument parser; every limit has a flag, every flag a default from ``porch.config``.

    Issue 19: the ecosystem's habits — ``-b/--bind``, ``-p/--port`` and ``-d/--directory`` as
    in ``python -m http.server`` and uploadserver, no abbreviations, grouped ``--help``
    (serving, uploads, sharing, security, limits), one-line errors (porch.cliformat).
    """
    parser = PorchParser(
        prog="porch",
        usage=USAGE,
        description="Serve a directory over HTTP/1.1: files, listings, uploads, templates.",
        epilog=EPILOG,
    )
    positive_int, positive_float = _positive(int), _positive(float)
    serving = parser.add_argument_group("serving")
    serving.add_argument(
        "root", nargs="?", default=".", metavar="ROOT", help="directory to serve (default: .)"
    )
    serving.add_argument(
        "-d", "--directory", metavar="DIR", help="directory to serve, as http.server spells it"
    )
    serving.add_argument(
        "-b",
        "--bind",
        "--host",
        dest="host",
        metavar="ADDRESS",
        default=config.DEFAULT_HOST,
        help="address to listen on; 0.0.0.0 for every network",
    )
    serving.add_argument(
        "-p", "--port", type=int, default=config.DEFAULT_PORT, help="port; 0 picks a free one"
    )
    serving.add_argument("--hidden", action="store_true", help="serve and list dot-files")
    serving.add_argument("-q", "--quiet", action="store_true", help="no access log")
    serving.add_argument(
        "--config", metavar="FILE", help="read settings from a TOML file (flags override it)"
    )
    serving.add_argument(
        "--routes",
        action="append",
        default=[],
        metavar="MODULE_OR_PATH",
        help="import a module (name or .py file) defining register(app); repeatable "
        "(docs/pages.md)",
    )
    serving.add_argument(
        "--no-builtin-routes", action="store_true", help="turn off the built-in routes (/time)"
    )
    serving.add_argument(
        "--workers",
        type=_positive(int),
        metavar="N",
        default=config.DEFAULT_WORKERS,
        help="server processes sharing the port (SO_REUSEPORT), supervised",
    )
    serving.add_argument(
        "--loop", choices=("auto", "asyncio", "uvloop"), default="auto", help="event loop"
    )
    serving.add_argument(
        "--trusted-proxy",
        action="append",
        default=[],
        metavar="ADDRESS_OR_NETWORK",
        help="believe X-Forwarded-For/-Proto from this proxy (repeatable; e.g. 127.0.0.1)",
    )
    serving.add_argument("--version", action="version", version=f"porch {__version__}")

    uploads = parser.add_argument_group("uploads (off unless --upload-dir is given)")
    uploads.add_argument(
        "--upload-dir",
        metavar="DIR",
        default=config.DEFAULT_UPLOAD_DIR,
        help="accept POST/PUT uploads and save them in this existing directory",
    )
    uploads.add_argument(
        "--on-conflict",
        choices=("refuse", "rename", "replace"),
        default=config.DEFAULT_ON_CONFLICT,
        help="when an upload's name is taken: refuse (409), rename (NAME (1).EXT) or replace; "
        "a request may choose with ?on-conflict=",
    )
    uploads.add_argument(
        "--max-upload-size",
        metavar="SIZE",
        type=parse_upload_size,
        default=config.DEFAULT_MAX_UPLOAD_SIZE,
        help="413 for request bodies over this many bytes (suffixes K, M, G; 'unlimited')",
    )
    uploads.add_argument(
        "--state-dir",
        metavar="DIR",
        default=None,
        help="where locks, partial uploads and caches are kept, outside ROOT "
        "(default: $XDG_STATE_HOME/porch/NAME-HASH, one per root)",
    )
    # Resumable uploads (issue 14, docs/uploads.md).
    resumable = uploads  # resumable uploads (tus 1.0 and the IETF draft) are uploads too
    resumable.add_argument(
        "--no-resumable",
        action="store_true",
        help="turn off resumable uploads (tus and the IETF draft) while uploads are on",
    )
    resumable.add_argument(
        "--resumable-expiry",
        metavar="SECONDS",
        type=positive_float,
        default=config.DEFAULT_RESUMABLE_EXPIRY,
        help="an unfinished resumable upload is removed this long after its last byte",
    )
    resumable.add_argument(
        "--max-partial-uploads",
        metavar="N",
        type=positive_int,
        default=config.DEFAULT_MAX_PARTIAL_UPLOADS,
        help="unfinished resumable uploads kept at once; more get 503",
    )

    sharing = parser.add_argument_group("sharing (docs/webapp.md)")
    sharing.add_argument(
        "--qr",
        action="store_true",
        help="print a QR code of the network URL at start (with -b 0.0.0.0)",
    )
    sharing.add_argument(
        "--cors", action="store_true", help="allow cross-origin reads (Access-Control-Allow-Origin)"
    )
    sharing.add_argument(
        "--no-compress", action="store_true", help="never gzip on the fly (.gz/.br still served)"
    )

    add_security_arguments(parser, positive_int)

    limits = parser.add_argument_group("limits and timeouts (docs/limits.md)")
    number, seconds = "N", "SECONDS"
    for flag, kind, metavar, default, text in (
        ("--max-url-bytes", positive_int, number, config.DEFAULT_MAX_URL_BYTES, "414 past this"),
        (
            "--max-header-bytes",
            positive_int,
            number,
            config.DEFAULT_MAX_HEADER_BYTES,
            "431 past this many bytes of header fields",
        ),
        (
            "--max-headers",
            positive_int,
            number,
            config.DEFAULT_MAX_HEADERS,
            "431 past this many header fields",
        ),
        (
            "--max-query-fields",
            positive_int,
            number,
            config.DEFAULT_MAX_QUERY_FIELDS,
            "400 past this many query parameters",
        ),
        (
            "--max-connections",
            positive_int,
            number,
            config.DEFAULT_MAX_CONNECTIONS,
            "at this many connections, idle and head-sending ones are reclaimed, then 503",
        ),
        (
            "--max-pipeline",
            positive_int,
            number,
            config.DEFAULT_MAX_PIPELINE,
            "pipelined requests queued per connection before reading pauses",
        ),
        (
            "--max-ranges",
            positive_int,
            number,
            config.DEFAULT_MAX_RANGES,
            "a Range with more ranges than this is ignored (whole file, 200)",
        ),
        (
            "--compress-min-bytes",
            positive_int,
            number,
            config.DEFAULT_COMPRESS_MIN_BYTES,
            "gzip only text responses larger than this",
        ),
        (
            "--response-cache-size",
            parse_size_or_zero,
            "SIZE",
            config.DEFAULT_RESPONSE_CACHE_SIZE,
            "small files' whole responses kept in memory per process (0: off)",
        ),
        (
            "--header-timeout",
            positive_float,
            seconds,
            config.DEFAULT_HEADER_TIMEOUT,
            "for a request head to arrive (408)",
        ),
        (
            "--body-timeout",
            positive_float,
            seconds,
            config.DEFAULT_BODY_TIMEOUT,
            "a request body may go without sending a byte (408)",
        ),
        (
            "--keepalive-timeout",
            positive_float,
            seconds,
            config.DEFAULT_KEEPALIVE_TIMEOUT,
            "an idle keep-alive connection stays open",
        ),
        (
            "--send-timeout",
            positive_float,
            seconds,
            config.DEFAULT_SEND_TIMEOUT,
            "a response may wait for the client to read any of it (then close)",
        ),
        (
            "--shutdown-grace",
            positive_float,
            seconds,
            config.DEFAULT_SHUTDOWN_GRACE,
            "requests in flight may take to finish on SIGINT/SIGTERM",
        ),
    ):
        limits.add_argument(flag, type=kind, metavar=metavar, default=default, help=text)
    # The features' own groups come after the five everyone needs.
    add_dav_arguments(parser, positive_int)
    add_fleet_arguments(parser)
    add_folder_arguments(parser)
    add_hostile_arguments(parser)
    return parser


def parse_arguments(
    parser: argparse.ArgumentParser, argv: Sequence[str] | None
) -> argparse.Namespace:
    """Parse ``argv`` with ``--config FILE`` values as defaults under the flags."""
    early = argparse.ArgumentParser(add_help=False, allow_abbrev=False)
    early.add_argument("--config")
    known, _ = early.parse_known_args(argv)
    if known.config is not None:
        try:
            parser.set_defaults(**load_defaults(Path(known.config), parser))
        except ConfigFileError as error:
            parser.error(str(error))
    args = parser.parse_args(argv)
    if args.directory is not None:  # -d DIR, http.server's spelling of ROOT
        if args.root not in (".", parser.get_default("root")):
            parser.error("give the directory once: as ROOT or with -d/--directory")
        args.root = args.directory
    return args


def add_security_arguments(
    parser: argparse.ArgumentParser, positive_int: Callable[[str], float | int]
) -> None:
    """TLS, accounts, access rules (docs/security.md); --cors is under sharing."""
    security = parser.add_argument_group("security (docs/security.md)")
    security.add_argument("--tls-cert", metavar="FILE", help="serve HTTPS with this certificate")
    security.add_argument("--tls-key", metavar="FILE", help="the certificate's private key")
    security.add_argument(
        "--auth",
        action="append",
        default=[],
        metavar="USER:HASH[:ACCESS]",
        help="a user (repeatable), in single quotes; HASH from `porch hash-password`; "
        "ACCESS like read, write, or read,write@/incoming (default: read)",
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


def add_dav_arguments(
    parser: argparse.ArgumentParser, positive_int: Callable[[str], float | int]
) -> None:
    """WebDAV and the trash (issue 13, docs/webdav.md)."""
    dav = parser.add_argument_group("WebDAV and the trash (see docs/webdav.md)")
    dav.add_argument(
        "--trash",
        metavar="DIR",
        help="keep overwritten and deleted items here, for undo (outside ROOT, or ROOT/.NAME)",
    )
    dav.add_argument(
        "--max-dav-body",
        type=positive_int,
        default=config.DEFAULT_MAX_DAV_BODY,
        metavar="BYTES",
        help="largest PROPFIND/PROPPATCH/LOCK XML body (413 above)",
    )
    dav.add_argument(
        "--max-lock-timeout",
        type=positive_int,
        default=config.DEFAULT_MAX_LOCK_TIMEOUT,
        metavar="SECONDS",
        help="longest WebDAV lock granted (Timeout: Infinite gets this)",
    )


def with_dav(settings: Config, args: argparse.Namespace) -> Config:
    """``settings`` with the WebDAV and trash fields (checked by ``Config.validate``)."""
    return dataclasses.replace(
        settings,
        trash=Path(args.trash) if args.trash is not None else None,
        max_dav_body=int(args.max_dav_body),
        max_lock_timeout=int(args.max_lock_timeout),
    )


def add_folder_arguments(parser: argparse.ArgumentParser) -> None:
    """Archives, search, thumbnails, READMEs, checksums (issue 15, docs/folders.md)."""
    folders = parser.add_argument_group("folders: archives, search, thumbnails (docs/folders.md)")
    positive_int, positive_float = _positive(int), _positive(float)
    folders.add_argument(
        "--no-archives", action="store_true", help="turn off ?zip, ?tar and ?tgz of folders"
    )
    folders.add_argument(
        "--max-archive-entries",
        type=positive_int,
        default=config.DEFAULT_MAX_ARCHIVE_ENTRIES,
        help="413 for an archive of more files and folders than this",
    )
    folders.add_argument(
        "--max-archive-size",
        metavar="SIZE",
        type=parse_size,
        default=config.DEFAULT_MAX_ARCHIVE_SIZE,
        help="413 for an archive whose files add up to more bytes than this (K, M, G, T)",
    )
    folders.add_argument(
        "--max-search-results",
        type=positive_int,
        default=config.DEFAULT_MAX_SEARCH_RESULTS,
        help="a ?q= search stops after this many names (and says so)",
    )
    folders.add_argument(
        "--search-seconds",
        type=positive_float,
        default=config.DEFAULT_SEARCH_SECONDS,
        help="a ?q= search stops after this many seconds (and says so)",
    )
    folders.add_argument(
        "--no-thumbnails", action="store_true", help="turn off ?thumb and the gallery's images"
    )
    folders.add_argument(
        "--max-thumbnail-pixels",
        type=positive_int,
        default=config.DEFAULT_MAX_THUMBNAIL_PIXELS,
        help="no thumbnail for images with more pixels than this (413)",
    )
    folders.add_argument(
        "--thumbnail-workers",
        type=positive_int,
        default=config.DEFAULT_THUMBNAIL_WORKERS,
        help="thumbnails made at once",
    )
    folders.add_argument(
        "--no-readmes", action="store_true", help="do not render README files under listings"
    )
    folders.add_argument(
        "--max-readme-size",
        metavar="SIZE",
        type=parse_size,
        default=config.DEFAULT_MAX_README_SIZE,
        help="a larger README is not rendered under its listing",
    )


def folder_settings(args: argparse.Namespace) -> dict[str, object]:
    """The ``Config`` fields of ``add_folder_arguments``."""
    return {
        "archives": not args.no_archives,
        "max_archive_entries": args.max_archive_entries,
        "max_archive_size": args.max_archive_size,
        "max_search_results": args.max_search_results,
        "search_seconds": args.search_seconds,
        "thumbnails": not args.no_thumbnails,
        "max_thumbnail_pixels": args.max_thumbnail_pixels,
        "thumbnail_workers": args.thumbnail_workers,
        "readmes": not args.no_readmes,
        "max_readme_size": args.max_readme_size,
    }


def _non_negative_int(text: str) -> int:
    value = int(text)
    if value < 0:
        raise argparse.ArgumentTypeError(f"must not be negative: {text}")
    return value


def add_hostile_arguments(parser: argparse.ArgumentParser) -> None:
    """Safe on a hostile network (issue 17, docs/security.md)."""
    hostile = parser.add_argument_group("hostile networks (see docs/security.md)")
    hostile.add_argument(
        "--allowed-host",
        action="append",
        default=list(config.DEFAULT_ALLOWED_HOSTS),
        metavar="NAME",
        help="answer requests for this host name too (repeatable; .example.org admits "
        "subdomains; * answers any Host, e.g. behind a proxy that sets it); others get 421",
    )
    hostile.add_argument(
        "--trust-uploaded-html",
        action="store_true",
        help="serve uploaded files without the sandboxing Content-Security-Policy, so "
        "uploaded HTML and SVG can run script in porch's origin (only for writers you trust)",
    )
    hostile.add_argument(
        "--template-timeout",
        type=_positive(float),
        default=config.DEFAULT_TEMPLATE_SECONDS,
        help="seconds a user template (NAME.j2) may render before it ends in a 500",
    )
    hostile.add_argument(
        "--template-max-bytes",
        type=parse_size,
        default=config.DEFAULT_TEMPLATE_MAX_BYTES,
        help="largest page a user template may render before it ends in a 500",
    )
    hostile.add_argument(
        "--max-pending-logins",
        type=_positive(int),
        default=config.DEFAULT_MAX_PENDING_LOGINS,
        help="password checks running or waiting at once; more get 503",
    )
    hostile.add_argument(
        "--login-free-failures",
        type=_non_negative_int,
        default=config.DEFAULT_LOGIN_FREE_FAILURES,
        help="failed logins per address or user before back-off (429) starts",
    )
    hostile.add_argument(
        "--login-max-backoff",
        type=_positive(float),
        default=config.DEFAULT_LOGIN_MAX_BACKOFF,
        help="longest back-off in seconds after failed logins (doubles per failure)",
    )


def with_hostile(settings: Config, args: argparse.Namespace) -> Config:
    """``settings`` with the issue-17 fields from ``args``."""
    return dataclasses.replace(
        settings,
        allowed_hosts=tuple(args.allowed_host),
        trust_uploaded_html=args.trust_uploaded_html,
        template_timeout=args.template_timeout,
        template_max_bytes=args.template_max_bytes,
        max_pending_logins=args.max_pending_logins,
        login_free_failures=args.login_free_failures,
        login_max_backoff=args.login_max_backoff,
    )


def with_security(
    settings: Config, args: argparse.Namespace, parser: argparse.ArgumentParser
) -> Config:
    """``settings`` with the security fields from ``args``; ``parser.error`` (exit 2) on faults.

    The TLS files, the auth file and the config file are checked by ``Config.validate``
    (they must not lie inside the served root: they could be downloaded).
    """
    lines = [(f"--auth {n + 1}", text) for n, text in enumerate(args.auth)]
    if args.auth_file is not None:
        if not os.path.isfile(args.auth_file):
            parser.error(f"--auth-file: no such file: {args.auth_file}")
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
            hint = shell_quoting_hint(text) if where.startswith("--auth ") else ""
            parser.error(f"{where}: {error}{hint}")
        if any(a.name == account.name for a in accounts):
            parser.error(f"{where}: user {account.name!r} is defined twice")
        accounts.append(account)
    anonymous: tuple[Grant, ...] = (Grant(Access.NONE),) if accounts else NO_ACCESS_CONTROL
    if args.anonymous is not None:
        try:
            anonymous = parse_grants(args.anonymous)
        except ValueError as error:
            parser.error(f"--anonymous: {error}")
    return dataclasses.replace(
        settings,
        tls_cert=Path(args.tls_cert) if args.tls_cert else None,
        tls_key=Path(args.tls_key) if args.tls_key else None,
        auth_file=Path(args.auth_file) if args.auth_file else None,
        accounts=tuple(accounts),
        anonymous=anonymous,
        cors=args.cors,
    )


def shell_quoting_hint(text: str) -> str:
    """A hint for an ``--auth`` value whose hash the shell has eaten (issue 19): in double
    quotes, ``$argon2id``, ``$v``, ``$m`` ... are variables and expand to nothing, leaving
    ``=19=65536,t=3,p=4``. Empty unless the hash looks like that."""
    password_hash = text.partition(":")[2].partition(":")[0]
    if "$argon2" in password_hash or "=" not in password_hash:
        return ""
    return (
        "\nhint: the hash looks eaten by the shell: inside double quotes $argon2id, $v=... "
        "are variables; put the value in single quotes: --auth 'alice:$argon2id$v=19$...:write'"
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
    parser = PorchParser(
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


def runtime_from_args(args: argparse.Namespace, parser: argparse.ArgumentParser) -> Runtime:
    """The parsed arguments as a validated ``Runtime`` (``Config.validate``); ``parser.error``
    (exit 2) on faults."""
    settings = Config(
        root=Path(args.root).expanduser(),
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
        send_timeout=args.send_timeout,
        keepalive_timeout=args.keepalive_timeout,
        max_connections=args.max_connections,
        max_pipeline=args.max_pipeline,
        shutdown_grace=args.shutdown_grace,
        workers=args.workers,
        max_query_fields=args.max_query_fields,
        trusted_proxies=tuple(args.trusted_proxy),
        builtin_routes=not args.no_builtin_routes,
        routes=tuple(args.routes),
        upload_dir=Path(args.upload_dir) if args.upload_dir is not None else None,
        max_upload_size=args.max_upload_size,
        on_conflict=args.on_conflict,
        max_ranges=args.max_ranges,
        compress=not args.no_compress,
        compress_min_bytes=args.compress_min_bytes,
        response_cache_size=args.response_cache_size,
        qr=args.qr,
        resumable=not args.no_resumable,
        resumable_expiry=args.resumable_expiry,
        max_partial_uploads=args.max_partial_uploads,
        state_dir=Path(args.state_dir) if args.state_dir else None,
        config_file=Path(args.config) if args.config else None,
    )
    settings = dataclasses.replace(settings, **folder_settings(args))  # type: ignore[arg-type]
    settings = with_hostile(
        with_fleet(with_dav(with_security(settings, args, parser), args), args), args
    )
    try:
        return settings.validate()
    except ConfigError as error:
        parser.error(str(error))


def config_from_args(args: argparse.Namespace, parser: argparse.ArgumentParser) -> Config:
    """The validated ``Config`` of ``runtime_from_args``."""
    return runtime_from_args(args, parser).config


def main(argv: Sequence[str] | None = None) -> int:
    """Run porch; returns the exit status (0 after a clean stop, 2 for a bad start)."""
    arguments = list(sys.argv[1:] if argv is None else argv)
    if arguments[:1] == ["hash-password"]:
        return hash_password_main(arguments[1:])
    parser = build_parser()
    args = parse_arguments(parser, arguments)
    runtime = runtime_from_args(args, parser)
    settings = runtime.config
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    for warning in security_warnings(settings):
        print(f"porch: warning: {warning}", file=sys.stderr)
    # Made before forking: every worker writes its own slot of the same shared counters, and
    # all of them see whether the balancer polled /-/health (the drain waits if it did).
    metrics = Metrics(settings.workers) if settings.metrics else None
    lifecycle = Lifecycle(shared=settings.workers > 1)
    try:
        app = App(settings, metrics=metrics, lifecycle=lifecycle)
    except RouteLoadError as error:
        print(f"porch: error: {error}", file=sys.stderr)
        return 2
    try:
        if settings.workers > 1:
            return run_workers(
                runtime,
                lambda: app,
                error_page=app.error_page,
                lifecycle=app.lifecycle,
                metrics=metrics,
            )
        run(runtime, app, error_page=app.error_page, lifecycle=app.lifecycle, metrics=metrics)
    except StartupError as error:
        print(f"porch: error: {error}", file=sys.stderr)
        return 2
    return 0
