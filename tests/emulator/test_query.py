"""``Backend.query`` and the catalog: numbers against independent pandas, shapes, validation, speed."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pandas as pd
import pytest

from upstack_pandas.emulator.engine.backend import Backend, QueryError

NY = "America/New_York"


def run(backend: Backend, **body: Any) -> dict[str, Any]:
    request: dict[str, Any] = {"pixelId": "pixel", "granularity": "day"}
    request.update(body)
    result: dict[str, Any] = backend.query(request)["results"][0]
    return result


def measures(*ids: str, pacing: bool = False) -> list[dict[str, Any]]:
    return [{"measure": m, "pacing": pacing} for m in ids]


def detail(result: dict[str, Any], measure: str) -> dict[str, Any]:
    return next(d for d in result["measureDetails"] if d["measure"] == measure)


# --- numbers, recomputed with pandas ---------------------------------------------------------------


def test_revenue_by_day_in_new_york_across_the_dst_change(
    backend: Backend, orders: pd.DataFrame
) -> None:
    result = run(
        backend,
        measures=measures("orders.total_revenue"),
        timezone=NY,
        dateRange={"start": "2026-10-25", "end": "2026-11-04"},
        compareDateRange=None,
    )
    local_day = orders["ts"].dt.tz_convert(NY).dt.strftime("%Y-%m-%d")
    expected = orders.groupby(local_day)["total_revenue"].sum()
    rows = {row["dt"][:10]: row for row in result["data"]["primary"]}
    assert len(rows) == 11
    for day, row in rows.items():
        assert row["orders.total_revenue"] == pytest.approx(expected[day], abs=1e-6), day
    fall_back = rows["2026-11-01"]  # 25 hours long
    assert (fall_back["dt"], fall_back["end"]) == (
        "2026-11-01T00:00:00-04:00",
        "2026-11-02T00:00:00-05:00",
    )
    utc_day = orders["ts"].dt.strftime("%Y-%m-%d")
    assert expected["2026-11-01"] != pytest.approx(
        orders.groupby(utc_day)["total_revenue"].sum()["2026-11-01"]
    )


def test_spring_forward_day_is_23_hours(backend: Backend, orders: pd.DataFrame) -> None:
    result = run(
        backend,
        measures=measures("orders.total_revenue"),
        timezone=NY,
        dateRange={"start": "2026-03-08", "end": "2026-03-08"},
        compareDateRange=None,
    )
    (row,) = result["data"]["primary"]
    assert (row["start"], row["end"]) == ("2026-03-08T00:00:00-05:00", "2026-03-09T00:00:00-04:00")
    lo, hi = pd.Timestamp("2026-03-08", tz=NY), pd.Timestamp("2026-03-09", tz=NY)
    assert (hi - lo) == pd.Timedelta(hours=23)
    inside = orders[(orders["ts"] >= lo) & (orders["ts"] < hi)]
    assert row["orders.total_revenue"] == pytest.approx(inside["total_revenue"].sum(), abs=1e-6)


def _monday(ts: pd.Series) -> pd.Series:
    day = ts.dt.normalize()
    monday: pd.Series = day - pd.to_timedelta(day.dt.day_of_week, unit="D")
    return monday


def test_new_customer_roas_by_week(
    backend: Backend, tables: dict[str, pd.DataFrame], orders: pd.DataFrame
) -> None:
    result = run(
        backend,
        granularity="week",
        measures=measures("core.new_customer_roas", "channel.spend"),
        dateRange={"start": "2026-08-31", "end": "2026-10-25"},
    )
    sessions = tables["sessions"].sort_values(["ts", "session_id"])[
        ["customer_id", "ts", "platform"]
    ]
    last_touch = pd.merge_asof(
        orders.sort_values("ts"),
        sessions.rename(columns={"ts": "ts_s"}),
        left_on="ts",
        right_on="ts_s",
        by="customer_id",
        direction="backward",
        tolerance=pd.Timedelta(days=30),
    )
    paid = last_touch["platform"].notna() & (last_touch["platform"] != "(none)")
    nc = last_touch[paid & (last_touch["customer_type"] == "new_customer")]
    revenue = nc.groupby(_monday(nc["ts"].dt.tz_localize(None)))["total_revenue"].sum()
    spend = tables["ad_spend"]
    weekly_spend = spend.groupby(_monday(spend["date"]))["spend"].sum()
    rows = result["data"]["primary"]
    assert len(rows) == 8
    for row in rows:
        week = pd.Timestamp(row["dt"][:10])
        assert row["channel.spend"] == pytest.approx(weekly_spend[week], abs=1e-6)
        assert row["core.new_customer_roas"] == pytest.approx(
            revenue[week] / weekly_spend[week], rel=1e-9
        )
    weeks = [pd.Timestamp(r["dt"][:10]) for r in rows]
    ratio_of_sums = revenue[weeks].sum() / weekly_spend[weeks].sum()
    assert detail(result, "core.new_customer_roas")["primarySum"] == pytest.approx(
        ratio_of_sums, rel=1e-9
    )
    mean_of_ratios = (revenue[weeks] / weekly_spend[weeks]).mean()
    assert ratio_of_sums != pytest.approx(mean_of_ratios, rel=1e-6)


def test_aov_is_a_ratio_of_sums_and_details_add_up(backend: Backend, orders: pd.DataFrame) -> None:
    result = run(
        backend,
        measures=measures("orders.aov", "orders.total_revenue", "orders.orders"),
        dateRange={"start": "2026-10-01", "end": "2026-10-31"},
    )
    inside = orders[
        (orders["ts"] >= pd.Timestamp("2026-10-01", tz="UTC"))
        & (orders["ts"] < pd.Timestamp("2026-11-01", tz="UTC"))
    ]
    aov, revenue, count = (
        detail(result, m) for m in ("orders.aov", "orders.total_revenue", "orders.orders")
    )
    assert revenue["primarySum"] == pytest.approx(inside["total_revenue"].sum(), abs=1e-6)
    assert count["primarySum"] == len(inside)
    assert (
        aov["primarySum"]
        == aov["primaryAvg"]
        == pytest.approx(inside["total_revenue"].sum() / len(inside))
    )
    assert revenue["primaryAvg"] == pytest.approx(revenue["primarySum"] / 31)
    assert result["compareDateRange"] == {"start": "2026-08-31", "end": "2026-09-30"}
    expected = (revenue["primarySum"] - revenue["compareSum"]) / abs(revenue["compareSum"]) * 100
    assert revenue["percentDiff"] == pytest.approx(expected)
    assert aov["isAverage"] and aov["calculatedAverage"] and not revenue["isAverage"]
    assert not revenue["hasPacing"]


def test_filters_apply_to_their_own_source_only(backend: Backend) -> None:
    base = {"dateRange": {"start": "2026-10-01", "end": "2026-10-31"}, "granularity": "none"}
    new_only = {"field": "orders.customer_type", "op": "equals", "value": "new_customer"}
    filtered = run(
        backend,
        measures=measures("orders.total_revenue", "channel.spend"),
        filters=new_only,
        **base,
    )
    plain = run(backend, measures=measures("orders.new_customer_revenue", "channel.spend"), **base)
    assert detail(filtered, "orders.total_revenue")["primarySum"] == pytest.approx(
        detail(plain, "orders.new_customer_revenue")["primarySum"]
    )
    assert (
        detail(filtered, "channel.spend")["primarySum"]
        == detail(plain, "channel.spend")["primarySum"]
    )
    meta = run(
        backend,
        measures=measures("channel.spend"),
        **base,
        filters={"and": [{"field": "channel.resource_source", "op": "in", "value": ["meta"]}]},
    )
    assert detail(meta, "channel.spend")["primarySum"] == pytest.approx(
        detail(run(backend, measures=measures("meta.spend"), **base), "meta.spend")["primarySum"]
    )


def test_filter_operators(backend: Backend, orders: pd.DataFrame) -> None:
    inside = orders[
        (orders["ts"] >= pd.Timestamp("2026-10-01", tz="UTC"))
        & (orders["ts"] < pd.Timestamp("2026-11-01", tz="UTC"))
    ]
    cases = [
        (
            {"field": "orders.country", "op": "not_in", "value": ["US", "CA"]},
            ~inside["country"].isin(["US", "CA"]),
        ),
        (
            {"field": "orders.total_revenue", "op": "greater_than", "value": 100},
            inside["total_revenue"] > 100,
        ),
        (
            {"field": "orders.device", "op": "contains", "value": "OBI"},
            inside["device"] == "mobile",
        ),
        (
            {
                "or": [
                    {"field": "orders.country", "op": "equals", "value": "GB"},
                    {"field": "orders.total_revenue", "op": "less_than_or_equal", "value": 20},
                ]
            },
            (inside["country"] == "GB") | (inside["total_revenue"] <= 20),
        ),
    ]
    for flt, mask in cases:
        result = run(
            backend,
            measures=measures("orders.orders"),
            granularity="none",
            filters=flt,
            dateRange={"start": "2026-10-01", "end": "2026-10-31"},
        )
        assert detail(result, "orders.orders")["primarySum"] == mask.sum(), flt


def test_order_settings_count_pending_and_voided_orders(
    backend: Backend, tables: dict[str, pd.DataFrame]
) -> None:
    body = {
        "measures": measures("orders.orders"),
        "granularity": "none",
        "dateRange": {"start": "2023-01-01", "end": "2026-11-26"},
    }

    def count(**settings: bool) -> float:
        result = run(backend, orderSettings=settings, **body) if settings else run(backend, **body)
        return float(detail(result, "orders.orders")["primarySum"])

    status = tables["orders"]["status"].value_counts()
    assert count() == count(countPendingOrders=False, countVoidedOrders=False) == status["paid"]
    assert count(countPendingOrders=True) == status["paid"] + status["pending"]
    assert count(countVoidedOrders=True) == status["paid"] + status["voided"]
    assert count(countPendingOrders=True, countVoidedOrders=True) == len(tables["orders"])


# --- shapes ---------------------------------------------------------------------------------------


def test_every_bucket_is_present_without_dimensions(backend: Backend) -> None:
    result = run(
        backend,
        measures=measures("orders.total_revenue", "orders.aov"),
        dateRange={"start": "2026-11-20", "end": "2026-11-30"},
    )
    rows = result["data"]["primary"]
    assert [r["dt"][:10] for r in rows] == [f"2026-11-{d}" for d in range(20, 31)]
    future = rows[-1]
    assert future["orders.total_revenue"] is None and future["orders.aov"] is None  # D81
    assert len(result["data"]["compare"]) == 11 and result["compareDateRange"] == {
        "start": "2026-11-09",
        "end": "2026-11-19",
    }


def test_dimensions_rows_sorted_with_data_only(backend: Backend) -> None:
    result = run(
        backend,
        measures=measures("orders.orders"),
        dimensions=["channel", "device"],
        dateRange={"start": "2026-11-01", "end": "2026-11-03"},
        compareDateRange=None,
    )
    rows = result["data"]["primary"]
    keys = [(r["dt"], r["channel"], r["device"]) for r in rows]
    assert keys == sorted(keys) and len(set(keys)) == len(keys)
    assert all(r["orders.orders"] > 0 for r in rows)
    assert result["compareDateRange"] is None and result["data"]["compare"] == []


def test_granularity_none_is_one_point_per_combination(backend: Backend) -> None:
    result = run(
        backend,
        granularity="none",
        measures=measures("orders.orders"),
        dimensions=["customer_type"],
        dateRange={"start": "2026-10-01", "end": "2026-10-31"},
        timezone=NY,
    )
    rows = result["data"]["primary"]
    assert [r["customer_type"] for r in rows] == ["new_customer", "returning_customer"]
    assert {(r["dt"], r["start"], r["end"]) for r in rows} == {
        ("2026-10-01T00:00:00-04:00", "2026-10-01T00:00:00-04:00", "2026-11-01T00:00:00-04:00")
    }
    assert result["compareDateRange"] is None


@pytest.mark.parametrize(
    ("granularity", "count", "first", "last_end"),
    [
        (
            "hour",
            25,
            ("2026-11-01T00:00:00-04:00", "2026-11-01T00:00:00-04:00"),
            "2026-11-02T00:00:00-05:00",
        ),
        (
            "week",
            1,
            ("2026-10-26T00:00:00-04:00", "2026-11-01T00:00:00-04:00"),
            "2026-11-02T00:00:00-05:00",
        ),
        (
            "month",
            1,
            ("2026-11-01T00:00:00-04:00", "2026-11-01T00:00:00-04:00"),
            "2026-11-02T00:00:00-05:00",
        ),
        (
            "quarter",
            1,
            ("2026-10-01T00:00:00-04:00", "2026-11-01T00:00:00-04:00"),
            "2026-11-02T00:00:00-05:00",
        ),
        (
            "year",
            1,
            ("2026-01-01T00:00:00-05:00", "2026-11-01T00:00:00-04:00"),
            "2026-11-02T00:00:00-05:00",
        ),
    ],
)
def test_bucket_bounds(
    backend: Backend, granularity: str, count: int, first: tuple[str, str], last_end: str
) -> None:
    result = run(
        backend,
        granularity=granularity,
        measures=measures("orders.orders"),
        timezone=NY,
        dateRange={"start": "2026-11-01", "end": "2026-11-01"},
        compareDateRange=None,
    )
    rows = result["data"]["primary"]
    assert len(rows) == count
    assert (rows[0]["dt"], rows[0]["start"]) == first and rows[-1]["end"] == last_end
    total = run(
        backend,
        granularity="none",
        measures=measures("orders.orders"),
        timezone=NY,
        dateRange={"start": "2026-11-01", "end": "2026-11-01"},
    )
    assert sum(r["orders.orders"] for r in rows) == detail(total, "orders.orders")["primarySum"]


def test_minute_buckets_and_the_bucket_limit(backend: Backend) -> None:
    result = run(
        backend,
        granularity="minute",
        measures=measures("orders.orders"),
        dateRange={"start": "2026-11-02", "end": "2026-11-02"},
        compareDateRange=None,
    )
    assert len(result["data"]["primary"]) == 1440
    with pytest.raises(QueryError) as err:
        run(
            backend,
            granularity="second",
            measures=measures("orders.orders"),
            dateRange={"start": "2026-11-01", "end": "2026-11-05"},
        )
    assert err.value.errors[0]["path"] == "granularity"


def test_response_size_limit(backend: Backend) -> None:
    with pytest.raises(QueryError) as err:
        run(
            backend, measures=measures(*TEN), dateRange={"start": "1900-01-01", "end": "2100-12-31"}
        )
    assert "1,000,000" in str(err.value) and err.value.errors[0]["path"] == ""


def test_pacing_projects_the_current_bucket(backend: Backend) -> None:
    result = run(
        backend,
        measures=measures("orders.orders", "orders.aov", pacing=True),
        dateRange={"start": "2026-11-20", "end": "2026-11-26"},
    )
    orders, aov = detail(result, "orders.orders"), detail(result, "orders.aov")
    assert orders["hasPacing"] and aov["hasPacing"]
    today = result["data"]["primary"][-1]["orders.orders"]
    assert orders["pacedSum"] == pytest.approx(
        orders["primarySum"] - today + today * 2
    )  # 12:00 of a 24 h day
    assert "pacedSum" not in aov


def test_unavailable_measure_comes_back_null(userdata_backend: Backend) -> None:
    result = run(
        userdata_backend,
        measures=measures("core.mer", "orders.orders"),
        dimensions=["channel"],
        dateRange={"start": "2026-11-01", "end": "2026-11-26"},
    )
    mer = detail(result, "core.mer")
    assert mer["success"] is False and mer["primarySum"] is None
    assert all(r["core.mer"] is None for r in result["data"]["primary"])


# --- validation -----------------------------------------------------------------------------------

RANGE = {"start": "2026-10-01", "end": "2026-10-31"}


@pytest.mark.parametrize(
    ("body", "path", "words"),
    [
        ({"measures": measures("core.nc_roas")}, "measures.0.measure", ["core.new_customer_roas"]),
        (
            {"measures": measures("orders.cohort_retention_percent")},
            "measures.0.measure",
            ["cohort"],
        ),
        ({"measures": measures("attribution.revenue")}, "measures.0.measure", ["attribution"]),
        (
            {"measures": measures("core.new_customer_roas"), "dimensions": ["utm_source"]},
            "dimensions.0",
            ["core.new_customer_roas", "utm_source"],
        ),
        (
            {"measures": measures("orders.orders"), "dimensions": ["galaxy"]},
            "dimensions.0",
            ["galaxy"],
        ),
        (
            {
                "measures": measures("orders.orders"),
                "filters": {"field": "orders.nope", "op": "equals", "value": "x"},
            },
            "filters.field",
            ["orders.nope"],
        ),
        (
            {
                "measures": measures("orders.orders"),
                "filters": {
                    "and": [{"field": "orders.customer_type", "op": "contains", "value": "new"}]
                },
            },
            "filters.and.0.op",
            ["contains"],
        ),
        (
            {
                "measures": measures("orders.orders"),
                "filters": {"field": "orders.total_revenue", "op": "greater_than", "value": "ten"},
            },
            "filters.value",
            ["numbers"],
        ),
        (
            {
                "measures": measures("orders.orders"),
                "filters": {"field": "orders.country", "op": "in", "value": "US"},
            },
            "filters.value",
            ["array"],
        ),
        (
            {
                "measures": measures("orders.orders"),
                "dateRange": {"start": "2026-11-02", "end": "2026-11-01"},
            },
            "dateRange.start",
            ["after"],
        ),
        (
            {
                "measures": measures("orders.orders"),
                "dateRange": {"start": "2026-02-30", "end": "2026-03-01"},
            },
            "dateRange.start",
            ["2026-02-30"],
        ),
        (
            {
                "measures": measures("orders.orders"),
                "compareDateRange": {"start": "2026-09-15", "end": "2026-10-05"},
            },
            "compareDateRange",
            ["overlaps"],
        ),
        (
            {"measures": measures("orders.orders"), "timezone": "Mars/Olympus_Mons"},
            "timezone",
            ["Mars/Olympus_Mons"],
        ),
    ],
)
def test_semantic_errors(
    backend: Backend, body: dict[str, Any], path: str, words: list[str]
) -> None:
    with pytest.raises(QueryError) as err:
        run(backend, **{"dateRange": RANGE, **body})
    assert err.value.errors[0]["path"] == path
    text = str(err.value)
    assert all(word in text for word in words), text
    assert err.value.to_body()["errors"] == err.value.errors


# --- concurrency and speed ------------------------------------------------------------------------

TEN = (
    "orders.total_revenue",
    "orders.orders",
    "orders.aov",
    "orders.new_customer_orders",
    "orders.net_revenue",
    "sessions.conversion_rate",
    "sessions.sessions",
    "orders.cm1",
    "orders.refund_rate",
    "orders.new_customer_revenue",
)


def test_concurrent_queries_agree_with_sequential_ones(backend: Backend) -> None:
    bodies = [
        {"measures": measures(m), "dimensions": ["country"], "dateRange": RANGE} for m in TEN[:8]
    ]
    sequential = [run(backend, **b) for b in bodies]
    with ThreadPoolExecutor(max_workers=8) as pool:
        parallel = list(pool.map(lambda b: run(backend, **b), bodies))
    assert parallel == sequential


def test_two_year_daily_query_of_ten_measures_by_one_dimension(backend: Backend) -> None:
    """The big query answers (its latency is a target in benchmarks/, not a timed unit test)."""
    body = {
        "measures": measures(*TEN),
        "dimensions": ["utm_source"],
        "timezone": NY,
        "dateRange": {"start": "2024-11-27", "end": "2026-11-26"},
    }
    result = run(backend, **body)
    assert len(result["data"]["primary"]) > 5000


# --- catalog --------------------------------------------------------------------------------------


def test_catalog_has_the_documented_measures(backend: Backend) -> None:
    catalog = backend.measures()
    by_id = {m["id"]: m for m in catalog["measures"]}
    assert len(by_id) >= 40
    assert {m.split(".")[0] for m in by_id} >= {
        "core",
        "orders",
        "meta",
        "google",
        "tiktok",
        "channel",
        "sessions",
        "attribution",
    }
    assert by_id["core.new_customer_roas"]["title"] == "New Customer ROAS"
    assert by_id["core.new_customer_roas"]["shortTitle"] == "NC ROAS"
    assert (by_id["meta.cpm"]["title"], by_id["meta.cpm"]["preferredTrendDirection"]) == (
        "Facebook CPM",
        "down",
    )
    for mid in ("core.new_customer_mer", "orders.total_revenue", "channel.spend"):
        assert "query" in by_id[mid]["contexts"]
    cohort = {m for m, e in by_id.items() if e["contexts"] == ["cohort"]}
    assert cohort == {
        "orders.ltv_cohort_gross_revenue",
        "orders.ltv_cohort_net_revenue",
        "orders.customers_cohort",
        "orders.avg_order_value_cohort",
        "orders.cohort_retention_percent",
        "orders.cohort_cm1",
        "orders.cohort_cm2",
    }
    assert {
        "attribution.revenue",
        "attribution.orders",
        "attribution.new_customer_revenue",
        "attribution.new_customer_orders",
        "attribution.aov",
    } <= {m for m, e in by_id.items() if "attribution" in e["contexts"]}
    assert "channel" in by_id["channel.spend"]["contexts"]
    dims = {d["id"] for d in catalog["dimensions"]}
    for entry in by_id.values():
        assert entry["format"] in ("number", "currency", "percentage", "multiplier")
        assert entry["isPercentage"] == (entry["format"] == "percentage")
        assert (
            set(entry["dimensions"]) <= dims
            and entry["title"]
            and entry["shortTitle"]
            and entry["description"]
        )
    assert backend.measure_ids() == set(by_id)
    assert backend.catalog_entry("meta.cpm") == by_id["meta.cpm"]
    with pytest.raises(KeyError):
        backend.catalog_entry("meta.cmp")


def test_catalog_search_and_filters(backend: Backend) -> None:
    found = {m["id"] for m in backend.measures(search="nc roas")["measures"]}
    assert "core.new_customer_roas" in found
    assert {m["id"] for m in backend.measures(search="CPM")["measures"]} >= {
        "meta.cpm",
        "google.cpm",
        "tiktok.cpm",
        "channel.cpm",
    }
    filters = {f["id"]: f for f in backend.filters()["filters"]}
    assert filters["orders.customer_type"]["values"] == ["new_customer", "returning_customer"]
    assert "cohort" in filters["orders.customer_type"]["contexts"]
    assert set(filters["channel.resource_source"]["contexts"]) == {"query", "channel"}
    assert {"channel.account", "sessions.utm_source", "orders.country"} <= set(filters)
