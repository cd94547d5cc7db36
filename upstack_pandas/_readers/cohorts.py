"""``read_cohorts``: cohort analysis from ``/db-mgmt/api/query-cohort-analysis``.

What differs from the shared pipeline (:mod:`.pipeline`): the cohort request model, the long
``(cohort, period)`` frame, and the cohort sizes kept in the metadata.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace
from typing import TYPE_CHECKING, Any

import pandas as pd

from upstack_pandas._frames import builders as frames
from upstack_pandas._frames.backends import check_dtype_backend
from upstack_pandas._profiles import ProfilesArg
from upstack_pandas._query.checks import DateLike
from upstack_pandas._query.models import CohortQuery, OrderSettingsLike
from upstack_pandas._readers.pipeline import (
    DtypesArg,
    Read,
    ReadOptions,
    first_details,
    server_range,
)
from upstack_pandas._readers.pixels import read_pixels

if TYPE_CHECKING:
    from upstack_pandas._transport.client import Client

__all__ = ["read_cohorts"]


def read_cohorts(
    measures: str | Sequence[str] = "orders.cohort_retention_percent",
    start: DateLike | None = None,
    end: DateLike | None = None,
    *,
    granularity: str = "month",
    filters: Any = None,
    timezone: str | None = None,
    order_settings: Mapping[str, Any] | OrderSettingsLike | None = None,
    view_filters: Sequence[Mapping[str, Any]] | None = None,
    dtypes: DtypesArg = None,
    dtype_backend: str | None = None,
    client: Client | None = None,
    refresh: bool = False,
    profiles: ProfilesArg = None,
) -> pd.DataFrame:
    """Read a cohort analysis from ``/db-mgmt/api/query-cohort-analysis`` as a long frame.

    Parameters
    ----------
    measures : str or list of str, default "orders.cohort_retention_percent"
        Cohort measures by id or title (``orders.ltv_cohort_gross_revenue``,
        ``orders.customers_cohort``...).
    start, end : str, date, datetime or Timestamp, optional
        First and last day, inclusive, in the query timezone (``"2026-04-01"``,
        ``datetime.date(2026, 4, 1)``...). Defaults: the last 30 days, ending today.
        The range selects cohorts by first-order date.
    granularity : {"month", "week", "year"}
        Cohort and period size.
    filters : dict or list of dict, optional
        Canonical filter: ``{"field": "orders.customer_type", "op": "equals", "value":
        "new_customer"}``, ``{"and": [...]}`` or ``{"or": [...]}``; a list means ``and``. See
        :func:`upstack_pandas.filters` for the fields and their operators.
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
    profiles : str or list of str, optional
        Config-file profiles to read instead of ``client=`` (see
        :func:`upstack_pandas.profiles`): one client each, several read in parallel, the frames
        concatenated with ``pixel`` (the pixel id) as the outermost index level.

    Returns
    -------
    pandas.DataFrame
        Index ``(cohort, period)``: ``cohort`` the tz-aware cohort start, ``period`` an
        ``int64`` number of periods since acquisition; one column per measure. Cohort sizes are
        in ``attrs["upstack"]["cohortSizes"]``; ``df.upstack.cohort_matrix()`` pivots to cohort
        rows by period columns.

    Raises
    ------
    ValueError, TypeError
        For invalid arguments (unknown measure names list the closest catalog ids), before any
        request is sent.
    upstack_pandas.UpstackError
        When the API refuses the request or cannot be reached.
    """
    if profiles is not None:  # one read per profile, concatenated by pixel
        return read_pixels(read_cohorts, profiles, locals())
    arguments: dict[str, Any] = {
        "granularity": granularity,
        "filters": filters,
        "timezone": timezone,
        "order_settings": order_settings,
        "view_filters": view_filters,
    }
    query = CohortQuery.build(measures, start, end, **arguments)
    backend = check_dtype_backend(dtype_backend)
    read = Read(ReadOptions(client=client, refresh=refresh))
    ids = read.measures(query.measures, context="cohort", dtypes=dtypes)
    on_server = server_range(read, start, end, query.timezone)  # after the catalog's response
    if on_server is not None and on_server != query.range:
        query = CohortQuery.build(measures, *on_server, **arguments)
    query = replace(query, measures=ids)
    body = query.body(read.client.pixel_id)
    _, decoded = read.fetch(query.path, body, frames.cohort_spec(ids))
    frame, sizes = frames.cohort_frame(decoded, measures=ids, timezone=query.timezone)
    return read.finish(
        frame,
        ids=ids,
        dtypes=dtypes,
        dtype_backend=backend,
        endpoint=query.path,
        request=body,
        timezone=query.timezone,
        granularity=query.granularity,
        dimensions=["cohort", "period"],
        date_range=query.range,
        compare_range=None,
        details=first_details(decoded),
        cohortSizes=sizes,
    )
