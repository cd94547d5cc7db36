"""``df.upstack``: read a reader's frame through its metadata, and hand it to plots/dashboards.

Thin by design: each method delegates to a plain function (:mod:`upstack_pandas._display.views`,
:mod:`upstack_pandas.metadata`, the plots, the dashboards). The accessor is also where a frame
that no longer matches its query gets its totals re-read (:mod:`upstack_pandas._readers.reread`:
metadata, views and plots never fetch). Nothing is cached on the accessor. When pandas dropped the attrs (``rolling``,
``agg``, ``join``...), columns that are measure ids get their entry back from catalogs already
fetched (never by sending a request). Plots and dashboards are imported on first use only
(matplotlib is optional and slow to import), not to hide an import cycle.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any

import pandas as pd

from upstack_pandas import metadata
from upstack_pandas._display import views as _frame_views

if TYPE_CHECKING:
    from upstack_pandas._transport.client import Client

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
        """Metadata per measure column: catalog fields and the response's totals.

        The totals are None when the frame no longer matches its query (sliced, resampled,
        scaled...): they described other rows. ``summary()`` gives the right ones.
        """
        return _frame_views.table(self._frame)

    def meta(self, column: str) -> dict[str, Any]:
        """One measure column's metadata (``KeyError`` when the column has none).

        As for :attr:`measures`, the totals are None once the frame no longer matches its query.
        """
        return _frame_views.meta(self._frame, column)

    @property
    def compare(self) -> pd.DataFrame:
        """The compare period of the frame's rows: same columns, index names and dtypes.

        The compare period aligns with the query's range by position (the k-th bucket with the
        k-th compare bucket, per dimension value), so a sliced or filtered frame gets the
        compare rows of its own rows, in its row order. A frame whose rows are not rows of its
        query (resampled, concatenated, re-labelled) raises ``ValueError`` saying why: the
        stored compare period cannot describe them; re-read them with ``compare=``. A frame
        read without a compare period raises ``AttributeError``.
        """
        return _frame_views.compare(self._frame)

    def summary(
        self, *, complete: bool = False, fetch: bool = True, client: Client | None = None
    ) -> pd.DataFrame:
        """Per measure: title, primary and compare totals, % change, good, incomplete, source.

        The headline value is the average for ``isAverage`` measures (a ratio) and the sum
        otherwise, as in the API's ``percentDiff``. ``good`` follows the catalog's
        ``preferredTrendDirection``. The values always describe the frame's rows: when the
        frame no longer matches its query (sliced, filtered, resampled, combined, scaled),
        the query is re-read for exactly these rows (through the cache) and its totals are
        used if the API's rows equal the frame's; otherwise sums come from the rows and
        ratios are missing, with an :class:`~upstack_pandas.IncompleteTotalsWarning`
        (``docs/metadata.md``, "Honest totals").

        Parameters
        ----------
        complete : bool, default False
            Leave out the rows whose period was not over when fetched (today, this week...)
            before summarising, so a partial period is not compared with full ones.
        fetch : bool, default True
            Allow the re-read; ``False`` never sends a request.
        client : Client, optional
            The client for the re-read (default: the default client).

        Returns
        -------
        pandas.DataFrame
            Index ``measure``; columns ``title``, ``format``, ``primary``, ``compare``,
            ``change_pct``, ``good``, ``incomplete`` (the rows include a period not yet
            over) and ``source`` (``api``, ``re-read``, ``rows`` or ``unavailable``).
        """
        frame = _frame_views.without_incomplete(self._frame) if complete else self._frame
        totals, why = None, None
        if fetch and metadata.scope_mismatch(frame):
            from upstack_pandas._readers.reread import verified_totals

            totals, why = verified_totals(frame, client)
        return _frame_views.summary(frame, totals=totals, why=why)

    @property
    def incomplete(self) -> pd.Series:
        """Per row: whether its period was not over at the server's time of fetching.

        The current bucket of a query (``hasPacing``) and later ones, or a cohort's period
        still running; all False when the frame records no server time.
        """
        flags = metadata.incomplete(self._frame)
        if flags is None:
            return pd.Series(False, index=self._frame.index, name="incomplete")
        return flags

    def complete(self) -> pd.DataFrame:
        """The frame without the rows whose period was not over when fetched."""
        return _frame_views.without_incomplete(self._frame)

    def resample(
        self, rule: str, *, fetch: bool = True, client: Client | None = None
    ) -> pd.DataFrame:
        """Re-aggregate to a coarser bucket, exactly for sums and ratios alike.

        Parameters
        ----------
        rule : str
            An API granularity (``"week"``, ``"month"``, ``"quarter"``, ``"year"``...) or a
            pandas rule meaning one (``"W"``, ``"MS"``, ``"ME"``, ``"QS"``, ``"YS"``...).
            Buckets are the API's: weeks start on Monday and are labelled by it, months by
            their 1st, clipped to the frame's range.
        fetch : bool, default True
            Allow re-reading the query at the new bucket size (through the cache); that is
            how ratios and averages (ROAS, AOV...) get exact values. Without it, or when the
            frame's values are not the API's, ratios are missing with a warning.
        client : Client, optional
            The client for the re-read (default: the default client).

        Returns
        -------
        pandas.DataFrame
            Same index levels and columns; ``attrs["upstack"]`` describes the new rows.
        """
        from upstack_pandas._readers.reread import granularity_of_rule, regroup

        return regroup(self._frame, granularity_of_rule(rule), None, client=client, fetch=fetch)

    def regroup(
        self,
        dimensions: str | list[str] | None = None,
        *,
        granularity: str | None = None,
        fetch: bool = True,
        client: Client | None = None,
    ) -> pd.DataFrame:
        """Keep only ``dimensions`` (summing over the others), exactly for ratios too.

        The group-by-dimension sibling of :meth:`resample`: ``df.upstack.regroup("channel")``
        turns a ``(dt, channel, device)`` frame into ``(dt, channel)``, ``regroup()`` into one
        row per ``dt``. Ratios come from re-reading the query at the new scope, as for
        :meth:`resample`.
        """
        from upstack_pandas._readers.reread import regroup

        kept = [dimensions] if isinstance(dimensions, str) else list(dimensions or [])
        return regroup(self._frame, granularity, kept, client=client, fetch=fetch)

    def titled(self) -> pd.DataFrame:
        """A display copy with the catalog titles as column names; it keeps its metadata."""
        return _frame_views.titled(self._frame)

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

    def cohort_matrix(
        self, measure: str | None = None, *, incomplete: str = "keep"
    ) -> pd.DataFrame:
        """Pivot a :func:`read_cohorts` frame to cohort rows × period columns.

        Cells whose period was still running when fetched are listed in the matrix's
        ``attrs["upstack"]["incompleteCells"]`` (``[cohort, period]`` pairs); with
        ``incomplete="mask"`` they are NaN instead of their partial value.
        """
        if incomplete not in ("keep", "mask"):
            raise ValueError(f"incomplete must be 'keep' or 'mask'; got {incomplete!r}")
        matrix = _frame_views.cohort_matrix(self._frame, measure)
        if incomplete == "mask":
            matrix = matrix.mask(_frame_views.incomplete_matrix(matrix))
        return matrix

    def to_parquet(self, path: str | os.PathLike[str], **kwargs: Any) -> None:
        """Write the frame, index, timezone and metadata to parquet (see :func:`read_parquet`)."""
        metadata.to_parquet(self._frame, path, **kwargs)

    # ----------------------------------------------------------------- delegations

    def sparklines(self, **kwargs: Any) -> Any:
        """Small multiples of each measure over time; see :func:`upstack_pandas.sparklines`."""
        from upstack_pandas.plotting import sparklines

        if "totals" not in kwargs and metadata.scope_mismatch(self._frame):
            from upstack_pandas._readers.reread import verified_totals

            kwargs["totals"], _ = verified_totals(self._frame, kwargs.pop("client", None))
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
