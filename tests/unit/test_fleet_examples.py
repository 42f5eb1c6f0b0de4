"""The fleet examples (issue 16) stay true: the node unit's porch command line is one porch
accepts, and systemd waits long enough for the drain. (HAProxy and Varnish run their example
files in tests/e2e/test_fleet_*.py.)"""

from __future__ import annotations

import shlex
from pathlib import Path

from porch.cli import build_parser

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


def unit_settings(name: str) -> dict[str, str]:
    text = (EXAMPLES / name).read_text().replace("\\\n", " ")
    return dict(
        line.split("=", 1)
        for line in text.splitlines()
        if "=" in line and not line.startswith(("#", "["))
    )


def test_the_node_unit_runs_a_valid_command_and_waits_for_the_drain() -> None:
    settings = unit_settings("porch-node.service")
    words = shlex.split(settings["ExecStart"])
    assert words[0].endswith("/porch")
    args = build_parser().parse_args(words[1:])
    assert args.trusted_proxy
    assert args.metrics
    assert args.drain_delay > 2  # HAProxy's inter 1s x fall 2 (examples/haproxy.cfg)
    assert settings["KillSignal"] == "SIGTERM"
    assert float(settings["TimeoutStopSec"]) > args.drain_delay + args.shutdown_grace


def test_the_haproxy_example_checks_health_often_enough_for_the_drain() -> None:
    text = (EXAMPLES / "haproxy.cfg").read_text()
    assert "option httpchk GET /-/health" in text
    assert 'inter "${PORCH_CHECK_INTERVAL-1s}" fall 2' in text


def test_fleet_settings_are_checked_once(tmp_path: Path) -> None:
    import dataclasses

    import pytest

    from porch.config import Config
    from porch.runtime import ConfigError

    good = Config(root=tmp_path, state_dir=tmp_path.parent / "state", metrics_allow=("10.0.0.0/8",))
    assert good.validate().config.metrics_allow == ("10.0.0.0/8",)
    for field, value, message in (
        ("metrics_allow", ("not-a-network",), "--metrics-allow"),
        ("drain_delay", -1.0, "--drain-delay"),
        ("max_age", -5, "--max-age"),
        ("access_log_format", "xml", "--access-log-format"),
    ):
        with pytest.raises(ConfigError, match=message):
            dataclasses.replace(good, **{field: value}).validate()


def test_a_bad_metrics_allow_stops_porch_at_start(tmp_path: Path) -> None:
    from tests.helpers import run_cli

    done = run_cli(str(tmp_path), "--metrics", "--metrics-allow", "10.0.0.0/33")
    assert done.returncode == 2
    assert "--metrics-allow" in done.stderr
