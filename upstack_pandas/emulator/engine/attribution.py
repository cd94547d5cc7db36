"""The attribution compiler: credit orders to touchpoint values, then aggregate like ``/query``.

A touchpoint (session) counts for an order when it belongs to the same customer and happened
within ``attributionWindow`` × 24 hours before the order (inclusive). ``first_click`` credits
the earliest (ties: lowest ``session_id``), ``last_click`` the latest (ties: highest), and
``any_click`` every distinct value touched in the window with the full order. Orders without a
touchpoint in the window are credited to ``(direct)``.
"""

from __future__ import annotations

from typing import Any

from upstack_pandas.emulator.engine.catalog import Catalog
from upstack_pandas.emulator.engine.context import (
    Context,
    buckets_of,
    measures_of,
    periods_of,
    status_sql,
)
from upstack_pandas.emulator.engine.errors import fail
from upstack_pandas.emulator.engine.filters import Params, validate_filter, where_sql
from upstack_pandas.emulator.engine.query import Spec, aggregate
from upstack_pandas.emulator.engine.shape import check_size, group_series, timeline
from upstack_pandas.emulator.engine.time import Period

MODELS = ("first_click", "last_click", "any_click")
WINDOWS = (1, 3, 7, 14, 30, 60, 90)
DEFAULT_MEASURES = ("attribution.revenue", "attribution.orders")

_CREDIT = {
    "first_click": "SELECT order_id, arg_min(v, (tts, session_id)) AS v FROM tp GROUP BY order_id",
    "last_click": "SELECT order_id, arg_max(v, (tts, session_id)) AS v FROM tp GROUP BY order_id",
    "any_click": "SELECT DISTINCT order_id, v FROM tp",
}


def _prelude(
    catalog: Catalog,
    dimension: str,
    model: str,
    window: int,
    periods: tuple[Period, ...],
    body: dict[str, Any],
    params: Params,
) -> str:
    """CTEs ending in ``attributed``: one row per (order, credited value)."""
    in_period = " OR ".join(
        f"(ts >= {params.add(p.lo)} AND ts < {params.add(p.hi)})" for p in periods
    )
    conds = [f"({in_period})", status_sql(body, params)]
    where = where_sql(conds, body.get("filters"), catalog, "orders", params)
    column = catalog.sources["sessions"].dimensions[dimension]
    return (
        "ao AS (SELECT order_id, customer_id, ts, total_revenue, customer_type FROM order_facts "
        f"WHERE {where}), "
        f"tp AS (SELECT ao.order_id, s.{column} AS v, s.ts AS tts, s.session_id FROM ao "
        "JOIN session_facts s ON s.customer_id = ao.customer_id AND s.ts <= ao.ts "
        f"AND s.ts >= ao.ts - to_hours({24 * window})), "
        f"cr AS ({_CREDIT[model]}), "
        "attributed AS (SELECT ao.ts, ao.total_revenue, ao.customer_type, "
        "coalesce(cr.v, '(direct)') AS attributed_value FROM ao LEFT JOIN cr USING (order_id))"
    )


def run_attribution(ctx: Context, body: dict[str, Any]) -> dict[str, Any]:
    """Answer ``POST /db-mgmt/api/query-attribution``.

    Returns ``{"results": [...]}``: one result per credited dimension value, sorted by value.
    """
    catalog = ctx.catalog
    dimensions = catalog.sources["attributed"].dimensions
    dimension = str(body.get("dimension"))
    if dimension not in dimensions:
        raise fail(
            "dimension",
            f"Dimension {dimension!r} cannot be attributed (use one of: {', '.join(dimensions)}).",
        )
    model = body.get("attributionModel", "first_click")
    if model not in MODELS:
        raise fail(
            "attributionModel", f"Unknown attribution model {model!r} (use: {', '.join(MODELS)})."
        )
    window = body.get("attributionWindow", 30)
    if window not in WINDOWS or isinstance(window, bool):
        raise fail(
            "attributionWindow",
            f"attributionWindow {window!r} is not allowed "
            f"(allowed days: {', '.join(map(str, WINDOWS))}).",
        )
    requested = measures_of(list(body.get("measures") or DEFAULT_MEASURES), catalog, "attribution")
    buckets = buckets_of(body, default="none")
    primary, compare = periods_of(body, buckets)
    validate_filter(body.get("filters"), catalog, "attribution")
    periods = (primary,) if compare is None else (primary, compare)
    params = Params()
    prelude = _prelude(catalog, dimension, str(model), int(window), periods, body, params)
    ok = [r.measure for r in requested]  # orders are always available
    spec = Spec(
        measures=tuple(ok),
        groups=({"attributed": "attributed_value"},),
        periods=periods,
        buckets=buckets,
        sets=(("b", "d0"), ("d0",)),
        prelude=prelude,
    )
    grid = aggregate(ctx, spec, params)
    points = sum(buckets.count(p) for p in periods) * len(grid.groups())
    check_size(points, len(requested))
    column = {m.id: i for i, m in enumerate(ok)}
    results = []
    line = timeline(buckets, (primary, compare))
    for group in grid.groups():
        value = group[0]
        data, measure_details = group_series(
            requested,
            column,
            grid,
            group,
            buckets,
            (primary, compare),
            ctx.now,
            line=line,
            extra={dimension: value},
        )
        results.append(
            {
                "dateRange": primary.as_dict(),
                "compareDateRange": compare.as_dict() if compare else None,
                "dimension": dimension,
                "attributionModel": model,
                "attributionWindow": window,
                "granularity": buckets.granularity,
                "timezone": buckets.tz.key,
                "dimensionFilters": [[{"dimension": dimension, "value": value}]],
                "data": data,
                "measureDetails": measure_details,
            }
        )
    return {"results": results}
