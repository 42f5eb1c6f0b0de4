"""The command-line flags of a fleet (issue 16, docs/deploy.md): caches, draining, metrics and
the access-log format. Kept apart from ``porch.cli`` so that module only wires them in."""

from __future__ import annotations

import argparse
import dataclasses

from porch import config
from porch.config import Config


def _seconds(text: str) -> float:
    value = float(text)
    if value < 0:
        raise argparse.ArgumentTypeError(f"must not be negative: {text}")
    return value


def _whole_seconds(text: str) -> int:
    if not text.isdigit():
        raise argparse.ArgumentTypeError(f"not a whole number of seconds: {text}")
    return int(text)


def add_fleet_arguments(parser: argparse.ArgumentParser) -> None:
    """The argument group ``fleet``."""
    fleet = parser.add_argument_group(
        "running as a fleet: caches, draining, metrics (see docs/deploy.md)"
    )
    fleet.add_argument(
        "--max-age",
        type=_whole_seconds,
        default=config.DEFAULT_MAX_AGE,
        metavar="SECONDS",
        help="Cache-Control max-age of files and listings; 0 sends no-cache (caches "
        "revalidate every time)",
    )
    fleet.add_argument(
        "--drain-delay",
        type=_seconds,
        default=config.DEFAULT_DRAIN_DELAY,
        metavar="SECONDS",
        help="on SIGTERM, answer /-/health with 503 this long before closing the listener "
        "(skipped when nothing polled /-/health, and on Ctrl-C)",
    )
    fleet.add_argument(
        "--metrics", action="store_true", help="serve Prometheus metrics at /-/metrics"
    )
    fleet.add_argument(
        "--metrics-allow",
        action="append",
        default=None,
        metavar="ADDRESS_OR_NETWORK",
        help="client addresses that may read /-/metrics (repeatable; default loopback)",
    )
    fleet.add_argument(
        "--access-log-format",
        choices=config.ACCESS_LOG_FORMATS,
        default="clf",
        help="access log lines: Common Log Format or JSON lines",
    )


def with_fleet(settings: Config, args: argparse.Namespace) -> Config:
    """``settings`` with the fleet fields from ``args`` (``Config.validate`` checks them)."""
    allow = tuple(args.metrics_allow) if args.metrics_allow else config.DEFAULT_METRICS_ALLOW
    return dataclasses.replace(
        settings,
        max_age=args.max_age,
        drain_delay=args.drain_delay,
        metrics=args.metrics,
        metrics_allow=allow,
        access_log_format=args.access_log_format,
    )
