"""Generated parts of ``docs/emulator-data.md``: the catalog and the ``--data`` schema tables.

The doc keeps each table between ``<!-- name:start -->`` and ``<!-- name:end -->`` markers; a
test checks they match these renderings. Regenerate with
``python docs/_gen/emulator_tables.py docs/emulator-data.md``.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

from upstack_pandas.emulator.data.loaders import SCHEMAS
from upstack_pandas.emulator.engine.catalog import Catalog, Term, load_catalog


def _terms(terms: tuple[Term, ...]) -> str:
    text = " ".join(f"{'-' if t.sign < 0 else '+'} {t.aggregate}" for t in terms)
    text = text[2:] if text.startswith("+ ") else text
    return f"({text})" if len(terms) > 1 else text


def _formula(catalog: Catalog, measure_id: str) -> str:
    m = catalog.measures[measure_id]
    if m.cohort:
        spec = m.cohort
        text = str(spec["numerator"]) + (
            f" / {spec['denominator']}" if "denominator" in spec else ""
        )
        return text + (" (cumulative)" if spec.get("cumulative") else "")
    text = _terms(m.numerator)
    if m.denominator:
        text = f"{text} / {_terms(m.denominator)}"
    return text + (f" × {m.scale:g}" if m.scale != 1 else "")


def catalog_table(catalog: Catalog | None = None) -> str:
    """The measures table in Markdown (id, short title, format, roll-up, formula, contexts, dimensions)."""
    catalog = catalog or load_catalog()
    lines = [
        "| id | shortTitle | format | roll-up | formula | contexts | dimensions |",
        "|---|---|---|---|---|---|---|",
    ]
    for m in catalog.measures.values():
        rollup = "average" if m.is_average else "sum"
        lines.append(
            f"| `{m.id}` | {m.short_title} | {m.format} | {rollup} | {_formula(catalog, m.id)} | "
            f"{', '.join(m.contexts)} | {', '.join(m.dimensions) or '–'} |"
        )
    return "\n".join(lines)


def schema_table() -> str:
    """The ``--data`` files' columns in Markdown (file, column, type, required, default)."""
    lines = ["| file | column | type | required | default when missing |", "|---|---|---|---|---|"]
    for table, columns in SCHEMAS.items():
        for col in columns:
            lines.append(
                f"| `{table}` | `{col.name}` | {col.type} | {'yes' if col.required else 'no'} | "
                f"{col.default or '–'} |"
            )
    return "\n".join(lines)


def aggregates_table(catalog: Catalog | None = None) -> str:
    """The base aggregates in Markdown (name, source table, summed expression, condition)."""
    catalog = catalog or load_catalog()
    lines = ["| aggregate | source (table) | SUM of | where |", "|---|---|---|---|"]
    for a in catalog.aggregates.values():
        table = catalog.sources[a.source].table
        lines.append(
            f"| `{a.id}` | {a.source} (`{table}`) | `{a.sum}` | {f'`{a.where}`' if a.where else '–'} |"
        )
    return "\n".join(lines)


def filters_table(catalog: Catalog | None = None) -> str:
    """The filter fields in Markdown (id, applies to, type, operators, contexts)."""
    catalog = catalog or load_catalog()
    lines = ["| field | applies to | type | operators | contexts |", "|---|---|---|---|---|"]
    for f in catalog.filters.values():
        lines.append(
            f"| `{f.id}` | {f.source}.{f.column} | {f.type} | {', '.join(f.operators)} | "
            f"{', '.join(f.contexts)} |"
        )
    return "\n".join(lines)


GENERATED = {
    "aggregates": aggregates_table,
    "catalog": catalog_table,
    "schema": schema_table,
    "filters": filters_table,
}


def _block(name: str) -> re.Pattern[str]:
    return re.compile(rf"<!-- {name}:start -->\n?(.*?)\n?<!-- {name}:end -->", flags=re.DOTALL)


def section(text: str, name: str) -> str:
    """The content between a doc's ``<!-- name:start -->`` and ``<!-- name:end -->`` markers."""
    match = _block(name).search(text)
    if match is None:
        raise ValueError(f"markers for {name!r} not found")
    return match.group(1)


def update(path: str | Path) -> None:
    """Rewrite the generated sections of the doc at ``path`` in place."""
    doc = Path(path)
    text = doc.read_text("utf-8")
    for name, render in GENERATED.items():
        block = f"<!-- {name}:start -->\n{render()}\n<!-- {name}:end -->"
        match = _block(name).search(text)
        assert match is not None
        text = text[: match.start()] + block + text[match.end() :]
    doc.write_text(text, "utf-8")


if __name__ == "__main__":  # pragma: no cover
    update(sys.argv[1] if len(sys.argv) > 1 else "docs/emulator-data.md")
