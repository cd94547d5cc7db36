"""Costs endpoints over HTTP, and their effect on the COGS-based measures.

Numbers are recomputed with plain pandas from the emulator's tables (``Backend.tables()`` and
``Backend.cost_tables()``, read before any change), never with the engine's code.
"""

from __future__ import annotations

import copy
from typing import Any

import pandas as pd
import pytest

from upstack_pandas.emulator.http.server import Emulator

COSTS = "/accounts/api/costs"
LINES = "/accounts/api/costs/lines"
APRIL = {"start": "2026-04-01", "end": "2026-04-30"}
# raw/costs-*.md: the documented request bodies, verbatim.
OVERRIDE_EXAMPLE = {"defaultCogs": 5, "globalHandlingFee": 1.5, "currency": "USD"}
SHIPPING_EXAMPLE = {"method": "fixed_rate", "fixedRateAmount": 7.5, "currency": "USD"}
LINE_EXAMPLE = {
    "costType": "variable",
    "line": {
        "name": "Google Ads — % of spend",
        "type": "pct_ad_spend",
        "percentRate": 2,
        "category": "marketing",
        "channel": "online",
        "currency": "USD",
    },
}
UPDATE_EXAMPLE = {"costType": "variable", "updates": {"percentRate": 2.5}}


def _paths(response: Any) -> list[str]:
    return [e["path"] for e in response.json()["errors"]]


@pytest.fixture(scope="module")
def shop(emulator: Emulator) -> dict[str, pd.DataFrame]:
    """Paid April orders and their lines (with the variant's ``synced`` flag), unmodified."""
    backend = emulator.backend()
    backend.reset_state()
    orders = backend.tables()["orders"]
    tables = backend.cost_tables()
    day = orders["ts"].dt.tz_convert("UTC").dt.strftime("%Y-%m-%d")
    april = orders[(orders["status"] == "paid") & day.between(APRIL["start"], APRIL["end"])]
    lines = tables["lines"].merge(tables["products"], on="variant_id")
    lines = lines[lines["order_id"].isin(april["order_id"])].assign(
        day=lambda f: f["day"].dt.strftime("%Y-%m-%d")
    )
    return {"orders": april, "lines": lines}


def _sum(api: Any, emulator: Emulator, measure: str) -> float:
    body = {
        "pixelId": emulator.pixel_id,
        "granularity": "none",
        "measures": [{"measure": measure}],
        "dateRange": APRIL,
        "compareDateRange": None,
    }
    result = api.ok("POST", "/db-mgmt/api/query", json=body)["results"][0]
    return float(result["measureDetails"][0]["primarySum"])


def _busiest_synced_variant(shop: dict[str, pd.DataFrame]) -> pd.Series:
    lines = shop["lines"][shop["lines"]["synced"]]
    variant_id = lines["variant_id"].value_counts().index[0]
    row: pd.Series = lines[lines["variant_id"] == variant_id].iloc[0]
    return row


# --------------------------------------------------------------------------- the numbers


def test_a_cog_line_moves_cm1_by_the_amount_computed_in_pandas(
    api: Any, emulator: Emulator, shop: dict[str, pd.DataFrame]
) -> None:
    variant = _busiest_synced_variant(shop)
    before = {m: _sum(api, emulator, m) for m in ("orders.cm1", "orders.cogs", "orders.cm2")}
    cog = {"cost": 5, "effectiveStartDate": "2026-04-01", "effectiveEndDate": "2026-04-15"}
    path = f"/accounts/api/products/{variant['product_id']}/{variant['variant_id']}/cogs"
    api.ok("POST", path, json=cog)
    lines = shop["lines"]
    hit = lines[(lines["variant_id"] == variant["variant_id"]) & (lines["day"] <= "2026-04-15")]
    assert len(hit) > 5
    cogs_change = round(float((5 * hit["quantity"] - hit["base_cost"]).sum()), 2)
    assert cogs_change != 0
    after = {m: _sum(api, emulator, m) for m in before}
    assert after["orders.cogs"] == pytest.approx(before["orders.cogs"] + cogs_change, abs=0.011)
    assert after["orders.cm1"] == pytest.approx(before["orders.cm1"] - cogs_change, abs=0.011)
    assert after["orders.cm2"] == pytest.approx(before["orders.cm2"] - cogs_change, abs=0.011)
    # The raw tables follow, too (what the next independent recomputation reads).
    orders = emulator.backend().tables()["orders"].set_index("order_id")
    assert float(orders.loc[shop["orders"]["order_id"], "cogs"].sum()) == pytest.approx(
        after["orders.cogs"], abs=0.011
    )


