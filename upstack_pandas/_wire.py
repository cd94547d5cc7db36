"""The wire seam: every response field name the client reads, and the normalisers that use them.

This module is the one place that knows how the Upstack Data API spells its responses. The rest
of the client sees internal records instead:

- the envelope of an analytics response: :func:`results` (``results``), the per-kind data arrays
  of each result (``data.primary`` / ``data.compare``, see :data:`DATA_KINDS`), located in the raw
  bytes by :data:`DATA_ARRAY` for the sliced decoder;
- data-point keys: :data:`DT`, :data:`COHORT`, :data:`PERIOD`, :data:`COHORT_SIZE`;
- per-measure totals (``measureDetails``) as :class:`MeasureDetail` records
  (:func:`measure_details`); :mod:`upstack_pandas.metadata` alone maps them to the attrs schema;
- the attributed value of an attribution result (``dimensionFilters``, :func:`dimension_value`),
  a channel entity's fields (``basicDetails``, :func:`entity`), and paging
  (``pagination``, :class:`Page`; :class:`PageTrail` refuses pages that contradict each other);
- the shapes responses promise (:class:`Shape`, :func:`shape_problem`): how many results, how
  many rows of each data array (every bucket of the range), ``dt`` on every row, numbers or
  null as values; a body that breaks them is refused (``TransportError``, never cached) instead
  of becoming an empty or garbled frame;
- the catalog envelopes (``measures``, ``dimensions``, ``filters``, ``id``: :func:`catalog_lists`,
  :func:`filter_list`), and the cache's "is this answer still pacing" probe
  (:data:`HAS_PACING_TRUE`).

Adding a renamed field for a newer API build is a change to this module only: accept the new
spelling next to the old one in the normaliser that reads it (e.g. ``detail.get("newName",
detail.get("oldName"))`` in :func:`measure_details`, or a second alternative in
:data:`DATA_ARRAY`), and every reader, the metadata and the cache follow. Nothing here imports
pandas or the rest of the package, so any layer may use it.

Request bodies are not read here: they are written by :mod:`upstack_pandas._query.models`.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

__all__ = [
    "CATALOG_MEASURES",
    "COHORT",
    "COHORT_SIZE",
    "COMPARE",
    "DATA",
    "DATA_ARRAY",
    "DATA_KINDS",
    "DT",
    "FILTERS",
    "HAS_PACING_TRUE",
    "PERIOD",
    "PRIMARY",
    "RESULTS",
    "BlockFacts",
    "MeasureDetail",
    "Page",
    "PageTrail",
    "Shape",
    "array_placeholder",
    "catalog_lists",
    "dimension_value",
    "entity",
    "entry_id",
    "filter_list",
    "measure_details",
    "page",
    "quoted_value",
    "result_data",
    "results",
    "shape_problem",
    "unapplied_filters",
]

# ------------------------------------------------------------------------------------ envelope

#: Top-level list of an analytics response: one entry per query, attributed value or entity.
RESULTS = "results"
#: Each result's object holding its data-point arrays.
DATA = "data"
PRIMARY = "primary"
COMPARE = "compare"
#: The data-point arrays of a result: the date range's and the compare range's.
DATA_KINDS: tuple[str, str] = (PRIMARY, COMPARE)
#: Where a data-point array starts in the raw body (the sliced decoder cuts there).
DATA_ARRAY = re.compile(rb'"(' + b"|".join(k.encode() for k in DATA_KINDS) + rb')"\s*:\s*\[\s*')

# ------------------------------------------------------------------------------- data points

#: Bucket start of a data point (ISO 8601).
DT = "dt"
#: Cohort start and periods since acquisition (cohort analysis data points).
COHORT = "cohort"
PERIOD = "period"
#: Customers in a cohort (cohort analysis data points).
COHORT_SIZE = "cohortSize"

#: A response whose totals are still pacing (the current bucket is not over).
HAS_PACING_TRUE = re.compile(rb'"hasPacing"\s*:\s*true')


def array_placeholder(kind: str, index: int) -> bytes:
    """The envelope text standing in for data array ``index`` of ``kind`` (sliced decoding)."""
    return b'"%s":%d' % (kind.encode(), index)


def results(body: Any) -> list[dict[str, Any]] | None:
    """The ``results`` list of a decoded body; None unless it is a list of objects."""
    found = body.get(RESULTS) if isinstance(body, dict) else None
    if not isinstance(found, list) or not all(isinstance(r, dict) for r in found):
        return None
    return found


def result_data(result: dict[str, Any]) -> dict[str, Any]:
    """A result's data-array object (created empty when the result has none)."""
    data = result.get(DATA)
    if not isinstance(data, dict):
        data = {}
        result[DATA] = data
    return data


