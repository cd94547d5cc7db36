"""``read_upstack``: measures over time from ``/db-mgmt/api/query``.

What differs from the shared pipeline (:mod:`.pipeline`): the ``/query`` request model, chunked
reads (:mod:`.chunks`), and the per-client memo of decoded frames (a cache hit skips decoding).
"""

from __future__ import annotations

import inspect
from collections.abc import Mapping, Sequence
from dataclasses import replace
from typing import TYPE_CHECKING, Any

import pandas as pd

from upstack_pandas import _wire as wire
from upstack_pandas import metadata
from upstack_pandas._frames import decode as _decode
from upstack_pandas._frames.backends import check_dtype_backend
from upstack_pandas._frames.memo import memo_of, response_identity
from upstack_pandas._profiles import ProfilesArg
from upstack_pandas._query.checks import (
    MAX_WORKERS,
    CompareArg,
    DateLike,
    bucket_count,
    check_positive_int,
    check_window_days,
)
from upstack_pandas._query.models import OrderSettingsLike, Query
from upstack_pandas._readers.chunks import advise, observe, read_chunked
from upstack_pandas._readers.pipeline import (
    DtypesArg,
    Read,
    ReadOptions,
    decode_response,
    first_details,
    query_frames_of,
    query_spec_of,
    server_range,
)
from upstack_pandas._readers.pixels import read_pixels

if TYPE_CHECKING:
    from upstack_pandas._transport.client import ApiResponse, Client

__all__ = ["query_arguments", "read_query", "read_upstack"]


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
    order_settings: Mapping[str, Any] | OrderSettingsLike | None = None,
    view_filters: Sequence[Mapping[str, Any]] | None = None,
    dtypes: DtypesArg = None,
    dtype_backend: str | None = None,
    client: Client | None = None,
    refresh: bool = False,
    chunks: str | int | None = None,
    max_workers: int = 4,
    progress: bool | None = None,
    profiles: ProfilesArg = None,
) -> pd.DataFrame:
    """Read measures over time from ``/db-mgmt/api/query`` into a DataFrame.

    Parameters
    ----------
    measures : str or list of str
        1 to 30 measures, by id (``"core.new_customer_roas"``) or by catalog title or short
        title (``"NC ROAS"``); see :func:`upstack_pandas.measures`.
    start, end : str, date, datetime or Timestamp, optional
        First and last day, inclusive, in the query timezone (``"2026-04-01"``,
        ``datetime.date(2026, 4, 1)``...). Defaults: the last 30 days, ending today.
    granularity : {"day", "none", "second", "minute", "hour", "week", "month", "quarter", "year"}
        Bucket size; ``"none"`` gives one row (per dimension combination) for the whole range.
    dimensions : str or list of str, optional
        Up to 5 dimension ids (``"utm_source"``...): further index levels after ``dt``.
    filters : dict or list of dict, optional
        Canonical filter: ``{"field": "orders.customer_type", "op": "equals", "value":
        "new_customer"}``, ``{"and": [...]}`` or ``{"or": [...]}``; a list means ``and``. See
        :func:`upstack_pandas.filters` for the fields and their operators.
    compare : bool or (start, end), default True
        ``True``: also fetch the preceding period of equal length; ``False``: no compare period;
        a ``(start, end)`` pair: that period (it must not overlap the date range). The compare
        frame is ``df.upstack.compare``.
    timezone : str, optional
        IANA timezone the dates and buckets are in (default ``"UTC"``); the index is tz-aware in
        it.
    pacing : bool, default False
        Ask for ``pacedSum`` (the total projected to the end of the current bucket) in the
        metadata when the range reaches into the current period.
    order_settings : dict or OrderSettings, optional
        Order settings for this request, replacing the account's (``countPendingOrders``,
        ``countVoidedOrders``, ``refundDateAttribution``, ``exclusionFilters``); an
        ``up.OrderSettings`` (e.g. from ``up.account.order_settings()``) works too.
    view_filters : list of dict, optional
        ``viewFilters``: up to 100 view filter objects, sent as given (their shape is not
        documented; the API accepts and stores them).
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
    chunks : str or int, optional
        Fetch the range in windows of this many days (``"90D"``, ``"26W"``, ``90``),
        concurrently; windows are cut at bucket boundaries, and the result is identical to a
        single request. Useful for long ranges of fine buckets on a slow server. ``"auto"``:
        windows of 90 days only when this client's measured round trips predict they are
        faster than one request (``attrs["upstack"]["chunks"]["auto"]`` says why).
    max_workers : int, default 4
        Concurrent requests when ``chunks`` is given.
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
        Index ``dt`` (tz-aware, in ``timezone``), or ``(dt, *dimensions)``; no ``dt`` when
        granularity is ``"none"``. One ``float64`` column per measure id, in the order asked.
        ``df.attrs["upstack"]`` holds the request, the catalog entries and the response's
        per-measure totals; ``df.upstack`` reads them.

    Raises
    ------
    ValueError, TypeError
        For invalid arguments (unknown measure names list the closest catalog ids), before any
        request is sent.
    upstack_pandas.UpstackError
        When the API refuses the request or cannot be reached.

    Examples
    --------
    >>> import upstack_pandas as up
    >>> df = up.read_upstack(["NC ROAS", "orders.orders"], "2026-04-01", "2026-04-30",
    ...                      dimensions="channel", timezone="America/New_York")  # doctest: +SKIP
    >>> df.upstack.summary()  # doctest: +SKIP
    """
    if profiles is not None:  # one read per profile, concatenated by pixel
        return read_pixels(read_upstack, profiles, locals())
    return read_query(locals())