def test_handling_fees_add_per_unit(
    api: Any, emulator: Emulator, shop: dict[str, pd.DataFrame]
) -> None:
    variant = _busiest_synced_variant(shop)
    before = _sum(api, emulator, "orders.cm1")
    path = f"/accounts/api/products/{variant['product_id']}/{variant['variant_id']}/handling-fee"
    assert api.ok("PUT", path, json={"handlingFee": 2})["variant"]["handlingFee"] == 2
    units = int(
        shop["lines"].loc[shop["lines"]["variant_id"] == variant["variant_id"], "quantity"].sum()
    )
    assert _sum(api, emulator, "orders.cm1") == pytest.approx(before - 2 * units, abs=0.011)
    api.ok("PUT", COSTS + "/global-product-override", json={"globalHandlingFee": 0.5})
    all_units = int(shop["lines"]["quantity"].sum())
    expected = before - 2 * units - 0.5 * all_units
    assert _sum(api, emulator, "orders.cm1") == pytest.approx(expected, abs=0.011)


def test_default_cogs_prices_the_unsynced_variants(
    api: Any, emulator: Emulator, shop: dict[str, pd.DataFrame]
) -> None:
    before = _sum(api, emulator, "orders.cogs")
    api.ok("PUT", COSTS + "/global-product-override", json={"defaultCogs": 5})
    unsynced = int(shop["lines"].loc[~shop["lines"]["synced"], "quantity"].sum())
    assert unsynced > 0
    assert _sum(api, emulator, "orders.cogs") == pytest.approx(before + 5 * unsynced, abs=0.011)


def test_shipping_settings_change_shipping_cost_and_cm2(
    api: Any, emulator: Emulator, shop: dict[str, pd.DataFrame]
) -> None:
    cm1, cm2 = _sum(api, emulator, "orders.cm1"), _sum(api, emulator, "orders.cm2")
    captured = float(shop["orders"]["shipping_cost"].sum())
    assert _sum(api, emulator, "orders.shipping_cost") == pytest.approx(captured, abs=0.011)
    api.ok("PUT", COSTS + "/shipping-settings", json=SHIPPING_EXAMPLE)
    fixed = 7.5 * len(shop["orders"])
    assert _sum(api, emulator, "orders.shipping_cost") == pytest.approx(fixed, abs=0.011)
    assert _sum(api, emulator, "orders.cm2") == pytest.approx(cm2 + captured - fixed, abs=0.011)
    assert _sum(api, emulator, "orders.cm1") == pytest.approx(cm1, abs=0.011)
    # shipping_profiles: US orders pay the profile line, the others keep the captured charge.
    line = {"name": "US flat", "amount": 3, "countries": ["US"]}
    api.ok("POST", LINES, json={"costType": "shipping", "line": line})
    api.ok("PUT", COSTS + "/shipping-settings", json={"method": "shipping_profiles"})
    us = shop["orders"]["country"] == "US"
    expected = 3 * int(us.sum()) + float(shop["orders"].loc[~us, "shipping_cost"].sum())
    assert _sum(api, emulator, "orders.shipping_cost") == pytest.approx(expected, abs=0.011)


def test_variable_lines_change_no_measure(api: Any, emulator: Emulator) -> None:
    before = _sum(api, emulator, "orders.cm2")
    api.ok("POST", LINES, json=LINE_EXAMPLE)
    assert _sum(api, emulator, "orders.cm2") == before


def test_reset_restores_the_generated_costs(api: Any, emulator: Emulator) -> None:
    before = _sum(api, emulator, "orders.cogs")
    api.ok("PUT", COSTS + "/global-product-override", json={"globalHandlingFee": 1})
    assert _sum(api, emulator, "orders.cogs") > before
    emulator.reset_state()
    assert _sum(api, emulator, "orders.cogs") == before


# --------------------------------------------------------------------------- the endpoints


def test_show_starts_with_the_initial_configuration(api: Any, resource_validator: Any) -> None:
    body = api.ok("GET", COSTS)
    resource_validator("CostConfigEnvelope", body)
    assert body["config"] == {
        "globalProductOverride": {"defaultCogs": None, "globalHandlingFee": 0, "currency": "USD"},
        "shippingSettings": {
            "method": "shopify_charges",
            "fixedRateAmount": None,
            "currency": "USD",
        },
        "lines": {t: [] for t in ("order", "gateway", "shipping", "variable", "fixed")},
    }


