"""``read_channel_details``: ad-platform entities, following pagination to the end.

What differs from the shared pipeline (:mod:`.pipeline`): the request is paged (one request per
page until the last, see :class:`upstack_pandas._wire.Page`), one result per entity with
its own details, and the entity fields as columns.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from typing import TYPE_CHECKING, Any

import pandas as pd

from upstack_pandas import _wire as wire
from upstack_pandas._frames import builders as frames
from upstack_pandas._frames.backends import check_dtype_backend
from upstack_pandas._profiles import ProfilesArg
from upstack_pandas._query.checks import CompareArg, DateLike
from upstack_pandas._query.models import ChannelQuery
from upstack_pandas._readers.pipeline import (
    DtypesArg,
    Read,
    ReadOptions,
    concat,
    server_range,
    summed_details,
)
from upstack_pandas._readers.pixels import read_pixels

if TYPE_CHECKING:
    from upstack_pandas._transport.client import Client

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
    dtype_backend: str | None = None,
    client: Client | None = None,
    refresh: bool = False,
    progress: bool | None = None,
    profiles: ProfilesArg = None,
) -> pd.DataFrame:
    """Read ad-platform entities (accounts, campaigns, ad sets, ads), with optional measures.

    Follows ``pagination`` of ``/db-mgmt/api/query-channel-details`` to the end.

    Parameters
    ----------
    measures : str or list of str, optional
        Channel measures by id or title (``channel.spend``...); none gives the entity listing.
    start, end : str, date, datetime or Timestamp, optional
        First and last day, inclusive, in the query timezone (``"2026-04-01"``,
        ``datetime.date(2026, 4, 1)``...). Defaults: the last 30 days, ending today.
        Used when measures are given.
    level : {"account", "campaign", "adset", "ad"}
        Entity grain.
    granularity : str, default "none"
        ``"none"`` for one row per entity, or a bucket size for ``(id, dt)`` rows.
    filters : dict or list of dict, optional
        Canonical filter: ``{"field": "orders.customer_type", "op": "equals", "value":
        "new_customer"}``, ``{"and": [...]}`` or ``{"or": [...]}``; a list means ``and``. See
        :func:`upstack_pandas.filters` for the fields and their operators.
    compare : bool or (start, end), default False
        ``True``: also fetch the preceding period of equal length; ``False``: no compare period;
        a ``(start, end)`` pair: that period (it must not overlap the date range). The compare
        frame is ``df.upstack.compare``.
    timezone : str, optional
        IANA timezone the dates and buckets are in (default ``"UTC"``); the index is tz-aware in
        it.
    page_size : int, default 100
        Entities per request (1 to 1000).
    dtypes : dict or dtype, optional
        Override the documented dtypes (``float64`` per measure): ``{"orders.orders": "Int64"}``,
        or one dtype for every measure column.
    dtype_backend : {"numpy_nullable", "pyarrow"}, optional
        As in :func:`pandas.read_csv`: ``"numpy_nullable"`` gives nullable dtypes
        (``Float64``, ``Int64``, ``string``), ``"pyarrow"`` Arrow-backed ones
        (``double[pyarrow]``, ``timestamp[us, tz][pyarrow]``...), for every column and every
        index level, also when the result is empty; ``dtypes=`` still wins for the columns it
        names. Default: NumPy dtypes.
    client : Client, optional
        The client to use; the default client (``upstack_pandas.get_default_client()``) when
        omitted.
    refresh : bool, default False
        Bypass the client's cache and fetch again.
    progress : bool, optional
        Show a progress bar for multi-request work; by default the client's setting
        (``Client(progress=...)``), else ``UPSTACK_PANDAS_PROGRESS=1|0``, else only in
        interactive sessions.
    profiles : str or list of str, optional
        Config-file profiles to read instead of ``client=`` (see
        :func:`upstack_pandas.profiles`): one client each, several read in parallel, the frames
        concatenated with ``pixel`` (the pixel id) as the outermost index level.

    Returns
    -------
    pandas.DataFrame
        Index ``id`` (or ``(id, dt)``); the entity's ``basicDetails`` fields (``name``,
        ``level``, ``platform``, ``accountId``, ``status``...) as ``str`` columns, then one
        ``float64`` column per measure.

    Raises
    ------
    ValueError, TypeError
        For invalid arguments (unknown measure names list the closest catalog ids), before any
        request is sent.
    upstack_pandas.UpstackError
        When the API refuses the request or cannot be reached.
    """
    if profiles is not None:  # one read per profile, concatenated by pixel
        return read_pixels(read_channel_details, profiles, locals())
    arguments: dict[str, Any] = {
        "granularity": granularity,
        "level": level,
        "compare": compare,
        "filters": filters,
        "timezone": timezone,
        "page_size": page_size,
    }
    query = ChannelQuery.build(measures, start, end, **arguments)
    backend = check_dtype_backend(dtype_backend)
    read = Read(ReadOptions(client=client, refresh=refresh, progress=progress))
    ids = read.measures(query.measures, context="channel", dtypes=dtypes)
    on_server = server_range(read, start, end, query.timezone)  # after the catalog's response
    if on_server is not None and on_server != query.range:
        query = ChannelQuery.build(measures, *on_server, **arguments)
    query = replace(query, measures=ids)
    granular = bool(ids) and query.granularity != "none"
    spec = frames.channel_spec(ids, granular)
    kinds = wire.DATA_KINDS if query.compare else (wire.PRIMARY,)
    pages: dict[str, list[pd.DataFrame]] = {kind: [] for kind in kinds}
    results: list[dict[str, Any]] = []
    offset = 0
    trail = wire.PageTrail()
    with read.progress_bar(None, "channel details") as bar:
        while True:
            response, decoded = read.fetch(
                query.path, query.body(read.client.pixel_id, offset), spec
            )
            problem = trail.add(offset, wire.page(decoded.body), decoded.results)
            if problem is not None:
                raise response.unexpected(f"the pages contradict each other: {problem}")
            for kind in kinds:
                pages[kind].append(
                    frames.channel_frame(
                        decoded, measures=ids, granular=granular, timezone=query.timezone, kind=kind
                    )
                )
            results.extend(decoded.results)
            page = wire.page(decoded.body)
            if page.total is not None and bar.total is None:
                bar.set_total(max(1, -(-page.total // query.page_size)))
            bar.update()
            first = page.offset if page.offset is not None else offset
            next_offset = first + len(decoded.results)
            if (
                not page.has_more
                or not decoded.results
                or next_offset <= offset
                or (page.total is not None and next_offset >= page.total)
            ):
                break
            offset = next_offset
    return read.finish(
        concat(pages[wire.PRIMARY]),
        ids=ids,
        dtypes=dtypes,
        dtype_backend=backend,
        endpoint=query.path,
        request=query.body(read.client.pixel_id),
        timezone=query.timezone,
        granularity=query.granularity,
        dimensions=[query.level],
        date_range=query.range,
        compare_range=query.compare,
        details=summed_details(results, ids),
        compare=concat(pages[wire.COMPARE]) if query.compare else None,
        pages=len(pages[wire.PRIMARY]),
        level=query.level,
    )
