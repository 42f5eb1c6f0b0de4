"""What one request's metrics cost: porch.metrics against prometheus-client (issue 16).

    pip install prometheus-client            # not a dependency of porch: only for this run
    python bench/metrics_cost.py             # prometheus-client in its single-process mode
    python bench/metrics_cost.py multi       # in multiprocess mode (what --workers would need)

Each side does one request's accounting: a request counter by method and status class and a
latency histogram observation (prometheus-client also a bytes counter, which porch collects
from the server's own integer once a second instead). Interleaved in one process, best of 9
rounds of 100,000 calls. A figure for docs/deploy.md, not a benchmark of the server.
"""

from __future__ import annotations

import os
import sys
import tempfile
import timeit
from pathlib import Path

if len(sys.argv) > 1 and sys.argv[1] == "multi":
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = tempfile.mkdtemp()  # before the import
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from prometheus_client import Counter, Histogram

from porch.metrics import Metrics

requests = Counter("porch_requests", "requests", ["method", "code"])
sent = Counter("porch_sent_bytes", "bytes")
latency = Histogram("porch_request_duration_seconds", "latency")
ours = Metrics(4)
ours.use_slot(1)


def with_prometheus_client() -> None:
    requests.labels("GET", "2xx").inc()
    sent.inc(1234)
    latency.observe(0.0007)


def with_porch() -> None:
    ours.request("GET", 200, 0.0007)


def main() -> None:
    best = {"prometheus-client": 1e9, "porch.metrics": 1e9}
    for _ in range(9):
        for name, call in (
            ("prometheus-client", with_prometheus_client),
            ("porch.metrics", with_porch),
        ):
            best[name] = min(best[name], timeit.timeit(call, number=100_000) / 100_000)
    mode = "multiprocess" if "PROMETHEUS_MULTIPROC_DIR" in os.environ else "single-process"
    for name, seconds in best.items():
        print(f"{name:18} ({mode}): {seconds * 1e6:.2f} µs per request")


if __name__ == "__main__":
    main()
