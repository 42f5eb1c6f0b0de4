"""porch.metrics: the Prometheus text format, and counters summed over worker slots."""

from __future__ import annotations

import os
import re

from porch.metrics import Metrics


def samples(metrics: Metrics) -> dict[str, float]:
    """``name{labels}`` -> value of every sample line."""
    found: dict[str, float] = {}
    for line in metrics.render().decode().splitlines():
        if line and not line.startswith("#"):
            name, value = line.rsplit(" ", 1)
            found[name] = float(value)
    return found


def test_requests_by_method_and_status_class_and_latency() -> None:
    metrics = Metrics()
    metrics.request("GET", 200, 0.0004)
    metrics.request("GET", 206, 0.002)
    metrics.request("POST", 409, 0.02)
    metrics.request("BREW", 501, 3.0)  # an unknown method counts as OTHER
    found = samples(metrics)
    assert found['porch_requests_total{method="GET",code="2xx"}'] == 2
    assert found['porch_requests_total{method="POST",code="4xx"}'] == 1
    assert found['porch_requests_total{method="OTHER",code="5xx"}'] == 1
    assert 'porch_requests_total{method="POST",code="2xx"}' not in found  # zero: left out
    # Buckets are cumulative; +Inf equals the count.
    assert found['porch_request_duration_seconds_bucket{le="0.0005"}'] == 1
    assert found['porch_request_duration_seconds_bucket{le="0.0025"}'] == 2
    assert found['porch_request_duration_seconds_bucket{le="2.5"}'] == 3
    assert found['porch_request_duration_seconds_bucket{le="+Inf"}'] == 4
    assert found["porch_request_duration_seconds_count"] == 4
    assert abs(found["porch_request_duration_seconds_sum"] - 3.0224) < 1e-9


def test_the_text_format_is_well_formed() -> None:
    text = Metrics().render().decode()
    assert text.endswith("\n")
    families = re.findall(r"^# TYPE (\S+) (counter|gauge|histogram)$", text, re.MULTILINE)
    assert len(families) == len({name for name, _ in families}) >= 10
    sample = re.compile(r'^[a-z_]+(\{[a-z_]+="[^"]*"(,[a-z_]+="[^"]*")*\})? [0-9.e+-]+$')
    for line in text.splitlines():
        assert line.startswith("# ") or sample.match(line), line


class Owner:
    """Something that keeps an ever-growing count, as the server and the caches do."""

    def __init__(self) -> None:
        self.total = 0


def in_child(work: object) -> None:
    pid = os.fork()
    if pid == 0:
        try:
            work()  # type: ignore[operator]
        finally:
            os._exit(0)
    assert os.waitpid(pid, 0)[1] == 0


def test_collected_totals_add_deltas_so_a_replaced_worker_keeps_the_count() -> None:
    metrics = Metrics()

    def worker(counts: list[int]) -> None:
        metrics.use_slot(0)
        owner = Owner()
        metrics.collect(
            lambda m: m.add_total(("counter", "porch_sent_bytes_total"), owner.total, owner)
        )
        for count in counts:
            owner.total = count
            metrics.sample()

    in_child(lambda: worker([100, 150]))
    assert samples(metrics)["porch_sent_bytes_total"] == 150
    in_child(lambda: worker([30]))  # the replacement starts its own count at zero
    assert samples(metrics)["porch_sent_bytes_total"] == 180


def test_gauges_are_set_and_zeroed_for_a_new_slot_owner() -> None:
    metrics = Metrics(2)
    metrics.use_slot(1)
    metrics.set_gauge("porch_connections_open", 7)
    assert samples(metrics)["porch_connections_open"] == 7
    metrics.use_slot(1)
    assert samples(metrics)["porch_connections_open"] == 0


def test_workers_write_their_own_slots_and_any_of_them_reads_the_sum() -> None:
    metrics = Metrics(3)
    children = []
    for index in range(3):
        pid = os.fork()
        if pid == 0:
            metrics.use_slot(index)
            for _ in range(index + 1):
                metrics.request("GET", 200, 0.001)
            metrics.upload()
            os._exit(0)
        children.append(pid)
    for pid in children:
        assert os.waitpid(pid, 0)[1] == 0
    found = samples(metrics)
    assert found['porch_requests_total{method="GET",code="2xx"}'] == 6
    assert found['porch_uploads_total{kind="whole"}'] == 3
    assert found["porch_workers"] == 3
