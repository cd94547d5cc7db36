"""What ``df.upstack`` shows of a reader's frame: its measures, summary, display copy, matrix.

Plain functions of the frame, read through :mod:`upstack_pandas.metadata`; a frame whose attrs
pandas dropped finds its measures' entries in catalogs already fetched
(:func:`upstack_pandas.catalog.known_entries`, which never sends a request). The accessor
delegates to them in one line.
"""

from __future__ import annotations

from typing import Any

import pandas as pd

from upstack_pandas import metadata
from upstack_pandas._display import style
from upstack_pandas._display.formatting import format_value, is_good_change
from upstack_pandas.catalog import known_entries

__all__ = ["SummaryFrame", "cohort_matrix", "compare", "formatted", "meta", "summary", "table"]

_SUMMARY_COLUMNS = ["title", "format", "primary", "compare", "change_pct", "good"]


class SummaryFrame(pd.DataFrame):
    """``df.upstack.summary()``: a DataFrame whose notebook display formats each row's values."""

    @property
    def _constructor(self) -> type[pd.DataFrame]:
        return pd.DataFrame

    def __repr__(self) -> str:
        return style.summary_text(self)  # print() shows what the notebook and the demo show

    def _repr_html_(self) -> str:
        return style.summary_html(self)


def _entries(frame: pd.DataFrame) -> dict[str, dict[str, Any]]:
    return metadata.measure_entries(frame, known_entries)


def table(frame: pd.DataFrame) -> pd.DataFrame:
    """Metadata per measure column, indexed by ``measure``."""
    entries = _entries(frame)
    out = pd.DataFrame.from_dict(entries, orient="index")
    out.index.name = "measure"
    return out


def meta(frame: pd.DataFrame, column: str) -> dict[str, Any]:
    """One measure column's metadata (``KeyError`` when the column has none)."""
    entries = _entries(frame)
    if column not in entries:
        raise KeyError(f"no upstack metadata for column {column!r}")
    return entries[column]


def compare(frame: pd.DataFrame) -> pd.DataFrame:
    """The compare-period frame (``AttributeError`` when the frame carries none)."""
    found = metadata.compare_frame(frame)
    if found is None:
        raise AttributeError("this frame carries no compare period (read it with compare=True)")
    return found


def summary(frame: pd.DataFrame) -> SummaryFrame:
    """Per measure: title, primary and compare totals, % change, and whether it is good.

    The headline value is the average for ``isAverage`` measures (a ratio) and the sum
    otherwise, as in the API's ``percentDiff``. ``good`` follows the catalog's
    ``preferredTrendDirection``.
    """
    entries = _entries(frame)
    rows = {}
    for mid, entry in entries.items():
        head = "Avg" if entry.get("isAverage") else "Sum"
        change = entry.get("percentDiff")
        rows[mid] = {
            "title": entry.get("title"),
            "format": entry.get("format"),
            "primary": entry.get(f"primary{head}"),
            "compare": entry.get(f"compare{head}"),
            "change_pct": change,
            "good": is_good_change(change, entry.get("preferredTrendDirection")),
        }
    out = SummaryFrame.from_dict(rows, orient="index", columns=_SUMMARY_COLUMNS)
    out = SummaryFrame(
        out.astype({"primary": "float64", "compare": "float64", "change_pct": "float64"})
    )
    out.index.name = "measure"
    out.attrs = {"currencies": {m: e.get("currency") or "USD" for m, e in entries.items()}}
    return out


def formatted(frame: pd.DataFrame) -> pd.DataFrame:
    """A display copy: each measure column as text per its catalog format (``$1,234.50``)."""
    shown = frame.copy()
    for column, entry in _entries(frame).items():
        fmt, currency = entry.get("format"), entry.get("currency") or "USD"
        shown[column] = [format_value(v, fmt, currency=currency) for v in frame[column].tolist()]
    return shown


def cohort_matrix(frame: pd.DataFrame, measure: str | None = None) -> pd.DataFrame:
    """Pivot a :func:`read_cohorts` frame to cohort rows × period columns."""
    if list(frame.index.names) != ["cohort", "period"]:
        raise AttributeError("cohort_matrix needs a read_cohorts frame (index: cohort, period)")
    column = measure if measure is not None else frame.columns[0]
    if column not in frame.columns:
        raise KeyError(f"{column!r} is not a column; columns: {list(frame.columns)}")
    matrix = frame[column].unstack("period")
    matrix.columns.name = "period"
    matrix.attrs = dict(frame.attrs)
    return matrix
