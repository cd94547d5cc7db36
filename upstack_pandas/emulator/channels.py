"""Channel details: ad entities at account, campaign, ad set or ad grain, with optional measures.

Entities come from the ``entities`` table (sorted by id, paginated with ``limit``/``offset``);
``channel.*`` filters apply to them by their own attributes (a field above the grain, e.g. a
campaign at account grain, never matches). With ``measures`` (which need ``dateRange``), the
page's entities are aggregated like ``/query`` grouped by entity id, one point per bucket.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import duckdb

from upstack_pandas.emulator._filters import Params, compile_filter, validate_filter
from upstack_pandas.emulator._request import (
    Requested,
    computable,
    fail,
    granularity_of,
    measures_of,
    periods_of,
    timezone_of,
)
from upstack_pandas.emulator._shape import check_size, group_series, timeline
from upstack_pandas.emulator._time import Buckets, Period
from upstack_pandas.emulator.catalog import Catalog
from upstack_pandas.emulator.sql import Spec, aggregate

GRAINS = ("campaign", "adset", "ad")
MAX_LIMIT = 1000


def _basic(row: dict[str, Any]) -> dict[str, Any]:
    out = {
        "id": row["id"],
        "name": row["name"],
        "level": row["level"],
        "platform": row["platform"],
        "accountId": row["account_id"],
    }
    if row["level"] in ("adset", "ad"):
        out["campaignId"] = row["campaign_id"]
    if row["level"] == "ad":
        out["adsetId"] = row["adset_id"]
    out["status"] = row["status"]
    return out


def _page(body: dict[str, Any]) -> tuple[int, int]:
    limit, offset = body.get("limit", 100), body.get("offset", 0)
    if not isinstance(limit, int) or isinstance(limit, bool) or not 1 <= limit <= MAX_LIMIT:
        raise fail("limit", f"limit must be an integer from 1 to {MAX_LIMIT}.")
    if not isinstance(offset, int) or isinstance(offset, bool) or offset < 0:
        raise fail("offset", "offset must be a non-negative integer.")
    return limit, offset


def _entities(
    cursor: duckdb.DuckDBPyConnection,
    catalog: Catalog,
    level: str,
    filters: Any,
    limit: int,
    offset: int,
) -> tuple[list[dict[str, Any]], int]:
    """One page of the entities at ``level`` matching ``filters``, and how many match in all."""
    params = Params()
    conds = [f"level = {params.add(level)}"]
    flt = compile_filter(filters, catalog, "ad_spend", params)
    if flt:
        conds.append(flt)
    where = " AND ".join(conds)
    count_sql = f"SELECT count(*) FROM entities WHERE {where}"
    count = cursor.execute(count_sql, params.used_in(count_sql)).fetchone()
    page = f"ORDER BY id LIMIT {params.add(limit)} OFFSET {params.add(offset)}"
    list_sql = f"SELECT * FROM entities WHERE {where} {page}"
    cur = cursor.execute(list_sql, params.used_in(list_sql))
    names = [d[0] for d in cur.description or []]
    rows = [dict(zip(names, row, strict=True)) for row in cur.fetchall()]
    return rows, int(count[0]) if count else 0


def run_channel_details(
    cursor: duckdb.DuckDBPyConnection,
    catalog: Catalog,
    available: frozenset[str],
    now: datetime,
    body: dict[str, Any],
) -> dict[str, Any]:
    """Answer ``POST /db-mgmt/api/query-channel-details``.

    Parameters
    ----------
    cursor
        A DuckDB cursor of the store.
    catalog
        The catalog (``channel`` context measures and filters).
    available
        Store tables holding data (without ad spend the listing is empty).
    now
        The emulated now (pacing flags).
    body
        The request body.

    Returns
    -------
    dict
        ``{"results": [...], "pagination": {"limit", "offset", "total", "hasMore"}}``.
    """
    dims = list(dict.fromkeys(body.get("dimensions") or []))
    if len(dims) > 1 or any(d not in GRAINS for d in dims):
        raise fail(
            "dimensions",
            f"At most one distinct grain dimension ({', '.join(GRAINS)}); "
            "omit it for account grain.",
        )
    level = dims[0] if dims else "account"
    limit, offset = _page(body)
    tz = timezone_of(body)
    buckets = Buckets(granularity_of(body), tz)
    validate_filter(body.get("filters"), catalog, "channel")
    requested: list[Requested] = []
    periods: tuple[Period, Period | None] | None = None
    if body.get("measures"):
        requested = measures_of(body["measures"], catalog, "channel")
        if body.get("dateRange") is None:
            raise fail("dateRange", "dateRange is required together with measures.")
        periods = periods_of(body, tz, buckets, auto_compare=False)
    elif body.get("compareDateRange") is not None:
        raise fail("compareDateRange", "compareDateRange is only allowed together with measures.")
    entities, total = _entities(cursor, catalog, level, body.get("filters"), limit, offset)
    results: list[dict[str, Any]] = []
    for entity in entities:
        results.append({"basicDetails": _basic(entity), "data": {"primary": [], "compare": []}})
    if periods is not None and entities:
        count = sum(buckets.count(p) for p in periods if p is not None)
        check_size(count * len(entities), len(requested))
        ok = computable(requested, catalog, available)
        params = Params()
        ids = ", ".join(params.add(e["id"]) for e in entities)
        spec = Spec(
            measures=tuple(ok),
            groups=({"ad_spend": f"{level}_id"},),
            periods=tuple(p for p in periods if p is not None),
            buckets=buckets,
            sets=(("b", "d0"), ("d0",)),
            filter=body.get("filters"),
            where={"ad_spend": [f"{level}_id IN ({ids})"]},
        )
        grid = aggregate(cursor, catalog, spec, params)
        column = {m.id: i for i, m in enumerate(ok)}
        line = timeline(buckets, periods)
        for result, entity in zip(results, entities, strict=True):
            result["data"], result["measureDetails"] = group_series(
                requested, column, grid, (entity["id"],), buckets, periods, now, line=line
            )
    return {
        "results": results,
        "pagination": {
            "limit": limit,
            "offset": offset,
            "total": total,
            "hasMore": offset + len(entities) < total,
        },
    }
