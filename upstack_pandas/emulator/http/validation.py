"""Validate requests against ``spec/openapi.yaml`` and word the 400 the contract describes.

Bodies and query parameters are checked with JSON Schema Draft 2020-12 (``jsonschema`` +
``referencing``, formats asserted, plus the ``iana-timezone`` format). The rules a schema
cannot state are the engine's for analytics bodies (``QueryError``: range order, bucket
limits, grains, unknown measures); for ``from-preset`` (no engine) they are checked here. Every
failure becomes ``{"message": "Invalid request body", "errors": [{"path", "message"}]}``
with ``path`` a dotted path into the body (``""`` for the body itself).
"""

from __future__ import annotations

import functools
import re
import zoneinfo
from collections.abc import Callable, Iterable, Mapping
from datetime import datetime
from typing import Any

from jsonschema import Draft202012Validator, FormatChecker
from jsonschema.exceptions import ValidationError
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

from upstack_pandas.emulator.engine.api_errors import FieldError, invalid_body
from upstack_pandas.emulator.http.spec import SPEC_URI, Operation, load_spec

__all__ = ["RequestValidator", "schema_ref"]

_MESSAGE_LIMIT = 300
_SHAPE = {"type", "required", "additionalProperties", "const", "enum"}
_FORMAT_MESSAGES = {
    "date": "must be a date YYYY-MM-DD between 1900-01-01 and 2100-12-31",
    "iana-timezone": "must be an IANA timezone name, e.g. America/New_York",
}


def schema_ref(name: str) -> dict[str, str]:
    """Return a schema that points at ``#/components/schemas/<name>`` of the spec."""
    return {"$ref": f"{SPEC_URI}#/components/schemas/{name}"}


@functools.cache
def _timezones() -> frozenset[str]:
    return frozenset(zoneinfo.available_timezones() | {"UTC"})


def _format_checker() -> FormatChecker:
    checker = FormatChecker()
    for name, func in Draft202012Validator.FORMAT_CHECKER.checkers.items():
        checker.checkers[name] = func
    checker.checks("iana-timezone")(lambda v: not isinstance(v, str) or v in _timezones())
    if "date-time" not in checker.checkers:  # jsonschema checks it only with rfc3339-validator
        checker.checks("date-time")(_is_date_time)
    return checker


_RFC3339 = re.compile(
    r"[0-9]{4}-[0-9]{2}-[0-9]{2}[Tt][0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]+)?([Zz]|[+-][0-9]{2}:[0-9]{2})"
)


def _is_date_time(value: object) -> bool:
    """RFC 3339 ``date-time``: the shape, then a real calendar instant."""
    if not isinstance(value, str):
        return True
    if not _RFC3339.fullmatch(value):
        return False
    try:
        datetime.fromisoformat(value.upper().replace("Z", "+00:00"))
    except ValueError:
        return False
    return True


def _inlined(node: Any, spec: Mapping[str, Any], stack: tuple[str, ...] = ()) -> Any:
    """``node`` with every ``$ref`` into the spec replaced by its target, recursively.

    A reference back into a schema being inlined (the recursive filter groups) and one with
    sibling keywords stay references, made absolute (``SPEC_URI#/...``) so that they resolve
    in the registry from anywhere. Validating the inlined schema gives the same errors as the
    referencing one, without a registry lookup per ``$ref`` on every request.
    """
    if isinstance(node, list):
        return [_inlined(item, spec, stack) for item in node]
    if not isinstance(node, dict):
        return node
    ref = node.get("$ref")
    if isinstance(ref, str):
        local = ref.removeprefix(SPEC_URI)
        if local.startswith("#/"):
            if len(node) == 1 and local not in stack:
                target: Any = spec
                for part in local[2:].split("/"):
                    target = target[part.replace("~1", "/").replace("~0", "~")]
                return _inlined(target, spec, (*stack, local))
            node = {**node, "$ref": SPEC_URI + local}
    return {k: v if k == "$ref" else _inlined(v, spec, stack) for k, v in node.items()}


