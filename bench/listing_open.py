"""How fast a big folder's listing page becomes interactive in headless Chromium (issue 19).

Serves one folder of N files from two porch source trees (e.g. main's and a branch's), loads
each page R times in alternation, and prints the median DOMContentLoaded and the median time
from the page's last byte (navigation ``responseEnd``) to interactive (the page's
``porch-ready`` mark, or DOMContentLoaded where the tree has no such mark)::

    python3 bench/listing_open.py --old /work/main/src --new src --entries 2000 --runs 6

Run it on a quiet machine: the figures in docs/webapp.md say under what load they were taken.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
from contextlib import ExitStack
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests import helpers  # noqa: E402

TIMING = """() => {
  const nav = performance.getEntriesByType("navigation")[0];
  const mark = performance.getEntriesByName("porch-ready")[0];
  const ready = mark ? mark.startTime : nav.domContentLoadedEventEnd;
  return [nav.domContentLoadedEventEnd, ready - nav.responseEnd];
}"""


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--old", type=Path, required=True, help="a porch src directory")
    parser.add_argument("--new", type=Path, required=True, help="another porch src directory")
    parser.add_argument("--entries", type=int, default=2000)
    parser.add_argument("--runs", type=int, default=6)
    args = parser.parse_args()
    import playwright.sync_api as sync_api

    with tempfile.TemporaryDirectory() as temp, ExitStack() as stack:
        folder = Path(temp) / "big"
        folder.mkdir()
        for number in range(args.entries):
            (folder / f"file-{number:05d}.txt").write_bytes(b"x")
        servers = {}
        for label, src in (("old", args.old), ("new", args.new)):
            helpers.SRC = src.resolve()  # run_porch puts SRC first on PYTHONPATH
            servers[label] = stack.enter_context(
                helpers.run_porch(folder, "--quiet", tmp=Path(temp))
            )
        results: dict[str, list[list[float]]] = {label: [] for label in servers}
        with sync_api.sync_playwright() as playwright:
            browser = playwright.chromium.launch(
                executable_path="/usr/bin/chromium", args=["--headless", "--no-sandbox"]
            )
            page = browser.new_page(viewport={"width": 1000, "height": 720})
            for _ in range(args.runs):
                for label, server in servers.items():
                    page.goto(server.url + "/", wait_until="load")
                    results[label].append(page.evaluate(TIMING))
            browser.close()
    for label, rows in results.items():
        loaded = statistics.median(row[0] for row in rows)
        ready = statistics.median(row[1] for row in rows)
        print(f"{label}: DOMContentLoaded {loaded:.0f} ms, last byte to interactive {ready:.0f} ms")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
