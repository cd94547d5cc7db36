"""Reader arguments → checked, normalised values, before anything is sent.

Every check that needs no catalog happens here (counts, enums, dates, compare ranges,
timezones, filters, chunk spans, dtypes, flags); :mod:`.models` assembles the results into
request models and bodies, and names are resolved to measure ids afterwards by the catalog.

Each check is at least as strict as the server (the limits and formats of
``emulator/spec/openapi.yaml``), so an argument the API would refuse never leaves the machine,
and no argument escapes as a deep error (``OverflowError``, ``RecursionError``...) or is quietly
changed (``pacing="false"``, a time of day dropped from a date). Every problem is a
``ValidationError`` naming the parameter, with a hint how to fix it; a value of the wrong type
is its subclass ``ArgumentTypeError`` (also a ``TypeError``).

Dates: absolute dates are ``YYYY-MM-DD`` strings, ``date`` objects, or ``datetime`` /
``Timestamp`` values at midnight (aware ones at midnight in the query timezone), between
1900-01-01 and 2100-12-31 (the API's bound, decision D09). Nothing else is guessed at: "now",
"2026", "March 1 2026" and "05/11/2026" are refused. Relative forms (``"-7D"``, ``"mtd"``...)
are read by :mod:`.dates`.
"""

from __future__ import annotations

import datetime as _dt
import functools
import math
import numbers
import re
import zoneinfo
from collections.abc import Mapping, Sequence
from typing import Any, NoReturn

import pandas as pd

from upstack_pandas._errors import ValidationError, invalid_argument
from upstack_pandas._query import dates

