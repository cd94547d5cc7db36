"""What the compilers share: their :class:`Context`, and the request fields of every endpoint.

Bodies arrive structurally valid (the HTTP layer checks them against the OpenAPI file); this
module checks meaning: known measure ids valid in the endpoint's context, supported dimensions,
real dates in order, non-overlapping compare periods, known timezones, order settings.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import duckdb

from upstack_pandas.emulator.engine.catalog import Catalog, Measure
from upstack_pandas.emulator.engine.errors import QueryError, UnknownMeasureError, fail
from upstack_pandas.emulator.engine.filters import Params
from upstack_pandas.emulator.engine.time import (
    GRANULARITIES,
    Buckets,
    Period,
    parse_period,
    parse_timezone,
    preceding,
)


@dataclass(frozen=True)
class Context:
    """What a compiler answers one request with (every compiler takes it and the body).

    Attributes
    ----------
    cursor
        A DuckDB cursor of the store, for this request alone.
    catalog
        The catalog.
    available
        Store tables holding data: measures needing another are ``success: false``, attribution
        without sessions credits every order to ``(direct)``, channel details without ad spend
        list nothing.
    now
        The emulated now: pacing, and which cohort periods have started.
    """

    cursor: duckdb.DuckDBPyConnection
    catalog: Catalog
    available: frozenset[str]
    now: datetime


@dataclass(frozen=True)
class Requested:
    """A measure as requested: the catalog entry and whether pacing was asked for."""

    measure: Measure
    pacing: bool = False


def measures_of(
    items: Any, catalog: Catalog, context: str, path: str = "measures"
) -> list[Requested]:
    """Resolve requested measures (objects ``{"measure", "pacing"}`` or plain id strings).

    Parameters
    ----------
    items
        The body's ``measures`` array.
    catalog
        The catalog.
    context
        The endpoint context the measures must be valid in.
    path
        The array's path in the body.

    Returns
    -------
    list of Requested
        The measures in request order; all problems are reported in one :class:`QueryError`.
    """
    if not isinstance(items, list) or not items:
        raise fail(path, "At least one measure is required.")
    out: list[Requested] = []
    errors: list[dict[str, str]] = []
    seen: set[str] = set()
    for i, item in enumerate(items):
        is_obj = isinstance(item, dict)
        mid = item.get("measure") if is_obj else item
        where = f"{path}.{i}.measure" if is_obj else f"{path}.{i}"
        try:
            measure = catalog.measure(str(mid), path=where)
        except UnknownMeasureError as exc:
            errors.extend(exc.errors)
            continue
        if context not in measure.contexts:
            errors.append(
                {
                    "path": where,
                    "message": f"Measure {measure.id!r} is not valid in the {context!r} "
                    f"context (valid in: {', '.join(measure.contexts)}).",
                }
            )
        elif measure.id in seen:
            errors.append({"path": where, "message": f"Measure {measure.id!r} is requested twice."})
        seen.add(measure.id)
        out.append(Requested(measure, bool(item.get("pacing", False)) if is_obj else False))
    if errors:
        raise QueryError(
            errors[0]["message"]
            if len(errors) == 1
            else f"{len(errors)} problems with the requested measures: {errors[0]['message']}",
            errors,
        )
    return out


def check_dimensions(
    dims: Any, measures: list[Requested], catalog: Catalog, path: str = "dimensions"
) -> list[str]:
    """Check dimension ids exist, are not repeated, and are supported by every measure."""
    dims = list(dims or [])
    for j, dim in enumerate(dims):
        if dim not in catalog.dimensions:
            raise fail(
                f"{path}.{j}",
                f"Unknown dimension {dim!r} (known: {', '.join(catalog.dimensions)}).",
            )
        if dims.index(dim) != j:
            raise fail(f"{path}.{j}", f"Dimension {dim!r} is listed twice.")
        for r in measures:
            if dim not in r.measure.dimensions:
                supported = ", ".join(r.measure.dimensions) or "none"
                raise fail(
                    f"{path}.{j}",
                    f"Measure {r.measure.id!r} does not support dimension {dim!r} "
                    f"(it supports: {supported}).",
                )
    return [str(d) for d in dims]


def granularity_of(
    body: dict[str, Any], allowed: tuple[str, ...] = GRANULARITIES, default: str | None = None
) -> str:
    """The body's granularity, checked against ``allowed``."""
    value = body.get("granularity", default)
    if value not in allowed:
        raise fail("granularity", f"Invalid granularity {value!r} (allowed: {', '.join(allowed)}).")
    return str(value)


def timezone_of(body: dict[str, Any]) -> ZoneInfo:
    """The body's IANA timezone (``UTC`` when absent)."""
    return parse_timezone(body.get("timezone"))


def buckets_of(body: dict[str, Any], default: str | None = None) -> Buckets:
    """The body's bucketing: its granularity (``default`` when absent) in its timezone."""
    tz = timezone_of(body)
    return Buckets(granularity_of(body, default=default), tz)


def periods_of(
    body: dict[str, Any], buckets: Buckets, *, auto_compare: bool = True
) -> tuple[Period, Period | None]:
    """Primary and compare periods of a request.

    Parameters
    ----------
    body
        The request body (``dateRange`` required, ``compareDateRange`` optional).
    buckets
        The request's bucketing: its timezone places the dates, and the bucket count of each
        period is limited.
    auto_compare
        Whether an omitted ``compareDateRange`` means the preceding period (granularity ≠
        ``none``); an explicit ``null`` always means no compare period.

    Returns
    -------
    tuple
        ``(primary, compare or None)``.
    """
    tz = buckets.tz
    if body.get("dateRange") is None:
        raise fail("dateRange", "dateRange is required.")
    primary = parse_period(body["dateRange"], "dateRange", tz)
    compare: Period | None = None
    if body.get("compareDateRange") is not None:
        compare = parse_period(body["compareDateRange"], "compareDateRange", tz)
        if compare.overlaps(primary):
            raise fail(
                "compareDateRange",
                f"compareDateRange {compare.start}..{compare.end} overlaps "
                f"dateRange {primary.start}..{primary.end}; it must not.",
            )
    elif auto_compare and "compareDateRange" not in body and buckets.granularity != "none":
        compare = preceding(primary, tz)
    buckets.check(primary)
    if compare is not None:
        buckets.check(compare)
    return primary, compare


def status_sql(body: dict[str, Any], params: Params) -> str:
    """The condition on ``status`` selecting the orders counted under ``orderSettings``.

    Paid orders always count; pending and voided ones only when ``countPendingOrders`` /
    ``countVoidedOrders`` is true (both default to false, as the account-level defaults).
    """
    settings = body.get("orderSettings") or {}
    if not isinstance(settings, dict):
        raise fail("orderSettings", "orderSettings must be an object.")
    statuses = ["paid"]
    if settings.get("countPendingOrders", False):
        statuses.append("pending")
    if settings.get("countVoidedOrders", False):
        statuses.append("voided")
    return f"status IN ({', '.join(params.add(s) for s in statuses)})"


def computable(requested: list[Requested], ctx: Context) -> list[Measure]:
    """The requested measures whose source tables all hold data (the others are ``success: false``)."""
    return [
        r.measure
        for r in requested
        if all(ctx.catalog.sources[s].requires in ctx.available for s in r.measure.sources)
    ]
