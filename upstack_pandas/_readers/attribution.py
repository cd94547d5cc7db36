"""``read_attribution``: attributed conversions per touchpoint value (one request per model).

What differs from the shared pipeline (:mod:`.pipeline`): one request per attribution model
(an outer ``attribution_model`` level when several), one result per dimension value, and
whole-frame totals summed from the per-value details.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace
from typing import TYPE_CHECKING, Any

import pandas as pd

from upstack_pandas import _wire as wire
from upstack_pandas._frames import builders as frames
from upstack_pandas._frames.backends import check_dtype_backend
from upstack_pandas._profiles import ProfilesArg
from upstack_pandas._query.checks import ATTRIBUTION_MODELS, CompareArg, DateLike, names
from upstack_pandas._query.models import AttributionQuery, OrderSettingsLike
from upstack_pandas._readers.pipeline import (
    DtypesArg,
    Read,
    ReadOptions,
    server_range,
    summed_details,
)
from upstack_pandas._readers.pixels import read_pixels

if TYPE_CHECKING:
    from upstack_pandas._transport.client import Client

__all__ = ["read_attribution"]

DEFAULT_ATTRIBUTION_MEASURES = ("attribution.revenue", "attribution.orders")


def read_attribution(
    dimension: str = "utm_source",
    start: DateLike | None = None,
    end: DateLike | None = None,
    *,
    model: str | Sequence[str] = "first_click",
    window: int = 30,
    measures: str | Sequence[str] | None = None,
    granularity: str = "none",
    filters: Any = None,
    compare: CompareArg = False,
    timezone: str | None = None,
    order_settings: Mapping[str, Any] | OrderSettingsLike | None = None,
    view_filters: Sequence[Mapping[str, Any]] | None = None,
    dtypes: DtypesArg = None,
    dtype_backend: str | None = None,
    client: Client | None = None,
    refresh: bool = False,
    progress: bool | None = None,
    profiles: ProfilesArg = None,
) -> pd.DataFrame:
    """Read attributed conversions per dimension value from ``/db-mgmt/api/query-attribution``.

    Parameters
    ----------
    dimension : str, default "utm_source"
        The dimension whose values get the credit (``utm_source``, ``channel``...).
    start, end : str, date, datetime or Timestamp, optional
        First and last day, inclusive, in the query timezone (``"2026-04-01"``,
        ``datetime.date(2026, 4, 1)``...). Defaults: the last 30 days, ending today.
    model : {"first_click", "last_click", "any_click"} or list of them
        Attribution model; several models give an outer index level ``attribution_model``
        (one request each).
    window : {30, 1, 3, 7, 14, 60, 90}
        Lookback window in days.
    measures : str or list of str, optional
        Attribution measures by id or title; default ``attribution.revenue`` and
        ``attribution.orders``.
    granularity : str, default "none"
        ``"none"`` for one row per dimension value, or a bucket size for ``(dt, dimension)``.
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
        Index ``<dimension>`` (or ``(dt, <dimension>)``, with ``attribution_model`` outermost
        when several models are asked); one ``float64`` column per measure. ``attrs`` add
        ``attributionModel(s)`` and ``attributionWindow``; additive measures' sums over all
        values are in ``attrs["upstack"]["measures"]``.

    Raises
    ------
    ValueError, TypeError
        For invalid arguments (unknown measure names list the closest catalog ids), before any
        request is sent.
    upstack_pandas.UpstackError
        When the API refuses the request or cannot be reached.
    """
    if profiles is not None:  # one read per profile, concatenated by pixel
        return read_pixels(read_attribution, profiles, locals())
    models = names(model, "models", minimum=1, maximum=len(ATTRIBUTION_MODELS))

    def build(start: DateLike | None, end: DateLike | None) -> list[AttributionQuery]:
        return [_query(start, end, m) for m in models]

    def _query(start: DateLike | None, end: DateLike | None, m: str) -> AttributionQuery:
        return AttributionQuery.build(
            dimension,
            start,
            end,
            model=m,
            window=window,
            measures=measures or DEFAULT_ATTRIBUTION_MEASURES,
            granularity=granularity,
            compare=compare,
            filters=filters,
            timezone=timezone,
            order_settings=order_settings,
            view_filters=view_filters,
        )

    queries = build(start, end)
    backend = check_dtype_backend(dtype_backend)
    read = Read(ReadOptions(client=client, refresh=refresh, progress=progress))
    first = queries[0]
    ids = read.measures(
        first.measures or (), context="attribution", dtypes=dtypes, dimensions=[first.dimension]
    )
    on_server = server_range(read, start, end, first.timezone)  # after the catalog's response
    if on_server is not None and on_server != first.range:
        queries = build(*on_server)
    queries = [replace(q, measures=ids) for q in queries]
    first = queries[0]
    granular = first.granularity != "none"
    spec = frames.attribution_spec(ids, granular)
    kinds = wire.DATA_KINDS if first.compare else (wire.PRIMARY,)
    parts: dict[str, list[pd.DataFrame]] = {kind: [] for kind in kinds}
    bodies: list[dict[str, Any]] = []
    results: list[dict[str, Any]] = []
    several = len(queries) > 1
    with read.progress_bar(
        len(queries) if several else None, "attribution", enabled=several
    ) as bar:
        for q in queries:
            body = q.body(read.client.pixel_id)
            _, decoded = read.fetch(q.path, body, spec)
            for kind in kinds:
                parts[kind].append(
                    frames.attribution_frame(
                        decoded,
                        dimension=q.dimension,
                        measures=ids,
                        granular=granular,
                        timezone=q.timezone,
                        kind=kind,
                    )
                )
            bodies.append(body)
            results.extend(decoded.results)
            bar.update()
    return read.finish(
        _by_model(parts[wire.PRIMARY], models),
        ids=ids,
        dtypes=dtypes,
        dtype_backend=backend,
        endpoint=first.path,
        request=bodies[0] if not several else {**bodies[0], "attributionModel": list(models)},
        timezone=first.timezone,
        granularity=first.granularity,
        dimensions=[first.dimension],
        date_range=first.range,
        compare_range=first.compare,
        details=summed_details(results, ids) if not several else {},
        compare=_by_model(parts[wire.COMPARE], models) if first.compare else None,
        attributionModel=models[0] if not several else None,
        attributionModels=list(models),
        attributionWindow=first.window,
    )


def _by_model(parts: Sequence[pd.DataFrame], models: Sequence[str]) -> pd.DataFrame:
    """One model's frame as is; several under an outer ``attribution_model`` index level."""
    if len(parts) == 1:
        return parts[0]
    level = pd.Index(list(models), dtype=frames.resolve_dtype("attribution_model"))
    return pd.concat(parts, keys=level, names=["attribution_model"])
