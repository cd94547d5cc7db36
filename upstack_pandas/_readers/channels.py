"""``read_channel_details``: ad-platform entities, following ``pagination`` to the end."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from typing import TYPE_CHECKING, Any

import pandas as pd

from upstack_pandas import metadata
from upstack_pandas._frames import builders as frames
from upstack_pandas._query.checks import CompareArg, DateLike
from upstack_pandas._query.models import ChannelQuery
from upstack_pandas._readers.pipeline import (
    DtypesArg,
    apply_dtypes,
    check_dtypes,
    concat,
    decode_response,
    entries,
    fill_doc,
    range_json,
    summed_details,
)
from upstack_pandas._readers.progress import Progress
from upstack_pandas.catalog import get_catalog, resolve_client

if TYPE_CHECKING:
    from upstack_pandas._transport.client import ApiResponse, Client

__all__ = ["read_channel_details"]


def read_channel_details(
    measures: str | Sequence[str] | None = None,
    start: DateLike | None = None,
    end: DateLike | None = None,
    *,
    level: str = "account",
    granularity: str = "none",
    filters: Any = None,
    compare: CompareArg = False,
    timezone: str | None = None,
    page_size: int = 100,
    dtypes: DtypesArg = None,
    client: Client | None = None,
    refresh: bool = False,
    progress: bool | None = None,
) -> pd.DataFrame:
    query = ChannelQuery.build(
        measures,
        start,
        end,
        granularity=granularity,
        level=level,
        compare=compare,
        filters=filters,
        timezone=timezone,
        page_size=page_size,
    )
    client = resolve_client(client)
    catalog = get_catalog(client)
    ids = catalog.resolve(query.measures, context="channel") if query.measures else ()
    check_dtypes(dtypes, ids)
    query = replace(query, measures=ids)
    granular = bool(ids) and query.granularity != "none"
    spec = frames.channel_spec(ids, granular)
    kinds = ("primary", "compare") if query.compare else ("primary",)
    pages: dict[str, list[pd.DataFrame]] = {kind: [] for kind in kinds}
    responses: list[ApiResponse] = []
    results: list[dict[str, Any]] = []
    offset = 0
    with Progress(None, desc="channel details", enabled=progress) as bar:
        while True:
            response = client.post(query.path, query.body(client.pixel_id, offset), refresh=refresh)
            decoded = decode_response(response, spec)
            for kind in kinds:
                pages[kind].append(
                    frames.channel_frame(
                        decoded, measures=ids, granular=granular, timezone=query.timezone, kind=kind
                    )
                )
            responses.append(response)
            results.extend(decoded.results)
            page = decoded.body.get("pagination") if isinstance(decoded.body, dict) else None
            page = page if isinstance(page, dict) else {}
            total = page.get("total")
            if isinstance(total, int) and bar.total is None:
                bar.set_total(max(1, -(-total // query.page_size)))
            bar.update()
            page_offset = page.get("offset")
            first = page_offset if isinstance(page_offset, int) else offset
            next_offset = first + len(decoded.results)
            if (
                not page.get("hasMore")
                or not decoded.results
                or next_offset <= offset
                or (isinstance(total, int) and next_offset >= total)
            ):
                break
            offset = next_offset
    meta = metadata.build(
        endpoint=query.path,
        request=query.body(client.pixel_id),
        fetched_at=min(r.fetched_at for r in responses),
        from_cache=all(r.from_cache for r in responses),
        timezone=query.timezone,
        granularity=query.granularity,
        dimensions=[query.level],
        date_range=range_json(query.range),
        compare_date_range=range_json(query.compare),
        measures=entries(catalog, ids, summed_details(results, ids)),
        compare=concat(pages["compare"]) if query.compare else None,
        pages=len(pages["primary"]),
        level=query.level,
    )
    return apply_dtypes(metadata.attach(concat(pages["primary"]), meta), dtypes, ids)


read_channel_details.__doc__ = fill_doc(
    """Read ad-platform entities (accounts, campaigns, ad sets, ads), with optional measures.

    Follows ``pagination`` of ``/db-mgmt/api/query-channel-details`` to the end.

    Parameters
    ----------
    measures : str or list of str, optional
        Channel measures by id or title (``channel.spend``...); none gives the entity listing.
    %start_end%
        Used when measures are given.
    level : {"account", "campaign", "adset", "ad"}
        Entity grain.
    granularity : str, default "none"
        ``"none"`` for one row per entity, or a bucket size for ``(id, dt)`` rows.
    %filters%
    %compare%
    %timezone%
    page_size : int, default 100
        Entities per request (1 to 1000).
    %dtypes%
    %client%
    %refresh%
    %progress%

    Returns
    -------
    pandas.DataFrame
        Index ``id`` (or ``(id, dt)``); the entity's ``basicDetails`` fields (``name``,
        ``level``, ``platform``, ``accountId``, ``status``...) as ``str`` columns, then one
        ``float64`` column per measure.

    %raises%
    """,
    default="False",
)