# ---------------------------------------------------------------------------------- shapes


@dataclass(frozen=True)
class Shape:
    """What an analytics response must hold for the frame asked of it.

    Attributes
    ----------
    results
        Exactly this many results (``/query`` and cohorts: 1); None: any number.
    rows
        Data array kind → the exact number of rows it must have (``/query`` without dimensions:
        one per bucket of the range); kinds not listed may have any number.
    required
        Data array kinds that must be sent as arrays (``primary``; ``compare`` when asked for).
    dt
        Every row carries a readable ``dt``; without dimensions, each bucket once.
    distinct_dt
        No ``dt`` repeats within one array (no dimensions: one row per bucket).
    """

    results: int | None = None
    rows: Mapping[str, int] | None = None
    required: tuple[str, ...] = (PRIMARY,)
    dt: bool = False
    distinct_dt: bool = False


@dataclass(frozen=True)
class BlockFacts:
    """What the decoder saw of one data array (counts; the decoder makes no decisions)."""

    array: str  # "list", "missing" or "not a list"
    rows: int
    not_objects: int = 0
    not_numbers: int = 0
    missing_dt: int = 0
    repeated_dt: int = 0


def quoted_value(content: bytes, keys: tuple[str, ...]) -> str | None:
    """The first of ``keys`` sent with a string value (``"orders.orders": "12"``) in a body.

    Numbers sent as strings would be read as numbers by the decoder, so they are looked for in
    the raw bytes (one regular-expression scan). Returns the key, or None.
    """
    if not keys:
        return None
    names = b"|".join(re.escape(k.encode()) for k in keys)
    found = re.search(rb'"(' + names + rb')"\s*:\s*"', content)
    return found.group(1).decode() if found else None


def shape_problem(shape: Shape, facts: list[dict[str, BlockFacts]]) -> str | None:
    """What is wrong with a response against the shape promised, or None.

    Parameters
    ----------
    shape
        What the request promises.
    facts
        One mapping per result: data array kind → what the decoder saw.

    Returns
    -------
    str or None
        The problem, worded for a ``TransportError`` ("expected ..., got ...").
    """
    if shape.results is not None and len(facts) != shape.results:
        what = "no results" if not facts else f"{len(facts)} results"
        return f"expected {shape.results} result{'s' * (shape.results != 1)} in {RESULTS!r}, got {what}"
    for index, result in enumerate(facts):
        where = f"{RESULTS}[{index}].{DATA}"
        for kind, fact in result.items():
            if kind in shape.required and fact.array != "list":
                return f"{where}.{kind} is {fact.array}, expected a list of data points"
            if fact.array == "not a list":
                return f"{where}.{kind} is not a list of data points"
            if fact.not_objects:
                return f"{where}.{kind} has {fact.not_objects} data points that are not objects"
            if fact.not_numbers:
                return (
                    f"{where}.{kind} has {fact.not_numbers} values that are neither numbers nor "
                    "null"
                )
            if shape.dt and fact.missing_dt:
                return f"{where}.{kind} has {fact.missing_dt} data points without a readable {DT!r}"
            if shape.distinct_dt and fact.repeated_dt:
                return f"{where}.{kind} repeats {fact.repeated_dt} buckets ({DT!r} seen twice)"
            expected = (shape.rows or {}).get(kind)
            if expected is not None and fact.array == "list" and fact.rows != expected:
                return (
                    f"{where}.{kind} has {fact.rows} data points, expected {expected} (one per "
                    "bucket of the range)"
                )
    return None


