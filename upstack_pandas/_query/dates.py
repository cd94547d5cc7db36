"""Relative dates ("-7D", "mtd", "last_month", ...) and named compare ranges ("yoy", ...).

Pure functions of a ``now`` the caller gives (the server's clock when known); the local clock is
read only when ``now`` is None. Absolute dates are parsed by the caller's ``parse_absolute``
(:mod:`.checks` keeps their strictness); this module resolves the forms people say aloud. The
accepted forms are documented in one table in ``docs/reading.md``.
"""

from __future__ import annotations

import datetime as _dt
import re
import zoneinfo
from collections.abc import Callable
from typing import Any

__all__ = [
    "ACCEPTED_DATE_FORMS",
    "COMPARE_KEYWORDS",
    "RANGE_KEYWORDS",
    "compare_range",
    "is_compare_keyword",
    "is_relative",
    "relative_date",
    "relative_range",
    "resolve_range",
    "today",
    "unreadable",
]

DateRange = tuple[_dt.date, _dt.date]

RANGE_KEYWORDS = ("today", "yesterday", "mtd", "ytd", "last_week", "last_month")
SINGLE_DAY_KEYWORDS = ("today", "yesterday")
COMPARE_KEYWORDS = ("previous_period", "yoy", "previous_year_same_weekday")
ACCEPTED_DATE_FORMS = (
    "'YYYY-MM-DD', a date, datetime or Timestamp, 'today', 'yesterday', "
    "'-7D' / 'last_7_days', '-2W' / 'last_2_weeks', 'mtd', 'ytd', 'last_week', 'last_month'"
)

_DAYS_BACK = re.compile(r"^-(\d{1,5})([dw])$")
_LAST_N = re.compile(r"^last_(\d{1,5})_(days?|weeks?)$")
_MAX_DAYS_BACK = 3660  # ten years: beyond that a typo is likelier than a query


def _normalise(value: str) -> str:
    return value.strip().lower().replace(" ", "_")


def today(timezone: str, now: _dt.datetime | None = None) -> _dt.date:
    """Today's date in ``timezone`` by the clock ``now`` (naive → UTC; None → the local clock).

    Parameters
    ----------
    timezone : str
        IANA timezone name the day is counted in.
    now : datetime.datetime, optional
        The instant that is "now" (the server's clock when known).

    Returns
    -------
    datetime.date
        The calendar date of ``now`` in ``timezone``.
    """
    zone = zoneinfo.ZoneInfo(timezone)
    if now is None:
        return _dt.datetime.now(zone).date()
    if now.tzinfo is None:
        now = now.replace(tzinfo=_dt.UTC)
    return now.astimezone(zone).date()


def _days_back(value: str) -> int | None:
    """N for "-ND", "-NW" (7N), "last_N_days", "last_N_weeks"; None when not such a form."""
    text = _normalise(value)
    match = _DAYS_BACK.match(text)
    if match:
        count, unit = int(match.group(1)), match.group(2)
    else:
        match = _LAST_N.match(text)
        if not match:
            return None
        count, unit = int(match.group(1)), match.group(2)[0]
    return count * (7 if unit == "w" else 1)


def is_relative(value: object) -> bool:
    """Whether ``value`` is a relative date form (a keyword or a days/weeks-back form).

    Parameters
    ----------
    value : object
        Anything passed as ``start`` or ``end``.

    Returns
    -------
    bool
        True for a string such as ``"mtd"``, ``"-7D"`` or ``"last_2_weeks"``.
    """
    if not isinstance(value, str):
        return False
    return _normalise(value) in RANGE_KEYWORDS or _days_back(value) is not None


def unreadable(value: object, name: str) -> ValueError:
    """The refusal for a date string that is ambiguous or unknown, listing the accepted forms.

    Parameters
    ----------
    value : object
        The value that could not be read.
    name : str
        The parameter it was passed as.

    Returns
    -------
    ValueError
        The error to raise.
    """
    return ValueError(f"{name}: cannot read {value!r} as a date; use one of {ACCEPTED_DATE_FORMS}")


def relative_range(
    value: str, *, timezone: str, now: _dt.datetime | None = None, name: str = "start"
) -> DateRange:
    """The inclusive range a relative ``start`` stands for (its end comes with it).

    Parameters
    ----------
    value : str
        ``"today"``, ``"yesterday"``, ``"-ND"``/``"last_N_days"`` (N complete days ending
        yesterday), ``"-NW"``/``"last_N_weeks"`` (7N days ending yesterday), ``"mtd"``,
        ``"ytd"``, ``"last_week"`` (the previous Monday to Sunday) or ``"last_month"``.
    timezone : str
        IANA timezone the days are counted in.
    now : datetime.datetime, optional
        The clock (the server's when known); None reads the local clock.
    name : str
        The parameter name used in error messages.

    Returns
    -------
    tuple of datetime.date
        ``(first, last)`` day, both included.

    Raises
    ------
    ValueError
        When ``value`` is not a relative form (the message lists the accepted forms).
    """
    if not isinstance(value, str):
        raise unreadable(value, name)
    day = today(timezone, now)
    one = _dt.timedelta(days=1)
    text = _normalise(value)
    if text == "today":
        return day, day
    if text == "yesterday":
        return day - one, day - one
    if text == "mtd":
        return day.replace(day=1), day
    if text == "ytd":
        return day.replace(month=1, day=1), day
    if text == "last_week":
        monday = day - _dt.timedelta(days=day.weekday()) - _dt.timedelta(days=7)
        return monday, monday + _dt.timedelta(days=6)
    if text == "last_month":
        last = day.replace(day=1) - one
        return last.replace(day=1), last
    count = _days_back(value)
    if count is None:
        raise unreadable(value, name)
    if not 1 <= count <= _MAX_DAYS_BACK:
        raise ValueError(
            f"{name}: {value!r} reaches {count} days back; use between 1 and {_MAX_DAYS_BACK} days"
        )
    return day - _dt.timedelta(days=count), day - one


