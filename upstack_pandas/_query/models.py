"""Request models: validated arguments of each endpoint, and the bodies they send.

Each model's ``build`` runs the checks of :mod:`._requests` (nothing is sent before); ``body``
writes the JSON exactly as ``docs/contract.md`` describes it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal, Protocol

from upstack_pandas._errors import invalid_argument
from upstack_pandas._query.checks import (
    ATTRIBUTION_MODELS,
    ATTRIBUTION_WINDOWS,
    CHANNEL_LEVELS,
    COHORT_GRANULARITIES,
    GRANULARITIES,
    MAX_DIMENSIONS,
    MAX_MEASURES,
    MAX_PAGE_SIZE,
    CompareArg,
    DateLike,
    DateRange,
    check_choice,
    check_filters,
    check_flag,
    check_positive_int,
    check_timezone,
    compare_range,
    date_range,
    names,
    range_body,
)

__all__ = ["AttributionQuery", "ChannelQuery", "CohortQuery", "OrderSettingsLike", "Query"]


class OrderSettingsLike(Protocol):
    """Anything with ``to_body()`` giving an ``orderSettings`` object (``up.OrderSettings``)."""

    def to_body(self) -> dict[str, Any]:
        """The camelCase ``orderSettings`` object."""


@dataclass(frozen=True)
class Query:
    """A validated ``/db-mgmt/api/query`` request (measures may still be names until resolved)."""

    measures: tuple[str, ...]
    range: DateRange
    granularity: str
    dimensions: tuple[str, ...] = ()
    filters: dict[str, Any] | None = None
    compare: DateRange | None = None
    timezone: str = "UTC"
    pacing: bool = False
    order_settings: dict[str, Any] | None = None
    view_filters: tuple[dict[str, Any], ...] | None = None

    path = "/db-mgmt/api/query"

    @classmethod
    def build(
        cls,
        measures: str | Sequence[str],
        start: DateLike | None,
        end: DateLike | None,
        *,
        granularity: str = "day",
        dimensions: str | Sequence[str] | None = None,
        filters: Any = None,
        compare: CompareArg = True,
        timezone: str | None = None,
        pacing: bool = False,
        order_settings: Any = None,
        view_filters: Any = None,
    ) -> Query:
        tz = check_timezone(timezone)
        range_ = date_range(start, end, tz)
        return cls(
            measures=names(measures, "measures", minimum=1, maximum=MAX_MEASURES),
            range=range_,
            granularity=check_choice(granularity, GRANULARITIES, "granularity"),
            dimensions=names(dimensions, "dimensions", minimum=0, maximum=MAX_DIMENSIONS),
            filters=check_filters(filters),
            compare=compare_range(compare, range_, tz),
            timezone=tz,
            pacing=check_flag(pacing, "pacing"),
            order_settings=_order_settings(order_settings),
            view_filters=_view_filters(view_filters),
        )

    def body(self, pixel_id: str) -> dict[str, Any]:
        body: dict[str, Any] = {
            "pixelId": pixel_id,
            "granularity": self.granularity,
            "measures": [{"measure": m, "pacing": self.pacing} for m in self.measures],
            "dateRange": range_body(self.range),
            "compareDateRange": range_body(self.compare) if self.compare else None,
            "timezone": self.timezone,
        }
        if self.dimensions:
            body["dimensions"] = list(self.dimensions)
        return _with_optional_fields(body, self.filters, self.order_settings, self.view_filters)


@dataclass(frozen=True)
class AttributionQuery:
    """A validated ``/db-mgmt/api/query-attribution`` request (one model)."""

    dimension: str
    range: DateRange
    model: str
    window: int
    measures: tuple[str, ...] | None = None
    granularity: str = "none"
    compare: DateRange | None = None
    filters: dict[str, Any] | None = None
    timezone: str = "UTC"
    order_settings: dict[str, Any] | None = None
    view_filters: tuple[dict[str, Any], ...] | None = None

    path = "/db-mgmt/api/query-attribution"

    @classmethod
    def build(
        cls,
        dimension: str,
        start: DateLike | None,
        end: DateLike | None,
        *,
        model: str,
        window: int,
        measures: str | Sequence[str] | None,
        granularity: str,
        compare: CompareArg,
        filters: Any,
        timezone: str | None,
        order_settings: Any = None,
        view_filters: Any = None,
    ) -> AttributionQuery:
        tz = check_timezone(timezone)
        range_ = date_range(start, end, tz)
        (dim,) = names(dimension, "dimension", minimum=1, maximum=1)
        return cls(
            dimension=dim,
            range=range_,
            model=check_choice(model, ATTRIBUTION_MODELS, "model"),
            window=check_choice(window, ATTRIBUTION_WINDOWS, "window"),
            measures=names(measures, "measures", minimum=1, maximum=MAX_MEASURES)
            if measures is not None
            else None,
            granularity=check_choice(granularity, GRANULARITIES, "granularity"),
            compare=compare_range(compare, range_, tz),
            filters=check_filters(filters),
            timezone=tz,
            order_settings=_order_settings(order_settings),
            view_filters=_view_filters(view_filters),
        )

    def body(self, pixel_id: str) -> dict[str, Any]:
        body: dict[str, Any] = {
            "pixelId": pixel_id,
            "dimension": self.dimension,
            "dateRange": range_body(self.range),
            "attributionModel": self.model,
            "attributionWindow": self.window,
            "granularity": self.granularity,
            "timezone": self.timezone,
        }
        if self.measures:
            body["measures"] = list(self.measures)
        if self.compare:
            body["compareDateRange"] = range_body(self.compare)
        return _with_optional_fields(body, self.filters, self.order_settings, self.view_filters)


@dataclass(frozen=True)
class CohortQuery:
    """A validated ``/db-mgmt/api/query-cohort-analysis`` request."""

    measures: tuple[str, ...]
    range: DateRange
    granularity: str = "month"
    filters: dict[str, Any] | None = None
    timezone: str = "UTC"
    order_settings: dict[str, Any] | None = None
    view_filters: tuple[dict[str, Any], ...] | None = None

    path = "/db-mgmt/api/query-cohort-analysis"

    @classmethod
    def build(
        cls,
        measures: str | Sequence[str],
        start: DateLike | None,
        end: DateLike | None,
        *,
        granularity: str,
        filters: Any,
        timezone: str | None,
        order_settings: Any = None,
        view_filters: Any = None,
    ) -> CohortQuery:
        tz = check_timezone(timezone)
        return cls(
            measures=names(measures, "measures", minimum=1, maximum=MAX_MEASURES),
            range=date_range(start, end, tz),
            granularity=check_choice(granularity, COHORT_GRANULARITIES, "granularity"),
            filters=check_filters(filters),
            timezone=tz,
            order_settings=_order_settings(order_settings),
            view_filters=_view_filters(view_filters),
        )

    def body(self, pixel_id: str) -> dict[str, Any]:
        body: dict[str, Any] = {
            "pixelId": pixel_id,
            "granularity": self.granularity,
            "measures": list(self.measures),
            "dateRange": range_body(self.range),
            "timezone": self.timezone,
        }
        return _with_optional_fields(body, self.filters, self.order_settings, self.view_filters)


@dataclass(frozen=True)
class ChannelQuery:
    """A validated ``/db-mgmt/api/query-channel-details`` request (one page per body)."""

    measures: tuple[str, ...]
    range: DateRange | None
    granularity: str = "none"
    level: str = "account"
    compare: DateRange | None = None
    filters: dict[str, Any] | None = None
    timezone: str = "UTC"
    page_size: int = 100

    path = "/db-mgmt/api/query-channel-details"

    @classmethod
    def build(
        cls,
        measures: str | Sequence[str] | None,
        start: DateLike | None,
        end: DateLike | None,
        *,
        granularity: str,
        level: Literal["account", "campaign", "adset", "ad"] | str,
        compare: CompareArg,
        filters: Any,
        timezone: str | None,
        page_size: int,
    ) -> ChannelQuery:
        tz = check_timezone(timezone)
        ids = names(measures, "measures", minimum=0, maximum=MAX_MEASURES)
        range_ = date_range(start, end, tz) if ids or start is not None or end is not None else None
        if not ids and compare not in (False, None):
            compare = False  # the API forbids a compare period without measures
        page_size = check_positive_int(page_size, "page_size", MAX_PAGE_SIZE)
        return cls(
            measures=ids,
            range=range_,
            granularity=check_choice(granularity, GRANULARITIES, "granularity"),
            level=check_choice(level, CHANNEL_LEVELS, "level"),
            compare=compare_range(compare, range_, tz) if range_ else None,
            filters=check_filters(filters),
            timezone=tz,
            page_size=page_size,
        )

    def body(self, pixel_id: str, offset: int = 0) -> dict[str, Any]:
        body: dict[str, Any] = {
            "pixelId": pixel_id,
            "granularity": self.granularity,
            "timezone": self.timezone,
            "limit": self.page_size,
            "offset": offset,
        }
        if self.level != "account":
            body["dimensions"] = [self.level]
        if self.measures:
            body["measures"] = [{"measure": m} for m in self.measures]
        if self.range is not None:
            body["dateRange"] = range_body(self.range)
        if self.compare and self.measures:
            body["compareDateRange"] = range_body(self.compare)
        if self.filters is not None:
            body["filters"] = self.filters
        return body


def _with_optional_fields(
    body: dict[str, Any],
    filters: Any,
    order_settings: Any,
    view_filters: Any,
) -> dict[str, Any]:
    """Add ``filters``, ``orderSettings`` and ``viewFilters`` to ``body`` when given."""
    if filters is not None:
        body["filters"] = filters
    if order_settings is not None:
        body["orderSettings"] = order_settings
    if view_filters is not None:
        body["viewFilters"] = [dict(f) for f in view_filters]
    return body


_ORDER_SETTINGS_FIELDS = {
    "countPendingOrders": bool,
    "countVoidedOrders": bool,
    "refundDateAttribution": str,
    "exclusionFilters": list,
}
_REFUND_DATE_ATTRIBUTIONS = ("refund_date", "order_date", "original_order_date")
MAX_VIEW_FILTERS = 100


def _order_settings(value: Any) -> dict[str, Any] | None:
    """The ``order_settings`` argument as a body: a mapping or an ``up.OrderSettings``, checked."""
    if value is None:
        return None
    to_body = getattr(value, "to_body", None)
    if callable(to_body) and not isinstance(value, Mapping):
        value = to_body()  # an up.OrderSettings (checked when it was built)
    if not isinstance(value, Mapping):
        raise invalid_argument(
            "order_settings",
            f"order_settings must be a dict such as {{'countPendingOrders': True}} or an "
            f"up.OrderSettings, got {type(value).__name__}",
            wrong_type=True,
        )
    for key, item in value.items():
        kind = _ORDER_SETTINGS_FIELDS.get(key)
        if kind is None:
            raise invalid_argument(
                "order_settings",
                f"order_settings: {key!r} is not an order settings field; use "
                f"{', '.join(_ORDER_SETTINGS_FIELDS)}",
            )
        if not isinstance(item, kind):
            raise invalid_argument(
                "order_settings",
                f"order_settings[{key!r}] must be a {kind.__name__}, got {item!r}",
                wrong_type=True,
            )
    refund = value.get("refundDateAttribution")
    if refund is not None and refund not in _REFUND_DATE_ATTRIBUTIONS:
        raise invalid_argument(
            "order_settings",
            f"order_settings['refundDateAttribution'] must be one of "
            f"{', '.join(_REFUND_DATE_ATTRIBUTIONS)}; got {refund!r}",
        )
    return dict(value)


def _view_filters(value: Any) -> tuple[dict[str, Any], ...] | None:
    """The ``view_filters`` argument: a list of up to 100 dicts (their shape is not documented)."""
    if value is None:
        return None
    if isinstance(value, Mapping):
        value = [value]
    if not isinstance(value, Sequence) or isinstance(value, (str, bytes)):
        raise invalid_argument(
            "view_filters",
            f"view_filters must be a list of dicts, got {type(value).__name__}",
            wrong_type=True,
        )
    if len(value) > MAX_VIEW_FILTERS:
        raise invalid_argument(
            "view_filters", f"view_filters: at most {MAX_VIEW_FILTERS} filters; got {len(value)}"
        )
    for i, item in enumerate(value):
        if not isinstance(item, Mapping):
            raise invalid_argument(
                "view_filters",
                f"view_filters[{i}] must be a dict, got {type(item).__name__}",
                wrong_type=True,
            )
    return tuple(dict(item) for item in value)
