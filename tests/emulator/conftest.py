"""Fixtures of the engine tests: one synthetic ``Backend`` per session, and independent helpers.

The helpers recompute numbers with plain pandas over ``backend.tables()`` — never with the
engine's SQL — so the tests compare two independent implementations of the documented rules.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
import requests

from upstack_pandas.emulator.engine.backend import Backend

NOW = "2026-11-26T12:00:00Z"
SEED = 7
USERDATA = Path(__file__).resolve().parents[1] / "fixtures" / "userdata"
COUNTED = ("paid",)  # default orderSettings (spec §3.8): pending and voided orders do not count


@pytest.fixture(scope="session")
def backend() -> Backend:
    """The synthetic store at a fixed clock (built once per test session)."""
    return Backend(seed=SEED, now=NOW)


@pytest.fixture(scope="session")
def tables(backend: Backend) -> dict[str, pd.DataFrame]:
    """The raw tables of :func:`backend`."""
    return backend.tables()


@pytest.fixture(scope="session")
def orders(tables: dict[str, pd.DataFrame]) -> pd.DataFrame:
    """Orders counted by default (paid only)."""
    o = tables["orders"]
    return o[o["status"].isin(COUNTED)].reset_index(drop=True)


def _touches_in_window(orders: pd.DataFrame, sessions: pd.DataFrame, days: int) -> pd.DataFrame:
    """Every (order, session) pair of one customer with the session in the window before the order."""
    pairs = orders[["order_id", "customer_id", "ts", "total_revenue", "customer_type"]].merge(
        sessions, on="customer_id", suffixes=("", "_s")
    )
    window = pd.Timedelta(days=days)
    pairs = pairs[(pairs["ts_s"] <= pairs["ts"]) & (pairs["ts_s"] >= pairs["ts"] - window)]
    return pairs.sort_values(["order_id", "ts_s", "session_id"])


def _credit(
    orders: pd.DataFrame, sessions: pd.DataFrame, model: str, days: int, column: str
) -> pd.DataFrame:
    """Orders with the value(s) credited by an attribution model (``(direct)`` when none)."""
    pairs = _touches_in_window(orders, sessions, days)
    if model == "first_click":
        chosen = pairs.groupby("order_id").head(1)
    elif model == "last_click":
        chosen = pairs.groupby("order_id").tail(1)
    else:
        chosen = pairs.drop_duplicates(["order_id", column])
    chosen = chosen[["order_id", column]].rename(columns={column: "value"})
    out = orders.merge(chosen, on="order_id", how="left")
    out["value"] = out["value"].fillna("(direct)")
    return out


@pytest.fixture(scope="session")
def userdata_backend() -> Backend:
    """The tiny CSV shop of ``tests/fixtures/userdata`` (orders and sessions, no ad spend)."""
    return Backend(data_dir=USERDATA, now=NOW)


@pytest.fixture(scope="session")
def credit() -> Callable[[pd.DataFrame, pd.DataFrame, str, int, str], pd.DataFrame]:
    """``credit(orders, sessions, model, days, column)``: orders with their credited ``value``."""
    return _credit


class Api:
    """Calls the session emulator over HTTP: ``api("GET", path, key="demo", pixel=None, ...)``."""

    def __init__(self, emulator: Any) -> None:
        self.emulator = emulator

    def __call__(
        self,
        method: str,
        path: str,
        *,
        key: str = "demo",
        pixel: str | None = None,
        **kwargs: Any,
    ) -> requests.Response:
        headers = self.emulator.headers(key, pixel)
        return requests.request(
            method, self.emulator.url + path, headers=headers, timeout=60, **kwargs
        )

    def ok(self, method: str, path: str, **kwargs: Any) -> Any:
        """The JSON body of a call that must answer 200."""
        response = self(method, path, **kwargs)
        assert response.status_code == 200, response.text
        return response.json()


@pytest.fixture
def api(emulator: Any) -> Iterator[Api]:
    """HTTP calls to the session emulator; afterwards, its account/costs/products/events state
    is reset (so tests that change costs leave every other test's numbers as they were)."""
    yield Api(emulator)
    emulator.reset_state()


@pytest.fixture(scope="session")
def resource_validator() -> Any:
    """``check(schema_name, payload)``: asserts the payload matches the spec's schema."""
    from upstack_pandas.emulator.http.validation import RequestValidator, schema_ref

    validator = RequestValidator()

    def check(schema: str, payload: Any) -> None:
        assert validator.errors(schema_ref(schema), payload) == [], (schema, payload)

    return check
