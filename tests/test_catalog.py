"""Catalog: measures()/filters() frames, search ranking, name resolution, per-client caching."""

from __future__ import annotations

from typing import Any

import pandas as pd
import pytest

import upstack_pandas as up
from tests._fake_client import CATALOG_BODY, FakeClient
from upstack_pandas.catalog import Catalog, get_catalog, score


@pytest.fixture
def catalog() -> Catalog:
    import json

    return Catalog.from_json(json.loads(CATALOG_BODY))


def test_measures_frame() -> None:
    frame = up.measures(client=FakeClient())
    assert frame.index.name == "id" and "core.new_customer_roas" in frame.index
    assert list(frame.columns[:11]) == [
        "title",
        "shortTitle",
        "description",
        "category",
        "format",
        "isAverage",
        "isPercentage",
        "preferredTrendDirection",
        "currency",
        "dimensions",
        "contexts",
    ]
    assert frame["isAverage"].dtype == bool
    assert frame.loc["core.new_customer_roas", "shortTitle"] == "NC ROAS"
    assert isinstance(frame.loc["orders.orders", "dimensions"], list)


def test_search_ranking(catalog: Catalog) -> None:
    ranked = list(catalog.frame("roas").index)
    assert ranked[0] == "core.roas"  # id and title "ROAS" match exactly
    assert set(ranked) >= {"core.roas", "core.new_customer_roas", "channel.roas"}
    assert "orders.orders" not in ranked
    assert catalog.frame("ORDERS").index[0] == "orders.orders"
    assert list(catalog.frame("new customer roas").index) == ["core.new_customer_roas"]
    assert catalog.frame("zzzz").empty and list(catalog.frame("zzzz").columns[:2]) == [
        "title",
        "shortTitle",
    ]
    assert score({"description": "spend per thousand impressions"}, "channel.cpm", "thousand") > 0


def test_resolve(catalog: Catalog) -> None:
    assert catalog.resolve(["NC ROAS", "orders.orders", "average order value"]) == (
        "core.new_customer_roas",
        "orders.orders",
        "orders.aov",
    )
    assert catalog.resolve(["ORDERS.AOV"]) == ("orders.aov",)
    with pytest.raises(ValueError, match="already asked"):
        catalog.resolve(["NC ROAS", "core.new_customer_roas"])


def test_unknown_names_list_the_closest_ids(catalog: Catalog) -> None:
    with pytest.raises(ValueError, match=r"unknown measure 'NC ROASS'.*core.new_customer_roas"):
        catalog.resolve(["NC ROASS"])
    with pytest.raises(ValueError, match=r"orders.orders"):
        catalog.resolve(["orders.order"])


def test_context_is_checked(catalog: Catalog) -> None:
    with pytest.raises(
        ValueError, match=r"cannot be used in a cohort request.*orders.customers_cohort"
    ):
        catalog.resolve(["orders.orders"], context="cohort")
    assert catalog.resolve(["channel.spend"], context="channel") == ("channel.spend",)


def test_dimensions_are_checked(catalog: Catalog) -> None:
    catalog.check_dimensions(["channel"], ["orders.orders"])
    with pytest.raises(ValueError, match=r"unknown dimension 'utm_sorce'.*utm_source"):
        catalog.check_dimensions(["utm_sorce"])
    with pytest.raises(ValueError, match="does not support dimension 'utm_source'"):
        catalog.check_dimensions(["utm_source"], ["core.new_customer_roas"])


def test_catalog_is_fetched_once_per_client() -> None:
    client = FakeClient()
    first = get_catalog(client)
    assert get_catalog(client) is first
    up.measures("roas", client=client)
    assert [p for _, p, _ in client.sent] == ["/db-mgmt/api/measures"]
    assert get_catalog(client, refresh=True) is not first
    assert len(client.sent) == 2
    other = FakeClient()
    get_catalog(other)
    assert len(other.sent) == 1


def test_the_catalog_lives_on_its_client(emulator: Any) -> None:
    client = emulator.client(cache=False)
    assert client._catalog is None  # nothing fetched on construction
    catalog = get_catalog(client)
    assert client._catalog is catalog  # kept on the client, not in a module registry
    assert emulator.client(cache=False)._catalog is None  # another client starts empty


def test_filters_frame() -> None:
    body = b'{"filters": [{"id": "orders.customer_type", "title": "Customer type", "type": "string", "operators": ["equals", "in"], "contexts": ["query"], "values": ["new_customer"]}, {"id": "channel.account", "title": "Ad account", "type": "string", "operators": ["equals"], "contexts": ["channel"]}]}'
    client = FakeClient({"/db-mgmt/api/filters": body})
    frame = up.filters(client=client)
    assert list(frame.index) == ["orders.customer_type", "channel.account"]
    assert list(frame.columns) == ["title", "type", "operators", "contexts", "values"]
    assert list(up.filters("customer", client=client).index) == ["orders.customer_type"]


def test_catalog_against_the_emulator(client: up.Client) -> None:
    frame = up.measures(client=client)
    assert len(frame) > 50 and frame.index.is_unique
    assert frame.loc["core.new_customer_roas", "shortTitle"] == "NC ROAS"
    assert up.measures("NC ROAS", client=client).index[0] == "core.new_customer_roas"
    filters = up.filters("customer", client=client)
    assert "orders.customer_type" in filters.index
    assert isinstance(pd.DataFrame(frame)._repr_html_(), str)
