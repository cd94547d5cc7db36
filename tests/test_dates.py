"""Relative dates ("-7D", "mtd", "last_month", ...) and named compare ranges ("yoy", ...).

Expected ranges are computed independently with pandas offsets from the same pinned clock.
"""

from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest

import upstack_pandas as up
from tests.conftest import EMULATOR_NOW
from upstack_pandas._query import checks, dates

NY = "America/New_York"
# 02:30 UTC on Wednesday 13 May 2026 is still Tuesday 12 May in New York.
NOW = dt.datetime(2026, 5, 13, 2, 30, tzinfo=dt.UTC)


def resolve(start: object, end: object = None, tz: str = NY) -> tuple[dt.date, dt.date]:
    return dates.resolve_range(
        start,
        end,
        timezone=tz,
        now=NOW,
        parse_absolute=lambda value, name: checks.to_date(value, name, tz),
    )


def local_today(tz: str) -> pd.Timestamp:
    return pd.Timestamp(NOW).tz_convert(tz).normalize().tz_localize(None)


def span(first: pd.Timestamp, last: pd.Timestamp) -> tuple[dt.date, dt.date]:
    return first.date(), last.date()


@pytest.mark.parametrize("tz", ["UTC", NY, "Asia/Tokyo"])
def test_today_is_the_query_timezones_day_by_the_given_clock(tz: str) -> None:
    expected = local_today(tz).date()
    assert dates.today(tz, NOW) == expected
    assert resolve("today", tz=tz) == (expected, expected)
    assert resolve("yesterday", tz=tz) == (expected - dt.timedelta(days=1),) * 2


def test_the_new_york_day_differs_from_utc_at_this_instant() -> None:
    assert dates.today(NY, NOW) == dt.date(2026, 5, 12)
    assert dates.today("UTC", NOW) == dt.date(2026, 5, 13)


def test_naive_now_is_utc() -> None:
    assert dates.today(NY, NOW.replace(tzinfo=None)) == dt.date(2026, 5, 12)


@pytest.mark.parametrize("form", ["-7D", "-7d", "last_7_days", "Last 7 days", " LAST_7_DAYS "])
def test_seven_days_back_are_the_seven_complete_days_ending_yesterday(form: str) -> None:
    t = local_today(NY)
    assert resolve(form) == span(t - pd.Timedelta(days=7), t - pd.Timedelta(days=1))


@pytest.mark.parametrize("form", ["-2W", "last_2_weeks"])
def test_weeks_back(form: str) -> None:
    t = local_today(NY)
    assert resolve(form) == span(t - pd.Timedelta(days=14), t - pd.Timedelta(days=1))


def test_one_day_back_is_yesterday() -> None:
    assert resolve("-1D") == resolve("yesterday") == resolve("last_1_day")


def test_month_and_year_to_date() -> None:
    t = local_today(NY)
    assert resolve("mtd") == span(t - pd.offsets.MonthBegin(1), t)
    assert resolve("ytd") == span(t - pd.offsets.YearBegin(1), t)


def test_to_date_on_the_first_of_the_month_is_one_day() -> None:
    first = dt.datetime(2026, 6, 1, 12, tzinfo=dt.UTC)
    got = dates.relative_range("mtd", timezone="UTC", now=first)
    assert got == (dt.date(2026, 6, 1), dt.date(2026, 6, 1))


def test_last_month_is_the_previous_calendar_month() -> None:
    t = local_today(NY)
    last = t - pd.offsets.MonthBegin(1) - pd.Timedelta(days=1)
    assert resolve("last_month") == span(last - pd.offsets.MonthBegin(1), last)
    assert resolve("last_month") == (dt.date(2026, 4, 1), dt.date(2026, 4, 30))


def test_last_month_in_january_is_last_years_december() -> None:
    january = dt.datetime(2026, 1, 15, tzinfo=dt.UTC)
    got = dates.relative_range("last_month", timezone="UTC", now=january)
    assert got == (dt.date(2025, 12, 1), dt.date(2025, 12, 31))


def test_last_week_is_the_previous_monday_to_sunday() -> None:
    t = local_today(NY)
    monday = t - pd.Timedelta(days=t.weekday() + 7)
    first, last = resolve("last_week")
    assert (first, last) == span(monday, monday + pd.Timedelta(days=6))
    assert first.weekday() == 0 and last.weekday() == 6


def test_today_and_yesterday_are_plain_days_next_to_an_absolute_date() -> None:
    assert resolve("2026-05-01", "yesterday") == (dt.date(2026, 5, 1), dt.date(2026, 5, 11))
    assert resolve("yesterday", "today") == (dt.date(2026, 5, 11), dt.date(2026, 5, 12))
    assert resolve(None, "yesterday") == (dt.date(2026, 4, 12), dt.date(2026, 5, 11))


def test_a_range_form_refuses_an_end() -> None:
    with pytest.raises(ValueError, match="start='mtd' brings its own end; leave end out"):
        resolve("mtd", "2026-05-10")


def test_a_range_form_in_end_is_sent_to_start() -> None:
    with pytest.raises(ValueError, match="end: 'last_month' is a whole range; pass it as start="):
        resolve("2026-01-01", "last_month")


@pytest.mark.parametrize("value", ["05/11/2026", "11.05.2026", "May 11", "2026", "now", "-7X"])
def test_ambiguous_or_unknown_strings_are_refused_with_the_accepted_forms(value: str) -> None:
    with pytest.raises(ValueError) as caught:
        resolve(value)
    message = str(caught.value)
    assert message.startswith(f"start: cannot read {value!r} as a date")
    for form in ("'YYYY-MM-DD'", "'-7D'", "'last_7_days'", "'mtd'", "'ytd'", "'last_month'"):
        assert form in message


