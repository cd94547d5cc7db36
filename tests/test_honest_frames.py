"""Issue 11: frames, summaries and plots describe the rows they sit on (regression tests).

Expected values are computed independently in pandas from the emulator's tables (paid orders,
UTC days), never from the client's own output.
"""

from __future__ import annotations

import warnings
from pathlib import Path

import matplotlib
import pandas as pd
import pytest

import upstack_pandas as up
from upstack_pandas import metadata

matplotlib.use("Agg")

START, END = "2026-10-28", "2026-11-26"
MEASURES = ["orders.total_revenue", "core.new_customer_roas"]


@pytest.fixture(scope="module")
def orders(emulator) -> pd.DataFrame:
    frame = (
        emulator.backend()
        .store.cursor()
        .execute("SELECT ts, total_revenue, customer_type, lt_paid, status FROM order_facts")
        .df()
    )
    frame = frame[frame["status"] == "paid"].copy()
    frame["day"] = pd.to_datetime(frame["ts"], utc=True).dt.strftime("%Y-%m-%d")
    return frame


@pytest.fixture(scope="module")
def spend(emulator) -> pd.DataFrame:
    frame = emulator.backend().store.cursor().execute("SELECT date, spend FROM ad_spend").df()
    frame["day"] = pd.to_datetime(frame["date"]).dt.strftime("%Y-%m-%d")
    return frame


@pytest.fixture
def df(client) -> pd.DataFrame:
    up.set_default_client(client)
    yield up.read_upstack(MEASURES, START, END, client=client)
    up.set_default_client(None)


def _revenue(orders: pd.DataFrame, first: str, last: str) -> float:
    inside = orders[(orders["day"] >= first) & (orders["day"] <= last)]
    return float(inside["total_revenue"].sum())


def _nc_roas(orders: pd.DataFrame, spend: pd.DataFrame, first: str, last: str) -> float:
    new = orders[(orders["customer_type"] == "new_customer") & orders["lt_paid"].astype(bool)]
    revenue = _revenue(new, first, last)
    cost = spend[(spend["day"] >= first) & (spend["day"] <= last)]["spend"].sum()
    return revenue / float(cost)


def test_sliced_summary_is_the_five_rows_not_the_thirty_days(df, orders, spend) -> None:
    sliced = df.loc["2026-10-28":"2026-11-01"]
    assert metadata.scope_mismatch(sliced)
    summary = sliced.upstack.summary()
    expected = _revenue(orders, "2026-10-28", "2026-11-01")
    assert summary.loc["orders.total_revenue", "primary"] == pytest.approx(expected)
    assert summary.loc["orders.total_revenue", "primary"] != pytest.approx(
        _revenue(orders, START, END)
    )
    roas = _nc_roas(orders, spend, "2026-10-28", "2026-11-01")
    assert summary.loc["core.new_customer_roas", "primary"] == pytest.approx(roas, rel=1e-6)
    assert set(summary["source"]) == {"re-read"}


def test_sliced_summary_without_fetching_recomputes_sums_and_warns_for_ratios(df, orders) -> None:
    sliced = df.loc["2026-10-28":"2026-11-01"]
    with pytest.warns(up.IncompleteTotalsWarning, match="core.new_customer_roas"):
        summary = sliced.upstack.summary(fetch=False)
    assert summary.loc["orders.total_revenue", "primary"] == pytest.approx(
        _revenue(orders, "2026-10-28", "2026-11-01")
    )
    assert pd.isna(summary.loc["core.new_customer_roas", "primary"])
    assert summary.loc["core.new_customer_roas", "source"] == "unavailable"


@pytest.mark.parametrize(
    "change",
    [lambda d: d.resample("W").sum(), lambda d: d * 2, lambda d: pd.concat([d, d])],
    ids=["resample", "scaled", "concat"],
)
def test_changed_frames_never_show_the_old_totals(df, orders, change) -> None:
    changed = change(df)
    assert metadata.scope_mismatch(changed)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", up.IncompleteTotalsWarning)
        summary = changed.upstack.summary()
    rows_total = float(changed["orders.total_revenue"].sum())
    assert summary.loc["orders.total_revenue", "primary"] == pytest.approx(rows_total)
    assert pd.isna(summary.loc["core.new_customer_roas", "primary"])
    original = df.attrs["upstack"]["measures"]["orders.total_revenue"]["primarySum"]
    if not isinstance(changed.index, pd.DatetimeIndex) or len(changed) != 5:
        assert summary.loc["orders.total_revenue", "primary"] != pytest.approx(original)