def query_arguments(
    measures: str | Sequence[str], start: Any, end: Any, **given: Any
) -> dict[str, Any]:
    """:func:`read_upstack`'s arguments by name, its defaults filled in, for :func:`read_query`.

    Parameters
    ----------
    measures, start, end
        As :func:`read_upstack`'s.
    **given
        Any of its keyword arguments.

    Returns
    -------
    dict
        Every parameter of :func:`read_upstack` by name.

    Raises
    ------
    TypeError
        For a name that is not one of its parameters, as a call would.
    """
    bound = inspect.signature(read_upstack).bind(measures, start, end, **given)
    bound.apply_defaults()
    return dict(bound.arguments)


def read_query(arguments: Mapping[str, Any], *, attrs: bool = True) -> pd.DataFrame:
    """:func:`read_upstack` of ``arguments`` (its parameters by name; ``profiles`` None).

    The library's own entry (``up.sync`` windows, the Dask reader's partitions): with
    ``attrs=False`` the frame carries no ``attrs["upstack"]``: no scope is computed and no
    compare frame encoded (the metadata is built only for its warnings); the checks, requests,
    dtypes and ``dtype_backend=`` are those of :func:`read_upstack`, so the frame is the same
    but for its attrs.

    Parameters
    ----------
    arguments : mapping
        Every parameter of :func:`read_upstack` by name (its ``locals()`` on entry, or
        :func:`query_arguments`).
    attrs : bool, default True
        Attach ``attrs["upstack"]`` (with its scope) as :func:`read_upstack` does.

    Returns
    -------
    pandas.DataFrame
        :func:`read_upstack`'s frame; without ``attrs`` when ``attrs=False``.
    """
    measures, start, end = arguments["measures"], arguments["start"], arguments["end"]
    dtypes: DtypesArg = arguments["dtypes"]
    names = ("granularity", "dimensions", "filters", "compare", "timezone", "pacing",
             "order_settings", "view_filters")  # fmt: skip
    options = {k: arguments[k] for k in names}
    query = Query.build(measures, start, end, **options)
    window_days, auto = check_window_days(arguments["chunks"])
    max_workers = check_positive_int(arguments["max_workers"], "max_workers", MAX_WORKERS)
    backend = check_dtype_backend(arguments["dtype_backend"])
    read = Read(ReadOptions(client=arguments["client"], refresh=arguments["refresh"],
                            progress=arguments["progress"]))  # fmt: skip
    ids = read.measures(query.measures, context="query", dtypes=dtypes, dimensions=query.dimensions)
    on_server = server_range(read, start, end, query.timezone)  # after the catalog's response
    if on_server is not None and on_server != query.range:
        query = Query.build(measures, *on_server, **options)
    query = replace(query, measures=ids)
    request = query.body(read.client.pixel_id)
    extra: dict[str, Any] = {}
    memo: Memoised | None = None
    days = window_days if query.granularity != "none" else None  # "none": one bucket, one request
    auto_reason: dict[str, str] = {}
    if days is not None and auto:  # windows only when the round trips say they pay
        advice = advise(read, query, window_days=days, max_workers=max_workers)
        auto_reason = {"auto": advice.reason}
        if not advice.split:
            extra["chunks"] = {"days": days, "windows": 1, "requests": 1, **auto_reason}
            days = None
    if days is not None:
        chunked = read_chunked(
            read, query, query_shape, window_days=days, max_workers=max_workers
        )
        primary, details = chunked.primary, chunked.details
        compare_frame: pd.DataFrame | dict[str, str] | None = (
            chunked.compare if query.compare else None
        )
        extra["chunks"] = {**chunked.info, **auto_reason}
    else:
        response = read.send(query.path, request)
        observe(read, query, response)
        memo = Memoised(read.client, query, response)
        primary, compare_frame, details = memo.frames
    plain = dtypes is None and backend is None  # the scope memoised is that of the plain frame
    frame = read.finish(
        primary,
        ids=ids,
        dtypes=dtypes,
        dtype_backend=backend,
        endpoint=query.path,
        request=request,
        timezone=query.timezone,
        granularity=query.granularity,
        dimensions=query.dimensions,
        date_range=query.range,
        compare_range=query.compare,
        details=details,
        compare=compare_frame,
        scope=memo.scope if memo is not None and plain else None,
        attrs=attrs,
        **extra,
    )
    if memo is not None:
        memo.keep(metadata.get(frame) if plain else None)
    return frame


