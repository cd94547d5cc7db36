"""Dashboard views with numbers: each widget's current value and sparkline, through the cache."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pandas as pd
import pytest

import upstack_pandas as up
from upstack_pandas.dashboards import Dashboards
from upstack_pandas.dashboards.numbers import sparkline_svg
from upstack_pandas.dashboards.view import DashboardView
from upstack_pandas.emulator.http.server import Emulator

MEASURES = ["core.new_customer_roas", "meta.cpm", "orders.orders"]
START, END = "2026-11-01", "2026-11-14"


@pytest.fixture(scope="module")
def cached(emulator: Emulator) -> Iterator[up.Client]:
    client = emulator.client()  # cached (a per-emulator temporary cache)
    yield client
    client.close()


@pytest.fixture(scope="module")
def view(cached: up.Client) -> Iterator[DashboardView]:
    made = Dashboards(cached).build("numbers test", MEASURES, start=START, end=END)
    yield made
    Dashboards(cached).delete(made)


def widget_numbers(page: str) -> dict[str, tuple[str, int]]:
    """measure -> (value text, number of points in its sparkline) as drawn in the HTML."""
    found = {}
    pattern = r'data-measure="([^"]+)"[^>]*><span[^>]*>([^<]+)</span><svg[^>]*>(.*?)</svg>'
    for measure, text, svg in re.findall(pattern, page):
        points = sum(len(p.split()) for p in re.findall(r'points="([^"]+)"', svg))
        points += svg.count("<circle")
        found[measure] = (text, points)
    return found


def test_each_widget_shows_its_current_value_and_sparkline(
    view: DashboardView, client: up.Client
) -> None:
    page = view._repr_html_()
    df = up.read_upstack(MEASURES, START, END, compare=False, client=client)
    days = (pd.Timestamp(END) - pd.Timestamp(START)).days + 1
    drawn = widget_numbers(page)
    assert set(drawn) == set(MEASURES)
    orders = df["orders.orders"].sum()
    assert drawn["orders.orders"] == (f"{orders:,.0f}", days)
    cpm = df.upstack.meta("meta.cpm")["primaryAvg"]
    assert drawn["meta.cpm"] == (f"${cpm:,.2f}", days)
    roas = df.upstack.meta("core.new_customer_roas")["primaryAvg"]
    assert drawn["core.new_customer_roas"] == (f"{roas:.2f}x", days)
    assert f"numbers for {START} – {END}, by day" in page
    assert "app.upstackdata.com" in page and view.id in page


def test_the_numbers_match_the_frame(view: DashboardView, client: up.Client) -> None:
    numbers = view.numbers()
    df = up.read_upstack(MEASURES, START, END, compare=False, client=client)
    assert list(numbers) == MEASURES
    assert numbers["orders.orders"].value == pytest.approx(df["orders.orders"].sum())
    assert numbers["orders.orders"].series == tuple(df["orders.orders"].tolist())


def test_a_second_display_is_answered_by_the_cache(
    view: DashboardView, cached: up.Client, monkeypatch: pytest.MonkeyPatch
) -> None:
    view._repr_html_()
    sent: list[Any] = []
    post = cached.post

    def counting(path: str, json: Any, **kwargs: Any) -> Any:
        response = post(path, json, **kwargs)
        sent.append(response.from_cache)
        return response

    monkeypatch.setattr(cached, "post", counting)
    view._repr_html_()
    assert sent and all(sent), sent


def test_a_view_read_by_no_client_draws_its_layout_only(view: DashboardView) -> None:
    detached = DashboardView.from_dict(view.to_dict())
    assert detached.client is None and detached == view
    page = detached._repr_html_()
    assert "<svg" not in page and "upstack-widget-number" not in page
    assert "NC ROAS" in page


def test_unreadable_numbers_are_said_not_raised(view: DashboardView) -> None:
    class Broken:
        def post(self, *args: Any, **kwargs: Any) -> Any:
            raise up.UpstackError("the API is down")

    page = view.bound_to(Broken())._repr_html_()  # type: ignore[arg-type]
    assert "numbers unavailable" in page
    assert "<svg" not in page


def test_print_says_where_to_open_it(view: DashboardView) -> None:
    text = str(view)
    assert text.startswith(repr(view))
    assert f'app.upstackdata.com → Dashboards → "numbers test" (id {view.id})' in text


def test_sparkline_svg_draws_gaps_and_flat_lines() -> None:
    gap = sparkline_svg([1.0, 2.0, None, 3.0, 4.0, None, 5.0])
    assert gap.count("<polyline") == 2 and gap.count("<circle") == 1
    flat = sparkline_svg([2.0, 2.0, 2.0], height=20)
    ys = {p.split(",")[1] for p in re.search(r'points="([^"]+)"', flat).group(1).split()}  # type: ignore[union-attr]
    assert ys == {"10.0"}
    empty = sparkline_svg([None, None])
    assert "<polyline" not in empty and empty.endswith("</svg>")


def test_sparkline_heights_follow_the_values() -> None:
    svg = sparkline_svg([0.0, 10.0], width=100, height=30)
    points = re.search(r'points="([^"]+)"', svg).group(1).split()  # type: ignore[union-attr]
    (x0, y0), (x1, y1) = (tuple(map(float, p.split(","))) for p in points)
    assert x0 < x1 and y0 > y1  # the higher value is drawn higher (smaller y)
    assert (y0, y1) == (28.0, 2.0)


def test_the_demo_page_draws_the_numbers(view: DashboardView) -> None:
    from upstack_pandas.cli._demo_steps import _dashboard_page

    page = _dashboard_page(view)
    assert page.startswith("<!doctype html>")
    assert set(widget_numbers(page)) == set(MEASURES)
