"""``--scale``: the synthetic shop grows in proportion; its tables live in DuckDB (issue 13)."""

from __future__ import annotations

import pandas as pd
import pyarrow as pa
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
        # the orders too: read back in time order, with the generator's values and types
        orders = store.tables["orders"]
        assert not hasattr(store, "_orders")
        expected = generate(3, NOW, scale=0.05)["orders"]
        pd.testing.assert_frame_equal(orders, expected.reset_index(drop=True), check_dtype=True)
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


def test_ids_of_every_width_match_zfill_and_pack_without_padding() -> None:
    """Numbers wider than the width keep every digit (the arithmetic route, no str per value)."""
    import numpy as np

    from upstack_pandas.emulator.data.synthetic.common import fixed_width_strings, id_bytes

    rng = np.random.default_rng(0)
    samples = [
        np.arange(0, 2000),
        rng.integers(0, 10**12, 3000),
        np.array([0, 9, 10, 99, 100, 9_999_999, 10_000_000, 10**10 + 7, 2**62]),
        np.zeros(0, dtype=np.int64),
    ]
    for width in (1, 3, 7):
        for numbers in samples:
            want = [f"S{str(n).zfill(width)}" for n in numbers]
            made = id_bytes("S", numbers, width)
            assert [value.decode() for value in made] == want
            arrow = fixed_width_strings(made)
            assert arrow.type == pa.string() and arrow.to_pylist() == want


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


def _brute_force_last_touch(
    order_customer: list[int], order_ts: list[int], customer: list[int], ts: list[int], window: int
) -> list[int]:
    found = []
    for c, t in zip(order_customer, order_ts, strict=True):
        rows = [r for r in range(len(ts)) if customer[r] == c and t - window <= ts[r] <= t]
        found.append(max(rows) if rows else -1)  # rows are in (ts, session_id) order
    return found


@pytest.mark.parametrize("seed", [0, 1, 2, 3])
def test_last_touch_rows_are_the_latest_session_in_the_window(seed: int) -> None:
    import numpy as np

    from upstack_pandas.emulator.data.last_touch import last_touch_rows

    rng = np.random.default_rng(seed)
    ts = np.sort(rng.integers(0, 200, 400))  # many equal times: the later row wins a tie
    customer = rng.integers(0, 30, 400)
    order_customer = rng.integers(0, 35, 150)  # some customers without any session
    order_ts = rng.integers(-10, 220, 150)  # some orders before every session, some after all
    got = last_touch_rows(order_customer, order_ts, customer, ts, 25)
    want = _brute_force_last_touch(
        order_customer.tolist(), order_ts.tolist(), customer.tolist(), ts.tolist(), 25
    )
    assert got.tolist() == want
    assert last_touch_rows(order_customer, order_ts, customer[:0], ts[:0], 25).tolist() == [
        -1
    ] * len(order_ts)


def _orders_is_a_view(store: Store) -> bool:
    cur = store.cursor()
    try:
        found = cur.execute("SELECT count(*) FROM duckdb_views() WHERE view_name = 'orders'")
        return found.fetchone() == (1,)
    finally:
        cur.close()


