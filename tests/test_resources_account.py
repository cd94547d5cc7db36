"""up.account against the emulator over HTTP: read, rename, order settings (typed), diff.

Shared setup: ``fresh`` resets every pixel's account/cost state before each test; ``offline``
is a client of a scripted HTTP server with no routes, so a check that runs before sending is
proven by an empty request log.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pandas as pd
import pytest
from pytest_httpserver import HTTPServer

import upstack_pandas as up
from upstack_pandas.emulator.http.server import SECOND_PIXEL_ID, Emulator

# raw/account-replace-order-settings.md: the documented request body, verbatim.
SETTINGS_EXAMPLE: dict[str, Any] = {
    "countPendingOrders": False,
    "countVoidedOrders": False,
    "refundDateAttribution": "refund_date",
    "exclusionFilters": [
        {
            "name": "Exclude POS",
            "enabled": True,
            "conditionGroups": [
                {
                    "logic": "and",
                    "conditions": [
                        {"field": "sourceName", "operator": "not_equals", "value": "pos"}
                    ],
                }
            ],
        }
    ],
}


@pytest.fixture(autouse=True)
def fresh(emulator: Emulator) -> Iterator[None]:
    emulator.reset_state()
    yield
    emulator.clear_faults()
    emulator.reset_state()


@pytest.fixture
def offline(httpserver: HTTPServer) -> Iterator[up.Client]:
    client = up.Client(
        api_key="upstack_offline_0123456789",
        pixel_id="px",
        base_url=httpserver.url_for(""),
        cache=False,
    )
    yield client
    assert httpserver.log == [], "a request was sent"
    client.close()


def keyed(emulator: Emulator, key: str, **kwargs: Any) -> up.Client:
    return emulator.client(api_key=emulator.keys[key], cache=False, **kwargs)


def test_get_returns_the_account(client: up.Client) -> None:
    account = up.account.get(client=client)
    assert isinstance(account, up.account.Account)
    assert account.name == "Upstack Data"
    assert isinstance(account.created_at, pd.Timestamp) and str(account.created_at.tz) == "UTC"
    people = account.people()
    assert list(people.columns) == ["role", "email", "firstName", "lastName"]
    assert people["role"].tolist() == ["owner", "admin"]
    assert account.subscription is not None and account.subscription["plan"]["name"] == "Growth"


def test_the_documented_rename_body(client: up.Client) -> None:
    # raw/account-rename-the-account.md: {"accountName": "Upstack Data"}
    up.account.rename("Something else", client=client)
    assert up.account.rename("Upstack Data", client=client).name == "Upstack Data"


def test_rename_changes_the_stored_name(client: up.Client) -> None:
    renamed = up.account.rename("Acme Shop 🛍️", client=client)
    assert renamed.name == "Acme Shop 🛍️"
    assert up.account.get(client=client).name == "Acme Shop 🛍️"


@pytest.mark.parametrize("name", ["", " padded", "x" * 101, "zero\u200bwidth", 5])
def test_rename_checks_before_sending(offline: up.Client, name: Any) -> None:
    with pytest.raises(up.ValidationError, match="name"):
        up.account.rename(name, client=offline)


def test_order_settings_round_trip_the_documented_body(client: up.Client) -> None:
    before = up.account.order_settings(client=client)
    assert before == up.OrderSettings()  # the documented defaults
    stored = up.account.replace_order_settings(SETTINGS_EXAMPLE, client=client)
    assert isinstance(stored, up.OrderSettings)
    assert stored.exclusion_filters[0]["name"] == "Exclude POS"
    assert stored.exclusion_filters[0]["id"]  # the API assigns ids
    assert up.account.order_settings(client=client) == stored
    # a typed change keeps the stored filter (same ids) and flips one flag
    changed = up.account.replace_order_settings(
        stored.replace(count_pending_orders=True), client=client
    )
    assert changed.count_pending_orders is True
    assert changed.exclusion_filters[0]["id"] == stored.exclusion_filters[0]["id"]


def test_diff_lists_each_changed_field() -> None:
    current = up.OrderSettings()
    new = up.OrderSettings.from_body(SETTINGS_EXAMPLE).replace(count_voided_orders=True)
    diff = up.account.diff_order_settings(current, new)
    assert list(diff.columns) == ["field", "current", "new"]
    assert diff["field"].tolist() == ["countVoidedOrders", "exclusionFilters[Exclude POS]"]
    assert diff.iloc[0]["current"] is False and diff.iloc[0]["new"] is True
    assert diff.iloc[1]["current"] is None
    assert up.account.diff_order_settings(new, new).empty


@pytest.mark.parametrize(
    ("body", "named"),
    [
        ({"countPendingOrders": "yes"}, "count_pending_orders"),
        ({"refundDateAttribution": "someday"}, "refund_date_attribution"),
        ({"bogus": 1}, "settings.bogus"),
        ({"exclusionFilters": [{"name": "x"}]}, "conditionGroups"),
        (
            {
                "exclusionFilters": [
                    {"name": "x", "conditionGroups": [{"conditions": [{"field": "f"}]}]}
                ]
            },
            "operator",
        ),
        (
            {
                "exclusionFilters": [
                    {
                        "name": f"f{i}",
                        "conditionGroups": [
                            {"conditions": [{"field": "a", "operator": "b", "value": "c"}]}
                        ],
                    }
                    for i in range(51)
                ]
            },
            "exclusion_filters",
        ),
    ],
)
def test_replace_checks_before_sending(
    offline: up.Client, body: dict[str, Any], named: str
) -> None:
    with pytest.raises(up.ValidationError, match=named):
        up.account.replace_order_settings(body, client=offline)


def test_the_api_refuses_an_unknown_condition_field(client: up.Client) -> None:
    body = {"exclusionFilters": [{"name": "x", "conditionGroups": [{"conditions": [
        {"field": "nope", "operator": "equals", "value": "1"}]}]}]}  # fmt: skip
    with pytest.raises(up.ValidationError) as caught:
        up.account.replace_order_settings(body, client=client)
    assert caught.value.status == 400
    assert any("exclusionFilters" in str(e.get("path")) for e in caught.value.errors)


@pytest.mark.parametrize(
    ("key", "call", "scope"),
    [
        ("costs_read", lambda c: up.account.get(client=c), "account:read"),
        ("account_write", lambda c: up.account.order_settings(client=c), "account:read"),
        ("costs_read", lambda c: up.account.rename("New", client=c), "account:write"),
        (
            "analytics_read",
            lambda c: up.account.replace_order_settings({}, client=c),
            "account:write",
        ),
    ],
)
def test_missing_scope_names_it(emulator: Emulator, key: str, call: Any, scope: str) -> None:
    with keyed(emulator, key) as limited, pytest.raises(up.PermissionDenied) as caught:
        call(limited)
    assert caught.value.required_scope == scope
    assert scope in str(caught.value)


def test_each_pixel_has_its_own_account(emulator: Emulator, client: up.Client) -> None:
    up.account.rename("First pixel", client=client)
    with keyed(emulator, "other_pixel", pixel_id=SECOND_PIXEL_ID) as other:
        assert up.account.get(client=other).name == "Upstack Data"
