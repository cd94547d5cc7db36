"""df.upstack.style() and the one summary renderer (print, notebook HTML, demo)."""

from __future__ import annotations

import re
from typing import Any

import pandas as pd
import pytest

import upstack_pandas as up
from upstack_pandas._display import style as _style

MEASURES = ["orders.orders", "orders.aov", "core.new_customer_roas", "meta.cpm"]
RANGE = ("2026-10-28", "2026-11-26")


def entry(fmt: str, *, currency: str | None = None, average: bool = False, **more: Any) -> dict:
    return {"title": fmt.title(), "format": fmt, "currency": currency, "isAverage": average, **more}


def frame_with(columns: dict[str, list[float]], measures: dict[str, dict]) -> pd.DataFrame:
    frame = pd.DataFrame(columns, index=pd.RangeIndex(len(next(iter(columns.values())))))
    frame.attrs["upstack"] = {"measures": measures}
    return frame


def cells(html: str) -> list[str]:
    """The text of every data cell of a rendered Styler, row by row."""
    return re.findall(r'<td id="[^"]+" class="data [^"]+" >([^<]*)</td>', html)


@pytest.fixture(scope="module")
def frame(client: up.Client) -> pd.DataFrame:
    return up.read_upstack(MEASURES, *RANGE, client=client)


def test_each_column_reads_as_its_catalog_format(frame: pd.DataFrame) -> None:
    html = frame.upstack.style().to_html()
    texts = cells(html)
    assert len(texts) == frame.size
    first = frame.iloc[0]
    expected = [
        f"{round(first['orders.orders']):,}",  # a count: whole
        f"${first['orders.aov']:,.2f}",
        f"{first['core.new_customer_roas']:.2f}x",
        f"${first['meta.cpm']:,.2f}",
    ]
    assert texts[:4] == expected
    assert all(re.fullmatch(r"[\d,]+", t) for t in texts[0::4])  # every count row


def test_currency_is_the_measures_own() -> None:
    frame = frame_with(
        {"shop.revenue_eur": [1234.5], "shop.revenue_gbp": [-2.0], "shop.revenue_chf": [3.0]},
        {
            "shop.revenue_eur": entry("currency", currency="EUR", average=True),
            "shop.revenue_gbp": entry("currency", currency="GBP", average=True),
            "shop.revenue_chf": entry("currency", currency="CHF", average=True),
        },
    )
    assert cells(frame.upstack.style().to_html()) == ["€1,234.50", "-£2.00", "CHF 3.00"]


def test_percentages_multipliers_counts_and_averages() -> None:
    frame = frame_with(
        {"a.rate": [12.345], "a.roas": [2.0], "a.orders": [1234.0000001], "a.per_user": [1.5]},
        {
            "a.rate": entry("percentage", average=True),
            "a.roas": entry("multiplier", average=True),
            "a.orders": entry("number"),
            "a.per_user": entry("number", average=True),
        },
    )
    assert cells(frame.upstack.style().to_html()) == ["12.3%", "2.00x", "1,234", "1.50"]


@pytest.mark.parametrize("backend", [None, "numpy_nullable", "pyarrow"])
def test_missing_values_read_as_a_dash(client: up.Client, backend: str | None) -> None:
    df = up.read_upstack(
        "orders.orders", *RANGE, client=client, compare=False, dtype_backend=backend
    )
    df.iloc[0, 0] = None
    texts = cells(df.upstack.style().to_html())
    assert texts[0] == "–"
    assert texts[1] == f"{round(float(df.iloc[1, 0])):,}"


def test_numbers_stay_numbers_and_sort_by_value(frame: pd.DataFrame) -> None:
    styler = frame.upstack.style()
    assert styler.data is frame  # the display changes, the data does not
    assert dict(styler.data.dtypes) == dict.fromkeys(MEASURES, "float64")
    ordered = frame.sort_values("meta.cpm", ascending=False).upstack.style()
    shown = [float(t.lstrip("$").replace(",", "")) for t in cells(ordered.to_html())[3::4]]
    assert shown == sorted(shown, reverse=True)
    # text sorting would put "$9.99" after "$10.00"; the values sort as numbers
    assert shown == [round(v, 2) for v in frame["meta.cpm"].sort_values(ascending=False)]


def test_columns_without_metadata_are_left_as_pandas_shows_them(frame: pd.DataFrame) -> None:
    extra = frame.assign(note="x")
    texts = cells(extra.upstack.style().to_html())
    assert texts[4] == "x"


