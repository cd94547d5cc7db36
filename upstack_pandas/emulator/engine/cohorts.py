"""The cohort compiler: customers by first-order week, month or year, measured per period since.

A customer's cohort is the local (request timezone) week/month/year of their first counted
order; ``dateRange`` selects customers whose first order falls in it. Period ``k`` is the k-th
calendar period after the cohort's; rows exist for every period that has started by "now".
Each cohort measure is a ratio over these per-(cohort, period) aggregates, optionally
cumulative through period k (catalog ``cohort:`` entries):

``cohort_size``, ``active_customers`` (distinct customers ordering in the period), ``orders``,
``gross_revenue``, ``net_revenue``, ``cm1`` (net revenue − COGS), ``cm2`` (CM1 − shipping −
payment fees).
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from upstack_pandas.emulator.engine.catalog import Catalog
from upstack_pandas.emulator.engine.context import (
    Context,
    Requested,
    granularity_of,
    measures_of,
    status_sql,
    timezone_of,
)
from upstack_pandas.emulator.engine.errors import fail
from upstack_pandas.emulator.engine.filters import Params, validate_filter, where_sql
from upstack_pandas.emulator.engine.shape import blank_detail
from upstack_pandas.emulator.engine.time import Period, next_key, parse_period, truncate_local

GRANULARITIES = ("week", "month", "year")
SUMS = ("active_customers", "orders", "gross_revenue", "net_revenue", "cm1", "cm2")
_PERIOD = {
    "week": "date_diff('day', cohort, date_trunc('week', local)) // 7",
    "month": "date_diff('month', cohort, date_trunc('month', local))",
    "year": "date_diff('year', cohort, date_trunc('year', local))",
}


def _periods_between(start: datetime, end: datetime, granularity: str) -> int:
    """Whole periods from bucket ``start`` to bucket ``end`` (both truncated)."""
    if granularity == "week":
        return (end - start).days // 7
    if granularity == "month":
        return (end.year - start.year) * 12 + end.month - start.month
    return end.year - start.year


def _value(spec: dict[str, Any], sums: dict[str, float], size: float) -> float | None:
    num = sums[spec["numerator"]] if spec["numerator"] != "cohort_size" else size
    if "denominator" not in spec:
        return float(num)
    den = size if spec["denominator"] == "cohort_size" else sums[spec["denominator"]]
    return None if not den else float(num) / float(den) * float(spec.get("scale", 1.0))


def _detail(r: Requested, value: float | None, cohorts: int) -> dict[str, Any]:
    m = r.measure
    avg = value / cohorts if value is not None and not m.is_average and cohorts else value
    return {
        **blank_detail(m, success=True, has_pacing=False),
        "primarySum": value,
        "primaryAvg": avg,
    }


def _sql(
    catalog: Catalog,
    body: dict[str, Any],
    granularity: str,
    tz: str,
    period: Period,
    params: Params,
) -> str:
    """Per (cohort, period k) sums, plus one pooled row (cohort NULL) with repeat customers."""
    where = where_sql([status_sql(body, params)], body.get("filters"), catalog, "orders", params)
    start = datetime.combine(period.start, datetime.min.time())
    end = start + timedelta(days=period.days)
    return (
        f"WITH o AS (SELECT customer_id, timezone({params.add(tz)}, ts) AS local, gross_revenue, "
        "net_revenue, net_revenue - cogs AS cm1, "
        "net_revenue - cogs - shipping_cost - payment_fees AS cm2 "
        f"FROM order_facts WHERE {where}), "
        "f AS (SELECT customer_id, min(local) AS first_local FROM o GROUP BY customer_id), "
        f"c AS (SELECT customer_id, date_trunc('{granularity}', first_local) AS cohort FROM f "
        f"WHERE first_local >= {params.add(start)} AND first_local < {params.add(end)}), "
        f"x AS (SELECT c.cohort, {_PERIOD[granularity]} AS k, o.* FROM o JOIN c USING (customer_id)) "
        "SELECT cohort, k, count(DISTINCT customer_id), count(*), sum(gross_revenue), "
        "sum(net_revenue), sum(cm1), sum(cm2), count(DISTINCT customer_id) FILTER (WHERE k > 0) "
        "FROM x GROUP BY GROUPING SETS ((cohort, k), ()) ORDER BY cohort NULLS LAST, k"
    )


def _cohort_rows(
    requested: list[Requested],
    cohort: datetime,
    by_k: dict[int, dict[str, float]],
    granularity: str,
    tz: ZoneInfo,
    now_bucket: datetime,
) -> list[dict[str, Any]]:
    """The data points of one cohort: every period from 0 to the one holding "now"."""
    size = by_k.get(0, {}).get("active_customers", 0.0)
    running = dict.fromkeys(SUMS, 0.0)
    key, dt, rows = cohort, cohort.replace(tzinfo=tz).isoformat(), []
    for k in range(_periods_between(cohort, now_bucket, granularity) + 1):
        here = by_k.get(k, dict.fromkeys(SUMS, 0.0))
        for name in SUMS:
            running[name] += here[name]
        end = next_key(key, granularity)
        row: dict[str, Any] = {
            "dt": dt,
            "start": key.replace(tzinfo=tz).isoformat(),
            "end": end.replace(tzinfo=tz).isoformat(),
            "cohort": date.isoformat(cohort.date()),
            "period": k,
            "cohortSize": int(size),
        }
        for r in requested:
            spec = r.measure.cohort
            row[r.measure.id] = _value(spec, running if spec.get("cumulative") else here, size)
        rows.append(row)
        key = end
    return rows


def run_cohorts(ctx: Context, body: dict[str, Any]) -> dict[str, Any]:
    """Answer ``POST /db-mgmt/api/query-cohort-analysis``.

    Returns ``{"results": [one result]}`` with one data point per (cohort, period) started by
    ``ctx.now``.
    """
    catalog = ctx.catalog
    requested = measures_of(body.get("measures"), catalog, "cohort")
    granularity = granularity_of(body, GRANULARITIES)
    tz = timezone_of(body)
    if body.get("dateRange") is None:
        raise fail("dateRange", "dateRange is required (it selects customers by first-order date).")
    period = parse_period(body["dateRange"], "dateRange", tz)
    validate_filter(body.get("filters"), catalog, "cohort")
    params = Params()
    sql = _sql(catalog, body, granularity, tz.key, period, params)
    cells: dict[datetime, dict[int, dict[str, float]]] = {}
    pooled: dict[str, float] = dict.fromkeys(SUMS, 0.0)
    repeaters = 0.0
    for cohort, k, *sums, repeat in ctx.cursor.execute(sql, params.used_in(sql)).fetchall():
        values = {name: float(v or 0) for name, v in zip(SUMS, sums, strict=True)}
        if cohort is None:
            pooled, repeaters = values, float(repeat or 0)
        else:
            cells.setdefault(cohort, {})[int(k)] = values
    now_bucket = truncate_local(ctx.now.astimezone(tz).replace(tzinfo=None), granularity)
    rows = [
        row
        for cohort, by_k in cells.items()
        for row in _cohort_rows(requested, cohort, by_k, granularity, tz, now_bucket)
    ]
    total_size = pooled["active_customers"]
    measure_details = []
    for r in requested:
        spec = dict(r.measure.cohort)
        if "denominator" not in spec:  # customers_cohort: all customers of the selected cohorts
            value: float | None = total_size
        else:
            value = _value(spec, {**pooled, "active_customers": repeaters}, total_size)
        measure_details.append(_detail(r, value, len(cells)))
    return {
        "results": [
            {
                "granularity": granularity,
                "dimensions": ["cohort", "period"],
                "timezone": tz.key,
                "dateRange": period.as_dict(),
                "compareDateRange": None,
                "measureDetails": measure_details,
                "data": {"primary": rows, "compare": []},
            }
        ]
    }