def test_show_filters_by_type(api: Any) -> None:
    assert set(api.ok("GET", COSTS + "?type=global_product_override")["config"]) == {
        "globalProductOverride"
    }
    assert api.ok("GET", COSTS + "?type=shipping")["config"] == {
        "shippingSettings": {
            "method": "shopify_charges",
            "fixedRateAmount": None,
            "currency": "USD",
        },
        "lines": {"shipping": []},
    }
    assert api.ok("GET", COSTS + "?type=fixed")["config"] == {"lines": {"fixed": []}}
    response = api("GET", COSTS + "?type=nope")
    assert response.status_code == 400 and _paths(response) == ["type"]


def test_documented_examples_are_accepted(api: Any, resource_validator: Any) -> None:
    config = api.ok("PUT", COSTS + "/global-product-override", json=OVERRIDE_EXAMPLE)["config"]
    assert config["globalProductOverride"] == OVERRIDE_EXAMPLE
    config = api.ok("PUT", COSTS + "/shipping-settings", json=SHIPPING_EXAMPLE)["config"]
    assert config["shippingSettings"] == SHIPPING_EXAMPLE
    body = api.ok("POST", LINES, json=LINE_EXAMPLE)
    resource_validator("CostConfigEnvelope", body)
    (line,) = body["config"]["lines"]["variable"]
    assert {k: line[k] for k in LINE_EXAMPLE["line"]} == LINE_EXAMPLE["line"]
    assert len(line["id"]) == 26 and line["createdAt"] == line["updatedAt"]  # a ULID
    updated = api.ok("PUT", f"{LINES}/{line['id']}", json=UPDATE_EXAMPLE)["config"]
    (after,) = updated["lines"]["variable"]
    assert after == {**line, "percentRate": 2.5, "updatedAt": after["updatedAt"]}
    deleted = api.ok("DELETE", f"{LINES}/{line['id']}?costType=variable")
    assert deleted["config"]["lines"]["variable"] == []
    assert api.ok("GET", COSTS)["config"]["lines"]["variable"] == []


def test_override_keeps_the_fields_not_sent(api: Any) -> None:
    api.ok("PUT", COSTS + "/global-product-override", json=OVERRIDE_EXAMPLE)
    config = api.ok("PUT", COSTS + "/global-product-override", json={"defaultCogs": 0})["config"]
    assert config["globalProductOverride"] == {**OVERRIDE_EXAMPLE, "defaultCogs": 0}


@pytest.mark.parametrize(
    ("path", "body", "field"),
    [
        ("/global-product-override", {}, ""),
        ("/global-product-override", {"defaultCogs": -1}, "defaultCogs"),
        ("/global-product-override", {"defaultCogs": 1, "x": 1}, "x"),
        ("/shipping-settings", {"method": "fixed_rate"}, "fixedRateAmount"),
        ("/shipping-settings", {"method": "pigeon"}, "method"),
        ("/shipping-settings", {"method": "fixed_rate", "fixedRateAmount": -2}, "fixedRateAmount"),
        (
            "/lines",
            {"costType": "variable", "line": {"name": "x", "type": "per_order", "amount": 1}},
            "line.amount",
        ),
        ("/lines", {"costType": "order", "line": LINE_EXAMPLE["line"]}, "line.type"),
        ("/lines", {"costType": "fixed", "line": {"name": "Klaviyo"}}, "line.amount"),
        ("/lines", {"costType": "cheese", "line": {}}, "costType"),
        (
            "/lines",
            {
                "costType": "fixed",
                "line": {
                    "name": "x",
                    "amount": 1,
                    "effectiveStartDate": "2026-05-01",
                    "effectiveEndDate": "2026-04-01",
                },
            },
            "line.effectiveEndDate",
        ),
    ],
)
def test_invalid_bodies_are_400(api: Any, path: str, body: Any, field: str) -> None:
    before = api.ok("GET", COSTS)
    response = api("PUT" if "lines" not in path else "POST", COSTS + path, json=body)
    assert response.status_code == 400, response.text
    assert field in _paths(response)
    assert api.ok("GET", COSTS) == before


def test_update_and_delete_need_the_right_type_and_line(api: Any) -> None:
    line = api.ok("POST", LINES, json=LINE_EXAMPLE)["config"]["lines"]["variable"][0]
    missing = api("PUT", f"{LINES}/01J9Z3K8QW5RT6Y7Z8A9B0C1D2", json=UPDATE_EXAMPLE)
    other_type = api("DELETE", f"{LINES}/{line['id']}?costType=fixed")
    assert (missing.status_code, other_type.status_code) == (404, 404)
    assert missing.content == other_type.content == b'{"message":"Cost line not found"}'
    no_type = api("DELETE", f"{LINES}/{line['id']}")
    assert no_type.status_code == 400 and _paths(no_type) == ["costType"]
    bad_update = api("PUT", f"{LINES}/{line['id']}", json={"costType": "variable", "updates": {}})
    assert bad_update.status_code == 400
    wrong_field = api(
        "PUT", f"{LINES}/{line['id']}", json={"costType": "variable", "updates": {"amount": 3}}
    )
    assert wrong_field.status_code == 400 and _paths(wrong_field) == ["updates.amount"]


