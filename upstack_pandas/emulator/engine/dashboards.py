"""Dashboard views: a small per-pixel store, and the ``from-preset`` KPI-grid builder.

Views live in SQLite: in memory by default, in a file when ``persist`` names one, so a
restarted emulator keeps them. Every method takes the caller's pixel and only ever sees that
pixel's rows: another pixel's view is exactly as absent as a missing one (the same 404).
Methods are serialised by one lock, so the store is safe to share between server threads.
The store knows nothing of HTTP; request bodies reach it already validated against the spec.
"""

from __future__ import annotations

import copy
import json
import math
import os
import sqlite3
import threading
import uuid
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, date, datetime, timedelta
from typing import Any, Protocol

from upstack_pandas.emulator.engine.api_errors import FieldError, invalid_body, view_not_found

__all__ = ["Catalog", "DashboardStore", "preset_configuration"]

_NAME_LIMIT = 100
_EXACT_INTS = 2.0**53
_GRID_COLUMNS = 12
_TILE = {"columns": 3, "rows": 2}
_PRESET_DEFAULTS: dict[str, Any] = {
    "attributionModel": "first_click",
    "attributionWindow": 30,
    "granularity": "day",
}


class Catalog(Protocol):
    """What ``from-preset`` needs of the measures catalog (the engine's ``Backend`` fits)."""

    def measure_ids(self) -> set[str]:
        """Return every known measure id."""

    def catalog_entry(self, measure_id: str) -> dict[str, Any]:
        """Return the catalog entry of a measure (it has ``shortTitle``)."""


def _timestamp() -> str:
    now = datetime.now(UTC)
    return now.strftime("%Y-%m-%dT%H:%M:%S.") + f"{now.microsecond // 1000:03d}Z"


def widget_count(configuration: Mapping[str, Any]) -> int:
    """Count the widgets of a configuration: top-level ones plus those in sections."""
    widgets = configuration.get("widgets")
    count = len(widgets) if isinstance(widgets, list) else 0
    sections = configuration.get("sections")
    for section in sections if isinstance(sections, list) else ():
        inner = section.get("widgets") if isinstance(section, dict) else None
        count += len(inner) if isinstance(inner, list) else 0
    return count


