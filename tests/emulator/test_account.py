"""Account endpoints over HTTP: projection, rename, order settings (raw/account-*.md)."""

from __future__ import annotations

from typing import Any

import pytest

from upstack_pandas.emulator.http.server import Emulator

ACCOUNT = "/accounts/api/account"
SETTINGS = "/accounts/api/account/settings/order"
DEFAULTS = {
    "countPendingOrders": False,
    "countVoidedOrders": False,
    "refundDateAttribution": "refund_date",
    "exclusionFilters": [],
}
# raw/account-replace-order-settings.md, the documented request body.
DOCUMENTED_PUT: dict[str, Any] = {
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


def _paths(response: Any) -> list[str]:
    return [e["path"] for e in response.json()["errors"]]


def test_get_the_account(api: Any, resource_validator: Any) -> None:
    body = api.ok("GET", ACCOUNT)
    resource_validator("AccountEnvelope", body)
    account = body["account"]
    assert account["accountName"] == "Upstack Data"
    assert account["owners"][0] == {
        "email": "founder@upstackdata.com",
        "firstName": "Alex",
        "lastName": "Owner",
    }
    plan = account["subscription"]["plan"]
    assert plan["discountedDisplayPrice"] == "$39/mo" and plan["billingFrequency"] == "monthly"
    # Internal fields are deliberately omitted.
    assert not {"id", "ownerId", "companyName", "primaryEmail", "pixels"} & set(account)


def test_rename_persists_and_is_per_pixel(api: Any, emulator: Emulator) -> None:
    renamed = api.ok("PATCH", ACCOUNT, json={"accountName": "Café Ünïcode 🛍️"})
    assert renamed["account"]["accountName"] == "Café Ünïcode 🛍️"
    assert api.ok("GET", ACCOUNT)["account"]["accountName"] == "Café Ünïcode 🛍️"
    other = api.ok("GET", ACCOUNT, key="other_pixel", pixel=emulator.pixel_ids[1])
    assert other["account"]["accountName"] == "Upstack Data"
    audit = emulator.state_summary()["pixels"][emulator.pixel_id]["accountAudit"]
    assert audit == [{"type": "accountUpdated", "actor": "cli:demo", "change": {"kind": "name"}}]


def test_documented_rename_example_is_accepted(api: Any) -> None:
    assert api.ok("PATCH", ACCOUNT, json={"accountName": "Upstack Data"})["account"][
        "accountName"
    ] == ("Upstack Data")


@pytest.mark.parametrize(
    "name",
    ["", " leading", "trailing ", "a" * 101, "tab\there", "zero\u200bwidth", "bidi\u202eflip"],
)
def test_invalid_names_are_400(api: Any, name: str) -> None:
    response = api("PATCH", ACCOUNT, json={"accountName": name})
    assert response.status_code == 400, response.text
    assert _paths(response) == ["accountName"]
    assert api.ok("GET", ACCOUNT)["account"]["accountName"] == "Upstack Data"


def test_rename_is_a_strict_allowlist(api: Any) -> None:
    response = api("PATCH", ACCOUNT, json={"accountName": "X", "companyName": "Y"})
    assert response.status_code == 400 and _paths(response) == ["companyName"]
    assert api("PATCH", ACCOUNT, json={}).status_code == 400


@pytest.mark.parametrize(
    ("method", "path", "key", "scope"),
    [
        ("GET", ACCOUNT, "analytics_read", "account:read"),
        ("GET", ACCOUNT, "account_write", "account:read"),  # D43: write does not imply read
        ("PATCH", ACCOUNT, "dashboards_write", "account:write"),
        ("GET", SETTINGS, "costs_read", "account:read"),
        ("PUT", SETTINGS, "analytics_read", "account:write"),
    ],
)
def test_missing_scope_is_403(api: Any, method: str, path: str, key: str, scope: str) -> None:
    response = api(method, path, key=key, json={"accountName": "X"})
    assert response.status_code == 403
    assert response.json()["requiredScope"] == scope


def test_order_settings_defaults(api: Any, resource_validator: Any) -> None:
    body = api.ok("GET", SETTINGS)
    resource_validator("AccountOrderSettingsEnvelope", body)
    assert body == {"orderSettings": DEFAULTS}


def test_replace_assigns_ids_and_keeps_created_at(api: Any) -> None:
    first = api.ok("PUT", SETTINGS, json=DOCUMENTED_PUT)["orderSettings"]
    (stored,) = first["exclusionFilters"]
    assert stored["name"] == "Exclude POS" and stored["enabled"] is True
    group = stored["conditionGroups"][0]
    condition = group["conditions"][0]
    assert len(stored["id"]) == 36 and len(group["id"]) == 36 and len(condition["id"]) == 36
    assert stored["createdAt"] == stored["updatedAt"]
    assert {k: condition[k] for k in ("field", "operator", "value")} == {
        "field": "sourceName",
        "operator": "not_equals",
        "value": "pos",
    }
    assert api.ok("GET", SETTINGS)["orderSettings"] == first
    # Sending the filter back with its id keeps createdAt, bumps updatedAt, keeps ids.
    again = {**DOCUMENTED_PUT, "exclusionFilters": [{**stored, "name": "Exclude POS orders"}]}
    for key in ("createdAt", "updatedAt"):
        again["exclusionFilters"][0].pop(key)
    second = api.ok("PUT", SETTINGS, json=again)["orderSettings"]["exclusionFilters"][0]
    assert (second["id"], second["createdAt"]) == (stored["id"], stored["createdAt"])
    assert second["updatedAt"] >= stored["updatedAt"] and second["name"] == "Exclude POS orders"
    assert second["conditionGroups"][0]["id"] == group["id"]
    # Whole-object replace: a filter missing from the body is deleted.
    emptied = api.ok("PUT", SETTINGS, json={"countPendingOrders": True})["orderSettings"]
    assert emptied == {**DEFAULTS, "countPendingOrders": True}


@pytest.mark.parametrize(
    ("mutate", "path"),
    [
        (lambda b: b.update(extra=1), "extra"),
        (lambda b: b["exclusionFilters"][0].update(extra=1), "exclusionFilters.0.extra"),
        (
            lambda b: b["exclusionFilters"][0]["conditionGroups"][0].update(extra=1),
            "exclusionFilters.0.conditionGroups.0.extra",
        ),
        (
            lambda b: b["exclusionFilters"][0]["conditionGroups"][0]["conditions"][0].update(
                operator="greater_than"
            ),
            "exclusionFilters.0.conditionGroups.0.conditions.0.operator",
        ),
        (
            lambda b: b["exclusionFilters"][0]["conditionGroups"][0]["conditions"][0].update(
                field="noSuchField"
            ),
            "exclusionFilters.0.conditionGroups.0.conditions.0.field",
        ),
        (
            lambda b: b["exclusionFilters"][0].update(id="3c90c3cc-0d44-4b50-8888-8dd25736052a"),
            "exclusionFilters.0.id",
        ),
        (lambda b: b.update(refundDateAttribution="original_order_date"), "refundDateAttribution"),
        (lambda b: b.update(exclusionFilters=b["exclusionFilters"] * 51), "exclusionFilters"),
    ],
)
def test_invalid_order_settings_are_400(api: Any, mutate: Any, path: str) -> None:
    import copy

    body = copy.deepcopy(DOCUMENTED_PUT)
    mutate(body)
    response = api("PUT", SETTINGS, json=body)
    assert response.status_code == 400, response.text
    assert path in _paths(response)
    assert api.ok("GET", SETTINGS)["orderSettings"] == DEFAULTS  # nothing was applied


def test_order_settings_are_per_pixel(api: Any, emulator: Emulator) -> None:
    api.ok("PUT", SETTINGS, json=DOCUMENTED_PUT)
    other = api.ok("GET", SETTINGS, key="other_pixel", pixel=emulator.pixel_ids[1])
    assert other == {"orderSettings": DEFAULTS}


def test_account_flags_are_the_default_of_queries(api: Any, emulator: Emulator) -> None:
    # D46: the account's countPendingOrders applies to a query without orderSettings.
    body = {
        "pixelId": emulator.pixel_id,
        "granularity": "none",
        "measures": [{"measure": "orders.orders"}],
        "dateRange": {"start": "2026-11-20", "end": "2026-11-26"},
        "compareDateRange": None,
    }

    def orders(query: dict[str, Any]) -> float:
        result = api.ok("POST", "/db-mgmt/api/query", json=query)["results"][0]
        return float(result["measureDetails"][0]["primarySum"])

    paid_only = orders(body)
    with_pending = orders({**body, "orderSettings": {"countPendingOrders": True}})
    assert with_pending > paid_only
    api.ok("PUT", SETTINGS, json={"countPendingOrders": True})
    assert orders(body) == with_pending
    assert orders({**body, "orderSettings": {}}) == paid_only  # a body's settings win
