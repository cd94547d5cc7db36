"""``--data`` sessions with their own ``session_id``: read where used (parquet) or parsed once (CSV).

Such sessions are not sorted by the loader (the store writes them once, in the file's order);
the tables and derived columns must be what the documented rules give, from CSV and parquet
alike, and a parquet file's bad or empty cell still names its data row.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from upstack_pandas.emulator.data import store as store_module
from upstack_pandas.emulator.data.errors import DataLoadError
from upstack_pandas.emulator.data.store import Store
from upstack_pandas.emulator.data.taxonomy import classify_channel

NOW = datetime(2026, 11, 26, 12, tzinfo=UTC)


def _shop() -> dict[str, pd.DataFrame]:
    rng = np.random.default_rng(5)
    n_o, n_s = 300, 2000
    start = pd.Timestamp("2026-10-01", tz="UTC")
    orders = pd.DataFrame(
        {
            "order_id": [f"O{i:04d}" for i in rng.permutation(n_o)],
            "customer_id": [f"C{i}" for i in rng.integers(0, 90, n_o)],
            "ts": start + pd.to_timedelta(rng.integers(0, 500, n_o) * 89, unit="min"),
            "gross_revenue": rng.integers(100, 20_000, n_o) / 100,
        }
    )
    sessions = pd.DataFrame(
        {  # ties in ts are common; the ids decide, not the file's order (shuffled)
            "session_id": [f"s{i:05d}" for i in rng.permutation(n_s)],
            "customer_id": [f"C{i}" for i in rng.integers(0, 140, n_s)],
            "ts": start + pd.to_timedelta(rng.integers(0, 700, n_s) * 61, unit="min"),
            "utm_source": rng.choice(np.array(["facebook", "google", "klaviyo", None]), n_s),
            "utm_medium": rng.choice(np.array(["paid_social", "cpc", "email", None]), n_s),
        }
    )
    return {"orders": orders, "sessions": sessions}


def _write(shop: dict[str, pd.DataFrame], directory: Path, fmt: str) -> Path:
    directory.mkdir()
    for name, frame in shop.items():
        if fmt == "csv":
            out = frame.assign(ts=frame["ts"].dt.strftime("%Y-%m-%dT%H:%M:%SZ"))
            out.to_csv(directory / f"{name}.csv", index=False)
        else:
            frame.to_parquet(directory / f"{name}.parquet", index=False)
    return directory


@pytest.mark.parametrize("on_disk", [False, True])
@pytest.mark.parametrize("fmt", ["csv", "parquet"])
def test_given_session_ids_keep_their_order_rules(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, fmt: str, on_disk: bool
) -> None:
    shop = _shop()
    monkeypatch.setattr(store_module, "ON_DISK_BYTES", 0 if on_disk else 10**9)
    store = Store.from_dir(_write(shop, tmp_path / "shop", fmt), NOW)
    try:
        got = dict(store.tables.items())
        cur = store.cursor()
        new = cur.execute(
            "SELECT session_id FROM session_facts WHERE is_new_visitor ORDER BY session_id"
        ).fetchall()
        cur.close()
    finally:
        store.close()
    s = shop["sessions"].sort_values(["ts", "session_id"], ignore_index=True)
    s["utm_source"] = s["utm_source"].fillna("(direct)")
    s["utm_medium"] = s["utm_medium"].fillna("(none)")
    s["channel"] = classify_channel(s["utm_source"], s["utm_medium"])
    sessions = got["sessions"]
    for col in ["session_id", "customer_id", "utm_source", "utm_medium", "channel"]:
        assert sessions[col].tolist() == s[col].tolist(), col
    assert sessions["ts"].tolist() == s["ts"].astype("datetime64[us, UTC]").tolist()
    firsts = s.groupby("customer_id").first()  # s is in (ts, session_id) order
    assert [row[0] for row in new] == sorted(firsts["session_id"])
    customers = got["customers"].set_index("customer_id")
    firsts = firsts.loc[customers.index.intersection(firsts.index)]
    acquired = customers.loc[firsts.index, "acquisition_channel"]
    assert acquired.tolist() == firsts["channel"].tolist()
    assert (customers["acquisition_channel"].drop(firsts.index) == "(unknown)").all()


def test_parquet_sessions_name_the_row_of_an_empty_or_bad_cell(tmp_path: Path) -> None:
    shop = _shop()
    sessions = shop["sessions"]
    sessions.loc[1233, "customer_id"] = None
    directory = _write(shop, tmp_path / "empty", "parquet")
    with pytest.raises(DataLoadError, match=r"sessions\.parquet: .*'customer_id'.* data row 1234"):
        Store.from_dir(directory, NOW)
    shop = _shop()
    text = shop["sessions"]["ts"].dt.strftime("%Y-%m-%dT%H:%M:%SZ").astype(object)
    text[1500] = "later"
    shop["sessions"]["ts"] = text
    directory = _write(shop, tmp_path / "bad", "parquet")
    with pytest.raises(
        DataLoadError, match=r"sessions\.parquet: column 'ts' .*'later' in data row 1501"
    ):
        Store.from_dir(directory, NOW)


@pytest.mark.parametrize("given", [True, False])
@pytest.mark.parametrize("fmt", ["csv", "parquet"])
def test_every_visitor_has_exactly_one_first_session(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, fmt: str, given: bool
) -> None:
    # Repeated rows (same visitor, time and id) are one visitor's ties: one of them is first.
    shop = _shop()
    sessions = shop["sessions"]
    sessions = pd.concat([sessions, sessions.iloc[::7]], ignore_index=True)
    shop["sessions"] = sessions if given else sessions.drop(columns="session_id")
    monkeypatch.setattr(store_module, "ON_DISK_BYTES", 0)
    store = Store.from_dir(_write(shop, tmp_path / "shop", fmt), NOW)
    try:
        cur = store.cursor()
        firsts = cur.execute(
            "SELECT customer_id, count(*) FILTER (WHERE is_new_visitor), min(ts),"
            " min(ts) FILTER (WHERE is_new_visitor) FROM session_facts GROUP BY customer_id"
        ).fetchall()
        cur.close()
    finally:
        store.close()
    assert len(firsts) == sessions["customer_id"].nunique()
    assert all(count == 1 and first == earliest for _, count, earliest, first in firsts)
