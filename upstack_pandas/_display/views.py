"""What ``df.upstack`` shows of a reader's frame: its measures, summary, display copy, matrix.

Plain functions of the frame, read through :mod:`upstack_pandas.metadata`; a frame whose attrs
pandas dropped finds its measures' entries in catalogs already fetched
(:func:`upstack_pandas.catalog.known_entries`, which never sends a request). The accessor
delegates to them in one line.
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping
from typing import Any

import pandas as pd

from upstack_pandas import metadata
from upstack_pandas._display import style
from upstack_pandas._display.formatting import format_value, is_good_change
from upstack_pandas._errors import IncompleteTotalsWarning
from upstack_pandas.catalog import known_entries

__all__ = [
    "SummaryFrame",
    "cohort_matrix",
    "compare",
    "formatted",
    "meta",
    "summary",
    "table",
    "titled",
    "without_incomplete",
]

_SUMMARY_COLUMNS = [
    "title",
    "format",
    "primary",
    "compare",
    "change_pct",
    "good",
    "incomplete",
    "source",
]


class SummaryFrame(pd.DataFrame):
    """``df.upstack.summary()``: a DataFrame whose notebook display formats each row's values."""

    @property
    def _constructor(self) -> type[pd.DataFrame]:
        return pd.DataFrame

    def __repr__(self) -> str:
        return style.summary_text(self)  # print() shows what the notebook and the demo show

    def _repr_html_(self) -> str:
        return style.summary_html(self)


#: the response's totals of a measure entry: they describe the query's rows only
_TOTALS = ("primarySum", "compareSum", "primaryAvg", "compareAvg", "percentDiff", "pacedSum")


def _entries(frame: pd.DataFrame) -> dict[str, dict[str, Any]]:
    """Measure entries; a frame that no longer matches its query gets its totals blanked."""
    entries = metadata.measure_entries(frame, known_entries)
    if metadata.scope_mismatch(frame):
        for entry in entries.values():
            for key in _TOTALS:
                if key in entry:
                    entry[key] = None
    return entries


def table(frame: pd.DataFrame) -> pd.DataFrame:
    """Metadata per measure column, indexed by ``measure``.

    The response's totals (``primarySum``...) are None when the frame no longer matches its
    query (they described other rows); ``summary()`` gives the right ones.
    """
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
    """The compare-period rows of the frame's rows (``AttributeError`` when it carries none).

    ``ValueError`` when the stored compare period cannot describe the rows (see
    :func:`upstack_pandas.metadata.compare_for_rows`).
    """
    found = metadata.compare_for_rows(frame)
    if found is None:
        raise AttributeError("this frame carries no compare period (read it with compare=True)")
    return found


