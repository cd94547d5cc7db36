"""The endpoint table (``upstack_pandas._endpoints``) against the wire contract, and its lookup.

The spec (``emulator/spec/openapi.yaml``) is the source: every documented operation (all of
``paths``; emulator-only control endpoints are not under ``paths``, and any operation marked
``x-emulator-only`` is skipped) must have exactly one row with the same method, path template,
``x-required-scope``, ``x-kind``, ``x-cache-class`` and first tag; ``pixel_id_in_body`` must say
whether the request body schema has a ``pixelId`` property. And every row must be in the spec.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from upstack_pandas import _endpoints
from upstack_pandas._endpoints import ENDPOINTS, Endpoint, by_operation, find

SPEC_PATH = Path(_endpoints.__file__).parent / "emulator" / "spec" / "openapi.yaml"
METHODS = ("get", "post", "put", "patch", "delete")


def _load_spec() -> dict[str, Any]:
    with SPEC_PATH.open(encoding="utf-8") as handle:
        spec: dict[str, Any] = yaml.safe_load(handle)
    return spec


SPEC = _load_spec()


def _resolve(schema: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in schema:
        schema = SPEC["components"]["schemas"][schema["$ref"].rsplit("/", 1)[-1]]
    return schema


def _spec_operations() -> dict[str, tuple[str, str, dict[str, Any]]]:
    found: dict[str, tuple[str, str, dict[str, Any]]] = {}
    for path, item in SPEC["paths"].items():
        for method in METHODS:
            operation = item.get(method)
            if operation is None or operation.get("x-emulator-only"):
                continue
            found[operation["operationId"]] = (method.upper(), path, operation)
    return found


SPEC_OPERATIONS = _spec_operations()


def _body_has_pixel_id(operation: dict[str, Any]) -> bool:
    body = operation.get("requestBody")
    if body is None:
        return False
    schema = _resolve(body["content"]["application/json"]["schema"])
    return "pixelId" in schema.get("properties", {})


def test_every_spec_operation_has_one_row_and_every_row_is_in_the_spec() -> None:
    rows = [e.operation for e in ENDPOINTS]
    assert len(rows) == len(set(rows)), "an operation has two rows"
    assert set(rows) == set(SPEC_OPERATIONS)
    assert len({(e.method, e.path) for e in ENDPOINTS}) == len(ENDPOINTS)


@pytest.mark.parametrize("operation", sorted(SPEC_OPERATIONS))
def test_row_matches_the_spec(operation: str) -> None:
    method, path, spec_op = SPEC_OPERATIONS[operation]
    row = by_operation(operation)
    assert (row.method, row.path) == (method, path)
    assert "x-required-scope" in spec_op, "every operation names its scope, null included"
    assert row.scope == spec_op["x-required-scope"]
    assert row.kind == spec_op["x-kind"]
    assert row.cache_class == spec_op["x-cache-class"]
    assert row.tag == spec_op["tags"][0]
    assert row.pixel_id_in_body is _body_has_pixel_id(spec_op)


@pytest.mark.parametrize("row", ENDPOINTS, ids=lambda e: e.operation)
def test_row_is_consistent(row: Endpoint) -> None:
    if row.scope is not None:
        assert row.scope in SPEC["x-scopes"]["scopes"]
    if row.kind == "write":
        assert row.method != "GET"
        assert row.cache_class == "never", "a write is never cached"
    else:
        assert row.cache_class != "never", "every read is cacheable"
    if row.kind == "catalog":
        assert row.cache_class == "catalog"


def _concrete(template: str) -> str:
    return re.sub(r"\{[^}/]+\}", "v_0123abc", template)


@pytest.mark.parametrize("row", ENDPOINTS, ids=lambda e: e.operation)
def test_a_concrete_request_finds_its_row(row: Endpoint) -> None:
    path = _concrete(row.path)
    assert find(row.method, path) is row
    assert find(row.method.lower(), path) is row
    assert find(row.method, f"{path}?page=2") is row
    assert find(row.method, f"{path}/") is row
    assert find(row.method, f"/gateway/v1{path}") is row  # a base URL with a path of its own


def test_literal_segment_wins_over_an_id() -> None:
    assert find("POST", "/accounts/api/dashboard/views/from-preset") is by_operation(
        "createDashboardViewFromPreset"
    )
    assert find("GET", "/accounts/api/dashboard/views/from-preset") is by_operation(
        "getDashboardView"
    )


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/db-mgmt/api/query"),  # documented path, undocumented method
        ("POST", "/db-mgmt/api/query/extra"),
        ("POST", "/db-mgmt/api/query-attributionx"),
        ("PUT", "/accounts/api/dashboard/views/abc"),
        ("GET", "/accounts/api/dashboard/views/abc/copy"),
        ("GET", "/accounts/api/dashboard/views//copy"),
        ("GET", "/db-mgmt/api"),
        ("GET", "/"),
    ],
)
def test_unknown_requests_have_no_row(method: str, path: str) -> None:
    assert find(method, path) is None
    assert _endpoints.required_scope(method, path) is None
    assert not _endpoints.injects_pixel_id(method, path)
    assert not _endpoints.is_write(method, path)


def test_unknown_requests_cache_class() -> None:
    assert _endpoints.cache_class("GET", "/db-mgmt/api/something-new") == "recent"
    assert _endpoints.is_read("GET", "/db-mgmt/api/something-new")
    for method in ("POST", "PUT", "PATCH", "DELETE", "HEAD"):
        assert _endpoints.cache_class(method, "/db-mgmt/api/something-new") == "never"
        assert not _endpoints.is_read(method, "/db-mgmt/api/something-new")


@pytest.mark.parametrize(
    ("method", "path", "scope"),
    [
        ("POST", "/db-mgmt/api/query", "analytics:read"),
        ("POST", "/db-mgmt/api/query-attribution", "analytics:read"),
        ("POST", "/db-mgmt/api/query-cohort-analysis", "analytics:read"),
        ("POST", "/db-mgmt/api/query-channel-details", "analytics:read"),
        ("GET", "/db-mgmt/api/filters", "analytics:read"),
        ("GET", "/db-mgmt/api/measures", None),
        ("GET", "/accounts/api/dashboard/views", "dashboards:read"),
        ("GET", "/accounts/api/dashboard/views/abc", "dashboards:read"),
        ("PATCH", "/accounts/api/dashboard/views/abc", "dashboards:write"),
        ("POST", "/accounts/api/dashboard/views/from-preset", "dashboards:write"),
    ],
)
def test_scope_of_concrete_requests(method: str, path: str, scope: str | None) -> None:
    assert _endpoints.required_scope(method, path) == scope


def test_writes_are_the_dashboard_changes() -> None:
    assert _endpoints.is_write("post", "/accounts/api/dashboard/views/abc/copy")
    assert _endpoints.is_write("DELETE", "/accounts/api/dashboard/views/abc")
    assert not _endpoints.is_write("GET", "/accounts/api/dashboard/views")
    assert not _endpoints.is_write("POST", "/db-mgmt/api/query")


def test_pixel_id_goes_into_analytics_bodies_only() -> None:
    injected = {e.operation for e in ENDPOINTS if e.pixel_id_in_body}
    assert injected == {
        "runQuery",
        "runAttributionQuery",
        "runCohortAnalysis",
        "listChannelDetails",
    }
    assert not _endpoints.injects_pixel_id("GET", "/db-mgmt/api/query")


def test_the_table_module_imports_nothing_heavy() -> None:
    source = Path(_endpoints.__file__).read_text(encoding="utf-8")
    imported = set(re.findall(r"^(?:from|import) ([\w.]+)", source, flags=re.M))
    assert imported <= {"__future__", "dataclasses", "typing"}