__all__ = [
    "ATTRIBUTION_MODELS",
    "ATTRIBUTION_WINDOWS",
    "AUTO_WINDOW_DAYS",
    "CHANNEL_LEVELS",
    "COHORT_GRANULARITIES",
    "GRANULARITIES",
    "MAX_DATE",
    "MAX_DIMENSIONS",
    "MAX_FILTER_DEPTH",
    "MAX_MEASURES",
    "MAX_PAGE_SIZE",
    "MIN_DATE",
    "OPERATORS",
    "bucket_count",
    "check_choice",
    "check_dtypes",
    "check_filters",
    "check_flag",
    "check_positive_int",
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
#: The dates the API accepts (decision D09 in docs/contract.md).
MIN_DATE = _dt.date(1900, 1, 1)
MAX_DATE = _dt.date(2100, 12, 31)
#: Nesting of ``and``/``or`` groups in ``filters`` (the API refuses JSON nested over 64 levels;
#: each group is two of them).
MAX_FILTER_DEPTH = 20
MAX_FILTER_CHILDREN = 100  # members of one and/or group
MAX_FILTER_VALUES = 1000  # members of an in/not_in list
MAX_FIELD_LENGTH = 200
MAX_NAME_LENGTH = 200  # a measure or dimension id
MAX_TIMEZONE_LENGTH = 64
#: Most concurrent requests of one chunked read (``max_workers``).
MAX_WORKERS = 32  # the client's connection pool per host
#: Longest chunk window: the whole span of dates the API accepts.
MAX_WINDOW_DAYS = (MAX_DATE - MIN_DATE).days + 1
#: the window of ``chunks="auto"`` when the client's round trips say windows pay (decision D107)
AUTO_WINDOW_DAYS = 90
_ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")

DateLike = str | _dt.date | _dt.datetime | pd.Timestamp
DateRange = tuple[_dt.date, _dt.date]
CompareArg = bool | tuple[DateLike, DateLike] | Sequence[DateLike]


# ----------------------------------------------------------------------------------- helpers


def fail(
    parameter: str, message: str, hint: str | None = None, *, wrong_type: bool = False
) -> NoReturn:
    """Raise the ``ValidationError`` for an argument (``ArgumentTypeError`` for a wrong type)."""
    raise invalid_argument(parameter, message, hint=hint, wrong_type=wrong_type)


def _short(value: Any, limit: int = 60) -> str:
    text = repr(value)
    return text if len(text) <= limit else f"{text[: limit - 1]}…"


# ----------------------------------------------------------------------------------- scalars


@functools.lru_cache(maxsize=1)
def iana_timezones() -> frozenset[str]:
    """The IANA names the API accepts (the tz database's list, plus ``UTC``)."""
    return frozenset(zoneinfo.available_timezones() | {"UTC"})


def check_timezone(timezone: str | None) -> str:
    """An IANA timezone name (``None`` → ``"UTC"``) from the tz database's list of names.

    ``zoneinfo`` alone accepts more than the API (``"localtime"``, ``"posixrules"``, file
    names of other tz databases), so the name must be in ``zoneinfo.available_timezones()``.
    """
    if timezone is None:
        return "UTC"
    if not isinstance(timezone, str):
        fail(
            "timezone",
            f"timezone must be an IANA name such as 'America/New_York', not {_short(timezone)}",
            wrong_type=True,
        )
    if not timezone or len(timezone) > MAX_TIMEZONE_LENGTH or timezone not in iana_timezones():
        fail(
            "timezone",
            f"unknown timezone {_short(timezone)}: use an IANA name such as 'America/New_York' "
            "or 'UTC'",
            hint="see zoneinfo.available_timezones() for the names",
        )
    return timezone


def check_choice(value: Any, choices: Sequence[Any], name: str) -> Any:
    """One of ``choices``, of the same type (``True`` is not the window ``1``)."""
    for choice in choices:
        if _same_kind(value, choice) and value == choice:
            return choice
    options = ", ".join(repr(c) for c in choices)
    fail(name, f"{name} must be one of {options}; got {_short(value)}")


def _same_kind(value: Any, choice: Any) -> bool:
    if isinstance(value, bool) or type(value).__name__ == "bool_":
        return isinstance(choice, bool)
    if isinstance(choice, str):
        return isinstance(value, str)
    if isinstance(choice, int):
        return isinstance(value, numbers.Integral)
    return True


def check_flag(value: Any, name: str) -> bool:
    """A real ``True``/``False`` (a string such as ``"false"`` is not quietly true)."""
    if isinstance(value, bool):
        return value
    if type(value).__name__ == "bool_":  # numpy.bool_
        return bool(value)
    fail(name, f"{name} must be True or False, not {_short(value)}", wrong_type=True)


def check_positive_int(value: Any, name: str, maximum: int) -> int:
    """A whole number from 1 to ``maximum``."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        fail(name, f"{name} must be a whole number, not {_short(value)}", wrong_type=True)
    if not 1 <= int(value) <= maximum:
        fail(name, f"{name} must be from 1 to {maximum}; got {value}")
    return int(value)


# ------------------------------------------------------------------------------------- dates


def today(timezone: str) -> _dt.date:
    """Today's date in ``timezone`` (the end of the default range)."""
    return _dt.datetime.now(zoneinfo.ZoneInfo(timezone)).date()


def _relative(
    text: str, name: str, timezone: str, now: _dt.datetime | None = None
) -> _dt.date | None:
    """A single relative date (``"today"``, ``"yesterday"``) read by :mod:`.dates`."""
    if not dates.is_relative(text):
        return None
    try:
        found = dates.relative_date(text, timezone=timezone, now=now, name=name)
    except ValueError as exc:
        fail(name, str(exc))
    return found if isinstance(found, _dt.date) else None


def to_date(
    value: DateLike, name: str, timezone: str, now: _dt.datetime | None = None
) -> _dt.date:
    """A whole day from a ``YYYY-MM-DD`` string, a date, or a datetime/Timestamp at midnight.

    Aware values are seen in ``timezone``; a time of day is refused, never dropped.
    """
    hint = f"pass {name}='YYYY-MM-DD' (e.g. '2026-04-01') or a datetime.date"
    if isinstance(value, str):
        text = value.strip()
        if _ISO_DATE.fullmatch(text):
            try:
                day = _dt.date.fromisoformat(text)
            except ValueError:
                fail(name, f"{name}: {value!r} is not a calendar date", hint)
        else:
            found = _relative(text, name, timezone, now)
            if found is None:
                forms = dates.ACCEPTED_DATE_FORMS
                fail(
                    name,
                    f"{name}: cannot read {_short(value)} as a date; accepted forms: {forms}",
                    hint,
                )
            day = found
    elif isinstance(value, _dt.datetime):  # pd.Timestamp included
        if pd.isna(value):
            fail(name, f"{name} is NaT, not a date", hint)
        stamp = pd.Timestamp(value)
        if stamp.tzinfo is not None:
            stamp = stamp.tz_convert(timezone)
        if stamp != stamp.normalize():
            fail(
                name,
                f"{name}={_short(value)} has a time of day ({stamp.strftime('%H:%M:%S')}"
                f"{' in ' + timezone if stamp.tzinfo is not None else ''}); the API takes whole "
                "days in the query timezone",
                f"pass the day itself: {name}='{stamp.date().isoformat()}'",
            )
        day = stamp.date()
    elif isinstance(value, _dt.date):
        day = value
    else:
        fail(
            name,
            f"{name} must be a date, datetime, Timestamp or 'YYYY-MM-DD' string, not "
            f"{type(value).__name__}",
            hint,
            wrong_type=True,
        )
    if not MIN_DATE <= day <= MAX_DATE:
        fail(name, f"{name}={day.isoformat()} is outside the dates the API accepts", _BOUNDS)
    return day


_BOUNDS = f"dates must lie from {MIN_DATE.isoformat()} to {MAX_DATE.isoformat()}"


def date_range(
    start: DateLike | None,
    end: DateLike | None,
    timezone: str,
    *,
    now: _dt.datetime | None = None,
) -> DateRange:
    """(start, end) inclusive; missing ends default to the last 30 days ending today.

    A relative ``start`` (``"-7D"``, ``"mtd"``, ``"last_month"``...) is read by :mod:`.dates`;
    absolute values keep this module's strictness (:func:`to_date`). "Today" is ``now``'s date
    in ``timezone`` (the server's clock, decision D80, when the caller knows it), else the local
    clock's.
    """
    if isinstance(start, str) and dates.is_relative(start):
        try:
            found = dates.resolve_range(
                start,
                end,
                timezone=timezone,
                now=now,
                parse_absolute=lambda value, name: to_date(value, name, timezone, now),
                default_days=DEFAULT_DAYS,
            )
        except ValidationError:
            raise
        except ValueError as exc:
            fail("start", str(exc))
        for name, day in zip(("start", "end"), found, strict=True):
            if not MIN_DATE <= day <= MAX_DATE:
                fail(
                    name, f"{name}={day.isoformat()} is outside the dates the API accepts", _BOUNDS
                )
        return found[0], found[1]
    local_today = today(timezone) if now is None else dates.today(timezone, now)
    end_date = local_today if end is None else to_date(end, "end", timezone, now)
    if start is None:
        start_date = max(MIN_DATE, end_date - _dt.timedelta(days=DEFAULT_DAYS - 1))
    else:
        start_date = to_date(start, "start", timezone, now)
    if start_date > end_date:
        fail("start", f"start ({start_date}) is after end ({end_date})", "swap them")
    return start_date, end_date


def bucket_count(range_: DateRange, granularity: str) -> int | None:
    """How many buckets of ``granularity`` a range touches (None for sub-day buckets).

    Day and longer buckets are local calendar periods (weeks start on Monday, decision D16),
    so they are counted from the dates alone; hours and shorter depend on DST transitions.
    """
    start, end = range_
    if granularity == "none":
        return 1
    if granularity == "day":
        return (end - start).days + 1
    if granularity == "week":
        monday = start - _dt.timedelta(days=start.weekday())
        return (end - monday).days // 7 + 1
    if granularity == "month":
        return (end.year - start.year) * 12 + end.month - start.month + 1
    if granularity == "quarter":
        return (end.year - start.year) * 4 + (end.month - 1) // 3 - (start.month - 1) // 3 + 1
    if granularity == "year":
        return end.year - start.year + 1
    return None


def range_body(range_: DateRange) -> dict[str, str]:
    """A date range as the API's ``{"start", "end"}`` (ISO dates)."""
    return {"start": range_[0].isoformat(), "end": range_[1].isoformat()}


def preceding(range_: DateRange) -> DateRange:
    """The period of equal length ending the day before ``range_`` starts."""
    start, end = range_
    length = end - start
    if (start - MIN_DATE) <= length:
        fail(
            "compare",
            f"compare=True: the period before {start.isoformat()} would start before "
            f"{MIN_DATE.isoformat()}",
            "pass compare=False, or a (start, end) pair inside the dates the API accepts",
        )
    last = start - _dt.timedelta(days=1)
    return last - length, last


def compare_range(compare: CompareArg, range_: DateRange, timezone: str) -> DateRange | None:
    """``True`` → the preceding period; ``False`` → none; ``(start, end)`` → checked range."""
    if compare is True:
        return preceding(range_)
    if compare is False or compare is None:
        return None
    if isinstance(compare, str) and dates.is_compare_keyword(compare):
        try:
            found = dates.compare_range(compare, range_, name="compare")
        except ValueError as exc:
            fail("compare", str(exc))
        if not MIN_DATE <= found[0] <= found[1] <= MAX_DATE:
            fail("compare", f"compare={compare!r} falls outside the dates the API accepts", _BOUNDS)
        return found[0], found[1]
    if isinstance(compare, str) or not isinstance(compare, Sequence) or len(compare) != 2:
        fail(
            "compare",
            f"compare must be True, False or a (start, end) pair, not {_short(compare)}",
            wrong_type=True,
        )
    start = to_date(compare[0], "compare start", timezone)
    end = to_date(compare[1], "compare end", timezone)
    if start > end:
        fail("compare", f"compare start ({start}) is after compare end ({end})", "swap them")
    if start <= range_[1] and range_[0] <= end:
        fail(
            "compare",
            f"the compare range {start}..{end} overlaps the date range {range_[0]}..{range_[1]}",
            "pick a compare period before or after the date range",
        )
    return start, end


# ------------------------------------------------------------------------------ names, filters


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
        fail(
            what,
            f"{what} must be a string or a list of strings, not {type(values).__name__}",
            wrong_type=True,
        )
    for item in items:
        if not isinstance(item, str) or not item.strip():
            fail(
                what,
                f"each of {what} must be a non-empty string; got {_short(item)}",
                wrong_type=True,
            )
        if len(item.strip()) > MAX_NAME_LENGTH:
            fail(what, f"{what}: {_short(item)} is longer than {MAX_NAME_LENGTH} characters")
    items = [item.strip() for item in items]
    duplicates = sorted({i for i in items if items.count(i) > 1})
    if duplicates:
        fail(what, f"{what} repeated: {', '.join(duplicates)}", "name each once")
    if not minimum <= len(items) <= maximum:
        bound = f"1 to {maximum}" if minimum else f"at most {maximum}"
        hint = "pass None for the default measures" if not items and what == "measures" else None
        fail(what, f"{bound} {what} are allowed; got {len(items)}", hint)
    return tuple(items)


def check_filters(filters: Any) -> dict[str, Any] | None:
    """The canonical filter: ``{"field", "op", "value"}``, ``{"and": [...]}`` or ``{"or": [...]}``.

    A list of filters is shorthand for ``{"and": [...]}``. Groups nest at most
    ``MAX_FILTER_DEPTH`` deep; values are strings, booleans or finite numbers.
    """
    if filters is None:
        return None
    if isinstance(filters, list | tuple):
        filters = {"and": list(filters)}
    _check_filter(filters, "filters", 0)
    return dict(filters)


def _check_filter(node: Any, path: str, depth: int) -> None:
    if depth > MAX_FILTER_DEPTH:
        fail(
            "filters",
            f"{path}: filters nest more than {MAX_FILTER_DEPTH} and/or groups deep",
            "flatten the groups: and/or of and/or groups can usually be written with fewer levels",
        )
    if not isinstance(node, Mapping):
        fail(path, f"{path} must be a filter dict, not {type(node).__name__}", wrong_type=True)
    if set(node) in ({"and"}, {"or"}):
        (key,) = node
        children = node[key]
        if not isinstance(children, list | tuple) or not children:
            fail(path, f"{path}.{key} must be a non-empty list of filters")
        if len(children) > MAX_FILTER_CHILDREN:
            fail(path, f"{path}.{key} has {len(children)} filters; at most {MAX_FILTER_CHILDREN}")
        for i, child in enumerate(children):
            _check_filter(child, f"{path}.{key}.{i}", depth + 1)
        return
    if set(node) != {"field", "op", "value"}:
        fail(
            path,
            f"{path} must be {{'field', 'op', 'value'}}, {{'and': [...]}} or {{'or': [...]}}; "
            f"got keys {sorted(map(str, node))}",
        )
    field = node["field"]
    if not isinstance(field, str) or not field.strip() or len(field) > MAX_FIELD_LENGTH:
        fail(
            f"{path}.field",
            f"{path}.field must be a filter field id such as 'orders.customer_type'; got "
            f"{_short(field)}",
            "see upstack_pandas.filters() for the fields",
        )
    op = check_choice(node["op"], OPERATORS, f"{path}.op")
    value = node["value"]
    if op in ("in", "not_in"):
        if not isinstance(value, list | tuple) or not value:
            fail(f"{path}.value", f"{path}.value must be a list (not empty) for op {op!r}")
        if len(value) > MAX_FILTER_VALUES:
            fail(
                f"{path}.value", f"{path}.value has {len(value)} items; at most {MAX_FILTER_VALUES}"
            )
        for i, item in enumerate(value):
            _check_scalar(item, f"{path}.value.{i}")
    else:
        _check_scalar(value, f"{path}.value")


def _check_scalar(value: Any, path: str) -> None:
    if isinstance(value, str | bool):
        return
    if isinstance(value, numbers.Real):
        if not math.isfinite(float(value)):
            fail(
                path,
                f"{path} is {value!r}; filter values must be finite numbers",
                "drop the filter or give a number",
            )
        return
    fail(
        path,
        f"{path} must be a string, a number or a boolean, not {type(value).__name__}",
        wrong_type=True,
    )


# ----------------------------------------------------------------------------- chunks, dtypes


def check_window_days(
    chunks: str | int | pd.Timedelta | _dt.timedelta | None,
) -> tuple[int | None, bool]:
    """``chunks`` as ``(whole number of days or None, auto)``.

    ``"90D"``, ``"4W"``, ``90``... give ``(days, False)``; ``"auto"`` gives
    ``(AUTO_WINDOW_DAYS, True)`` (D107: the reader splits only when the client's round trips
    say windows pay); None gives ``(None, False)``.
    """
    if chunks is None:
        return None, False
    if isinstance(chunks, str) and chunks.strip().lower() == "auto":
        return AUTO_WINDOW_DAYS, True
    hint = f"e.g. chunks='90D', chunks=90 (1 to {MAX_WINDOW_DAYS} days) or chunks='auto'"
    if isinstance(chunks, bool):
        fail(
            "chunks",
            f"chunks must be a number of days or a span like '90D'; got {chunks!r}",
            hint,
            wrong_type=True,
        )
    if isinstance(chunks, numbers.Integral):
        days: float = int(chunks)
    elif isinstance(chunks, str | _dt.timedelta):  # pd.Timedelta included
        try:
            days = pd.Timedelta(chunks) / pd.Timedelta(days=1)
        except (ValueError, TypeError, OverflowError):
            fail(
                "chunks",
                f"chunks must be a number of days or a span like '90D'; got {_short(chunks)}",
                hint,
            )
    else:
        fail(
            "chunks",
            f"chunks must be a number of days or a span like '90D'; got {_short(chunks)}",
            hint,
            wrong_type=True,
        )
    if days != days or days < 1 or int(days) != days:
        fail(
            "chunks",
            f"chunks must be a whole number of days, at least 1; got {_short(chunks)}",
            hint,
        )
    if days > MAX_WINDOW_DAYS:
        fail("chunks", f"chunks={_short(chunks)} is longer than any range the API accepts", hint)
    return int(days), False


def check_dtypes(dtypes: Any) -> None:
    """``dtypes=``: None, one dtype, or a mapping of column name to dtype pandas knows."""
    if dtypes is None:
        return
    items = dtypes.items() if isinstance(dtypes, Mapping) else [(None, dtypes)]
    for column, dtype in items:
        where = "dtypes" if column is None else f"dtypes[{column!r}]"
        if isinstance(column, str) is False and column is not None:
            fail(
                "dtypes", f"dtypes keys must be measure ids; got {_short(column)}", wrong_type=True
            )
        try:
            pd.api.types.pandas_dtype(dtype)
        except (TypeError, ValueError):
            fail(
                "dtypes",
                f"{where}={_short(dtype)} is not a dtype pandas knows",
                "use e.g. 'float64', 'Int64' or 'Float64'",
            )
