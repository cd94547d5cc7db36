"""Emulator latency for representative queries (p50 / p95 of full HTTP round trips).

Each request is sent with an uncached ``Client`` (``client.post`` / ``client.get``), so a figure
is the emulator's compute plus HTTP and the client's transport, without decoding into a frame.
The queries are also the ones the cache benchmark uses (:data:`QUERIES`). Target: the 2-year
daily query of 10 measures by one dimension answers well under 1 s (p95 below 1 s).
"""

from __future__ import annotations

import datetime as _dt
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from benchmarks import Check, Section, fmt_bytes, fmt_seconds, percentile, sample

if TYPE_CHECKING:
    import pandas as pd

    from upstack_pandas import Client
    from upstack_pandas.emulator.http.server import Emulator

__all__ = ["LARGE", "LARGE_MEASURES", "NOW", "QUERIES", "SMALL", "QuerySpec", "run"]

#: The emulator's clock in every benchmark (data runs up to it).
NOW = "2026-11-26T12:00:00Z"
#: Ten measures that support the ``channel`` dimension.
LARGE_MEASURES = (
    "orders.total_revenue", "orders.gross_revenue", "orders.net_revenue", "orders.orders",
    "orders.new_customer_orders", "orders.aov", "core.mer", "core.roas",
    "core.new_customer_roas", "core.cpa",
)  # fmt: skip
LATENCY_LIMIT_S = 1.0
QUERY_PATH = "/db-mgmt/api/query"


@dataclass(frozen=True)
class QuerySpec:
    """A daily ``/query`` without compare period, as a wire body and as a reader call.

    Parameters
    ----------
    measures : tuple of str
        Measure ids.
    start, end : str
        Inclusive date range (UTC).
    dimensions : tuple of str
        Dimension ids.
    """

    measures: tuple[str, ...]
    start: str
    end: str
    dimensions: tuple[str, ...] = ()
    compare: bool = False

    def body(self) -> dict[str, Any]:
        """The request body (``pixelId`` is filled in by the client)."""
        body: dict[str, Any] = {
            "granularity": "day",
            "measures": [{"measure": m} for m in self.measures],
            "dateRange": {"start": self.start, "end": self.end},
            "compareDateRange": None,
        }
        if self.compare:
            start, end = _dt.date.fromisoformat(self.start), _dt.date.fromisoformat(self.end)
            before = start - _dt.timedelta(days=1)
            body["compareDateRange"] = {
                "start": (before - (end - start)).isoformat(), "end": before.isoformat(),
            }  # fmt: skip
        if self.dimensions:
            body["dimensions"] = list(self.dimensions)
        return body

    def read(self, client: Client) -> pd.DataFrame:
        """The same query through ``up.read_upstack``."""
        import upstack_pandas as up

        return up.read_upstack(
            list(self.measures), self.start, self.end, dimensions=list(self.dimensions),
            compare=self.compare, client=client, progress=False,
        )  # fmt: skip


#: One measure, 30 days.
SMALL = QuerySpec(("orders.orders",), "2026-09-01", "2026-09-30")
#: Ten measures, two years daily, by ``channel``.
LARGE = QuerySpec(LARGE_MEASURES, "2024-11-01", "2026-10-31", ("channel",))
_RANGE = {"start": "2026-08-01", "end": "2026-10-31"}

#: Name → (path, body); a ``None`` body means a GET.
QUERIES: dict[str, tuple[str, dict[str, Any] | None]] = {
    "small query (1 measure, 30 days)": (QUERY_PATH, SMALL.body()),
    "2 years daily, 10 measures, by channel": (QUERY_PATH, LARGE.body()),
    "attribution (utm_source, first click, 92 days)": ("/db-mgmt/api/query-attribution", {
        "dimension": "utm_source", "dateRange": _RANGE, "attributionModel": "first_click",
        "attributionWindow": 30,
    }),
    "cohorts (monthly, 12 cohorts, 2 measures)": ("/db-mgmt/api/query-cohort-analysis", {
        "granularity": "month", "dateRange": {"start": "2025-11-01", "end": "2026-10-31"},
        "measures": ["orders.cohort_retention_percent", "orders.ltv_cohort_gross_revenue"],
    }),
    "channel details (campaigns, 2 measures, 92 days)": ("/db-mgmt/api/query-channel-details", {
        "granularity": "none", "dimensions": ["campaign"], "dateRange": _RANGE,
        "measures": [{"measure": "channel.spend"}, {"measure": "channel.roas"}],
        "limit": 100, "offset": 0,
    }),
    "measures catalog": ("/db-mgmt/api/measures", None),
}  # fmt: skip
LARGE_NAME = "2 years daily, 10 measures, by channel"


def _call(client: Client, path: str, body: dict[str, Any] | None) -> Callable[[], Any]:
    if body is None:
        return lambda: client.get(path)
    return lambda: client.post(path, body)


def run(emu: Emulator, *, quick: bool = False) -> Section:
    """Measure every query of :data:`QUERIES` against ``emu``.

    Parameters
    ----------
    emu : Emulator
        A running emulator (its engine is built by the first, unmeasured, request).
    quick : bool
        Two samples per query instead of 30.

    Returns
    -------
    Section
    """
    repeat = 2 if quick else 30
    section = Section(
        title="5. Emulator latency",
        note=(
            f"Full HTTP round trips to a local emulator (uncached client, {repeat} requests "
            "per query after one warm-up, queries interleaved). Target: the 2-year query "
            f"p95 ≤ {LATENCY_LIMIT_S:g} s."
        ),
        headers=["query", "body", "p50", "p95", "max"],
    )
    client = emu.client(cache=False)
    try:
        calls = {name: _call(client, path, body) for name, (path, body) in QUERIES.items()}
        sizes = {name: len(call().content) for name, call in calls.items()}  # warm-up
        times: dict[str, list[float]] = {name: [] for name in calls}
        for _ in range(repeat):
            for name, call in calls.items():
                times[name] += sample(call, 1)
    finally:
        client.close()
    for name, values in times.items():
        section.rows.append([
            name, fmt_bytes(sizes[name]), fmt_seconds(percentile(values, 50)),
            fmt_seconds(percentile(values, 95)), fmt_seconds(max(values)),
        ])  # fmt: skip
    section.checks.append(
        Check(
            f"emulator p95, {LARGE_NAME}",
            percentile(times[LARGE_NAME], 95),
            LATENCY_LIMIT_S,
            unit="s",
        )
    )
    return section