@functools.cache
def _registry() -> Registry[Any]:
    resource: Resource[Any] = Resource.from_contents(load_spec(), default_specification=DRAFT202012)
    registry: Registry[Any] = Registry().with_resource(SPEC_URI, resource)
    return registry


def _path(parts: Iterable[Any]) -> str:
    return ".".join(str(p) for p in parts)


def _short(text: str) -> str:
    return text if len(text) <= _MESSAGE_LIMIT else text[: _MESSAGE_LIMIT - 1] + "…"


def _closest_branch(context: Iterable[ValidationError]) -> list[ValidationError]:
    """Return the errors of the ``oneOf``/``anyOf`` branch the instance was most likely meant for.

    A branch of the instance's type wins, then the one with the fewest failures at the
    instance's own level (missing or unknown keys), then the one with the fewest failures:
    ``{"and": [...]}`` is judged as an ``and`` group, not as a condition missing ``field``.
    """
    branches: dict[Any, list[ValidationError]] = {}
    for sub in context:
        branches.setdefault(sub.relative_schema_path[0], []).append(sub)

    def score(errors: list[ValidationError]) -> tuple[bool, int, int]:
        root = [e.validator for e in errors if not e.relative_path]
        return "type" in root, sum(1 for v in root if v in _SHAPE), len(errors)

    return min(branches.values(), key=score)


def _field_errors(error: ValidationError) -> list[FieldError]:
    """Turn one jsonschema error into contract errors, naming the field itself."""
    where = list(error.absolute_path)
    kind = error.validator
    value: Any = error.validator_value
    instance: Any = error.instance
    schema: Any = error.schema
    if kind in {"oneOf", "anyOf"} and error.context:
        branch = _closest_branch(error.context)
        if not any(e.validator == "type" and not e.relative_path for e in branch):
            return [found for sub in branch for found in _field_errors(sub)]
        types = [e.validator_value for e in error.context if e.validator == "type"]
        wanted = " or ".join(dict.fromkeys(str(t) for t in types if not isinstance(t, list)))
        return [{"path": _path(where), "message": f"must be of type {wanted}"}]
    fmt = schema.get("format") if isinstance(schema, dict) else None
    if kind in {"pattern", "format"} and fmt in _FORMAT_MESSAGES:
        return [{"path": _path(where), "message": _FORMAT_MESSAGES[fmt]}]
    if kind == "required" and isinstance(instance, dict):
        return [
            {"path": _path([*where, name]), "message": "is required"}
            for name in value
            if name not in instance
        ]
    if kind == "dependentRequired" and isinstance(instance, dict):
        return [
            {"path": _path([*where, need]), "message": f"is required when '{key}' is given"}
            for key, needs in value.items()
            if key in instance
            for need in needs
            if need not in instance
        ]
    if kind == "additionalProperties" and isinstance(instance, dict):
        allowed = sorted(schema.get("properties", {}))
        return [
            {
                "path": _path([*where, key]),
                "message": f"unknown field; allowed: {', '.join(allowed)}",
            }
            for key in instance
            if key not in allowed
        ]
    messages: dict[str, Callable[[], str]] = {
        "enum": lambda: "must be one of: " + ", ".join(str(v) for v in value),
        "type": lambda: (
            f"must be of type {' or '.join(value) if isinstance(value, list) else value}"
        ),
        "minItems": lambda: f"must have at least {value} item(s)",
        "maxItems": lambda: f"must have at most {value} items",
        "minLength": lambda: f"must be at least {value} character(s) long",
        "maxLength": lambda: f"must be at most {value} characters long",
        "minimum": lambda: f"must be ≥ {value}",
        "maximum": lambda: f"must be ≤ {value}",
        "minProperties": lambda: f"must have at least {value} field(s)",
        "pattern": lambda: f"does not match the pattern {value}",
        "format": lambda: f"is not a valid {value}",
        "const": lambda: f"must be {value!r}",
    }
    wording = messages.get(str(kind))
    return [{"path": _path(where), "message": _short(wording() if wording else error.message)}]


# --------------------------------------------------------------------------- semantic rules


def _check_range(body: Mapping[str, Any]) -> list[FieldError]:
    rng = body.get("dateRange")
    if isinstance(rng, dict) and rng["start"] > rng["end"]:  # ISO dates sort as strings
        return [{"path": "dateRange", "message": "start must be on or before end"}]
    return []


