"""``dtype_backend=``: the readers' frames in nullable or Arrow dtypes, as ``pd.read_csv`` does.

The readers build NumPy-backed frames (the dtype table of :mod:`.builders`); this module maps
each column and each index level onto the backend asked for, by dtype and never by value (a
``float64`` measure is ``Float64`` even when every value is whole), so an empty result has the
same dtypes as a full one.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

__all__ = ["DTYPE_BACKENDS", "check_dtype_backend", "convert_frame", "convert_index"]

DTYPE_BACKENDS = ("numpy_nullable", "pyarrow")


def check_dtype_backend(dtype_backend: Any) -> str | None:
    """``None`` or one of :data:`DTYPE_BACKENDS` (``ValueError`` otherwise, before any request)."""
    if dtype_backend is None:
        return None
    if not isinstance(dtype_backend, str) or dtype_backend not in DTYPE_BACKENDS:
        raise ValueError(
            f"dtype_backend must be 'numpy_nullable' or 'pyarrow' (as in pandas.read_csv), "
            f"or None for NumPy dtypes; got {dtype_backend!r}"
        )
    if dtype_backend == "pyarrow":
        try:
            import pyarrow  # noqa: F401
        except ImportError:  # pragma: no cover - pyarrow is a dependency
            raise ImportError(
                "dtype_backend='pyarrow' needs pyarrow: pip install pyarrow"
            ) from None
    return dtype_backend


def _nullable(dtype: Any) -> Any:
    if isinstance(dtype, pd.DatetimeTZDtype) or dtype.kind in "mM":
        return dtype  # no nullable datetime dtype: NaT is already a missing value
    if dtype.kind == "f":
        return pd.Float64Dtype() if dtype.itemsize == 8 else pd.Float32Dtype()
    if dtype.kind in "iu":
        return pd.api.types.pandas_dtype(str(dtype).capitalize().replace("Uint", "UInt"))
    if dtype.kind == "b":
        return pd.BooleanDtype()
    if dtype.kind in "OU" or isinstance(dtype, pd.StringDtype):
        return pd.StringDtype()
    return dtype


def _arrow(dtype: Any) -> Any:
    import pyarrow as pa

    if isinstance(dtype, pd.ArrowDtype):
        return dtype
    if isinstance(dtype, pd.DatetimeTZDtype):
        return pd.ArrowDtype(pa.timestamp(dtype.unit, tz=str(dtype.tz)))
    if isinstance(dtype, pd.StringDtype) or dtype.kind in "OU":
        return pd.ArrowDtype(pa.string())
    if isinstance(dtype, pd.api.extensions.ExtensionDtype):
        numpy_dtype = getattr(dtype, "numpy_dtype", None)
        if numpy_dtype is None:
            return dtype
        dtype = numpy_dtype
    return pd.ArrowDtype(pa.from_numpy_dtype(np.dtype(dtype)))


def _target(dtype: Any, backend: str) -> Any:
    return _nullable(dtype) if backend == "numpy_nullable" else _arrow(dtype)


def convert_index(index: pd.Index, backend: str | None) -> pd.Index:
    """``index`` (each level of a MultiIndex) in ``backend``'s dtypes; unchanged for None."""
    if backend is None:
        return index
    if isinstance(index, pd.MultiIndex):
        levels: list[Any] = [convert_index(level, backend) for level in index.levels]
        converted: pd.Index = index.set_levels(levels, verify_integrity=False)
        return converted
    target: Any = _target(index.dtype, backend)
    if target == index.dtype:
        return index
    result: pd.Index = pd.Index(index.astype(target), name=index.name)
    return result


def convert_frame(frame: pd.DataFrame, backend: str | None) -> pd.DataFrame:
    """``frame``'s columns and index in ``backend``'s dtypes (attrs kept); unchanged for None."""
    if backend is None:
        return frame
    attrs = frame.attrs
    mapping = {c: _target(frame[c].dtype, backend) for c in frame.columns}
    converted = frame.astype(mapping) if mapping else frame.copy()
    converted.index = convert_index(frame.index, backend)
    if isinstance(frame.columns, pd.MultiIndex) or frame.columns.dtype != object:
        converted.columns = frame.columns
    converted.attrs = attrs
    return converted
