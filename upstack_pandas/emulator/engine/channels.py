"""Channel details: ad entities at account, campaign, ad set or ad grain, with optional measures.

Entities come from the ``entities`` table (sorted by id, paginated with ``limit``/``offset``);
``channel.*`` filters apply to them by their own attributes (a field above the grain, e.g. a
campaign at account grain, never matches). With ``measures`` (which need ``dateRange``), the
page's entities are aggregated like ``/query`` grouped by entity id, one point per bucket.
"""

from __future__ import annotations

from typing import Any

from upstack_pandas.emulator.data.taxonomy import AD_LEVELS
from upstack_pandas.emulator.engine.context import (
    Context,
    Requested,
    buckets_of,
    computable,
    measures_of,
    periods_of,
)
from upstack_pandas.emulator.engine.errors import fail
from upstack_pandas.emulator.engine.filters import Params, validate_filter, where_sql
from upstack_pandas.emulator.engine.query import Spec, aggregate
from upstack_pandas.emulator.engine.shape import check_size, group_series, timeline
from upstack_pandas.emulator.engine.time import Period

GRAINS = AD_LEVELS[1:]  # campaign, adset, ad; no grain dimension means account grain
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
    ctx: Context, level: str, filters: Any, limit: int, offset: int
) -> tuple[list[dict[str, Any]], int]:
    """One page of the entities at ``level`` matching ``filters``, and how many match in all."""
    params = Params()
    where = where_sql([f"level = {params.add(level)}"], filters, ctx.catalog, "ad_spend", params)
    count_sql = f"SELECT count(*) FROM entities WHERE {where}"
    count = ctx.cursor.execute(count_sql, params.used_in(count_sql)).fetchone()
    page = f"ORDER BY id LIMIT {params.add(limit)} OFFSET {params.add(offset)}"
    list_sql = f"SELECT * FROM entities WHERE {where} {page}"
    cur = ctx.cursor.execute(list_sql, params.used_in(list_sql))
    names = [d[0] for d in cur.description or []]
    rows = [dict(zip(names, row, strict=True)) for row in cur.fetchall()]
    return rows, int(count[0]) if count else 0


def run_channel_details(ctx: Context, body: dict[str, Any]) -> dict[str, Any]:
    """Answer ``POST /db-mgmt/api/query-channel-details``.

    Returns ``{"results": [...], "pagination": {"limit", "offset", "total", "hasMore"}}``.
    """
    catalog = ctx.catalog
    dims = list(dict.fromkeys(body.get("dimensions") or []))
    if len(dims) > 1 or any(d not in GRAINS for d in dims):
        raise fail(
            "dimensions",
            f"At most one distinct grain dimension ({', '.join(GRAINS)}); "
            "omit it for account grain.",
        )
    level = dims[0] if dims else "account"
    limit, offset = _page(body)
    buckets = buckets_of(body)
    validate_filter(body.get("filters"), catalog, "channel")
    requested: list[Requested] = []
    periods: tuple[Period, Period | None] | None = None
    if body.get("measures"):
        requested = measures_of(body["measures"], catalog, "channel")
        if body.get("dateRange") is None:
            raise fail("dateRange", "dateRange is required together with measures.")
        periods = periods_of(body, buckets, auto_compare=False)
    elif body.get("compareDateRange") is not None:
        raise fail("compareDateRange", "compareDateRange is only allowed together with measures.")
    entities, total = _entities(ctx, level, body.get("filters"), limit, offset)
    results: list[dict[str, Any]] = []
    for entity in entities:
        results.append({"basicDetails": _basic(entity), "data": {"primary": [], "compare": []}})
    if periods is not None and entities:
        count = sum(buckets.count(p) for p in periods if p is not None)
        check_size(count * len(entities), len(requested))
        ok = computable(requested, ctx)
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
        grid = aggregate(ctx, spec, params)
        column = {m.id: i for i, m in enumerate(ok)}
        line = timeline(buckets, periods)
        for result, entity in zip(results, entities, strict=True):
            result["data"], result["measureDetails"] = group_series(
                requested, column, grid, (entity["id"],), buckets, periods, ctx.now, line=line
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
