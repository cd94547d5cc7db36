"""The data store: raw tables (generated or loaded) and their DuckDB twins.

DuckDB holds money as ``DECIMAL(18,2)`` so sums are exact and answers do not depend on the
order in which parallel threads add floats. Derived tables:

* ``order_facts`` — orders plus the attributes of their last touchpoint within 30 days
  (``lt_utm_source``...; ``(direct)`` when there is none; the latest by ``ts`` then
  ``session_id`` wins) and ``lt_paid`` (that touchpoint's
  channel belongs to an ad platform), in time order; ``orders`` is a view of it. For the
  generator's tables the last touches come from integer keys (:mod:`.last_touch`: no join);
  otherwise DuckDB joins ``session_facts`` on ``customer_id`` for the touchpoints' rows, and
  either way ``order_facts`` is written from Arrow in the orders' own order;
* ``session_facts`` — sessions plus ``is_new_visitor`` (the visitor's one first session, by
  ``ts`` then ``session_id``): the generator, whose rows are already in that order, hands it
  over with its sessions; the loaders write their sessions table complete, with the flag, and
  the store renames it (:func:`_adoptable`); other sources are flagged in SQL.

The tables live in DuckDB only (the generator hands over Arrow tables, loaded without a pandas
copy; :meth:`Store.from_dir` has the loaders read the user's files into the store's own
connection and hands their relations over, dropping the loaders' work tables once copied). A shop of more than ``ON_DISK_ROWS`` sessions (the synthetic one from scale 0.2) is kept in a temporary database file
rather than in memory: DuckDB compresses stored tables and keeps only what queries touch in its
buffer pool (bounded by :func:`memory_limit`), so a shop of a million orders and ten million sessions
fits in a few hundred MB; tiny ones (test fixtures) stay in memory. No pandas copy of a table is
kept once the store is built: :attr:`Store.tables` reads them back from DuckDB when asked
(tests that recompute numbers, cost configuration), and the orders' base costs
(:attr:`Store.base_costs`) and lines (:attr:`Store.lines`) are read and built on first use
(cost configuration). No checkpoint runs while the store is built
and DuckDB spills only into the store's folder. The synthetic shop's sessions are written by
DuckDB on a cursor of their own, in a thread, from the moment they are drawn: the generator's
orders, the last touches and ``order_facts`` are built meanwhile (numpy on one core, DuckDB on
the others); their visitor ids reach DuckDB as plain strings (a dictionary of millions of
entries costs DuckDB more than the strings, see :func:`_without_large_dictionaries`). The file is removed when the store is closed or
garbage collected.

Callers use :meth:`Store.cursor` (one DuckDB cursor per request), which is thread-safe.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import threading
import time
import weakref
from collections.abc import Iterator, Mapping
from datetime import datetime
from pathlib import Path
from typing import TypeAlias

import duckdb
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from upstack_pandas.emulator.data.last_touch import last_touch_columns, last_touch_rows
from upstack_pandas.emulator.data.loaders import WORK_PREFIX, load_user_data
from upstack_pandas.emulator.data.synthetic.catalog import order_lines, products
from upstack_pandas.emulator.data.synthetic.shop import generate_tables
from upstack_pandas.emulator.data.taxonomy import DIRECT, ENTITY_COLUMNS, HIERARCHY_COLUMNS

LAST_TOUCH_DAYS = 30
MONEY = "DECIMAL(18,2)"
#: DuckDB's buffer pool (its working memory) when set; stored tables beyond it stay compressed on
#: disk. Unset, it follows the shop's size: see :func:`memory_limit`.
MEMORY_LIMIT = os.environ.get("UPSTACK_EMULATOR_MEMORY_LIMIT")


def memory_limit(sessions: int) -> str:
    """DuckDB's buffer pool for a shop of ``sessions`` rows (``UPSTACK_EMULATOR_MEMORY_LIMIT`` wins).

    128 MB up to 1.28 million sessions (scale 2), then 100 MB per million up to 512 MB (from
    5.12 million): the pool holds the blocks written while the store is built, so a small shop's
    stays small; a tighter pool costs CPU (DuckDB evicts and re-reads blocks while it builds).
    """
    if MEMORY_LIMIT:
        return MEMORY_LIMIT
    return f"{max(128, min(512, sessions // 10_000))}MB"


#: Stores with more sessions than this keep their tables in a temporary database file (the
#: synthetic shop has 620,000 at scale 1: compressed, its tables take a tenth of the memory).
ON_DISK_ROWS = 100_000
#: A ``--data`` directory whose files take more bytes than this is loaded into a database file
#: (DuckDB reads the files into the store's connection, so the choice comes before the rows are
#: counted): about ``ON_DISK_ROWS`` sessions of CSV.
ON_DISK_BYTES = 8_000_000

#: A source of a raw table: the generator's (pandas or Arrow) or the loaders' (a DuckDB relation
#: of the store's own connection).
Source: TypeAlias = pd.DataFrame | pa.Table | duckdb.DuckDBPyRelation

_TABLES = {
    "orders": [
        "order_id VARCHAR",
        "customer_id VARCHAR",
        "ts TIMESTAMPTZ",
        "status VARCHAR",
        "customer_type VARCHAR",
        f"gross_revenue {MONEY}",
        f"discounts {MONEY}",
        f"total_revenue {MONEY}",
        f"refunds {MONEY}",
        f"net_revenue {MONEY}",
        f"cogs {MONEY}",
        f"shipping_cost {MONEY}",
        f"payment_fees {MONEY}",
        "country VARCHAR",
        "device VARCHAR",
    ],
    "sessions": [
        "session_id",
        "customer_id VARCHAR",
        "ts TIMESTAMPTZ",
        "utm_source VARCHAR",
        "utm_medium VARCHAR",
        "utm_campaign VARCHAR",
        "channel VARCHAR",
        "platform VARCHAR",
        "device VARCHAR",
        "country VARCHAR",
        "landing_page VARCHAR",
        "pageviews BIGINT",
    ],
    "ad_spend": [
        "date DATE",
        "platform VARCHAR",
        "channel VARCHAR",
        *(f"{c} VARCHAR" for c in HIERARCHY_COLUMNS),
        f"spend {MONEY}",
        "impressions BIGINT",
        "clicks BIGINT",
        "conversions BIGINT",
        f"conversion_value {MONEY}",
    ],
    "entities": [f"{c} VARCHAR" for c in ENTITY_COLUMNS],
    "customers": [
        "customer_id VARCHAR",
        "created_at TIMESTAMPTZ",
        "first_order_at TIMESTAMPTZ",
        "acquisition_channel VARCHAR",
        "country VARCHAR",
        "device VARCHAR",
    ],
}
_LT = ("utm_source", "utm_medium", "utm_campaign", "channel", "platform", "landing_page")


def _select(specs: list[str]) -> str:
    cols = []
    for spec in specs:
        name, _, sql_type = spec.partition(" ")
        cols.append(f"CAST({name} AS {sql_type}) AS {name}" if sql_type else name)
    return ", ".join(cols)


class _Tables(Mapping[str, pd.DataFrame]):
    """The raw tables, each read back from DuckDB when asked for."""

    def __init__(self, store: Store) -> None:
        self._store = store

    def __getitem__(self, name: str) -> pd.DataFrame:
        if name not in _TABLES:
            raise KeyError(name)
        return self._store._read_back(name)

    def __iter__(self) -> Iterator[str]:
        return iter(_TABLES)

    def __len__(self) -> int:
        return len(_TABLES)


#: Rows per Arrow batch handed to DuckDB: its scans run one thread per batch.
BATCH_ROWS = 262_144


def _as_arrow(table: pd.DataFrame | pa.Table) -> pa.Table:
    if not isinstance(table, pa.Table):
        table = pa.Table.from_pandas(table, preserve_index=False)
    if table.num_rows <= BATCH_ROWS:
        return table
    return pa.Table.from_batches(table.to_batches(max_chunksize=BATCH_ROWS), table.schema)


def _customer_codes(ids: pa.Array, dictionary: pa.Array) -> np.ndarray | None:
    """The codes of customer ids in the sessions' dictionary (None if one is not there).

    The generator's customer ``C0000042`` is entry 42 (customers come first, in number order);
    that is checked, and a plain lookup is the fallback.
    """
    if len(ids) and not ids.null_count:
        try:
            numbers = pc.cast(pc.utf8_slice_codeunits(ids, 1), pa.int64()).to_numpy()
        except pa.ArrowInvalid:
            numbers = None
        in_range = numbers is not None and numbers.min() >= 0 and numbers.max() < len(dictionary)
        if in_range and pc.all(pc.equal(dictionary.take(pa.array(numbers)), ids)).as_py():
            return np.asarray(numbers, dtype=np.int64)
    codes = pc.index_in(ids, value_set=dictionary)
    return None if codes.null_count else np.asarray(codes.to_numpy(), dtype=np.int64)


def _synthetic_last_touch(orders: pa.Table, sessions: pa.Table) -> dict[str, pa.Array] | None:
    """The generator's sessions: each order's last-touch attributes by integer keys, or None.

    The sessions' ``customer_id`` is a dictionary (the generator's) and its rows are in
    ``(ts, session_id)`` order; the orders' customers are looked up in that dictionary.
    """
    customer = _one_chunk(sessions.column("customer_id"))
    if not pa.types.is_dictionary(customer.type):
        return None
    ids = _one_chunk(orders.column("customer_id")).cast(pa.string())
    codes = _customer_codes(ids, customer.dictionary)
    if codes is None:  # an order whose customer never visited: not the generator's
        return None
    ts = _one_chunk(sessions.column("ts")).view(pa.int64()).to_numpy()  # no copy
    order_ts = _one_chunk(orders.column("ts")).cast(pa.timestamp("us", "UTC")).view(pa.int64())
    order_ts = np.asarray(order_ts.to_numpy(), dtype=np.int64)
    rows = last_touch_rows(
        codes,
        order_ts,
        customer.indices.to_numpy(),
        ts,
        LAST_TOUCH_DAYS * 86_400_000_000,
    )
    return last_touch_columns(sessions, rows, _LT, DIRECT)


def _one_chunk(column: pa.ChunkedArray) -> pa.Array:
    """A column as one array: its only chunk as it is (``combine_chunks`` would copy it)."""
    return column.chunk(0) if column.num_chunks == 1 else column.combine_chunks()


def _decoded(array: pa.DictionaryArray) -> pa.Array:
    """The plain strings of a dictionary array, row by row.

    A dictionary of fixed-width strings without nulls (the generator's ids) is gathered as
    fixed-size byte records (a tenth of a second for ten million rows); any other is cast by
    Arrow.
    """
    dictionary, indices = array.dictionary, array.indices
    if pa.types.is_string(dictionary.type) and len(dictionary) and not dictionary.null_count:
        offsets = np.frombuffer(
            dictionary.buffers()[1], dtype=np.int32, count=len(dictionary) + 1,
            offset=4 * dictionary.offset,
        )  # fmt: skip
        width = int(offsets[1] - offsets[0])
        fixed = width > 0 and not np.any(np.diff(offsets) != width)
        if fixed and not indices.null_count and len(array) * width < 2**31:
            data = np.frombuffer(dictionary.buffers()[2], dtype=np.uint8)
            records = data[offsets[0] : offsets[-1]].view(np.dtype((np.void, width)))
            picked = records[indices.to_numpy()]
            bounds = np.arange(0, (len(picked) + 1) * width, width, dtype=np.int32)
            return pa.StringArray.from_buffers(
                len(picked), pa.py_buffer(bounds), pa.py_buffer(picked)
            )
    return array.cast(dictionary.type)


def _without_large_dictionaries(table: pa.Table) -> pa.Table:
    """``table`` with its dictionary columns of more entries than a batch has rows decoded.

    DuckDB reads a dictionary column's whole dictionary with every batch: the sessions' visitor
    ids (4.3 million at scale 16, in batches of ``BATCH_ROWS`` rows) cost 4.4 s of CPU to store
    that way, 1.9 s as plain strings. Small dictionaries (channels, devices...) stay encoded.
    """
    for i, field in enumerate(table.schema):
        column = table.column(i)
        large = pa.types.is_dictionary(field.type) and any(
            len(chunk.dictionary) > BATCH_ROWS for chunk in column.chunks
        )
        if large:
            plain = (
                _decoded(column.chunk(0))
                if column.num_chunks == 1
                else column.cast(field.type.value_type)
            )
            table = table.set_column(i, field.name, plain)
    return table


def _create(
    con: duckdb.DuckDBPyConnection,
    name: str,
    tables: dict[str, Source],
    select: str,
    *,
    table: str | None = None,
) -> None:
    """``CREATE TABLE`` ``table`` (default ``name``) ``AS`` ``select``, which reads ``_{name}_src``.

    ``tables[name]`` is taken out of ``tables`` and seen as ``_{name}_src``: a view of a
    relation (the loaders') or the registered Arrow copy of a frame or table, dropped once
    the table is written (the generator's frame goes as soon as DuckDB holds it).
    """
    source = tables.pop(name)
    loaded = isinstance(source, duckdb.DuckDBPyRelation)  # the loaders': in this database
    arrow = None
    if isinstance(source, duckdb.DuckDBPyRelation):
        source.create_view(f"_{name}_src")
    else:
        arrow = _as_arrow(source)
        con.register(f"_{name}_src", arrow)
    del source
    try:
        con.execute(f"CREATE TABLE {table or name} AS {select}")
    finally:
        if loaded:
            con.execute(f"DROP VIEW _{name}_src")
        else:
            con.unregister(f"_{name}_src")
    del arrow
    pa.default_memory_pool().release_unused()  # hand the freed Arrow memory back


class _Background:
    """``sql`` run on a cursor of its own, in a thread (DuckDB releases the GIL while it works).

    ``sources`` (Arrow tables by name) are registered on that cursor for the statement.
    :meth:`join` waits for it, closes the cursor and raises what the statement raised;
    :meth:`cancel` interrupts it, waits and closes the cursor (its error is dropped).
    """

    def __init__(
        self, con: duckdb.DuckDBPyConnection, sql: str, sources: Mapping[str, pa.Table]
    ) -> None:
        self._cursor = con.cursor()
        self._cursor.execute("SET TimeZone = 'UTC'")
        for name, table in sources.items():
            self._cursor.register(name, table)
        self._error: BaseException | None = None
        self._thread = threading.Thread(
            target=self._run, args=(sql,), name="upstack-emulator-store", daemon=True
        )
        self._thread.start()

    def _run(self, sql: str) -> None:
        try:
            self._cursor.execute(sql)
        except BaseException as error:  # handed to join(), in the caller's thread
            self._error = error

    def join(self) -> None:
        """Wait for the statement and close its cursor; raise its error, if any."""
        self._thread.join()
        self._cursor.close()  # its registered tables go with it
        if self._error is not None:
            raise self._error

    def cancel(self) -> None:
        """Interrupt the statement (if still running), wait for it and close its cursor."""
        if self._thread.is_alive():
            self._cursor.interrupt()
        self._thread.join()
        self._cursor.close()


def _write_sessions(con: duckdb.DuckDBPyConnection, sessions: pa.Table) -> _Background:
    """The generator's sessions written into ``session_facts`` in the background."""
    select = f"SELECT {_select(_TABLES['sessions'])}, is_new_visitor FROM _sessions_src"
    source = _as_arrow(_without_large_dictionaries(sessions))
    return _Background(con, f"CREATE TABLE session_facts AS {select}", {"_sessions_src": source})


class _Phases:
    """Wall and CPU seconds (the process's, DuckDB's threads included) of the build's phases."""

    def __init__(self) -> None:
        self.seconds: dict[str, tuple[float, float]] = {}
        self._wall, self._cpu = time.perf_counter(), time.process_time()

    def mark(self, phase: str) -> None:
        """Close ``phase`` (it ran since the previous mark) and start the next one."""
        wall, cpu = time.perf_counter(), time.process_time()
        before = self.seconds.get(phase, (0.0, 0.0))
        self.seconds[phase] = (before[0] + wall - self._wall, before[1] + cpu - self._cpu)
        self._wall, self._cpu = wall, cpu


def _remove(con: duckdb.DuckDBPyConnection, directory: str | None) -> None:
    try:
        con.close()
    finally:
        if directory is not None:
            shutil.rmtree(directory, ignore_errors=True)


def _open(on_disk: bool) -> tuple[duckdb.DuckDBPyConnection, str | None]:
    """A new connection: a database file in a new temporary folder, or in memory."""
    if not on_disk:  # tiny shops (test fixtures): in memory, built fastest
        return duckdb.connect(":memory:"), None
    directory = tempfile.mkdtemp(prefix="upstack-emulator-")
    return duckdb.connect(os.path.join(directory, "store.duckdb")), directory


def _configure(con: duckdb.DuckDBPyConnection, directory: str | None, memory: str) -> None:
    """UTC, the buffer pool, spilling into the store's folder, no checkpoints."""
    con.execute("SET TimeZone = 'UTC'")
    con.execute(f"SET memory_limit = '{memory}'")
    # What does not fit the pool spills into the store's own folder (never the working
    # directory, DuckDB's default); an in-memory store (a tiny one) never spills.
    spill = "" if directory is None else os.path.join(directory, "spill")
    con.execute(f"SET temp_directory = '{spill}'")
    # No checkpoint while the store is built (each one rewrote the tables written so far:
    # a quarter of a scale-1 build) nor when it closes (the file is removed).
    con.execute("SET checkpoint_threshold = '1TB'")
    con.execute("PRAGMA disable_checkpoint_on_shutdown")


def _adoptable(source: Source, name: str) -> bool:
    """Whether ``source`` is a loaders' table already in the store's columns for ``name``.

    The loaders write their sessions once, complete (:data:`.loaders.SESSION_TABLE`), and their
    customers in the store's types: the store renames such a table rather than copying it (the
    sessions: ten million rows, 5 s at scale 16). A view, or a table of other types (money as
    DOUBLE), is copied with its casts.
    """
    if not isinstance(source, duckdb.DuckDBPyRelation) or source.type != "TABLE_RELATION":
        return False
    wanted = [spec.partition(" ") for spec in _TABLES[name]]
    if name == "sessions":
        wanted.append(("is_new_visitor", "", "BOOLEAN"))
    if source.columns != [column for column, _, _ in wanted]:
        return False
    if not source.alias.startswith(WORK_PREFIX):
        return False
    types = dict(zip(source.columns, source.types, strict=True))
    return all(types[column] == duckdb.type(sql) for column, _, sql in wanted if sql)


def _adopt(con: duckdb.DuckDBPyConnection, source: duckdb.DuckDBPyRelation, name: str) -> None:
    """Rename the loaders' table ``source`` to ``name`` (see :func:`_adoptable`)."""
    con.execute(f'ALTER TABLE "{source.alias}" RENAME TO {name}')


def _rows(source: Source) -> int:
    if isinstance(source, duckdb.DuckDBPyRelation):
        return int(source.shape[0])
    return source.num_rows if isinstance(source, pa.Table) else len(source)


class Store:
    """Raw tables in a DuckDB database (a temporary file, or memory for a tiny shop).

    Parameters
    ----------
    tables
        ``orders``, ``sessions``, ``ad_spend``, ``entities`` and ``customers`` as pandas frames
        or Arrow tables (the optional ones may be empty, with their columns).
    available
        Names of the tables that hold real data; measures needing another come back
        ``success: false``.
    seed
        Seed of the product catalog and order lines.
    consume
        Take the tables out of ``tables`` (a dict) as they are loaded, so each is freed as soon
        as DuckDB holds it (the synthetic store passes its generator's tables this way).
    connection
        The store's connection and its temporary folder when the tables are relations of it
        (:meth:`from_dir`) or some are written already (:meth:`synthetic`); the store owns
        both from then on. By default the store opens one.
    sessions_writer
        The generator's sessions being written into ``session_facts`` in the background (by
        :meth:`synthetic`, on ``connection``); the store waits for it. By default the store
        writes them itself.
    """

    def __init__(
        self,
        tables: Mapping[str, Source],
        available: frozenset[str],
        seed: int = 0,
        *,
        consume: bool = False,
        phases: _Phases | None = None,
        connection: tuple[duckdb.DuckDBPyConnection, str | None] | None = None,
        sessions_writer: _Background | None = None,
    ) -> None:
        self._phases = phases if phases is not None else _Phases()
        orders = tables["orders"]
        if isinstance(orders, duckdb.DuckDBPyRelation):
            raise TypeError("the orders are handed over as a pandas frame or an Arrow table")
        #: The orders, while the store is built (``order_facts`` is written from them).
        self._orders: pa.Table = _as_arrow(orders)
        self.available = frozenset(available) | ({"entities"} if "ad_spend" in available else set())
        sessions = tables["sessions"]
        rows = _rows(sessions)
        # Large shops: compressed blocks, evicted beyond memory_limit; tiny ones in memory.
        self._con, self._directory = connection or _open(rows > ON_DISK_ROWS)
        #: Whether :func:`_configure` still has to run (``from_dir`` configures before loading).
        self._fresh = connection is None
        self._finalizer = weakref.finalize(self, _remove, self._con, self._directory)
        self._lock = threading.RLock()  # (held while base costs are read through cursor())
        pending = tables if consume and isinstance(tables, dict) else dict(tables)
        del tables, orders, sessions
        # first: the generator's tables go as loaded
        self._build(pending, memory_limit(rows), sessions_writer)
        del self._orders  # in DuckDB now (order_facts): no pandas copy is kept
        pa.default_memory_pool().release_unused()
        self._phases.mark("catalog")
        #: The product catalog (one row per variant) and the orders' lines (``catalog.py``).
        self.catalog = products(seed)
        self._seed = seed
        self._lines: pd.DataFrame | None = None
        self._base_costs: pd.DataFrame | None = None

    @property
    def build_seconds(self) -> dict[str, tuple[float, float]]:
        """Wall and CPU seconds of each phase of the build, for benchmarks.

        ``generate`` (the synthetic shop), ``tables`` (the small tables into DuckDB),
        ``sessions`` (last touches and ``session_facts``), ``order_facts`` and ``catalog``
        (products); CPU is the whole process's (DuckDB's threads included). The synthetic
        shop's ``session_facts`` is written in the background from the moment its sessions
        are drawn (:meth:`synthetic`): that work counts in the phases it overlaps (the rest
        of ``generate``, ``tables``, ``sessions``, ``order_facts``), and ``sessions`` also
        holds the wait for it at the end.
        """
        return dict(self._phases.seconds)

    @property
    def base_costs(self) -> pd.DataFrame:
        """The orders' ``order_id``, ``cogs`` and ``shipping_cost`` as generated or loaded.

        Read from DuckDB on first use (cost configuration), before any cost change
        (:meth:`set_order_costs` reads them first), and kept: what resetting the cost
        configuration puts back, in the order of ``tables["orders"]``.
        """
        with self._lock:
            return self._base_costs_locked()

    def _base_costs_locked(self) -> pd.DataFrame:
        if self._base_costs is None:
            self._base_costs = self._select_orders("order_id", "cogs", "shipping_cost")
        return self._base_costs

    @property
    def lines(self) -> pd.DataFrame:
        """The orders' lines (``catalog.order_lines``), built on first use (cost configuration).

        Built from the orders' costs as generated or loaded (:attr:`base_costs`), so they are
        the same whenever they are first asked for.
        """
        with self._lock:
            if self._lines is None:
                base = self._select_orders("order_id", "ts").assign(
                    cogs=self._base_costs_locked()["cogs"].to_numpy()
                )
                self._lines = order_lines(base, self.catalog, self._seed)
            return self._lines

    @property
    def tables(self) -> Mapping[str, pd.DataFrame]:
        """The raw tables by name, each read from DuckDB when asked for (``orders`` in time
        order, as generated or loaded, with the current costs)."""
        return _Tables(self)

    @classmethod
    def synthetic(cls, seed: int, now: datetime, scale: float = 1.0) -> Store:
        """Build the deterministic synthetic store for ``seed``, ``now`` and ``scale``.

        The generator hands its tables over one by one (:func:`.generate_tables`): once the
        sessions are drawn, DuckDB writes the ad tables, then the sessions in the background
        while the orders and customers are drawn.
        """
        available = frozenset({"orders", "sessions", "ad_spend", "customers"})
        phases = _Phases()
        tables: dict[str, Source] = {}
        connection: tuple[duckdb.DuckDBPyConnection, str | None] | None = None
        writer: _Background | None = None
        try:
            for name, table in generate_tables(seed, now, scale=scale):
                tables[name] = table
                del table
                if name == "sessions":
                    con, directory, writer = cls._start_sessions(tables)
                    connection = (con, directory)
            phases.mark("generate")
            if connection is None:
                raise RuntimeError("the generator handed over no sessions")
            return cls(
                tables,
                available,
                seed,
                consume=True,
                phases=phases,
                connection=connection,
                sessions_writer=writer,
            )
        except BaseException:
            if writer is not None:
                writer.cancel()
            if connection is not None:
                _remove(*connection)
            raise

    @staticmethod
    def _start_sessions(
        tables: dict[str, Source],
    ) -> tuple[duckdb.DuckDBPyConnection, str | None, _Background]:
        """A configured connection with the ad tables, and the sessions' writer (started).

        The ad tables (taken out of ``tables``) are written on one thread (DuckDB's write
        buffers are per thread and column), then the sessions on all of them.
        """
        sessions = tables["sessions"]
        if not isinstance(sessions, pa.Table):
            raise TypeError("the generator's sessions are an Arrow table")
        rows = sessions.num_rows
        con, directory = _open(rows > ON_DISK_ROWS)
        try:
            _configure(con, directory, memory_limit(rows))
            threads = con.execute("SELECT current_setting('threads')").fetchall()[0][0]
            con.execute("SET threads = 1")
            for name in ("ad_spend", "entities"):
                _create(con, name, tables, f"SELECT {_select(_TABLES[name])} FROM _{name}_src")
            con.execute(f"SET threads = {threads}")
            return con, directory, _write_sessions(con, sessions)
        except BaseException:
            _remove(con, directory)
            raise

    @classmethod
    def from_dir(cls, data_dir: str | Path, now: datetime) -> Store:
        """Build a store from the user's files in ``data_dir`` (see :mod:`.loaders`)."""
        root = Path(data_dir)
        size = (
            sum(p.stat().st_size for p in root.glob("*.*") if p.is_file()) if root.is_dir() else 0
        )
        con, directory = _open(size > ON_DISK_BYTES)
        try:
            # The pool while DuckDB reads the files (the rows are not counted yet): a large
            # directory's is the largest a shop gets; _build then sets the shop's own.
            _configure(con, directory, memory_limit(10**8 if directory else 0))
            tables, available = load_user_data(root, now, con)
        except BaseException:
            _remove(con, directory)
            raise
        return cls(tables, available | {"customers"}, connection=(con, directory))

    def close(self) -> None:
        """Close the database and remove its file (also done when the store is collected)."""
        self._finalizer()

    def _build(self, tables: dict[str, Source], memory: str, writer: _Background | None) -> None:
        con = self._con
        if self._fresh:
            _configure(con, self._directory, memory)
        else:  # the spill folder cannot change once used: only the pool follows the shop's size
            con.execute(f"SET memory_limit = '{memory}'")
        # The small tables first, on one thread (DuckDB's write buffers are per thread and
        # column: 60 MB for the 16 columns of ad spend on two) unless the sessions are being
        # written already (on all threads), the sessions, then the orders (order_facts, below;
        # orders is a table or a view of it).
        threads = con.execute("SELECT current_setting('threads')").fetchall()[0][0]
        if writer is None:
            con.execute("SET threads = 1")
        try:
            for name in ("ad_spend", "entities", "customers"):
                if name not in tables:  # (synthetic(): the ad tables are written already)
                    continue
                source = tables[name]
                if isinstance(source, duckdb.DuckDBPyRelation) and _adoptable(source, name):
                    _adopt(con, source, name)
                    del tables[name]
                else:
                    select = f"SELECT {_select(_TABLES[name])} FROM _{name}_src"
                    _create(con, name, tables, select)
                del source
        except BaseException:
            if writer is not None:
                writer.cancel()
            raise
        self._phases.mark("tables")
        con.execute(f"SET threads = {threads}")
        source = tables["sessions"]
        if isinstance(source, pa.Table) and "is_new_visitor" in source.column_names:
            del source  # the generator's: written while the orders' facts are built
            built = self._build_generated(tables, writer)
            self._phases.mark("sessions")  # the wait for session_facts
            if built:
                return
        elif isinstance(source, duckdb.DuckDBPyRelation) and _adoptable(source, "sessions"):
            _adopt(con, source, "session_facts")  # the loaders' table, complete: not copied
            del source, tables["sessions"]
        else:  # each visitor's first session, by ts then session_id
            del source
            _create(
                con,
                "sessions",
                tables,
                f"""
                WITH firsts AS (
                    SELECT arg_min(session_id, (ts, session_id)) AS first_id
                    FROM _sessions_src GROUP BY customer_id
                )
                SELECT {_select(_TABLES["sessions"])},
                       session_id IN (SELECT first_id FROM firsts) AS is_new_visitor
                FROM _sessions_src""",
                table="session_facts",
            )
        self._drop_work_tables()
        self._phases.mark("sessions")
        orders = self._orders
        self._build_order_facts_from(orders, self._last_touch_by_join(orders))
        self._phases.mark("order_facts")

    def _build_generated(self, tables: dict[str, Source], writer: _Background | None) -> bool:
        """The generator's sessions into ``session_facts``, ``order_facts`` meanwhile.

        DuckDB writes the sessions on a cursor of its own, in a thread (``writer``, started
        by :meth:`synthetic` while the orders were drawn, or here), while this one finds the
        last touches (integer keys, :func:`_synthetic_last_touch`) and writes ``order_facts``
        from them: the single-threaded numpy work runs beside DuckDB's. Returns whether
        ``order_facts`` was built (False: an order's customer never visited, so the sessions
        are not the generator's; ``session_facts`` is written either way).
        """
        sessions = tables.pop("sessions")
        if not isinstance(sessions, pa.Table):
            raise TypeError("the generator's sessions are an Arrow table")
        built = False
        try:
            if writer is None:
                writer = _write_sessions(self._con, sessions)
            touch = _synthetic_last_touch(self._orders, sessions)  # its columns are one chunk
            del sessions
            pa.default_memory_pool().release_unused()  # its temporaries' Arrow memory
            self._phases.mark("sessions")
            if touch is not None:  # the generator's integer keys found every last touch
                self._build_order_facts_from(self._orders, touch)
                built = True
                del touch
                self._phases.mark("order_facts")
        except BaseException:
            if writer is not None:
                writer.cancel()
            raise
        writer.join()
        pa.default_memory_pool().release_unused()  # the sessions' Arrow memory
        return built

    def _drop_work_tables(self) -> None:
        """Drop the loaders' work tables and views (``_ud_*``), copied into the store by now."""
        con = self._con
        # Views first: the loaders' views read their tables.
        for kind, catalog in (("view", "duckdb_views()"), ("table", "duckdb_tables()")):
            names = con.execute(
                f"SELECT {kind}_name FROM {catalog}"
                f" WHERE NOT internal AND starts_with({kind}_name, ?)",
                [WORK_PREFIX],
            ).fetchall()
            for (name,) in names:
                con.execute(f'DROP {kind.upper()} IF EXISTS "{name}"')

    def _last_touch_by_join(self, orders: pa.Table) -> dict[str, pa.Array]:
        """Each order's last-touch attributes found by joining ``session_facts`` (loaded data).

        DuckDB finds the latest touchpoint's row of each order that has one (an integer
        aggregate, not a struct of six strings) and its attributes by row id; they are put in
        the orders' order here (the orders with none get ``(direct)``), so ``order_facts`` is
        written from Arrow without a sort or a join with the orders (1.7 s less at 1.3 million
        orders than the same in SQL).
        """
        con = self._con
        keys = pa.table(
            {
                "_n": pa.array(np.arange(orders.num_rows, dtype=np.int64)),
                "customer_id": orders.column("customer_id"),
                "ts": orders.column("ts"),
            }
        )
        con.register("_order_keys", keys)
        picked = ", ".join(f"s.{c}" for c in _LT)
        try:
            found = con.sql(f"""
                WITH r AS (
                    SELECT o._n, arg_max(s.rowid, (s.ts, s.session_id)) AS rid
                    FROM _order_keys o JOIN session_facts s
                      ON s.customer_id = o.customer_id AND s.ts <= o.ts
                     AND s.ts >= o.ts - to_hours({24 * LAST_TOUCH_DAYS})
                    GROUP BY o._n
                )
                SELECT r._n, {picked} FROM r JOIN session_facts s ON s.rowid = r.rid
                """).to_arrow_table()
        finally:
            con.unregister("_order_keys")
        rows = np.full(orders.num_rows, -1, dtype=np.int64)
        rows[found.column("_n").to_numpy()] = np.arange(found.num_rows)
        return last_touch_columns(found, rows, _LT, DIRECT)

    def _build_order_facts_from(self, orders: pa.Table, touch: dict[str, pa.Array]) -> None:
        """``order_facts`` from the orders and their last touches; ``orders`` a view of it.

        The orders are in ``(ts, order_id)`` order already: no sort, no join.
        """
        con = self._con
        paid = pc.invert(
            pc.is_in(touch["platform"].cast(pa.string()), pa.array(["(none)", DIRECT]))
        )
        columns = {name: orders.column(name) for name in orders.column_names}
        columns |= {f"lt_{c}": touch[c] for c in _LT} | {"lt_paid": paid}
        con.register("_order_facts_src", pa.table(columns))
        order_cols = _select(_TABLES["orders"])
        lt_cols = ", ".join(f"CAST(lt_{c} AS VARCHAR) AS lt_{c}" for c in _LT)
        con.execute(
            f"CREATE TABLE order_facts AS SELECT {order_cols}, {lt_cols}, lt_paid"
            " FROM _order_facts_src"
        )
        con.unregister("_order_facts_src")
        names = ", ".join(spec.partition(" ")[0] for spec in _TABLES["orders"])
        con.execute(f"CREATE VIEW orders AS SELECT {names} FROM order_facts")

    def set_order_costs(self, cogs: pd.Series, shipping_cost: pd.Series) -> None:
        """Replace every order's ``cogs`` and ``shipping_cost`` (aligned with ``tables["orders"]``).

        ``order_facts`` (``orders`` is a view of it) is updated in one transaction, by row (its
        rows are the orders in that order), so later queries and reads see the new costs; the
        costs as generated or loaded are read first (:attr:`base_costs`).
        """
        with self._lock:
            count = len(self._base_costs_locked())
            if len(cogs) != count or len(shipping_cost) != count:
                raise ValueError(f"expected {count} costs of each kind, one per order")
            changes = pa.table(
                {
                    "_n": pa.array(np.arange(count, dtype=np.int64)),
                    "cogs": pa.array(cogs.to_numpy(dtype="float64").round(2)),
                    "shipping_cost": pa.array(shipping_cost.to_numpy(dtype="float64").round(2)),
                }
            )
            con = self._con
            con.register("_cost_changes", changes)
            try:
                con.execute("BEGIN TRANSACTION")
                con.execute(
                    f"UPDATE order_facts SET cogs = CAST(c.cogs AS {MONEY}),"
                    f" shipping_cost = CAST(c.shipping_cost AS {MONEY})"
                    " FROM _cost_changes c WHERE order_facts.rowid = c._n"
                )
                con.execute("COMMIT")
            except BaseException:
                con.execute("ROLLBACK")
                raise
            finally:
                con.unregister("_cost_changes")

    def cursor(self) -> duckdb.DuckDBPyConnection:
        """A new DuckDB cursor for one request (cursors may be used from different threads)."""
        with self._lock:
            cur = self._con.cursor()
        cur.execute("SET TimeZone = 'UTC'")
        return cur

    def frames(self) -> dict[str, pd.DataFrame]:
        """Copies of the raw tables, for tests that recompute numbers."""
        return {name: frame.copy(deep=False) for name, frame in self.tables.items()}

    def _select_orders(self, *columns: str) -> pd.DataFrame:
        """Some columns of ``tables["orders"]`` (money as float, times in UTC microseconds)."""
        return self._read_back("orders", columns)

    def _read_back(self, name: str, only: tuple[str, ...] | None = None) -> pd.DataFrame:
        """A raw table read from DuckDB, with the column types the generator and loaders give."""
        table = "session_facts" if name == "sessions" else name
        specs = [spec for spec in _TABLES[name] if only is None or spec.partition(" ")[0] in only]
        columns = [spec.partition(" ")[0] for spec in specs]
        order = " ORDER BY ts, session_id" if name == "sessions" else ""
        cur = self.cursor()
        try:
            frame: pd.DataFrame = cur.execute(
                f"SELECT {', '.join(columns)} FROM {table}{order}"
            ).df()
        finally:
            cur.close()
        for spec in specs:
            column, _, sql_type = spec.partition(" ")
            if sql_type == MONEY:
                frame[column] = frame[column].astype("float64")
            elif sql_type == "TIMESTAMPTZ":
                frame[column] = frame[column].dt.tz_convert("UTC").astype("datetime64[us, UTC]")
        return frame
