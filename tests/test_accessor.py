"""df.upstack: metadata, summary, compare, format, cohort matrix, thin delegations."""

from __future__ import annotations

import pandas as pd
import pytest

import upstack_pandas as up
from tests._fake_client import fake_query_client


@pytest.fixture
def frame() -> pd.DataFrame:
    return up.read_upstack(
        ["orders.orders", "AOV"], "2026-03-01", "2026-03-04", client=fake_query_client()
    )


def test_measures_and_meta(frame: pd.DataFrame) -> None:
    table = frame.upstack.measures
    assert list(table.index) == ["orders.orders", "orders.aov"]
    assert table.loc["orders.aov", "shortTitle"] == "AOV"
    assert frame.upstack.meta("orders.orders")["primarySum"] == 1 + 2 + 3 + 4
    with pytest.raises(KeyError):
        frame.upstack.meta("nope")


def test_summary(frame: pd.DataFrame) -> None:
    summary = frame.upstack.summary()
    assert isinstance(summary, pd.DataFrame)
    assert list(summary.columns) == [
        "title", "format", "primary", "compare", "change_pct", "good", "incomplete", "source",
    ]  # fmt: skip
    orders = summary.loc["orders.orders"]
    assert orders["primary"] == 10.0 and orders["compare"] == 0.5 + 1.5 + 2.5 + 3.5
    assert orders["change_pct"] == pytest.approx((10 - 8) / 8 * 100)
    assert orders["good"] is True or orders["good"] == True  # noqa: E712
    aov = summary.loc["orders.aov"]  # an average: headline is the Avg
    assert aov["primary"] == frame.upstack.meta("orders.aov")["primaryAvg"]
    html = summary._repr_html_()
    assert "Average Order Value" in html and "$" in html and "+25.0%" in html
    assert summary.dtypes["primary"] == "float64"


def test_summary_good_follows_preferred_direction() -> None:
    frame = pd.DataFrame({"channel.cpm": [1.0]})
    frame.attrs["upstack"] = {
        "measures": {
            "channel.cpm": {
                "title": "CPM",
                "format": "currency",
                "isAverage": True,
                "preferredTrendDirection": "down",
                "primaryAvg": 12.0,
                "compareAvg": 10.0,
                "percentDiff": 20.0,
            }
        }
    }
    assert not frame.upstack.summary().loc["channel.cpm", "good"]


def test_format(frame: pd.DataFrame) -> None:
    shown = frame.upstack.format()
    assert shown["orders.aov"].iloc[0].startswith("$")
    assert shown["orders.orders"].iloc[0] == "1"
    assert frame["orders.orders"].dtype == "float64"  # the original is untouched


def test_accessor_recovers_after_pandas_drops_attrs(frame: pd.DataFrame) -> None:
    agg = frame.agg(["sum", "mean"])
    agg.attrs = {}
    assert agg.upstack.meta("orders.aov")["format"] == "currency"
    assert agg.upstack.format().loc["sum", "orders.aov"].startswith("$")


def test_cohort_matrix() -> None:
    index = pd.MultiIndex.from_arrays(
        [
            pd.DatetimeIndex(["2026-01-01", "2026-01-01", "2026-02-01"]).tz_localize("UTC"),
            [0, 1, 0],
        ],
        names=["cohort", "period"],
    )
    frame = pd.DataFrame({"a": [100.0, 40.0, 100.0], "b": [1.0, 2.0, 3.0]}, index=index)
    matrix = frame.upstack.cohort_matrix()
    assert matrix.shape == (2, 2) and matrix.columns.name == "period"
    assert pd.isna(matrix.iloc[1, 1]) and matrix.iloc[0, 1] == 40.0
    assert frame.upstack.cohort_matrix("b").iloc[1, 0] == 3.0
    with pytest.raises(KeyError):
        frame.upstack.cohort_matrix("zzz")
    with pytest.raises(AttributeError):
        pd.DataFrame({"a": [1]}).upstack.cohort_matrix()


@pytest.mark.parametrize(
    ("method", "module", "function", "args"),
    [
        ("sparklines", "upstack_pandas.plotting", "sparklines", ()),
        ("heatmap", "upstack_pandas.plotting", "cohort_heatmap", ()),
        ("attribution_chart", "upstack_pandas.plotting", "attribution_chart", ()),
        ("to_dashboard", "upstack_pandas.dashboards", "to_dashboard", ("My view",)),
    ],
)
def test_delegations_are_one_line(
    monkeypatch: pytest.MonkeyPatch,
    frame: pd.DataFrame,
    method: str,
    module: str,
    function: str,
    args: tuple[str, ...],
) -> None:
    import importlib

    calls = []
    monkeypatch.setattr(
        importlib.import_module(module), function, lambda *a, **kw: calls.append((a, kw)) or "drawn"
    )
    assert getattr(frame.upstack, method)(*args, color="red") == "drawn"
    ((got_args, got_kwargs),) = calls
    assert got_args[0] is frame and got_args[1:] == args and got_kwargs == {"color": "red"}
