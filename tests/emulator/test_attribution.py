"""``Backend.attribution``: models and windows against an independent pandas implementation."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pandas as pd
import pytest

from upstack_pandas.emulator.engine.backend import Backend, QueryError

JUNE = {"start": "2026-06-01", "end": "2026-06-30"}


def attribute(backend: Backend, **body: Any) -> list[dict[str, Any]]:
    request: dict[str, Any] = {
        "pixelId": "pixel",
        "dimension": "utm_source",
        "dateRange": JUNE,
        "attributionModel": "first_click",
        "attributionWindow": 30,
    }
    request.update(body)
    results: list[dict[str, Any]] = backend.attribution(request)["results"]
    return results


def totals(results: list[dict[str, Any]], measure: str = "attribution.revenue") -> dict[str, float]:
    out = {}
    for r in results:
        (point,) = r["data"]["primary"]
        out[r["dimensionFilters"][0][0]["value"]] = point[measure]
    return out


def in_june(orders: pd.DataFrame) -> pd.DataFrame:
    lo, hi = pd.Timestamp("2026-06-01", tz="UTC"), pd.Timestamp("2026-07-01", tz="UTC")
    return orders[(orders["ts"] >= lo) & (orders["ts"] < hi)]


@pytest.mark.parametrize("model", ["first_click", "last_click", "any_click"])
def test_revenue_by_utm_source_matches_pandas(
    backend: Backend,
    tables: dict[str, pd.DataFrame],
    orders: pd.DataFrame,
    credit: Callable[..., pd.DataFrame],
    model: str,
) -> None:
    results = attribute(
        backend, attributionModel=model, measures=["attribution.revenue", "attribution.orders"]
    )
    credited = credit(in_june(orders), tables["sessions"], model, 30, "utm_source")
    expected = credited.groupby("value")["total_revenue"].sum()
    got = totals(results)
    assert set(got) == set(expected.index)
    for value, revenue in expected.items():
        assert got[str(value)] == pytest.approx(revenue, abs=1e-6), value
    counts = credited.groupby("value").size()
    assert totals(results, "attribution.orders") == {k: float(v) for k, v in counts.items()}
    june_revenue = in_june(orders)["total_revenue"].sum()
    if model == "any_click":
        assert sum(got.values()) > june_revenue
    else:
        assert sum(got.values()) == pytest.approx(june_revenue, abs=1e-6)


def test_first_click_differs_from_last_click(backend: Backend) -> None:
    first = totals(attribute(backend, attributionModel="first_click"))
    last = totals(attribute(backend, attributionModel="last_click"))
    assert first != last and sum(first.values()) == pytest.approx(sum(last.values()))


def test_last_click_30_days_equals_query_by_last_touch(backend: Backend) -> None:
    last = totals(attribute(backend, attributionModel="last_click", dimension="channel"))
    query = backend.query(
        {
            "pixelId": "pixel",
            "granularity": "none",
            "dimensions": ["channel"],
            "dateRange": JUNE,
            "measures": [{"measure": "orders.total_revenue"}],
        }
    )["results"][0]
    by_channel = {row["channel"]: row["orders.total_revenue"] for row in query["data"]["primary"]}
    assert by_channel == pytest.approx(last)


def test_window_widens_credit(backend: Backend) -> None:
    narrow = totals(attribute(backend, attributionWindow=1))
    wide = totals(attribute(backend, attributionWindow=90))
    assert narrow["(direct)"] > wide.get("(direct)", 0.0)


def test_granular_results_with_compare_and_details(backend: Backend) -> None:
    results = attribute(
        backend,
        granularity="week",
        compareDateRange={"start": "2026-05-01", "end": "2026-05-31"},
        measures=["attribution.revenue", "attribution.aov"],
        timezone="America/New_York",
    )
    google = next(
        r
        for r in results
        if r["dimensionFilters"] == [[{"dimension": "utm_source", "value": "google"}]]
    )
    assert google["attributionModel"] == "first_click" and google["attributionWindow"] == 30
    rows = google["data"]["primary"]
    assert [r["dt"] for r in rows][:2] == ["2026-06-01T00:00:00-04:00", "2026-06-08T00:00:00-04:00"]
    assert all(r["utm_source"] == "google" for r in rows) and len(google["data"]["compare"]) == 5
    revenue = next(d for d in google["measureDetails"] if d["measure"] == "attribution.revenue")
    assert revenue["primarySum"] == pytest.approx(sum(r["attribution.revenue"] for r in rows))
    aov = next(d for d in google["measureDetails"] if d["measure"] == "attribution.aov")
    assert aov["isAverage"] and aov["percentDiff"] is not None


def test_order_filters_restrict_the_attributed_orders(backend: Backend) -> None:
    new_only = attribute(
        backend, filters={"field": "orders.customer_type", "op": "equals", "value": "new_customer"}
    )
    everyone = attribute(backend, measures=["attribution.new_customer_revenue"])
    assert totals(new_only) == pytest.approx(totals(everyone, "attribution.new_customer_revenue"))


def test_user_data_first_click_by_hand(userdata_backend: Backend) -> None:
    results = attribute(userdata_backend, dateRange={"start": "2026-11-01", "end": "2026-11-26"})
    # carol's only order (tiktok) is pending and dave's voided: neither is counted
    assert totals(results) == pytest.approx(
        {"facebook": 230.0, "google": 135.25, "instagram": 90.0}
    )


@pytest.mark.parametrize(
    ("body", "path"),
    [
        ({"attributionWindow": 45}, "attributionWindow"),
        ({"dimension": "campaign"}, "dimension"),
        ({"measures": ["orders.total_revenue"]}, "measures.0"),
        ({"measures": ["attribution.revenu"]}, "measures.0"),
        (
            {"filters": {"field": "sessions.utm_source", "op": "equals", "value": "google"}},
            "filters.field",
        ),
        ({"timezone": "Europe/Atlantis"}, "timezone"),
        ({"dateRange": {"start": "2026-06-30", "end": "2026-06-01"}}, "dateRange.start"),
    ],
)
def test_semantic_errors(backend: Backend, body: dict[str, Any], path: str) -> None:
    with pytest.raises(QueryError) as err:
        attribute(backend, **body)
    assert err.value.errors[0]["path"] == path
