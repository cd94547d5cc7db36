"""The numbers a dashboard view shows: each measure's current value and its sparkline.

A view's configuration names measures, a date range and a granularity; :func:`view_numbers`
reads them with :func:`upstack_pandas.read_upstack` through the client (so its cache answers a
repeated display) and keeps, per measure, the headline value (the average for averages, the sum
otherwise, as ``summary()``) and the series drawn as a small inline SVG by :func:`sparkline_svg`.
"""

from __future__ import annotations

import html
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from upstack_pandas._display.style import cell_formatter
from upstack_pandas._query.checks import GRANULARITIES, MAX_MEASURES
from upstack_pandas.catalog import get_catalog

if TYPE_CHECKING:
    from upstack_pandas._transport.client import Client
    from upstack_pandas.dashboards.view import DashboardView

__all__ = ["MeasureNumbers", "sparkline_svg", "view_numbers"]

SPARK_WIDTH, SPARK_HEIGHT = 120, 28
LINE_COLOUR = "#2f6feb"


@dataclass(frozen=True)
class MeasureNumbers:
    """One measure over a view's date range: the headline value and its series."""

    measure: str
    title: str
    value: float | None
    text: str  # the value as the catalog formats it ("$10.92", "1.09x", "3,065")
    series: tuple[float | None, ...]
    start: str
    end: str
    granularity: str


def _range(configuration: Mapping[str, Any]) -> tuple[str | None, str | None]:
    date_range = configuration.get("dateRange")
    if isinstance(date_range, Mapping):
        start, end = date_range.get("start"), date_range.get("end")
        if isinstance(start, str) and isinstance(end, str):
            return start, end
    return None, None


def _granularity(configuration: Mapping[str, Any]) -> str:
    value = configuration.get("granularity")
    # a sparkline needs buckets: a view without any (or "none") is drawn by day
    return value if value in GRANULARITIES and value != "none" else "day"


def view_numbers(view: DashboardView, client: Client) -> dict[str, MeasureNumbers]:
    """Read the current value and series of every catalog measure a view shows.

    Parameters
    ----------
    view : DashboardView
        The view (its configuration's ``dateRange`` and ``granularity``; the reader's defaults,
        the last 30 days by day, when it has none).
    client : Client
        The client to read with; its cache answers a repeated display.

    Returns
    -------
    dict of str to MeasureNumbers
        By measure id, in widget order. Measures the catalog does not know (a custom metric)
        are left out: their widgets show no number.
    """
    from upstack_pandas._readers.query import read_upstack

    catalog = get_catalog(client)
    measures = [m for m in view.measures if catalog.get(m) is not None]
    start, end = _range(view.configuration)
    granularity = _granularity(view.configuration)
    found: dict[str, MeasureNumbers] = {}
    for first in range(0, len(measures), MAX_MEASURES):
        batch = measures[first : first + MAX_MEASURES]
        frame = read_upstack(
            batch, start, end, granularity=granularity, compare=False, client=client
        )
        meta = frame.attrs.get("upstack", {})
        described = meta.get("measures", {})
        date_range = meta.get("dateRange") or {}
        for measure in batch:
            entry = described.get(measure, {})
            head = "primaryAvg" if entry.get("isAverage") else "primarySum"
            value = entry.get(head)
            value = float(value) if isinstance(value, int | float) else None
            series = frame[measure].groupby(level="dt").sum(min_count=1)
            found[measure] = MeasureNumbers(
                measure=measure,
                title=str(entry.get("shortTitle") or entry.get("title") or measure),
                value=value,
                text=cell_formatter({**entry, "isAverage": True})(value),
                series=tuple(None if math.isnan(v) else float(v) for v in series.tolist()),
                start=str(date_range.get("start", "")),
                end=str(date_range.get("end", "")),
                granularity=granularity,
            )
    return found


def sparkline_svg(
    series: Sequence[float | None],
    *,
    width: int = SPARK_WIDTH,
    height: int = SPARK_HEIGHT,
    label: str = "",
) -> str:
    """A series as a small inline SVG line (gaps where values are missing).

    Parameters
    ----------
    series : sequence of float or None
        The values, oldest first.
    width, height : int
        Size in pixels.
    label : str
        Accessible name (``aria-label``), e.g. the measure and range.

    Returns
    -------
    str
        An ``<svg>`` element; a flat line when every value is equal, empty when none is known.
    """
    known = [v for v in series if v is not None]
    pad = 2.0
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" role="img" aria-label="{html.escape(label, quote=True)}">'
    ]
    if known:
        low, high = min(known), max(known)
        span = high - low
        step = (width - 2 * pad) / max(len(series) - 1, 1)
        runs: list[list[str]] = [[]]
        for i, value in enumerate(series):
            if value is None:
                runs.append([])
                continue
            y = height / 2 if span == 0 else pad + (high - value) / span * (height - 2 * pad)
            runs[-1].append(f"{pad + i * step:.1f},{y:.1f}")
        for run in runs:
            if len(run) == 1:
                cx, cy = run[0].split(",")
                parts.append(f'<circle cx="{cx}" cy="{cy}" r="1.5" fill="{LINE_COLOUR}"/>')
            elif run:
                parts.append(
                    f'<polyline fill="none" stroke="{LINE_COLOUR}" stroke-width="1.5" '
                    f'points="{" ".join(run)}"/>'
                )
    parts.append("</svg>")
    return "".join(parts)