def relative_date(
    value: str, *, timezone: str, now: _dt.datetime | None = None, name: str = "end"
) -> _dt.date:
    """A single relative day: ``"today"`` or ``"yesterday"`` (for ``end=`` or a compare pair).

    Parameters
    ----------
    value : str
        ``"today"`` or ``"yesterday"``.
    timezone : str
        IANA timezone the day is counted in.
    now : datetime.datetime, optional
        The clock (the server's when known); None reads the local clock.
    name : str
        The parameter name used in error messages.

    Returns
    -------
    datetime.date
        The day.

    Raises
    ------
    ValueError
        For any other value; a range form such as ``"mtd"`` is named as belonging in ``start``.
    """
    text = _normalise(value) if isinstance(value, str) else None
    if text in SINGLE_DAY_KEYWORDS:
        return relative_range(value, timezone=timezone, now=now, name=name)[0]
    if is_relative(value):
        raise ValueError(
            f"{name}: {value!r} is a whole range; pass it as start= and leave {name} out"
        )
    raise unreadable(value, name)


def resolve_range(
    start: Any,
    end: Any,
    *,
    timezone: str,
    now: _dt.datetime | None,
    parse_absolute: Callable[[Any, str], _dt.date],
    default_days: int = 30,
) -> DateRange:
    """``start``/``end`` (absolute or relative) → the inclusive range they mean.

    Parameters
    ----------
    start, end : object
        Dates as the readers take them; ``start`` may be any relative form, ``end`` may be
        ``"today"`` or ``"yesterday"``. A range form in ``start`` brings its own end, so
        ``end`` must then be left out (``"today"``/``"yesterday"`` are plain days when an
        ``end`` is given).
    timezone : str
        IANA timezone the days are counted in.
    now : datetime.datetime or None
        The clock (the server's when known); None reads the local clock.
    parse_absolute : callable
        ``(value, name) -> date`` for everything that is not a relative form.
    default_days : int
        Length of the range when ``start`` is None.

    Returns
    -------
    tuple of datetime.date
        ``(first, last)`` day, both included.

    Raises
    ------
    ValueError
        Unknown forms, a range form in ``end``, a range form with an ``end``, or start after end.
    """
    if is_relative(start) and (end is None or _normalise(start) not in SINGLE_DAY_KEYWORDS):
        if end is not None:
            raise ValueError(
                f"start={start!r} brings its own end; leave end out "
                f"(or pass both as dates such as '2026-05-01')"
            )
        return relative_range(start, timezone=timezone, now=now, name="start")
    if end is None:
        end_date = today(timezone, now)
    elif is_relative(end):
        end_date = relative_date(end, timezone=timezone, now=now, name="end")
    else:
        end_date = parse_absolute(end, "end")
    if start is None:
        start_date = end_date - _dt.timedelta(days=default_days - 1)
    elif is_relative(start):
        start_date = relative_date(start, timezone=timezone, now=now, name="start")
    else:
        start_date = parse_absolute(start, "start")
    if start_date > end_date:
        raise ValueError(f"start ({start_date}) is after end ({end_date})")
    return start_date, end_date


def is_compare_keyword(value: object) -> bool:
    """Whether ``value`` is a string meant as a named compare range (known or not).

    Parameters
    ----------
    value : object
        The ``compare=`` argument.

    Returns
    -------
    bool
        True for any string (unknown names are refused by :func:`compare_range`).
    """
    return isinstance(value, str)


def _years_back(day: _dt.date, years: int = 1) -> _dt.date:
    try:
        return day.replace(year=day.year - years)
    except ValueError:  # 29 February → 28 February
        return day.replace(year=day.year - years, day=28)


def compare_range(compare: str, range_: DateRange, *, name: str = "compare") -> DateRange:
    """The range a named comparison stands for, relative to ``range_``.

    Parameters
    ----------
    compare : str
        ``"previous_period"`` (the same number of days ending the day before ``range_``),
        ``"yoy"`` (the same calendar dates a year earlier; 29 February → 28 February) or
        ``"previous_year_same_weekday"`` (``range_`` moved back 52 weeks, 364 days, so weekdays
        line up).
    range_ : tuple of datetime.date
        The inclusive range being compared.
    name : str
        The parameter name used in error messages.

    Returns
    -------
    tuple of datetime.date
        The inclusive compare range.

    Raises
    ------
    ValueError
        An unknown name (the known ones are listed), or a compare range that would overlap
        ``range_`` (a range longer than a year compared year over year).
    """
    text = _normalise(compare) if isinstance(compare, str) else ""
    first, last = range_
    if text == "previous_period":
        length = last - first
        end = first - _dt.timedelta(days=1)
        result = (end - length, end)
    elif text == "yoy":
        result = (_years_back(first), _years_back(last))
    elif text == "previous_year_same_weekday":
        shift = _dt.timedelta(days=364)
        result = (first - shift, last - shift)
    else:
        options = ", ".join(repr(k) for k in COMPARE_KEYWORDS)
        raise ValueError(
            f"{name} must be True, False, a (start, end) pair or one of {options}; got {compare!r}"
        )
    if result[0] <= last and first <= result[1]:
        raise ValueError(
            f"{name}={compare!r}: the compare range {result[0]}..{result[1]} overlaps the date "
            f"range {first}..{last}; use a range shorter than a year or an explicit pair"
        )
    return result