def decode_query(
    query: Query, response: ApiResponse
) -> tuple[pd.DataFrame, pd.DataFrame, dict[str, wire.MeasureDetail]]:
    """The primary and compare frames, and the per-measure details, of one ``/query`` response."""
    spec = query_spec_of(query)
    decoded: _decode.Decoded = decode_response(response, spec, query_shape(query))
    primary, compare = query_frames_of(query, decoded)
    return primary, compare, first_details(decoded)


def query_shape(query: Query) -> wire.Shape:
    """What a ``/query`` response promises: one result; without dimensions, every bucket once."""
    timed = query.granularity != "none"
    rows: dict[str, int] = {}
    if not query.dimensions:
        for kind, range_ in ((wire.PRIMARY, query.range), (wire.COMPARE, query.compare)):
            count = bucket_count(range_, query.granularity) if range_ else None
            if count is not None:
                rows[kind] = count
    required = (wire.PRIMARY, wire.COMPARE) if query.compare else (wire.PRIMARY,)
    return wire.Shape(
        results=1,
        rows=rows,
        required=required,
        dt=timed,
        distinct_dt=timed and not query.dimensions,
    )


class Memoised:
    """:func:`decode_query` of one response through the client's memo (:mod:`.._frames.memo`).

    ``frames`` is the primary frame, the compare frame already encoded for the attrs (None
    without a compare period) and the details; ``scope`` the finished plain frame's scope (no
    ``dtypes=``/``dtype_backend=``), when known. A cache hit skips decoding, encoding and the
    scope (in memory, or from the memo's files beside the cache); after a miss, :meth:`keep`
    stores them.
    """

    def __init__(self, client: Client, query: Query, response: ApiResponse) -> None:
        self.memo = memo_of(client)
        self.key = (
            response_identity(response),
            tuple(query.measures),
            tuple(query.dimensions),
            query.granularity,
            query.timezone,
            query.range,  # the scope clips the rows' days to the range asked for
            query.compare is not None,
        )
        found = self.memo.get(self.key)
        self.hit = found is not None
        if found is None:
            primary, compare, details = decode_query(query, response)
            encoded = metadata.encode_frame(compare) if query.compare else None
            found = (primary, encoded, details, None)
        self.frames: tuple[pd.DataFrame, dict[str, str] | None, dict[str, wire.MeasureDetail]] = (
            found[:3]
        )
        self.scope: dict[str, Any] | None = found[3]

    def keep(self, meta: Mapping[str, Any] | None) -> None:
        """After a miss, store the frames, and the scope of ``meta`` (None: not a plain read)."""
        if not self.hit:
            scope = meta.get("scope") if meta is not None else None
            self.memo.put(self.key, (*self.frames, scope))