# ---------------------------------------------------------------------------- measure details


@dataclass
class MeasureDetail:
    """One measure's totals and flags from a result's ``measureDetails``.

    Values are as sent (numbers, or None when absent). ``paced_sum_sent`` says whether the
    response carried ``pacedSum`` at all (it does only for pacing requests). ``title`` ...
    ``currency`` override the catalog entry when the response sends them.
    """

    primary_sum: Any = None
    compare_sum: Any = None
    primary_avg: Any = None
    compare_avg: Any = None
    percent_diff: Any = None
    has_pacing: Any = None
    success: Any = None
    calculated_average: Any = None
    paced_sum: Any = None
    paced_sum_sent: bool = False
    title: Any = None
    short_title: Any = None
    description: Any = None
    format: Any = None
    is_average: Any = None
    is_percentage: Any = None
    preferred_trend_direction: Any = None
    currency: Any = None
    message: Any = None
    unapplied_filters: list[dict[str, Any]] = field(default_factory=list)


#: ``measureDetails`` field → :class:`MeasureDetail` attribute.
_DETAIL_KEYS = {
    "primarySum": "primary_sum",
    "compareSum": "compare_sum",
    "primaryAvg": "primary_avg",
    "compareAvg": "compare_avg",
    "percentDiff": "percent_diff",
    "hasPacing": "has_pacing",
    "success": "success",
    "calculatedAverage": "calculated_average",
    "pacedSum": "paced_sum",
    "title": "title",
    "shortTitle": "short_title",
    "description": "description",
    "format": "format",
    "isAverage": "is_average",
    "isPercentage": "is_percentage",
    "preferredTrendDirection": "preferred_trend_direction",
    "currency": "currency",
    "message": "message",
}


def measure_details(result: Mapping[str, Any] | None) -> dict[str, MeasureDetail]:
    """A result's ``measureDetails`` (a list of objects with ``measure``) by measure id.

    The first entry of a measure wins; entries without a string ``measure`` are ignored.
    """
    raw = result.get("measureDetails") if isinstance(result, Mapping) else None
    found: dict[str, MeasureDetail] = {}
    for item in raw if isinstance(raw, list) else []:
        if not isinstance(item, Mapping) or not isinstance(item.get("measure"), str):
            continue
        if item["measure"] in found:
            continue
        values = {attr: item[key] for key, attr in _DETAIL_KEYS.items() if key in item}
        found[item["measure"]] = MeasureDetail(**values, paced_sum_sent="pacedSum" in item)
    for condition in unapplied_filters(result):
        for mid in condition["measures"]:
            if mid in found:
                found[mid].unapplied_filters.append(
                    {k: condition[k] for k in ("field", "op", "message")}
                )
    return found


def unapplied_filters(result: Mapping[str, Any] | None) -> list[dict[str, Any]]:
    """A result's ``unappliedFilters``: conditions some measures were computed without.

    Each entry is ``{"field", "op", "measures", "message"}`` (missing keys become None, an
    empty list for ``measures``); malformed entries are ignored.
    """
    raw = result.get("unappliedFilters") if isinstance(result, Mapping) else None
    out: list[dict[str, Any]] = []
    for item in raw if isinstance(raw, list) else []:
        if not isinstance(item, Mapping):
            continue
        measures = item.get("measures")
        out.append(
            {
                "field": item.get("field"),
                "op": item.get("op"),
                "measures": [m for m in measures if isinstance(m, str)]
                if isinstance(measures, list)
                else [],
                "message": item.get("message"),
            }
        )
    return out


