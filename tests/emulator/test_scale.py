"""``--scale``: the synthetic shop grows in proportion; its tables live in DuckDB (issue 13)."""

from __future__ import annotations

import pandas as pd
import pytest

from upstack_pandas.emulator.data.store import Store
from upstack_pandas.emulator.data.synthetic.shop import generate
from upstack_pandas.emulator.http.server import Emulator

NOW = pd.Timestamp("2026-11-26T12:00:00Z").to_pydatetime()


def test_scale_multiplies_orders_and_sessions() -> None:
    small = generate(3, NOW, scale=0.1)
    smaller = generate(3, NOW, scale=0.05)
    ratio_orders = len(small["orders"]) / len(smaller["orders"])
    ratio_sessions = small["sessions"].num_rows / smaller["sessions"].num_rows
    assert 1.8 < ratio_orders < 2.2 and 1.8 < ratio_sessions < 2.2


def test_scale_must_be_positive() -> None:
    with pytest.raises(ValueError, match="scale must be positive"):
        generate(3, NOW, scale=0)
    with pytest.raises(ValueError, match="scale must be positive"):
        Emulator(scale=-1)


def test_sessions_are_kept_in_duckdb_and_read_back_with_their_types() -> None:
    store = Store.synthetic(3, NOW, scale=0.05)
    try:
        sessions = store.tables["sessions"]
        assert "sessions" not in vars(store)  # no pandas copy kept beside DuckDB
        assert str(sessions["ts"].dtype) == "datetime64[us, UTC]"
        assert sessions["session_id"].is_unique and sessions["ts"].is_monotonic_increasing
        cur = store.cursor()
        n, new_visitors = cur.execute(
            "SELECT count(*), count(*) FILTER (WHERE is_new_visitor) FROM session_facts"
        ).fetchone()
        cur.close()
        assert n == len(sessions)
        # independently: each visitor's first session by (ts, session_id) is the new-visitor one
        assert new_visitors == sessions["customer_id"].nunique()
        orders = store.tables["orders"]
        assert orders is store.tables["orders"]  # the pandas orders frame, kept
    finally:
        store.close()


def test_a_large_store_lives_in_a_temporary_file_removed_on_close(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import os

    from upstack_pandas.emulator.data import store as store_module

    monkeypatch.setattr(store_module, "ON_DISK_ROWS", 1000)
    store = Store.synthetic(3, NOW, scale=0.05)
    directory = store._directory
    assert directory is not None and os.path.exists(os.path.join(directory, "store.duckdb"))
    cur = store.cursor()
    assert cur.execute("SELECT count(*) FROM order_facts").fetchone()[0] == len(
        store.tables["orders"]
    )
    cur.close()
    store.close()
    assert not os.path.exists(directory)


def test_the_generators_new_visitors_match_the_sql_derivation() -> None:
    tables = generate(3, NOW, scale=0.05)
    given = Store(tables, frozenset({"orders", "sessions", "ad_spend", "customers"}), 3)
    sessions = tables["sessions"]
    derived_tables = {**tables, "sessions": sessions.drop(["is_new_visitor"])}
    derived = Store(derived_tables, frozenset({"orders", "sessions", "ad_spend", "customers"}), 3)
    sql = "SELECT session_id FROM session_facts WHERE is_new_visitor ORDER BY session_id"
    try:
        first, second = given.cursor(), derived.cursor()
        assert first.execute(sql).fetchall() == second.execute(sql).fetchall()
        first.close()
        second.close()
    finally:
        given.close()
        derived.close()


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_time_order_is_lexsorts_order_ties_included(seed: int) -> None:
    import numpy as np

    from upstack_pandas.emulator.data.synthetic.common import time_order

    rng = np.random.default_rng(seed)
    ts = rng.integers(0, 50, 2_000)  # many runs of equal ts, with equal keys inside them
    key = rng.integers(0, 7, 2_000)
    assert np.array_equal(time_order(ts, key), np.lexsort((key, ts)))
    assert np.array_equal(time_order(ts[:1], key[:1]), [0])


def test_dense_unique_is_numpys_unique() -> None:
    import numpy as np

    from upstack_pandas.emulator.data.synthetic.common import dense_unique

    values = np.random.default_rng(5).integers(0, 300, 5_000) * 3
    unique, first, codes = dense_unique(values)
    expected = np.unique(values, return_index=True, return_inverse=True)
    for got, want in zip((unique, first, codes), expected, strict=True):
        assert np.array_equal(got, want)
    assert [len(a) for a in dense_unique(np.zeros(0, dtype=np.int64))] == [0, 0, 0]


def test_fixed_width_ids_are_the_texts_of_their_numbers() -> None:
    import numpy as np

    from upstack_pandas.emulator.data.synthetic.common import fixed_width_strings, id_bytes

    numbers = np.array([5, 42, 1_234_567])
    assert fixed_width_strings(id_bytes("V", numbers, 7)).to_pylist() == [
        "V0000005", "V0000042", "V1234567"
    ]  # fmt: skip
    wider = np.array([5, 123_456_789])  # a number wider than the width: zero bytes are not text
    assert fixed_width_strings(id_bytes("C", wider, 7)).to_pylist() == ["C0000005", "C123456789"]


def test_a_consuming_store_takes_the_generators_tables_and_others_are_left_alone() -> None:
    tables = generate(3, NOW, scale=0.05)
    kept = dict(tables)
    available = frozenset({"orders", "sessions", "ad_spend", "customers"})
    copy = Store(kept, available, 3)
    taken = Store(tables, available, 3, consume=True)
    try:
        assert set(kept) == {"orders", "sessions", "ad_spend", "entities", "customers"}
        assert set(tables) == {"orders"}  # the others were handed to DuckDB and dropped
        sql = "SELECT count(*), sum(pageviews) FROM session_facts"
        first, second = copy.cursor(), taken.cursor()
        assert first.execute(sql).fetchone() == second.execute(sql).fetchone()
        assert first.execute(sql).fetchone()[0] == kept["sessions"].num_rows
        first.close()
        second.close()
    finally:
        copy.close()
        taken.close()
