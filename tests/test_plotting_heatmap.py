"""Cohort heatmap: drawn artists checked on the Agg backend."""

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

from upstack_pandas.plotting import cohort_heatmap
from upstack_pandas.plotting.heatmap import cohort_matrix_data, relative_luminance

RETENTION = "orders.cohort_retention_percent"
LTV = "orders.ltv_cohort_gross_revenue"
SIZES = {"2026-01-01": 812, "2026-02-01": 1040, "2026-03-01": 975, "2026-04-01": 1203}
MEASURES: dict[str, dict[str, Any]] = {
    RETENTION: {
        "title": "Cohort Retention",
        "shortTitle": "Retention",
        "format": "percentage",
        "isPercentage": True,
        "isAverage": True,
    },
    LTV: {
        "title": "LTV (gross revenue)",
        "shortTitle": "LTV",
        "format": "currency",
        "currency": "USD",
        "isAverage": True,
    },
}


def make_cohorts(*, attrs: bool = True) -> pd.DataFrame:
    """Four monthly cohorts, the newest with only period 0 (future cells absent)."""
    cohorts = pd.date_range("2026-01-01", periods=4, freq="MS", tz="UTC")
    rows = []
    for age, cohort in enumerate(cohorts):
        for period in range(4 - age):
            retention = 100.0 if period == 0 else 30.0 - 5 * period - age
            rows.append((cohort, period, retention, 40.0 + 2 * age + 12.5 * period))
    df = pd.DataFrame(rows, columns=["cohort", "period", RETENTION, LTV])
    df["period"] = df["period"].astype("int64")
    df = df.set_index(["cohort", "period"])
    if attrs:
        df.attrs["upstack"] = {
            "version": 1,
            "granularity": "month",
            "measures": MEASURES,
            "cohortSizes": SIZES,
        }
    return df


@pytest.fixture(autouse=True)
def _close_figures() -> Iterator[None]:
    yield
    plt.close("all")


def mask_of(ax: Axes) -> np.ndarray[Any, Any]:
    return np.ma.getmaskarray(ax.collections[0].get_array())


def colorbar_label(ax: Axes) -> str:
    (cbar_ax,) = [other for other in ax.figure.axes if other is not ax]
    return cbar_ax.get_ylabel()


def test_future_cells_are_masked_as_an_upper_right_triangle() -> None:
    ax = cohort_heatmap(make_cohorts())
    expected = np.array(
        [
            [False, False, False, False],
            [False, False, False, True],
            [False, False, True, True],
            [False, True, True, True],
        ]
    )
    np.testing.assert_array_equal(mask_of(ax).reshape(4, 4), expected)


def test_every_unmasked_cell_is_annotated_with_its_formatted_value() -> None:
    ax = cohort_heatmap(make_cohorts())
    assert len(ax.texts) == (~mask_of(ax)).sum() == 10
    labels = {(t.get_position(), t.get_text()) for t in ax.texts}
    assert ((0.5, 0.5), "100.0%") in labels
    assert ((1.5, 0.5), "25.0%") in labels  # cohort 2026-01, period 1
    assert ((3.5, 0.5), "15.0%") in labels
    assert all(t.get_text() != "–" for t in ax.texts)


def test_annot_false_writes_no_values() -> None:
    assert len(cohort_heatmap(make_cohorts(), annot=False).texts) == 0


def test_rows_are_labelled_with_cohort_and_size() -> None:
    ax = cohort_heatmap(make_cohorts())
    labels = [t.get_text() for t in ax.get_yticklabels()]
    assert labels == ["2026-01 (812)", "2026-02 (1,040)", "2026-03 (975)", "2026-04 (1,203)"]
    assert [t.get_text() for t in ax.get_xticklabels()] == ["0", "1", "2", "3"]
    assert ax.get_xlabel() == "Months since first order"


def test_colourbar_is_labelled_with_the_measure_title() -> None:
    ax = cohort_heatmap(make_cohorts())
    assert colorbar_label(ax) == "Cohort Retention"
    assert ax.get_title(loc="left") == "Cohort Retention by monthly cohort"


