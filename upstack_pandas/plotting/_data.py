"""Data preparation for the plots: pure pandas, no matplotlib.

Each plot splits into a preparation step here (pick the measure columns, read the catalog
metadata and headline values from ``df.attrs["upstack"]``, reshape) and a drawing step in its
own module, in the manner of seaborn's ``_HeatMapper``. When the attrs are missing (a frame
built by hand, or one that lost its metadata), the values are computed from the frame itself.
"""

from __future__ import annotations

import importlib
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd

from upstack_pandas._display.formatting import format_change, format_value, is_good_change

MeasureInfo = Mapping[str, Any]
"""One measure's entry of ``attrs["upstack"]["measures"]`` (catalog fields + headline values)."""


# --- attrs access -------------------------------------------------------------------------


def upstack_attrs(df: pd.DataFrame) -> dict[str, Any]:
    """The frame's ``attrs["upstack"]`` dict, or an empty dict when it has none."""
    meta = df.attrs.get("upstack")
    return meta if isinstance(meta, dict) else {}


def measure_info(attrs: Mapping[str, Any], measure: str | None) -> MeasureInfo:
    """The metadata of one measure from the attrs, or an empty mapping."""
    measures = attrs.get("measures")
    if measure is None or not isinstance(measures, dict):
        return {}
    info = measures.get(measure)
    return info if isinstance(info, dict) else {}


def title_of(info: MeasureInfo, measure: str | None, *, short: bool = False) -> str:
    """The catalog title (or ``shortTitle``), falling back to the other one, then the id."""
    keys = ("shortTitle", "title") if short else ("title", "shortTitle")
    for key in keys:
        if info.get(key):
            return str(info[key])
    return measure or "value"


def format_measure(value: object, info: MeasureInfo, *, compact: bool = True) -> str:
    """Format a value by the measure's catalog ``format`` and ``currency``."""
    return format_value(
        value, info.get("format"), currency=info.get("currency") or "USD", compact=compact
    )


def pretty(name: object) -> str:
    """``"first_click"`` → ``"First click"``: a readable label from an identifier."""
    text = str(name).replace("_", " ").strip()
    return text[:1].upper() + text[1:]


# --- measure columns ----------------------------------------------------------------------


def measure_columns(df: pd.DataFrame, attrs: Mapping[str, Any]) -> list[str]:
    """The frame's measure columns: the attrs order when known, else every numeric column."""
    listed = attrs.get("measures")
    if isinstance(listed, dict):
        in_frame = [m for m in listed if m in df.columns]
        if in_frame:
            return in_frame
    return [str(c) for c in df.columns if pd.api.types.is_numeric_dtype(df[c].dtype)]


def resolve_measures(
    df: pd.DataFrame, attrs: Mapping[str, Any], measures: str | Sequence[str] | None
) -> list[str]:
    """Resolve measure ids (or catalog titles / short titles) to the frame's columns.

    Raises
    ------
    ValueError
        When a name matches no measure column; the message lists the available ones.
    """
    available = measure_columns(df, attrs)
    if measures is None:
        if not available:
            raise ValueError(
                "the frame has no measure columns to plot; pass a frame from read_upstack() "
                "or one with numeric measure columns"
            )
        return available
    names = [measures] if isinstance(measures, str) else list(measures)
    if not names:
        raise ValueError(f"no measures given; available measure columns: {available}")
    by_title: dict[str, str] = {}
    for candidate in available:
        info = measure_info(attrs, candidate)
        for key in ("title", "shortTitle"):
            if info.get(key):
                by_title.setdefault(str(info[key]).casefold(), candidate)
    resolved = []
    for name in names:
        column: str | None = name if name in available else by_title.get(str(name).casefold())
        if column is None:
            raise ValueError(
                f"unknown measure column {name!r}; available measure columns: {available} "
                "(pass a measure id or catalog title from that list)"
            )
        resolved.append(column)
    return resolved


# --- sparklines ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Tile:
    """Everything one sparkline tile shows, ready to draw."""

    measure: str
    title: str
    values: npt.NDArray[np.floating[Any]]
    compare: npt.NDArray[np.floating[Any]] | None
    value_text: str
    change: float | None
    change_text: str
    good: bool | None
    partial: bool
    period: str
    note: str | None
    info: MeasureInfo


