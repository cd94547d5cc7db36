"""Sparkline tiles: drawn artists checked on the Agg backend."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from typing import Any

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pytest
from matplotlib.axes import Axes
from matplotlib.colors import to_hex
from matplotlib.lines import Line2D
from matplotlib.text import Text

from upstack_pandas.plotting import sparklines
from upstack_pandas.plotting.tiles import BAD, GOOD, NEUTRAL, auto_ncols

CATALOG: dict[str, dict[str, Any]] = {
    "meta.cpm": {
        "title": "Meta CPM",
        "shortTitle": "CPM",
        "format": "currency",
        "currency": "USD",
        "isAverage": True,
        "preferredTrendDirection": "down",
    },
    "core.new_customer_roas": {
        "title": "New Customer ROAS",
        "shortTitle": "NC ROAS",
        "format": "multiplier",
        "isAverage": True,
        "preferredTrendDirection": "up",
    },
    "core.gross_revenue": {
        "title": "Gross Revenue",
        "shortTitle": "Revenue",
        "format": "currency",
        "currency": "USD",
        "isAverage": False,
        "preferredTrendDirection": "up",
    },
}
VALUES = {
    "meta.cpm": [12.0, 11.5, 11.0, 10.0, 10.5, 9.0, 9.5, 9.8],
    "core.new_customer_roas": [2.4, 2.5, 2.2, 2.0, 2.1, 1.9, 1.8, 1.7],
    "core.gross_revenue": [900.0, 1000.0, 1200.0, 800.0, 1100.0, 1300.0, 1250.0, 400.0],
}
HEADLINES = {  # (primarySum, primaryAvg, percentDiff)
    "meta.cpm": (10.41, 10.41, -8.0),  # CPM falling: good
    "core.new_customer_roas": (2.07, 2.07, -12.5),  # ROAS falling: bad
    "core.gross_revenue": (7950.0, 993.75, 0.0),  # unchanged: neutral
}


def make_frame(*, pacing: bool = False, attrs: bool = True) -> pd.DataFrame:
    index = pd.date_range("2026-04-01", periods=8, freq="D", tz="America/New_York", name="dt")
    df = pd.DataFrame({m: np.array(v, dtype="float64") for m, v in VALUES.items()}, index=index)
    if attrs:
        measures = {}
        for measure, info in CATALOG.items():
            total, average, change = HEADLINES[measure]
            measures[measure] = {
                **info,
                "primarySum": total,
                "primaryAvg": average,
                "percentDiff": change,
                "hasPacing": pacing,
                "success": True,
            }
        df.attrs["upstack"] = {
            "version": 1,
            "granularity": "day",
            "dateRange": {"start": "2026-04-01", "end": "2026-04-08"},
            "compareDateRange": {"start": "2026-03-24", "end": "2026-03-31"},
            "measures": measures,
        }
    return df


def make_compare() -> pd.DataFrame:
    index = pd.date_range("2026-03-24", periods=8, freq="D", tz="America/New_York", name="dt")
    return pd.DataFrame({m: np.array(v, dtype="float64")[::-1] for m, v in VALUES.items()}, index)


@pytest.fixture(autouse=True)
def _close_figures() -> Iterator[None]:
    yield
    plt.close("all")


def tile(fig: Any, title: str) -> Axes:
    found = [ax for ax in fig.axes if ax.get_title(loc="left") == title]
    assert len(found) == 1, [ax.get_title(loc="left") for ax in fig.axes]
    return found[0]


def text(ax: Axes, gid: str) -> Text:
    found = [t for t in ax.texts if t.get_gid() == gid]
    assert len(found) == 1, [t.get_gid() for t in ax.texts]
    return found[0]


def lines(ax: Axes, gid: str) -> list[Line2D]:
    return [line for line in ax.lines if line.get_gid() == gid]


def test_one_tile_per_measure_titled_with_short_titles_in_attrs_order() -> None:
    fig = sparklines(make_frame())
    assert [ax.get_title(loc="left") for ax in fig.axes] == ["CPM", "NC ROAS", "Revenue"]


def test_headline_values_are_formatted_from_the_attrs() -> None:
    fig = sparklines(make_frame())
    assert text(tile(fig, "CPM"), "value").get_text() == "$10.41"
    assert text(tile(fig, "NC ROAS"), "value").get_text() == "2.07x"
    assert text(tile(fig, "Revenue"), "value").get_text() == "$8.0k"  # primarySum, compact


def test_change_colour_follows_the_preferred_trend_direction() -> None:
    fig = sparklines(make_frame())
    cpm, roas, revenue = (text(tile(fig, t), "change") for t in ("CPM", "NC ROAS", "Revenue"))
    assert cpm.get_text() == "▼ -8.0%"
    assert to_hex(cpm.get_color()) == GOOD  # a falling CPM is good
    assert roas.get_text() == "▼ -12.5%"
    assert to_hex(roas.get_color()) == BAD  # a falling ROAS is bad
    assert to_hex(revenue.get_color()) == NEUTRAL
    assert GOOD != BAD != NEUTRAL


def test_compare_series_is_drawn_faintly_from_compare_data() -> None:
    fig = sparklines(make_frame(), compare_data=make_compare())
    for ax in fig.axes:
        (compare,) = lines(ax, "compare")
        (primary,) = lines(ax, "primary")
        alpha = compare.get_alpha()
        assert alpha is not None and alpha < 0.6
        assert primary.get_alpha() in (None, 1.0)
    ydata = np.asarray(lines(tile(fig, "CPM"), "compare")[0].get_ydata())
    np.testing.assert_allclose(ydata, VALUES["meta.cpm"][::-1])


def test_compare_frame_is_decoded_through_metadata(monkeypatch: pytest.MonkeyPatch) -> None:
    df = make_frame()
    df.attrs["upstack"]["compare"] = {"encoding": "test", "data": "..."}
    seen = []

    def compare_for_rows(frame: pd.DataFrame) -> pd.DataFrame:
        seen.append(frame)
        return make_compare()

    from upstack_pandas import metadata

    monkeypatch.setattr(metadata, "compare_for_rows", compare_for_rows)
    fig = sparklines(df)
    assert len(seen) == 1
    assert all(len(lines(ax, "compare")) == 1 for ax in fig.axes)


def test_compare_false_draws_neither_compare_line_nor_change() -> None:
    fig = sparklines(make_frame(), compare=False, compare_data=make_compare())
    for ax in fig.axes:
        assert lines(ax, "compare") == []
        assert [t for t in ax.texts if t.get_gid() == "change"] == []


def test_partial_last_period_is_marked_when_has_pacing() -> None:
    ax = tile(sparklines(make_frame(pacing=True)), "Revenue")
    (marker,) = lines(ax, "partial")
    assert marker.get_markerfacecolor() == "white"  # hollow
    assert list(marker.get_xdata()) == [7]
    (segment,) = lines(ax, "partial-segment")
    assert segment.get_linestyle() == "--"
    assert list(segment.get_xdata()) == [6, 7]
    assert text(ax, "partial-label").get_text() == "○ partial day"
    assert len(lines(ax, "primary")[0].get_xdata()) == 7  # solid up to the last full day


def test_no_partial_marker_without_pacing() -> None:
    fig = sparklines(make_frame(pacing=False))
    for ax in fig.axes:
        assert lines(ax, "partial") == [] and lines(ax, "partial-segment") == []
        assert all(t.get_gid() != "partial-label" for t in ax.texts)


def test_min_and_max_points_are_marked() -> None:
    ax = tile(sparklines(make_frame()), "NC ROAS")
    (high,) = lines(ax, "max")
    (low,) = lines(ax, "min")
    assert (list(high.get_xdata()), list(high.get_ydata())) == ([1], [2.5])
    assert (list(low.get_xdata()), list(low.get_ydata())) == ([7], [1.7])
    assert text(ax, "max-label").get_text() == "2.50x"
    assert text(ax, "min-label").get_text() == "1.70x"


def test_partial_point_is_not_taken_as_the_minimum() -> None:
    ax = tile(sparklines(make_frame(pacing=True)), "Revenue")
    (low,) = lines(ax, "min")
    assert list(low.get_xdata()) == [3]  # 800, not the partial 400


def test_without_attrs_values_are_computed_from_the_frame() -> None:
    fig = sparklines(make_frame(attrs=False), compare_data=make_compare())
    assert [ax.get_title(loc="left") for ax in fig.axes] == list(VALUES)
    revenue = tile(fig, "core.gross_revenue")
    assert text(revenue, "value").get_text() == "8.0k"  # the sum 7,950, no format known
    change = text(revenue, "change")  # same total in both periods
    assert change.get_text() == "+0.0%"
    assert to_hex(change.get_color()) == NEUTRAL


def test_measures_by_id_or_title_in_the_order_given() -> None:
    fig = sparklines(make_frame(), ["Gross Revenue", "meta.cpm"])
    assert [ax.get_title(loc="left") for ax in fig.axes] == ["Revenue", "CPM"]


def test_unknown_measure_lists_the_available_columns() -> None:
    with pytest.raises(ValueError, match=r"unknown measure column 'nope'.*meta\.cpm"):
        sparklines(make_frame(), ["nope"])


def test_frame_without_dt_says_how_to_fix_it() -> None:
    df = make_frame().reset_index(drop=True)
    with pytest.raises(ValueError, match="granularity"):
        sparklines(df)


def test_not_a_frame_is_a_type_error() -> None:
    with pytest.raises(TypeError, match="DataFrame"):
        sparklines([1, 2, 3])  # type: ignore[arg-type]


@pytest.mark.parametrize("ncols", [0, -1, 1.5, True])
def test_invalid_ncols(ncols: Any) -> None:
    with pytest.raises(ValueError, match="ncols"):
        sparklines(make_frame(), ncols=ncols)


def test_dimensions_are_summed_for_additive_and_noted_for_averages() -> None:
    df = make_frame()
    other = df * 0.5
    both = pd.concat({"google": df, "meta": other}, names=["utm_source"]).swaplevel()
    both = both.sort_index()
    both.attrs = df.attrs
    fig = sparklines(both)
    revenue = tile(fig, "Revenue")
    np.testing.assert_allclose(
        lines(revenue, "primary")[0].get_ydata(), np.array(VALUES["core.gross_revenue"]) * 1.5
    )
    assert all(t.get_gid() != "note" for t in revenue.texts)
    assert text(tile(fig, "CPM"), "note").get_text() == "line: mean across utm_source"


@pytest.mark.parametrize(("count", "expected"), [(1, 1), (3, 3), (4, 4), (5, 3), (12, 4), (30, 6)])
def test_auto_ncols(count: int, expected: int) -> None:
    assert auto_ncols(count) == expected


def test_thirty_measures_grid_scales_the_figure() -> None:
    base = make_frame()
    wide = pd.concat([base.add_suffix(f".{i}") for i in range(10)], axis=1)
    fig = sparklines(wide)
    assert len(fig.axes) == 30
    width, height = fig.get_size_inches()
    assert width == pytest.approx(6 * 2.7)
    assert height > 5 * 1.7
    small = sparklines(base.iloc[:, :1])
    assert small.get_size_inches()[0] < width


def test_draws_into_a_given_figure_without_showing_or_touching_rcparams(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(plt, "show", lambda *a, **k: pytest.fail("plt.show() called"))
    before = dict(matplotlib.rcParams)
    fig = plt.figure()
    assert sparklines(make_frame(), fig=fig) is fig
    assert len(fig.axes) == 3
    assert dict(matplotlib.rcParams) == before


def test_importing_the_package_does_not_import_matplotlib() -> None:
    code = (
        "import sys, upstack_pandas, upstack_pandas.plotting; "
        "assert upstack_pandas.sparklines; "
        "assert 'matplotlib' not in sys.modules, 'matplotlib imported'"
    )
    subprocess.run([sys.executable, "-c", code], check=True)
