"""The project's OpenAPI file, loaded once: its operations and a JSON Schema registry.

``spec/openapi.yaml`` is the wire contract. The routes are built from its ``paths`` (so a
route cannot exist without a documented operation), each operation names its scope in
``x-required-scope``, and :mod:`upstack_pandas.emulator.http.validation` validates bodies and
query parameters against its schemas.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from importlib import resources
from typing import Any

from upstack_pandas.emulator.engine.yaml_documents import load_yaml

__all__ = ["SPEC_URI", "Operation", "load_spec", "operations", "spec_path"]

#: The base URI the spec is registered under, so ``#/components/...`` refs resolve.
SPEC_URI = "urn:upstack-pandas:openapi"

_METHODS = ("get", "post", "put", "patch", "delete")


@dataclass(frozen=True)
class QueryParam:
    """A documented query parameter: its name, whether it is required, its schema pointer."""

    name: str
    required: bool
    schema: dict[str, Any]


@dataclass(frozen=True)
class Operation:
    """One documented operation.

    Attributes
    ----------
    operation_id : str
        The ``operationId`` (the route's endpoint name).
    method : str
        Upper-case HTTP method.
    path : str
        The OpenAPI path template, e.g. ``/accounts/api/dashboard/views/{dashboardViewId}``.
    scope : str or None
        ``x-required-scope``; None means any active key (the measures catalog).
    body_schema : dict or None
        The request body's JSON schema (usually a ``$ref``), None without a body.
    body_required : bool
        Whether an empty body is a 400.
    query_params : tuple of QueryParam
        The documented query parameters.
    pixel_in_body : bool
        Whether the body carries ``pixelId`` (which must then match ``x-pixel-id``).
    """

    operation_id: str
    method: str
    path: str
    scope: str | None
    body_schema: dict[str, Any] | None
    body_required: bool
    query_params: tuple[QueryParam, ...]
    pixel_in_body: bool

    @property
    def rule(self) -> str:
        """Return the path as a werkzeug routing rule (``{id}`` → ``<id>``)."""
        return self.path.replace("{", "<").replace("}", ">")


def spec_path() -> Any:
    """Return the packaged ``openapi.yaml`` as an importlib resource (has ``read_text``)."""
    return resources.files("upstack_pandas.emulator").joinpath("spec").joinpath("openapi.yaml")


@functools.cache
def load_spec() -> dict[str, Any]:
    """Parse ``spec/openapi.yaml`` once and return it (treat it as read-only)."""
    loaded: dict[str, Any] = load_yaml(spec_path().read_text(encoding="utf-8"))
    return loaded


def _resolve(node: dict[str, Any], spec: dict[str, Any]) -> dict[str, Any]:
    """Follow a local ``$ref`` (``#/components/...``) in a non-schema spec object."""
    while "$ref" in node:
        target: Any = spec
        for part in node["$ref"].removeprefix("#/").split("/"):
            target = target[part]
        node = target
    return node


@functools.cache
def operations() -> tuple[Operation, ...]:
    """Return every operation of the spec, in file order."""
    spec = load_spec()
    found: list[Operation] = []
    for path, item in spec["paths"].items():
        shared = [_resolve(p, spec) for p in item.get("parameters", [])]
        for method in _METHODS:
            op = item.get(method)
            if op is None:
                continue
            params = shared + [_resolve(p, spec) for p in op.get("parameters", [])]
            body = _resolve(op["requestBody"], spec) if "requestBody" in op else None
            schema = body["content"]["application/json"]["schema"] if body else None
            found.append(
                Operation(
                    operation_id=op["operationId"],
                    method=method.upper(),
                    path=path,
                    scope=op.get("x-required-scope"),
                    body_schema=schema,
                    body_required=bool(body and body.get("required", False)),
                    query_params=tuple(
                        QueryParam(p["name"], bool(p.get("required", False)), p["schema"])
                        for p in params
                        if p["in"] == "query"
                    ),
                    pixel_in_body="pixelId" in _resolve(schema or {}, spec).get("properties", {}),
                )
            )
    return tuple(found)
