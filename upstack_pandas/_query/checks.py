"""Reader arguments → checked, normalised values, before anything is sent.

Every check that needs no catalog happens here (counts, enums, dates, compare ranges,
timezones, filters, chunk spans); :mod:`._request_models` assembles the results into request
models and bodies, and names are resolved to measure ids afterwards by :mod:`.catalog`.
"""

from __future__ import annotations

import datetime as _dt
import re
import zoneinfo
from collections.abc import Mapping, Sequence
from typing import Any

import pandas as pd

from upstack_pandas._query import dates

__all__ = [
    "ATTRIBUTION_MODELS",
    "ATTRIBUTION_WINDOWS",
    "CHANNEL_LEVELS",
    "COHORT_GRANULARITIES",
    "GRANULARITIES",
    "MAX_DIMENSIONS",
    "MAX_MEASURES",
    "MAX_PAGE_SIZE",
    "OPERATORS",
    "check_choice",
    "check_filters",
    "check_timezone",
    "check_window_days",
    "compare_range",
    "date_range",
    "names",
    "range_body",
    "to_date",
]

# The enums and limits of the request bodies, defined once for the whole client (readers,
# dashboards, CLI); tests/test_requests.py checks them against the emulator's OpenAPI file.
GRANULARITIES = ("none", "second", "minute", "hour", "day", "week", "month", "quarter", "year")
COHORT_GRANULARITIES = ("week", "month", "year")
ATTRIBUTION_MODELS = ("first_click", "last_click", "any_click")
ATTRIBUTION_WINDOWS = (1, 3, 7, 14, 30, 60, 90)
CHANNEL_LEVELS = ("account", "campaign", "adset", "ad")
OPERATORS = (
    "equals",
    "not_equals",
    "in",
    "not_in",
    "contains",
    "not_contains",
    "greater_than",
    "greater_than_or_equal",
    "less_than",
    "less_than_or_equal",
)
MAX_MEASURES = 30  # per request, at least 1 (channel details: none for the entity listing)
MAX_DIMENSIONS = 5
MAX_PAGE_SIZE = 1000  # channel-details ``limit``, at least 1

DEFAULT_DAYS = 30

DateLike = str | _dt.date | _dt.datetime | pd.Timestamp
DateRange = tuple[_dt.date, _dt.date]
CompareArg = bool | str | tuple[DateLike, DateLike] | Sequence[DateLike]

# ISO 8601 dates, optionally with a time ("2026-05-11", "2026-05-11T08:00:00+02:00"); anything
# else ("05/11/2026", "May 11") is ambiguous or locale-bound and refused, listing the accepted forms.
_ISO_DATE = re.compile(
    r"^\d{4}-\d{2}-\d{2}([T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})?)?$"
)


def today(timezone: str, now: _dt.datetime | None = None) -> _dt.date:
    """Today's date in ``timezone`` by ``now`` (None → the local clock; the end of the default range)."""
    return dates.today(timezone, now)


# ----------------------------------------------------------------------------------- scalars


def check_timezone(timezone: str | None) -> str:
    """An IANA timezone name (``None`` → ``"UTC"``), checked with :mod:`zoneinfo`."""
    if timezone is None:
        return "UTC"
    if not isinstance(timezone, str) or not timezone:
        raise ValueError(
            f"timezone must be an IANA name such as 'America/New_York', not {timezone!r}"
        )
    try:
        zoneinfo.ZoneInfo(timezone)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        raise ValueError(
            f"unknown timezone {timezone!r}: use an IANA name such as 'America/New_York' or 'UTC'"
        ) from None
    return timezone


def check_choice(value: Any, choices: Sequence[Any], name: str) -> Any:
    if value not in choices:
        options = ", ".join(repr(c) for c in choices)
        raise ValueError(f"{name} must be one of {options}; got {value!r}")
    return value


def to_date(value: DateLike, name: str, timezone: str) -> _dt.date:
    """A date from a str, date, datetime or Timestamp (aware values seen in ``timezone``)."""
    if isinstance(value, _dt.date) and not isinstance(value, _dt.datetime):
        return value
    if not isinstance(value, str | _dt.datetime):
        raise TypeError(
            f"{name} must be a date, datetime, Timestamp or 'YYYY-MM-DD' string, not {type(value).__name__}"
        )
    if isinstance(value, str) and not _ISO_DATE.match(value.strip()):
        raise dates.unreadable(value, name)
    try:
        stamp = pd.Timestamp(value)
    except (ValueError, TypeError):
        raise ValueError(f"{name}: cannot read {value!r} as a date (use 'YYYY-MM-DD')") from None
    if pd.isna(stamp):
        raise ValueError(f"{name}: cannot read {value!r} as a date (use 'YYYY-MM-DD')")
    if stamp.tzinfo is not None:
        stamp = stamp.tz_convert(timezone)
    return stamp.date()