def test_sparklines_of_a_slice_caption_the_slice_and_draw_its_own_compare(df, orders) -> None:
    with pytest.warns(up.IncompleteTotalsWarning):
        figure = up.sparklines(df.loc["2026-11-20":])
    caption = figure._suptitle.get_text()
    assert caption.startswith("2026-11-20 to 2026-11-26") and "by day" in caption
    # the compare range is 2026-09-28..10-27: the slice's positions 23..29 are 10-21..10-27
    assert "vs 2026-10-21 to 2026-10-27" in caption
    texts = [t.get_text() for ax in figure.axes for t in ax.texts if t.get_gid() == "value"]
    from upstack_pandas._display.formatting import format_value

    expected = format_value(_revenue(orders, "2026-11-20", "2026-11-26"), "currency", compact=True)
    assert texts[0] == expected
    (line,) = [line for line in figure.axes[0].lines if line.get_gid() == "compare"]
    days = pd.date_range("2026-10-21", "2026-10-27").strftime("%Y-%m-%d")
    expected_line = [_revenue(orders, day, day) for day in days]
    assert list(line.get_ydata()) == pytest.approx(expected_line)


def test_sparklines_never_present_a_summed_ratio(df) -> None:
    weekly = df.resample("W").sum()
    with pytest.warns(up.IncompleteTotalsWarning, match="core.new_customer_roas"):
        figure = up.sparklines(weekly)
    caption = figure._suptitle.get_text()
    assert "by week" in caption and "by day" not in caption
    values = [t.get_text() for ax in figure.axes for t in ax.texts if t.get_gid() == "value"]
    summed = f"{weekly['core.new_customer_roas'].sum():.2f}x"
    assert summed not in values and values[1] == "–"


def test_accessor_resample_is_exact_for_sums_and_ratios(df, orders, spend) -> None:
    weekly = df.upstack.resample("W")
    assert list(weekly.index.strftime("%Y-%m-%d")) == [
        "2026-10-26", "2026-11-02", "2026-11-09", "2026-11-16", "2026-11-23",
    ]  # fmt: skip
    bounds = [("2026-10-28", "2026-11-01"), ("2026-11-02", "2026-11-08"), ("2026-11-23", END)]
    for (first, last), label in zip(
        bounds, ["2026-10-26", "2026-11-02", "2026-11-23"], strict=True
    ):
        row = weekly.loc[label]
        assert row["orders.total_revenue"] == pytest.approx(_revenue(orders, first, last))
        assert row["core.new_customer_roas"] == pytest.approx(
            _nc_roas(orders, spend, first, last), rel=1e-6
        )
    meta = weekly.attrs["upstack"]
    assert meta["granularity"] == "week" and not metadata.scope_mismatch(weekly)
    assert meta["scope"]["dateRange"] == {"start": START, "end": END}


def test_regroup_by_dimension_is_exact(client, orders) -> None:
    frame = up.read_upstack(
        "orders.total_revenue", "2026-11-01", "2026-11-07", dimensions=["customer_type"],
        client=client,
    )  # fmt: skip
    total = frame.upstack.regroup(client=client)
    assert list(total.index.names) == ["dt"]
    day = orders[orders["day"] == "2026-11-03"]["total_revenue"].sum()
    assert total.loc["2026-11-03", "orders.total_revenue"] == pytest.approx(day)


def test_to_dashboard_of_a_slice_uses_its_range(df, client) -> None:
    from upstack_pandas import dashboards

    view = dashboards.to_dashboard(df.loc["2026-11-20":], "honest slice", client=client)
    try:
        configuration = view.configuration
        assert configuration["dateRange"] == {"start": "2026-11-20", "end": END}
        assert configuration["granularity"] == "day"
        whole = dashboards.to_dashboard(df, "honest whole", client=client)
        assert whole.configuration["dateRange"] == {"start": START, "end": END}
        dashboards.delete(whole, client=client)
    finally:
        dashboards.delete(view, client=client)


