"""Sparkline tiles (``sparklines``): one small KPI card per measure, with its value and change."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from upstack_pandas.plotting._data import Tile, caption_parts, format_measure, sparkline_tiles

if TYPE_CHECKING:
    import pandas as pd
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

GOOD = "#1a7f37"
BAD = "#cf222e"
NEUTRAL = "#6e7781"
LINE = "#0969da"
COMPARE = "#57606a"
COMPARE_ALPHA = 0.4
INK = "#1f2328"
MUTED = "#57606a"

TILE_WIDTH = 2.7  # inches
TILE_HEIGHT = 1.7
LINE_BAND = 0.55  # the line uses the bottom part of a tile; the texts sit above it
NOTE_STEP = 0.11  # height of one small note line, in axes fractions


def sparklines(
    df: pd.DataFrame,
    measures: str | Sequence[str] | None = None,
    *,
    compare: bool = True,
    ncols: int | None = None,
    fig: Figure | None = None,
    compare_data: pd.DataFrame | None = None,
    totals: Mapping[str, Mapping[str, Any]] | None = None,
) -> Figure:
    """Draw a grid of sparkline tiles, one per measure.

    Each tile shows the catalog short title, the period value formatted by the measure's
    format (the average for ``isAverage`` measures, else the total), the change against the
    compare period coloured green when good and red when bad given the measure's
    ``preferredTrendDirection`` (a falling CPM is good), the compare period as a faint line,
    the minimum and maximum points, and a hollow last point on a dashed segment when the last
    period was not over when fetched (by the clock of the API: an end after its now).

    Parameters
    ----------
    df : pandas.DataFrame
        A time-series frame from ``read_upstack`` (index ``dt``, or ``(dt, <dims>...)``).
        With dimensions, additive measures are summed per ``dt``; averages are drawn as the
        unweighted mean across dimension values (noted on the tile), while their headline
        value and change still come from the attrs and cover the whole query.
    measures : str or sequence of str, optional
        Measure ids (or catalog titles) to draw; default every measure column in attrs order.
    compare : bool, default True
        Draw the compare period and the change; ``False`` gives plain tiles.
    ncols : int, optional
        Tiles per row; default chosen from the number of measures (1 to 6).
    fig : matplotlib.figure.Figure or SubFigure, optional
        An empty figure (or subfigure) to draw into; default a new figure sized to the grid.
    compare_data : pandas.DataFrame, optional
        The compare-period frame, when it is not stored in the attrs (default: decoded with
        ``upstack_pandas.metadata.compare_frame``).
    totals : mapping, optional
        Per measure id, the API's totals for exactly the frame's rows (``df.upstack.sparklines``
        re-reads them when the frame no longer matches its query). Without them such a frame
        shows sums recomputed from its rows and ratios as unavailable (with a warning); the
        caption always describes the frame's own index.

    Returns
    -------
    matplotlib.figure.Figure
        The figure holding the tiles (one Axes per measure).

    Raises
    ------
    ValueError
        Unknown measure names (the message lists the available columns), a frame without a
        ``dt`` index level (granularity ``"none"``), or an invalid ``ncols``.
    TypeError
        ``df`` or ``compare_data`` is not a DataFrame.
    """
    tiles = sparkline_tiles(df, measures, compare=compare, compare_data=compare_data, totals=totals)
    columns = auto_ncols(len(tiles)) if ncols is None else ncols
    if not isinstance(columns, int) or isinstance(columns, bool) or columns < 1:
        raise ValueError(f"ncols must be a positive integer, got {ncols!r}")
    columns = min(columns, len(tiles))
    rows = math.ceil(len(tiles) / columns)
    created = fig is None
    if fig is None:  # a new figure sized to the grid, with a caption saying what it shows
        import matplotlib.pyplot as plt
        from matplotlib.layout_engine import ConstrainedLayoutEngine

        width = columns * TILE_WIDTH
        caption = _caption(df, tiles, compare, width)
        height = rows * TILE_HEIGHT + 0.2 + (0.18 * (caption.count("\n") + 1) if caption else 0)
        layout = ConstrainedLayoutEngine(wspace=0.08, hspace=0.1)
        fig = plt.figure(figsize=(width, height), layout=layout)
        if caption:
            fig.suptitle(caption, x=0.01, ha="left", fontsize=9, color=MUTED)
    axes = fig.subplots(rows, columns, squeeze=False)
    for ax, tile in zip(axes.flat, tiles, strict=False):
        _draw_tile(ax, tile)
    for ax in axes.flat[len(tiles) :]:
        ax.remove()
    if created:  # a Figure as a notebook cell's value shows once, not twice
        from upstack_pandas._display.notebook import release_from_pyplot

        release_from_pyplot(fig)
    return fig


def auto_ncols(count: int) -> int:
    """Tiles per row for ``count`` tiles: a row for up to 4, then 3 to 6 columns."""
    if count <= 4:
        return max(count, 1)
    if count <= 6:
        return 3
    if count <= 16:
        return 4
    if count <= 25:
        return 5
    return 6


def _caption(df: pd.DataFrame, tiles: list[Tile], compare: bool, width: float) -> str:
    """What the figure shows (its rows' range, bucket size, compare period), wrapped to fit."""
    parts = caption_parts(df, compare, any(t.compare is not None for t in tiles))
    limit = int(width * 14)  # characters of 9 pt text per line
    lines = [""]
    for part in parts:
        joined = f"{lines[-1]}  ·  {part}" if lines[-1] else part
        if len(joined) > limit and lines[-1]:
            lines.append(part)
        else:
            lines[-1] = joined
    return "\n".join(lines)


def _notes(tile: Tile) -> list[tuple[str, str]]:
    """The small grey lines under the change: (text, gid)."""
    notes = [(f"○ partial {tile.period}", "partial-label")] if tile.partial else []
    return notes + ([(tile.note, "note")] if tile.note else [])


def _limits(tile: Tile) -> tuple[float, float] | None:
    data = tile.values if tile.compare is None else np.concatenate([tile.values, tile.compare])
    finite = data[np.isfinite(data)]
    if not finite.size:
        return None
    low, high = float(finite.min()), float(finite.max())
    span = high - low or abs(high) * 0.1 or 1.0
    bottom = low - 0.15 * span
    band = LINE_BAND - NOTE_STEP * max(len(_notes(tile)) - 1, 0)
    top = bottom + (high - bottom) / band
    return bottom, top


def _draw_tile(ax: Axes, tile: Tile) -> None:
    """Draw one tile: texts on top, lines in the bottom band."""
    ax.set_axis_off()
    ax.set_title(tile.title, loc="left", fontsize=9.5, color=MUTED, pad=3)
    _text(ax, (0.0, 0.98), tile.value_text, "value", fontsize=15, fontweight="bold", color=INK)
    if tile.change_text:
        colour = NEUTRAL if tile.good is None else GOOD if tile.good else BAD
        arrow = "" if not tile.change else "▲ " if tile.change > 0 else "▼ "
        change = arrow + tile.change_text
        _text(ax, (1.0, 0.98), change, "change", fontsize=10, fontweight="bold", color=colour)
    for row, (text, gid) in enumerate(_notes(tile)):
        _text(ax, (1.0, 0.74 - NOTE_STEP * row), text, gid, fontsize=6.5, color=MUTED)
    limits = _limits(tile)
    length = max(len(tile.values), 0 if tile.compare is None else len(tile.compare))
    ax.set_xlim(-0.5, max(length - 0.5, 0.5))
    if limits is None:
        _text(ax, (0.5, 0.25), "no data", "nodata", fontsize=8, color=MUTED, ha="center")
        return
    ax.set_ylim(*limits)
    if tile.compare is not None:
        ax.plot(
            np.arange(len(tile.compare)),
            tile.compare,
            color=COMPARE,
            lw=1.1,
            alpha=COMPARE_ALPHA,
            gid="compare",
            label="compare",
        )
    _draw_primary(ax, tile)
    _mark_extremes(ax, tile)


def _text(ax: Axes, xy: tuple[float, float], text: str, gid: str, **style: Any) -> None:
    """A text in axes coordinates, right-aligned on the right half, top-aligned."""
    style.setdefault("ha", "left" if xy[0] < 0.5 else "right")
    ax.text(*xy, text, transform=ax.transAxes, va="top", gid=gid, **style)


def _draw_primary(ax: Axes, tile: Tile) -> None:
    x = np.arange(len(tile.values))
    y = tile.values
    style: dict[str, Any] = {"color": LINE, "lw": 1.6, "solid_capstyle": "round"}
    if not tile.partial or len(y) < 2:
        ax.plot(x, y, gid="primary", **style)
    else:
        ax.plot(x[:-1], y[:-1], gid="primary", **style)
        ax.plot(x[-2:], y[-2:], linestyle=(0, (2, 1.5)), gid="partial-segment", **style)
    if tile.partial and np.isfinite(y[-1]):
        ax.plot(
            [x[-1]],
            [y[-1]],
            marker="o",
            ms=5,
            mfc="white",
            mec=LINE,
            mew=1.4,
            linestyle="none",
            gid="partial",
            zorder=4,
            clip_on=False,
        )


def _mark_extremes(ax: Axes, tile: Tile) -> None:
    """Mark the minimum and maximum complete points (a partial last point is not compared)."""
    y = tile.values[:-1] if tile.partial and len(tile.values) > 1 else tile.values
    if not np.isfinite(y).any() or np.nanmin(y) == np.nanmax(y):
        return
    for gid, index, offset, va in (
        ("max", int(np.nanargmax(y)), 4, "bottom"),
        ("min", int(np.nanargmin(y)), -4, "top"),
    ):
        ax.plot(
            [index],
            [y[index]],
            marker="o",
            ms=3.5,
            color=LINE,
            linestyle="none",
            gid=gid,
            zorder=3,
            clip_on=False,
        )
        ax.annotate(
            format_measure(float(y[index]), tile.info),
            (index, y[index]),
            xytext=(0, offset),
            textcoords="offset points",
            ha=_align(index, len(tile.values)),
            va=va,
            fontsize=6.5,
            color=MUTED,
            gid=f"{gid}-label",
        )


def _align(index: int, length: int) -> str:
    if index < length * 0.15:
        return "left"
    if index > length * 0.85:
        return "right"
    return "center"
