"""``read_cohorts``: cohort analysis from ``/db-mgmt/api/query-cohort-analysis``."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace
from typing import TYPE_CHECKING, Any

import pandas as pd

from upstack_pandas import metadata
from upstack_pandas._frames import builders as frames
from upstack_pandas._query.checks import DateLike
from upstack_pandas._query.models import CohortQuery
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
from upstack_pandas.catalog import get_catalog, resolve_client

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
    order_settings: Mapping[str, Any] | None = None,
    dtypes: DtypesArg = None,
    client: Client | None = None,
    refresh: bool = False,
) -> pd.DataFrame:
    query = CohortQuery.build(
        measures,
        start,
        end,
        granularity=granularity,
        filters=filters,
        timezone=timezone,
        order_settings=order_settings,
    )
    client = resolve_client(client)
    catalog = get_catalog(client)
    ids = catalog.resolve(query.measures, context="cohort")
    check_dtypes(dtypes, ids)
    query = replace(query, measures=ids)
    body = query.body(client.pixel_id)
    response = client.post(query.path, body, refresh=refresh)
    decoded = decode_response(response, frames.cohort_spec(ids))
    frame, sizes = frames.cohort_frame(decoded, measures=ids, timezone=query.timezone)
    meta = metadata.build(
        endpoint=query.path,
        request=body,
        fetched_at=response.fetched_at,
        from_cache=response.from_cache,
        timezone=query.timezone,
        granularity=query.granularity,
        dimensions=["cohort", "period"],
        date_range=range_json(query.range),
        compare_date_range=None,
        measures=entries(catalog, ids, result_details(decoded)),
        cohortSizes=sizes,
    )
    return apply_dtypes(metadata.attach(frame, meta), dtypes, ids)


read_cohorts.__doc__ = fill_doc(
    """Read a cohort analysis from ``/db-mgmt/api/query-cohort-analysis`` as a long frame.

    Parameters
    ----------
    measures : str or list of str, default "orders.cohort_retention_percent"
        Cohort measures by id or title (``orders.ltv_cohort_gross_revenue``,
        ``orders.customers_cohort``...).
    %start_end%
        The range selects cohorts by first-order date.
    granularity : {"month", "week", "year"}
        Cohort and period size.
    %filters%
    %timezone%
    order_settings : dict, optional
        Query-level order settings.
    %dtypes%
    %client%
    %refresh%

    Returns
    -------
    pandas.DataFrame
        Index ``(cohort, period)``: ``cohort`` the tz-aware cohort start, ``period`` an
        ``int64`` number of periods since acquisition; one column per measure. Cohort sizes are
        in ``attrs["upstack"]["cohortSizes"]``; ``df.upstack.cohort_matrix()`` pivots to cohort
        rows by period columns.

    %raises%
    """
)
