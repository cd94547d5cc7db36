"""``dtype_backend=`` on every reader, as ``pd.read_csv`` has it (columns, index levels, empty results)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest

import upstack_pandas as up
from tests._fake_client import RefusingClient
from upstack_pandas._frames.builders import DATETIME_UNIT

RANGE = ("2026-11-01", "2026-11-07")
NOBODY = {"field": "orders.customer_type", "op": "equals", "value": "no_such_customer_type"}

READERS: dict[str, Callable[..., pd.DataFrame]] = {
    "query": lambda **kw: up.read_upstack(
        ["orders.orders", "core.new_customer_roas"], *RANGE, dimensions="channel", **kw
    ),
    "query_flat": lambda **kw: up.read_upstack("orders.orders", *RANGE, **kw),
    "cohorts": lambda **kw: up.read_cohorts(start="2026-06-01", end="2026-10-31", **kw),
    "attribution": lambda **kw: up.read_attribution("utm_source", *RANGE, **kw),
    "channels": lambda **kw: up.read_channel_details(start=RANGE[0], end=RANGE[1], **kw),
}



def expected_dtype(numpy_dtype: Any, backend: str) -> Any:
    """What pandas' own readers give for a NumPy-backed column under ``backend``."""
    if backend == "numpy_nullable":
        if isinstance(numpy_dtype, pd.DatetimeTZDtype):
            return numpy_dtype
        if numpy_dtype == np.float64:
            return pd.Float64Dtype()
        if numpy_dtype == np.int64:
            return pd.Int64Dtype()
        return pd.StringDtype()
    if isinstance(numpy_dtype, pd.DatetimeTZDtype):
        return pd.ArrowDtype(pa.timestamp(numpy_dtype.unit, tz=str(numpy_dtype.tz)))
    if numpy_dtype == np.float64:
        return pd.ArrowDtype(pa.float64())
    if numpy_dtype == np.int64:
        return pd.ArrowDtype(pa.int64())
    return pd.ArrowDtype(pa.string())


def levels(index: pd.Index) -> list[pd.Index]:
    return list(index.levels) if isinstance(index, pd.MultiIndex) else [index]


@pytest.fixture(scope="module")
def numpy_frames(client: up.Client) -> dict[str, pd.DataFrame]:
    return {name: read(client=client) for name, read in READERS.items()}


@pytest.mark.parametrize("backend", ["numpy_nullable", "pyarrow"])
@pytest.mark.parametrize("reader", sorted(READERS))
def test_every_column_and_index_level_takes_the_backend(
    client: up.Client, numpy_frames: dict[str, pd.DataFrame], reader: str, backend: str
) -> None:
    base = numpy_frames[reader]
    got = READERS[reader](client=client, dtype_backend=backend)
    assert len(got) == len(base) > 0
    assert list(got.columns) == list(base.columns)
    for column in base.columns:
        assert got[column].dtype == expected_dtype(base[column].dtype, backend), column
    assert [level.name for level in levels(got.index)] == [lv.name for lv in levels(base.index)]
    for mine, theirs in zip(levels(got.index), levels(base.index), strict=True):
        assert mine.dtype == expected_dtype(theirs.dtype, backend), mine.name
    # same values, only the container changed
    pd.testing.assert_frame_equal(
        got.reset_index().astype(object).where(got.reset_index().notna(), None),
        base.reset_index().astype(object).where(base.reset_index().notna(), None),
        check_dtype=False,
    )
    assert got.attrs["upstack"]["endpoint"] == base.attrs["upstack"]["endpoint"]


@pytest.mark.parametrize("backend", ["numpy_nullable", "pyarrow"])
def test_the_compare_frame_takes_the_backend_too(client: up.Client, backend: str) -> None:
    df = up.read_upstack("orders.orders", *RANGE, client=client, dtype_backend=backend)
    compare = df.upstack.compare
    assert compare["orders.orders"].dtype == df["orders.orders"].dtype
    assert compare.index.dtype == df.index.dtype


@pytest.mark.parametrize("backend", ["numpy_nullable", "pyarrow"])
def test_an_empty_result_has_the_same_dtypes_as_a_full_one(client: up.Client, backend: str) -> None:
    full = up.read_upstack(
        "orders.orders", *RANGE, dimensions="utm_source", client=client, dtype_backend=backend
    )
    empty = up.read_upstack(
        "orders.orders",
        *RANGE,
        dimensions="utm_source",
        filters=NOBODY,
        client=client,
        dtype_backend=backend,
    )
    assert empty.empty
    assert dict(empty.dtypes) == dict(full.dtypes)
    assert [lv.dtype for lv in levels(empty.index)] == [lv.dtype for lv in levels(full.index)]


def test_whole_numbers_do_not_change_the_dtype(client: up.Client) -> None:
    # a count of orders is whole: the dtype still comes from the column, never from its values
    df = up.read_upstack("orders.orders", *RANGE, client=client, dtype_backend="numpy_nullable")
    assert (df["orders.orders"] % 1 == 0).all()
    assert df["orders.orders"].dtype == pd.Float64Dtype()


def test_dtypes_override_still_wins(client: up.Client) -> None:
    df = up.read_upstack(
        "orders.orders",
        *RANGE,
        client=client,
        dtype_backend="pyarrow",
        dtypes={"orders.orders": "Int64"},
    )
    assert df["orders.orders"].dtype == pd.Int64Dtype()
    assert df.index.dtype == pd.ArrowDtype(pa.timestamp(DATETIME_UNIT, tz="UTC"))


def test_missing_values_are_na_in_the_nullable_backend(client: up.Client) -> None:
    base = up.read_cohorts(start="2026-06-01", end="2026-10-31", client=client)
    got = up.read_cohorts(
        start="2026-06-01", end="2026-10-31", client=client, dtype_backend="numpy_nullable"
    )
    column = base.columns[0]
    assert base[column].isna().sum() == got[column].isna().sum()
    if base[column].isna().any():
        assert got[column][base[column].isna().to_numpy()].iloc[0] is pd.NA


@pytest.mark.parametrize("value", ["arrow", "numpy", True, 1])
@pytest.mark.parametrize("reader", sorted(READERS))
def test_an_unknown_backend_is_refused_before_any_request(reader: str, value: Any) -> None:
    with pytest.raises(ValueError, match="dtype_backend must be 'numpy_nullable' or 'pyarrow'"):
        READERS[reader](client=RefusingClient(), dtype_backend=value)


def test_pd_read_upstack_is_the_same_function() -> None:
    assert pd.read_upstack is up.read_upstack  # type: ignore[attr-defined]
    assert "dtype_backend" in pd.read_upstack.__code__.co_varnames  # type: ignore[attr-defined]
