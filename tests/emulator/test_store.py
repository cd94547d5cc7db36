"""The data store: synthetic data (size, seasonality, consistency, determinism) and user data."""

from __future__ import annotations

import importlib.util
import shutil
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from upstack_pandas.emulator.engine.backend import Backend, DataLoadError
from upstack_pandas.emulator.engine.time import to_utc

NOW = "2026-11-26T12:00:00Z"
USERDATA = Path(__file__).resolve().parents[1] / "fixtures" / "userdata"
DOC = Path(__file__).resolve().parents[2] / "docs" / "emulator-data.md"
_spec = importlib.util.spec_from_file_location(
    "emulator_tables", DOC.parent / "_gen" / "emulator_tables.py"
)
assert _spec is not None and _spec.loader is not None
_docs = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(_docs)
QUERY = {
    "pixelId": "pixel",
    "granularity": "week",
    "dimensions": ["channel"],
    "measures": [{"measure": "orders.total_revenue"}, {"measure": "core.new_customer_roas"}],
    "dateRange": {"start": "2026-09-01", "end": "2026-10-31"},
}


# --- synthetic data -------------------------------------------------------------------------------


def test_size_span_and_clock(backend: Backend, tables: dict[str, pd.DataFrame]) -> None:
    orders, sessions, spend = tables["orders"], tables["sessions"], tables["ad_spend"]
    now = pd.Timestamp(NOW)
    assert len(orders) >= 50_000
    assert orders["ts"].max() <= now and sessions["ts"].max() <= now
    assert orders["ts"].min() <= now - pd.Timedelta(days=2 * 365)
    assert orders["ts"].max() >= now - pd.Timedelta(hours=6)  # "the last 30 days" always has data
    assert str(orders["ts"].dt.tz) == "UTC" and spend["date"].max() == pd.Timestamp("2026-11-26")
    assert set(spend["platform"]) == {"meta", "google", "tiktok"}
    assert backend.now == to_utc(NOW)


def test_weekly_and_yearly_seasonality(orders: pd.DataFrame) -> None:
    daily = orders.set_index("ts")["total_revenue"].resample("D").sum().iloc[1:-1]
    days = pd.DatetimeIndex(daily.index)
    by_weekday = daily.groupby(days.day_of_week).mean()
    assert by_weekday[0] > by_weekday[5] * 1.05  # Mondays beat Saturdays
    year = daily["2025-01-01":"2025-12-31"]
    by_month = year.groupby(pd.DatetimeIndex(year.index).month).mean()
    assert by_month[11] > by_month[6] * 1.2 and by_month[12] > by_month[6] * 1.2
    black_friday = daily["2025-11-28"]
    assert black_friday > daily["2025-11-01":"2025-11-20"].mean() * 1.5


def test_tables_are_consistent(tables: dict[str, pd.DataFrame]) -> None:
    orders, sessions, customers = tables["orders"], tables["sessions"], tables["customers"]
    assert orders["order_id"].is_unique and sessions["session_id"].is_unique
    assert (
        orders["total_revenue"] - (orders["gross_revenue"] - orders["discounts"])
    ).abs().max() < 1e-9
    assert (
        orders["net_revenue"] - (orders["total_revenue"] - orders["refunds"])
    ).abs().max() < 1e-9
    assert ((orders["gross_revenue"] * 100).round(6) % 1 == 0).all()  # whole cents
    first_touch = sessions.groupby("customer_id")["ts"].min()
    first_order = orders.groupby("customer_id")["ts"].min()
    assert (
        first_touch[first_order.index] < first_order
    ).all()  # a touchpoint precedes every first order
    is_first = ~orders.sort_values("ts")["customer_id"].duplicated()
    assert ((orders["customer_type"] == "new_customer") == is_first.sort_index()).all()
    assert (customers.set_index("customer_id")["first_order_at"] == first_order).all()
    entities = tables["entities"]
    ads = entities[entities["level"] == "ad"]
    for level in ("account", "campaign", "adset"):
        assert set(ads[f"{level}_id"]) <= set(entities.loc[entities["level"] == level, "id"])
    assert not tables["ad_spend"].duplicated(["date", "ad_id"]).any()


def test_same_seed_same_answers_other_seed_other_answers(backend: Backend) -> None:
    again = Backend(seed=7, now=NOW)  # build time: benchmarks/ (bench_load), not a timed test
    assert again.query(QUERY) == backend.query(QUERY)
    pd.testing.assert_frame_equal(again.tables()["orders"], backend.tables()["orders"])
    other = Backend(seed=8, now=NOW)
    assert other.query(QUERY) != backend.query(QUERY)


def test_now_accepts_dates_strings_and_naive_datetimes() -> None:
    assert to_utc("2026-11-26") == pd.Timestamp("2026-11-26T00:00Z")
    assert to_utc(pd.Timestamp("2026-11-26 12:00").to_pydatetime()) == pd.Timestamp(NOW)
    assert to_utc("2026-11-26T07:00:00-05:00") == pd.Timestamp(NOW)


# --- user data ------------------------------------------------------------------------------------


def test_user_data_defaults(userdata_backend: Backend) -> None:
    t = userdata_backend.tables()
    orders = t["orders"].set_index("order_id")
    assert list(orders.loc[["1001", "1003", "1008"], "customer_type"]) == [
        "new_customer",
        "returning_customer",
        "returning_customer",
    ]
    assert orders.loc["1003", "ts"] == pd.Timestamp("2026-11-05T14:00Z")  # offsets honoured
    assert orders.loc["1002", "ts"] == pd.Timestamp("2026-11-02T18:30Z")  # naive = UTC
    assert (orders.loc["1001", "total_revenue"], orders.loc["1003", "net_revenue"]) == (100.0, 50.0)
    sessions = t["sessions"]
    assert set(sessions["channel"]) == {
        "meta_ads",
        "google_ads",
        "organic_search",
        "email",
        "tiktok_ads",
        "direct",
        "referral",
    }
    assert t["ad_spend"].empty and t["entities"].empty