def test_current_day_is_flagged_and_can_be_left_out(df, orders) -> None:
    flags = df.upstack.incomplete
    assert flags.sum() == 1 and bool(flags.iloc[-1])  # 2026-11-26 (server now: 12:00)
    summary = df.upstack.summary()
    assert summary["incomplete"].all()
    complete = df.upstack.summary(complete=True)
    assert not complete["incomplete"].any()
    assert complete.loc["orders.total_revenue", "primary"] == pytest.approx(
        _revenue(orders, START, "2026-11-25")
    )


def test_future_buckets_are_missing_not_zero(client) -> None:
    frame = up.read_upstack("orders.total_revenue", "2026-11-20", "2026-11-30", client=client)
    assert frame.loc["2026-11-27":, "orders.total_revenue"].isna().all()
    assert frame.loc["2026-11-26", "orders.total_revenue"] > 0


def test_default_range_ends_on_the_servers_today(client) -> None:
    frame = up.read_upstack("orders.total_revenue", client=client)
    assert frame.attrs["upstack"]["dateRange"]["end"] == "2026-11-26"
    assert frame.attrs["upstack"]["dateRange"]["start"] == "2026-10-28"
    assert frame["orders.total_revenue"].notna().all()


@pytest.mark.parametrize(
    ("start", "expected", "compare"),
    [
        ("-7D", ("2026-11-19", "2026-11-25"), ("2026-11-12", "2026-11-18")),
        ("last_week", ("2026-11-16", "2026-11-22"), ("2026-11-09", "2026-11-15")),
        ("mtd", ("2026-11-01", "2026-11-26"), ("2026-10-06", "2026-10-31")),
    ],
)
def test_relative_dates_count_from_the_servers_today(emulator, start, expected, compare) -> None:
    # a fresh client: the catalog's response tells the server's clock (2026-11-26, not the
    # machine's date) before the range is resolved
    with emulator.client(cache=False) as fresh:
        frame = up.read_upstack("orders.orders", start, granularity="none", client=fresh)
        cohorts = up.read_cohorts("orders.customers_cohort", start, client=fresh)
    with emulator.client(cache=False) as fresh:
        credited = up.read_attribution("utm_source", start, client=fresh)
    with emulator.client(cache=False) as fresh:
        channels = up.read_channel_details("channel.spend", start, client=fresh)
    assert tuple(credited.attrs["upstack"]["dateRange"].values()) == expected
    details = channels.attrs["upstack"]
    assert (details["dateRange"]["start"], details["dateRange"]["end"]) == expected
    meta = frame.attrs["upstack"]
    assert (meta["dateRange"]["start"], meta["dateRange"]["end"]) == expected
    assert (meta["compareDateRange"]["start"], meta["compareDateRange"]["end"]) == compare
    ranged = cohorts.attrs["upstack"]["dateRange"]
    assert (ranged["start"], ranged["end"]) == expected


def test_cohort_periods_still_running_are_flagged_and_hatched(client) -> None:
    cohorts = up.read_cohorts(start="2026-06-01", end="2026-11-26", client=client)
    flags = cohorts.upstack.incomplete
    newest = flags.groupby(level="cohort").apply(lambda s: bool(s.iloc[-1]))
    assert newest.all() and flags.sum() == len(newest)  # one running period per cohort
    matrix = cohorts.upstack.cohort_matrix()
    assert len(matrix.attrs["upstack"]["incompleteCells"]) == len(newest)
    masked = cohorts.upstack.cohort_matrix(incomplete="mask")
    assert masked.notna().sum().sum() == matrix.notna().sum().sum() - len(newest)
    ax = up.cohort_heatmap(cohorts)
    assert len([p for p in ax.patches if p.get_gid() == "incomplete"]) == len(newest)
    assert any(t.get_gid() == "incomplete-note" for t in ax.texts)


def test_unapplied_filter_warns_and_is_recorded(client) -> None:
    condition = {"field": "channel.campaign", "op": "equals", "value": "nope"}
    with pytest.warns(up.FilterNotAppliedWarning, match="orders.total_revenue"):
        frame = up.read_upstack(
            ["orders.total_revenue"], "2026-11-01", "2026-11-07", filters=condition,
            client=client,
        )  # fmt: skip
    recorded = frame.attrs["upstack"]["filtersNotApplied"]
    assert recorded[0]["field"] == "channel.campaign"
    assert recorded[0]["measures"] == ["orders.total_revenue"]


