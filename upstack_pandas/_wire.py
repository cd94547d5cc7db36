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
- the resource endpoints' envelopes and the fields read by name (account, order settings, cost
  configuration, product search pages, variants and their COG lines, resolved costs, events,
  dashboard-view lists: :func:`account`, :func:`order_settings`, :func:`cost_lines`,
  :func:`cursor_page`, :func:`product_variants`, :func:`product_cost`, :func:`event_answer`...);
  records the API owns whole (a cost line's fields) pass through as spelled (contract D98).

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
    "ACCOUNT",
    "CATALOG_MEASURES",
    "COHORT",
    "COHORT_SIZE",
    "COMPARE",
    "COST_CONFIG",
    "DASHBOARD_VIEWS",
    "DATA",
    "DATA_ARRAY",
    "DATA_KINDS",
    "DT",
    "FILTERS",
    "HAS_PACING_TRUE",
    "ITEMS",
    "NEXT_CURSOR",
    "ORDER_SETTINGS",
    "OVERRIDE_FIELDS",
    "PERIOD",
    "PERSON_FIELDS",
    "PRIMARY",
    "PRODUCT_COST",
    "RESULTS",
    "SHIPPING_FIELDS",
    "SUCCESS",
    "VARIANT",
    "AccountRecord",
    "BlockFacts",
    "CogRecord",
    "CursorPage",
    "MeasureDetail",
    "Page",
    "PageTrail",
    "ProductCost",
    "Shape",
    "VariantRecord",
    "account",
    "array_placeholder",
    "catalog_lists",
    "cost_lines",
    "cursor_page",
    "dimension_value",
    "entity",
    "entry_id",
    "error_entry",
    "event_answer",
    "filter_list",
    "global_product_override",
    "measure_details",
    "order_settings",
    "page",
    "product_cost",
    "product_variants",
    "quoted_value",
    "record_id",
    "result_data",
    "results",
    "shape_problem",
    "shipping_settings",
    "unapplied_filters",
    "variant",
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


# ------------------------------------------------------- account, costs, products, events
#
# The resource endpoints answer with one object under a documented key (``account``,
# ``orderSettings``, ``config``, ``productCost``, ``variant``, ``success``), or a page of
# ``items`` with a ``nextCursor``. The normalisers below read those envelopes and the fields
# the client reads by name; their records use the client's own names. Records the API owns
# whole (a cost line's fields, an exclusion filter, an owner's ``email``...) are passed on as
# the API spells them, because they are also what a write sends back (contract D98).

#: ``GET/PATCH /accounts/api/account``: the account object.
ACCOUNT = "account"
#: ``GET/PUT .../settings/order``: the order settings object.
ORDER_SETTINGS = "orderSettings"
#: ``/accounts/api/costs`` (every read and write): the cost configuration object.
COST_CONFIG = "config"
#: ``GET .../products/search``: one page of products, and the cursor of the next.
ITEMS = "items"
NEXT_CURSOR = "nextCursor"
#: ``GET .../products/{p}/{v}/cost``: the resolved cost of a variant.
PRODUCT_COST = "productCost"
#: Product writes (handling fee, COG lines): the variant after the change.
VARIANT = "variant"
#: ``POST /tr/api/events``: whether the events were queued.
SUCCESS = "success"
#: ``GET /db-mgmt/api/dashboard-views``: the view summaries.
DASHBOARD_VIEWS = "dashboardViews"
#: An owner's or admin's fields (passed on as spelled: the people frame's columns).
PERSON_FIELDS: tuple[str, str, str] = ("email", "firstName", "lastName")
#: The global product override's and the shipping settings' fields (passed on as spelled).
OVERRIDE_FIELDS: tuple[str, str, str] = ("defaultCogs", "globalHandlingFee", "currency")
SHIPPING_FIELDS: tuple[str, str, str] = ("method", "fixedRateAmount", "currency")


def _mapping(value: Any) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


def _records(value: Any) -> list[dict[str, Any]]:
    return [dict(v) for v in value if isinstance(v, Mapping)] if isinstance(value, list) else []


def record_id(record: Any) -> Any:
    """The ``id`` of a resource record (a cost line, a product, a variant, a COG line), or None."""
    return record.get("id") if isinstance(record, Mapping) else None


@dataclass(frozen=True)
class AccountRecord:
    """The ``account`` object: its name, creation time (ISO text as sent) and people."""

    name: str
    created_at: str | None
    owners: list[dict[str, Any]]
    admins: list[dict[str, Any]]
    subscription: Any


def account(record: Mapping[str, Any]) -> AccountRecord:
    """The ``account`` object of a response (``accountName``, ``createdAt``, ``owners``...)."""
    created = record.get("createdAt")
    return AccountRecord(
        name=str(record.get("accountName", "")),
        created_at=created if isinstance(created, str) and created else None,
        owners=_records(record.get("owners")),
        admins=_records(record.get("admins")),
        subscription=record.get("subscription"),
    )


def order_settings(record: Mapping[str, Any]) -> dict[str, Any]:
    """An ``orderSettings`` response object as ``OrderSettings`` keyword arguments.

    Missing fields take the documented defaults (nothing counted, ``refund_date``).
    """
    filters = record.get("exclusionFilters")
    return {
        "count_pending_orders": bool(record.get("countPendingOrders", False)),
        "count_voided_orders": bool(record.get("countVoidedOrders", False)),
        "refund_date_attribution": str(record.get("refundDateAttribution", "refund_date")),
        "exclusion_filters": tuple(_records(filters)),
    }


def cost_lines(config: Mapping[str, Any], cost_type: str) -> list[dict[str, Any]]:
    """The stored lines of one cost type in a ``config`` object (``config.lines.<type>``)."""
    return _records(_mapping(config.get("lines")).get(cost_type))


def global_product_override(config: Mapping[str, Any]) -> dict[str, Any]:
    """``config.globalProductOverride``: :data:`OVERRIDE_FIELDS` (None where absent)."""
    record = _mapping(config.get("globalProductOverride"))
    return {k: record.get(k) for k in OVERRIDE_FIELDS}


def shipping_settings(config: Mapping[str, Any]) -> dict[str, Any]:
    """``config.shippingSettings``: :data:`SHIPPING_FIELDS` (None where absent)."""
    record = _mapping(config.get("shippingSettings"))
    return {k: record.get(k) for k in SHIPPING_FIELDS}


@dataclass(frozen=True)
class CursorPage:
    """One page of a cursor-paged list: its items and the cursor of the next page (or None)."""

    items: list[dict[str, Any]]
    next_cursor: str | None


def cursor_page(body: Mapping[str, Any]) -> CursorPage:
    """``items`` and ``nextCursor`` of a page (an empty or missing cursor: the last page)."""
    cursor = body.get(NEXT_CURSOR)
    return CursorPage(
        items=_records(body.get(ITEMS)),
        next_cursor=str(cursor) if isinstance(cursor, str | int) and cursor != "" else None,
    )


@dataclass(frozen=True)
class CogRecord:
    """One manual COG line of a variant's ``manualCostHistory``."""

    id: Any
    cost: Any
    start: Any
    end: Any
    description: Any


@dataclass(frozen=True)
class VariantRecord:
    """A product variant: ids, titles, its handling fee and its manual COG lines."""

    product_id: Any
    product_title: Any
    vendor: Any
    variant_id: Any
    sku: Any
    title: Any
    handling_fee: Any
    cog_lines: list[CogRecord]


#: ``manualCostHistory`` entry field → :class:`CogRecord` attribute.
_COG_KEYS = {"id": "id", "cost": "cost", "effectiveStartDate": "start", "effectiveEndDate": "end"}


def _cog(line: Mapping[str, Any]) -> CogRecord:
    found = {attr: line.get(key) for key, attr in _COG_KEYS.items()}
    return CogRecord(**found, description=line.get("description", ""))


def variant(record: Mapping[str, Any], product: Mapping[str, Any] | None = None) -> VariantRecord:
    """A variant object (its product's ``id``, ``title`` and ``vendor`` from ``product``).

    A variant returned by a write names its product in ``productId``; one inside a search
    result takes it from the enclosing product.
    """
    owner = _mapping(product)
    return VariantRecord(
        product_id=owner.get("id", record.get("productId")),
        product_title=owner.get("title"),
        vendor=owner.get("vendor"),
        variant_id=record.get("id"),
        sku=record.get("sku"),
        title=record.get("title"),
        handling_fee=record.get("handlingFee"),
        cog_lines=[_cog(c) for c in _records(record.get("manualCostHistory"))],
    )


def product_variants(product: Mapping[str, Any]) -> list[VariantRecord]:
    """The variants of a search result's product, in the order sent."""
    return [variant(v, product) for v in _records(product.get("variants"))]


@dataclass(frozen=True)
class ProductCost:
    """A ``productCost`` object: the resolved unit cost of a variant."""

    effective_cost: Any
    handling_fee: Any
    currency: Any
    source: Any
    active_cog_line_id: Any


#: ``productCost`` field → :class:`ProductCost` attribute (``activeCogLine`` apart).
_COST_KEYS = {"effectiveCost": "effective_cost", "handlingFee": "handling_fee",
              "currency": "currency", "source": "source"}  # fmt: skip


def product_cost(record: Mapping[str, Any]) -> ProductCost:
    """A ``productCost`` object (``activeCogLine`` reduced to its ``id``)."""
    found = {attr: record.get(key) for key, attr in _COST_KEYS.items()}
    return ProductCost(**found, active_cog_line_id=record_id(record.get("activeCogLine")))


def event_answer(body: Mapping[str, Any]) -> tuple[bool, Any]:
    """``success`` and the stored ``eventId`` (None when not sent) of an events response."""
    return bool(body.get(SUCCESS)), body.get("eventId")


def error_entry(entry: Any) -> tuple[str, str]:
    """The ``path`` and ``message`` of one ``errors[]`` entry of a 400 (empty when absent)."""
    found = _mapping(entry)
    return str(found.get("path", "")), str(found.get("message", ""))
