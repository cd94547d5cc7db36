"""The ``DashboardView`` value object: load a view, tabulate its widgets, draw its grid.

Both documented configuration shapes load: the older one (``type``, ``attributionModel``,
``granularity``, ``widgets[].chartType``, ``viewFilters``) and the newer one (``sections``,
``defaultSettings``, ``widgets[].sourceWidgetId``). Unknown fields are kept in
``configuration`` untouched, and fields a shape lacks read as ``None``. Nothing here talks to
the API: ``upstack_pandas.dashboards.Dashboards`` fetches, this module only reads.
"""

from __future__ import annotations

import copy
import html
import math
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

GRID_COLUMNS = 12
"""Width of the dashboard grid in columns (``maxColumns`` 11 + 1 in the documented layout)."""

WIDGET_COLUMNS = [
    "section",
    "id",
    "title",
    "chartType",
    "measures",
    "dimensions",
    "x",
    "y",
    "columns",
    "rows",
    "sourceWidgetId",
]
"""Columns of ``DashboardView.widgets``, in order."""

_LAYOUT_KEYS = ("x", "y", "columns", "rows")


@dataclass(frozen=True, repr=False)
class DashboardView:
    """One dashboard view as the API returns it.

    Build it with ``from_dict`` (or get it from ``client.dashboards``); the constructor
    takes the already-parsed fields. The object is frozen, but ``configuration`` is a plain
    ``dict`` (a deep copy of the response): editing it changes nothing on the server until
    you pass it to ``Dashboards.update``.

    Attributes
    ----------
    id : str
        The view id (a UUID4 string).
    name : str
        The display name.
    type : str or None
        ``"view"``, ``"attribution_view"`` or ``"pnl_view"``; ``None`` when the API omits it.
    order : int, float or None
        Position among the pixel's views.
    pixel_id : str or None
        The pixel that owns the view.
    configuration : dict
        The full ``DashboardViewConfiguration``, as stored (either documented shape).
    created_at, updated_at : pandas.Timestamp or None
        Timestamps in UTC.
    created_by, updated_by : str or None
        User ids; empty strings for writes made with an API key.
    """

    id: str
    name: str
    type: str | None = None
    order: int | float | None = None
    pixel_id: str | None = None
    configuration: dict[str, Any] = field(default_factory=dict, hash=False)
    created_at: pd.Timestamp | None = None
    updated_at: pd.Timestamp | None = None
    created_by: str | None = None
    updated_by: str | None = None

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> DashboardView:
        """Load a view from its JSON form.

        Parameters
        ----------
        data : Mapping
            A ``DashboardView`` object, or a response body wrapping one as
            ``{"dashboardView": {...}}``.

        Returns
        -------
        DashboardView

        Raises
        ------
        ValueError
            If ``data`` has no string ``id`` or ``name``.
        """
        view = data.get("dashboardView", data)
        if not isinstance(view, Mapping):
            raise ValueError("not a dashboard view: expected a JSON object")
        for key in ("id", "name"):
            if not isinstance(view.get(key), str):
                raise ValueError(f"not a dashboard view: missing string field {key!r}")
        configuration = view.get("configuration")
        return cls(
            id=view["id"],
            name=view["name"],
            type=_str_or_none(view.get("type")),
            order=_number_or_none(view.get("order")),
            pixel_id=_str_or_none(view.get("pixelId")),
            configuration=copy.deepcopy(dict(configuration))
            if isinstance(configuration, Mapping)
            else {},
            created_at=_timestamp_or_none(view.get("createdAt")),
            updated_at=_timestamp_or_none(view.get("updatedAt")),
            created_by=_str_or_none(view.get("createdBy")),
            updated_by=_str_or_none(view.get("updatedBy")),
        )

    def to_dict(self) -> dict[str, Any]:
        """Return the view in its JSON form (camelCase keys, ISO 8601 timestamps).

        Returns
        -------
        dict
            Keys whose value is ``None`` are left out.
        """
        out: dict[str, Any] = {
            "id": self.id,
            "pixelId": self.pixel_id,
            "type": self.type,
            "name": self.name,
            "configuration": copy.deepcopy(self.configuration),
            "order": self.order,
            "createdAt": _iso(self.created_at),
            "updatedAt": _iso(self.updated_at),
            "createdBy": self.created_by,
            "updatedBy": self.updated_by,
        }
        return {key: value for key, value in out.items() if value is not None}

    @property
    def widgets(self) -> pd.DataFrame:
        """One row per widget: top-level ``widgets`` first, then each section's, by ordinal.

        Returns
        -------
        pandas.DataFrame
            Columns ``section`` (the section title, ``None`` for top-level widgets), ``id``,
            ``title``, ``chartType`` (``None`` when the shape has none), ``measures`` and
            ``dimensions`` (lists of ids), ``x``, ``y``, ``columns``, ``rows`` (``Int64``,
            missing when the widget has no layout) and ``sourceWidgetId``.
        """
        rows = [
            _widget_row(section, widget) for section, widget in _iter_widgets(self.configuration)
        ]
        return pd.DataFrame(
            {
                key: pd.Series(
                    [row[key] for row in rows], dtype="Int64" if key in _LAYOUT_KEYS else object
                )
                for key in WIDGET_COLUMNS
            }
        )

    @property
    def measures(self) -> list[str]:
        """The measure ids the widgets show, each once, in widget order.

        Returns
        -------
        list of str
        """
        seen: dict[str, None] = {}
        for _, widget in _iter_widgets(self.configuration):
            seen.update(dict.fromkeys(_str_list(_data_config(widget).get("measures"))))
        return list(seen)

    def __repr__(self) -> str:
        count = sum(1 for _ in _iter_widgets(self.configuration))
        return (
            f"DashboardView(id={self.id!r}, name={self.name!r}, type={self.type!r}, "
            f"widgets={count})"
        )

    def _repr_html_(self) -> str:
        return _render_html(self)


