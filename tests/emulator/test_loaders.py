"""``--data`` loading through DuckDB's readers: the tables equal values worked out in pandas here.

A small shop is generated with numpy, written as CSV and as parquet, and loaded both into an
in-memory store and into a database file; every raw table is compared with what the documented
rules give when applied in plain pandas below (defaults, rounding, derived columns and tables).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from upstack_pandas.emulator.data import store as store_module
from upstack_pandas.emulator.data.errors import DataLoadError
from upstack_pandas.emulator.data.loaders import WORK_PREFIX
from upstack_pandas.emulator.data.store import Store
from upstack_pandas.emulator.data.taxonomy import classify_channel

NOW = datetime(2026, 11, 26, 12, tzinfo=UTC)
ORDER_MONEY = ["gross_revenue", "discounts", "total_revenue", "refunds", "net_revenue"]


def _shop(rng: np.random.Generator) -> dict[str, pd.DataFrame]:
    """Orders, sessions and ad spend with gaps (missing cells) where defaults apply."""
    n_o, n_s = 400, 1500
    start = pd.Timestamp("2026-09-01", tz="UTC")
    # Whole minutes, few of them: ties in ts are common (order_id, then file order decide).
    order_ts = start + pd.to_timedelta(rng.integers(0, 600, n_o) * 97, unit="min")
    gross = rng.integers(100, 30_000, n_o) / 100 + rng.choice([0, 0.005], n_o)  # half cents
    orders = pd.DataFrame(
        {
            "order_id": [f"O{i:04d}" for i in rng.permutation(n_o)],
            "customer_id": [f"C{i}" for i in rng.integers(0, 120, n_o)],
            "ts": order_ts,
            "gross_revenue": gross,
            "discounts": np.where(rng.random(n_o) < 0.3, 5.0, np.nan),
            "refunds": np.where(rng.random(n_o) < 0.1, 2.5, np.nan),
            "status": rng.choice(np.array(["paid", "pending", "voided", None], dtype=object), n_o),
            "country": rng.choice(np.array(["US", "CA", None], dtype=object), n_o),
        }
    )
    sessions = pd.DataFrame(
        {
            "customer_id": [f"C{i}" for i in rng.integers(0, 180, n_s)],
            "ts": start + pd.to_timedelta(rng.integers(0, 900, n_s) * 61, unit="min"),
            "utm_source": rng.choice(
                np.array(["facebook", " Google ", "tiktok", "bing", "klaviyo", None], dtype=object),
                n_s,
            ),
            "utm_medium": rng.choice(
                np.array(
                    ["paid_social", "CPC", "organic", "email", "referral", None], dtype=object
                ),
                n_s,
            ),
            "landing_page": rng.choice(np.array(["/", "/sale", None], dtype=object), n_s),
            "pageviews": rng.integers(1, 7, n_s).astype(float),
        }
    )
    days = pd.date_range("2026-11-01", "2026-11-24", freq="D")
    spend = pd.DataFrame(
        {
            "date": np.repeat(days, 4),
            "platform": np.tile(["meta", "google", "meta", "snap"], len(days)),
            "campaign_id": np.tile(["m1", "g1", "m2", "s1"], len(days)),
            "ad_id": np.tile(["a1", "(none)", "a2", "a3"], len(days)),
            "spend": rng.integers(100, 10_000, 4 * len(days)) / 100,
            "clicks": rng.integers(0, 50, 4 * len(days)),
        }
    )
    spend.loc[spend["campaign_id"] == "s1", "date"] -= pd.Timedelta(days=20)  # paused
    return {"orders": orders, "sessions": sessions, "ad_spend": spend}


def _write(shop: dict[str, pd.DataFrame], directory: Path, fmt: str) -> None:
    directory.mkdir()
    for name, frame in shop.items():
        if fmt == "csv":
            out = frame.copy()
            for col in out.columns:
                if isinstance(out[col].dtype, pd.DatetimeTZDtype):
                    out[col] = out[col].dt.strftime("%Y-%m-%dT%H:%M:%SZ")
            out.to_csv(directory / f"{name}.csv", index=False)
        else:
            frame.to_parquet(directory / f"{name}.parquet", index=False)


def _round(values: pd.Series) -> pd.Series:
    return values.astype("float64").round(2)


def _expected(shop: dict[str, pd.DataFrame]) -> dict[str, pd.DataFrame]:
    """The documented rules, in pandas."""
    o = shop["orders"].copy()
    o["ts"] = o["ts"].astype("datetime64[us, UTC]")
    for col in ("gross_revenue", "discounts", "refunds"):
        o[col] = _round(o[col].fillna(0.0))
    o["total_revenue"] = _round(o["gross_revenue"] - o["discounts"])
    o["net_revenue"] = _round(o["total_revenue"] - o["refunds"])
    o["status"] = o["status"].fillna("paid")
    o["country"] = o["country"].fillna("(unknown)")
    o = o.sort_values(["ts", "order_id"], ignore_index=True)
    o["customer_type"] = np.where(
        o["customer_id"].duplicated(), "returning_customer", "new_customer"
    )
    s = shop["sessions"].copy()
    s["ts"] = s["ts"].astype("datetime64[us, UTC]")
    s = s.reset_index().sort_values(["ts", "customer_id", "index"], ignore_index=True)
    s["session_id"] = np.arange(1, len(s) + 1)
    s["utm_source"] = s["utm_source"].fillna("(direct)")
    s["utm_medium"] = s["utm_medium"].fillna("(none)")
    s["channel"] = classify_channel(s["utm_source"], s["utm_medium"]).to_numpy()
    platform = {"meta_ads": "meta", "google_ads": "google", "tiktok_ads": "tiktok"}
    s["platform"] = s["channel"].map(platform).fillna("(none)")
    a = shop["ad_spend"].copy()
    a["channel"] = (
        a["platform"]
        .map({"meta": "meta_ads", "google": "google_ads"})
        .fillna(a["platform"] + "_ads")
    )
    a["account_id"] = a["platform"] + "-account"
    a = a.reset_index().sort_values(
        ["date", "platform", "account_id", "ad_id", "index"], ignore_index=True
    )
    first_o = o.groupby("customer_id").first()  # o is in (ts, order_id) order
    first_s = s.groupby("customer_id").first()  # s is in (ts, session_id) order
    c = pd.DataFrame({"customer_id": sorted(o["customer_id"].unique())})
    c["first_order_at"] = c["customer_id"].map(first_o["ts"])
    seen = c["customer_id"].map(first_s["ts"])
    c["created_at"] = c["first_order_at"].where(seen.isna() | (c["first_order_at"] <= seen), seen)
    c["acquisition_channel"] = c["customer_id"].map(first_s["channel"]).fillna("(unknown)")
    c["country"] = c["customer_id"].map(first_o["country"])
    return {"orders": o, "sessions": s, "ad_spend": a, "customers": c}


@pytest.fixture(scope="module")
def shop() -> dict[str, pd.DataFrame]:
    return _shop(np.random.default_rng(13))


@pytest.mark.parametrize("on_disk", [False, True])
@pytest.mark.parametrize("fmt", ["csv", "parquet"])
def test_loaded_tables_equal_the_documented_rules(
    shop: dict[str, pd.DataFrame],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    fmt: str,
    on_disk: bool,
) -> None:
    _write(shop, tmp_path / "shop", fmt)
    monkeypatch.setattr(store_module, "ON_DISK_BYTES", 0 if on_disk else 10**9)
    store = Store.from_dir(tmp_path / "shop", NOW)
    try:
        assert (store._directory is not None) is on_disk
        got = dict(store.tables.items())  # read back before the store closes
        want = _expected(shop)
        cur = store.cursor()
        left = cur.execute(
            "SELECT table_name FROM duckdb_tables() WHERE starts_with(table_name, ?)"
            " UNION ALL SELECT view_name FROM duckdb_views() WHERE starts_with(view_name, ?)",
            [WORK_PREFIX, WORK_PREFIX],
        ).fetchall()
        cur.close()
        assert left == []  # the loader's work tables are gone once the store is built
    finally:
        store.close()
    orders = got["orders"]
    assert list(orders.columns) == [
        "order_id",
        "customer_id",
        "ts",
        "status",
        "customer_type",
        *ORDER_MONEY,
        "cogs",
        "shipping_cost",
        "payment_fees",
        "country",
        "device",
    ]
    assert str(orders["ts"].dtype) == "datetime64[us, UTC]"
    assert pd.api.types.is_string_dtype(orders["order_id"])
    assert orders["order_id"].map(type).eq(str).all()
    for col in [*ORDER_MONEY, "cogs"]:
        assert orders[col].dtype == np.float64
    o = want["orders"]
    for col in ["order_id", "customer_id", "ts", "status", "customer_type", "country"]:
        assert orders[col].tolist() == o[col].tolist(), col
    for col in ORDER_MONEY:
        np.testing.assert_array_equal(orders[col].to_numpy(), o[col].to_numpy(), err_msg=col)
    assert (orders[["cogs", "shipping_cost", "payment_fees"]] == 0).all().all()
    assert set(orders["device"]) == {"(unknown)"}

    sessions, s = got["sessions"], want["sessions"]
    assert sessions["session_id"].dtype == np.int64
    for col in ["session_id", "customer_id", "ts", "utm_source", "utm_medium", "channel"]:
        assert sessions[col].tolist() == s[col].tolist(), col
    assert sessions["platform"].tolist() == s["platform"].tolist()
    assert sessions["landing_page"].tolist() == s["landing_page"].fillna("(unknown)").tolist()
    assert sessions["pageviews"].tolist() == s["pageviews"].astype(int).tolist()
    assert set(sessions["utm_campaign"]) == {"(none)"}

    spend, a = got["ad_spend"], want["ad_spend"]
    assert (
        spend["date"].dt.strftime("%Y-%m-%d").tolist() == a["date"].dt.strftime("%Y-%m-%d").tolist()
    )
    for col in ["platform", "channel", "account_id", "campaign_id", "ad_id"]:
        assert spend[col].tolist() == a[col].tolist(), col
    assert spend["account_name"].tolist() == a["account_id"].tolist()
    assert spend["ad_name"].tolist() == a["ad_id"].tolist()
    assert spend["spend"].tolist() == a["spend"].tolist()
    assert spend["clicks"].tolist() == a["clicks"].tolist()
    assert set(spend["adset_id"]) == {"(none)"} and set(spend["impressions"]) == {0}

    entities = got["entities"].set_index("id")
    assert entities["level"].value_counts().to_dict() == {"account": 3, "campaign": 4, "ad": 3}
    assert entities.loc[["m1", "g1", "s1", "a3", "snap-account"], "status"].tolist() == [
        "active",
        "active",
        "paused",
        "paused",
        "paused",
    ]
    assert entities.loc["a2", "campaign_id"] == "m2" and pd.isna(entities.loc["m1", "ad_id"])
    assert list(got["entities"]["id"][:3]) == ["google-account", "meta-account", "snap-account"]

    customers, c = got["customers"], want["customers"]
    for col in ["customer_id", "acquisition_channel", "country"]:
        assert customers[col].tolist() == c[col].tolist(), col
    for col in ["created_at", "first_order_at"]:
        assert customers[col].tolist() == c[col].tolist(), col
    assert store.available == frozenset({"orders", "sessions", "ad_spend", "entities", "customers"})


def _orders_csv(tmp_path: Path, text: str) -> Path:
    (tmp_path / "orders.csv").write_text(text)
    return tmp_path


@pytest.mark.parametrize(
    ("text", "words"),
    [
        (
            "order_id,customer_id,ts,gross_revenue\n1,a,2026-01-01,5\n2,a,2026-01-02,$6\n"
            '3,b,2026-01-03,7\n4,b,2026-01-04,"1,234.56"\n',
            ["orders.csv", "'gross_revenue'", "2 values", "'$6'", "data row 2", "plain number"],
        ),
        (
            "order_id,customer_id,ts,gross_revenue\n1,a,soon,5\n2,a,later,6\n",
            ["orders.csv", "'ts'", "2 values", "'soon'", "data row 1", "ISO 8601"],
        ),
        (
            "order_id,customer_id,ts,gross_revenue\n1,a,2026-01-01,5\n2,NA,2026-01-02,6\n",
            ["orders.csv", "'customer_id'", "data row 2"],
        ),
        (
            'order_id,customer_id,ts,gross_revenue\n1,a,2026-01-01,5\n2,"b\n',
            ["orders.csv", "cannot be read"],
        ),
    ],
)
def test_bad_files_name_the_file_column_value_and_row(
    tmp_path: Path, text: str, words: list[str]
) -> None:
    with pytest.raises(DataLoadError) as err:
        Store.from_dir(_orders_csv(tmp_path, text), NOW)
    assert all(w in str(err.value) for w in words), str(err.value)


def test_unreadable_parquet_names_the_file(tmp_path: Path) -> None:
    _orders_csv(tmp_path, "order_id,customer_id,ts,gross_revenue\n1,a,2026-01-01,5\n")
    (tmp_path / "sessions.parquet").write_bytes(b"not a parquet file")
    with pytest.raises(DataLoadError, match=r"sessions\.parquet: cannot be read"):
        Store.from_dir(tmp_path, NOW)


def test_csv_cells_read_like_pandas(tmp_path: Path) -> None:
    # Short rows are padded, pandas' missing markers are missing, quotes and offsets work.
    text = (
        "order_id,customer_id,ts,gross_revenue,discounts,status,country\n"
        '1,a,2026-01-01T10:00:00+02:00,5.5,NA,paid,"Bosnia, and"\n'
        "2,b,2026-01-01 09:00:00,7,n/a,null\n"
    )
    store = Store.from_dir(_orders_csv(tmp_path, text), NOW)
    orders = store.tables["orders"]
    store.close()
    assert orders["order_id"].tolist() == ["1", "2"]
    assert orders["ts"].tolist() == [
        pd.Timestamp("2026-01-01T08:00Z"),
        pd.Timestamp("2026-01-01T09:00Z"),
    ]
    assert orders["discounts"].tolist() == [0.0, 0.0]
    assert orders["status"].tolist() == ["paid", "paid"]
    assert orders["country"].tolist() == ["Bosnia, and", "(unknown)"]
    assert orders["customer_type"].tolist() == ["new_customer", "new_customer"]
    assert orders["ts"].iloc[0] - orders["ts"].iloc[1] == timedelta(hours=-1)
