"""The emulator's computational core: one object the HTTP layer calls (no HTTP here).

``Backend`` owns the data store (synthetic, or the user's files), the catalog and the
compilers. Every method takes a request body that already passed the OpenAPI schema and
returns the response body; semantic problems raise :class:`QueryError` (HTTP 400). Methods are
safe to call from many threads at once: each call runs on its own DuckDB cursor.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime
from pathlib import Path
from typing import Any

import pandas as pd

from upstack_pandas.emulator.data.store import Store
from upstack_pandas.emulator.engine.attribution import run_attribution
from upstack_pandas.emulator.engine.catalog import load_catalog
from upstack_pandas.emulator.engine.channels import run_channel_details
from upstack_pandas.emulator.engine.cohorts import run_cohorts
from upstack_pandas.emulator.engine.context import Context
from upstack_pandas.emulator.engine.errors import DataLoadError, QueryError, UnknownMeasureError
from upstack_pandas.emulator.engine.query import run_query
from upstack_pandas.emulator.engine.time import to_utc

__all__ = ["Backend", "DataLoadError", "QueryError", "UnknownMeasureError"]

Runner = Callable[[Context, dict[str, Any]], dict[str, Any]]


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
    ) -> None:
        self.now: datetime = to_utc(now)
        self.seed = seed
        self.data_dir = None if data_dir is None else Path(data_dir)
        self.catalog = load_catalog()
        self.store = (
            Store.from_dir(data_dir, self.now)
            if data_dir is not None
            else Store.synthetic(seed, self.now)
        )

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
        with self.store.cursor() as cur:
            return runner(Context(cur, self.catalog, self.store.available, self.now), body)

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