def _check_chart_types(body: Mapping[str, Any]) -> list[FieldError]:
    if len(body.get("chartTypes", [])) > len(body["measures"]):
        message = "one chart type per measure at most (positional pairing)"
        return [{"path": "chartTypes", "message": message}]
    return []


_RULES: dict[str, tuple[Callable[[Mapping[str, Any]], list[FieldError]], ...]] = {
    # Analytics bodies get their semantic checks (range order, bucket limits, grains,
    # measures x dimensions) from the engine; this body never reaches it.
    "createDashboardViewFromPreset": (_check_range, _check_chart_types),
}


# --------------------------------------------------------------------------- validator


class RequestValidator:
    """Validate request bodies and query parameters of the spec's operations.

    Validators are compiled once per schema (its references inlined) and reused; instances are
    safe to share between threads (validation keeps no state).
    """

    def __init__(self) -> None:
        self._format_checker = _format_checker()
        self._validators: dict[str, Draft202012Validator] = {}

    def _validator(self, schema: Mapping[str, Any]) -> Draft202012Validator:
        key = repr(sorted(schema.items()))
        found = self._validators.get(key)
        if found is None:
            found = Draft202012Validator(
                {
                    "$schema": "https://json-schema.org/draft/2020-12/schema",
                    **_inlined(schema, load_spec()),
                },
                registry=_registry(),
                format_checker=self._format_checker,
            )
            self._validators[key] = found
        return found

    def errors(self, schema: Mapping[str, Any], instance: Any) -> list[FieldError]:
        """Return the contract errors of ``instance`` against ``schema`` (empty when valid)."""
        found: list[FieldError] = []
        for error in self._validator(schema).iter_errors(instance):
            found.extend(_field_errors(error))
        return found

    def check(self, schema_name: str, instance: Any) -> None:
        """Raise the 400 if ``instance`` does not match ``#/components/schemas/<schema_name>``."""
        errors = self.errors(schema_ref(schema_name), instance)
        if errors:
            raise invalid_body(errors)

    def validate_body(self, operation: Operation, body: Any) -> None:
        """Raise the 400 if ``body`` breaks the operation's schema or its extra rules.

        Parameters
        ----------
        operation : Operation
            The matched operation.
        body : object
            The parsed JSON body; None when the request had no body.
        """
        if operation.body_schema is None:
            return
        if body is None:
            if operation.body_required:
                raise invalid_body([{"path": "", "message": "a JSON request body is required"}])
            return
        rebased = _rebase(operation.body_schema)
        errors = self.errors(rebased, body)
        if not errors:
            for rule in _RULES.get(operation.operation_id, ()):
                errors.extend(rule(body))
        if errors:
            raise invalid_body(errors)

    def validate_query(self, operation: Operation, args: Mapping[str, str]) -> None:
        """Raise a 400 naming each unknown query parameter and each invalid value."""
        known = {param.name for param in operation.query_params}
        errors: list[FieldError] = [
            {"path": name, "message": "unknown query parameter"}
            for name in args
            if name not in known
        ]
        for param in operation.query_params:
            value = args.get(param.name)
            if value is None:
                if param.required:
                    errors.append({"path": param.name, "message": "is required"})
                continue
            for error in self.errors(_rebase(param.schema), _coerce(param.schema, value)):
                errors.append({"path": param.name, "message": error["message"]})
        if errors:
            raise invalid_body(errors, "Invalid query parameters")


def _coerce(schema: Mapping[str, Any], value: str) -> Any:
    """Return a query value as the integer its schema declares, when it spells one."""
    if schema.get("type") == "integer" and re.fullmatch(r"[+-]?[0-9]{1,18}", value):
        return int(value)
    return value


def _rebase(schema: Mapping[str, Any]) -> dict[str, Any]:
    """Point a spec-local ``#/components/...`` ref at the registered spec resource."""
    ref = schema.get("$ref")
    if isinstance(ref, str) and ref.startswith("#/"):
        return {**schema, "$ref": SPEC_URI + ref}
    return dict(schema)
