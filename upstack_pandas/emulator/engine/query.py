"""The query compiler: measures × dimensions × filters × granularity × timezone → one SQL statement.

For every source a measure reads, a CTE sums the measure's base aggregates per (period, bucket,
group values); the CTEs are full-outer-joined on those keys, and one ``GROUPING SETS`` select
evaluates each measure's formula (a ratio of sums) per bucket, per bucket total, per group
total and per period. When the measures read one source (most requests), the grouping sets run
straight over its rows: no CTE, no join, one pass (the sums are exact, decimals and integers, so
summing rows or per-bucket partial sums gives the same values). Attribution and channel
details reuse :func:`aggregate`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from upstack_pandas.emulator.engine.catalog import Catalog, Measure, Term
from upstack_pandas.emulator.engine.context import (
    Context,
    buckets_of,
    check_dimensions,
    computable,
    measures_of,
    periods_of,
    status_sql,
)
from upstack_pandas.emulator.engine.filters import (
    Params,
    unapplied_filters,
    validate_filter,
    where_sql,
)
from upstack_pandas.emulator.engine.shape import (
    Grid,
    after_now,
    check_size,
    details,
    row_values,
)
from upstack_pandas.emulator.engine.time import Buckets, Period


@dataclass(frozen=True)
class Spec:
    """One aggregation: measures over periods and buckets, grouped by columns per source.

    ``groups`` holds one mapping per group column (source id → SQL column); ``sets`` lists the
    grouping sets by column alias (``b`` is the bucket, ``d0``, ``d1``... the groups).
    """

    measures: tuple[Measure, ...]
    groups: tuple[dict[str, str], ...]
    periods: tuple[Period, ...]
    buckets: Buckets
    sets: tuple[tuple[str, ...], ...]
    filter: Any = None
    where: dict[str, list[str]] = field(default_factory=dict)
    prelude: str = ""


def _partial_sum(aggregate: str) -> str:
    return f"SUM(a_{aggregate})"


def _terms(terms: tuple[Term, ...], sum_of: Callable[[str], str]) -> str:
    return " ".join(
        f"{'-' if t.sign < 0 else '+'} COALESCE({sum_of(t.aggregate)}, 0)" for t in terms
    )


def measure_sql(measure: Measure, sum_of: Callable[[str], str] = _partial_sum) -> str:
    """The SQL of a measure over its aggregates' sums (default: of the ``a_<aggregate>`` columns).

    ``sum_of`` gives the SQL of one aggregate's sum (``SUM(a_orders)``...).
    """
    num = f"CAST(({_terms(measure.numerator, sum_of)}) AS DOUBLE)"
    if not measure.denominator:
        return num
    value = f"{num} / NULLIF(CAST(({_terms(measure.denominator, sum_of)}) AS DOUBLE), 0)"
    return f"{value} * {measure.scale!r}" if measure.scale != 1.0 else value


def _period_sql(kind: str, column: str, period: Period, params: Params) -> str:
    if kind == "date":
        return f"({column} BETWEEN {params.add(period.start)} AND {params.add(period.end)})"
    return f"({column} >= {params.add(period.lo)} AND {column} < {params.add(period.hi)})"


def compile_aggregation(catalog: Catalog, spec: Spec, params: Params) -> str:
    """Compile ``spec`` into one SQL statement (values bound in ``params``).

    Parameters
    ----------
    catalog
        The catalog (sources and aggregates).
    spec
        What to aggregate.
    params
        Receives every bound value.

    Returns
    -------
    str
        SQL returning ``p, b, d0.., g, <one column per measure>`` ordered by ``p, g, b, d0..``.
    """
    tz = "$tz"  # bound below only when a bucket expression uses it
    dims = [f"d{i}" for i in range(len(spec.groups))]
    keys = ["p", "b", *dims]
    needed: dict[str, list[str]] = {}
    for m in spec.measures:
        for t in (*m.numerator, *m.denominator):
            agg = catalog.aggregates[t.aggregate]
            needed.setdefault(agg.source, [])
            if agg.id not in needed[agg.source]:
                needed[agg.source].append(agg.id)
    sets = ", ".join(f"(p{''.join(', ' + c for c in s)})" for s in spec.sets)
    grouping = f"GROUPING({', '.join(['b', *dims])})"
    tail = f"GROUP BY GROUPING SETS ({sets}) ORDER BY {', '.join(['p', 'g', 'b', *dims])}"
    rows = {source_id: _source_rows(catalog, spec, source_id, params, tz) for source_id in needed}
    if any(tz in sql for _, inputs in rows.values() for sql in inputs.values()):
        params.values["tz"] = spec.buckets.tz.key
    if len(rows) == 1:  # one source: the grouping sets straight over its rows (one pass)
        ((source_sql, inputs),) = rows.values()
        cols = ", ".join(f"{c} AS {a}" for a, c in inputs.items())
        measures = "".join(
            f", {measure_sql(m, _filtered_sum(catalog))} AS m{i}"
            for i, m in enumerate(spec.measures)
        )
        head = f"WITH {spec.prelude} " if spec.prelude else ""
        return (
            f"{head}SELECT {', '.join(keys)}, {grouping} AS g{measures} "
            f"FROM (SELECT {cols} {source_sql}) r {tail}"
        )
    ctes = []
    for source_id, agg_ids in needed.items():
        source_sql, inputs = rows[source_id]
        keyed = [f"{c} AS {a}" for a, c in inputs.items() if not a.startswith(("x_", "w_"))]
        for agg_id in agg_ids:
            agg = catalog.aggregates[agg_id]
            only = f" FILTER (WHERE {agg.where})" if agg.where else ""
            keyed.append(f"SUM({agg.sum}){only} AS a_{agg_id}")
        ctes.append(f"s_{source_id} AS (SELECT {', '.join(keyed)} {source_sql} GROUP BY ALL)")
    names = [f"s_{s}" for s in needed]
    joined = names[0] + "".join(
        f" FULL OUTER JOIN {n} USING ({', '.join(keys)})" for n in names[1:]
    )
    measures = "".join(f", {measure_sql(m)} AS m{i}" for i, m in enumerate(spec.measures))
    prelude = f"{spec.prelude}, " if spec.prelude else ""
    return (
        f"WITH {prelude}{', '.join(ctes)}, j AS (SELECT * FROM {joined}) "
        f"SELECT {', '.join(keys)}, {grouping} AS g{measures} FROM j {tail}"
    )


def _filtered_sum(catalog: Catalog) -> Callable[[str], str]:
    """An aggregate's sum over the rows of :func:`_source_rows` (its value and filter columns)."""

    def sum_of(agg_id: str) -> str:
        only = f" FILTER (WHERE w_{agg_id})" if catalog.aggregates[agg_id].where else ""
        return f"SUM(x_{agg_id}){only}"

    return sum_of