def preset_configuration(
    body: Mapping[str, Any], titles: Sequence[str], today: date
) -> dict[str, Any]:
    """Lay out one tile per measure on the 12-column KPI grid.

    Parameters
    ----------
    body : mapping
        A validated ``from-preset`` body (``measures``, optional ``chartTypes``, ...).
    titles : sequence of str
        The widget titles (catalog ``shortTitle``), one per measure.
    today : date
        The server's date; the default ``dateRange`` is the 30 complete days before it.

    Returns
    -------
    dict
        The configuration (older shape): global controls, ``grid`` and ``widgets``, where
        tile ``i`` sits at ``x = (i % 4) * 3``, ``y = (i // 4) * 2`` with 3 columns, 2 rows.
    """
    per_row = _GRID_COLUMNS // _TILE["columns"]
    chart_types = list(body.get("chartTypes", []))
    end = today - timedelta(days=1)
    widgets = [
        {
            "id": str(uuid.uuid4()),
            "title": title,
            "chartType": chart_types[i] if i < len(chart_types) else "sparkline",
            "layout": {
                "x": (i % per_row) * _TILE["columns"],
                "y": (i // per_row) * _TILE["rows"],
                **_TILE,
            },
            "dataConfig": {"measures": [measure], "dimensions": [], "filters": []},
        }
        for i, (measure, title) in enumerate(zip(body["measures"], titles, strict=True))
    ]
    return {
        **{key: body.get(key, default) for key, default in _PRESET_DEFAULTS.items()},
        "dateRange": body.get(
            "dateRange",
            {"start": (end - timedelta(days=29)).isoformat(), "end": end.isoformat()},
        ),
        "grid": {"maxWidth": 1200},
        "widgets": widgets,
        "filters": {},
    }


class DashboardStore:
    """Per-pixel dashboard views, in memory or in a SQLite file.

    Parameters
    ----------
    persist : str or os.PathLike, optional
        A SQLite file to keep views in across restarts; None keeps them in memory.
    clock : callable, optional
        Returns the ``createdAt``/``updatedAt`` stamps (default: wall clock, UTC, ms).
    """

    def __init__(
        self,
        persist: str | os.PathLike[str] | None = None,
        *,
        clock: Callable[[], str] = _timestamp,
    ) -> None:
        self._db = sqlite3.connect(
            os.fspath(persist) if persist is not None else ":memory:",
            check_same_thread=False,
            isolation_level=None,
        )
        self._db.execute(
            "CREATE TABLE IF NOT EXISTS dashboard_views ("
            " id TEXT PRIMARY KEY, pixel_id TEXT NOT NULL, type TEXT NOT NULL,"
            " ord REAL NOT NULL, doc TEXT NOT NULL)"
        )
        self._lock = threading.Lock()
        self._clock = clock

    def close(self) -> None:
        """Close the database (a persisted file keeps its views)."""
        with self._lock:
            self._db.close()

    # ----------------------------------------------------------------- internals

    def _row(self, pixel_id: str, view_id: str) -> dict[str, Any]:
        row = self._db.execute(
            "SELECT doc FROM dashboard_views WHERE id = ? AND pixel_id = ?", (view_id, pixel_id)
        ).fetchone()
        if row is None:
            raise view_not_found()
        view: dict[str, Any] = json.loads(row[0])
        return view

    def _save(self, view: Mapping[str, Any]) -> None:
        self._db.execute(
            "INSERT OR REPLACE INTO dashboard_views (id, pixel_id, type, ord, doc)"
            " VALUES (?, ?, ?, ?, ?)",
            (view["id"], view["pixelId"], view["type"], float(view["order"]), json.dumps(view)),
        )

    def _next_order(self, pixel_id: str) -> float:
        """Return one more than the pixel's highest order, rounded down (0 for the first)."""
        (highest,) = self._db.execute(
            "SELECT MAX(ord) FROM dashboard_views WHERE pixel_id = ?", (pixel_id,)
        ).fetchone()
        if highest is None:
            return 0
        highest = float(highest)
        # Whole numbers stay ints while exact in a double; beyond, the float itself.
        return math.floor(highest) + 1 if abs(highest) < _EXACT_INTS else highest + 1

    def _insert(
        self, pixel_id: str, *, name: str, configuration: Any, view_type: str, order: Any
    ) -> dict[str, Any]:
        stamp = self._clock()
        view = {
            "id": str(uuid.uuid4()),
            "pixelId": pixel_id,
            "type": view_type,
            "name": name,
            "configuration": configuration,
            "createdAt": stamp,
            "updatedAt": stamp,
            "createdBy": "",
            "updatedBy": "",
            "order": self._next_order(pixel_id) if order is None else order,
        }
        self._save(view)
        return view

    # ----------------------------------------------------------------- operations

    def summaries(self, pixel_id: str, view_type: str | None = None) -> list[dict[str, Any]]:
        """Return summaries (no ``configuration``, plus ``widgetCount``), by order then age."""
        sql = "SELECT doc FROM dashboard_views WHERE pixel_id = ?"
        params: tuple[str, ...] = (pixel_id,)
        if view_type is not None:
            sql, params = sql + " AND type = ?", (*params, view_type)
        with self._lock:
            rows = self._db.execute(sql + " ORDER BY ord, rowid", params).fetchall()
        summaries = []
        for (doc,) in rows:
            view = json.loads(doc)
            summary = {k: v for k, v in view.items() if k != "configuration"}
            summary["widgetCount"] = widget_count(view["configuration"])
            summaries.append(summary)
        return summaries

    def get(self, pixel_id: str, view_id: str) -> dict[str, Any]:
        """Return one view with its configuration; 404 if missing or another pixel's."""
        with self._lock:
            return self._row(pixel_id, view_id)

    def create(self, pixel_id: str, body: Mapping[str, Any]) -> dict[str, Any]:
        """Create a view from a validated create body (``type`` defaults to ``view``)."""
        with self._lock:
            return self._insert(
                pixel_id,
                name=body["name"],
                configuration=body["configuration"],
                view_type=body.get("type", "view"),
                order=body.get("order"),
            )

    def update(self, pixel_id: str, view_id: str, changes: Mapping[str, Any]) -> dict[str, Any]:
        """Apply a validated PATCH: ``name``/``configuration``/``order``, replaced wholesale."""
        with self._lock:
            view = self._row(pixel_id, view_id)
            view.update({k: changes[k] for k in ("name", "configuration", "order") if k in changes})
            view["updatedAt"] = self._clock()
            view["updatedBy"] = ""
            self._save(view)
            return view

    def delete(self, pixel_id: str, view_id: str) -> str:
        """Delete a view and return its id; 404 if missing or another pixel's."""
        with self._lock:
            deleted = self._db.execute(
                "DELETE FROM dashboard_views WHERE id = ? AND pixel_id = ?", (view_id, pixel_id)
            ).rowcount
        if not deleted:
            raise view_not_found()
        return view_id

    def copy(self, pixel_id: str, view_id: str, name: str | None = None) -> dict[str, Any]:
        """Copy a view (same type, deep-copied configuration, ``"Copy of <name>"``)."""
        with self._lock:
            source = self._row(pixel_id, view_id)
            return self._insert(
                pixel_id,
                name=name if name is not None else f"Copy of {source['name']}"[:_NAME_LIMIT],
                configuration=copy.deepcopy(source["configuration"]),
                view_type=source["type"],
                order=None,
            )

    def from_preset(
        self, pixel_id: str, body: Mapping[str, Any], catalog: Catalog, today: date
    ) -> dict[str, Any]:
        """Build and create a KPI-grid view; unknown measure ids are a 400 naming each one."""
        known = catalog.measure_ids()
        unknown: list[FieldError] = [
            {"path": f"measures.{i}", "message": f"unknown measure '{m}'"}
            for i, m in enumerate(body["measures"])
            if m not in known
        ]
        if unknown:
            raise invalid_body(unknown)
        titles = [str(catalog.catalog_entry(m)["shortTitle"]) for m in body["measures"]]
        configuration = preset_configuration(body, titles, today)
        with self._lock:
            return self._insert(
                pixel_id,
                name=body["name"],
                configuration=configuration,
                view_type=body.get("type", "view"),
                order=None,
            )

    def reset(self) -> None:
        """Delete every view of every pixel."""
        with self._lock:
            self._db.execute("DELETE FROM dashboard_views")
