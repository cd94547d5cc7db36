"""The measures, dimensions and filters catalog, read from ``catalog.yaml`` (the one source).

The endpoints ``GET /measures`` and ``GET /filters`` serve it, the compilers read each measure's
formula from it, and the docs are tested against it. Derived fields (``isAverage``,
``isPercentage``, ``dimensions``) are computed here from the formula unless an entry sets them.
"""

from __future__ import annotations

import difflib
import functools
import re
from dataclasses import dataclass, field
from importlib import resources
from typing import Any

from upstack_pandas.emulator.engine.errors import UnknownMeasureError
from upstack_pandas.emulator.engine.yaml_documents import load_yaml

FORMATS = ("number", "currency", "percentage", "multiplier")
TRENDS = ("up", "down")
_TERM = re.compile(r"\s*([+-]?)\s*([a-z_][a-z0-9_]*)\s*")


@dataclass(frozen=True)
class Source:
    """A table the query compiler aggregates: its time column kind and dimension columns."""

    id: str
    table: str
    time: str  # "instant" (column ts, UTC) or "date" (column date, a calendar day)
    requires: str  # the store table whose absence makes the source unavailable
    dimensions: dict[str, str]


@dataclass(frozen=True)
class Aggregate:
    """A named base aggregate: ``SUM(sum) FILTER (WHERE where)`` over one source."""

    id: str
    source: str
    sum: str
    where: str | None = None


@dataclass(frozen=True)
class Term:
    """One signed aggregate of a measure's numerator or denominator."""

    sign: int
    aggregate: str


@dataclass(frozen=True)
class Measure:
    """A catalog measure: metadata plus its formula as a ratio of sums."""

    id: str
    title: str
    short_title: str
    description: str
    category: str
    format: str
    is_average: bool
    is_percentage: bool
    preferred_trend_direction: str
    contexts: tuple[str, ...]
    dimensions: tuple[str, ...]
    numerator: tuple[Term, ...] = ()
    denominator: tuple[Term, ...] = ()
    scale: float = 1.0
    sources: frozenset[str] = frozenset()
    cohort: dict[str, Any] = field(default_factory=dict)

    def public(self, currency: str) -> dict[str, Any]:
        """Return the catalog entry served by ``GET /db-mgmt/api/measures``."""
        entry: dict[str, Any] = {
            "id": self.id,
            "title": self.title,
            "shortTitle": self.short_title,
            "description": self.description,
            "category": self.category,
            "format": self.format,
            "isAverage": self.is_average,
            "isPercentage": self.is_percentage,
            "preferredTrendDirection": self.preferred_trend_direction,
        }
        if self.format == "currency":
            entry["currency"] = currency
        entry["dimensions"] = list(self.dimensions)
        entry["contexts"] = list(self.contexts)
        return entry


@dataclass(frozen=True)
class FilterField:
    """A filterable field: where it applies (source, column), its type and operators."""

    id: str
    title: str
    type: str  # string | enum | number
    source: str
    column: str
    operators: tuple[str, ...]
    contexts: tuple[str, ...]
    values: tuple[str, ...] | None = None

    def public(self) -> dict[str, Any]:
        """Return the entry served by ``GET /db-mgmt/api/filters``."""
        entry: dict[str, Any] = {
            "id": self.id,
            "title": self.title,
            "type": "number" if self.type == "number" else "string",
            "operators": list(self.operators),
            "contexts": list(self.contexts),
        }
        if self.values is not None:
            entry["values"] = list(self.values)
        return entry


@dataclass(frozen=True)
class Catalog:
    """The parsed catalog with lookups; build it with :func:`load_catalog`."""

    currency: str
    contexts: tuple[str, ...]
    sources: dict[str, Source]
    aggregates: dict[str, Aggregate]
    dimensions: dict[str, dict[str, str]]
    measures: dict[str, Measure]
    filters: dict[str, FilterField]

    def measure(self, measure_id: str, *, path: str = "measure") -> Measure:
        """Look up a measure, raising :class:`UnknownMeasureError` with the closest ids.

        Parameters
        ----------
        measure_id
            The id to look up (``core.new_customer_roas``).
        path
            Dotted request path reported in the error (``measures.0.measure``).

        Returns
        -------
        Measure
            The catalog measure.
        """
        found = self.measures.get(measure_id)
        if found is None:
            message = f"Unknown measure {measure_id!r}."
            close = self.closest(measure_id)
            if close:
                message += f" Did you mean {', '.join(close)}?"
            raise UnknownMeasureError(message, [{"path": path, "message": message}])
        return found

    def closest(self, text: str, n: int = 3) -> list[str]:
        """Return up to ``n`` measure ids closest to ``text`` (by id, title or short title)."""
        names: dict[str, str] = {}
        for m in self.measures.values():
            for name in (m.id, m.title.lower(), m.short_title.lower(), m.id.split(".", 1)[-1]):
                names.setdefault(name, m.id)
        hits = difflib.get_close_matches(str(text).lower(), list(names), n=n * 3, cutoff=0.5)
        return list(dict.fromkeys(names[h] for h in hits))[:n]

    def listing(self, search: str | None = None) -> dict[str, Any]:
        """Return the body of ``GET /db-mgmt/api/measures`` (optionally searched).

        Parameters
        ----------
        search
            Case-insensitive substring of id, title, shortTitle or description.

        Returns
        -------
        dict
            ``{"measures": [...], "dimensions": [...]}``.
        """
        needle = (search or "").strip().lower()
        measures = [
            m.public(self.currency)
            for m in self.measures.values()
            if not needle
            or any(needle in s.lower() for s in (m.id, m.title, m.short_title, m.description))
        ]
        return {"measures": measures, "dimensions": [dict(d) for d in self.dimensions.values()]}

    def filters_listing(self) -> dict[str, Any]:
        """Return the body of ``GET /db-mgmt/api/filters``."""
        return {"filters": [f.public() for f in self.filters.values()]}