def test_days_back_are_bounded() -> None:
    with pytest.raises(ValueError, match="reaches 0 days back"):
        resolve("-0D")
    with pytest.raises(ValueError, match="reaches 99999 days back"):
        resolve("-99999D")


# ------------------------------------------------------------------------------- compare


RANGE = (dt.date(2026, 5, 1), dt.date(2026, 5, 10))


def test_previous_period_is_the_same_length_just_before() -> None:
    first, last = dates.compare_range("previous_period", RANGE)
    assert (first, last) == (dt.date(2026, 4, 21), dt.date(2026, 4, 30))
    assert last - first == RANGE[1] - RANGE[0]
    assert dates.compare_range("previous_period", RANGE) == checks.preceding(RANGE)


def test_yoy_is_the_same_calendar_dates_a_year_earlier() -> None:
    expected = tuple((pd.Timestamp(d) - pd.DateOffset(years=1)).date() for d in RANGE)
    assert dates.compare_range("yoy", RANGE) == expected


def test_yoy_of_a_leap_day_is_the_28th() -> None:
    leap = (dt.date(2028, 2, 29), dt.date(2028, 3, 1))
    assert dates.compare_range("yoy", leap) == (dt.date(2027, 2, 28), dt.date(2027, 3, 1))


def test_previous_year_same_weekday_lines_weekdays_up() -> None:
    first, last = dates.compare_range("previous_year_same_weekday", RANGE)
    assert (first, last) == (dt.date(2025, 5, 2), dt.date(2025, 5, 11))
    assert first.weekday() == RANGE[0].weekday() and last.weekday() == RANGE[1].weekday()


def test_a_compare_overlapping_the_range_is_refused() -> None:
    long = (dt.date(2025, 1, 1), dt.date(2026, 3, 1))
    with pytest.raises(ValueError, match="overlaps the date range"):
        dates.compare_range("yoy", long)


def test_unknown_compare_names_list_the_known_ones() -> None:
    with pytest.raises(ValueError) as caught:
        checks.compare_range("last_year", RANGE, "UTC")
    for name in dates.COMPARE_KEYWORDS:
        assert repr(name) in str(caught.value)


def test_compare_keywords_reach_the_query_model() -> None:
    from upstack_pandas._query.models import Query

    query = Query.build("orders.orders", "2026-05-01", "2026-05-10", compare="yoy")
    assert query.range == RANGE
    assert query.compare == (dt.date(2025, 5, 1), dt.date(2025, 5, 10))


# ------------------------------------------------------------------------------- end to end


def test_a_relative_read_sends_the_resolved_ranges(client: up.Client) -> None:
    tz = NY
    df = up.read_upstack("orders.orders", "last_month", timezone=tz, compare="yoy", client=client)
    info = df.attrs["upstack"]
    # "today" is the server's clock when the client knows it, else the local one: either way the
    # range is one whole calendar month before that day's month.
    candidates = []
    for clock in (pd.Timestamp.now(tz), pd.Timestamp(EMULATOR_NOW).tz_convert(tz)):
        t = clock.normalize().tz_localize(None)
        last = t.replace(day=1) - pd.Timedelta(days=1)
        candidates.append((last.replace(day=1), last))
    first, last = next(
        c for c in candidates if info["dateRange"]["start"] == c[0].date().isoformat()
    )
    assert info["dateRange"] == {"start": first.date().isoformat(), "end": last.date().isoformat()}
    assert info["compareDateRange"] == {
        "start": (first - pd.DateOffset(years=1)).date().isoformat(),
        "end": (last - pd.DateOffset(years=1)).date().isoformat(),
    }
    assert len(df) == (last - first).days + 1
    assert len(df.upstack.compare) == len(df)


def test_an_ambiguous_date_is_refused_before_any_request() -> None:
    from tests._fake_client import RefusingClient

    with pytest.raises(ValueError, match="cannot read '05/11/2026' as a date"):
        up.read_upstack("orders.orders", "05/11/2026", client=RefusingClient())  # type: ignore[arg-type]


def test_the_docs_table_lists_every_form() -> None:
    from pathlib import Path

    text = (Path(__file__).parents[1] / "docs" / "reading.md").read_text(encoding="utf-8")
    table = text[text.index("| `start=` |") :]
    for keyword in (*dates.RANGE_KEYWORDS, *dates.COMPARE_KEYWORDS, "-7D", "last_7_days"):
        assert f'`"{keyword}"`' in table, keyword
    # the examples of the table are what the parser gives on Tue 12 May 2026
    tuesday = dt.datetime(2026, 5, 12, 12, tzinfo=dt.UTC)
    for keyword in (*dates.RANGE_KEYWORDS, "-7D", "-2W"):
        first, last = dates.relative_range(keyword, timezone="UTC", now=tuesday)
        row = next(line for line in table.splitlines() if f'`"{keyword}"`' in line)
        assert row.rstrip(" |").endswith(f"{first} – {last}"), row
    for keyword in dates.COMPARE_KEYWORDS:
        first, last = dates.compare_range(keyword, RANGE)
        row = next(line for line in table.splitlines() if f'`"{keyword}"`' in line)
        assert row.rstrip(" |").endswith(f"{first} – {last}"), row
