"""Every documented fact of the Upstack Data API, pinned against the spec and the emulator.

The facts come from the partial copies of the public documentation in
``../shared/upstack-api/`` (``raw/`` wins over ``spec.md``); each test names its source page.
A fact is checked twice: in ``spec/openapi.yaml`` (the project's wire contract) and over HTTP
against the running emulator (the session fixture ``emulator``, called with ``requests``).

Where the documentation is silent the project decides; ``docs/contract.md`` keeps a register of
those decisions (``D01``...) and the spec states each one in an ``x-decision`` next to the
schema or operation it concerns. The last section checks that the two agree one for one, and
that the decisions this audit added are honoured.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests

from upstack_pandas.emulator.http.server import Emulator
from upstack_pandas.emulator.http.spec import Operation, load_spec, operations
from upstack_pandas.emulator.http.validation import RequestValidator, schema_ref

ROOT = Path(__file__).parents[2]
RAW = ROOT.parent / "shared" / "upstack-api" / "raw"
SPEC = load_spec()
SCHEMAS: dict[str, Any] = SPEC["components"]["schemas"]
BY_ID = {op.operation_id: op for op in operations()}
VIEWS = "/accounts/api/dashboard/views"
QUERY = "/db-mgmt/api/query"
ATTRIBUTION = "/db-mgmt/api/query-attribution"
COHORT = "/db-mgmt/api/query-cohort-analysis"
CHANNEL = "/db-mgmt/api/query-channel-details"
APRIL = {"start": "2026-04-01", "end": "2026-04-30"}
NOT_FOUND = b'{"message":"Dashboard view not found"}'

# raw/overview.md, overview-page.txt: "Granularity" as listed on /query and channel details.
GRANULARITIES = ["none", "second", "minute", "hour", "day", "week", "month", "quarter", "year"]
# raw/analytics-run-a-cohort-analysis.md and raw/cli-query-cohort.md.
COHORT_GRANULARITIES = ["week", "month", "year"]
COHORT_MEASURES = [
    "orders.ltv_cohort_gross_revenue",
    "orders.ltv_cohort_net_revenue",
    "orders.customers_cohort",
    "orders.avg_order_value_cohort",
    "orders.cohort_retention_percent",
    "orders.cohort_cm1",
    "orders.cohort_cm2",
]
# raw/analytics-run-an-attribution-query.md ("first-click, last-click, and any-click"),
# raw/cli-dashboard-view.md (--attribution-model first_click, last_click, or any_click).
ATTRIBUTION_MODELS = ["first_click", "last_click", "any_click"]
# raw/analytics-list-channel-entities-with-optional-metrics.md.
CHANNEL_GRAINS = ["campaign", "adset", "ad"]
# raw/cli-dashboard-view.md (--type view, attribution_view, or pnl_view).
VIEW_TYPES = ["view", "attribution_view", "pnl_view"]
# Measure ids named by raw/cli-ai-agent-workflow.md and raw/guide-analytics-custom-measures.md.
DOCUMENTED_MEASURES = [
    "core.new_customer_roas",
    "core.new_customer_mer",
    "meta.cpm",
    "orders.total_revenue",
    "channel.spend",
]
# raw/cli-ai-agent-workflow.md, verbatim.
CLI_FILTER = '{"and":[{"field":"orders.customer_type","op":"equals","value":"new_customer"}]}'


# --------------------------------------------------------------------------- helpers


def _call(
    emulator: Emulator,
    method: str,
    path: str,
    *,
    key: str = "demo",
    pixel: str | None = None,
    headers: dict[str, str] | None = None,
    **kwargs: Any,
) -> requests.Response:
    sent = emulator.headers(key, pixel) if headers is None else headers
    return requests.request(method, emulator.url + path, headers=sent, timeout=120, **kwargs)


def _post(emulator: Emulator, path: str, body: Any, **kwargs: Any) -> requests.Response:
    return _call(emulator, "POST", path, json=body, **kwargs)


def _operation(op_id: str) -> dict[str, Any]:
    op = BY_ID[op_id]
    found: dict[str, Any] = SPEC["paths"][op.path][op.method.lower()]
    return found


def _response_schema(op_id: str) -> str:
    ref = _operation(op_id)["responses"]["200"]["content"]["application/json"]["schema"]["$ref"]
    return str(ref).rsplit("/", 1)[-1]


def _request_examples(op_id: str) -> dict[str, Any]:
    body = _operation(op_id).get("requestBody", {})
    examples = body.get("content", {}).get("application/json", {}).get("examples", {})
    return {name: example["value"] for name, example in examples.items()}


def _response_examples(op_id: str) -> dict[str, Any]:
    content = _operation(op_id)["responses"]["200"]["content"]["application/json"]
    return {name: example["value"] for name, example in content.get("examples", {}).items()}


def _concrete_path(op: Operation) -> str:
    path = op.path.replace("{dashboardViewId}", "no-such-view")
    for name in ("lineId", "productId", "variantId", "cogId"):
        path = path.replace("{" + name + "}", f"no-such-{name}")
    return path


def _pointer(pointer: str) -> Any:
    node: Any = SPEC
    for part in pointer.removeprefix("#/").split("/"):
        key = part.replace("~1", "/").replace("~0", "~")
        node = node[int(key)] if isinstance(node, list) else node[key]
    return node


def _field_paths(response: requests.Response) -> list[str]:
    return [e["path"] for e in response.json().get("errors", [])]


@pytest.fixture(scope="module")
def validator() -> RequestValidator:
    return RequestValidator()


@pytest.fixture(scope="module")
def conforms(validator: RequestValidator) -> Any:
    def check(schema: str, payload: Any) -> None:
        assert validator.errors(schema_ref(schema), payload) == [], schema

    return check


@pytest.fixture
def views(emulator: Emulator) -> Iterator[list[str]]:
    """Ids of views a test creates (append them); each is deleted afterwards."""
    created: list[str] = []
    yield created
    for view_id in created:
        _call(emulator, "DELETE", f"{VIEWS}/{view_id}")


def _create(emulator: Emulator, views: list[str], body: dict[str, Any], **kw: Any) -> Any:
    response = _post(emulator, VIEWS, body, **kw)
    assert response.status_code == 200, response.text
    view = response.json()["dashboardView"]
    views.append(view["id"])
    return view


def _query(emulator: Emulator, **overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "pixelId": emulator.pixel_id,
        "granularity": "day",
        "measures": [{"measure": "orders.total_revenue"}],
        "dateRange": APRIL,
    }
    return {**body, **overrides}


def _attribution(emulator: Emulator, **overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "pixelId": emulator.pixel_id,
        "dimension": "utm_source",
        "dateRange": APRIL,
        "attributionModel": "first_click",
        "attributionWindow": 30,
    }
    return {**body, **overrides}


def _cohort(emulator: Emulator, **overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "pixelId": emulator.pixel_id,
        "granularity": "month",
        "measures": ["orders.cohort_retention_percent"],
        "dateRange": {"start": "2026-01-01", "end": "2026-03-31"},
    }
    return {**body, **overrides}


def _channel(emulator: Emulator, **overrides: Any) -> dict[str, Any]:
    return {"pixelId": emulator.pixel_id, "granularity": "day", **overrides}


# --------------------------------------------------------------------------- paths and headers


# raw/overview.md: "/db-mgmt/api/* — analytics queries and the measures catalog.
# /accounts/api/* — dashboard view management." Endpoint pages and raw/cli-dashboard-view.md
# give the paths; filters is referenced as GET /api/filters (decision D29 for its prefix).
DOCUMENTED_OPERATIONS = {
    ("POST", "/db-mgmt/api/query"),
    ("POST", "/db-mgmt/api/query-attribution"),
    ("POST", "/db-mgmt/api/query-cohort-analysis"),
    ("POST", "/db-mgmt/api/query-channel-details"),
    ("GET", "/db-mgmt/api/measures"),
    ("GET", "/db-mgmt/api/filters"),
    ("GET", "/accounts/api/dashboard/views"),
    ("POST", "/accounts/api/dashboard/views"),
    ("GET", "/accounts/api/dashboard/views/{dashboardViewId}"),
    ("PATCH", "/accounts/api/dashboard/views/{dashboardViewId}"),
    ("DELETE", "/accounts/api/dashboard/views/{dashboardViewId}"),
    ("POST", "/accounts/api/dashboard/views/{dashboardViewId}/copy"),
    ("POST", "/accounts/api/dashboard/views/from-preset"),
    # spec.md §3.8-3.11 and raw/account-*, costs-*, products-*, events-*, cli-costs.md (GET
    # /api/costs) and cli-products.md (PUT .../cogs/{cogId}); test_contract_resources.py pins
    # their facts.
    ("GET", "/accounts/api/account"),
    ("PATCH", "/accounts/api/account"),
    ("GET", "/accounts/api/account/settings/order"),
    ("PUT", "/accounts/api/account/settings/order"),
    ("GET", "/accounts/api/costs"),
    ("PUT", "/accounts/api/costs/global-product-override"),
    ("PUT", "/accounts/api/costs/shipping-settings"),
    ("POST", "/accounts/api/costs/lines"),
    ("PUT", "/accounts/api/costs/lines/{lineId}"),
    ("DELETE", "/accounts/api/costs/lines/{lineId}"),
    ("GET", "/accounts/api/products/search"),
    ("GET", "/accounts/api/products/{productId}/{variantId}/cost"),
    ("PUT", "/accounts/api/products/{productId}/{variantId}/handling-fee"),
    ("POST", "/accounts/api/products/{productId}/{variantId}/cogs"),
    ("PUT", "/accounts/api/products/{productId}/{variantId}/cogs/{cogId}"),
    ("DELETE", "/accounts/api/products/{productId}/{variantId}/cogs/{cogId}"),
    ("POST", "/tr/api/events"),
}
#: The operations of the analytics and dashboard surfaces (this module's examples); the
#: account, costs, products and events operations are pinned by test_contract_resources.py.
RESOURCE_TAGS = {"Account", "Costs", "Products", "Events"}


def test_paths_are_exactly_the_documented_ones() -> None:
    assert {(op.method, op.path) for op in operations()} == DOCUMENTED_OPERATIONS
    for path in SPEC["paths"]:
        assert path.startswith(("/db-mgmt/api/", "/accounts/api/", "/tr/api/")), path


def test_servers_are_both_documented_builds() -> None:
    urls = [server["url"] for server in SPEC["servers"]]
    assert urls[0] == "https://api.upstackdata.com"  # newer build, the default
    assert "https://api2.upstackified.com" in urls  # older build


def test_spec_requires_both_headers_together() -> None:
    # OpenAPI header of every endpoint page: `security: - apiKey: [] / pixelId: []`.
    assert SPEC["security"] == [{"apiKey": [], "pixelId": []}]
    schemes = SPEC["components"]["securitySchemes"]
    assert {(s["type"], s["in"], s["name"]) for s in schemes.values()} == {
        ("apiKey", "header", "x-api-key"),
        ("apiKey", "header", "x-pixel-id"),
    }
    for op in operations():  # no operation, not even the ungated catalog, drops a header
        assert "security" not in _operation(op.operation_id), op.operation_id


@pytest.mark.parametrize("op", operations(), ids=lambda op: op.operation_id)
@pytest.mark.parametrize(
    ("drop", "message"),
    [("x-api-key", "Missing x-api-key header"), ("x-pixel-id", "Missing x-pixel-id header")],
)
def test_every_operation_needs_both_headers(
    emulator: Emulator, op: Operation, drop: str, message: str
) -> None:
    # raw/overview.md: 401 "Missing/invalid x-api-key or x-pixel-id".
    headers = {k: v for k, v in emulator.headers().items() if k != drop}
    response = _call(emulator, op.method, _concrete_path(op), headers=headers, json={})
    assert (response.status_code, response.json()) == (401, {"message": message})
    assert "401" in _operation(op.operation_id)["responses"]


@pytest.mark.parametrize("op", operations(), ids=lambda op: op.operation_id)
def test_unknown_revoked_and_expired_keys_are_401_everywhere(
    emulator: Emulator, op: Operation
) -> None:
    # raw/overview.md: 401 for a missing/invalid key, a revoked key, or an expired key.
    for key in ("upstack_" + "x" * 40, emulator.keys["revoked"], emulator.keys["expired"]):
        headers = {"x-api-key": key, "x-pixel-id": emulator.pixel_id}
        response = _call(emulator, op.method, _concrete_path(op), headers=headers, json={})
        assert response.status_code == 401, (key, response.text)
        assert set(response.json()) == {"message"}


def test_an_unknown_pixel_header_is_401(emulator: Emulator) -> None:
    # raw/overview.md: "invalid ... x-pixel-id" is a 401 (decision D06: also another pixel's).
    for pixel in ("5f1e6a4f-...", emulator.pixel_ids[1]):
        response = _call(emulator, "GET", "/db-mgmt/api/measures", pixel=pixel)
        assert response.status_code == 401


# --------------------------------------------------------------------------- enums


def _enum(schema: dict[str, Any]) -> list[Any]:
    return list((schema.get("items") or schema)["enum"])


def test_spec_enums_are_the_documented_ones() -> None:
    assert SCHEMAS["Granularity"]["enum"] == GRANULARITIES
    assert _enum(SCHEMAS["CohortRequest"]["properties"]["granularity"]) == COHORT_GRANULARITIES
    assert SCHEMAS["AttributionModel"]["enum"] == ATTRIBUTION_MODELS
    assert _enum(SCHEMAS["ChannelDetailsRequest"]["properties"]["dimensions"]) == CHANNEL_GRAINS
    assert SCHEMAS["DashboardViewType"]["enum"] == VIEW_TYPES
    assert SCHEMAS["CohortMeasureId"]["enum"] == COHORT_MEASURES
    cohort_items = SCHEMAS["CohortRequest"]["properties"]["measures"]["items"]
    assert cohort_items == {"$ref": "#/components/schemas/CohortMeasureId"}
    # Granularity is shared by /query, channel details and the dashboard configuration.
    for name in ("QueryRequest", "ChannelDetailsRequest", "DashboardViewConfiguration"):
        granularity = SCHEMAS[name]["properties"]["granularity"]
        assert granularity == {"$ref": "#/components/schemas/Granularity"}, name
    config_model = SCHEMAS["DashboardViewConfiguration"]["properties"]["attributionModel"]
    assert config_model == {"$ref": "#/components/schemas/AttributionModel"}
    # raw/cli-dashboard-view.md: --layout "Only kpi-grid today".
    assert SCHEMAS["FromPresetRequest"]["properties"]["layout"]["enum"] == ["kpi-grid"]


@pytest.mark.parametrize("granularity", GRANULARITIES)
def test_query_accepts_every_granularity(emulator: Emulator, granularity: str) -> None:
    one_day = {"start": "2026-04-01", "end": "2026-04-01"}
    response = _post(emulator, QUERY, _query(emulator, granularity=granularity, dateRange=one_day))
    assert response.status_code == 200, response.text
    assert response.json()["results"][0]["granularity"] == granularity


@pytest.mark.parametrize("granularity", GRANULARITIES)
def test_channel_details_accepts_every_granularity(emulator: Emulator, granularity: str) -> None:
    response = _post(emulator, CHANNEL, _channel(emulator, granularity=granularity))
    assert response.status_code == 200, response.text


def test_unknown_granularities_are_400(emulator: Emulator) -> None:
    for path, body in [
        (QUERY, _query(emulator, granularity="fortnight")),
        (CHANNEL, _channel(emulator, granularity="daily")),
        (ATTRIBUTION, _attribution(emulator, granularity="fortnight")),
    ]:
        response = _post(emulator, path, body)
        assert response.status_code == 400 and _field_paths(response) == ["granularity"]


@pytest.mark.parametrize("granularity", COHORT_GRANULARITIES)
def test_cohort_accepts_week_month_year(emulator: Emulator, granularity: str) -> None:
    response = _post(emulator, COHORT, _cohort(emulator, granularity=granularity))
    assert response.status_code == 200, response.text
    assert response.json()["results"][0]["granularity"] == granularity


@pytest.mark.parametrize("granularity", sorted(set(GRANULARITIES) - set(COHORT_GRANULARITIES)))
def test_cohort_refuses_other_granularities(emulator: Emulator, granularity: str) -> None:
    response = _post(emulator, COHORT, _cohort(emulator, granularity=granularity))
    assert response.status_code == 400 and _field_paths(response) == ["granularity"]


@pytest.mark.parametrize("model", ATTRIBUTION_MODELS)
def test_attribution_accepts_every_model(emulator: Emulator, model: str) -> None:
    response = _post(emulator, ATTRIBUTION, _attribution(emulator, attributionModel=model))
    assert response.status_code == 200, response.text
    assert {r["attributionModel"] for r in response.json()["results"]} == {model}


def test_attribution_refuses_other_models(emulator: Emulator) -> None:
    response = _post(emulator, ATTRIBUTION, _attribution(emulator, attributionModel="linear"))
    assert response.status_code == 400 and _field_paths(response) == ["attributionModel"]


@pytest.mark.parametrize("grain", CHANNEL_GRAINS)
def test_channel_details_accepts_every_grain(emulator: Emulator, grain: str) -> None:
    response = _post(emulator, CHANNEL, _channel(emulator, dimensions=[grain]))
    assert response.status_code == 200, response.text
    levels = {r["basicDetails"]["level"] for r in response.json()["results"]}
    assert levels == {grain}


def test_channel_details_defaults_to_account_grain_and_refuses_other_dimensions(
    emulator: Emulator,
) -> None:
    # "Omit for account grain (default)."
    response = _post(emulator, CHANNEL, _channel(emulator))
    assert {r["basicDetails"]["level"] for r in response.json()["results"]} == {"account"}
    response = _post(emulator, CHANNEL, _channel(emulator, dimensions=["utm_source"]))
    assert response.status_code == 400 and _field_paths(response) == ["dimensions.0"]


@pytest.mark.parametrize("view_type", VIEW_TYPES)
def test_every_view_type_is_stored_and_listed(
    emulator: Emulator, views: list[str], view_type: str
) -> None:
    view = _create(emulator, views, {"name": view_type, "type": view_type, "configuration": {}})
    assert view["type"] == view_type
    listed = _call(emulator, "GET", VIEWS, params={"type": view_type}).json()["dashboardViews"]
    assert view["id"] in {v["id"] for v in listed}
    assert {v["type"] for v in listed} == {view_type}


def test_other_view_types_are_400(emulator: Emulator) -> None:
    response = _post(emulator, VIEWS, {"name": "x", "type": "board", "configuration": {}})
    assert response.status_code == 400 and _field_paths(response) == ["type"]


def test_the_seven_cohort_measures(emulator: Emulator) -> None:
    response = _post(emulator, COHORT, _cohort(emulator, measures=COHORT_MEASURES))
    assert response.status_code == 200, response.text
    result = response.json()["results"][0]
    assert [d["measure"] for d in result["measureDetails"]] == COHORT_MEASURES
    assert set(COHORT_MEASURES) <= set(result["data"]["primary"][0])
    # "This endpoint only accepts these measure ids" (raw/cli-query-cohort.md).
    refused = _post(emulator, COHORT, _cohort(emulator, measures=["orders.total_revenue"]))
    assert refused.status_code == 400 and _field_paths(refused) == ["measures.0"]


def test_documented_measure_ids_are_in_the_catalog(emulator: Emulator) -> None:
    catalog = _call(emulator, "GET", "/db-mgmt/api/measures").json()["measures"]
    ids = {m["id"] for m in catalog}
    assert set(DOCUMENTED_MEASURES) | set(COHORT_MEASURES) <= ids
    cohort = {m["id"] for m in catalog if "cohort" in m["contexts"]}
    assert cohort == set(COHORT_MEASURES)
    # raw/guide-analytics-custom-measures.md: Number, Currency, Percentage, Multiplier.
    assert {m["format"] for m in catalog} <= {"number", "currency", "percentage", "multiplier"}
    assert {"shortTitle", "isAverage", "isPercentage", "preferredTrendDirection"} <= set(catalog[0])


@pytest.mark.parametrize(
    ("search", "expected"),
    [
        ("new customer roas", "core.new_customer_roas"),
        ("mer", "core.new_customer_mer"),
        ("facebook cpm", "meta.cpm"),
    ],
)
def test_the_agent_workflow_searches_find_their_measures(
    emulator: Emulator, search: str, expected: str
) -> None:
    # raw/cli-ai-agent-workflow.md: `upstack measures --search ...  # confirms <id>`.
    response = _call(emulator, "GET", "/db-mgmt/api/measures", params={"search": search})
    assert expected in {m["id"] for m in response.json()["measures"]}


def test_the_agent_workflow_filter_discovery(emulator: Emulator) -> None:
    # `upstack filters --search customer --detail  # → orders.customer_type, operators
    # include equals/in`; channel details names channel.resource_source and channel.account.
    filters = {f["id"]: f for f in _call(emulator, "GET", "/db-mgmt/api/filters").json()["filters"]}
    assert {"equals", "in"} <= set(filters["orders.customer_type"]["operators"])
    assert {"query", "cohort"} <= set(filters["orders.customer_type"]["contexts"])
    for field in ("channel.resource_source", "channel.account"):
        assert "channel" in filters[field]["contexts"]
    assert {"equals", "in"} <= set(SCHEMAS["FilterOperator"]["enum"])


# --------------------------------------------------------------------------- limits


def _items(schema: str, field: str) -> tuple[int | None, int | None]:
    prop = SCHEMAS[schema]["properties"][field]
    return prop.get("minItems"), prop.get("maxItems")


def test_spec_limits_are_the_documented_ones() -> None:
    assert _items("QueryRequest", "measures") == (1, 30)  # "1 - 30 elements"
    assert _items("CohortRequest", "measures") == (1, 30)  # "1 - 30 elements"
    assert _items("ChannelDetailsRequest", "measures") == (None, 30)  # "Maximum array length: 30"
    assert _items("QueryRequest", "dimensions") == (None, 5)  # "5"
    assert _items("ChannelDetailsRequest", "dimensions") == (None, 5)  # "Maximum array length: 5"
    channel = SCHEMAS["ChannelDetailsRequest"]
    # "dateRange: Required together with measures"; "compareDateRange: Forbidden when
    # measures is absent".
    assert channel["dependentRequired"] == {
        "measures": ["dateRange"],
        "compareDateRange": ["measures"],
    }
    assert channel["required"] == ["pixelId", "granularity"]  # both marked "required"
    for name in ("QueryRequest", "AttributionRequest", "CohortRequest", "ChannelDetailsRequest"):
        assert "pixelId" in SCHEMAS[name]["required"], name


def _query_measures(emulator: Emulator, count: int) -> list[dict[str, str]]:
    catalog = _call(emulator, "GET", "/db-mgmt/api/measures").json()["measures"]
    ids = [m["id"] for m in catalog if "query" in m["contexts"]]
    assert len(ids) >= count
    return [{"measure": i} for i in ids[:count]]


def test_query_takes_1_to_30_measures(emulator: Emulator) -> None:
    week = {"start": "2026-04-01", "end": "2026-04-07"}
    thirty = _query_measures(emulator, 30)
    response = _post(emulator, QUERY, _query(emulator, measures=thirty, dateRange=week))
    assert response.status_code == 200, response.text
    assert len(response.json()["results"][0]["measureDetails"]) == 30
    for measures in ([], _query_measures(emulator, 31)):
        response = _post(emulator, QUERY, _query(emulator, measures=measures, dateRange=week))
        assert response.status_code == 400 and _field_paths(response) == ["measures"]


def test_cohort_takes_1_to_30_measures(emulator: Emulator) -> None:
    for measures in ([], COHORT_MEASURES * 5):  # 0 and 35
        response = _post(emulator, COHORT, _cohort(emulator, measures=measures))
        assert response.status_code == 400 and _field_paths(response) == ["measures"]


def test_channel_details_takes_at_most_30_measures(emulator: Emulator) -> None:
    many = [{"measure": "channel.spend"}] * 31
    response = _post(emulator, CHANNEL, _channel(emulator, measures=many, dateRange=APRIL))
    assert response.status_code == 400 and _field_paths(response) == ["measures"]


def test_query_takes_at_most_5_dimensions(emulator: Emulator) -> None:
    dims = ["utm_source", "utm_medium", "channel", "device", "country"]
    day = {"start": "2026-04-01", "end": "2026-04-01"}
    ok = _post(emulator, QUERY, _query(emulator, dimensions=dims, dateRange=day))
    assert ok.status_code == 200, ok.text
    assert ok.json()["results"][0]["dimensions"] == dims
    six = _post(
        emulator, QUERY, _query(emulator, dimensions=[*dims, "landing_page"], dateRange=day)
    )
    assert six.status_code == 400 and _field_paths(six) == ["dimensions"]


def test_channel_details_takes_at_most_one_grain(emulator: Emulator) -> None:
    # "At most one grain dimension: campaign, adset, or ad."
    for dims in (["campaign", "adset"], ["campaign", "ad"], ["adset", "ad"]):
        response = _post(emulator, CHANNEL, _channel(emulator, dimensions=dims))
        assert response.status_code == 400 and _field_paths(response) == ["dimensions"]
    response = _post(emulator, CHANNEL, _channel(emulator, dimensions=["campaign"] * 6))
    assert response.status_code == 400 and _field_paths(response) == ["dimensions"]


def test_channel_details_date_range_is_required_together_with_measures(
    emulator: Emulator,
) -> None:
    measures = [{"measure": "channel.spend"}]
    response = _post(emulator, CHANNEL, _channel(emulator, measures=measures))
    assert response.status_code == 400 and _field_paths(response) == ["dateRange"]
    response = _post(emulator, CHANNEL, _channel(emulator, measures=measures, dateRange=APRIL))
    assert response.status_code == 200, response.text
    assert all(r["data"]["primary"] for r in response.json()["results"])


def test_channel_details_compare_is_forbidden_without_measures(emulator: Emulator) -> None:
    march = {"start": "2026-03-01", "end": "2026-03-30"}
    for body in (
        _channel(emulator, compareDateRange=march),
        _channel(emulator, dateRange=APRIL, compareDateRange=march),
        _channel(emulator, measures=[], dateRange=APRIL, compareDateRange=march),
    ):
        response = _post(emulator, CHANNEL, body)
        assert response.status_code == 400, response.text
        assert set(_field_paths(response)) <= {"measures", "compareDateRange"}
    with_measures = _channel(
        emulator, measures=[{"measure": "channel.spend"}], dateRange=APRIL, compareDateRange=march
    )
    response = _post(emulator, CHANNEL, with_measures)
    assert response.status_code == 200, response.text
    assert all(r["data"]["compare"] for r in response.json()["results"])


def test_channel_details_paginates_as_documented(emulator: Emulator) -> None:
    response = _post(emulator, CHANNEL, _channel(emulator, dimensions=["ad"], limit=5, offset=5))
    page = response.json()["pagination"]
    assert set(page) == {"limit", "offset", "total", "hasMore"}
    assert (page["limit"], page["offset"], page["hasMore"]) == (5, 5, page["total"] > 10)
    assert len(response.json()["results"]) == 5


# --------------------------------------------------------------------------- documented examples


def _raw_json_objects(page: str) -> list[Any]:
    """Every complete JSON object in a raw capture that starts a line (curl data, responses)."""
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
            continue  # a capture cut off or elided ("...same widget shape...")
        found.append(value)
        position = end
    return found


RAW_PAGES = {
    "analytics-run-an-attribution-query.md": ("runAttributionQuery", 2),
    "analytics-run-a-cohort-analysis.md": ("runCohortAnalysis", 2),
    "analytics-list-channel-entities-with-optional-metrics.md": ("listChannelDetails", 2),
    "dashboards-create-a-dashboard-view.md": ("createDashboardView", 2),
    "dashboards-update-a-dashboard-view.md": ("updateDashboardView", 3),
}


@pytest.mark.skipif(not RAW.is_dir(), reason="the documentation captures are not available")
@pytest.mark.parametrize("page", sorted(RAW_PAGES))
def test_every_documented_example_is_kept_verbatim_in_the_spec(page: str) -> None:
    op_id, complete = RAW_PAGES[page]
    documented = _raw_json_objects(page)
    assert len(documented) == complete  # the complete bodies of the page, requests first
    kept = [*_request_examples(op_id).values(), *_response_examples(op_id).values()]
    for body in documented:
        assert body in kept, (page, body)


def test_elided_documented_examples_are_kept_with_the_elision_filled() -> None:
    # The newer GET and PATCH responses write the section's widget as "same widget shape
    # incl. sourceWidgetId": it is the top-level widget of the same example.
    for op_id in ("getDashboardView", "updateDashboardView"):
        view = _response_examples(op_id)["documentedNewer"]["dashboardView"]
        config = view["configuration"]
        assert config["sections"][0]["widgets"] == config["widgets"]
        assert "type" not in view and "sourceWidgetId" in config["widgets"][0]
    older = _response_examples("updateDashboardView")["documentedOlder"]["dashboardView"]
    assert older["type"] == "view" and older["configuration"]["widgets"][0]["chartType"] == "bar"


def test_spec_keeps_the_documented_examples() -> None:
    assert set(_request_examples("runAttributionQuery")) >= {"documented"}
    assert set(_request_examples("runCohortAnalysis")) >= {"documented"}
    assert set(_request_examples("listChannelDetails")) >= {"documented"}
    assert set(_request_examples("createDashboardView")) >= {"documentedOlder", "documentedNewer"}
    assert _request_examples("updateDashboardView")["documented"] == {
        "name": "<string>",
        "order": 123,
    }
    assert _request_examples("createDashboardViewFromPreset")["cliBuild"] == {
        "name": "NC + Meta Pulse",
        "measures": ["core.new_customer_roas", "core.new_customer_mer", "meta.cpm"],
    }
    agent = _request_examples("runQuery")["cliAgentWorkflow"]
    assert agent["filters"] == json.loads(CLI_FILTER)
    assert (agent["granularity"], agent["dateRange"]) == ("day", APRIL)
    assert agent["measures"] == [{"measure": "core.new_customer_mer"}]
    for op_id in ("runAttributionQuery", "runCohortAnalysis", "listChannelDetails"):
        assert set(_response_examples(op_id)) == {"documented"}, op_id
    assert set(_response_examples("getDashboardView")) == {"documentedNewer"}
    assert set(_response_examples("updateDashboardView")) == {"documentedOlder", "documentedNewer"}
    not_found = SPEC["components"]["responses"]["ViewNotFound"]["content"]["application/json"]
    assert not_found["example"] == {"message": "Dashboard view not found"}


RESPONSE_EXAMPLES = [
    (op.operation_id, name) for op in operations() for name in _response_examples(op.operation_id)
]


@pytest.mark.parametrize(("op_id", "name"), RESPONSE_EXAMPLES)
def test_documented_response_examples_validate(conforms: Any, op_id: str, name: str) -> None:
    conforms(_response_schema(op_id), _response_examples(op_id)[name])


def test_documented_attribution_example_is_answered(emulator: Emulator, conforms: Any) -> None:
    # The example's pixelId "5f1e6a4f-..." is the docs' placeholder for the caller's pixel.
    body = {**_request_examples("runAttributionQuery")["documented"], "pixelId": emulator.pixel_id}
    response = _post(emulator, ATTRIBUTION, body)
    assert response.status_code == 200, response.text
    conforms("AttributionResponse", response.json())
    results = response.json()["results"]
    assert results and {r["dimension"] for r in results} == {"utm_source"}
    assert all(r["dateRange"] == APRIL for r in results)


def test_documented_cohort_example_with_its_placeholders(emulator: Emulator, conforms: Any) -> None:
    verbatim = _request_examples("runCohortAnalysis")["documented"]
    # As written, its "<string>" pixelId is not the header's pixel (403) ...
    assert _post(emulator, COHORT, verbatim).status_code == 403
    # ... and its "<string>" timezone is not an IANA name (400) ...
    with_pixel = {**verbatim, "pixelId": emulator.pixel_id}
    response = _post(emulator, COHORT, with_pixel)
    assert response.status_code == 400 and _field_paths(response) == ["timezone"]
    # ... the rest of it (orderSettings with original_order_date, viewFilters [{}]) is fine.
    response = _post(emulator, COHORT, {**with_pixel, "timezone": "UTC"})
    assert response.status_code == 200, response.text
    conforms("QueryResponse", response.json())


def test_documented_channel_example_is_answered(emulator: Emulator, conforms: Any) -> None:
    body = {**_request_examples("listChannelDetails")["documented"], "pixelId": emulator.pixel_id}
    response = _post(emulator, CHANNEL, body)
    assert response.status_code == 200, response.text
    conforms("ChannelDetailsResponse", response.json())


# Every request example of the spec, documented or the project's, is answered with a 200,
# except a documented one whose Mintlify placeholders the API must refuse (see above).
ANSWERED_EXAMPLES = [
    (op.operation_id, name)
    for op in operations()
    if op.operation_id != "updateDashboardView"  # needs a view: see the PATCH tests
    and not RESOURCE_TAGS & set(_operation(op.operation_id).get("tags", []))
    for name in _request_examples(op.operation_id)
    if (op.operation_id, name) != ("runCohortAnalysis", "documented")
]


@pytest.mark.parametrize(("op_id", "name"), ANSWERED_EXAMPLES)
def test_every_request_example_is_answered(
    emulator: Emulator, views: list[str], conforms: Any, op_id: str, name: str
) -> None:
    example = _request_examples(op_id)[name]
    if "pixelId" in example:  # "5f1e6a4f-..." is the docs' placeholder for the caller's pixel
        example = {**example, "pixelId": emulator.pixel_id}
    op = BY_ID[op_id]
    response = _call(emulator, op.method, op.path, json=example)
    assert response.status_code == 200, response.text
    conforms(_response_schema(op_id), response.json())
    if "dashboardView" in response.json():
        views.append(response.json()["dashboardView"]["id"])


@pytest.mark.parametrize("name", ["documentedOlder", "documentedNewer"])
def test_documented_create_and_update_examples_are_answered(
    emulator: Emulator, views: list[str], conforms: Any, name: str
) -> None:
    body = _request_examples("createDashboardView")[name]
    view = _create(emulator, views, body)
    conforms("DashboardViewEnvelope", {"dashboardView": view})
    assert view["configuration"] == body["configuration"]
    patch = _request_examples("updateDashboardView")["documented"]
    response = _call(emulator, "PATCH", f"{VIEWS}/{view['id']}", json=patch)
    assert response.status_code == 200, response.text
    conforms("DashboardViewEnvelope", response.json())
    assert {k: response.json()["dashboardView"][k] for k in patch} == patch


def test_documented_build_example_is_answered(
    emulator: Emulator, views: list[str], conforms: Any
) -> None:
    # raw/cli-dashboard-view.md and raw/cli-ai-agent-workflow.md: "Created dashboard view
    # 5f1e6a4f-... "NC + Meta Pulse" with 3 widget(s)", sparkline tiles titled by shortTitle.
    body = _request_examples("createDashboardViewFromPreset")["cliBuild"]
    response = _post(emulator, f"{VIEWS}/from-preset", body)
    assert response.status_code == 200, response.text
    conforms("DashboardViewEnvelope", response.json())
    view = response.json()["dashboardView"]
    views.append(view["id"])
    assert view["name"] == "NC + Meta Pulse"
    widgets = view["configuration"]["widgets"]
    assert len(widgets) == 3 and {w["chartType"] for w in widgets} == {"sparkline"}
    catalog = {
        m["id"]: m for m in _call(emulator, "GET", "/db-mgmt/api/measures").json()["measures"]
    }
    assert [w["dataConfig"]["measures"] for w in widgets] == [[m] for m in body["measures"]]
    assert [w["title"] for w in widgets] == [catalog[m]["shortTitle"] for m in body["measures"]]
    # The CLI defaults (type view, first_click, 30 days, granularity day).
    assert view["type"] == "view"
    config = view["configuration"]
    assert (config["attributionModel"], config["attributionWindow"], config["granularity"]) == (
        "first_click",
        30,
        "day",
    )


def test_the_overview_quickstart(emulator: Emulator, conforms: Any) -> None:
    # curl .../db-mgmt/api/measures -H "x-api-key: upstack_..." -H "x-pixel-id: ...".
    assert emulator.api_key.startswith("upstack_")
    response = _call(emulator, "GET", "/db-mgmt/api/measures")
    assert response.status_code == 200
    conforms("MeasuresResponse", response.json())


# --------------------------------------------------------------------------- auth and scopes


def test_spec_scopes_are_the_documented_ones() -> None:
    scopes = SPEC["x-scopes"]
    assert scopes["scopes"] == [
        "analytics:read",
        "dashboards:read",
        "dashboards:write",
        # spec.md §2.3 (from the endpoint pages' "Required scope" lines).
        "account:read",
        "account:write",
        "costs:read",
        "costs:write",
        "events:write",
    ]
    assert scopes["legacy"] == {"db_query": "analytics:read", "attribution_query": "analytics:read"}
    assert scopes["implies"] == {"dashboards:write": ["dashboards:read"]}
    required = {op.operation_id: op.scope for op in operations()}
    assert required == {
        "runQuery": "analytics:read",
        "runAttributionQuery": "analytics:read",
        "runCohortAnalysis": "analytics:read",
        "listChannelDetails": "analytics:read",  # D05
        "listMeasures": None,  # ungated
        "listFilters": "analytics:read",  # D05
        "listDashboardViews": "dashboards:read",
        "getDashboardView": "dashboards:read",
        "createDashboardView": "dashboards:write",
        "updateDashboardView": "dashboards:write",
        "deleteDashboardView": "dashboards:write",
        "copyDashboardView": "dashboards:write",
        "createDashboardViewFromPreset": "dashboards:write",
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


# For each scope, a default test key (server.default_keys) that lacks it.
_LACKING = {
    "analytics:read": "dashboards_write",
    "dashboards:read": "analytics_read",
    "dashboards:write": "dashboards_read",
    "account:read": "account_write",
    "account:write": "costs_write",
    "costs:read": "costs_write",
    "costs:write": "costs_read",
    "events:write": "analytics_read",
}


@pytest.mark.parametrize(
    "op", [op for op in operations() if op.scope], ids=lambda op: op.operation_id
)
def test_a_missing_scope_is_403_naming_it(emulator: Emulator, op: Operation) -> None:
    # raw/overview.md / overview-page.txt: 403 "Key is valid but doesn't carry the required
    # scope." (requiredScope: decision D03).
    assert op.scope is not None
    for key in ("measures_only", _LACKING[op.scope]):
        response = _call(emulator, op.method, _concrete_path(op), key=key, json={})
        assert response.status_code == 403, (key, response.text)
        assert response.json()["requiredScope"] == op.scope
        assert set(response.json()) == {"message", "requiredScope"}
    assert "403" in _operation(op.operation_id)["responses"]


def _valid_analytics_calls(emulator: Emulator) -> list[tuple[str, str, Any]]:
    return [
        ("POST", QUERY, _query(emulator)),
        ("POST", ATTRIBUTION, _attribution(emulator)),
        ("POST", COHORT, _cohort(emulator)),
        ("POST", CHANNEL, _channel(emulator)),
        ("GET", "/db-mgmt/api/filters", None),
    ]


@pytest.mark.parametrize("key", ["legacy_db_query", "legacy_attribution_query"])
def test_legacy_scopes_expand_to_analytics_read(emulator: Emulator, key: str) -> None:
    for method, path, body in _valid_analytics_calls(emulator):
        response = _call(emulator, method, path, key=key, json=body)
        assert response.status_code == 200, (path, response.text)
    # ... and to nothing else.
    assert _call(emulator, "GET", VIEWS, key=key).status_code == 403


def test_dashboards_write_implies_dashboards_read(emulator: Emulator, views: list[str]) -> None:
    view = _create(emulator, views, {"name": "w", "configuration": {}}, key="dashboards_write")
    listed = _call(emulator, "GET", VIEWS, key="dashboards_write")
    assert listed.status_code == 200
    assert view["id"] in {v["id"] for v in listed.json()["dashboardViews"]}
    fetched = _call(emulator, "GET", f"{VIEWS}/{view['id']}", key="dashboards_write")
    assert fetched.status_code == 200 and fetched.json()["dashboardView"] == view
    # The reverse does not hold.
    response = _call(emulator, "DELETE", f"{VIEWS}/{view['id']}", key="dashboards_read")
    assert response.status_code == 403


def test_the_measures_catalog_is_ungated(emulator: Emulator) -> None:
    assert _operation("listMeasures")["x-required-scope"] is None
    for key in ("measures_only", "dashboards_read", "analytics_read", "legacy_db_query"):
        assert _call(emulator, "GET", "/db-mgmt/api/measures", key=key).status_code == 200
    # "upstack measures and upstack filters require only analytics:read": filters is gated.
    assert _call(emulator, "GET", "/db-mgmt/api/filters", key="measures_only").status_code == 403


@pytest.mark.parametrize("path", [QUERY, CHANNEL, ATTRIBUTION, COHORT])
def test_a_body_pixel_other_than_the_header_is_403(emulator: Emulator, path: str) -> None:
    # Documented for /query and channel details ("403 if it doesn't"); D08 for the others.
    bodies = {
        QUERY: _query(emulator),
        CHANNEL: _channel(emulator),
        ATTRIBUTION: _attribution(emulator),
        COHORT: _cohort(emulator),
    }
    body = {**bodies[path], "pixelId": emulator.pixel_ids[1]}
    response = _post(emulator, path, body)
    assert response.status_code == 403
    assert response.json() == {
        "message": "pixelId in the body does not match the x-pixel-id header"
    }
    assert _post(emulator, path, bodies[path]).status_code == 200
    op_id = next(op.operation_id for op in operations() if op.path == path)
    assert "403" in _operation(op_id)["responses"]
    assert "403 if it doesn't" in SCHEMAS["PixelId"]["description"]


VIEW_OPERATIONS = {
    ("GET", ""): "getDashboardView",
    ("PATCH", ""): "updateDashboardView",
    ("DELETE", ""): "deleteDashboardView",
    ("POST", "/copy"): "copyDashboardView",
}


def test_another_pixels_view_is_the_same_404_as_a_missing_one(
    emulator: Emulator, views: list[str]
) -> None:
    # raw/dashboards-get-a-dashboard-view.md: 404 {"message": "Dashboard view not found"} for a
    # missing view or another pixel's, "an identical body".
    theirs = _create(emulator, views, {"name": "mine", "configuration": {}})
    other = emulator.headers("other_pixel", emulator.pixel_ids[1])
    for method, suffix, body in [
        ("GET", "", None),
        ("PATCH", "", {"name": "stolen"}),
        ("DELETE", "", None),
        ("POST", "/copy", None),
    ]:
        answers = [
            _call(emulator, method, f"{VIEWS}/{view_id}{suffix}", headers=other, json=body)
            for view_id in (theirs["id"], "no-such-view")
        ]
        assert [a.status_code for a in answers] == [404, 404]
        assert [a.content for a in answers] == [NOT_FOUND, NOT_FOUND]
        assert len({a.headers["content-type"] for a in answers}) == 1
        assert "404" in _operation(VIEW_OPERATIONS[method, suffix])["responses"]
    assert _call(emulator, "GET", f"{VIEWS}/{theirs['id']}").json()["dashboardView"] == theirs


# --------------------------------------------------------------------------- PATCH and audit fields


def test_spec_patch_takes_only_name_configuration_order() -> None:
    patch = SCHEMAS["UpdateDashboardViewRequest"]
    assert set(patch["properties"]) == {"name", "configuration", "order"}
    assert patch["additionalProperties"] is False and patch["minProperties"] == 1
    assert "required" not in patch


@pytest.mark.parametrize(
    "change",
    [{"name": "renamed"}, {"order": 7}, {"configuration": {"grid": {"maxWidth": 900}}}],
)
def test_patch_changes_only_what_is_given(
    emulator: Emulator, views: list[str], change: dict[str, Any]
) -> None:
    view = _create(emulator, views, {"name": "p", "configuration": {"widgets": []}, "order": 1})
    response = _call(emulator, "PATCH", f"{VIEWS}/{view['id']}", json=change)
    assert response.status_code == 200, response.text
    patched = response.json()["dashboardView"]
    assert patched == {**view, **change, "updatedAt": patched["updatedAt"]}
    assert patched["updatedBy"] == "" and patched["createdAt"] == view["createdAt"]


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"name": "x", "type": "pnl_view"},
        {"name": "x", "id": "other"},
        {"name": "x", "pixelId": "other"},
        {"name": "x", "createdBy": "me"},
        {"name": "x", "updatedBy": "me"},
        {"name": "x", "createdAt": "2023-11-07T05:31:56Z"},
        {"name": "x", "widgets": []},
        {"name": "x", "anything": 1},
    ],
)
def test_patch_refuses_everything_else(
    emulator: Emulator, views: list[str], body: dict[str, Any]
) -> None:
    view = _create(emulator, views, {"name": "strict", "configuration": {}})
    response = _call(emulator, "PATCH", f"{VIEWS}/{view['id']}", json=body)
    assert response.status_code == 400
    extra = set(body) - {"name"}
    assert set(_field_paths(response)) == (extra or {""})
    assert _call(emulator, "GET", f"{VIEWS}/{view['id']}").json()["dashboardView"] == view


def test_api_key_writes_leave_created_by_and_updated_by_empty(
    emulator: Emulator, views: list[str]
) -> None:
    # raw/dashboards-create-a-dashboard-view.md: "createdBy and updatedBy on the resulting
    # record are empty strings — api-key writes intentionally don't store a fake user id."
    created = _create(emulator, views, {"name": "audit", "configuration": {}})
    patched = _call(emulator, "PATCH", f"{VIEWS}/{created['id']}", json={"name": "a2"}).json()
    copied = _post(emulator, f"{VIEWS}/{created['id']}/copy", None).json()
    preset = _post(emulator, f"{VIEWS}/from-preset", {"name": "p", "measures": ["meta.cpm"]}).json()
    views.extend([copied["dashboardView"]["id"], preset["dashboardView"]["id"]])
    for view in (
        created,
        patched["dashboardView"],
        copied["dashboardView"],
        preset["dashboardView"],
    ):
        assert (view["createdBy"], view["updatedBy"]) == ("", "")


@pytest.mark.parametrize(("first", "then"), [("older", "newer"), ("newer", "older")])
def test_both_view_shapes_round_trip(
    emulator: Emulator, views: list[str], first: str, then: str
) -> None:
    # Older build: type, attributionModel, granularity, widgets[].chartType, viewFilters.
    # Newer build: sections, defaultSettings, widgets[].sourceWidgetId.
    examples = _request_examples("createDashboardView")
    bodies = {"older": examples["documentedOlder"], "newer": examples["documentedNewer"]}
    assert {"attributionModel", "granularity", "viewFilters"} <= set(
        bodies["older"]["configuration"]
    )
    assert {"sections", "defaultSettings"} <= set(bodies["newer"]["configuration"])
    view = _create(emulator, views, bodies[first])
    fetched = _call(emulator, "GET", f"{VIEWS}/{view['id']}").json()["dashboardView"]
    assert fetched["configuration"] == bodies[first]["configuration"]
    change = {"configuration": bodies[then]["configuration"]}
    response = _call(emulator, "PATCH", f"{VIEWS}/{view['id']}", json=change)
    assert response.json()["dashboardView"]["configuration"] == change["configuration"]
    fetched = _call(emulator, "GET", f"{VIEWS}/{view['id']}").json()["dashboardView"]
    assert fetched["configuration"] == change["configuration"]  # replaced wholesale (D32)
    copied = _post(emulator, f"{VIEWS}/{view['id']}/copy", None).json()["dashboardView"]
    views.append(copied["id"])
    assert copied["configuration"] == change["configuration"]


# --------------------------------------------------------------------------- compare period


@pytest.mark.parametrize(
    ("date_range", "preceding"),
    [
        (APRIL, {"start": "2026-03-02", "end": "2026-03-31"}),
        (
            {"start": "2026-03-01", "end": "2026-03-31"},
            {"start": "2026-01-29", "end": "2026-02-28"},
        ),
        (
            {"start": "2026-11-02", "end": "2026-11-08"},
            {"start": "2026-10-26", "end": "2026-11-01"},
        ),
    ],
)
@pytest.mark.parametrize("granularity", ["day", "week", "month"])
def test_an_omitted_compare_period_is_the_preceding_one(
    emulator: Emulator, date_range: dict[str, str], preceding: dict[str, str], granularity: str
) -> None:
    # raw/analytics-run-an-analytics-query.md: "the server picks the preceding period if
    # omitted (and granularity ≠ none)"; of equal length (D17).
    body = _query(emulator, granularity=granularity, dateRange=date_range)
    result = _post(emulator, QUERY, body).json()["results"][0]
    assert result["compareDateRange"] == preceding
    assert result["data"]["compare"]


def test_no_compare_period_with_granularity_none_or_null(emulator: Emulator) -> None:
    for body in (
        _query(emulator, granularity="none"),
        _query(emulator, compareDateRange=None),
    ):
        result = _post(emulator, QUERY, body).json()["results"][0]
        assert result["compareDateRange"] is None and result["data"]["compare"] == []
        assert all(d["compareSum"] is None for d in result["measureDetails"])


@pytest.mark.parametrize("path", [QUERY, ATTRIBUTION])
def test_an_overlapping_compare_period_is_400(emulator: Emulator, path: str) -> None:
    # "Must not overlap dateRange".
    make = _query if path == QUERY else _attribution
    for overlapping in (
        {"start": "2026-03-01", "end": "2026-04-01"},
        {"start": "2026-04-30", "end": "2026-05-30"},
        {"start": "2026-04-10", "end": "2026-04-12"},
        APRIL,
    ):
        response = _post(emulator, path, make(emulator, compareDateRange=overlapping))
        assert response.status_code == 400 and _field_paths(response) == ["compareDateRange"]
    adjacent = {"start": "2026-03-01", "end": "2026-03-31"}
    response = _post(emulator, path, make(emulator, compareDateRange=adjacent))
    assert response.status_code == 200, response.text
    assert response.json()["results"][0]["compareDateRange"] == adjacent


def test_attribution_follows_the_query_compare_rule(emulator: Emulator) -> None:
    # D17 (this audit fixed the spec, which said "omitted = none").
    preceding = {"start": "2026-03-02", "end": "2026-03-31"}
    daily = _post(emulator, ATTRIBUTION, _attribution(emulator, granularity="day")).json()
    assert {json.dumps(r["compareDateRange"]) for r in daily["results"]} == {json.dumps(preceding)}
    default = _post(emulator, ATTRIBUTION, _attribution(emulator)).json()  # granularity none
    assert {r["compareDateRange"] is None for r in default["results"]} == {True}
    opted_out = _attribution(emulator, granularity="day", compareDateRange=None)
    assert all(
        r["compareDateRange"] is None
        for r in _post(emulator, ATTRIBUTION, opted_out).json()["results"]
    )
    described = SCHEMAS["AttributionRequest"]["properties"]["compareDateRange"]["description"]
    assert "preceding period" in described


@pytest.mark.parametrize("value", ["original_order_date", "refund_date", "order_date"])
@pytest.mark.parametrize("path", [QUERY, COHORT, ATTRIBUTION])
def test_refund_date_attribution_accepts_both_documented_enums(
    emulator: Emulator, path: str, value: str
) -> None:
    # original_order_date: the older query/cohort example; refund_date|order_date: account
    # settings (NEW build). Both are accepted (D26).
    assert value in SCHEMAS["OrderSettings"]["properties"]["refundDateAttribution"]["enum"]
    make = {QUERY: _query, COHORT: _cohort, ATTRIBUTION: _attribution}[path]
    body = make(emulator, orderSettings={"refundDateAttribution": value})
    assert _post(emulator, path, body).status_code == 200


def test_refund_date_attribution_refuses_other_values(emulator: Emulator) -> None:
    body = _query(emulator, orderSettings={"refundDateAttribution": "whenever"})
    response = _post(emulator, QUERY, body)
    assert response.status_code == 400
    assert _field_paths(response) == ["orderSettings.refundDateAttribution"]


# --------------------------------------------------------------------------- error body


def test_spec_400_body_is_message_and_errors() -> None:
    bad = SPEC["components"]["responses"]["BadRequest"]["content"]["application/json"]
    assert bad["schema"] == {"$ref": "#/components/schemas/ValidationErrorBody"}
    assert SCHEMAS["Error"]["required"] == ["message"]
    assert SCHEMAS["ValidationErrorBody"]["allOf"][1] == {"required": ["errors"]}
    for op in operations():
        if op.body_schema is not None or op.query_params:
            assert _operation(op.operation_id)["responses"]["400"] == {
                "$ref": "#/components/responses/BadRequest"
            }


def test_every_400_is_message_and_per_field_errors(emulator: Emulator, conforms: Any) -> None:
    # raw/overview.md: "Errors are JSON responses with a message field"; 400 "Validation
    # error — see errors array".
    cases = [
        _post(emulator, QUERY, _query(emulator, granularity="daily")),  # schema
        _post(emulator, QUERY, _query(emulator, measures=[{"measure": "nope.nope"}])),  # catalog
        _post(emulator, QUERY, _query(emulator, dimensions=["nope"])),  # engine rule
        _call(emulator, "POST", QUERY, data=b"{not json"),  # not JSON
        _call(emulator, "GET", VIEWS, params={"type": "nope"}),  # query parameter
        _call(emulator, "PATCH", f"{VIEWS}/any", json={"nope": 1}),  # PATCH allowlist
    ]
    for response in cases:
        assert response.status_code == 400, response.text
        body = response.json()
        assert set(body) == {"message", "errors"} and isinstance(body["message"], str)
        assert body["errors"] and all(set(e) == {"path", "message"} for e in body["errors"])
        conforms("ValidationErrorBody", body)


# --------------------------------------------------------------------------- decisions


def _spec_decisions() -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}

    def walk(node: Any, pointer: str) -> None:
        if isinstance(node, dict):
            if "x-decision" in node:
                ids = re.findall(r"\[(D\d{2,3})\]", node["x-decision"])
                assert ids, f"an x-decision without an id at {pointer}"
                for decision in ids:
                    found.setdefault(decision, []).append(pointer)
            for key, value in node.items():
                walk(value, f"{pointer}/{str(key).replace('~', '~0').replace('/', '~1')}")
        elif isinstance(node, list):
            for i, value in enumerate(node):
                walk(value, f"{pointer}/{i}")

    walk(SPEC, "#")
    return found


def _register() -> dict[str, str]:
    contract = (ROOT / "docs" / "contract.md").read_text(encoding="utf-8")
    rows = re.findall(r"(?m)^\| (D\d{2,3}) \| .+ \| `(#/[^`]+)` \|$", contract)
    register = dict(rows)
    assert len(register) == len(rows), "a decision id is listed twice in docs/contract.md"
    return register


def test_every_decision_is_in_both_the_spec_and_the_contract_page() -> None:
    spec = _spec_decisions()
    register = _register()
    assert sorted(spec) == sorted(register)
    for decision, pointer in register.items():
        node = _pointer(pointer)
        assert f"[{decision}]" in node["x-decision"], (decision, pointer)


def test_no_decision_hides_in_a_description() -> None:
    """A description that calls something a decision points at its ``x-decision`` id."""

    def walk(node: Any, pointer: str) -> None:
        if isinstance(node, dict):
            text = node.get("description")
            if isinstance(text, str) and "decision" in text.lower() and pointer != "#/info":
                assert re.search(r"D\d\d|x-decision", text), pointer
            for key, value in node.items():
                walk(value, f"{pointer}/{key}")
        elif isinstance(node, list):
            for i, value in enumerate(node):
                walk(value, f"{pointer}/{i}")

    walk(SPEC, "#")


def test_channel_details_decisions_are_honoured(emulator: Emulator) -> None:
    # D21: a repeated grain counts once; measures [] = none; dateRange alone is ignored.
    once = _post(emulator, CHANNEL, _channel(emulator, dimensions=["campaign", "campaign"]))
    single = _post(emulator, CHANNEL, _channel(emulator, dimensions=["campaign"]))
    assert once.status_code == 200 and once.json() == single.json()
    account = _post(emulator, CHANNEL, _channel(emulator)).json()
    for body in (
        _channel(emulator, measures=[], dateRange=APRIL),
        _channel(emulator, dateRange=APRIL),
    ):
        response = _post(emulator, CHANNEL, body)
        assert response.status_code == 200 and response.json() == account
    # Compare is never picked automatically.
    measured = _channel(emulator, measures=[{"measure": "channel.spend"}], dateRange=APRIL)
    results = _post(emulator, CHANNEL, measured).json()["results"]
    assert all(r["data"]["compare"] == [] for r in results)


def test_other_decisions_are_honoured(emulator: Emulator, views: list[str]) -> None:
    # D29: the filters catalog takes no query parameters.
    response = _call(emulator, "GET", "/db-mgmt/api/filters", params={"search": "customer"})
    assert response.status_code == 400 and _field_paths(response) == ["search"]
    # D20: no compare period on cohorts.
    march = {"start": "2025-12-01", "end": "2025-12-31"}
    response = _post(emulator, COHORT, _cohort(emulator, compareDateRange=march))
    assert response.status_code == 400 and _field_paths(response) == ["compareDateRange"]
    # D12: a measure may appear once.
    twice = [{"measure": "orders.total_revenue"}] * 2
    response = _post(emulator, QUERY, _query(emulator, measures=twice))
    assert response.status_code == 400 and _field_paths(response) == ["measures.1.measure"]
    response = _post(emulator, COHORT, _cohort(emulator, measures=COHORT_MEASURES[:1] * 2))
    assert response.status_code == 400 and _field_paths(response) == ["measures.1"]
    # D07: scope before the body's pixel, the body's pixel before validation, validation
    # before the view lookup.
    foreign = {"pixelId": emulator.pixel_ids[1], "bogus": True}
    assert _post(emulator, QUERY, foreign, key="dashboards_read").status_code == 403
    assert "requiredScope" in _post(emulator, QUERY, foreign, key="dashboards_read").json()
    assert _post(emulator, QUERY, foreign).json() == {
        "message": "pixelId in the body does not match the x-pixel-id header"
    }
    assert _call(emulator, "PATCH", f"{VIEWS}/nope", json={"bogus": 1}).status_code == 400
    assert _call(emulator, "PATCH", f"{VIEWS}/nope", json={"name": "a"}).content == NOT_FOUND
    # D01: every success is a 200, creates and deletes included.
    view = _create(emulator, views, {"name": "d", "configuration": {}})
    deleted = _call(emulator, "DELETE", f"{VIEWS}/{view['id']}")
    assert (deleted.status_code, deleted.json()) == (200, {"deleted": True, "id": view["id"]})
