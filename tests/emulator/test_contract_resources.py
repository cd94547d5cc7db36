"""Documented facts of the account, costs, products and events endpoints, pinned.

Sources: ``../shared/upstack-api/raw/{account,costs,products,events}-*.md`` (verbatim page
captures) and ``spec.md`` §2.3, §3.8-3.11. Each fact is checked in ``spec/openapi.yaml`` and,
where it is behaviour, over HTTP against the session emulator (``api`` resets the state).
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path
from typing import Any

import pytest

from upstack_pandas.emulator.http.spec import load_spec, operations

# The captures sit next to the repository (``../shared``); UPSTACK_API_RAW points elsewhere.
RAW = Path(
    os.environ.get(
        "UPSTACK_API_RAW", Path(__file__).parents[2].parent / "shared" / "upstack-api" / "raw"
    )
)
SPEC = load_spec()
SCHEMAS: dict[str, Any] = SPEC["components"]["schemas"]
BY_ID = {op.operation_id: op for op in operations()}

# page → (operation, number of complete JSON bodies on the page, requests first)
RAW_PAGES = {
    "account-get-the-account.md": ("getAccount", 1),
    "account-get-order-settings.md": ("getOrderSettings", 1),
    "account-replace-order-settings.md": ("replaceOrderSettings", 2),
    "costs-add-a-cost-line.md": ("addCostLine", 2),
    "costs-update-a-cost-line.md": ("updateCostLine", 2),
    "costs-delete-a-cost-line.md": ("deleteCostLine", 1),
    "costs-update-shipping-cost-settings.md": ("updateShippingSettings", 2),
    "costs-update-the-global-product-override.md": ("updateGlobalProductOverride", 2),
    "products-search-products.md": ("searchProducts", 1),
    "products-get-the-resolved-cost-for-a-variant.md": ("getVariantCost", 1),
    "products-set-a-variants-handling-fee.md": ("setVariantHandlingFee", 2),
    "products-add-a-cog-line-to-a-variant.md": ("addCogLine", 2),
    "products-delete-a-cog-line.md": ("deleteCogLine", 1),
    "events-send-a-server-side-event.md": ("sendEvents", 2),
    "events-send-server-side-events.md": ("sendEvents", 2),
}
# "**Required scope:** ..." / "Required scope: ..." of each page (spec.md §2.3).
SCOPES = {
    "getAccount": "account:read",
    "renameAccount": "account:write",
    "getOrderSettings": "account:read",
    "replaceOrderSettings": "account:write",
    "getCosts": "costs:read",
    "updateGlobalProductOverride": "costs:write",
    "updateShippingSettings": "costs:write",
    "addCostLine": "costs:write",
    "updateCostLine": "costs:write",
    "deleteCostLine": "costs:write",
    "searchProducts": "costs:read",
    "getVariantCost": "costs:read",
    "setVariantHandlingFee": "costs:write",
    "addCogLine": "costs:write",
    "updateCogLine": "costs:write",
    "deleteCogLine": "costs:write",
    "sendEvents": "events:write",
}


def _operation(op_id: str) -> dict[str, Any]:
    op = BY_ID[op_id]
    found: dict[str, Any] = SPEC["paths"][op.path][op.method.lower()]
    return found


def _examples(op_id: str) -> list[Any]:
    op = _operation(op_id)
    found = []
    body = op.get("requestBody", {}).get("content", {}).get("application/json", {})
    found += [e["value"] for e in body.get("examples", {}).values()]
    response = op["responses"]["200"]["content"]["application/json"]
    found += [e["value"] for e in response.get("examples", {}).values()]
    return found


def _raw_json_objects(page: str) -> list[Any]:
    text = (RAW / page).read_text(encoding="utf-8")
    decoder = json.JSONDecoder()
    found: list[Any] = []
    position = 0
    for match in re.finditer(r"(?m)^'?(\{)", text):
        if match.start(1) < position:
            continue
        try:
            value, end = decoder.raw_decode(text, match.start(1))
        except json.JSONDecodeError:
            continue
        found.append(value)
        position = end
    return found


@pytest.mark.skipif(not RAW.is_dir(), reason="the documentation captures are not available")
@pytest.mark.parametrize("page", sorted(RAW_PAGES))
def test_every_documented_example_is_kept_verbatim(page: str) -> None:
    op_id, complete = RAW_PAGES[page]
    documented = _raw_json_objects(page)
    assert len(documented) == complete
    for body in documented:
        assert body in _examples(op_id), (page, body)


@pytest.mark.skipif(not RAW.is_dir(), reason="the documentation captures are not available")
@pytest.mark.parametrize(
    "page",
    sorted(p for p in RAW_PAGES if RAW.is_dir() and "Required scope" in (RAW / p).read_text()),
)
def test_scopes_are_the_pages_ones(page: str) -> None:
    text = (RAW / page).read_text(encoding="utf-8")
    (scope,) = set(re.findall(r"Required scope[^:\n]*:\**\s*`?([a-z]+:[a-z]+)", text))
    assert _operation(RAW_PAGES[page][0])["x-required-scope"] == scope


def test_every_operation_has_its_documented_scope() -> None:
    assert {op_id: _operation(op_id)["x-required-scope"] for op_id in SCOPES} == SCOPES
    assert SPEC["x-scopes"]["implies"] == {"dashboards:write": ["dashboards:read"]}  # D43


def test_documented_limits_and_enums() -> None:
    assert SCHEMAS["RenameAccountRequest"]["properties"]["accountName"] == {
        "type": "string",
        "minLength": 1,
        "maxLength": 100,
        "example": "Upstack Data",
    }
    assert SCHEMAS["RenameAccountRequest"]["additionalProperties"] is False
    settings = SCHEMAS["AccountOrderSettingsRequest"]["properties"]
    assert settings["refundDateAttribution"]["enum"] == ["refund_date", "order_date"]
    assert settings["exclusionFilters"]["maxItems"] == 50
    assert SCHEMAS["CostType"]["enum"] == ["order", "gateway", "shipping", "variable", "fixed"]
    shipping = SCHEMAS["ShippingSettingsRequest"]["properties"]
    assert shipping["method"]["enum"] == ["shopify_charges", "fixed_rate", "shipping_profiles"]
    assert SCHEMAS["Money"]["minimum"] == 0  # defaultCogs, globalHandlingFee, fixedRateAmount ≥ 0
    assert SCHEMAS["GlobalProductOverrideRequest"]["minProperties"] == 1  # at least one field
    assert SCHEMAS["HandlingFeeRequest"]["properties"]["handlingFee"]["minimum"] == 0
    assert SCHEMAS["AddCogLineRequest"]["required"] == ["cost", "effectiveStartDate"]
    params = {p["name"]: p for p in _operation("searchProducts")["parameters"]}
    assert params["pageSize"]["schema"] == {
        "type": "integer",
        "minimum": 1,
        "maximum": 100,
        "default": 20,
    }
    assert set(params) == {"q", "pageSize", "cursor"}
    delete = {p["name"]: p for p in _operation("deleteCostLine")["parameters"]}
    assert delete["costType"]["required"] is True
    name = SCHEMAS["EventName"]
    assert (name["maxLength"], name["pattern"]) == (100, "^[a-zA-Z][a-zA-Z0-9_]*$")
    assert SCHEMAS["SingleEvent"]["properties"]["currency"]["maxLength"] == 10
    events = SCHEMAS["EventBatch"]["properties"]["events"]
    assert (events["minItems"], events["maxItems"]) == (1, 100)


@pytest.mark.parametrize("op_id", sorted(SCOPES))
def test_documented_response_examples_validate(op_id: str, resource_validator: Any) -> None:
    op = _operation(op_id)
    schema = op["responses"]["200"]["content"]["application/json"]["schema"]["$ref"]
    response = op["responses"]["200"]["content"]["application/json"]
    for example in response.get("examples", {}).values():
        resource_validator(schema.rsplit("/", 1)[1], example["value"])


def test_get_order_settings_defaults_are_the_documented_ones(api: Any) -> None:
    # raw/account-get-order-settings.md: defaults applied so the shape is always complete.
    assert api.ok("GET", "/accounts/api/account/settings/order") == {
        "orderSettings": {
            "countPendingOrders": False,
            "countVoidedOrders": False,
            "refundDateAttribution": "refund_date",
            "exclusionFilters": [],
        }
    }


def test_search_default_page_size_is_20_and_the_last_cursor_null(api: Any) -> None:
    page = api.ok("GET", "/accounts/api/products/search")
    assert len(page["items"]) == 20 and isinstance(page["nextCursor"], str)
    last = api.ok("GET", "/accounts/api/products/search?pageSize=100")
    assert last["nextCursor"] is None


def test_ids_are_ulids(api: Any) -> None:
    # spec.md §2.5: cost lines, COG lines and event ids are ULIDs.
    ulid = re.compile(r"^[0-9A-HJKMNP-TV-Z]{26}$")
    event = api.ok("POST", "/tr/api/events", json={"name": "lead"})
    config = api.ok(
        "POST",
        "/accounts/api/costs/lines",
        json={"costType": "fixed", "line": {"name": "Klaviyo", "amount": 45}},
    )["config"]
    product = api.ok("GET", "/accounts/api/products/search?pageSize=1")["items"][0]
    variant = product["variants"][0]
    cog = api.ok(
        "POST",
        f"/accounts/api/products/{product['id']}/{variant['id']}/cogs",
        json={"cost": 1, "effectiveStartDate": "2026-01-01"},
    )["variant"]["manualCostHistory"][0]
    for value in (event["eventId"], config["lines"]["fixed"][0]["id"], cog["id"]):
        assert ulid.match(value), value