def _time_levels(df: pd.DataFrame) -> list[str]:
    """The non-``dt`` index levels of a time-series frame (raises when there is no ``dt``)."""
    names = [str(n) for n in df.index.names]
    if "dt" in names:
        return [n for n in names if n != "dt"]
    if isinstance(df.index, pd.DatetimeIndex):
        return []
    raise ValueError(
        "sparklines need a time series: the frame's index has no 'dt' level "
        f"(index levels: {names}). Query with a granularity such as 'day' or 'week', "
        "not 'none'."
    )


def _by_dt(column: pd.Series[float], dims: list[str], average: bool) -> pd.Series[float]:
    """One value per ``dt``: summed over dimension values (mean for averages)."""
    column = column.astype("float64")
    if not dims:
        return column
    grouped = column.groupby(level="dt", sort=True)
    return grouped.mean() if average else grouped.sum(min_count=1)


def _floats(series: pd.Series[float]) -> npt.NDArray[np.floating[Any]]:
    return series.to_numpy(dtype="float64", na_value=np.nan)


def _headline(
    info: MeasureInfo, key: str, series: pd.Series[float] | None, average: bool
) -> float | None:
    """``primary``/``compare`` headline from the attrs, else computed from the series."""
    suffix = "Avg" if average else "Sum"
    if f"{key}{suffix}" in info:
        value = info[f"{key}{suffix}"]
        return None if value is None else float(value)
    if series is None or series.isna().all():
        return None
    return float(series.mean() if average else series.sum())


def _percent_diff(primary: float | None, compare: float | None) -> float | None:
    if primary is None or compare is None or compare == 0 or math.isnan(compare):
        return None
    return (primary - compare) / abs(compare) * 100.0


def compare_frame(df: pd.DataFrame, attrs: Mapping[str, Any]) -> pd.DataFrame | None:
    """The compare-period frame stored in the attrs, via ``metadata.compare_frame``."""
    if not attrs.get("compare"):
        return None
    try:
        decode = importlib.import_module("upstack_pandas.metadata").compare_frame
    except (ImportError, AttributeError):  # pragma: no cover - metadata not available
        return None
    frame = decode(df)
    return frame if isinstance(frame, pd.DataFrame) and len(frame) else None


def sparkline_tiles(
    df: pd.DataFrame,
    measures: str | Sequence[str] | None = None,
    *,
    compare: bool = True,
    compare_data: pd.DataFrame | None = None,
) -> list[Tile]:
    """Prepare one `Tile` per measure of a time-series frame.

    Frames with dimensions are reduced to one value per ``dt``: additive measures are summed
    over the dimension values (exact); averages and ratios are shown as the unweighted mean
    across dimension values (an approximation, flagged by the tile's ``note``). Headline
    values and the change come from the attrs, which hold them for the whole query.
    """
    if not isinstance(df, pd.DataFrame):
        raise TypeError(f"sparklines expects a pandas DataFrame, got {type(df).__name__}")
    if df.empty:
        raise ValueError("the frame is empty: there is nothing to plot")
    attrs = upstack_attrs(df)
    columns = resolve_measures(df, attrs, measures)
    dims = _time_levels(df)
    other = None
    if compare:
        other = compare_data if compare_data is not None else compare_frame(df, attrs)
        if other is not None and not isinstance(other, pd.DataFrame):
            raise TypeError(f"compare_data must be a DataFrame, got {type(other).__name__}")
    other_dims = _time_levels(other) if other is not None else []
    tiles = []
    for measure in columns:
        info = measure_info(attrs, measure)
        average = bool(info.get("isAverage", False))
        series = _by_dt(df[measure], dims, average)
        previous = None
        if other is not None and measure in other.columns:
            previous = _by_dt(other[measure], other_dims, average)
        value = _headline(info, "primary", series, average)
        change = None
        if compare and "percentDiff" in info:
            change = None if info["percentDiff"] is None else float(info["percentDiff"])
        elif compare:
            change = _percent_diff(value, _headline(info, "compare", previous, average))
        tiles.append(
            Tile(
                measure=measure,
                title=title_of(info, measure, short=True),
                values=_floats(series),
                compare=None if previous is None else _floats(previous),
                value_text=format_measure(value, info),
                change=change,
                change_text=format_change(change) if compare else "",
                good=is_good_change(change, info.get("preferredTrendDirection")),
                partial=bool(info.get("hasPacing", False)),
                period=str(attrs.get("granularity") or "period"),
                note=f"line: mean across {', '.join(dims)}" if dims and average else None,
                info=info,
            )
        )
    return tiles
