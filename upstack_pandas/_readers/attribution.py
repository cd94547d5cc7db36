"""``read_attribution``: attributed conversions per touchpoint value (one request per model)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from typing import TYPE_CHECKING, Any

import pandas as pd

from upstack_pandas import metadata
from upstack_pandas._frames import builders as frames
from upstack_pandas._query.checks import ATTRIBUTION_MODELS, CompareArg, DateLike, names
from upstack_pandas._query.models import AttributionQuery
from upstack_pandas._readers.pipeline import (
    DtypesArg,
    apply_dtypes,
    check_dtypes,
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
    dtypes: DtypesArg = None,
    client: Client | None = None,
    refresh: bool = False,
    progress: bool | None = None,
) -> pd.DataFrame:
    models = names(model, "models", minimum=1, maximum=len(ATTRIBUTION_MODELS))
    queries = [
        AttributionQuery.build(
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
        )
        for m in models
    ]
    client = resolve_client(client)
    catalog = get_catalog(client)
    ids = catalog.resolve(queries[0].measures or (), context="attribution")
    catalog.check_dimensions([queries[0].dimension], ids)
    check_dtypes(dtypes, ids)
    queries = [replace(q, measures=ids) for q in queries]
    first = queries[0]
    granular = first.granularity != "none"
    spec = frames.attribution_spec(ids, granular)
    kinds = ("primary", "compare") if first.compare else ("primary",)
    parts: dict[str, list[pd.DataFrame]] = {kind: [] for kind in kinds}
    responses: list[ApiResponse] = []
    bodies: list[dict[str, Any]] = []
    results: list[dict[str, Any]] = []
    with Progress(
        len(queries) if len(queries) > 1 else None,
        desc="attribution",
        enabled=progress if len(queries) > 1 else False,
    ) as bar:
        for q in queries:
            body = q.body(client.pixel_id)
            response = client.post(q.path, body, refresh=refresh)
            decoded = decode_response(response, spec)
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
            responses.append(response)
            bodies.append(body)
            results.extend(decoded.results)
            bar.update()
    meta = metadata.build(
        endpoint=first.path,
        request=bodies[0] if len(bodies) == 1 else {**bodies[0], "attributionModel": list(models)},
        fetched_at=min(r.fetched_at for r in responses),
        from_cache=all(r.from_cache for r in responses),
        timezone=first.timezone,
        granularity=first.granularity,
        dimensions=[first.dimension],
        date_range=range_json(first.range),
        compare_date_range=range_json(first.compare),
        measures=entries(catalog, ids, summed_details(results, ids) if len(queries) == 1 else {}),
        compare=_by_model(parts["compare"], models) if first.compare else None,
        attributionModel=models[0] if len(models) == 1 else None,
        attributionModels=list(models),
        attributionWindow=first.window,
    )
    return apply_dtypes(metadata.attach(_by_model(parts["primary"], models), meta), dtypes, ids)


def _by_model(parts: Sequence[pd.DataFrame], models: Sequence[str]) -> pd.DataFrame:
    """One model's frame as is; several under an outer ``attribution_model`` index level."""
    if len(parts) == 1:
        return parts[0]
    level = pd.Index(list(models), dtype=frames.resolve_dtype("attribution_model"))
    return pd.concat(parts, keys=level, names=["attribution_model"])


read_attribution.__doc__ = fill_doc(
    """Read attributed conversions per dimension value from ``/db-mgmt/api/query-attribution``.

    Parameters
    ----------
    dimension : str, default "utm_source"
        The dimension whose values get the credit (``utm_source``, ``channel``...).
    %start_end%
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
    %filters%
    %compare%
    %timezone%
    %dtypes%
    %client%
    %refresh%
    %progress%

    Returns
    -------
    pandas.DataFrame
        Index ``<dimension>`` (or ``(dt, <dimension>)``, with ``attribution_model`` outermost
        when several models are asked); one ``float64`` column per measure. ``attrs`` add
        ``attributionModel(s)`` and ``attributionWindow``; additive measures' sums over all
        values are in ``attrs["upstack"]["measures"]``.

    %raises%
    """,
    default="False",
)