def _iter_sections(
    configuration: Mapping[str, Any],
) -> Iterator[tuple[Mapping[str, Any] | None, list[Mapping[str, Any]]]]:
    # (None, top-level widgets) first, then each section by ordinal; non-objects are skipped

    yield None, _objects(configuration.get("widgets"))
    sections = _objects(configuration.get("sections"))
    for section in sorted(sections, key=_ordinal):
        yield section, _objects(section.get("widgets"))


def _widget_layout(widget: Mapping[str, Any]) -> dict[str, int | None]:
    layout = widget.get("layout")
    layout = layout if isinstance(layout, Mapping) else {}
    return {key: _int_or_none(layout.get(key)) for key in _LAYOUT_KEYS}


def _iter_widgets(
    configuration: Mapping[str, Any],
) -> Iterator[tuple[Mapping[str, Any] | None, Mapping[str, Any]]]:
    for section, widgets in _iter_sections(configuration):
        for widget in widgets:
            yield section, widget


def _widget_row(section: Mapping[str, Any] | None, widget: Mapping[str, Any]) -> dict[str, Any]:
    data_config = _data_config(widget)
    return {
        "section": None if section is None else _str_or_none(section.get("title")),
        "id": _str_or_none(widget.get("id")),
        "title": _str_or_none(widget.get("title")),
        "chartType": _str_or_none(widget.get("chartType")),
        "measures": _str_list(data_config.get("measures")),
        "dimensions": _str_list(data_config.get("dimensions")),
        **_widget_layout(widget),
        "sourceWidgetId": _str_or_none(widget.get("sourceWidgetId")),
    }


def _data_config(widget: Mapping[str, Any]) -> Mapping[str, Any]:
    data_config = widget.get("dataConfig")
    return data_config if isinstance(data_config, Mapping) else {}


def _objects(value: object) -> list[Mapping[str, Any]]:
    return [item for item in value if isinstance(item, Mapping)] if isinstance(value, list) else []


def _ordinal(section: Mapping[str, Any]) -> float:
    value = _number_or_none(section.get("ordinal"))
    return math.inf if value is None else float(value)


def _str_list(value: object) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, list):
        return [item for item in value if isinstance(item, str)]
    return []


def _str_or_none(value: object) -> str | None:
    return value if isinstance(value, str) else None


def _number_or_none(value: object) -> int | float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


def _int_or_none(value: object) -> int | None:
    number = _number_or_none(value)
    return None if number is None or not math.isfinite(number) else int(number)


def _timestamp_or_none(value: object) -> pd.Timestamp | None:
    if not isinstance(value, str) or not value:
        return None
    try:
        stamp = pd.Timestamp(value)
    except ValueError:
        return None
    if pd.isna(stamp):
        return None
    return stamp.tz_localize("UTC") if stamp.tzinfo is None else stamp.tz_convert("UTC")