def test_a_named_measure_is_drawn_with_its_format() -> None:
    ax = cohort_heatmap(make_cohorts(), "orders.ltv_cohort_gross_revenue")
    assert colorbar_label(ax) == "LTV (gross revenue)"
    assert "$77.50" in {t.get_text() for t in ax.texts}


def test_constant_period_zero_does_not_flatten_the_colour_scale() -> None:
    ax = cohort_heatmap(make_cohorts())
    norm = ax.collections[0].norm
    assert (norm.vmin, norm.vmax) == (15.0, 25.0)  # periods >= 1 only
    ltv = cohort_heatmap(make_cohorts(), LTV).collections[0].norm
    assert (ltv.vmin, ltv.vmax) == (40.0, 77.5)


def test_annotation_colour_contrasts_with_the_cell() -> None:
    ax = cohort_heatmap(make_cohorts(), LTV, cmap="viridis")
    by_position = {t.get_position(): t.get_color() for t in ax.texts}
    assert by_position[(0.5, 0.5)] == "white"  # lowest value: dark purple
    assert by_position[(3.5, 0.5)] != "white"  # highest value: light yellow
    assert relative_luminance((1, 1, 1, 1)) == pytest.approx(1.0)
    assert relative_luminance((0, 0, 0)) == 0.0


def test_a_cohort_matrix_draws_the_same_cells() -> None:
    long = make_cohorts()
    matrix = long[RETENTION].unstack("period")
    matrix.attrs = {
        "upstack": {**long.attrs["upstack"], "measures": {RETENTION: MEASURES[RETENTION]}}
    }
    ax = cohort_heatmap(matrix)
    np.testing.assert_array_equal(mask_of(ax), mask_of(cohort_heatmap(long)))
    assert colorbar_label(ax) == "Cohort Retention"
    assert ax.get_yticklabels()[0].get_text() == "2026-01 (812)"


def test_a_plain_matrix_without_attrs_still_draws() -> None:
    matrix = pd.DataFrame([[100.0, 20.0], [100.0, np.nan]], index=["A", "B"], columns=[0, 1])
    ax = cohort_heatmap(matrix)
    assert mask_of(ax).sum() == 1
    assert [t.get_text() for t in ax.get_yticklabels()] == ["A", "B"]
    assert colorbar_label(ax) == "value"
    assert len(ax.texts) == 3


def test_cohort_sizes_fall_back_to_period_zero_customers() -> None:
    df = make_cohorts(attrs=False)
    df["orders.customers_cohort"] = 500.0
    data = cohort_matrix_data(df, RETENTION)
    assert data.row_labels[0] == "2026-01 (500)"  # granularity inferred from the dates


def test_draws_into_a_given_axes() -> None:
    fig, ax = plt.subplots()
    assert cohort_heatmap(make_cohorts(), ax=ax) is ax
    assert len(fig.axes) == 2  # the heatmap and its colourbar


def test_unknown_measure_lists_the_columns() -> None:
    with pytest.raises(ValueError, match=r"unknown measure column 'x'.*cohort_retention"):
        cohort_heatmap(make_cohorts(), "x")


def test_a_time_series_frame_is_rejected_with_the_fix() -> None:
    index = pd.date_range("2026-01-01", periods=3, tz="UTC", name="dt")
    df = pd.DataFrame({"core.revenue": [1.0, 2.0, 3.0]}, index=index)
    with pytest.raises(ValueError, match="cohort_matrix"):
        cohort_heatmap(df)
    wrong_levels = df.set_index(pd.Index(["a", "b", "c"], name="utm_source"), append=True)
    with pytest.raises(ValueError, match=r"\('cohort', 'period'\)"):
        cohort_heatmap(wrong_levels)


@pytest.mark.parametrize("columns", [["1.5"], ["period one"]])
def test_a_matrix_needs_integer_period_columns(columns: list[str]) -> None:
    with pytest.raises(ValueError, match="integer periods"):
        cohort_heatmap(pd.DataFrame([[1.0]], columns=columns))


def test_not_a_frame_is_a_type_error() -> None:
    with pytest.raises(TypeError, match="DataFrame"):
        cohort_heatmap(np.eye(3))  # type: ignore[arg-type]