def test_the_synthetic_order_facts_match_the_sql_derivation(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Integer keys (the generator's store) and the string join (loaded data) agree exactly."""
    tables = generate(3, NOW, scale=0.05)
    available = frozenset({"orders", "sessions", "ad_spend", "customers"})
    joins: list[Store] = []
    by_join = Store._last_touch_by_join

    def spy(store: Store, orders: pa.Table) -> dict[str, pa.Array]:
        joins.append(store)
        return by_join(store, orders)

    monkeypatch.setattr(Store, "_last_touch_by_join", spy)
    fast = Store(tables, available, 3)
    plain = {**tables, "sessions": tables["sessions"].drop(["is_new_visitor"])}
    joined = Store(plain, available, 3)  # no generator's sessions: the SQL join
    try:
        assert joins == [joined]  # the generator's store needed no join
        assert _orders_is_a_view(fast) and _orders_is_a_view(joined)
        first, second = fast.cursor(), joined.cursor()
        for table in ("order_facts", "orders"):
            sql = f"SELECT * FROM {table} ORDER BY order_id"
            a, b = first.execute(sql).df(), second.execute(sql).df()
            pd.testing.assert_frame_equal(a, b)
        described = "SELECT column_name, column_type FROM (DESCRIBE order_facts)"
        assert first.execute(described).fetchall() == second.execute(described).fetchall()
        # the table is in time order (zonemaps prune by ts)
        assert first.execute(
            "SELECT bool_and(ts >= prev) FROM (SELECT ts, lag(ts, 1, ts) OVER () AS prev"
            " FROM order_facts)"
        ).fetchone() == (True,)
        direct = "SELECT count(*) FILTER (WHERE lt_channel = '(direct)'), count(*) FROM order_facts"
        assert first.execute(direct).fetchone() == second.execute(direct).fetchone()
        first.close()
        second.close()
    finally:
        fast.close()
        joined.close()


def test_cost_changes_reach_the_orders_view() -> None:
    store = Store.synthetic(3, NOW, scale=0.05)
    try:
        orders = store.tables["orders"]
        store.set_order_costs(orders["cogs"] + 1.0, orders["shipping_cost"] * 0)
        cur = store.cursor()
        sums = "SELECT sum(cogs)::DOUBLE, sum(shipping_cost)::DOUBLE FROM {}"
        for table in ("orders", "order_facts"):
            cogs, shipping = cur.execute(sums.format(table)).fetchone()
            assert cogs == pytest.approx(float(orders["cogs"].sum()) + len(orders))
            assert shipping == 0
        cur.close()
    finally:
        store.close()


def test_order_lines_are_built_on_first_use_from_the_original_costs() -> None:
    from upstack_pandas.emulator.data.synthetic.catalog import order_lines

    store = Store.synthetic(3, NOW, scale=0.05)
    try:
        assert store._lines is None  # not built with the store (the demo never needs them)
        original = store.tables["orders"]
        store.set_order_costs(original["cogs"] * 2, original["shipping_cost"])
        lines = store.lines
        pd.testing.assert_frame_equal(lines, order_lines(original, store.catalog, 3))
        assert store.lines is lines
    finally:
        store.close()


def test_the_store_accounts_for_its_build_phases() -> None:
    store = Store.synthetic(3, NOW, scale=0.05)
    try:
        phases = store.build_seconds
        assert list(phases) == ["generate", "tables", "sessions", "order_facts", "catalog"]
        assert all(wall >= 0 and cpu >= 0 for wall, cpu in phases.values())
        assert phases["generate"][1] > 0  # the generator draws something at any scale
    finally:
        store.close()


def test_id_strings_of_every_width_match_zfill() -> None:
    """Numbers wider than the width (order ids past #999999) are built without a str per id."""
    import numpy as np

    from upstack_pandas.emulator.data.synthetic.common import id_strings, ids

    rng = np.random.default_rng(1)
    samples = [
        np.arange(999_990, 1_000_010),  # sorted across a width: consecutive blocks
        rng.integers(0, 10**12, 3000),  # widths mixed in any order
        np.array([0, 9, 10, 99, 100, 9_999_999, 10_000_000, 10**10 + 7, 2**62, 2**63 - 1]),
        np.array([-5, 3, 12_345_678]),  # a sign: zfill pads after it
        np.zeros(0, dtype=np.int64),
    ]
    for width in (1, 3, 6):
        for numbers in samples:
            want = [f"#{str(n).zfill(width)}" for n in numbers]
            made = id_strings("#", numbers, width)
            made.validate(full=True)
            assert made.type == pa.string() and made.to_pylist() == want
            assert ids("#", numbers, width).tolist() == want


def test_large_dictionaries_reach_duckdb_as_the_same_plain_strings() -> None:
    """A dictionary of more entries than a batch has rows is decoded; small ones stay encoded."""
    import numpy as np

    from upstack_pandas.emulator.data import store as store_module

    rng = np.random.default_rng(2)
    big = store_module.BATCH_ROWS + 5
    fixed = pa.array([f"V{n:07d}" for n in range(big)])
    ragged = pa.array([f"x{n}" for n in range(big)])
    codes = pa.array(rng.integers(0, big, 1000).astype(np.int32))
    table = pa.table(
        {
            "fixed": pa.DictionaryArray.from_arrays(codes, fixed),
            "ragged": pa.DictionaryArray.from_arrays(codes, ragged),
            "small": pa.DictionaryArray.from_arrays(
                pa.array(rng.integers(0, 2, 1000).astype(np.int32)), pa.array(["a", "b"])
            ),
        }
    )
    plain = store_module._without_large_dictionaries(table)
    assert plain.schema.field("fixed").type == pa.string()
    assert plain.schema.field("ragged").type == pa.string()
    assert pa.types.is_dictionary(plain.schema.field("small").type)
    for name in table.column_names:
        assert plain.column(name).to_pylist() == table.column(name).to_pylist()
    sliced = pa.DictionaryArray.from_arrays(codes.slice(4), fixed.slice(3, big - 3), safe=False)
    decoded = store_module._decoded(sliced)
    decoded.validate(full=True)
    assert decoded.to_pylist() == sliced.to_pylist()


def test_the_generators_sessions_are_written_while_the_orders_are_drawn(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """session_facts is written in a thread, started once the sessions are drawn."""
    from upstack_pandas.emulator.data import store as store_module

    events: list[str] = []
    tables_of = store_module.generate_tables
    real = store_module._Background.__init__

    def generating(*args: object, **kwargs: object) -> object:
        for name, table in tables_of(*args, **kwargs):  # type: ignore[arg-type]
            events.append(name)
            yield name, table

    def spy(self: store_module._Background, *args: object) -> None:
        events.append("writer")
        real(self, *args)  # type: ignore[arg-type]
        assert self._thread.is_alive() or self._error is None

    monkeypatch.setattr(store_module, "generate_tables", generating)
    monkeypatch.setattr(store_module._Background, "__init__", spy)
    store = Store.synthetic(3, NOW, scale=0.05)
    try:
        assert events == ["ad_spend", "entities", "sessions", "writer", "orders", "customers"]
        assert _orders_is_a_view(store)
        assert not hasattr(store, "_orders")  # no pandas copy kept once built
        expected = generate(3, NOW, scale=0.05)["sessions"]
        cur = store.cursor()
        got = cur.sql("SELECT * FROM session_facts").to_arrow_table()
        counts = cur.execute("SELECT count(*) FROM ad_spend").fetchone()
        cur.close()
        assert counts is not None and counts[0] > 0
        assert got.num_rows == expected.num_rows  # every row, in the generator's order
        for name in ("session_id", "customer_id", "channel", "pageviews", "is_new_visitor"):
            assert got.column(name).to_pylist() == expected.column(name).to_pylist()
    finally:
        store.close()


def test_generate_is_the_tables_generate_tables_hands_over() -> None:
    from upstack_pandas.emulator.data.synthetic.shop import TABLE_NAMES, generate_tables

    handed = dict(generate_tables(4, NOW, scale=0.02))
    tables = generate(4, NOW, scale=0.02)
    assert tuple(tables) == TABLE_NAMES and set(handed) == set(TABLE_NAMES)
    for name in TABLE_NAMES:
        a, b = tables[name], handed[name]
        if isinstance(a, pa.Table):
            assert a.equals(b)
        else:
            pd.testing.assert_frame_equal(a, b)
    with pytest.raises(ValueError, match="scale must be positive"):
        generate_tables(4, NOW, scale=0)  # checked before the first table is asked for


def test_a_failing_background_statement_raises_in_the_caller() -> None:
    import duckdb

    from upstack_pandas.emulator.data.store import _Background

    con = duckdb.connect()
    try:
        source = pa.table({"x": [1, 2, 3]})
        summed = _Background(con, "CREATE TABLE t AS SELECT sum(x) AS s FROM src", {"src": source})
        summed.join()
        assert con.execute("SELECT s FROM t").fetchone() == (6,)
        failing = _Background(con, "SELECT * FROM no_such_table", {})
        with pytest.raises(duckdb.CatalogException, match="no_such_table"):
            failing.join()
        cancelled = _Background(con, "SELECT count(*) FROM range(10)", {})
        cancelled.cancel()  # interrupted or finished: either way its thread is gone
        assert not cancelled._thread.is_alive()
    finally:
        con.close()


def test_a_generator_failing_after_the_sessions_stops_their_writer_and_removes_the_file(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import os
    import threading

    from upstack_pandas.emulator.data import store as store_module

    tables_of = store_module.generate_tables
    opened: list[str | None] = []
    real_open = store_module._open

    def recording_open(on_disk: bool) -> object:
        con, directory = real_open(on_disk)
        opened.append(directory)
        return con, directory

    def failing(*args: object, **kwargs: object) -> object:
        for name, table in tables_of(*args, **kwargs):  # type: ignore[arg-type]
            yield name, table
            if name == "sessions":
                raise RuntimeError("drawing the orders failed")

    monkeypatch.setattr(store_module, "generate_tables", failing)
    monkeypatch.setattr(store_module, "_open", recording_open)
    monkeypatch.setattr(store_module, "ON_DISK_ROWS", 1000)  # a database file, to be removed
    with pytest.raises(RuntimeError, match="drawing the orders failed"):
        Store.synthetic(3, NOW, scale=0.05)
    assert len(opened) == 1 and opened[0] is not None and not os.path.exists(opened[0])
    assert not [t for t in threading.enumerate() if t.name == "upstack-emulator-store"]
