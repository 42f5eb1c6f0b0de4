"""Operators' metrics: counters in shared memory, read as the Prometheus text format.

Theory of operation. Every series porch has is known at start (methods, status classes,
histogram buckets, caches), so each gets a fixed place in an array of float64 counters laid
out once (``_Layout``). The array lives in an anonymous shared ``mmap`` with one *slot* (one
copy of the array) per worker process: ``--workers N`` allocates N slots in the parent before
it forks, each child writes only its own slot (``use_slot``), and whoever answers
``/-/metrics`` sums every slot. So a scrape reaching any worker sees the whole server, with no
lock (one writer per slot; a reader may see a count one increment behind, never a torn one on
the 64-bit machines porch runs on) and no files (prometheus-client's multiprocess mode needs a
directory, an environment variable before import, and costs 5-10 times more per request:
docs/deploy.md has the measurement, bench/metrics_cost.py makes it).

Two ways in. The hot path writes directly: ``request`` (method, status class, latency
histogram) is a few index additions. Everything else is *collected*: components keep plain
integer counters of their own (the server's bytes and refusals, the app's caches), and
collectors registered with ``collect`` copy them in as deltas when ``sample`` runs (once a
second from the server, and just before a scrape for the answering worker's slot). Deltas,
not totals: a worker that is replaced starts its integers at zero, and adding deltas keeps the
slot's counters growing across the replacement. Gauges (open and idle connections) are set,
not added; a dead worker's gauges are zeroed by its successor's first sample.
"""

from __future__ import annotations

import bisect
import mmap
from collections.abc import Callable, Iterable
from typing import Final

METHODS: Final = (
    "GET",
    "HEAD",
    "POST",
    "PUT",
    "PATCH",
    "DELETE",
    "OPTIONS",
    "PROPFIND",
    "PROPPATCH",
    "MKCOL",
    "COPY",
    "MOVE",
    "LOCK",
    "UNLOCK",
)
"""Methods with a series of their own; any other counts as ``OTHER``."""
STATUS_CLASSES: Final = ("1xx", "2xx", "3xx", "4xx", "5xx")
LATENCY_BUCKETS: Final = (
    0.0005,
    0.001,
    0.0025,
    0.005,
    0.01,
    0.025,
    0.05,
    0.1,
    0.25,
    0.5,
    1.0,
    2.5,
    5.0,
    10.0,
)
"""Upper bounds (seconds) of the latency histogram; ``+Inf`` follows."""
CACHES: Final = ("open_file", "listing", "validator", "response")
REFUSALS: Final = ("refused", "shed", "reclaimed_idle")
"""Admission under pressure (porch.server.admission): a newcomer answered 503, a connection
still sending its head shed with 503, an idle keep-alive connection closed to make room."""
UPLOADS: Final = ("whole", "resumable")

COUNTERS: Final = (
    ("porch_received_bytes_total", "Request body bytes received."),
    ("porch_sent_bytes_total", "Response body bytes sent."),
    ("porch_connections_total", "Connections accepted (admitted or refused)."),
)
GAUGES: Final = (
    ("porch_connections_open", "Open client connections."),
    ("porch_connections_idle", "Open connections waiting for a request (keep-alive)."),
)

Collector = Callable[["Metrics"], None]


class _Layout:
    """Offsets of every series in one slot."""

    def __init__(self) -> None:
        self.size = 0
        self.requests = {
            (method, status): self._take()
            for method in (*METHODS, "OTHER")
            for status in STATUS_CLASSES
        }
        self.method_index = {method: index for index, method in enumerate(METHODS)}
        self.buckets = [self._take() for _ in range(len(LATENCY_BUCKETS) + 1)]
        self.latency_sum = self._take()
        self.cache = {
            (cache, result): self._take() for cache in CACHES for result in ("hit", "miss")
        }
        self.refused = {reason: self._take() for reason in REFUSALS}
        self.uploads = {kind: self._take() for kind in UPLOADS}
        self.counters = {name: self._take() for name, _ in COUNTERS}
        self.gauges = {name: self._take() for name, _ in GAUGES}

    def _take(self) -> int:
        self.size += 1
        return self.size - 1


LAYOUT: Final = _Layout()
_REQUEST_OFFSETS: Final = {
    (method, int(klass[0])): offset for (method, klass), offset in LAYOUT.requests.items()
}
"""(method, status // 100) -> offset: one dict lookup on the hot path."""
_BUCKETS: Final = tuple(LAYOUT.buckets)
_LATENCY_SUM: Final = LAYOUT.latency_sum


