"""``read_upstack``: measures over time from ``/db-mgmt/api/query``."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace
from typing import TYPE_CHECKING, Any

import pandas as pd

from upstack_pandas import metadata
from upstack_pandas._frames import builders as frames
from upstack_pandas._frames import decode as _decode
from upstack_pandas._frames.memo import QUERY_FRAMES, response_identity
from upstack_pandas._query.checks import CompareArg, DateLike, check_window_days
from upstack_pandas._query.models import Query
from upstack_pandas._readers.pipeline import (
    DtypesArg,
    apply_dtypes,
    check_dtypes,
    decode_response,
    entries,
    fill_doc,
    range_json,
    result_details,
)
from upstack_pandas.catalog import Catalog, get_catalog, resolve_client

if TYPE_CHECKING:
    from upstack_pandas._transport.client import ApiResponse, Client

__all__ = ["read_upstack"]


def read_upstack(
    measures: str | Sequence[str],
    start: DateLike | None = None,
    end: DateLike | None = None,
    *,
    granularity: str = "day",
    dimensions: str | Sequence[str] | None = None,
    filters: Any = None,
    compare: CompareArg = True,
    timezone: str | None = None,
    pacing: bool = False,
    order_settings: Mapping[str, Any] | None = None,
    dtypes: DtypesArg = None,
    client: Client | None = None,
    refresh: bool = False,
    chunks: str | int | None = None,
    max_workers: int = 4,
    progress: bool | None = None,
) -> pd.DataFrame:
    query = Query.build(
        measures,
        start,
        end,
        granularity=granularity,
        dimensions=dimensions,
        filters=filters,
        compare=compare,
        timezone=timezone,
        pacing=pacing,
        order_settings=order_settings,
    )
    window_days = check_window_days(chunks)
    if isinstance(max_workers, bool) or not isinstance(max_workers, int) or max_workers < 1:
        raise ValueError(f"max_workers must be a positive integer; got {max_workers!r}")
    client = resolve_client(client)
    catalog = get_catalog(client)
    ids = catalog.resolve(query.measures, context="query")
    catalog.check_dimensions(query.dimensions, ids)
    check_dtypes(dtypes, ids)
    query = replace(query, measures=ids)
    if window_days is not None and query.granularity != "none":
        from upstack_pandas._readers.chunks import read_chunked

        frame = read_chunked(
            client,
            query,
            catalog,
            window_days=window_days,
            max_workers=max_workers,
            progress=progress,
            refresh=refresh,
        )
        return apply_dtypes(frame, dtypes, ids)
    body = query.body(client.pixel_id)
    response = client.post(query.path, body, refresh=refresh)
    return apply_dtypes(query_frame(query, catalog, response, body), dtypes, ids)


read_upstack.__doc__ = fill_doc(
    """Read measures over time from ``/db-mgmt/api/query`` into a DataFrame.

    Parameters
    ----------
    measures : str or list of str
        1 to 30 measures, by id (``"core.new_customer_roas"``) or by catalog title or short
        title (``"NC ROAS"``); see :func:`upstack_pandas.measures`.
    %start_end%
    granularity : {"day", "none", "second", "minute", "hour", "week", "month", "quarter", "year"}
        Bucket size; ``"none"`` gives one row (per dimension combination) for the whole range.
    dimensions : str or list of str, optional
        Up to 5 dimension ids (``"utm_source"``...): further index levels after ``dt``.
    %filters%
    %compare%
    %timezone%
    pacing : bool, default False
        Ask for ``pacedSum`` (the total projected to the end of the current bucket) in the
        metadata when the range reaches into the current period.
    order_settings : dict, optional
        Query-level order settings (``countPendingOrders``, ``exclusionFilters``...).
    %dtypes%
    %client%
    %refresh%
    chunks : str or int, optional
        Fetch the range in windows of this many days (``"90D"``, ``"26W"``, ``90``),
        concurrently; windows are cut at bucket boundaries, and the result is identical to a
        single request. Useful for long ranges of fine buckets.
    max_workers : int, default 4
        Concurrent requests when ``chunks`` is given.
    %progress%

    Returns
    -------
    pandas.DataFrame
        Index ``dt`` (tz-aware, in ``timezone``), or ``(dt, *dimensions)``; no ``dt`` when
        granularity is ``"none"``. One ``float64`` column per measure id, in the order asked.
        ``df.attrs["upstack"]`` holds the request, the catalog entries and the response's
        per-measure totals; ``df.upstack`` reads them.

    %raises%

    Examples
    --------
    >>> import upstack_pandas as up
    >>> df = up.read_upstack(["NC ROAS", "orders.orders"], "2026-04-01", "2026-04-30",
    ...                      dimensions="channel", timezone="America/New_York")  # doctest: +SKIP
    >>> df.upstack.summary()  # doctest: +SKIP
    """,
    default="True",
)


def decode_query(query: Query, response: ApiResponse) -> _decode.Decoded:
    """Decode one ``/query`` response into the columns ``query`` asked for."""
    spec = frames.query_spec(query.measures, query.dimensions, query.granularity)
    return decode_response(response, spec)


def query_frames(query: Query, decoded: _decode.Decoded) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The primary and compare frames of a decoded ``/query`` response."""
    return frames.query_frames(
        decoded,
        measures=query.measures,
        dimensions=query.dimensions,
        granularity=query.granularity,
        timezone=query.timezone,
    )


def query_frame(
    query: Query, catalog: Catalog, response: ApiResponse, request: Mapping[str, Any]
) -> pd.DataFrame:
    """The finished frame (with metadata) of one ``/query`` response."""
    key = (
        response_identity(response),
        tuple(query.measures),
        tuple(query.dimensions),
        query.granularity,
        query.timezone,
    )
    memo = QUERY_FRAMES.get(key)
    if memo is None:
        decoded = decode_query(query, response)
        memo = (*query_frames(query, decoded), result_details(decoded))
        QUERY_FRAMES.put(key, memo)
    primary, compare, details = memo
    return query_metadata(query, catalog, primary, compare, details, [response], request)


def query_metadata(
    query: Query,
    catalog: Catalog,
    primary: pd.DataFrame,
    compare: pd.DataFrame,
    details: Mapping[str, Mapping[str, Any]],
    responses: Sequence[ApiResponse],
    request: Mapping[str, Any],
    **extra: Any,
) -> pd.DataFrame:
    """Attach ``attrs["upstack"]`` to a ``/query`` frame."""
    meta = metadata.build(
        endpoint=query.path,
        request=request,
        fetched_at=min(r.fetched_at for r in responses),
        from_cache=all(r.from_cache for r in responses),
        timezone=query.timezone,
        granularity=query.granularity,
        dimensions=query.dimensions,
        date_range=range_json(query.range),
        compare_date_range=range_json(query.compare),
        measures=entries(catalog, query.measures, details),
        compare=compare if query.compare else None,
        **extra,
    )
    return metadata.attach(primary, meta)
