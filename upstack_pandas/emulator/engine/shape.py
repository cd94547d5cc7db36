"""Response shaping shared by the compilers: measure values of a row and ``measureDetails``."""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

from upstack_pandas.emulator.engine.catalog import Measure
from upstack_pandas.emulator.engine.errors import QueryError
from upstack_pandas.emulator.engine.time import Buckets, Period

if TYPE_CHECKING:
    from upstack_pandas.emulator.engine.context import Requested

Values = tuple[float | None, ...]
MAX_CELLS = 1_000_000  # data points × measures in one response; more is a 400


def check_size(points: int, measures: int) -> None:
    """Refuse responses of more than :data:`MAX_CELLS` values (``points`` × ``measures``)."""
    if points * max(measures, 1) > MAX_CELLS:
        message = (
            f"The response would hold {points} data points × {measures} measures, more than "
            f"{MAX_CELLS:,} values: narrow the date range, coarsen the granularity, or ask for "
            "fewer dimensions or measures."
        )
        raise QueryError(message)


@dataclass
class Grid:
    """Decoded aggregation rows: detail, per-bucket, per-group and per-period values.

    Keys: period index (0 primary, 1 compare), bucket key, tuple of group values.
    """

    detail: dict[int, list[tuple[datetime, tuple[Any, ...], Values]]] = field(default_factory=dict)
    by_bucket: dict[int, dict[datetime, Values]] = field(default_factory=dict)
    by_group: dict[int, dict[tuple[Any, ...], Values]] = field(default_factory=dict)
    totals: dict[int, Values] = field(default_factory=dict)

    @functools.cached_property
    def cells(self) -> dict[int, dict[tuple[Any, ...], dict[datetime, Values]]]:
        """Detail values as period → group values → bucket key → values (built once, when complete)."""
        out: dict[int, dict[tuple[Any, ...], dict[datetime, Values]]] = {}
        for p, rows in self.detail.items():
            for key, groups, values in rows:
                out.setdefault(p, {}).setdefault(groups, {})[key] = values
        return out

    def groups(self) -> list[tuple[Any, ...]]:
        """Every group value tuple with data in any period, sorted (as strings)."""
        found = {g for by_group in self.by_group.values() for g in by_group}
        return sorted(found, key=lambda g: tuple(str(v) for v in g))


def additive(requested: Requested) -> bool:
    """Whether a measure is a plain sum (its headline is a total, not a ratio)."""
    return not requested.measure.denominator and not requested.measure.is_average


def row_values(
    requested: Sequence[Requested],
    column: Mapping[str, int],
    values: Values | None,
    *,
    future: bool = False,
) -> dict[str, float | None]:
    """Measure values of one data point, keyed by measure id.

    Parameters
    ----------
    requested
        The measures in request order.
    column
        Measure id → index in ``values``; measures absent from it could not be computed.
    values
        The row's values, or ``None`` for a bucket without data (sums 0, ratios null).
    future
        The bucket starts after the server's "now": every value is null, sums too (decision
        D81: no data yet is not zero).

    Returns
    -------
    dict
        ``{measure id: value}``.
    """
    out: dict[str, float | None] = {}
    for r in requested:
        idx = column.get(r.measure.id)
        if idx is None or future:
            out[r.measure.id] = None
        elif values is None or values[idx] is None:
            out[r.measure.id] = 0.0 if additive(r) else None
        else:
            out[r.measure.id] = values[idx]
    return out


def _pct(primary: float | None, compare: float | None) -> float | None:
    if primary is None or compare is None or compare == 0:
        return None
    return (primary - compare) / abs(compare) * 100.0


def _paced(
    total: float,
    by_bucket: Mapping[datetime, Values],
    idx: int,
    buckets: Buckets,
    period: Period,
    now: datetime,
) -> float:
    """Project the total to the end of the bucket holding ``now``."""
    if buckets.granularity == "none":
        start, end, current = period.lo, period.hi, total
    else:
        key = buckets.key_of(now)
        _, start, end = buckets.bounds(key, period)
        values = by_bucket.get(key)
        current = (values[idx] or 0.0) if values else 0.0
    elapsed = (now - start).total_seconds()
    if elapsed <= 0:
        return total
    return total - current + current * (end - start).total_seconds() / elapsed


def blank_detail(measure: Measure, *, success: bool, has_pacing: bool) -> dict[str, Any]:
    """One ``measureDetails`` entry with every sum, average and ``percentDiff`` null.

    ``success: false`` entries carry a ``message`` saying why (decision D82).
    """
    reason = {} if success else {"message": unavailable_reason(measure)}
    return {
        "measure": measure.id,
        "isAverage": measure.is_average,
        "isPercentage": measure.is_percentage,
        "calculatedAverage": measure.is_average,
        "success": success,
        "primarySum": None,
        "compareSum": None,
        "primaryAvg": None,
        "compareAvg": None,
        "percentDiff": None,
        "hasPacing": has_pacing,
        "preferredTrendDirection": measure.preferred_trend_direction,
        **reason,
    }