# ------------------------------------------------------------------ attribution, channels, pages


def dimension_value(result: Mapping[str, Any], dimension: str) -> Any:
    """The dimension value an attribution result is about (its ``dimensionFilters``)."""
    filters = result.get("dimensionFilters")
    if isinstance(filters, list):
        for group in filters:
            for item in group if isinstance(group, list) else [group]:
                if isinstance(item, dict) and item.get("dimension") in (
                    dimension,
                    None,
                    "<string>",
                ):
                    return item.get("value")
    return result.get(dimension)


def entity(result: Mapping[str, Any]) -> dict[str, Any]:
    """A channel-details result's entity fields (``basicDetails``: ``id``, ``name``...)."""
    found = result.get("basicDetails")
    return found if isinstance(found, dict) else {}


@dataclass(frozen=True)
class Page:
    """Where a paginated response sits: ``total`` entities, this page from ``offset``."""

    total: int | None
    offset: int | None
    has_more: bool


def page(body: Any) -> Page:
    """The ``pagination`` of a decoded body (missing or odd fields become None / False)."""
    found = body.get("pagination") if isinstance(body, dict) else None
    found = found if isinstance(found, dict) else {}
    total, offset = found.get("total"), found.get("offset")
    return Page(
        total=total if isinstance(total, int) else None,
        offset=offset if isinstance(offset, int) else None,
        has_more=bool(found.get("hasMore")),
    )


class PageTrail:
    """The pages of one paginated read so far, and what would make them contradict each other.

    An empty page must not say ``hasMore``, no entity
    (``basicDetails.id``) may appear twice (a repeated page), ``total`` must not change, and the
    entities received must add up to ``total`` when the last page says so.
    """

    def __init__(self) -> None:
        self.received = 0
        self.total: int | None = None
        self._ids: set[Any] = set()

    def add(self, sent_offset: int, found: Page, results: list[dict[str, Any]]) -> str | None:
        """Record one page; return the contradiction it shows, or None."""
        if found.total is not None:
            if self.total is not None and found.total != self.total:
                return f"pagination.total changed from {self.total} to {found.total} between pages"
            self.total = found.total
        if not results and found.has_more:
            return f"an empty page at offset {sent_offset} says hasMore"
        for result in results:
            key = entity(result).get("id")
            if key is None:
                continue
            if key in self._ids:
                return f"entity {key!r} appears twice (a repeated page at offset {sent_offset})"
            self._ids.add(key)
        self.received += len(results)
        if self.total is not None:
            if found.has_more and self.received >= self.total:
                return f"hasMore after all {self.total} entities of pagination.total arrived"
            if not found.has_more and self.received != self.total:
                return (
                    f"the pages hold {self.received} entities, pagination.total says {self.total}"
                )
        return None


# ------------------------------------------------------------------------------------ catalog

#: Key of the measures list in ``GET /db-mgmt/api/measures`` (its presence is checked).
CATALOG_MEASURES = "measures"
#: Key of the filters list in ``GET /db-mgmt/api/filters``.
FILTERS = "filters"


def catalog_lists(body: Any) -> tuple[list[Any], list[Any]]:
    """The measures and dimensions lists of a catalog body (empty when missing)."""
    if not isinstance(body, Mapping):
        return [], []
    return list(body.get(CATALOG_MEASURES) or []), list(body.get("dimensions") or [])


def filter_list(body: Mapping[str, Any]) -> list[Any]:
    """The filters list of a filters body."""
    return list(body[FILTERS])


def entry_id(entry: Any) -> str | None:
    """A catalog entry's ``id`` (measures, dimensions and filters), or None."""
    if isinstance(entry, Mapping) and entry.get("id"):
        return str(entry["id"])
    return None
