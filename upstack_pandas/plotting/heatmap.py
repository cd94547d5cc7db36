"""Cohort heatmap: cohorts as rows, periods since acquisition as columns, future cells masked."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt
import pandas as pd

from upstack_pandas import metadata
from upstack_pandas._display.views import incomplete_matrix
from upstack_pandas.plotting._data import (
    MeasureInfo,
    format_measure,
    measure_info,
    resolve_measures,
    title_of,
    upstack_attrs,
)

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.collections import QuadMesh
    from matplotlib.colors import Colormap

SIZE_COLUMNS = ("cohortSize", "orders.customers_cohort")  # period-0 fallbacks for cohort sizes
_DATE_FORMATS = {"month": "%Y-%m", "year": "%Y", "week": "%Y-%m-%d"}
_EXPECTED = (
    "cohort_heatmap expects the long frame of read_cohorts() (index levels ('cohort', "
    "'period')) or a matrix with cohorts as rows and integer periods as columns "
    "(df.upstack.cohort_matrix(measure))"
)
_COHORT_NOUNS = {"week": "weekly cohort", "month": "monthly cohort", "year": "yearly cohort"}


@dataclass(frozen=True)
class CohortMatrix:
    """A cohort × period matrix ready to draw (NaN = a period that has not started)."""

    values: pd.DataFrame
    measure: str | None
    info: MeasureInfo
    row_labels: list[str]
    period_label: str
    granularity: str | None
    incomplete: pd.DataFrame | None = None  # True: the period was still running when fetched


def cohort_matrix_data(df: pd.DataFrame, measure: str | None = None) -> CohortMatrix:
    """Prepare the matrix, labels and metadata for `cohort_heatmap` (no drawing).

    Parameters
    ----------
    df
        The long cohort frame (index ``(cohort, period)``, one column per measure) or a
        matrix with cohorts as rows and integer periods as columns.
    measure
        For the long frame, the measure column (default the first measure column); for a
        matrix, the measure id whose attrs metadata (title, format) applies.
    """
    if not isinstance(df, pd.DataFrame):
        raise TypeError(f"cohort_heatmap expects a pandas DataFrame, got {type(df).__name__}")
    if df.empty:
        raise ValueError("the frame is empty: there is nothing to plot")
    attrs = upstack_attrs(df)
    sizes: dict[str, int] = {}
    incomplete = None
    if isinstance(df.index, pd.MultiIndex):
        names = list(df.index.names)
        if "cohort" not in names or "period" not in names:
            raise ValueError(f"{_EXPECTED}; got index levels {names}")
        measure = resolve_measures(df, attrs, measure)[0]
        matrix = df[measure].astype("float64").unstack("period")
        flags = metadata.incomplete(df)
        if flags is not None:
            incomplete = flags.unstack("period").eq(True)  # missing cells: not running
        for column in SIZE_COLUMNS:
            if column in df.columns and 0 in matrix.columns:
                sizes = _sizes_from(df[column].astype("float64").unstack("period")[0])
                break
    else:
        matrix = _as_matrix(df)
        measures = attrs.get("measures")
        if measure is None and isinstance(measures, dict) and len(measures) == 1:
            measure = next(iter(measures))
        if measure == "orders.customers_cohort" and 0 in matrix.columns:
            sizes = _sizes_from(matrix[0])
    matrix = matrix.sort_index().sort_index(axis=1)
    if incomplete is None and attrs.get("incompleteCells"):
        incomplete = incomplete_matrix(matrix)
    if incomplete is not None:
        incomplete = incomplete.reindex(index=matrix.index, columns=matrix.columns)
        incomplete = incomplete.eq(True)
    stored = attrs.get("cohortSizes")
    if isinstance(stored, dict) and stored:
        sizes = {str(key)[:10]: int(value) for key, value in stored.items() if value is not None}
    granularity = attrs.get("granularity") or _infer_granularity(matrix.index)
    labels = [_row_label(cohort, granularity, sizes) for cohort in matrix.index]
    noun = {"week": "Weeks", "month": "Months", "year": "Years"}.get(str(granularity), "Periods")
    return CohortMatrix(
        values=matrix,
        measure=measure,
        info=measure_info(attrs, measure),
        row_labels=labels,
        period_label=f"{noun} since first order",
        granularity=granularity,
        incomplete=incomplete,
    )


def _as_matrix(df: pd.DataFrame) -> pd.DataFrame:
    periods = [_period(column) for column in df.columns]
    if None in periods:
        raise ValueError(f"{_EXPECTED}; got columns {list(df.columns)[:8]}")
    try:
        values = df.astype("float64")
    except (TypeError, ValueError):
        raise TypeError("the cohort matrix must hold numbers (NaN for future cells)") from None
    values.columns = pd.Index(periods, name="period")
    return values


def _period(column: object) -> int | None:
    """A column label as a period number, or None when it is not an integer."""
    try:
        number = float(str(column))
    except ValueError:
        return None
    return int(number) if number.is_integer() else None


def _sizes_from(period_zero: pd.Series[float]) -> dict[str, int]:
    return {_cohort_key(c): int(v) for c, v in period_zero.items() if pd.notna(v)}


def _cohort_key(cohort: object) -> str:
    if isinstance(cohort, pd.Timestamp):
        return cohort.strftime("%Y-%m-%d")
    return str(cohort)[:10]


def _infer_granularity(cohorts: pd.Index) -> str | None:
    stamps = [c for c in cohorts if isinstance(c, pd.Timestamp)]
    if not stamps or len(stamps) != len(cohorts):
        return None
    if all(s.day == 1 for s in stamps):
        return "year" if len(stamps) > 1 and all(s.month == 1 for s in stamps) else "month"
    return "week"


def _row_label(cohort: object, granularity: str | None, sizes: dict[str, int]) -> str:
    if isinstance(cohort, pd.Timestamp):
        label = cohort.strftime(_DATE_FORMATS.get(str(granularity), "%Y-%m-%d"))
    else:
        label = str(cohort)
    size = sizes.get(_cohort_key(cohort))
    return label if size is None else f"{label} ({size:,})"


def color_range(values: np.ndarray[Any, Any]) -> tuple[float, float]:
    """Colour limits; a constant period-0 column (retention = 100 %) does not set the scale."""
    finite = values[np.isfinite(values)]
    if not finite.size:
        return 0.0, 1.0
    rest = values[:, 1:]
    first = values[:, 0][np.isfinite(values[:, 0])]
    if rest.size and np.isfinite(rest).any() and first.size and np.ptp(first) == 0:
        finite = rest[np.isfinite(rest)]
    low, high = float(finite.min()), float(finite.max())
    return (low, high) if high > low else (low - 0.5, high + 0.5)


def cohort_heatmap(
    df: pd.DataFrame,
    measure: str | None = None,
    *,
    ax: Axes | None = None,
    cmap: str | Colormap = "viridis",
    annot: bool = True,
    vmin: float | None = None,
    vmax: float | None = None,
) -> Axes:
    """Draw a cohort heatmap: one row per cohort, one column per period since acquisition.

    Cells for periods that have not started (NaN) are masked, leaving the upper-right
    triangle blank; cells whose period was still running when the data was fetched (by the
    server's clock) are hatched, with a note under the map, so a partial newest diagonal
    does not read as a collapse; every other cell is coloured on a sequential colormap and, with
    ``annot``, labelled with its formatted value in a colour that contrasts with the cell.
    Rows read ``"2026-01 (812)"`` when the cohort size is known.

    Parameters
    ----------
    df : pandas.DataFrame
        The long frame from ``read_cohorts`` (index ``(cohort, period)``) or a cohort ×
        period matrix such as ``df.upstack.cohort_matrix(measure)``.
    measure : str, optional
        The measure to draw (id or catalog title; default the first measure column). For a
        matrix, the measure whose metadata (title, format) applies.
    ax : matplotlib.axes.Axes, optional
        Axes to draw into; default a new figure sized to the matrix.
    cmap : str or matplotlib.colors.Colormap, default "viridis"
        A sequential colormap (name or object).
    annot : bool, default True
        Write each cell's formatted value in it.
    vmin, vmax : float, optional
        Colour limits. By default the data range; when period 0 is constant (retention is
        100 % by definition) it is left out of the range, so later periods show contrast.

    Returns
    -------
    matplotlib.axes.Axes
        The axes holding the heatmap (``ax.collections[0]``) and annotations (``ax.texts``).

    Raises
    ------
    ValueError
        A frame that is neither a cohort frame nor a cohort matrix, or an unknown measure.
    """
    import matplotlib as mpl
    from matplotlib.colors import Normalize
    from matplotlib.ticker import FuncFormatter

    data = cohort_matrix_data(df, measure)
    values = np.ma.masked_invalid(data.values.to_numpy(dtype="float64", na_value=np.nan))
    rows, columns = values.shape
    if ax is None:
        import matplotlib.pyplot as plt

        width = min(2.2 + 0.62 * columns + 1.2, 16.0)
        height = min(1.1 + 0.36 * rows, 14.0)
        _, ax = plt.subplots(figsize=(width, height), layout="constrained")
    low, high = color_range(values.filled(np.nan))
    norm = Normalize(vmin=low if vmin is None else vmin, vmax=high if vmax is None else vmax)
    colormap = mpl.colormaps[cmap] if isinstance(cmap, str) else cmap
    mesh = ax.pcolormesh(values, cmap=colormap, norm=norm, edgecolors="white", linewidth=1)
    title = title_of(data.info, data.measure)
    ax.set_xlim(0, columns)
    ax.set_ylim(rows, 0)
    ax.set_xticks(np.arange(columns) + 0.5, [str(p) for p in data.values.columns])
    ax.set_yticks(np.arange(rows) + 0.5, data.row_labels)
    ax.tick_params(length=0, labelsize=8.5)
    ax.xaxis.set_ticks_position("top")
    ax.xaxis.set_label_position("top")
    ax.set_xlabel(data.period_label, fontsize=9)
    ax.set_ylabel("Cohort (customers)" if "(" in "".join(data.row_labels) else "Cohort")
    ax.yaxis.label.set_fontsize(9)
    cohorts = _COHORT_NOUNS.get(str(data.granularity), "cohort")
    ax.set_title(f"{title} by {cohorts}", loc="left", fontsize=11, fontweight="bold")
    for spine in ax.spines.values():
        spine.set_visible(False)
    data_range = values.min(), values.max()
    extend = {(False, False): "neither", (True, False): "min", (False, True): "max"}.get(
        (bool(data_range[0] < norm.vmin), bool(data_range[1] > norm.vmax)), "both"
    )
    colorbar = ax.figure.colorbar(mesh, ax=ax, fraction=0.04, pad=0.02, extend=extend)
    colorbar.set_label(title, fontsize=9)
    colorbar.outline.set_visible(False)
    colorbar.ax.tick_params(labelsize=8, length=0)
    colorbar.ax.yaxis.set_major_formatter(
        FuncFormatter(lambda value, _: format_measure(value, data.info))
    )
    if annot:
        _annotate(ax, mesh, values, data.info)
    _hatch_incomplete(ax, data, values)
    return ax


def _hatch_incomplete(ax: Axes, data: CohortMatrix, values: np.ma.MaskedArray[Any, Any]) -> None:
    """Hatch the cells whose period was still running when fetched, and say so under the map."""
    from matplotlib.patches import Rectangle

    if data.incomplete is None:
        return
    flags = data.incomplete.to_numpy(dtype=bool) & ~np.ma.getmaskarray(values)
    cells = list(zip(*np.nonzero(flags), strict=True))
    if not cells:
        return
    for row, column in cells:
        ax.add_patch(
            Rectangle(
                (column, row),
                1,
                1,
                fill=False,
                hatch="///",
                edgecolor="white",
                linewidth=0,
                gid="incomplete",
            )
        )
    ax.text(
        0.0,
        -0.02,
        f"hatched: period still running when fetched ({len(cells)} cells, values partial)",
        transform=ax.transAxes,
        ha="left",
        va="top",
        fontsize=7.5,
        color="#57606a",
        gid="incomplete-note",
    )


def _annotate(
    ax: Axes, mesh: QuadMesh, values: np.ma.MaskedArray[Any, Any], info: MeasureInfo
) -> None:
    """Write each unmasked cell's value, dark on light cells and white on dark ones."""
    norm = mesh.norm
    colormap = mesh.get_cmap()
    texts = {
        (row, column): format_measure(values[row, column], info)
        for row, column in zip(*np.nonzero(~np.ma.getmaskarray(values)), strict=True)
    }
    if not texts:
        return
    fontsize = _annotation_size(ax, values.shape, max(len(t) for t in texts.values()))
    for (row, column), text in texts.items():
        rgba = colormap(norm(values[row, column]))
        ax.text(
            column + 0.5,
            row + 0.5,
            text,
            ha="center",
            va="center",
            fontsize=fontsize,
            color="#1f2328" if relative_luminance(rgba) > 0.408 else "white",
        )


def _annotation_size(ax: Axes, shape: tuple[int, ...], longest: int) -> float:
    """A font size (points) that fits the longest label in a cell."""
    points_per_pixel = 72 / ax.figure.dpi
    cell_width = ax.bbox.width * points_per_pixel / shape[1]
    cell_height = ax.bbox.height * points_per_pixel / shape[0]
    size = min(cell_height * 0.5, cell_width / (0.62 * max(longest, 1)), 9.0)
    return float(max(size, 4.5))


def relative_luminance(rgba: npt.ArrayLike) -> float:
    """WCAG relative luminance of a colour (as seaborn's ``utils.relative_luminance``)."""
    rgb = np.asarray(rgba, dtype="float64")[:3]
    linear = np.where(rgb <= 0.03928, rgb / 12.92, ((rgb + 0.055) / 1.055) ** 2.4)
    return float(linear @ np.array([0.2126, 0.7152, 0.0722]))
