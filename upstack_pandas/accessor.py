"""``df.upstack``: read a reader's frame through its metadata, and hand it to plots/dashboards.

Thin by design: each method reads ``attrs["upstack"]`` through :mod:`.metadata` or delegates in
one line to a plain function. Nothing is cached on the accessor. When pandas dropped the attrs
(``rolling``, ``agg``, ``join``...), columns that are measure ids get their catalog entry back.
"""

from __future__ import annotations

import html
import os
from typing import Any

import pandas as pd

from upstack_pandas import metadata
from upstack_pandas.formatting import format_change, format_value, is_good_change

__all__ = ["UpstackAccessor"]

_SUMMARY_COLUMNS = ["title", "format", "primary", "compare", "change_pct", "good"]


class SummaryFrame(pd.DataFrame):
    """``df.upstack.summary()``: a DataFrame whose notebook display formats each row's values."""

    @property
    def _constructor(self) -> type[pd.DataFrame]:
        return pd.DataFrame

    def _repr_html_(self) -> str:
        currency = self.attrs.get("currencies", {})
        rows = []
        for mid, row in self.iterrows():
            fmt = row.get("format")
            good = row.get("good")
            colour = ("#1a7f37" if good else "#cf222e") if isinstance(good, bool) else "inherit"
            cells = [
                f"<th>{html.escape(str(mid))}</th>",
                f"<td>{html.escape(str(row.get('title') or ''))}</td>",
                f"<td style='text-align:right'>{format_value(row.get('primary'), fmt, currency=currency.get(mid, 'USD'))}</td>",
                f"<td style='text-align:right'>{format_value(row.get('compare'), fmt, currency=currency.get(mid, 'USD'))}</td>",
                f"<td style='text-align:right;color:{colour}'>{format_change(row.get('change_pct'))}</td>",
            ]
            rows.append("<tr>" + "".join(cells) + "</tr>")
        head = "".join(
            f"<th>{h}</th>" for h in ("measure", "title", "primary", "compare", "change")
        )
        return (
            "<table class='dataframe upstack-summary'><thead><tr>"
            f"{head}</tr></thead><tbody>{''.join(rows)}</tbody></table>"
        )


@pd.api.extensions.register_dataframe_accessor("upstack")
class UpstackAccessor:
    """Metadata, summaries, display formatting, parquet and plots for Upstack frames."""

    def __init__(self, frame: pd.DataFrame) -> None:
        self._frame = frame

    # ------------------------------------------------------------------------ metadata

    @property
    def attrs(self) -> dict[str, Any]:
        """The raw ``attrs["upstack"]`` dict (empty when pandas dropped it)."""
        return metadata.get(self._frame) or {}

    @property
    def measures(self) -> pd.DataFrame:
        """Metadata per measure column: catalog fields and the response's totals."""
        entries = metadata.measure_entries(self._frame)
        frame = pd.DataFrame.from_dict(entries, orient="index")
        frame.index.name = "measure"
        return frame

    def meta(self, column: str) -> dict[str, Any]:
        """One measure column's metadata (``KeyError`` when the column has none)."""
        entries = metadata.measure_entries(self._frame)
        if column not in entries:
            raise KeyError(f"no upstack metadata for column {column!r}")
        return entries[column]

    @property
    def compare(self) -> pd.DataFrame:
        """The compare-period frame: same columns, index names and dtypes as the frame."""
        compare = metadata.compare_frame(self._frame)
        if compare is None:
            raise AttributeError("this frame carries no compare period (read it with compare=True)")
        return compare

    def summary(self) -> pd.DataFrame:
        """Per measure: title, primary and compare totals, % change, and whether it is good.

        The headline value is the average for ``isAverage`` measures (a ratio) and the sum
        otherwise, as in the API's ``percentDiff``. ``good`` follows the catalog's
        ``preferredTrendDirection``.
        """
        rows = {}
        for mid, entry in metadata.measure_entries(self._frame).items():
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
        summary = SummaryFrame.from_dict(rows, orient="index", columns=_SUMMARY_COLUMNS)
        summary = SummaryFrame(
            summary.astype({"primary": "float64", "compare": "float64", "change_pct": "float64"})
        )
        summary.index.name = "measure"
        summary.attrs = {
            "currencies": {
                m: e.get("currency") or "USD"
                for m, e in metadata.measure_entries(self._frame).items()
            }
        }
        return summary

    def format(self) -> pd.DataFrame:
        """A display copy: each measure column as text per its catalog format (``$1,234.50``)."""
        entries = metadata.measure_entries(self._frame)
        shown = self._frame.copy()
        for column, entry in entries.items():
            fmt, currency = entry.get("format"), entry.get("currency") or "USD"
            shown[column] = [
                format_value(v, fmt, currency=currency) for v in self._frame[column].tolist()
            ]
        return shown

    def cohort_matrix(self, measure: str | None = None) -> pd.DataFrame:
        """Pivot a :func:`read_cohorts` frame to cohort rows × period columns."""
        frame = self._frame
        if list(frame.index.names) != ["cohort", "period"]:
            raise AttributeError("cohort_matrix needs a read_cohorts frame (index: cohort, period)")
        column = measure if measure is not None else frame.columns[0]
        if column not in frame.columns:
            raise KeyError(f"{column!r} is not a column; columns: {list(frame.columns)}")
        matrix = frame[column].unstack("period")
        matrix.columns.name = "period"
        matrix.attrs = dict(frame.attrs)
        return matrix

    def to_parquet(self, path: str | os.PathLike[str], **kwargs: Any) -> None:
        """Write the frame, index, timezone and metadata to parquet (see :func:`read_parquet`)."""
        metadata.to_parquet(self._frame, path, **kwargs)

    # ----------------------------------------------------------------- delegations

    def sparklines(self, **kwargs: Any) -> Any:
        """Small multiples of each measure over time; see :func:`upstack_pandas.sparklines`."""
        from upstack_pandas.plotting import sparklines

        return sparklines(self._frame, **kwargs)

    def heatmap(self, **kwargs: Any) -> Any:
        """A cohort heatmap; see :func:`upstack_pandas.cohort_heatmap`."""
        from upstack_pandas.plotting import cohort_heatmap

        return cohort_heatmap(self._frame, **kwargs)

    def attribution_chart(self, **kwargs: Any) -> Any:
        """An attribution bar chart; see :func:`upstack_pandas.attribution_chart`."""
        from upstack_pandas.plotting import attribution_chart

        return attribution_chart(self._frame, **kwargs)

    def to_dashboard(self, name: str, **kwargs: Any) -> Any:
        """Create a dashboard view from the frame; see :func:`upstack_pandas.dashboards.to_dashboard`."""
        from upstack_pandas.dashboards import to_dashboard

        return to_dashboard(self._frame, name, **kwargs)
