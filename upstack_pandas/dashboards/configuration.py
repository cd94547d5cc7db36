"""Reading a view configuration of either documented shape, skipping values of the wrong type.

Shared by ``DashboardView`` (its widgets table) and the HTML drawing of the grid.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Mapping
from typing import Any

GRID_COLUMNS = 12
"""Width of the dashboard grid in columns (``maxColumns`` 11 + 1 in the documented layout)."""

LAYOUT_KEYS = ("x", "y", "columns", "rows")
"""The layout fields of a widget, in order."""


def iter_sections(
    configuration: Mapping[str, Any],
) -> Iterator[tuple[Mapping[str, Any] | None, list[Mapping[str, Any]]]]:
    """``(None, top-level widgets)`` first, then each section by ordinal; non-objects skipped."""
    yield None, objects(configuration.get("widgets"))
    sections = objects(configuration.get("sections"))
    for section in sorted(sections, key=ordinal):
        yield section, objects(section.get("widgets"))


def widget_layout(widget: Mapping[str, Any]) -> dict[str, int | None]:
    """A widget's ``x``, ``y``, ``columns`` and ``rows`` (``None`` when absent or not a number)."""
    layout = widget.get("layout")
    layout = layout if isinstance(layout, Mapping) else {}
    return {key: int_or_none(layout.get(key)) for key in LAYOUT_KEYS}


def iter_widgets(
    configuration: Mapping[str, Any],
) -> Iterator[tuple[Mapping[str, Any] | None, Mapping[str, Any]]]:
    """Every widget with its section (``None`` for top-level ones), in display order."""
    for section, widgets in iter_sections(configuration):
        for widget in widgets:
            yield section, widget


def data_config(widget: Mapping[str, Any]) -> Mapping[str, Any]:
    """A widget's ``dataConfig`` object, or an empty mapping."""
    settings = widget.get("dataConfig")
    return settings if isinstance(settings, Mapping) else {}


def objects(value: object) -> list[Mapping[str, Any]]:
    """The mappings of a list (nothing, when the value is not a list)."""
    return [item for item in value if isinstance(item, Mapping)] if isinstance(value, list) else []


def ordinal(section: Mapping[str, Any]) -> float:
    """A section's sort key: its ``ordinal``, or last when it has none."""
    value = number_or_none(section.get("ordinal"))
    return math.inf if value is None else float(value)


def str_list(value: object) -> list[str]:
    """A string as a one-item list, or the strings of a list; else empty."""
    if isinstance(value, str):
        return [value]
    if isinstance(value, list):
        return [item for item in value if isinstance(item, str)]
    return []


def str_or_none(value: object) -> str | None:
    """The value if it is a string, else ``None``."""
    return value if isinstance(value, str) else None


def number_or_none(value: object) -> int | float | None:
    """The value if it is a number (not a bool; integral floats become ints), else ``None``."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


def int_or_none(value: object) -> int | None:
    """The value as an int if it is a finite number, else ``None``."""
    number = number_or_none(value)
    return None if number is None or not math.isfinite(number) else int(number)