class Metrics:
    """Counters for ``slots`` processes in memory shared across ``fork`` (see module doc).

    Create it before forking workers; each worker calls ``use_slot(index)`` first thing. The
    recording methods are meant for one process's own slot; ``render`` reads all of them.
    """

    def __init__(self, slots: int = 1) -> None:
        if slots < 1:
            raise ValueError("at least one slot")
        self.slots = slots
        self._memory = mmap.mmap(-1, max(1, slots * LAYOUT.size * 8))
        self._all = memoryview(self._memory).cast("d")
        self._slot = 0
        self._view = self._all[: LAYOUT.size]
        self._collectors: list[Collector] = []
        self._last: dict[object, int] = {}

    def use_slot(self, index: int) -> None:
        """Write to slot ``index`` from now on (a worker's number, 0 .. slots - 1)."""
        if not 0 <= index < self.slots:
            raise ValueError(f"no slot {index}")
        self._slot = index
        self._view = self._all[index * LAYOUT.size : (index + 1) * LAYOUT.size]
        self._last.clear()
        for offset in LAYOUT.gauges.values():
            self._view[offset] = 0.0

    # -- the hot path -------------------------------------------------------------------

    def request(self, method: str, status: int, seconds: float) -> None:
        """One answered request: by method and status class, and its latency."""
        view = self._view
        offset = _REQUEST_OFFSETS.get((method, status // 100))
        if offset is None:  # a method without its own series, or a status outside 1xx-5xx
            klass = STATUS_CLASSES[min(max(status // 100, 1), 5) - 1]
            offset = LAYOUT.requests[(method if method in LAYOUT.method_index else "OTHER", klass)]
        view[offset] += 1
        view[_BUCKETS[bisect.bisect_left(LATENCY_BUCKETS, seconds)]] += 1
        view[_LATENCY_SUM] += seconds

    def upload(self, kind: str = "whole") -> None:
        """One upload stored: ``whole`` (POST, PUT, a form) or ``resumable`` (completed)."""
        self._view[LAYOUT.uploads[kind]] += 1

    # -- collected values -----------------------------------------------------------------

    def collect(self, collector: Collector) -> None:
        """Run ``collector(self)`` at every ``sample``; it calls ``add_total`` / ``set_gauge``."""
        self._collectors.append(collector)

    def sample(self) -> None:
        """Copy the collected values of this process into its slot."""
        for collector in self._collectors:
            collector(self)

    def add_total(self, key: tuple[str, ...], total: int, owner: object) -> None:
        """Add to series ``key`` what ``total`` (an ever-growing count kept by ``owner``)
        gained since the last sample. ``key`` is ``("cache", name, "hit"|"miss")``,
        ``("refused", reason)`` or ``("counter", name)``."""
        memo = (id(owner), key)
        delta = total - self._last.get(memo, 0)
        self._last[memo] = total
        if delta > 0:
            self._view[_offset(key)] += delta

    def set_gauge(self, name: str, value: float) -> None:
        self._view[LAYOUT.gauges[name]] = value

    # -- reading --------------------------------------------------------------------------

    def value(self, offset: int) -> float:
        """The sum over every slot of the series at ``offset``."""
        step = LAYOUT.size
        return float(sum(self._all[offset + slot * step] for slot in range(self.slots)))

    def render(self) -> bytes:
        """The Prometheus text exposition format (version 0.0.4) of the sums of all slots."""
        self.sample()
        lines: list[str] = []
        value = self.value

        def family(name: str, kind: str, text: str, rows: Iterable[tuple[str, float]]) -> None:
            lines.append(f"# HELP {name} {text}")
            lines.append(f"# TYPE {name} {kind}")
            lines.extend(f"{name}{labels} {_number(number)}" for labels, number in rows)

        family(
            "porch_requests_total",
            "counter",
            "Requests answered by the application, by method and status class.",
            (
                (f'{{method="{method}",code="{status}"}}', value(offset))
                for (method, status), offset in LAYOUT.requests.items()
                if value(offset) or method in ("GET", "HEAD")
            ),
        )
        cumulative = 0.0
        rows: list[tuple[str, float]] = []
        for bound, offset in zip((*LATENCY_BUCKETS, None), LAYOUT.buckets, strict=True):
            cumulative += value(offset)
            label = "+Inf" if bound is None else _number(bound)
            rows.append((f'_bucket{{le="{label}"}}', cumulative))
        rows.append(("_sum", value(LAYOUT.latency_sum)))
        rows.append(("_count", cumulative))
        lines.append("# HELP porch_request_duration_seconds Time from a request's head to its")
        lines[-1] += " response being ready (the body is sent after)."
        lines.append("# TYPE porch_request_duration_seconds histogram")
        lines.extend(f"porch_request_duration_seconds{s} {_number(n)}" for s, n in rows)
        for name, text in COUNTERS:
            family(name, "counter", text, [("", value(LAYOUT.counters[name]))])
        for name, text in GAUGES:
            family(name, "gauge", text, [("", value(LAYOUT.gauges[name]))])
        family(
            "porch_admission_refusals_total",
            "counter",
            "Connections turned away or closed at --max-connections, by what admission did.",
            ((f'{{reason="{r}"}}', value(o)) for r, o in LAYOUT.refused.items()),
        )
        family(
            "porch_uploads_total",
            "counter",
            "Uploads stored, by kind (whole: POST/PUT/form; resumable: completed).",
            ((f'{{kind="{k}"}}', value(o)) for k, o in LAYOUT.uploads.items()),
        )
        family(
            "porch_cache_lookups_total",
            "counter",
            "Lookups in porch's internal caches, by cache and result (hit ratio: hit / all).",
            ((f'{{cache="{c}",result="{r}"}}', value(o)) for (c, r), o in LAYOUT.cache.items()),
        )
        lines.append(
            f"# HELP porch_workers Worker processes whose counters are summed here.\n"
            f"# TYPE porch_workers gauge\nporch_workers {self.slots}"
        )
        return ("\n".join(lines) + "\n").encode()


def _offset(key: tuple[str, ...]) -> int:
    kind = key[0]
    if kind == "cache":
        return LAYOUT.cache[(key[1], key[2])]
    if kind == "refused":
        return LAYOUT.refused[key[1]]
    if kind == "counter":
        return LAYOUT.counters[key[1]]
    raise KeyError(key)


def _number(value: float) -> str:
    """A sample value as Prometheus prints it: integers without ``.0``."""
    return str(int(value)) if value == int(value) else repr(value)
