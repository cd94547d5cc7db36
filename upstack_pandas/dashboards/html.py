"""The HTML drawing of a ``DashboardView``: its 12-column grid, as the web app lays it out.

With the view's numbers (:mod:`upstack_pandas.dashboards.numbers`) each widget shows its
measures' current values and a sparkline; without them (a view read by no client, or a custom
metric) the widget shows its chart type and measure ids.
"""

from __future__ import annotations

import html
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from upstack_pandas.dashboards.configuration import (
    GRID_COLUMNS,
    data_config,
    int_or_none,
    iter_sections,
    iter_widgets,
    str_list,
    str_or_none,
    widget_layout,
)

if TYPE_CHECKING:
    from upstack_pandas.dashboards.numbers import MeasureNumbers
    from upstack_pandas.dashboards.view import DashboardView

Numbers = Mapping[str, "MeasureNumbers"]


_GRID = (
    f"display:grid;grid-template-columns:repeat({GRID_COLUMNS},minmax(0,1fr));"
    "grid-auto-rows:minmax(28px,auto);gap:4px;margin-bottom:8px"
)
_BOX = (
    "border:1px solid rgba(127,127,127,.45);border-radius:4px;padding:2px 6px;"
    "overflow:hidden;background:rgba(127,127,127,.08)"
)
_ONE_LINE = "white-space:nowrap;overflow:hidden;text-overflow:ellipsis"


def render_html(
    view: DashboardView, numbers: Numbers | None = None, *, problem: str | None = None
) -> str:
    """The view as an HTML fragment: its name, a summary line, where to open it, the grid.

    ``numbers`` (by measure id) put each widget's current values and sparklines in its box;
    ``problem`` is said under the heading when numbers were wanted but could not be read.
    """
    config = view.configuration
    grid = config.get("grid")
    max_width = int_or_none(grid.get("maxWidth")) if isinstance(grid, Mapping) else None
    count = sum(1 for _ in iter_widgets(config))
    parts = [
        f'<div class="upstack-dashboard-view" style="font-family:sans-serif;font-size:13px;'
        f'max-width:{max_width or 1200}px">',
        f'<div style="margin-bottom:6px"><b>{_esc(view.name)}</b> '
        f'<span style="opacity:.7">{_esc(" · ".join(_summary(view, count)))}</span></div>',
        f'<div style="opacity:.7;font-size:11px;margin-bottom:6px">{_esc(view.open_hint)}'
        f"{_esc(_range_note(numbers))}</div>",
    ]
    if problem:
        parts.append(f'<div style="color:#cf222e;font-size:11px">{_esc(problem)}</div>')
    for section, widgets in iter_sections(config):
        if section is None:
            if widgets or count == 0:
                parts.append(_grid_html(widgets, numbers))
            continue
        flags = [flag for flag in ("collapsed", "hidden") if section.get(flag) is True]
        heading = str_or_none(section.get("title")) or "(untitled section)"
        suffix = f" ({', '.join(flags)})" if flags else ""
        parts.append(f'<div style="margin:4px 0;font-weight:600">{_esc(heading + suffix)}</div>')
        parts.append(_grid_html(widgets, numbers))
    parts.append("</div>")
    return "\n".join(parts)


def _summary(view: DashboardView, count: int) -> list[str]:
    config = view.configuration
    items = [view.type or "", f"{count} widget{'s' if count != 1 else ''}"]
    items.append(str_or_none(config.get("granularity")) or "")
    model = str_or_none(config.get("attributionModel")) or ""
    window = int_or_none(config.get("attributionWindow"))
    items.append(f"{model} {window} d".strip() if window is not None else model)
    date_range = config.get("dateRange")
    if isinstance(date_range, Mapping):
        items.append(f"{date_range.get('start', '')} – {date_range.get('end', '')}")
    items.append(view.id)
    return [item for item in items if item]


def _range_note(numbers: Numbers | None) -> str:
    first = next(iter(numbers.values()), None) if numbers else None
    if first is None:
        return ""
    return f" · numbers for {first.start} – {first.end}, by {first.granularity}"


def _grid_html(widgets: list[Mapping[str, Any]], numbers: Numbers | None = None) -> str:
    if not widgets:
        return '<div style="opacity:.6;margin-bottom:8px">(no widgets)</div>'
    boxes = "".join(_widget_html(widget, numbers) for widget in widgets)
    return f'<div style="{_GRID}">{boxes}</div>'


def _numbers_html(measures: list[str], numbers: Numbers) -> str:
    from upstack_pandas.dashboards.numbers import sparkline_svg

    lines = []
    for measure in measures:
        found = numbers.get(measure)
        if found is None:
            continue
        label = f"{found.title}, {found.start} to {found.end}"
        lines.append(
            f'<div class="upstack-widget-number" data-measure="{_esc(measure)}" '
            f'style="display:flex;align-items:center;gap:6px">'
            f'<span style="font-size:16px;font-weight:600">{_esc(found.text)}</span>'
            f"{sparkline_svg(found.series, label=label)}</div>"
        )
    return "".join(lines)


def _widget_html(widget: Mapping[str, Any], numbers: Numbers | None = None) -> str:
    layout = widget_layout(widget)
    x, y = layout["x"], layout["y"]
    columns = max(1, min(_default(layout["columns"], 3), GRID_COLUMNS))
    rows = max(1, _default(layout["rows"], 2))
    if x is not None:
        x = max(0, min(x, GRID_COLUMNS - 1))
        columns = min(columns, GRID_COLUMNS - x)
    column = f"{x + 1} / span {columns}" if x is not None else f"span {columns}"
    row = f"{max(0, y) + 1} / span {rows}" if y is not None else f"span {rows}"
    measures = str_list(data_config(widget).get("measures"))
    title = str_or_none(widget.get("title")) or str_or_none(widget.get("id")) or "(untitled)"
    detail = " · ".join(filter(None, [str_or_none(widget.get("chartType")), ", ".join(measures)]))
    return (
        f'<div style="grid-column:{column};grid-row:{row};{_BOX}" title="{_esc(", ".join(measures))}">'
        f'<div style="font-weight:600;{_ONE_LINE}">{_esc(title)}</div>'
        f'<div style="opacity:.7;font-size:11px;{_ONE_LINE}">{_esc(detail)}</div>'
        f"{_numbers_html(measures, numbers) if numbers else ''}</div>"
    )


def _default(value: int | None, default: int) -> int:
    return default if value is None else value


def _esc(value: str) -> str:
    return html.escape(value, quote=True)