# ------------------------------------------------------------------------------- summary


def summary_of(measures: dict[str, dict]) -> pd.DataFrame:
    frame = frame_with({m: [1.0] for m in measures}, measures)
    return frame.upstack.summary()


def test_print_html_and_demo_show_the_same_cells(frame: pd.DataFrame) -> None:
    summary = frame.upstack.summary()
    text = repr(summary)
    assert str(summary) == text == _style.summary_text(summary)
    html = summary._repr_html_()
    shown = _style.summary_cells(summary).text
    for measure, row in shown.iterrows():
        line = next(line for line in text.splitlines() if line.startswith(str(measure)))
        for value in row:
            assert value in line
            assert f">{value}</td>" in html
    orders = summary.loc["orders.orders"]
    assert shown.loc["orders.orders", "primary"] == f"{orders['primary']:,.0f}"  # a count
    cpm = summary.loc["meta.cpm"]
    assert shown.loc["meta.cpm", "primary"] == f"${cpm['primary']:,.2f}"


def test_the_demo_prints_the_same_summary(
    frame: pd.DataFrame, capsys: pytest.CaptureFixture[str], client: up.Client
) -> None:
    import datetime as dt

    from upstack_pandas.cli import _demo_steps

    df = _demo_steps.query(client, dt.date(2026, 11, 26))
    out = capsys.readouterr().out
    expected = _style.summary_text(df.upstack.summary())
    assert "\n".join("   " + line for line in expected.splitlines()) in out


def test_good_and_bad_follow_the_preferred_direction() -> None:
    summary = summary_of(
        {
            "a.roas": entry(
                "multiplier",
                average=True,
                preferredTrendDirection="up",
                primaryAvg=2.2,
                compareAvg=2.0,
                percentDiff=10.0,
            ),
            "a.cpm": entry(
                "currency",
                average=True,
                preferredTrendDirection="down",
                primaryAvg=12.0,
                compareAvg=10.0,
                percentDiff=20.0,
            ),
            "a.cac": entry(
                "currency",
                average=True,
                preferredTrendDirection="down",
                primaryAvg=9.0,
                compareAvg=10.0,
                percentDiff=-10.0,
            ),
            "a.flat": entry(
                "number",
                preferredTrendDirection="up",
                primarySum=5.0,
                compareSum=5.0,
                percentDiff=0.0,
            ),
            "a.tiny": entry(
                "number",
                preferredTrendDirection="up",
                primarySum=10001.0,
                compareSum=10000.0,
                percentDiff=0.01,
            ),
            "a.nodir": entry("number", primarySum=5.0, compareSum=4.0, percentDiff=25.0),
        }
    )
    got = _style.summary_cells(summary)
    assert got.tones == {
        "a.roas": "good",
        "a.cpm": "bad",
        "a.cac": "good",
        "a.flat": "neutral",
        "a.tiny": "neutral",
        "a.nodir": "unknown",
    }
    verdicts = got.text["verdict"].to_dict()
    assert verdicts == {
        "a.roas": "good",
        "a.cpm": "bad",
        "a.cac": "good",
        "a.flat": "no change",
        "a.tiny": "no change",
        "a.nodir": "–",
    }
    assert got.text.loc["a.flat", "change"] == "±0.0%"
    assert got.text.loc["a.cpm", "change"] == "+20.0%"
    html = summary._repr_html_()
    colours = _style.TONE_COLOURS
    assert f"color:{colours['good']}'>+10.0%" in html
    assert f"color:{colours['bad']}'>+20.0%" in html
    assert f"color:{colours['good']}'>-10.0%" in html
    assert f"color:{colours['neutral']}'>±0.0%" in html
    assert html.count(colours["bad"]) == 2  # the change and verdict cells of CPM only


def test_summary_values_use_the_measures_currency() -> None:
    summary = summary_of(
        {
            "a.rev": entry(
                "currency", currency="EUR", primarySum=1500.0, compareSum=1000.0, percentDiff=50.0
            )
        }
    )
    assert _style.summary_cells(summary).text.loc["a.rev", "primary"] == "€1,500.00"


def test_summary_html_escapes_titles() -> None:
    summary = summary_of({"a.x": {**entry("number"), "title": "<b>x</b>"}})
    assert "&lt;b&gt;x&lt;/b&gt;" in summary._repr_html_()
