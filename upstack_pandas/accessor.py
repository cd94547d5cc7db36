"""``df.upstack``: read a reader's frame through its metadata, and hand it to plots/dashboards.

Thin by design: each method delegates in one line to a plain function
(:mod:`upstack_pandas._display.views`, :mod:`upstack_pandas.metadata`, the plots, the
dashboards). Nothing is cached on the accessor. When pandas dropped the attrs (``rolling``,
``agg``, ``join``...), columns that are measure ids get their entry back from catalogs already
fetched (never by sending a request). Plots and dashboards are imported on first use only
(matplotlib is optional and slow to import), not to hide an import cycle.
"""

from __future__ import annotations

import os
from typing import Any

import pandas as pd

from upstack_pandas import metadata
from upstack_pandas._display import views as _frame_views

__all__ = ["UpstackAccessor"]


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
        return _frame_views.table(self._frame)

    def meta(self, column: str) -> dict[str, Any]:
        """One measure column's metadata (``KeyError`` when the column has none)."""
        return _frame_views.meta(self._frame, column)

    @property
    def compare(self) -> pd.DataFrame:
        """The compare-period frame: same columns, index names and dtypes as the frame."""
        return _frame_views.compare(self._frame)

    def summary(self) -> pd.DataFrame:
        """Per measure: title, primary and compare totals, % change, and whether it is good.

        The headline value is the average for ``isAverage`` measures (a ratio) and the sum
        otherwise, as in the API's ``percentDiff``. ``good`` follows the catalog's
        ``preferredTrendDirection``.
        """
        return _frame_views.summary(self._frame)

    def format(self) -> pd.DataFrame:
        """A display copy: each measure column as text per its catalog format (``$1,234.50``)."""
        return _frame_views.formatted(self._frame)

    def style(self) -> Any:
        """A pandas ``Styler`` showing each measure as its catalog format says; numbers stay numbers.

        Currency in the measure's currency, ``%``, ``x`` and whole counts; ``styler.data`` is
        the frame itself, so it still sorts by value. See ``docs/reading.md``.
        """
        from upstack_pandas._display.style import style

        return style(self._frame)

    def cohort_matrix(self, measure: str | None = None) -> pd.DataFrame:
        """Pivot a :func:`read_cohorts` frame to cohort rows × period columns."""
        return _frame_views.cohort_matrix(self._frame, measure)

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
