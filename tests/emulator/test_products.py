"""Products endpoints over HTTP: search with cursor paging, resolved cost, handling fee, COGS."""

from __future__ import annotations

from typing import Any

import pandas as pd
import pytest

from upstack_pandas.emulator.http.server import Emulator

SEARCH = "/accounts/api/products/search"
COG_EXAMPLE = {"cost": 5, "effectiveStartDate": "2026-01-01", "description": "Q1 batch"}


def _paths(response: Any) -> list[str]:
    return [e["path"] for e in response.json()["errors"]]


@pytest.fixture(scope="module")
def catalog(emulator: Emulator) -> pd.DataFrame:
    """The demo pixel's catalog, one row per variant."""
    return emulator.backend().cost_tables()["products"]


def _variant_path(catalog: pd.DataFrame, suffix: str, synced: bool = True) -> str:
    row = catalog[catalog["synced"] == synced].iloc[0]
    return f"/accounts/api/products/{row['product_id']}/{row['variant_id']}/{suffix}"


def _follow(api: Any, query: str) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = []
    cursor: str | None = None
    for _ in range(100):
        suffix = f"&cursor={cursor}" if cursor else ""
        page = api.ok("GET", f"{SEARCH}?{query}{suffix}")
        assert len(page["items"]) <= 7
        items.extend(page["items"])
        cursor = page["nextCursor"]
        if cursor is None:
            return items
        assert page["items"], "a page with a cursor is never empty"
    raise AssertionError("the cursor never ended")


def test_search_pages_to_the_end(api: Any, catalog: pd.DataFrame, resource_validator: Any) -> None:
    first = api.ok("GET", SEARCH)
    resource_validator("ProductSearchResponse", first)
    assert len(first["items"]) == 20 and first["nextCursor"]  # default pageSize 20
    items = _follow(api, "pageSize=7")
    assert [p["id"] for p in items] == sorted(catalog["product_id"].unique())
    variants = [v for p in items for v in p["variants"]]
    assert sorted(v["id"] for v in variants) == sorted(catalog["variant_id"])
    assert all(v["handlingFee"] == 0 and v["manualCostHistory"] == [] for v in variants)


def test_search_matches_title_sku_and_variant(api: Any, catalog: pd.DataFrame) -> None:
    shirts = _follow(api, "q=shirt&pageSize=7")
    expected = catalog[
        catalog["product_title"].str.contains("shirt", case=False)
        | catalog["sku"].str.contains("shirt", case=False)
        | catalog["variant_title"].str.contains("shirt", case=False)
    ]["product_id"].unique()
    assert sorted(p["id"] for p in shirts) == sorted(expected) and len(expected) > 0
    sku = catalog["sku"].iloc[5]
    found = api.ok("GET", f"{SEARCH}?q={sku.lower()}")["items"]
    assert catalog["product_id"].iloc[5] in [p["id"] for p in found]
    assert api.ok("GET", f"{SEARCH}?q=no-such-product") == {"items": [], "nextCursor": None}


@pytest.mark.parametrize(
    ("query", "path"),
    [
        ("pageSize=0", "pageSize"),
        ("pageSize=101", "pageSize"),
        ("pageSize=x", "pageSize"),
        ("cursor=not-ours", "cursor"),
        ("page=2", "page"),
    ],
)
def test_search_refuses_bad_parameters(api: Any, query: str, path: str) -> None:
    response = api("GET", f"{SEARCH}?{query}")
    assert response.status_code == 400 and _paths(response) == [path]


def test_resolved_cost_follows_the_tiers(
    api: Any, catalog: pd.DataFrame, emulator: Emulator
) -> None:
    synced = api.ok("GET", _variant_path(catalog, "cost"))["productCost"]
    assert synced["source"] == "shopify" and synced["activeCogLine"] is None
    assert synced["effectiveCost"] > 0 and synced["handlingFee"] == 0
    unsynced_path = _variant_path(catalog, "cost", synced=False)
    assert api.ok("GET", unsynced_path)["productCost"]["source"] == "default"
    api.ok("PUT", "/accounts/api/costs/global-product-override", json={"defaultCogs": 4})
    resolved = api.ok("GET", unsynced_path)["productCost"]
    assert (resolved["source"], resolved["effectiveCost"]) == ("global_override", 4)
    variant = api.ok("POST", _variant_path(catalog, "cogs"), json=COG_EXAMPLE)["variant"]
    (line,) = variant["manualCostHistory"]
    resolved = api.ok("GET", _variant_path(catalog, "cost"))["productCost"]
    assert (resolved["source"], resolved["effectiveCost"], resolved["activeCogLine"]) == (
        "cog_line",
        5,
        line,
    )


