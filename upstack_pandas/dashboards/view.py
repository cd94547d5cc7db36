"""The ``DashboardView`` value object: load a view and tabulate its widgets.

Both documented configuration shapes load: the older one (``type``, ``attributionModel``,
``granularity``, ``widgets[].chartType``, ``viewFilters``) and the newer one (``sections``,
``defaultSettings``, ``widgets[].sourceWidgetId``). Unknown fields are kept in
``configuration`` untouched, and fields a shape lacks read as ``None``. Nothing here talks to
the API: ``upstack_pandas.dashboards.Dashboards`` fetches, this module only reads, and
``upstack_pandas.dashboards.html`` draws the grid.
"""

from __future__ import annotations

import copy
import dataclasses
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from upstack_pandas.dashboards.configuration import (
    LAYOUT_KEYS,
    data_config,
    iter_sections,
    iter_widgets,
    number_or_none,
    str_list,
    str_or_none,
    widget_layout,
)
from upstack_pandas.dashboards.html import render_html

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

SECTION_COLUMNS = ["id", "title", "ordinal", "collapsed", "hidden", "widgetCount"]
"""Columns of ``DashboardView.sections``, in order."""

PINNED_TITLE = "Pinned"
"""The title of the section ``pin`` and ``unpin`` manage (contract D97)."""


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
            type=str_or_none(view.get("type")),
            order=number_or_none(view.get("order")),
            pixel_id=str_or_none(view.get("pixelId")),
            configuration=copy.deepcopy(dict(configuration))
            if isinstance(configuration, Mapping)
            else {},
            created_at=_timestamp_or_none(view.get("createdAt")),
            updated_at=_timestamp_or_none(view.get("updatedAt")),
            created_by=str_or_none(view.get("createdBy")),
            updated_by=str_or_none(view.get("updatedBy")),
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
            _widget_row(section, widget) for section, widget in iter_widgets(self.configuration)
        ]
        return pd.DataFrame(
            {
                key: pd.Series(
                    [row[key] for row in rows], dtype="Int64" if key in LAYOUT_KEYS else object
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
        for _, widget in iter_widgets(self.configuration):
            seen.update(dict.fromkeys(str_list(data_config(widget).get("measures"))))
        return list(seen)

    @property
    def sections(self) -> pd.DataFrame:
        """One row per section of the newer configuration shape, by ordinal.

        Returns
        -------
        pandas.DataFrame
            Columns ``id``, ``title``, ``ordinal`` (``Int64``), ``collapsed``, ``hidden``
            (bools, ``False`` when absent) and ``widgetCount``. Empty for the older shape.
        """
        rows = [
            {
                "id": str_or_none(section.get("id")),
                "title": str_or_none(section.get("title")),
                "ordinal": number_or_none(section.get("ordinal")),
                "collapsed": section.get("collapsed") is True,
                "hidden": section.get("hidden") is True,
                "widgetCount": len(widgets),
            }
            for section, widgets in iter_sections(self.configuration)
            if section is not None
        ]
        frame = pd.DataFrame(rows, columns=SECTION_COLUMNS)
        frame["ordinal"] = frame["ordinal"].astype("Int64")
        frame["collapsed"] = frame["collapsed"].astype(bool)
        frame["hidden"] = frame["hidden"].astype(bool)
        frame["widgetCount"] = frame["widgetCount"].astype("int64")
        return frame

    def _with_configuration(self, configuration: dict[str, Any]) -> DashboardView:
        return dataclasses.replace(self, configuration=configuration)

    def with_section(
        self,
        title: str,
        *,
        widgets: Sequence[Mapping[str, Any]] = (),
        collapsed: bool = False,
        hidden: bool = False,
        ordinal: int | None = None,
    ) -> DashboardView:
        """A copy of the view with one more section (nothing is sent).

        Parameters
        ----------
        title : str
            The section's title (1–100 characters).
        widgets : list of dict, optional
            Its widgets, as the API spells them.
        collapsed, hidden : bool
            Display flags.
        ordinal : int, optional
            Its position (≥ 0); default after the last section.

        Returns
        -------
        DashboardView
            Pass it to ``up.dashboards.update(view, configuration=...)``, or use
            ``up.dashboards.add_section``, which does both.

        Raises
        ------
        ValueError
            A bad title or ordinal.
        """
        if not isinstance(title, str) or not 1 <= len(title.strip()) <= 100:
            raise ValueError(f"title must be 1 to 100 characters; got {title!r}")
        configuration = copy.deepcopy(self.configuration)
        sections = [s for s in configuration.get("sections") or () if isinstance(s, dict)]
        if ordinal is None:
            ordinal = 1 + max(
                (int(number_or_none(s.get("ordinal")) or 0) for s in sections), default=-1
            )
        if isinstance(ordinal, bool) or not isinstance(ordinal, int) or ordinal < 0:
            raise ValueError(f"ordinal must be an integer >= 0; got {ordinal!r}")
        sections.append(
            {
                "id": str(uuid.uuid4()),
                "title": title,
                "ordinal": ordinal,
                "collapsed": bool(collapsed),
                "hidden": bool(hidden),
                "widgets": [copy.deepcopy(dict(w)) for w in widgets],
            }
        )
        configuration["sections"] = sections
        return self._with_configuration(configuration)

    def without_section(self, section: str) -> DashboardView:
        """A copy of the view without a section (nothing is sent).

        Parameters
        ----------
        section : str
            The section's id, or its title when no id matches.

        Returns
        -------
        DashboardView

        Raises
        ------
        ValueError
            No section has that id or title (the titles are listed).
        """
        configuration = copy.deepcopy(self.configuration)
        sections = [s for s in configuration.get("sections") or () if isinstance(s, dict)]
        keep = [s for s in sections if s.get("id") != section]
        if len(keep) == len(sections):
            keep = [s for s in sections if s.get("title") != section]
        if len(keep) == len(sections):
            titles = ", ".join(repr(s.get("title")) for s in sections) or "none"
            raise ValueError(f"no section has the id or title {section!r}; sections: {titles}")
        configuration["sections"] = keep
        return self._with_configuration(configuration)

    def with_pinned(self, widget_id: str) -> DashboardView:
        """A copy of the view with a widget pinned: copied into the "Pinned" section.

        The copy gets a new ``id`` and ``sourceWidgetId`` set to the original's. The section is
        created first in order (ordinal 0, the others move down one) when missing. Pinning a
        widget already pinned changes nothing.

        Parameters
        ----------
        widget_id : str
            The id of a widget of this view (see ``widgets``).

        Returns
        -------
        DashboardView

        Raises
        ------
        ValueError
            No widget of the view has that id.
        """
        widget = next(
            (w for _, w in iter_widgets(self.configuration) if w.get("id") == widget_id), None
        )
        if widget is None:
            raise ValueError(f"the view has no widget {widget_id!r}; see view.widgets['id']")
        configuration = copy.deepcopy(self.configuration)
        sections = [s for s in configuration.get("sections") or () if isinstance(s, dict)]
        pinned = next((s for s in sections if s.get("title") == PINNED_TITLE), None)
        if pinned is None:
            for other in sections:
                value = number_or_none(other.get("ordinal"))
                other["ordinal"] = int(value or 0) + 1
            pinned = {"id": str(uuid.uuid4()), "title": PINNED_TITLE, "ordinal": 0,
                      "collapsed": False, "hidden": False, "widgets": []}  # fmt: skip
            sections.insert(0, pinned)
        members = [w for w in pinned.get("widgets") or () if isinstance(w, dict)]
        if any(widget_id in (w.get("id"), w.get("sourceWidgetId")) for w in members):
            return self
        copied = copy.deepcopy(dict(widget))
        copied["id"] = str(uuid.uuid4())
        copied["sourceWidgetId"] = widget_id
        pinned["widgets"] = [*members, copied]
        configuration["sections"] = sections
        return self._with_configuration(configuration)

    def without_pinned(self, widget_id: str) -> DashboardView:
        """A copy of the view with a widget unpinned: removed from the "Pinned" section.

        Parameters
        ----------
        widget_id : str
            The pinned copy's id, or the original widget's (its ``sourceWidgetId``).

        Returns
        -------
        DashboardView

        Raises
        ------
        ValueError
            The widget is not pinned.
        """
        configuration = copy.deepcopy(self.configuration)
        sections = [s for s in configuration.get("sections") or () if isinstance(s, dict)]
        pinned = next((s for s in sections if s.get("title") == PINNED_TITLE), None)
        members = [w for w in (pinned or {}).get("widgets") or () if isinstance(w, dict)]
        keep = [w for w in members if widget_id not in (w.get("id"), w.get("sourceWidgetId"))]
        if pinned is None or len(keep) == len(members):
            raise ValueError(f"the widget {widget_id!r} is not pinned")
        pinned["widgets"] = keep
        configuration["sections"] = sections
        return self._with_configuration(configuration)

    def __repr__(self) -> str:
        count = sum(1 for _ in iter_widgets(self.configuration))
        return (
            f"DashboardView(id={self.id!r}, name={self.name!r}, type={self.type!r}, "
            f"widgets={count})"
        )

    def _repr_html_(self) -> str:
        return render_html(self)


def _widget_row(section: Mapping[str, Any] | None, widget: Mapping[str, Any]) -> dict[str, Any]:
    settings = data_config(widget)
    return {
        "section": None if section is None else str_or_none(section.get("title")),
        "id": str_or_none(widget.get("id")),
        "title": str_or_none(widget.get("title")),
        "chartType": str_or_none(widget.get("chartType")),
        "measures": str_list(settings.get("measures")),
        "dimensions": str_list(settings.get("dimensions")),
        **widget_layout(widget),
        "sourceWidgetId": str_or_none(widget.get("sourceWidgetId")),
    }


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