def test_user_data_numbers(userdata_backend: Backend) -> None:
    result = userdata_backend.query(
        {
            **QUERY,
            "granularity": "none",
            "dimensions": [],
            "dateRange": {"start": "2026-11-01", "end": "2026-11-26"},
            "measures": [
                {"measure": "orders.total_revenue"},
                {"measure": "orders.net_revenue"},
                {"measure": "channel.spend"},
                {"measure": "sessions.sessions"},
            ],
        }
    )
    got = {d["measure"]: d for d in result["results"][0]["measureDetails"]}
    # the voided and the pending order are not counted
    assert got["orders.total_revenue"]["primarySum"] == pytest.approx(455.25)
    assert got["orders.net_revenue"]["primarySum"] == pytest.approx(425.25)
    assert got["sessions.sessions"]["primarySum"] == 9
    assert got["channel.spend"]["success"] is False and got["channel.spend"]["primarySum"] is None


def test_user_data_with_parquet_ad_spend(tmp_path: Path) -> None:
    for name in ("orders.csv", "sessions.csv"):
        shutil.copy(USERDATA / name, tmp_path / name)
    pd.DataFrame(
        {
            "date": pd.to_datetime(["2026-11-02", "2026-11-02", "2026-11-03"]),
            "platform": ["meta", "google", "meta"],
            "campaign_id": ["c1", "g1", "c1"],
            "spend": [50.0, 25.0, 25.0],
            "impressions": [5000, 1000, 2500],
        }
    ).to_parquet(tmp_path / "ad_spend.parquet")
    backend = Backend(data_dir=tmp_path, now=NOW)
    body = {
        **QUERY,
        "granularity": "none",
        "dimensions": [],
        "dateRange": {"start": "2026-11-01", "end": "2026-11-26"},
        "measures": [
            {"measure": "channel.spend"},
            {"measure": "core.mer"},
            {"measure": "meta.cpm"},
        ],
    }
    got = {
        d["measure"]: d["primarySum"] for d in backend.query(body)["results"][0]["measureDetails"]
    }
    assert got == pytest.approx({"channel.spend": 100.0, "core.mer": 4.5525, "meta.cpm": 10.0})
    listing = backend.channel_details(
        {"pixelId": "p", "granularity": "none", "dimensions": ["campaign"]}
    )
    assert [r["basicDetails"]["id"] for r in listing["results"]] == ["c1", "g1"]
    assert listing["results"][0]["basicDetails"]["accountId"] == "meta-account"


def _write(tmp_path: Path, name: str, text: str) -> Path:
    (tmp_path / name).write_text(text)
    return tmp_path


@pytest.mark.parametrize(
    ("files", "words"),
    [
        ({}, ["orders.parquet or orders.csv"]),
        (
            {"orders.csv": "order_id,ts,gross_revenue\n1,2026-01-01T00:00:00Z,5\n"},
            ["orders.csv", "customer_id"],
        ),
        (
            {"orders.csv": "order_id,customer_id,ts,gross_revenue\n1,a,yesterday,5\n"},
            ["orders.csv", "'ts'"],
        ),
        (
            {"orders.csv": "order_id,customer_id,ts,gross_revenue\n1,a,2026-01-01,five\n"},
            ["'gross_revenue'"],
        ),
        (
            {
                "orders.csv": "order_id,customer_id,ts,gross_revenue\n1,a,2026-01-01,5\n1,b,2026-01-02,6\n"
            },
            ["duplicate", "'1'"],
        ),
        (
            {
                "orders.csv": "order_id,customer_id,ts,gross_revenue,status\n1,a,2026-01-01,5,shipped\n"
            },
            ["orders.status", "shipped"],
        ),
        (
            {"orders.csv": "order_id,customer_id,ts,gross_revenue\n1,,2026-01-01,5\n"},
            ["'customer_id'", "row 1"],
        ),
        (
            {
                "orders.csv": "order_id,customer_id,ts,gross_revenue\n1,a,2026-01-01,5\n",
                "ad_spend.csv": "date,spend\n2026-01-01,5\n",
            },
            ["ad_spend.csv", "'platform'"],
        ),
    ],
)
def test_user_data_errors_name_the_problem(
    tmp_path: Path, files: dict[str, str], words: list[str]
) -> None:
    for name, text in files.items():
        _write(tmp_path, name, text)
    with pytest.raises(DataLoadError) as err:
        Backend(data_dir=tmp_path, now=NOW)
    assert all(w in str(err.value) for w in words), str(err.value)


def test_missing_data_directory(tmp_path: Path) -> None:
    with pytest.raises(DataLoadError, match="does not exist"):
        Backend(data_dir=tmp_path / "nope", now=NOW)


# --- docs -----------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", sorted(_docs.GENERATED))
def test_docs_tables_match_the_code(name: str) -> None:
    text = DOC.read_text("utf-8")
    hint = "regenerate with: python docs/_gen/emulator_tables.py docs/emulator-data.md"
    assert _docs.section(text, name) == _docs.GENERATED[name](), hint


def test_docs_name_every_measure(backend: Backend) -> None:
    text = DOC.read_text("utf-8")
    missing: list[Any] = [m for m in backend.measure_ids() if f"`{m}`" not in text]
    assert missing == []