def date_range(
    start: DateLike | None,
    end: DateLike | None,
    timezone: str,
    now: _dt.datetime | None = None,
) -> DateRange:
    """(start, end) inclusive; missing ends default to the last 30 days ending today.

    Relative forms ("-7D", "mtd", "last_month", "yesterday", ...) are resolved by
    :mod:`.dates` against ``now`` (the server's clock when known, else the local one).
    """
    if now is None:  # the local clock, read through today() (one place to pin it)
        now = _dt.datetime.combine(today(timezone), _dt.time(12), zoneinfo.ZoneInfo(timezone))
    return dates.resolve_range(
        start,
        end,
        timezone=timezone,
        now=now,
        parse_absolute=lambda value, name: to_date(value, name, timezone),
        default_days=DEFAULT_DAYS,
    )


def range_body(range_: DateRange) -> dict[str, str]:
    """A date range as the API's ``{"start", "end"}`` (ISO dates)."""
    return {"start": range_[0].isoformat(), "end": range_[1].isoformat()}


def preceding(range_: DateRange) -> DateRange:
    """The period of equal length ending the day before ``range_`` starts."""
    start, end = range_
    length = end - start
    last = start - _dt.timedelta(days=1)
    return last - length, last


def compare_range(compare: CompareArg, range_: DateRange, timezone: str) -> DateRange | None:
    """``True`` → the preceding period; ``False`` → none; ``(start, end)`` → checked range."""
    if compare is True:
        return preceding(range_)
    if compare is False or compare is None:
        return None
    if dates.is_compare_keyword(compare):
        return dates.compare_range(str(compare), range_)
    if isinstance(compare, str) or not isinstance(compare, Sequence) or len(compare) != 2:
        raise TypeError(
            "compare must be True, False, a (start, end) pair or one of "
            + ", ".join(repr(k) for k in dates.COMPARE_KEYWORDS)
        )
    start = to_date(compare[0], "compare start", timezone)
    end = to_date(compare[1], "compare end", timezone)
    if start > end:
        raise ValueError(f"compare start ({start}) is after compare end ({end})")
    if start <= range_[1] and range_[0] <= end:
        raise ValueError(
            f"the compare range {start}..{end} overlaps the date range {range_[0]}..{range_[1]}"
        )
    return start, end


def names(
    values: str | Sequence[str] | None, what: str, *, minimum: int, maximum: int
) -> tuple[str, ...]:
    """A tuple of distinct non-empty strings, between ``minimum`` and ``maximum`` of them."""
    if values is None:
        items: list[Any] = []
    elif isinstance(values, str):
        items = [values]
    elif isinstance(values, Sequence | pd.Index) and not isinstance(values, bytes):
        items = list(values)
    else:
        raise TypeError(
            f"{what} must be a string or a list of strings, not {type(values).__name__}"
        )
    for item in items:
        if not isinstance(item, str) or not item.strip():
            raise TypeError(f"each of {what} must be a non-empty string; got {item!r}")
    items = [item.strip() for item in items]
    duplicates = sorted({i for i in items if items.count(i) > 1})
    if duplicates:
        raise ValueError(f"{what} repeated: {', '.join(duplicates)}")
    if not minimum <= len(items) <= maximum:
        bound = f"1 to {maximum}" if minimum else f"at most {maximum}"
        raise ValueError(f"{bound} {what} are allowed; got {len(items)}")
    return tuple(items)


def check_filters(filters: Any) -> dict[str, Any] | None:
    """The canonical filter: ``{"field", "op", "value"}``, ``{"and": [...]}`` or ``{"or": [...]}``.

    A list of filters is shorthand for ``{"and": [...]}``.
    """
    if filters is None:
        return None
    if isinstance(filters, list | tuple):
        filters = {"and": list(filters)}
    _check_filter(filters, "filters")
    return dict(filters)


def _check_filter(node: Any, path: str) -> None:
    if not isinstance(node, Mapping):
        raise TypeError(f"{path} must be a filter dict, not {type(node).__name__}")
    if set(node) in ({"and"}, {"or"}):
        (key,) = node
        children = node[key]
        if not isinstance(children, list | tuple) or not children:
            raise ValueError(f"{path}.{key} must be a non-empty list of filters")
        for i, child in enumerate(children):
            _check_filter(child, f"{path}.{key}.{i}")
        return
    if set(node) != {"field", "op", "value"}:
        raise ValueError(
            f"{path} must be {{'field', 'op', 'value'}}, {{'and': [...]}} or {{'or': [...]}}; "
            f"got keys {sorted(node)}"
        )
    check_choice(node["op"], OPERATORS, f"{path}.op")
    if node["op"] in ("in", "not_in") and not isinstance(node["value"], list | tuple):
        raise ValueError(f"{path}.value must be a list for op {node['op']!r}")


def check_window_days(chunks: str | int | pd.Timedelta | _dt.timedelta | None) -> int | None:
    """``chunks`` as a whole number of days (``"90D"``, ``"4W"``, ``90``...), or None."""
    if chunks is None:
        return None
    try:
        days = chunks if isinstance(chunks, int) else pd.Timedelta(chunks) / pd.Timedelta(days=1)
    except (ValueError, TypeError):
        raise ValueError(
            f"chunks must be a number of days or a span like '90D'; got {chunks!r}"
        ) from None
    if isinstance(days, bool) or days < 1 or int(days) != days:
        raise ValueError(f"chunks must be a whole number of days, at least 1; got {chunks!r}")
    return int(days)