def test_another_pixels_line_is_the_same_404(api: Any, emulator: Emulator) -> None:
    line = api.ok("POST", LINES, json=LINE_EXAMPLE)["config"]["lines"]["variable"][0]
    other = {"key": "other_pixel", "pixel": emulator.pixel_ids[1]}
    foreign = api("PUT", f"{LINES}/{line['id']}", json=UPDATE_EXAMPLE, **other)
    missing = api("PUT", f"{LINES}/01J9Z3K8QW5RT6Y7Z8A9B0C1D2", json=UPDATE_EXAMPLE, **other)
    assert (foreign.status_code, foreign.content) == (missing.status_code, missing.content)
    assert foreign.status_code == 404
    assert api.ok("GET", COSTS, **other)["config"]["lines"]["variable"] == []


@pytest.mark.parametrize(
    ("method", "path", "key", "scope", "body"),
    [
        ("GET", COSTS, "analytics_read", "costs:read", None),
        ("GET", COSTS, "costs_write", "costs:read", None),  # D43
        ("PUT", COSTS + "/global-product-override", "costs_read", "costs:write", OVERRIDE_EXAMPLE),
        ("PUT", COSTS + "/shipping-settings", "costs_read", "costs:write", SHIPPING_EXAMPLE),
        ("POST", LINES, "costs_read", "costs:write", LINE_EXAMPLE),
        ("PUT", LINES + "/x", "account_write", "costs:write", UPDATE_EXAMPLE),
        ("DELETE", LINES + "/x?costType=order", "costs_read", "costs:write", None),
    ],
)
def test_missing_scope_is_403(
    api: Any, method: str, path: str, key: str, scope: str, body: Any
) -> None:
    response = api(method, path, key=key, json=copy.deepcopy(body))
    assert response.status_code == 403, response.text
    assert response.json() == {
        "message": f"API key lacks the required scope: {scope}",
        "requiredScope": scope,
    }


def test_concurrent_mutations_all_reach_the_numbers(
    api: Any, emulator: Emulator, shop: dict[str, pd.DataFrame]
) -> None:
    from concurrent.futures import ThreadPoolExecutor

    lines = shop["lines"][shop["lines"]["synced"]]
    variants = lines.drop_duplicates("variant_id").head(6)
    before = _sum(api, emulator, "orders.cogs")
    cog = {"cost": 3, "effectiveStartDate": "2026-04-01"}

    def add(row: Any) -> int:
        path = f"/accounts/api/products/{row.product_id}/{row.variant_id}/cogs"
        return int(api("POST", path, json=cog).status_code)

    with ThreadPoolExecutor(6) as pool:
        assert list(pool.map(add, variants.itertuples())) == [200] * 6
    hit = lines[lines["variant_id"].isin(variants["variant_id"])]
    change = float((3 * hit["quantity"] - hit["base_cost"]).sum())
    assert _sum(api, emulator, "orders.cogs") == pytest.approx(before + change, abs=0.011)


def test_user_data_gets_a_catalog_and_its_costs_move_too(userdata_backend: Any) -> None:
    # --data DIR shops get the same catalog and order lines, derived from their orders' cogs.
    backend = userdata_backend
    tables = backend.cost_tables()
    base = backend.tables()["orders"].set_index("order_id")["cogs"]
    sums = tables["lines"].groupby("order_id")["base_cost"].sum()
    assert sums.reindex(base.index).round(2).tolist() == base.round(2).tolist()
    line = tables["lines"].iloc[0]
    product = tables["products"].set_index("variant_id").loc[line["variant_id"], "product_id"]
    try:
        backend.state.add_cog(
            product, line["variant_id"], {"cost": 1000, "effectiveStartDate": "2000-01-01"}
        )
        after = backend.tables()["orders"].set_index("order_id")["cogs"]
        mine = tables["lines"][tables["lines"]["variant_id"] == line["variant_id"]]
        change = (1000 * mine["quantity"] - mine["base_cost"]).groupby(mine["order_id"]).sum()
        expected = base.add(change, fill_value=0).round(2)
        assert after.round(2).tolist() == expected.reindex(after.index).tolist()
    finally:
        backend.reset_state()
    assert backend.tables()["orders"]["cogs"].sum() == pytest.approx(base.sum())
