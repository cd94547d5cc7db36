"""Canonical filters: semantic validation and compilation into SQL with bound parameters.

A filter is ``{"field", "op", "value"}``, ``{"and": [filter, ...]}`` or ``{"or": [filter, ...]}``.
Each field belongs to one source (its catalog ``source``/``column``); a source sees the filter
with the conditions on other sources' fields pruned (``{"or": [a, b]}`` with ``b`` on another
source filters this source by ``a`` alone). User values are never interpolated into SQL: every
value becomes a ``$pN`` parameter of :class:`Params`.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

from upstack_pandas.emulator.engine.catalog import Catalog, FilterField, Measure
from upstack_pandas.emulator.engine.errors import fail

_COMPARISONS = {
    "greater_than": ">",
    "greater_than_or_equal": ">=",
    "less_than": "<",
    "less_than_or_equal": "<=",
}


class Params:
    """Named SQL parameters (``$p0``, ``$p1``...) collected while SQL text is built."""

    def __init__(self) -> None:
        self.values: dict[str, Any] = {}

    def add(self, value: Any) -> str:
        """Bind ``value`` and return its placeholder."""
        name = f"p{len(self.values)}"
        self.values[name] = value
        return f"${name}"

    def used_in(self, sql: str) -> dict[str, Any]:
        """The bindings ``sql`` refers to (DuckDB rejects unused named parameters)."""
        return {k: v for k, v in self.values.items() if re.search(rf"\${k}(?![0-9A-Za-z_])", sql)}


def validate_filter(node: Any, catalog: Catalog, context: str, path: str = "filters") -> None:
    """Check a canonical filter against the catalog for one endpoint context.

    Parameters
    ----------
    node
        The filter object from the request body (``None`` is allowed: no filter).
    catalog
        The catalog holding the filter fields.
    context
        ``query``, ``attribution``, ``cohort`` or ``channel``.
    path
        Path of ``node`` in the body, for error messages.

    Raises
    ------
    QueryError
        For an unknown field, a field not valid in ``context``, an operator the field does not
        support, or a value of the wrong type.
    """
    if node is None:
        return
    if not isinstance(node, dict):
        raise fail(
            path, "A filter must be an object: {field, op, value}, {and: [...]} or {or: [...]}."
        )
    for key in ("and", "or"):
        if key in node:
            children = node[key]
            if not isinstance(children, list) or not children:
                raise fail(f"{path}.{key}", f"'{key}' takes a non-empty array of filters.")
            for i, child in enumerate(children):
                validate_filter(child, catalog, context, f"{path}.{key}.{i}")
            return
    field_id = node.get("field")
    spec = catalog.filters.get(field_id) if isinstance(field_id, str) else None
    if spec is None:
        valid = sorted(f.id for f in catalog.filters.values() if context in f.contexts)
        raise fail(
            f"{path}.field", f"Unknown filter field {field_id!r}; valid here: {', '.join(valid)}."
        )
    if context not in spec.contexts:
        raise fail(
            f"{path}.field",
            f"Filter field {spec.id!r} is not valid in the {context!r} context "
            f"(valid in: {', '.join(spec.contexts)}).",
        )
    op = node.get("op")
    if op not in spec.operators:
        raise fail(
            f"{path}.op",
            f"Operator {op!r} is not supported by {spec.id!r} "
            f"(supported: {', '.join(spec.operators)}).",
        )
    _check_value(spec, op, node.get("value"), f"{path}.value")


def _check_value(spec: FilterField, op: str, value: Any, path: str) -> None:
    numeric = spec.type == "number"

    def ok(v: Any) -> bool:
        if numeric:
            return isinstance(v, int | float) and not isinstance(v, bool)
        return isinstance(v, str)

    kind = "numbers" if numeric else "strings"
    if op in ("in", "not_in"):
        if not isinstance(value, list) or not value or not all(ok(v) for v in value):
            raise fail(path, f"'{op}' on {spec.id!r} takes a non-empty array of {kind}.")
    elif not ok(value):
        raise fail(path, f"'{op}' on {spec.id!r} takes one of the {kind}.")


def compile_filter(node: Any, catalog: Catalog, source: str, params: Params) -> str | None:
    """Compile the part of a (validated) filter that applies to ``source`` into SQL.

    Parameters
    ----------
    node
        A filter already checked by :func:`validate_filter` (or ``None``).
    catalog
        The catalog holding the filter fields.
    source
        The catalog source whose rows are filtered (``orders``, ``sessions``, ``ad_spend``).
    params
        Receives the bound values.

    Returns
    -------
    str or None
        A boolean SQL expression, or ``None`` when no condition applies to ``source``.
    """
    if node is None:
        return None
    for key, joiner in (("and", " AND "), ("or", " OR ")):
        if key in node:
            parts = [
                p for p in (compile_filter(c, catalog, source, params) for c in node[key]) if p
            ]
            return f"({joiner.join(parts)})" if parts else None
    spec = catalog.filters[node["field"]]
    if spec.source != source:
        return None
    col = spec.column
    op, value = node["op"], node["value"]
    if op == "equals":
        return f"({col} = {params.add(value)})"
    if op == "not_equals":
        return f"({col} IS DISTINCT FROM {params.add(value)})"
    if op in ("in", "not_in"):
        items = ", ".join(params.add(v) for v in value)
        return (
            f"({col} IN ({items}))" if op == "in" else f"({col} IS NULL OR {col} NOT IN ({items}))"
        )
    if op == "contains":
        return f"coalesce(contains(lower({col}), lower({params.add(value)})), false)"
    if op == "not_contains":
        return f"NOT coalesce(contains(lower({col}), lower({params.add(value)})), false)"
    return f"({col} {_COMPARISONS[op]} {params.add(value)})"


def where_sql(
    conditions: Sequence[str], node: Any, catalog: Catalog, source: str, params: Params
) -> str:
    """``conditions`` and the part of the filter ``node`` that applies to ``source``, ANDed."""
    flt = compile_filter(node, catalog, source, params)
    return " AND ".join([*conditions, flt] if flt else conditions)


def _leaves(node: Any) -> list[dict[str, Any]]:
    if not isinstance(node, dict):
        return []
    for key in ("and", "or"):
        if key in node:
            return [leaf for child in node[key] for leaf in _leaves(child)]
    return [node]


def unapplied_filters(
    node: Any, catalog: Catalog, measures: Sequence[Measure]
) -> list[dict[str, Any]]:
    """The filter conditions some requested measures were computed without (decision D83).

    A condition filters the rows of its field's source only (:func:`compile_filter` prunes it
    elsewhere), so a measure reading none of that source is not filtered by it.

    Parameters
    ----------
    node
        The request's (validated) filter, or ``None``.
    catalog
        The catalog holding the filter fields.
    measures
        The requested measures, in request order.

    Returns
    -------
    list of dict
        ``{"field", "op", "source", "measures": [ids], "message"}`` per pruned condition
        (empty when every condition applied to every measure).
    """
    out: list[dict[str, Any]] = []
    for leaf in _leaves(node):
        spec = catalog.filters[leaf["field"]]
        skipped = [m.id for m in measures if spec.source not in m.sources]
        if not skipped:
            continue
        out.append(
            {
                "field": spec.id,
                "op": leaf["op"],
                "source": spec.source,
                "measures": skipped,
                "message": (
                    f"filter on {spec.id} ({spec.source} data) was not applied to "
                    f"{', '.join(skipped)}, which read no {spec.source} data"
                ),
            }
        )
    return out