def _source_rows(
    catalog: Catalog, spec: Spec, source_id: str, params: Params, tz: str
) -> tuple[str, dict[str, str]]:
    """``FROM <table> WHERE <periods and filters>`` of one source, and the columns it gives.

    The columns (alias → SQL): ``p`` (the period), ``b`` (the bucket key), ``d0``... (the
    groups), and for each aggregate of the source the measures read ``x_<id>`` (the value
    summed) and ``w_<id>`` (its filter, when it has one).
    """
    source = catalog.sources[source_id]
    column = "date" if source.time == "date" else "ts"
    in_period = [_period_sql(source.time, column, p, params) for p in spec.periods]
    conds = [f"({' OR '.join(in_period)})", *spec.where.get(source_id, [])]
    where = where_sql(conds, spec.filter, catalog, source_id, params)
    inputs = {
        "p": f"CASE WHEN {in_period[0]} THEN 0 ELSE 1 END",
        "b": spec.buckets.sql_key(source.time, column, tz, spec.periods),
    }
    inputs |= {f"d{i}": group[source_id] for i, group in enumerate(spec.groups)}
    for m in spec.measures:
        for t in (*m.numerator, *m.denominator):
            agg = catalog.aggregates[t.aggregate]
            if agg.source == source_id:
                inputs[f"x_{agg.id}"] = agg.sum
                if agg.where:
                    inputs[f"w_{agg.id}"] = f"({agg.where})"
    return f"FROM {source.table} WHERE {where}", inputs


