"""Attribution chart: horizontal bars of a measure by dimension value, grouped by model."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from upstack_pandas.plotting._data import (
    MeasureInfo,
    format_measure,
    measure_info,
    pretty,
    resolve_measures,
    title_of,
    upstack_attrs,
)

if TYPE_CHECKING:
    from matplotlib.axes import Axes

MODEL_LEVEL = "attribution_model"
PALETTE = ("#4c72b0", "#dd8452", "#55a868", "#c44e52", "#8172b3", "#937860")
INK = "#1f2328"
MUTED = "#57606a"


@dataclass(frozen=True)
class AttributionData:
    """Values by dimension value (rows, largest first) and model (columns), ready to draw."""

    values: pd.DataFrame
    models: list[str] | None
    single_model: str | None
    measure: str
    info: MeasureInfo
    dimension: str
    total: int
    window: int | None


def attribution_data(
    df: pd.DataFrame, measure: str | None = None, *, top: int = 10
) -> AttributionData:
    """Prepare the bars of `attribution_chart` (no drawing).

    A ``dt`` index level (granular attribution) is summed away for additive measures.
    Dimension values are ranked by their largest value across models; the first ``top`` kept.
    """
    if not isinstance(df, pd.DataFrame):
        raise TypeError(f"attribution_chart expects a pandas DataFrame, got {type(df).__name__}")
    if df.empty:
        raise ValueError("the frame is empty: there is nothing to plot")
    if isinstance(top, bool) or not isinstance(top, int) or top < 1:
        raise ValueError(f"top must be a positive integer, got {top!r}")
    attrs = upstack_attrs(df)
    measure = resolve_measures(df, attrs, measure)[0]
    info = measure_info(attrs, measure)
    names = [str(n) if n is not None else None for n in df.index.names]
    dims = [n for n in names if n not in (MODEL_LEVEL, "dt")]
    if len(dims) != 1:
        raise ValueError(
            "attribution_chart expects one dimension level (plus optional 'attribution_model' "
            f"and 'dt' levels) as from read_attribution(), got index levels {names}"
        )
    series = df[measure].astype("float64")
    keep = [n for n in names if n != "dt"]
    if "dt" in names:
        if info.get("isAverage"):
            raise ValueError(
                f"{measure!r} is an average and cannot be summed over 'dt'; query the "
                "attribution with granularity='none' (the default)"
            )
        series = series.groupby(level=keep, sort=False).sum(min_count=1)
    models = None
    if MODEL_LEVEL in keep:
        seen = [str(m) for m in pd.unique(series.index.get_level_values(MODEL_LEVEL))]
        listed = [str(m) for m in attrs.get("attributionModels") or [] if m in seen]
        models = listed + [m for m in seen if m not in listed]
        table = series.unstack(MODEL_LEVEL)[models]
    else:
        table = series.to_frame(measure)
        if isinstance(table.index, pd.MultiIndex):  # a leftover one-level MultiIndex
            table.index = table.index.get_level_values(0)
    ranking = table.max(axis=1).sort_values(ascending=False, na_position="last")
    window = attrs.get("attributionWindow")
    return AttributionData(
        values=table.loc[ranking.index[:top]],
        models=models,
        single_model=None if models else attrs.get("attributionModel"),
        measure=measure,
        info=info,
        dimension=dims[0] or str(attrs.get("dimension") or "value"),
        total=len(table),
        window=int(window) if window is not None else None,
    )


def attribution_chart(
    df: pd.DataFrame,
    measure: str | None = None,
    *,
    ax: Axes | None = None,
    top: int = 10,
) -> Axes:
    """Draw horizontal bars of an attribution measure by dimension value.

    With several attribution models (an ``attribution_model`` index level, as from
    ``read_attribution(..., model=[...])``) the bars of each dimension value are grouped side
    by side, one colour per model, with a legend. Values are written at the bar ends,
    formatted by the measure's catalog format.

    Parameters
    ----------
    df : pandas.DataFrame
        A frame from ``read_attribution``: index ``<dimension>``, optionally with outer
        ``attribution_model`` and ``dt`` levels.
    measure : str, optional
        The measure to draw (id or catalog title; default the first measure column).
    ax : matplotlib.axes.Axes, optional
        Axes to draw into; default a new figure sized to the bars.
    top : int, default 10
        How many dimension values to show, the largest first.

    Returns
    -------
    matplotlib.axes.Axes
        The axes holding the bars (``ax.patches``: dimension values × models).

    Raises
    ------
    ValueError
        Unknown measure (the message lists the columns), an index without exactly one
        dimension level, an average measure over ``dt``, or an invalid ``top``.
    """
    from matplotlib.ticker import FuncFormatter

    data = attribution_data(df, measure, top=top)
    rows, groups = data.values.shape
    if ax is None:
        import matplotlib.pyplot as plt

        height = min(1.4 + rows * (0.2 + 0.12 * groups), 14.0)
        _, ax = plt.subplots(figsize=(7.5, height), layout="constrained")
    band = 0.8 / groups
    positions = np.arange(rows, dtype="float64")
    for index, column in enumerate(data.values.columns):
        values = data.values[column].to_numpy(dtype="float64", na_value=np.nan)
        bars = ax.barh(
            positions + (index - (groups - 1) / 2) * band,
            np.nan_to_num(values),
            height=band * 0.9,
            color=PALETTE[index % len(PALETTE)],
            label=pretty(column) if data.models else None,
        )
        ax.bar_label(
            bars,
            labels=[format_measure(v, data.info) for v in values],
            padding=3,
            fontsize=7.5 if groups > 1 else 8.5,
            color=MUTED,
        )
    ax.set_yticks(positions, [str(v) for v in data.values.index])
    ax.set_ylim(rows - 0.5, -0.5)
    ax.margins(x=0.12)
    ax.xaxis.set_major_formatter(FuncFormatter(lambda value, _: format_measure(value, data.info)))
    ax.tick_params(labelsize=8.5, length=0)
    ax.grid(axis="x", color="#d0d7de", linewidth=0.6)
    ax.set_axisbelow(True)
    for side in ("top", "right", "left"):
        ax.spines[side].set_visible(False)
    ax.spines["bottom"].set_color("#d0d7de")
    title = f"{title_of(data.info, data.measure)} by {data.dimension}"
    ax.set_title(title, loc="left", fontsize=11, fontweight="bold", color=INK, pad=22)
    ax.text(0, 1.02, _subtitle(data), transform=ax.transAxes, fontsize=8.5, color=MUTED)
    if data.models:
        ax.legend(frameon=False, fontsize=8.5, loc="lower right")
    return ax


def _subtitle(data: AttributionData) -> str:
    parts = []
    if data.models or data.single_model:
        models = data.models or [str(data.single_model)]
        parts.append(" vs ".join(pretty(m).lower() for m in models))
    if data.window:
        parts.append(f"{data.window}-day window")
    shown = len(data.values)
    parts.append(f"top {shown} of {data.total} values" if shown < data.total else "all values")
    return "  ·  ".join(parts)
