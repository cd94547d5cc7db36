"""The contract file itself (``spec/openapi.yaml``) and the request validator built on it."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
from jsonschema import Draft202012Validator

from upstack_pandas.emulator.engine.api_errors import ApiError
from upstack_pandas.emulator.http.spec import load_spec, operations
from upstack_pandas.emulator.http.validation import RequestValidator, schema_ref

ROOT = Path(__file__).parents[2]
SPEC = load_spec()
SCHEMAS = SPEC["components"]["schemas"]
BY_ID = {op.operation_id: op for op in operations()}
# Documented examples kept verbatim whose Mintlify placeholders the emulator rejects.
PLACEHOLDER_FAILURES = {("runCohortAnalysis", "documented"): ["timezone"]}


@pytest.fixture(scope="module")
def validator() -> RequestValidator:
    return RequestValidator()


def test_spec_header() -> None:
    assert SPEC["openapi"].startswith("3.1")
    assert SPEC["servers"][0]["url"] == "https://api.upstackdata.com"
    assert SPEC["security"] == [{"apiKey": [], "pixelId": []}]
    schemes = SPEC["components"]["securitySchemes"]
    assert (schemes["apiKey"]["name"], schemes["pixelId"]["name"]) == ("x-api-key", "x-pixel-id")


@pytest.mark.parametrize("name", sorted(SCHEMAS))
def test_component_schemas_are_valid_json_schema(name: str) -> None:
    Draft202012Validator.check_schema(SCHEMAS[name])


def test_scopes_per_operation() -> None:
    scopes = {op.operation_id: op.scope for op in operations()}
    assert scopes.pop("listMeasures") is None  # ungated
    dashboards = {k: v for k, v in scopes.items() if "Dashboard" in k}
    assert {k for k, v in dashboards.items() if v == "dashboards:read"} == {
        "listDashboardViews",
        "getDashboardView",
    }
    assert set(dashboards.values()) == {"dashboards:read", "dashboards:write"}
    resources = {
        op.operation_id
        for op in operations()
        if op.path.startswith(
            ("/accounts/api/account", "/accounts/api/costs", "/accounts/api/products")
        )
        or op.path.startswith("/tr/api/")
    }
    assert {scopes[k] for k in resources} == {
        "account:read",
        "account:write",
        "costs:read",
        "costs:write",
        "events:write",
    }
    assert {v for k, v in scopes.items() if k not in set(dashboards) | resources} == {
        "analytics:read"
    }


@pytest.mark.parametrize("op", operations(), ids=lambda op: op.operation_id)
def test_every_operation_documents_its_errors(op: Any) -> None:
    responses = SPEC["paths"][op.path][op.method.lower()]["responses"]
    assert {"200", "401", "429", "500"} <= set(responses)
    if op.scope is not None:
        assert "403" in responses
    if op.body_schema is not None or op.query_params:
        assert "400" in responses
    if "{dashboardViewId}" in op.path:
        assert responses["404"]["$ref"].endswith("/ViewNotFound")
    assert "x-request-id" in responses["200"]["headers"]


def _examples() -> list[tuple[str, str, Any]]:
    found = []
    for op in operations():
        method = SPEC["paths"][op.path][op.method.lower()]
        content = method.get("requestBody", {}).get("content", {}).get("application/json", {})
        for name, example in content.get("examples", {}).items():
            found.append((op.operation_id, name, example["value"]))
    return found


@pytest.mark.parametrize(("operation_id", "name", "body"), _examples(), ids=lambda v: str(v)[:40])
def test_request_examples_validate(
    validator: RequestValidator, operation_id: str, name: str, body: Any
) -> None:
    body = {**body, "pixelId": "px"} if "pixelId" in body else body
    expected = PLACEHOLDER_FAILURES.get((operation_id, name), [])
    try:
        validator.validate_body(BY_ID[operation_id], body)
        failed: list[str] = []
    except ApiError as error:
        failed = [e["path"] for e in error.errors or []]
    assert failed == expected


@pytest.mark.parametrize(
    ("schema", "fixture"),
    [
        ("CreateDashboardViewRequest", "older_create_request.json"),
        ("CreateDashboardViewRequest", "newer_create_request.json"),
        ("DashboardViewEnvelope", "older_view_response.json"),
        ("DashboardViewEnvelope", "newer_view_response.json"),
        ("DashboardViewEnvelope", "kpi_grid_view_response.json"),
    ],
)
def test_documented_dashboard_bodies_validate(
    validator: RequestValidator, schema: str, fixture: str
) -> None:
    body = json.loads((ROOT / "tests" / "fixtures" / "dashboards" / fixture).read_text())
    assert validator.errors(schema_ref(schema), body) == []


def test_error_examples_conform(validator: RequestValidator) -> None:
    for name, response in SPEC["components"]["responses"].items():
        example = response["content"]["application/json"]["example"]
        assert validator.errors(schema_ref("Error"), example) == [], name


def test_contract_page_and_spec_agree_on_enums() -> None:
    contract = (ROOT / "docs" / "contract.md").read_text()
    operators = re.search(r"Operators: `([^`]+)`", contract.replace("\n", " "))
    assert operators is not None
    listed = [o.strip() for o in operators.group(1).split(",")]
    assert listed == SCHEMAS["FilterOperator"]["enum"]
    windows = re.search(r'"attributionWindow": ([0-9|]+)', contract)
    assert windows is not None
    assert [int(w) for w in windows.group(1).split("|")] == SCHEMAS["AttributionWindow"]["enum"]
    assert "`format` ∈ `number | currency | percentage | multiplier`" in contract
    assert SCHEMAS["MeasureInfo"]["properties"]["format"]["enum"] == [
        "number",
        "currency",
        "percentage",
        "multiplier",
    ]


def test_error_messages_are_short_and_sorted(validator: RequestValidator) -> None:
    body = {"pixelId": "p", "granularity": "day", "measures": [{"measure": "m" * 500}] * 31}
    with pytest.raises(ApiError) as caught:
        validator.validate_body(BY_ID["runQuery"], body)
    errors = caught.value.errors or []
    assert [e["path"] for e in errors] == sorted(e["path"] for e in errors)
    assert all(len(e["message"]) <= 300 for e in errors)
    assert {"dateRange", "measures"} <= {e["path"] for e in errors}


def test_query_parameters(validator: RequestValidator) -> None:
    validator.validate_query(BY_ID["listMeasures"], {"search": "roas"})
    validator.validate_query(BY_ID["listMeasures"], {})
    with pytest.raises(ApiError) as caught:
        validator.validate_query(BY_ID["listMeasures"], {"search": "x" * 201, "limit": "3"})
    assert caught.value.message == "Invalid query parameters"
    assert caught.value.errors == [
        {"path": "limit", "message": "unknown query parameter"},
        {"path": "search", "message": "must be at most 200 characters long"},
    ]
