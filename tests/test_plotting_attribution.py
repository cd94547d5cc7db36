"""Attribution chart: drawn artists checked on the Agg backend."""

from __future__ import annotations

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

from upstack_pandas.plotting import attribution_chart
from upstack_pandas.plotting.attribution import PALETTE

REVENUE = "attribution.revenue"
ORDERS = "attribution.orders"
SOURCES = ["google", "meta", "(direct)", "email", "tiktok"]
MEASURES: dict[str, dict[str, Any]] = {
    REVENUE: {
        "title": "Attributed Revenue",
        "shortTitle": "Revenue",
        "format": "currency",
        "currency": "USD",
        "isAverage": False,
    },
    ORDERS: {"title": "Attributed Orders", "shortTitle": "Orders", "format": "number"},
}
REVENUE_BY_MODEL = {
    "first_click": [4000.0, 3000.0, 500.0, 200.0, 900.0],
    "last_click": [3500.0, 2500.0, 1500.0, 800.0, 300.0],
}


def make_single() -> pd.DataFrame:
    index = pd.Index(SOURCES, name="utm_source")
    df = pd.DataFrame(
        {REVENUE: REVENUE_BY_MODEL["first_click"], ORDERS: [40.0, 30.0, 5.0, 2.0, 9.0]},
        index=index,
    )
    df.attrs["upstack"] = {
        "version": 1,
        "attributionModel": "first_click",
        "attributionWindow": 30,
        "measures": MEASURES,
    }
    return df


def make_models() -> pd.DataFrame:
    index = pd.MultiIndex.from_product(
        [list(REVENUE_BY_MODEL), SOURCES], names=["attribution_model", "utm_source"]
    )
    values = np.concatenate([np.array(v) for v in REVENUE_BY_MODEL.values()])
    df = pd.DataFrame({REVENUE: values, ORDERS: values / 100}, index=index)
    df.attrs["upstack"] = {
        "version": 1,
        "attributionModels": list(REVENUE_BY_MODEL),
        "attributionWindow": 7,
        "measures": MEASURES,
    }
    return df


@pytest.fixture(autouse=True)
def _close_figures() -> Iterator[None]:
    yield
    plt.close("all")


def y_labels(ax: Axes) -> list[str]:
    return [t.get_text() for t in ax.get_yticklabels()]


def value_texts(ax: Axes) -> list[str]:
    return [t.get_text() for t in ax.texts if t.get_text().startswith("$")]


def test_single_model_bars_largest_first_with_formatted_values() -> None:
    ax = attribution_chart(make_single())
    assert len(ax.patches) == 5
    assert y_labels(ax) == ["google", "meta", "tiktok", "(direct)", "email"]
    widths = [p.get_width() for p in ax.patches]
    assert widths == sorted(widths, reverse=True)
    assert value_texts(ax) == ["$4.0k", "$3.0k", "$900", "$500", "$200"]
    assert ax.get_title(loc="left") == "Attributed Revenue by utm_source"
    assert ax.get_legend() is None
    assert "first click" in ax.texts[-1].get_text() and "30-day window" in ax.texts[-1].get_text()


def test_models_are_grouped_side_by_side() -> None:
    ax = attribution_chart(make_models())
    assert len(ax.patches) == len(SOURCES) * 2
    assert len(ax.containers) == 2
    first, last = ax.containers
    assert {to_hex(p.get_facecolor()) for p in first} == {PALETTE[0]}
    assert {to_hex(p.get_facecolor()) for p in last} == {PALETTE[1]}
    # each pair sits around the dimension value's tick, first model above the second
    for bar_a, bar_b, tick in zip(first, last, ax.get_yticks(), strict=True):
        assert bar_a.get_y() + bar_a.get_height() <= bar_b.get_y() + 1e-9
        assert bar_a.get_y() < tick < bar_b.get_y() + bar_b.get_height()
    legend = ax.get_legend()
    assert legend is not None
    assert [t.get_text() for t in legend.get_texts()] == ["First click", "Last click"]
    # ranked by the larger value across models: (direct) 1500 before tiktok 900
    assert y_labels(ax) == ["google", "meta", "(direct)", "tiktok", "email"]


def test_top_limits_the_dimension_values() -> None:
    ax = attribution_chart(make_models(), top=2)
    assert y_labels(ax) == ["google", "meta"]
    assert len(ax.patches) == 4
    assert "top 2 of 5 values" in ax.texts[-1].get_text()


def test_measure_by_id_or_title() -> None:
    ax = attribution_chart(make_single(), "Attributed Orders")
    assert ax.get_title(loc="left") == "Attributed Orders by utm_source"
    assert "40" in [t.get_text() for t in ax.texts]


def test_dt_level_is_summed_for_additive_measures() -> None:
    daily = pd.concat(
        {
            pd.Timestamp("2026-04-01", tz="UTC"): make_single(),
            pd.Timestamp("2026-04-02", tz="UTC"): make_single(),
        },
        names=["dt"],
    )
    daily.attrs = make_single().attrs
    ax = attribution_chart(daily)
    assert max(p.get_width() for p in ax.patches) == 8000.0


def test_average_measure_over_dt_is_refused_with_the_fix() -> None:
    daily = pd.concat({pd.Timestamp("2026-04-01", tz="UTC"): make_single()}, names=["dt"])
    daily.attrs = {"upstack": {"measures": {REVENUE: {**MEASURES[REVENUE], "isAverage": True}}}}
    with pytest.raises(ValueError, match="granularity='none'"):
        attribution_chart(daily)


def test_draws_into_a_given_axes() -> None:
    _, ax = plt.subplots()
    assert attribution_chart(make_single(), ax=ax) is ax


def test_unknown_measure_lists_the_columns() -> None:
    with pytest.raises(ValueError, match=r"unknown measure column 'roas'.*attribution\.revenue"):
        attribution_chart(make_single(), "roas")


def test_more_than_one_dimension_level_is_refused() -> None:
    df = make_single().set_index(pd.Index(["a"] * 5, name="channel"), append=True)
    with pytest.raises(ValueError, match="one dimension level"):
        attribution_chart(df)


@pytest.mark.parametrize("top", [0, -3, 2.5, True])
def test_invalid_top(top: Any) -> None:
    with pytest.raises(ValueError, match="top"):
        attribution_chart(make_single(), top=top)