def _terms(expr: Any, aggregates: dict[str, Aggregate], where: str) -> tuple[Term, ...]:
    if expr is None:
        return ()
    text = str(expr)
    terms: list[Term] = []
    pos = 0
    while pos < len(text):
        match = _TERM.match(text, pos)
        if match is None or (terms and not match.group(1)):
            raise ValueError(f"catalog: cannot parse {where} {text!r} (use 'a - b + c')")
        if match.group(2) not in aggregates:
            raise ValueError(f"catalog: {where} uses unknown aggregate {match.group(2)!r}")
        terms.append(Term(-1 if match.group(1) == "-" else 1, match.group(2)))
        pos = match.end()
    return tuple(terms)


def _measure(
    raw: dict[str, Any],
    contexts_ok: list[str],
    dim_order: list[str],
    aggs: dict[str, Aggregate],
    sources: dict[str, Source],
) -> Measure:
    mid = raw["id"]
    num = _terms(raw.get("numerator"), aggs, f"{mid} numerator")
    den = _terms(raw.get("denominator"), aggs, f"{mid} denominator")
    used = frozenset(aggs[t.aggregate].source for t in (*num, *den))
    if raw.get("cohort"):
        dims: tuple[str, ...] = ()
    elif not used:
        raise ValueError(f"catalog: measure {mid} has no formula")
    else:
        common = set.intersection(*(set(sources[s].dimensions) for s in used))
        dims = tuple(d for d in dim_order if d in common)
    if "dimensions" in raw:
        extra = set(raw["dimensions"]) - set(dims)
        if extra:
            raise ValueError(f"catalog: {mid} lists unsupported dimensions {sorted(extra)}")
        dims = tuple(raw["dimensions"])
    fmt, trend = raw["format"], raw["preferredTrendDirection"]
    contexts = tuple(raw["contexts"])
    if fmt not in FORMATS or trend not in TRENDS or not set(contexts) <= set(contexts_ok):
        raise ValueError(f"catalog: {mid} has an invalid format, trend direction or context")
    return Measure(
        id=mid,
        title=raw["title"],
        short_title=raw["shortTitle"],
        description=raw["description"],
        category=raw.get("category", mid.split(".")[0]),
        format=fmt,
        is_average=bool(raw.get("isAverage", bool(den))),
        is_percentage=bool(raw.get("isPercentage", fmt == "percentage")),
        preferred_trend_direction=trend,
        contexts=contexts,
        dimensions=dims,
        numerator=num,
        denominator=den,
        scale=float(raw.get("scale", 1.0)),
        sources=used,
        cohort=dict(raw.get("cohort") or {}),
    )


def parse_catalog(raw: dict[str, Any]) -> Catalog:
    """Build a :class:`Catalog` from the parsed YAML document, checking its consistency.

    Parameters
    ----------
    raw
        The YAML document as loaded by ``yaml.safe_load``.

    Returns
    -------
    Catalog
        The catalog; a ``ValueError`` names the first inconsistency found.
    """
    sources = {
        k: Source(k, v["table"], v["time"], v["requires"], dict(v["dimensions"]))
        for k, v in raw["sources"].items()
    }
    aggs: dict[str, Aggregate] = {}
    for name, spec in raw["aggregates"].items():
        if spec["source"] not in sources:
            raise ValueError(f"catalog: aggregate {name} has unknown source {spec['source']!r}")
        aggs[name] = Aggregate(name, spec["source"], str(spec["sum"]), spec.get("where"))
    dims = {
        d["id"]: {"id": d["id"], "title": d["title"], "description": d["description"]}
        for d in raw["dimensions"]
    }
    for src in sources.values():
        if not set(src.dimensions) <= set(dims):
            raise ValueError(f"catalog: source {src.id} has undeclared dimensions")
    measures: dict[str, Measure] = {}
    for entry in raw["measures"]:
        if entry["id"] in measures:
            raise ValueError(f"catalog: duplicate measure id {entry['id']}")
        measures[entry["id"]] = _measure(entry, raw["contexts"], list(dims), aggs, sources)
    ops = raw["operators"]
    filters: dict[str, FilterField] = {}
    for f in raw["filters"]:
        if f["source"] not in sources or f["type"] not in ops:
            raise ValueError(f"catalog: filter {f['id']} has an unknown source or type")
        filters[f["id"]] = FilterField(
            id=f["id"],
            title=f["title"],
            type=f["type"],
            source=f["source"],
            column=f["column"],
            operators=tuple(f.get("operators", ops[f["type"]])),
            contexts=tuple(f["contexts"]),
            values=tuple(f["values"]) if "values" in f else None,
        )
    return Catalog(
        currency=raw["currency"],
        contexts=tuple(raw["contexts"]),
        sources=sources,
        aggregates=aggs,
        dimensions=dims,
        measures=measures,
        filters=filters,
    )


@functools.cache
def load_catalog() -> Catalog:
    """Load and cache the packaged ``catalog.yaml``.

    Returns
    -------
    Catalog
        The shared, immutable catalog.
    """
    text = resources.files("upstack_pandas.emulator").joinpath("catalog.yaml").read_text("utf-8")
    return parse_catalog(load_yaml(text))
