"""The data store: raw tables (generated or loaded) and their DuckDB twins.

DuckDB holds money as ``DECIMAL(18,2)`` so sums are exact and answers do not depend on the
order in which parallel threads add floats. Derived tables:

* ``order_facts`` — orders plus the attributes of their last touchpoint within 30 days
  (``lt_utm_source``...; ``(direct)`` when there is none; the latest by ``ts`` then
  ``session_id`` wins) and ``lt_paid`` (that touchpoint's
  channel belongs to an ad platform);
* ``session_facts`` — sessions plus ``is_new_visitor`` (the visitor's first session, by
  ``ts`` then ``session_id``).

Callers use :meth:`Store.cursor` (one DuckDB cursor per request), which is thread-safe.
"""

from __future__ import annotations

import threading
from datetime import datetime
from pathlib import Path

import duckdb
import pandas as pd
import pyarrow as pa

from upstack_pandas.emulator.data.loaders import load_user_data
from upstack_pandas.emulator.data.synthetic.catalog import order_lines, products
from upstack_pandas.emulator.data.synthetic.shop import generate
from upstack_pandas.emulator.data.taxonomy import ENTITY_COLUMNS, HIERARCHY_COLUMNS

LAST_TOUCH_DAYS = 30
MONEY = "DECIMAL(18,2)"

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


class Store:
    """Raw tables as pandas frames plus an in-memory DuckDB database built from them.

    Parameters
    ----------
    tables
        ``orders``, ``sessions``, ``ad_spend``, ``entities`` and ``customers`` frames (the
        optional ones may be empty, with their columns).
    available
        Names of the tables that hold real data; measures needing another come back
        ``success: false``.
    """

    def __init__(
        self, tables: dict[str, pd.DataFrame], available: frozenset[str], seed: int = 0
    ) -> None:
        self.tables = tables
        self.available = frozenset(available) | ({"entities"} if "ad_spend" in available else set())
        self._con = duckdb.connect(":memory:")
        self._lock = threading.Lock()
        #: The product catalog (one row per variant) and the orders' lines (``catalog.py``).
        self.catalog = products(seed)
        self.lines = order_lines(tables["orders"], self.catalog, seed)
        #: The orders' ``cogs`` and ``shipping_cost`` as generated or loaded (before any cost
        #: configuration changed them).
        self.base_costs = tables["orders"][["order_id", "cogs", "shipping_cost"]].copy()
        self._build()

    @classmethod
    def synthetic(cls, seed: int, now: datetime) -> Store:
        """Build the deterministic synthetic store for ``seed`` and ``now``."""
        tables = generate(seed, now)
        return cls(tables, frozenset({"orders", "sessions", "ad_spend", "customers"}), seed)

    @classmethod
    def from_dir(cls, data_dir: str | Path, now: datetime) -> Store:
        """Build a store from the user's files in ``data_dir`` (see :mod:`.loaders`)."""
        tables, available = load_user_data(data_dir, now)
        return cls(tables, available | {"customers"})

    def _build(self) -> None:
        con = self._con
        con.execute("SET TimeZone = 'UTC'")
        frames = dict(self.tables)
        sessions = frames["sessions"]
        first = ~sessions.sort_values(["ts", "session_id"], kind="stable")[
            "customer_id"
        ].duplicated()
        frames["sessions"] = sessions.assign(is_new_visitor=first.sort_index().to_numpy(dtype=bool))
        for name, specs in _TABLES.items():
            con.register(f"_{name}_df", pa.Table.from_pandas(frames[name], preserve_index=False))
            target = "session_facts" if name == "sessions" else name
            extra = ", is_new_visitor" if name == "sessions" else ""
            con.execute(f"CREATE TABLE {target} AS SELECT {_select(specs)}{extra} FROM _{name}_df")
            con.unregister(f"_{name}_df")
        fields = ", ".join(f"'{c}': s.{c}" for c in _LT)
        lt_cols = ", ".join(f"coalesce(t.lt.{c}, '(direct)') AS lt_{c}" for c in _LT)
        con.execute(f"""
            CREATE TABLE order_facts AS
            WITH t AS (
                SELECT o.order_id, arg_max({{{fields}}}, (s.ts, s.session_id)) AS lt
                FROM orders o JOIN session_facts s
                  ON s.customer_id = o.customer_id AND s.ts <= o.ts
                 AND s.ts >= o.ts - to_hours({24 * LAST_TOUCH_DAYS})
                GROUP BY o.order_id
            )
            SELECT o.*, {lt_cols},
                   coalesce(t.lt.platform NOT IN ('(none)', '(direct)'), false) AS lt_paid
            FROM orders o LEFT JOIN t ON t.order_id = o.order_id
            ORDER BY o.ts""")

    def set_order_costs(self, cogs: pd.Series, shipping_cost: pd.Series) -> None:
        """Replace every order's ``cogs`` and ``shipping_cost`` (aligned with ``tables["orders"]``).

        The raw ``orders`` frame is replaced (never changed in place: frames handed out by
        :meth:`frames` keep their values) and the DuckDB ``orders`` and ``order_facts`` tables
        are updated in one transaction, so later queries see the new costs.
        """
        with self._lock:
            orders = self.tables["orders"].assign(
                cogs=cogs.to_numpy(dtype="float64").round(2),
                shipping_cost=shipping_cost.to_numpy(dtype="float64").round(2),
            )
            changes = orders[["order_id", "cogs", "shipping_cost"]]
            con = self._con
            con.register("_cost_changes", pa.Table.from_pandas(changes, preserve_index=False))
            try:
                con.execute("BEGIN TRANSACTION")
                for table in ("orders", "order_facts"):
                    con.execute(
                        f"UPDATE {table} SET cogs = CAST(c.cogs AS {MONEY}),"
                        f" shipping_cost = CAST(c.shipping_cost AS {MONEY})"
                        f" FROM _cost_changes c WHERE {table}.order_id = c.order_id"
                    )
                con.execute("COMMIT")
            except BaseException:
                con.execute("ROLLBACK")
                raise
            finally:
                con.unregister("_cost_changes")
            self.tables = {**self.tables, "orders": orders}

    def cursor(self) -> duckdb.DuckDBPyConnection:
        """A new DuckDB cursor for one request (cursors may be used from different threads)."""
        with self._lock:
            cur = self._con.cursor()
        cur.execute("SET TimeZone = 'UTC'")
        return cur

    def frames(self) -> dict[str, pd.DataFrame]:
        """Copies (copy-on-write) of the raw tables, for tests that recompute numbers."""
        return {name: frame.copy(deep=False) for name, frame in self.tables.items()}
