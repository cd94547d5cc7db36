"""The emulator's computational core: one object the HTTP layer calls (no HTTP here).

``Backend`` owns the data store (synthetic, or the user's files), the catalog and the
compilers. Every method takes a request body that already passed the OpenAPI schema and
returns the response body; semantic problems raise :class:`QueryError` (HTTP 400). Methods are
safe to call from many threads at once: each call runs on a DuckDB cursor of its own for its
duration. Cursors are kept for the next calls (a small pool) rather than opened per request:
opening one and setting its time zone cost about as much as a small query's execution.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable, Iterator
from datetime import date, datetime
from pathlib import Path
from typing import Any

import duckdb
import pandas as pd

from upstack_pandas.emulator.data.store import Store
from upstack_pandas.emulator.engine.attribution import run_attribution
from upstack_pandas.emulator.engine.catalog import load_catalog
from upstack_pandas.emulator.engine.channels import run_channel_details
from upstack_pandas.emulator.engine.cohorts import run_cohorts
from upstack_pandas.emulator.engine.context import Context
from upstack_pandas.emulator.engine.errors import DataLoadError, QueryError, UnknownMeasureError
from upstack_pandas.emulator.engine.query import run_query
from upstack_pandas.emulator.engine.resources.state import PixelState
from upstack_pandas.emulator.engine.time import to_utc

__all__ = ["Backend", "DataLoadError", "QueryError", "UnknownMeasureError"]

Runner = Callable[[Context, dict[str, Any]], dict[str, Any]]
#: Idle cursors kept for the next requests (more concurrent requests open more, then close them).
IDLE_CURSORS = 8


class Backend:
    """Data, catalog and compilers of the emulated Upstack Data API.

    Parameters
    ----------
    seed
        Seed of the synthetic data (ignored with ``data_dir``).
    now
        The emulated clock's "now" (datetime, date = its UTC midnight, ISO string; naive
        values are UTC); default: the real now. Synthetic data runs up to it.
    data_dir
        Serve the user's files from this directory instead of synthetic data
        (``docs/emulator-data.md`` documents the schema).
    scale
        Size of the synthetic shop relative to the default one (ignored with ``data_dir``).

    Raises
    ------
    DataLoadError
        When ``data_dir`` cannot be loaded.
    """

    def __init__(
        self,
        *,
        seed: int = 7,
        now: datetime | date | str | None = None,
        data_dir: str | Path | None = None,
        scale: float = 1.0,
    ) -> None:
        self.now: datetime = to_utc(now)
        self.seed = seed
        self.data_dir = None if data_dir is None else Path(data_dir)
        self.catalog = load_catalog()
        self.store = (
            Store.from_dir(data_dir, self.now)
            if data_dir is not None
            else Store.synthetic(seed, self.now, scale=scale)
        )
        self._state: PixelState | None = None
        self._state_lock = threading.Lock()
        self._idle: list[duckdb.DuckDBPyConnection] = []
        self._idle_lock = threading.Lock()

    @property
    def state(self) -> PixelState:
        """The account, costs, products and events of this pixel (built on first use)."""
        with self._state_lock:
            if self._state is None:
                self._state = PixelState(self.store, self.now)
            return self._state

    def reset_state(self) -> None:
        """Forget every account, cost, product and event change (the data is restored)."""
        with self._state_lock:
            if self._state is not None:
                self._state.restore()
            self._state = None

    def __repr__(self) -> str:
        source = f"data_dir={str(self.data_dir)!r}" if self.data_dir else f"seed={self.seed}"
        return (
            f"Backend({source}, now={self.now.isoformat()}, tables={sorted(self.store.available)})"
        )

    # catalog ---------------------------------------------------------------------------------
    def measures(self, search: str | None = None) -> dict[str, Any]:
        """Body of ``GET /db-mgmt/api/measures``: ``{"measures": [...], "dimensions": [...]}``."""
        return self.catalog.listing(search)

    def filters(self) -> dict[str, Any]:
        """Body of ``GET /db-mgmt/api/filters``: ``{"filters": [...]}``."""
        return self.catalog.filters_listing()

    def measure_ids(self) -> set[str]:
        """All measure ids of the catalog."""
        return set(self.catalog.measures)

    def catalog_entry(self, measure_id: str) -> dict[str, Any]:
        """The catalog entry of one measure.

        Raises
        ------
        UnknownMeasureError
            A :class:`QueryError` (and ``KeyError``) naming the closest ids.
        """
        return self.catalog.measure(measure_id).public(self.catalog.currency)

    # analytics -------------------------------------------------------------------------------
    def _run(self, runner: Runner, body: dict[str, Any]) -> dict[str, Any]:
        if not isinstance(body, dict):
            raise QueryError("The request body must be a JSON object.")
        state = self._state
        if state is not None and "orderSettings" not in body:  # the account's flags (D46)
            body = {**body, "orderSettings": state.account.counting_flags()}
        with self._cursor() as cur:
            return runner(Context(cur, self.catalog, self.store.available, self.now), body)

    @contextlib.contextmanager
    def _cursor(self) -> Iterator[duckdb.DuckDBPyConnection]:
        """A store cursor for one call: an idle one when there is, back to the pool after.

        A call that raises closes its cursor (nothing of a failed statement is carried over).
        """
        with self._idle_lock:
            cur = self._idle.pop() if self._idle else None
        if cur is None:
            cur = self.store.cursor()
        try:
            yield cur
        except BaseException:
            cur.close()
            raise
        with self._idle_lock:
            if len(self._idle) < IDLE_CURSORS:
                self._idle.append(cur)
                return
        cur.close()

    def query(self, body: dict[str, Any]) -> dict[str, Any]:
        """Body of ``POST /db-mgmt/api/query`` for a request ``body``."""
        return self._run(run_query, body)

    def attribution(self, body: dict[str, Any]) -> dict[str, Any]:
        """Body of ``POST /db-mgmt/api/query-attribution`` for a request ``body``."""
        return self._run(run_attribution, body)

    def cohorts(self, body: dict[str, Any]) -> dict[str, Any]:
        """Body of ``POST /db-mgmt/api/query-cohort-analysis`` for a request ``body``."""
        return self._run(run_cohorts, body)

    def channel_details(self, body: dict[str, Any]) -> dict[str, Any]:
        """Body of ``POST /db-mgmt/api/query-channel-details`` for a request ``body``."""
        return self._run(run_channel_details, body)

    # data ------------------------------------------------------------------------------------
    def tables(self) -> dict[str, pd.DataFrame]:
        """The raw tables (``orders``, ``sessions``, ``ad_spend``, ``entities``, ``customers``).

        Timestamps are tz-aware UTC, ``ad_spend.date`` a naive midnight, money float with 2
        decimals. Frames are copy-on-write copies: changing them does not change the store.
        """
        return self.store.frames()

    def cost_tables(self) -> dict[str, pd.DataFrame]:
        """The product catalog (``products``, one row per variant) and the order ``lines``.

        ``lines.base_cost`` is each line's synced cost before any API change; it sums to the
        generated ``orders.cogs`` per order. Copies: changing them changes nothing.
        """
        return {"products": self.store.catalog.copy(), "lines": self.store.lines.copy()}
