"""``view_filters`` and ``order_settings`` on the readers the documentation allows, and the
dashboard section / pin helpers, against the emulator over HTTP.

The order counts are recomputed from the emulator's raw ``orders`` table with pandas.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pandas as pd
import pytest

import upstack_pandas as up
from upstack_pandas.emulator.http.server import Emulator

APRIL = ("2026-04-01", "2026-04-30")


@pytest.fixture(autouse=True)
def fresh(emulator: Emulator) -> Iterator[None]:
    emulator.reset_state()
    yield
    emulator.reset_state()


def _april_orders(emulator: Emulator) -> pd.Series:
    orders = emulator.backend().tables()["orders"]
    day = orders["ts"].dt.tz_convert("UTC").dt.strftime("%Y-%m-%d")
    counts: pd.Series = orders.loc[day.between(*APRIL), "status"].value_counts()
    return counts


def _orders(client: up.Client, **kwargs: Any) -> float:
    frame = up.read_upstack(
        "orders.orders", *APRIL, granularity="none", compare=False, client=client, **kwargs
    )
    return float(frame["orders.orders"].iloc[0])


def test_order_settings_count_pending_orders_on_query(
    emulator: Emulator, client: up.Client
) -> None:
    statuses = _april_orders(emulator)
    assert statuses.get("pending", 0) > 0
    default = _orders(client)
    assert default == statuses["paid"]
    with_pending = _orders(client, order_settings=up.OrderSettings(count_pending_orders=True))
    assert with_pending == statuses["paid"] + statuses["pending"]
    as_dict = _orders(client, order_settings={"countPendingOrders": True})
    assert as_dict == with_pending


def test_account_settings_are_the_default_and_a_body_replaces_them(
    emulator: Emulator, client: up.Client
) -> None:
    statuses = _april_orders(emulator)
    up.account.replace_order_settings(up.OrderSettings(count_pending_orders=True), client=client)
    assert _orders(client) == statuses["paid"] + statuses["pending"]
    assert _orders(client, order_settings=up.OrderSettings()) == statuses["paid"]


def test_attribution_takes_order_settings_and_view_filters(client: up.Client) -> None:
    kwargs: dict[str, Any] = {"client": client}
    plain = up.read_attribution("channel", *APRIL, **kwargs)
    wider = up.read_attribution(
        "channel", *APRIL, order_settings={"countPendingOrders": True}, view_filters=[{}], **kwargs
    )
    request = wider.attrs["upstack"]["request"]
    assert request["orderSettings"] == {"countPendingOrders": True}
    assert request["viewFilters"] == [{}]
    assert wider["attribution.orders"].sum() > plain["attribution.orders"].sum()


def test_view_filters_are_sent_on_query_and_cohorts(client: up.Client) -> None:
    frame = up.read_upstack("orders.orders", *APRIL, granularity="none", compare=False,
                            view_filters=[{"id": "vf1"}], client=client)  # fmt: skip
    assert frame.attrs["upstack"]["request"]["viewFilters"] == [{"id": "vf1"}]
    cohorts = up.read_cohorts("orders.ltv_cohort_gross_revenue", "2026-01-01", "2026-04-30",
                              view_filters=[{}], order_settings={"countVoidedOrders": True},
                              client=client)  # fmt: skip
    assert cohorts.attrs["upstack"]["request"]["viewFilters"] == [{}]
    assert cohorts.attrs["upstack"]["request"]["orderSettings"] == {"countVoidedOrders": True}


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"view_filters": "x"}, TypeError, "view_filters"),
        ({"view_filters": [1]}, TypeError, r"view_filters\[0\]"),
        ({"view_filters": [{}] * 101}, ValueError, "at most 100"),
        ({"order_settings": {"countPending": True}}, ValueError, "countPending"),
        ({"order_settings": {"countPendingOrders": "yes"}}, TypeError, "countPendingOrders"),
        (
            {"order_settings": {"refundDateAttribution": "later"}},
            ValueError,
            "refundDateAttribution",
        ),
        ({"order_settings": 3}, TypeError, "order_settings"),
    ],
)
def test_bad_reader_arguments_fail_before_sending(
    kwargs: dict[str, Any], error: type[Exception], match: str
) -> None:
    # no client is needed: the checks run before the default client is even looked up
    with pytest.raises(error, match=match):
        up.read_upstack("orders.orders", *APRIL, **kwargs)
    with pytest.raises(error, match=match):
        up.read_attribution("channel", *APRIL, **kwargs)


def test_channel_details_take_neither() -> None:
    with pytest.raises(TypeError):
        up.read_channel_details(view_filters=[{}])  # type: ignore[call-arg]


# ----------------------------------------------------------------------------- dashboards


@pytest.fixture
def view(client: up.Client) -> Iterator[up.DashboardView]:
    built = up.dashboards.build("Sections test", ["orders.orders", "orders.cm1"], client=client)
    yield built
    up.dashboards.delete(built, client=client)


def test_sections_pin_and_unpin(client: up.Client, view: up.DashboardView) -> None:
    assert view.sections.empty
    assert view.sections.columns.tolist() == [
        "id",
        "title",
        "ordinal",
        "collapsed",
        "hidden",
        "widgetCount",
    ]
    widget = view.widgets["id"].iloc[0]
    pinned = up.dashboards.pin(view, widget, client=client)
    assert pinned.sections["title"].tolist() == ["Pinned"]
    copies = pinned.widgets[pinned.widgets["section"] == "Pinned"]
    assert copies["sourceWidgetId"].tolist() == [widget]
    assert copies["id"].iloc[0] != widget
    assert up.dashboards.pin(view, widget, client=client).sections["widgetCount"].tolist() == [1]
    extra = up.dashboards.add_section(view, "Costs", collapsed=True, client=client)
    assert extra.sections[["title", "ordinal", "collapsed"]].values.tolist() == [
        ["Pinned", 0, False], ["Costs", 1, True]]  # fmt: skip
    stored = up.dashboards.get(view, client=client)
    assert stored.sections["title"].tolist() == ["Pinned", "Costs"]
    unpinned = up.dashboards.unpin(view, widget, client=client)
    assert unpinned.sections["widgetCount"].tolist() == [0, 0]
    removed = up.dashboards.remove_section(view, "Costs", client=client)
    assert removed.sections["title"].tolist() == ["Pinned"]


def test_section_helpers_refuse_unknown_targets(client: up.Client, view: up.DashboardView) -> None:
    with pytest.raises(ValueError, match="no widget"):
        view.with_pinned("nope")
    with pytest.raises(ValueError, match="not pinned"):
        view.without_pinned(view.widgets["id"].iloc[0])
    with pytest.raises(ValueError, match="no section"):
        view.without_section("nope")
    with pytest.raises(ValueError, match="title"):
        view.with_section("")
    assert up.dashboards.get(view, client=client).configuration == view.configuration
