"""Does WebDAV work stall the event loop? ``python3 bench/dav_responsiveness.py``.

Starts porch (``--anonymous write``) on a temporary tree, then, one at a time, a COPY of a
256 MiB file and a PROPFIND Depth 1 of a folder of 2000 files, while another thread fetches
``/-/health`` every 5 ms; prints each operation's time and the health probe's median and
worst latency during it (a loop blocked by the operation would show as a worst case near the
operation's own time). Then the median of ten PROPFIND Depth 0. A few seconds; not a load test.
"""

from __future__ import annotations

import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path

import requests

SRC = Path(__file__).resolve().parents[1] / "src"


def main() -> None:
    base = Path(tempfile.mkdtemp(prefix="porch-dav-bench-"))
    root = base / "root"
    (root / "many").mkdir(parents=True)
    for i in range(2000):
        (root / "many" / f"f{i:04d}.txt").write_text("x")
    with (root / "big.bin").open("wb") as file:
        file.truncate(256 << 20)
    env = {**os.environ, "PYTHONPATH": str(SRC)}
    command = [sys.executable, "-m", "porch", str(root), "--port", "0", "--anonymous", "write"]
    command += ["--state-dir", str(base / "state"), "--quiet"]
    proc = subprocess.Popen(command, stdout=subprocess.PIPE, text=True, env=env)
    try:
        assert proc.stdout is not None
        url = proc.stdout.readline().split(" at ")[1].strip().rstrip("/")
        session = requests.Session()

        def probe(stop: threading.Event, out: list[float]) -> None:
            while not stop.is_set():
                start = time.perf_counter()
                session.get(url + "/-/health", timeout=10)
                out.append(time.perf_counter() - start)
                time.sleep(0.005)

        work: list[tuple[str, Callable[[], requests.Response]]] = [
            (
                "COPY of 256 MiB",
                lambda: requests.request(
                    "COPY", url + "/big.bin", headers={"Destination": "/copy.bin"}, timeout=120
                ),
            ),
            (
                "PROPFIND Depth 1 of 2000 files",
                lambda: requests.request(
                    "PROPFIND", url + "/many/", headers={"Depth": "1"}, timeout=120
                ),
            ),
        ]
        for label, operation in work:
            stop = threading.Event()
            latencies: list[float] = []
            thread = threading.Thread(target=probe, args=(stop, latencies))
            thread.start()
            time.sleep(0.2)
            start = time.perf_counter()
            response = operation()
            took = time.perf_counter() - start
            time.sleep(0.1)
            stop.set()
            thread.join()
            print(
                f"{label}: {response.status_code} in {took * 1000:.0f} ms; /-/health meanwhile: "
                f"{len(latencies)} probes, median {statistics.median(latencies) * 1000:.1f} ms, "
                f"worst {max(latencies) * 1000:.1f} ms"
            )
        times = []
        for _ in range(10):
            start = time.perf_counter()
            requests.request(
                "PROPFIND", url + "/many/f0001.txt", headers={"Depth": "0"}, timeout=10
            )
            times.append(time.perf_counter() - start)
        print(f"PROPFIND Depth 0 of a file: median {statistics.median(times) * 1000:.1f} ms")
    finally:
        proc.terminate()
        proc.wait(timeout=15)
        shutil.rmtree(base, ignore_errors=True)


if __name__ == "__main__":
    main()