def summary(
    frame: pd.DataFrame,
    *,
    totals: Mapping[str, Mapping[str, Any]] | None = None,
    why: str | None = None,
) -> SummaryFrame:
    """Per measure: title, primary and compare values, % change, good, incomplete, source.

    The headline value is the average for ``isAverage`` measures (a ratio) and the sum
    otherwise, as in the API's ``percentDiff``. ``good`` follows the catalog's
    ``preferredTrendDirection``. When the frame still matches the query its metadata came
    from, the values are the API's totals (``source == "api"``). When it does not (sliced,
    filtered, resampled, combined, scaled), the old totals are never shown: ``totals`` (the
    API's totals for exactly these rows, re-read by ``df.upstack``) are used when given
    (``"re-read"``); else sums are recomputed from the rows (``"rows"``, no compare) and
    ratios/averages are missing (``"unavailable"``) with an :class:`IncompleteTotalsWarning`.
    ``incomplete`` says whether the rows include a period that was not over when fetched.
    """
    entries = _entries(frame)
    mismatch = metadata.scope_mismatch(frame)
    flags = metadata.incomplete(frame)
    partial = bool(flags.any()) if flags is not None else None
    rows = {}
    unavailable = []
    for mid, entry in entries.items():
        head = "Avg" if entry.get("isAverage") else "Sum"
        source = "api"
        if mismatch and totals is not None and mid in totals:
            entry, source = {**entry, **dict(totals[mid])}, "re-read"
        if mismatch and source == "api":
            if entry.get("isAverage"):
                primary, source = None, "unavailable"
                unavailable.append(mid)
            else:
                numbers = pd.to_numeric(frame[mid], errors="coerce").astype("float64")
                primary = float(numbers.sum()) if numbers.notna().any() else None
                source = "rows"
            values = {"primary": primary, "compare": None, "change": None}
        else:
            values = {
                "primary": entry.get(f"primary{head}"),
                "compare": entry.get(f"compare{head}"),
                "change": entry.get("percentDiff"),
            }
        change = values["change"]
        rows[mid] = {
            "title": entry.get("title"),
            "format": entry.get("format"),
            "primary": values["primary"],
            "compare": values["compare"],
            "change_pct": change,
            "good": is_good_change(change, entry.get("preferredTrendDirection")),
            "incomplete": partial,
            "source": source,
        }
    if unavailable:
        reason = why or "; ".join(mismatch)
        warnings.warn(
            f"{', '.join(unavailable)}: ratio/average totals are unavailable for this frame "
            f"because it no longer matches its query ({reason}); the API's totals for the "
            "original query are not shown. Use df.upstack.summary() with a client that can "
            "re-read the query, or df.upstack.resample()/regroup() instead of pandas "
            "aggregation.",
            IncompleteTotalsWarning,
            stacklevel=metadata.user_stacklevel(),
        )
    out = SummaryFrame.from_dict(rows, orient="index", columns=_SUMMARY_COLUMNS)
    out = SummaryFrame(
        out.astype({"primary": "float64", "compare": "float64", "change_pct": "float64"})
    )
    out.index.name = "measure"
    out.attrs = {"currencies": {m: e.get("currency") or "USD" for m, e in entries.items()}}
    return out


def without_incomplete(frame: pd.DataFrame) -> pd.DataFrame:
    """The frame without the rows whose period was not over when fetched."""
    flags = metadata.incomplete(frame)
    if flags is None or not flags.any():
        return frame
    return frame.loc[~flags.to_numpy()]


def titled(frame: pd.DataFrame) -> pd.DataFrame:
    """A display copy with catalog titles as column names that keeps its metadata.

    The measure entries (and the scope's checksums) are re-keyed by title, so summaries and
    plots of the copy still find them; ``attrs["upstack"]["titles"]`` maps title → id.
    """
    entries = _entries(frame)
    names = {mid: str(e.get("title") or mid) for mid, e in entries.items()}
    seen: dict[str, int] = {}
    for mid, title in list(names.items()):
        seen[title] = seen.get(title, 0) + 1
        if seen[title] > 1:
            names[mid] = f"{title} ({mid})"
    shown = frame.rename(columns=names)
    meta = metadata.get(frame)
    if meta is not None:
        new = dict(meta)
        new["measures"] = {names[m]: dict(e, id=m) for m, e in entries.items()}
        scope = dict(new.get("scope") or {})
        sums = scope.get("checksums") or {}
        scope["checksums"] = {names.get(k, k): v for k, v in sums.items()}
        new["scope"] = scope
        new["titles"] = {t: m for m, t in names.items()}
        shown.attrs = {**frame.attrs, metadata.KEY: new}
    return shown


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
    flags = metadata.incomplete(frame)
    if flags is not None and metadata.KEY in matrix.attrs:
        cells = flags[flags.to_numpy()].index
        matrix.attrs[metadata.KEY] = {
            **matrix.attrs[metadata.KEY],
            "incompleteCells": [[c.isoformat(), int(p)] for c, p in cells],
        }
    return matrix


def incomplete_matrix(matrix: pd.DataFrame) -> pd.DataFrame:
    """Cohort × period booleans: the cells :func:`cohort_matrix` flagged as not yet complete."""
    flags = pd.DataFrame(False, index=matrix.index, columns=matrix.columns)
    meta = metadata.get(matrix) or {}
    for cohort, period in meta.get("incompleteCells") or []:
        stamp = pd.Timestamp(cohort)
        if stamp in flags.index and period in flags.columns:
            flags.loc[stamp, period] = True
    return flags