def _iso(value: pd.Timestamp | None) -> str | None:
    return None if value is None else value.isoformat().replace("+00:00", "Z")


# --- HTML: the 12-column grid, as the web app lays it out ------------------------------------

_GRID = (
    f"display:grid;grid-template-columns:repeat({GRID_COLUMNS},minmax(0,1fr));"
    "grid-auto-rows:28px;gap:4px;margin-bottom:8px"
)
_BOX = (
    "border:1px solid rgba(127,127,127,.45);border-radius:4px;padding:2px 6px;"
    "overflow:hidden;background:rgba(127,127,127,.08)"
)
_ONE_LINE = "white-space:nowrap;overflow:hidden;text-overflow:ellipsis"


def _render_html(view: DashboardView) -> str:
    config = view.configuration
    grid = config.get("grid")
    max_width = _int_or_none(grid.get("maxWidth")) if isinstance(grid, Mapping) else None
    count = sum(1 for _ in _iter_widgets(config))
    parts = [
        f'<div class="upstack-dashboard-view" style="font-family:sans-serif;font-size:13px;'
        f'max-width:{max_width or 1200}px">',
        f'<div style="margin-bottom:6px"><b>{_esc(view.name)}</b> '
        f'<span style="opacity:.7">{_esc(" · ".join(_summary(view, count)))}</span></div>',
    ]
    for section, widgets in _iter_sections(config):
        if section is None:
            if widgets or count == 0:
                parts.append(_grid_html(widgets))
            continue
        flags = [flag for flag in ("collapsed", "hidden") if section.get(flag) is True]
        heading = _str_or_none(section.get("title")) or "(untitled section)"
        suffix = f" ({', '.join(flags)})" if flags else ""
        parts.append(f'<div style="margin:4px 0;font-weight:600">{_esc(heading + suffix)}</div>')
        parts.append(_grid_html(widgets))
    parts.append("</div>")
    return "\n".join(parts)


def _summary(view: DashboardView, count: int) -> list[str]:
    config = view.configuration
    items = [view.type or "", f"{count} widget{'s' if count != 1 else ''}"]
    items.append(_str_or_none(config.get("granularity")) or "")
    model = _str_or_none(config.get("attributionModel")) or ""
    window = _int_or_none(config.get("attributionWindow"))
    items.append(f"{model} {window} d".strip() if window is not None else model)
    date_range = config.get("dateRange")
    if isinstance(date_range, Mapping):
        items.append(f"{date_range.get('start', '')} – {date_range.get('end', '')}")
    items.append(view.id)
    return [item for item in items if item]


def _grid_html(widgets: list[Mapping[str, Any]]) -> str:
    if not widgets:
        return '<div style="opacity:.6;margin-bottom:8px">(no widgets)</div>'
    boxes = "".join(_widget_html(widget) for widget in widgets)
    return f'<div style="{_GRID}">{boxes}</div>'


def _widget_html(widget: Mapping[str, Any]) -> str:
    layout = _widget_layout(widget)
    x, y = layout["x"], layout["y"]
    columns = max(1, min(_default(layout["columns"], 3), GRID_COLUMNS))
    rows = max(1, _default(layout["rows"], 2))
    if x is not None:
        x = max(0, min(x, GRID_COLUMNS - 1))
        columns = min(columns, GRID_COLUMNS - x)
    column = f"{x + 1} / span {columns}" if x is not None else f"span {columns}"
    row = f"{max(0, y) + 1} / span {rows}" if y is not None else f"span {rows}"
    measures = _str_list(_data_config(widget).get("measures"))
    title = _str_or_none(widget.get("title")) or _str_or_none(widget.get("id")) or "(untitled)"
    detail = " · ".join(filter(None, [_str_or_none(widget.get("chartType")), ", ".join(measures)]))
    return (
        f'<div style="grid-column:{column};grid-row:{row};{_BOX}" title="{_esc(", ".join(measures))}">'
        f'<div style="font-weight:600;{_ONE_LINE}">{_esc(title)}</div>'
        f'<div style="opacity:.7;font-size:11px;{_ONE_LINE}">{_esc(detail)}</div></div>'
    )


def _default(value: int | None, default: int) -> int:
    return default if value is None else value


def _esc(value: str) -> str:
    return html.escape(value, quote=True)