def test_cog_lines_add_update_delete(
    api: Any, catalog: pd.DataFrame, resource_validator: Any
) -> None:
    body = api.ok("POST", _variant_path(catalog, "cogs"), json=COG_EXAMPLE)
    resource_validator("VariantEnvelope", body)
    (line,) = body["variant"]["manualCostHistory"]
    assert len(line["id"]) == 26
    assert line == {**COG_EXAMPLE, "id": line["id"], "effectiveEndDate": None}
    earlier = {"cost": 4, "effectiveStartDate": "2025-06-01", "effectiveEndDate": "2025-12-31"}
    history = api.ok("POST", _variant_path(catalog, "cogs"), json=earlier)["variant"][
        "manualCostHistory"
    ]
    assert [c["effectiveStartDate"] for c in history] == ["2025-06-01", "2026-01-01"]
    updated = api.ok("PUT", _variant_path(catalog, f"cogs/{line['id']}"), json={"cost": 6.5})
    assert updated["variant"]["manualCostHistory"][1] == {**line, "cost": 6.5}
    deleted = api.ok("DELETE", _variant_path(catalog, f"cogs/{line['id']}"))
    assert [c["cost"] for c in deleted["variant"]["manualCostHistory"]] == [4]
    gone = api("DELETE", _variant_path(catalog, f"cogs/{line['id']}"))
    assert (gone.status_code, gone.json()) == (404, {"message": "COG line not found"})


@pytest.mark.parametrize(
    ("body", "path"),
    [
        ({"cost": 5}, "effectiveStartDate"),
        ({"cost": -1, "effectiveStartDate": "2026-01-01"}, "cost"),
        ({"cost": 1, "effectiveStartDate": "01/01/2026"}, "effectiveStartDate"),
        (
            {"cost": 1, "effectiveStartDate": "2026-02-01", "effectiveEndDate": "2026-01-01"},
            "effectiveEndDate",
        ),
        ({**COG_EXAMPLE, "sku": "x"}, "sku"),
    ],
)
def test_invalid_cog_lines_are_400(api: Any, catalog: pd.DataFrame, body: Any, path: str) -> None:
    response = api("POST", _variant_path(catalog, "cogs"), json=body)
    assert response.status_code == 400 and path in _paths(response), response.text


def test_handling_fee(api: Any, catalog: pd.DataFrame) -> None:
    variant = api.ok("PUT", _variant_path(catalog, "handling-fee"), json={"handlingFee": 1})
    assert variant["variant"]["handlingFee"] == 1
    assert api.ok("GET", _variant_path(catalog, "cost"))["productCost"]["handlingFee"] == 1
    for bad in ({"handlingFee": -0.01}, {}, {"handlingFee": "1"}):
        response = api("PUT", _variant_path(catalog, "handling-fee"), json=bad)
        assert response.status_code == 400


def test_missing_and_foreign_variants_are_the_same_404(
    api: Any, catalog: pd.DataFrame, emulator: Emulator
) -> None:
    row = catalog.iloc[0]
    other = catalog[catalog["product_id"] != row["product_id"]].iloc[0]
    pixel2 = {"key": "other_pixel", "pixel": emulator.pixel_ids[1]}
    responses = [
        api("GET", f"/accounts/api/products/prd_0/{row['variant_id']}/cost"),
        api("GET", f"/accounts/api/products/{other['product_id']}/{row['variant_id']}/cost"),
        api(
            "GET", f"/accounts/api/products/{row['product_id']}/{row['variant_id']}/cost", **pixel2
        ),
        api(
            "PUT",
            f"/accounts/api/products/{row['product_id']}/var_0/handling-fee",
            json={"handlingFee": 1},
        ),
        api(
            "POST",
            f"/accounts/api/products/{row['product_id']}/{row['variant_id']}/cogs",
            json=COG_EXAMPLE,
            **pixel2,
        ),
    ]
    assert {(r.status_code, r.content) for r in responses} == {
        (404, b'{"message":"Product variant not found"}')
    }
    # The other pixel has its own catalog: no id in common.
    theirs = api.ok("GET", f"{SEARCH}?pageSize=100", **pixel2)["items"]
    assert not {p["id"] for p in theirs} & set(catalog["product_id"])
    # A COG line of pixel 1 is invisible from pixel 2 (their product ids differ anyway).
    line = api.ok("POST", _variant_path(catalog, "cogs"), json=COG_EXAMPLE)["variant"][
        "manualCostHistory"
    ][0]
    theirs_variant = theirs[0]["variants"][0]
    foreign = api(
        "DELETE",
        f"/accounts/api/products/{theirs[0]['id']}/{theirs_variant['id']}/cogs/{line['id']}",
        **pixel2,
    )
    assert (foreign.status_code, foreign.json()) == (404, {"message": "COG line not found"})


@pytest.mark.parametrize(
    ("method", "suffix", "key", "scope"),
    [
        ("GET", "cost", "costs_write", "costs:read"),
        ("PUT", "handling-fee", "costs_read", "costs:write"),
        ("POST", "cogs", "costs_read", "costs:write"),
        ("PUT", "cogs/x", "analytics_read", "costs:write"),
        ("DELETE", "cogs/x", "costs_read", "costs:write"),
    ],
)
def test_missing_scope_is_403(
    api: Any, catalog: pd.DataFrame, method: str, suffix: str, key: str, scope: str
) -> None:
    response = api(method, _variant_path(catalog, suffix), key=key, json={})
    assert response.status_code == 403 and response.json()["requiredScope"] == scope
    search = api("GET", SEARCH, key="costs_write")
    assert search.status_code == 403 and search.json()["requiredScope"] == "costs:read"