def test_success_false_measure_warns_with_the_reason(client) -> None:
    from upstack_pandas._wire import measure_details

    details = measure_details(
        {"measureDetails": [{"measure": "core.mer", "success": False, "message": "no ad_spend"}]}
    )
    meta = metadata.build(
        endpoint="/db-mgmt/api/query", request={}, fetched_at=None, from_cache=False,
        timezone="UTC", granularity="day", dimensions=[], date_range=None,
        compare_date_range=None,
        measures={"core.mer": metadata.measure_entry({}, details["core.mer"])},
    )  # fmt: skip
    with pytest.warns(up.MeasureUnavailableWarning, match=r"core\.mer.*no ad_spend"):
        metadata.warn(meta)


def test_parquet_round_trip_of_a_slice_keeps_its_scope(df, tmp_path: Path) -> None:
    weekly = df.upstack.resample("W")
    path = tmp_path / "weekly.parquet"
    weekly.upstack.to_parquet(path)
    back = up.read_parquet(path)
    assert back.attrs["upstack"]["scope"] == weekly.attrs["upstack"]["scope"]
    assert not metadata.scope_mismatch(back)
    sliced = df.loc["2026-11-20":]
    sliced.upstack.to_parquet(tmp_path / "sliced.parquet")
    again = up.read_parquet(tmp_path / "sliced.parquet")
    assert metadata.scope_mismatch(again) == metadata.scope_mismatch(sliced)


def test_titled_keeps_metadata(df) -> None:
    shown = df.upstack.titled()
    assert list(shown.columns) == ["Total Revenue", "New Customer ROAS"]
    assert not metadata.scope_mismatch(shown)
    summary = shown.upstack.summary()
    assert summary.loc["Total Revenue", "primary"] == pytest.approx(
        df.attrs["upstack"]["measures"]["orders.total_revenue"]["primarySum"]
    )


def test_measures_table_hides_the_old_totals_of_a_slice(df) -> None:
    assert df.upstack.measures.loc["orders.total_revenue", "primarySum"] == pytest.approx(
        df.attrs["upstack"]["measures"]["orders.total_revenue"]["primarySum"]
    )
    sliced = df.loc["2026-11-20":]
    assert pd.isna(sliced.upstack.measures.loc["orders.total_revenue", "primarySum"])
    assert sliced.upstack.meta("orders.total_revenue")["primarySum"] is None
    assert sliced.upstack.meta("orders.total_revenue")["title"] == "Total Revenue"


def test_a_slice_compares_with_the_same_positions_of_the_compare_period(
    df, orders, spend
) -> None:
    # the query: 2026-10-28..11-26 against 2026-09-28..10-27; the slice is positions 23..29
    sliced = df.loc["2026-11-20":]
    compare = sliced.upstack.compare
    assert compare.index.tolist() == list(pd.date_range("2026-10-21", "2026-10-27", tz="UTC"))
    assert compare["orders.total_revenue"].sum() == pytest.approx(
        _revenue(orders, "2026-10-21", "2026-10-27")
    )
    summary = sliced.upstack.summary()  # re-read against the same compare rows
    assert set(summary["source"]) == {"re-read"}
    assert summary.loc["orders.total_revenue", "compare"] == pytest.approx(
        _revenue(orders, "2026-10-21", "2026-10-27")
    )
    assert summary.loc["core.new_customer_roas", "compare"] == pytest.approx(
        _nc_roas(orders, spend, "2026-10-21", "2026-10-27"), rel=1e-6
    )
    filtered = df[df.index.day_of_week < 5].iloc[::-1]  # weekdays, last first
    weekdays = filtered.upstack.compare
    assert len(weekdays) == len(filtered)
    assert (weekdays.index - filtered.index == pd.Timedelta(days=-30)).all()  # previous 30 days
    mondays = df[df.index.day_of_week == 0]  # spaced like a weekly resample: not describable
    with pytest.raises(ValueError, match="by week"):
        _ = mondays.upstack.compare


@pytest.mark.parametrize(
    ("change", "why"),
    [(lambda d: d.resample("W").sum(), "by week"), (lambda d: pd.concat([d, d]), "twice")],
    ids=["resample", "concat"],
)
def test_compare_of_rows_that_are_not_the_querys_raises(df, change, why) -> None:
    with pytest.raises(ValueError, match=f"cannot describe this frame's rows: .*{why}"):
        _ = change(df).upstack.compare
