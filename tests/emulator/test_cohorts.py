"""``Backend.cohorts``: retention, LTV and margins per cohort and period, against pandas."""

from __future__ import annotations

from typing import Any

import pandas as pd
import pytest

from upstack_pandas.emulator.engine.backend import Backend, QueryError

ALL = [
    "orders.ltv_cohort_gross_revenue",
    "orders.ltv_cohort_net_revenue",
    "orders.customers_cohort",
    "orders.avg_order_value_cohort",
    "orders.cohort_retention_percent",
    "orders.cohort_cm1",
    "orders.cohort_cm2",
]


def cohorts(backend: Backend, **body: Any) -> dict[str, Any]:
    request: dict[str, Any] = {
        "pixelId": "pixel",
        "granularity": "month",
        "measures": ALL,
        "dateRange": {"start": "2026-01-01", "end": "2026-01-31"},
    }
    request.update(body)
    result: dict[str, Any] = backend.cohorts(request)["results"][0]
    return result


def cohort_frame(orders: pd.DataFrame, tz: str, start: str, end: str) -> pd.DataFrame:
    """Orders of the customers whose first order falls in [start, end] (local dates), with month index."""
    local = orders.assign(local=orders["ts"].dt.tz_convert(tz).dt.tz_localize(None))
    first = local.groupby("customer_id")["local"].min()
    members = first[
        (first >= pd.Timestamp(start)) & (first < pd.Timestamp(end) + pd.Timedelta(days=1))
    ]
    mine = local[local["customer_id"].isin(members.index)].copy()
    cohort_start = mine["customer_id"].map(members).dt.to_period("M")
    mine["k"] = (mine["local"].dt.to_period("M") - cohort_start).apply(lambda off: off.n)
    return mine


def test_one_cohorts_monthly_retention_and_ltv(backend: Backend, orders: pd.DataFrame) -> None:
    result = cohorts(backend)
    mine = cohort_frame(orders, "UTC", "2026-01-01", "2026-01-31")
    size = mine["customer_id"].nunique()
    active = mine.groupby("k")["customer_id"].nunique()
    gross = mine.groupby("k")["gross_revenue"].sum()
    cm2 = mine.assign(
        cm2=mine["net_revenue"] - mine["cogs"] - mine["shipping_cost"] - mine["payment_fees"]
    )
    cm2_by_k = cm2.groupby("k")["cm2"].sum()
    rows = result["data"]["primary"]
    assert [r["period"] for r in rows] == list(range(11))  # January .. November 2026 (now)
    for row in rows:
        k = row["period"]
        assert row["cohort"] == "2026-01-01" and row["cohortSize"] == size
        assert row["orders.customers_cohort"] == active.get(k, 0)
        assert row["orders.cohort_retention_percent"] == pytest.approx(
            active.get(k, 0) / size * 100
        )
        assert row["orders.ltv_cohort_gross_revenue"] == pytest.approx(gross.loc[:k].sum() / size)
        assert row["orders.cohort_cm2"] == pytest.approx(cm2_by_k.loc[:k].sum() / size)
        count = (mine["k"] == k).sum()
        assert row["orders.avg_order_value_cohort"] == (
            pytest.approx(gross[k] / count) if count else None
        )
    assert rows[0]["orders.cohort_retention_percent"] == 100.0
    assert rows[3]["dt"] == "2026-01-01T00:00:00+00:00"
    assert (rows[3]["start"], rows[3]["end"]) == (
        "2026-04-01T00:00:00+00:00",
        "2026-05-01T00:00:00+00:00",
    )


def test_period_zero_is_100_percent_and_no_future_periods(backend: Backend) -> None:
    result = cohorts(
        backend,
        granularity="week",
        dateRange={"start": "2026-09-01", "end": "2026-11-26"},
        measures=["orders.cohort_retention_percent", "orders.ltv_cohort_net_revenue"],
        timezone="America/New_York",
    )
    rows = result["data"]["primary"]
    by_cohort: dict[str, list[dict[str, Any]]] = {}
    for row in rows:
        by_cohort.setdefault(row["cohort"], []).append(row)
    assert min(by_cohort) == "2026-08-31" and max(by_cohort) == "2026-11-23"  # Mondays
    for cohort, cells in by_cohort.items():
        assert cells[0]["period"] == 0 and cells[0]["orders.cohort_retention_percent"] == 100.0
        assert [c["period"] for c in cells] == list(range(len(cells)))
        assert cells[-1]["start"] <= "2026-11-23T00:00:00-05:00", (
            cohort
        )  # the current week is the last
        ltv = [c["orders.ltv_cohort_net_revenue"] for c in cells]
        assert ltv == sorted(ltv)
    assert len(by_cohort["2026-11-23"]) == 1 and result["dimensions"] == ["cohort", "period"]
    assert result["compareDateRange"] is None and result["data"]["compare"] == []


def test_cohorts_follow_the_request_timezone(backend: Backend, orders: pd.DataFrame) -> None:
    for tz in ("UTC", "Asia/Tokyo"):
        result = cohorts(backend, timezone=tz, measures=["orders.customers_cohort"])
        expected = cohort_frame(orders, tz, "2026-01-01", "2026-01-31")["customer_id"].nunique()
        assert result["data"]["primary"][0]["cohortSize"] == expected, tz


def test_filters_and_details(backend: Backend, orders: pd.DataFrame) -> None:
    result = cohorts(
        backend,
        filters={"field": "orders.country", "op": "equals", "value": "US"},
        measures=["orders.customers_cohort", "orders.ltv_cohort_gross_revenue"],
    )
    mine = cohort_frame(orders[orders["country"] == "US"], "UTC", "2026-01-01", "2026-01-31")
    assert result["data"]["primary"][0]["cohortSize"] == mine["customer_id"].nunique()
    customers, ltv = result["measureDetails"]
    assert customers["primarySum"] == mine["customer_id"].nunique() and not customers["isAverage"]
    assert ltv["primarySum"] == pytest.approx(
        mine["gross_revenue"].sum() / mine["customer_id"].nunique()
    )
    assert ltv["isAverage"] and ltv["success"] and ltv["percentDiff"] is None


def test_user_data_cohort_by_hand(userdata_backend: Backend) -> None:
    result = cohorts(userdata_backend, dateRange={"start": "2026-11-01", "end": "2026-11-30"})
    # dave's only order is voided and carol's pending: neither counts (alice, bob, erin do)
    (row,) = result["data"]["primary"]
    assert row["cohortSize"] == 3 and row["orders.ltv_cohort_gross_revenue"] == pytest.approx(
        (250.0 + 135.25 + 99.99) / 3
    )


@pytest.mark.parametrize(
    ("body", "path"),
    [
        ({"measures": ["orders.total_revenue"]}, "measures.0"),
        ({"granularity": "day"}, "granularity"),
        (
            {"filters": {"field": "channel.account", "op": "equals", "value": "act_1001"}},
            "filters.field",
        ),
        ({"dateRange": None}, "dateRange"),
        ({"timezone": "Nowhere/Special"}, "timezone"),
    ],
)
def test_semantic_errors(backend: Backend, body: dict[str, Any], path: str) -> None:
    with pytest.raises(QueryError) as err:
        cohorts(backend, **body)
    assert err.value.errors[0]["path"] == path
