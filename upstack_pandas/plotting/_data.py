"""Data preparation for the plots: pure pandas, no matplotlib.

Each plot splits into a preparation step here (pick the measure columns, read the catalog
metadata and headline values from ``df.attrs["upstack"]``, reshape) and a drawing step in its
own module, in the manner of seaborn's ``_HeatMapper``. When the attrs are missing (a frame
built by hand, or one that lost its metadata), the values are computed from the frame itself.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd

from upstack_pandas import metadata
from upstack_pandas._display.formatting import format_change, format_value, is_good_change
from upstack_pandas._errors import IncompleteTotalsWarning

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
    """The compare rows of ``df``'s rows, via ``metadata.compare_for_rows``.

    None when the frame has no compare period or its rows are not rows of its query (the
    stored compare period cannot describe them).
    """
    if not attrs.get("compare"):
        return None
    try:
        frame = metadata.compare_for_rows(df)
    except ValueError:
        return None
    return frame if isinstance(frame, pd.DataFrame) and len(frame) else None


def sparkline_tiles(
    df: pd.DataFrame,
    measures: str | Sequence[str] | None = None,
    *,
    compare: bool = True,
    compare_data: pd.DataFrame | None = None,
    totals: Mapping[str, Mapping[str, Any]] | None = None,
) -> list[Tile]:
    """Prepare one `Tile` per measure of a time-series frame.

    Frames with dimensions are reduced to one value per ``dt``: additive measures are summed
    over the dimension values (exact); averages and ratios are shown as the unweighted mean
    across dimension values (an approximation, flagged by the tile's ``note``). Headline
    values and the change come from the attrs while the frame matches its query; when it
    does not (sliced, resampled, scaled...), they come from ``totals`` (the API's totals for
    exactly these rows) when given, else sums are recomputed from the rows and ratios are
    shown as unavailable with an :class:`~upstack_pandas.IncompleteTotalsWarning`. The compare
    line is the compare period of the frame's own rows (``metadata.compare_for_rows``: the
    same positions of the compare range); it is not drawn when the stored compare period
    cannot describe the rows (resampled, concatenated).
    """
    if not isinstance(df, pd.DataFrame):
        raise TypeError(f"sparklines expects a pandas DataFrame, got {type(df).__name__}")
    if df.empty:
        raise ValueError("the frame is empty: there is nothing to plot")
    attrs = upstack_attrs(df)
    columns = resolve_measures(df, attrs, measures)
    dims = _time_levels(df)
    mismatch = metadata.scope_mismatch(df) if attrs else []
    regrouped = bool(mismatch) and _rebucketed(df, attrs)
    other = None
    if compare:
        stored = compare_frame(df, attrs)  # the compare rows of these rows, sliced or not
        other = compare_data if compare_data is not None else stored
        if other is not None and not isinstance(other, pd.DataFrame):
            raise TypeError(f"compare_data must be a DataFrame, got {type(other).__name__}")
    other_dims = _time_levels(other) if other is not None else []
    flags = metadata.incomplete(df) if attrs else None
    last_incomplete = None if flags is None or not len(flags) else bool(flags.to_numpy()[-1])
    period = str(metadata.actual_granularity(df) or attrs.get("granularity") or "period")
    tiles, unavailable = [], []
    for measure in columns:
        info = measure_info(attrs, measure)
        average = bool(info.get("isAverage", False))
        series = _by_dt(df[measure], dims, average)
        previous = None
        if other is not None and measure in other.columns:
            previous = _by_dt(other[measure], other_dims, average)
        note = f"line: mean across {', '.join(dims)}" if dims and average else None
        values = _floats(series)
        change = None
        if not mismatch:
            value = _headline(info, "primary", series, average)
            if compare and "percentDiff" in info:
                change = None if info["percentDiff"] is None else float(info["percentDiff"])
            elif compare:
                change = _percent_diff(value, _headline(info, "compare", previous, average))
        elif totals is not None and measure in totals:
            fresh = {**info, **dict(totals[measure])}
            value = _headline(fresh, "primary", series, average)
            if compare and fresh.get("percentDiff") is not None:
                change = float(fresh["percentDiff"])
        elif average:
            value = None
            unavailable.append(measure)
            note = "total n/a: the frame no longer matches its query"
            if regrouped:
                values = np.full(len(values), np.nan)
                note = "not drawn: ratio re-aggregated outside upstack"
        else:
            value = None if series.isna().all() else float(series.sum())
            if compare and previous is not None:
                change = _percent_diff(
                    value, None if previous.isna().all() else float(previous.sum())
                )
        tiles.append(
            Tile(
                measure=measure,
                title=title_of(info, measure, short=True),
                values=values,
                compare=None if previous is None else _floats(previous),
                value_text=format_measure(value, info),
                change=change,
                change_text=format_change(change) if compare else "",
                good=is_good_change(change, info.get("preferredTrendDirection")),
                partial=bool(info.get("hasPacing", False))
                if last_incomplete is None
                else last_incomplete,
                period=period,
                note=note,
                info=info,
            )
        )
    if unavailable:
        warnings.warn(
            f"{', '.join(unavailable)}: no total drawn, because the frame no longer matches "
            f"its query ({'; '.join(mismatch)}) and a ratio cannot be rebuilt from rows; use "
            "df.upstack.sparklines() (re-reads the query) or df.upstack.resample()",
            IncompleteTotalsWarning,
            stacklevel=metadata.user_stacklevel(),
        )
    return tiles


def _rebucketed(df: pd.DataFrame, attrs: Mapping[str, Any]) -> bool:
    """Whether the rows are no longer the query's buckets (resampled, concatenated twice...)."""
    found = metadata.infer_granularity(df)
    dt = metadata._dt_values(df)
    duplicated = dt is not None and not _time_levels(df) and bool(dt.duplicated().any())
    return duplicated or (found is not None and found != attrs.get("granularity"))


def caption_parts(df: pd.DataFrame, compare: bool, has_compare_line: bool) -> list[str]:
    """What a plot of ``df`` shows, from its actual index: range, bucket size, compare period."""
    attrs = upstack_attrs(df)
    parts = []
    covered = metadata.covered_range(df) if attrs else None
    date_range = attrs.get("dateRange") or {}
    if covered is not None:
        parts.append(f"{covered[0]} to {covered[1]}")
    elif date_range.get("start") and date_range.get("end"):
        parts.append(f"{date_range['start']} to {date_range['end']}")
    granularity = metadata.actual_granularity(df) if attrs else None
    if granularity:
        parts.append(f"by {granularity}")
    mismatch = metadata.scope_mismatch(df) if attrs else []
    compare_range = attrs.get("compareDateRange") or {}
    sliced = metadata.compare_range_for_rows(df) if attrs and mismatch else None
    if compare and compare_range.get("start") and not mismatch and has_compare_line:
        parts.append(f"vs {compare_range['start']} to {compare_range['end']} (faint line)")
    elif compare and sliced is not None and has_compare_line:
        parts.append(f"vs {sliced[0]} to {sliced[1]} (faint line)")
    elif compare and has_compare_line:
        parts.append("faint line: compare period")
    return parts