def unavailable_reason(measure: Measure) -> str:
    """Why a measure cannot be computed: a source table it reads holds no data."""
    sources = ", ".join(sorted(measure.sources))
    return (
        f"{measure.id} could not be computed: it reads {sources} data, and this account "
        "has none for at least one of them"
    )


def after_now(buckets: Buckets, now: datetime) -> Callable[[datetime], bool]:
    """Whether a bucket key starts after the bucket holding ``now`` (decision D81)."""
    if buckets.granularity == "none":
        return lambda key: False
    current = buckets.key_of(now)
    return lambda key: key > current


def details(
    requested: Sequence[Requested],
    column: Mapping[str, int],
    totals: Mapping[int, Values],
    by_bucket: Mapping[int, Mapping[datetime, Values]],
    buckets: Buckets,
    periods: tuple[Period, Period | None],
    now: datetime,
) -> list[dict[str, Any]]:
    """The ``measureDetails`` array of a result.

    Parameters
    ----------
    requested
        The measures in request order (``pacing`` as asked).
    column
        Measure id → index in the value tuples (absent: not computable, ``success: false``).
    totals
        Period index (0 primary, 1 compare) → values over the whole period.
    by_bucket
        Period index → bucket key → values (for pacing).
    buckets
        The request's bucketing.
    periods
        ``(primary, compare or None)``.
    now
        The emulated now.

    Returns
    -------
    list of dict
        One detail per measure: sums, averages, percentDiff, hasPacing (and ``pacedSum``).
    """
    primary, compare = periods
    has_pacing = primary.lo <= now < primary.hi
    out = []
    for r in requested:
        m, idx = r.measure, column.get(r.measure.id)
        detail = blank_detail(m, success=idx is not None, has_pacing=has_pacing)
        if idx is not None:
            for p, period, name in ((0, primary, "primary"), (1, compare, "compare")):
                if period is None:
                    continue
                values = totals.get(p)
                total = values[idx] if values else None
                if total is None and additive(r):
                    total = 0.0
                detail[f"{name}Sum"] = total
                count = period.days if buckets.granularity == "none" else buckets.count(period)
                detail[f"{name}Avg"] = total / count if additive(r) and total is not None else total
            head = "Avg" if m.is_average else "Sum"
            detail["percentDiff"] = _pct(detail[f"primary{head}"], detail[f"compare{head}"])
            if r.pacing and has_pacing and additive(r):
                detail["pacedSum"] = _paced(
                    detail["primarySum"], by_bucket.get(0, {}), idx, buckets, primary, now
                )
        out.append(detail)
    return out


Timeline = dict[int, list[tuple[datetime, dict[str, str]]]]


def timeline(buckets: Buckets, periods: tuple[Period, Period | None]) -> Timeline:
    """Every bucket of each period with its rendered ``dt``/``start``/``end`` (render once, reuse)."""
    return {
        p: [(key, buckets.render(key, period)) for key in buckets.keys(period)]
        for p, period in enumerate(periods)
        if period is not None
    }


def group_series(
    requested: Sequence[Requested],
    column: Mapping[str, int],
    grid: Grid,
    group: tuple[Any, ...],
    buckets: Buckets,
    periods: tuple[Period, Period | None],
    now: datetime,
    *,
    line: Timeline,
    extra: Mapping[str, Any] | None = None,
) -> tuple[dict[str, list[dict[str, Any]]], list[dict[str, Any]]]:
    """``data`` (every bucket of each period) and ``measureDetails`` of one group of a grid.

    Parameters
    ----------
    requested, column
        As for :func:`row_values`.
    grid
        An aggregation grouped by one or more columns (grouping sets ``(b, d..)`` and ``(d..)``).
    group
        The group's values (``("google",)``).
    buckets, periods, now
        As for :func:`details`.
    line
        The rendered buckets of the periods (:func:`timeline`), shared by all groups.
    extra
        Keys added to every data point (e.g. ``{"utm_source": "google"}``).

    Returns
    -------
    tuple
        ``({"primary": [...], "compare": [...]}, measure details)``.
    """
    cells = grid.cells
    future = after_now(buckets, now)
    data: dict[str, list[dict[str, Any]]] = {"primary": [], "compare": []}
    for p, points in line.items():
        mine, rows = cells.get(p, {}).get(group, {}), data["primary" if p == 0 else "compare"]
        for key, rendered in points:
            row: dict[str, Any] = {**rendered, **(extra or {})}
            row.update(row_values(requested, column, mine.get(key), future=future(key)))
            rows.append(row)
    totals = {p: by[group] for p, by in grid.by_group.items() if group in by}
    by_bucket = {0: cells.get(0, {}).get(group, {})}
    return data, details(requested, column, totals, by_bucket, buckets, periods, now)