def aggregate(ctx: Context, spec: Spec, params: Params | None = None) -> Grid:
    """Run an aggregation and decode its rows into a :class:`Grid`.

    Parameters
    ----------
    ctx
        The request's cursor and catalog.
    spec
        What to aggregate; with no measures the grid is empty.
    params
        Parameters already bound by ``spec.where`` / ``spec.prelude`` (a new set otherwise).

    Returns
    -------
    Grid
        Values per detail row, bucket, group and period (``None`` where a ratio is undefined).
    """
    grid = Grid()
    if not spec.measures:
        return grid
    params = params or Params()
    sql = compile_aggregation(ctx.catalog, spec, params)
    n = len(spec.groups)
    full, dims_mask, bucket_mask = (1 << (n + 1)) - 1, (1 << n) - 1, 1 << n
    for row in ctx.cursor.execute(sql, params.used_in(sql)).fetchall():
        p, key, groups, g, values = (
            row[0],
            row[1],
            tuple(row[2 : 2 + n]),
            row[2 + n],
            tuple(row[3 + n :]),
        )
        if g == 0:
            grid.detail.setdefault(p, []).append((key, groups, values))
            if n == 0:
                grid.by_bucket.setdefault(p, {})[key] = values
        elif g == full:
            grid.totals[p] = values
        elif g == dims_mask:
            grid.by_bucket.setdefault(p, {})[key] = values
        elif g == bucket_mask:
            grid.by_group.setdefault(p, {})[groups] = values
    return grid


def run_query(ctx: Context, body: dict[str, Any]) -> dict[str, Any]:
    """Answer ``POST /db-mgmt/api/query``: the response body ``{"results": [one result]}``."""
    catalog = ctx.catalog
    requested = measures_of(body.get("measures"), catalog, "query")
    dims = check_dimensions(body.get("dimensions"), requested, catalog)
    buckets = buckets_of(body)
    primary, compare = periods_of(body, buckets)
    validate_filter(body.get("filters"), catalog, "query")
    params = Params()
    statuses = status_sql(body, params)
    ok = computable(requested, ctx)
    periods = (primary,) if compare is None else (primary, compare)
    sets = (("b", *[f"d{i}" for i in range(len(dims))]), ("b",), ())
    spec = Spec(
        measures=tuple(ok),
        groups=tuple(
            {s.id: s.dimensions[d] for s in catalog.sources.values() if d in s.dimensions}
            for d in dims
        ),
        periods=periods,
        buckets=buckets,
        sets=sets if dims else sets[1:],
        filter=body.get("filters"),
        where={"orders": [statuses]},
    )
    if not dims:
        check_size(sum(buckets.count(p) for p in periods), len(requested))
    grid = aggregate(ctx, spec, params)
    if dims:
        check_size(sum(len(rows) for rows in grid.detail.values()), len(requested))
    column = {m.id: i for i, m in enumerate(ok)}
    future = after_now(buckets, ctx.now)
    data: dict[str, list[dict[str, Any]]] = {"primary": [], "compare": []}
    for p, period in enumerate(periods):
        rows, render = data["primary" if p == 0 else "compare"], buckets.renderer(period)
        if dims:
            for key, groups, values in grid.detail.get(p, []):
                row = render(key)
                row.update(zip(dims, groups, strict=True))
                row.update(row_values(requested, column, values))
                rows.append(row)
        else:
            by_bucket = grid.by_bucket.get(p, {})
            for key in buckets.keys(period):
                row = render(key)
                row.update(row_values(requested, column, by_bucket.get(key), future=future(key)))
                rows.append(row)
    return {
        "results": [
            {
                "granularity": buckets.granularity,
                "dimensions": dims,
                "timezone": buckets.tz.key,
                "dateRange": primary.as_dict(),
                "compareDateRange": compare.as_dict() if compare else None,
                "measureDetails": details(
                    requested,
                    column,
                    grid.totals,
                    grid.by_bucket,
                    buckets,
                    (primary, compare),
                    ctx.now,
                ),
                "data": data,
                "unappliedFilters": unapplied_filters(
                    body.get("filters"), catalog, [r.measure for r in requested]
                ),
            }
        ]
    }
