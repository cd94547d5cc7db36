"""Dashboard request bodies and response frames, without any I/O.

Arguments are normalised and checked here, before anything is sent (a bad argument raises
``TypeError`` or ``ValueError`` and no request leaves); the list response becomes a frame here.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping, Sequence
from typing import Any
from urllib.parse import quote

import pandas as pd

from upstack_pandas._query.checks import (
    ATTRIBUTION_MODELS,
    ATTRIBUTION_WINDOWS,
    GRANULARITIES,
    MAX_MEASURES,
)
from upstack_pandas.dashboards.view import DashboardView

VIEW_TYPES = ("view", "attribution_view", "pnl_view")
LAYOUTS = ("kpi-grid",)
LIST_COLUMNS = [
    "name",
    "type",
    "order",
    "widgetCount",
    "createdAt",
    "updatedAt",
    "pixelId",
    "createdBy",
    "updatedBy",
]
"""Columns of the list frame, present even when empty; further summary fields follow."""

PATH = "/accounts/api/dashboard/views"
_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
_MAX_NAME = 100
_MAX_CHART_TYPE = 50

ViewRef = DashboardView | str
DateLike = str | dt.date


def view_path(view: ViewRef) -> str:
    """Return the path of one view, its id percent-encoded.

    Parameters
    ----------
    view : DashboardView or str
        The view or its id.

    Returns
    -------
    str
    """
    view_id = view.id if isinstance(view, DashboardView) else view
    if not isinstance(view_id, str):
        raise TypeError(f"expected a DashboardView or an id string, got {type(view).__name__}")
    if not view_id.strip():
        raise ValueError("the dashboard view id is empty")
    return f"{PATH}/{quote(view_id, safe='')}"


def preset_body(
    name: str,
    n_measures: int,
    *,
    chart_types: str | Sequence[str] | None,
    type: str,
    layout: str,
    attribution_model: str,
    attribution_window: int,
    granularity: str,
    start: DateLike | None,
    end: DateLike | None,
) -> dict[str, Any]:
    """Check the ``from-preset`` arguments and return the body without ``measures``.

    Parameters are those of ``upstack_pandas.dashboards.Dashboards.build``, with
    ``n_measures`` the number of measures asked for (to pair ``chart_types`` with).

    Returns
    -------
    dict
    """
    body: dict[str, Any] = {
        "name": check_name(name),
        "type": check_choice(type, VIEW_TYPES, "type"),
        "layout": check_choice(layout, LAYOUTS, "layout"),
        "attributionModel": check_choice(
            attribution_model, ATTRIBUTION_MODELS, "attribution_model"
        ),
        "attributionWindow": _window(attribution_window),
        "granularity": check_choice(granularity, GRANULARITIES, "granularity"),
    }
    if chart_types is not None:
        body["chartTypes"] = _chart_types(chart_types, n_measures)
    if (start is None) != (end is None):
        raise ValueError(
            "give both start= and end=, or neither (the API then uses the last 30 days)"
        )
    if start is not None and end is not None:
        first, last = _date(start, "start"), _date(end, "end")
        if first > last:
            raise ValueError(f"start ({first}) is after end ({last})")
        body["dateRange"] = {"start": first.isoformat(), "end": last.isoformat()}
    return body


def measure_names(measures: str | Sequence[str]) -> list[str]:
    """Normalise the ``measures`` argument to a non-empty list of strings.

    Parameters
    ----------
    measures : str or sequence of str

    Returns
    -------
    list of str
    """
    names = [measures] if isinstance(measures, str) else list(measures)
    if not 1 <= len(names) <= MAX_MEASURES:
        raise ValueError(f"give 1 to {MAX_MEASURES} measures, not {len(names)}")
    for item in names:
        _nonempty_str(item, "each measure")
    return names


def check_name(name: object) -> str:
    """Return ``name`` if it is a 1–100 character string; raise otherwise."""
    text = _nonempty_str(name, "name")
    if len(text) > _MAX_NAME:
        raise ValueError(f"name is {len(text)} characters long; the API allows {_MAX_NAME}")
    return text


def check_choice(value: object, allowed: Sequence[Any], what: str) -> Any:
    """Return ``value`` if it is one of ``allowed``; raise ``ValueError`` naming them otherwise."""
    if isinstance(value, bool) or value not in allowed:
        raise ValueError(f"{what}={value!r} is not one of {', '.join(map(str, allowed))}")
    return value


def check_order(order: object) -> int | float:
    """Return ``order`` if it is a number (not a bool); raise ``TypeError`` otherwise."""
    if isinstance(order, bool) or not isinstance(order, int | float):
        raise TypeError(f"order must be a number, got {type(order).__name__}")
    return order


def configuration_body(configuration: object) -> dict[str, Any]:
    """Return a configuration to send: a mapping as a dict, or a view's configuration."""
    if isinstance(configuration, DashboardView):
        return dict(configuration.configuration)
    if not isinstance(configuration, Mapping):
        raise TypeError(
            f"configuration must be a mapping or a DashboardView, got {type(configuration).__name__}"
        )
    return dict(configuration)


def views_frame(items: object) -> pd.DataFrame:
    """Turn the ``dashboardViews`` summaries of a list response into a frame.

    Parameters
    ----------
    items : list of dict

    Returns
    -------
    pandas.DataFrame
        Indexed by ``id``, columns ``LIST_COLUMNS`` then any other fields.
    """
    records = (
        [dict(item) for item in items if isinstance(item, Mapping)]
        if isinstance(items, list)
        else []
    )
    frame = pd.DataFrame.from_records(records) if records else pd.DataFrame()
    for column in ["id", *LIST_COLUMNS]:
        if column not in frame.columns:
            frame[column] = pd.Series([None] * len(frame), dtype=object)
    for column in ("createdAt", "updatedAt"):
        frame[column] = pd.to_datetime(frame[column], utc=True, format="ISO8601")
    frame["widgetCount"] = pd.to_numeric(frame["widgetCount"]).astype("Int64")
    order = pd.to_numeric(frame["order"]).astype("Float64")
    integral = bool((order.dropna() % 1 == 0).all())
    frame["order"] = order.astype("Int64") if integral else order
    extras = [column for column in frame.columns if column not in ("id", *LIST_COLUMNS)]
    return frame.set_index(pd.Index(frame["id"], dtype=object, name="id"))[[*LIST_COLUMNS, *extras]]


def frame_build_kwargs(meta: Mapping[str, Any]) -> dict[str, Any]:
    """Read ``build`` keyword arguments from a frame's ``attrs["upstack"]``.

    Parameters
    ----------
    meta : Mapping
        The frame's metadata.

    Returns
    -------
    dict
        ``granularity``, ``start``/``end``, ``attribution_model`` and ``attribution_window``
        where the metadata holds valid values.
    """
    kwargs: dict[str, Any] = {}
    if meta.get("granularity") in GRANULARITIES:
        kwargs["granularity"] = meta["granularity"]
    date_range = meta.get("dateRange")
    if isinstance(date_range, Mapping) and date_range.get("start") and date_range.get("end"):
        kwargs["start"], kwargs["end"] = date_range["start"], date_range["end"]
    models = meta.get("attributionModel") or meta.get("attributionModels")
    model = models[0] if isinstance(models, list) and models else models
    if model in ATTRIBUTION_MODELS:
        kwargs["attribution_model"] = model
    window = meta.get("attributionWindow")
    if not isinstance(window, bool) and window in ATTRIBUTION_WINDOWS:
        kwargs["attribution_window"] = window
    return kwargs


def frame_dimensions(meta: Mapping[str, Any]) -> list[str]:
    """Return the dimension ids a frame was broken down by (``dimensions`` or ``dimension``)."""
    dimensions = meta.get("dimensions")
    if not isinstance(dimensions, list):
        dimensions = [meta.get("dimension")]
    return [item for item in dimensions if isinstance(item, str)]


def _chart_types(chart_types: str | Sequence[str], n_measures: int) -> list[str]:
    names = [chart_types] * n_measures if isinstance(chart_types, str) else list(chart_types)
    types = [_nonempty_str(item, "each chart type") for item in names]
    for item in types:
        if len(item) > _MAX_CHART_TYPE:
            raise ValueError(f"chart type {item[:20]!r}... is over {_MAX_CHART_TYPE} characters")
    if len(types) != n_measures:
        raise ValueError(
            f"chart_types has {len(types)} entries for {n_measures} measures; "
            "give one per measure, or a single string for all"
        )
    return types


def _window(window: object) -> int:
    if isinstance(window, bool) or not isinstance(window, int) or window not in ATTRIBUTION_WINDOWS:
        allowed = ", ".join(map(str, ATTRIBUTION_WINDOWS))
        raise ValueError(f"attribution_window={window!r} is not one of {allowed} (days)")
    return window


def _date(value: object, what: str) -> dt.date:
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    if isinstance(value, str) and _DATE.fullmatch(value):
        try:
            return dt.date.fromisoformat(value)
        except ValueError:
            pass
    raise ValueError(f"{what}={value!r} is not a date; use 'YYYY-MM-DD' or a datetime.date")


def _nonempty_str(value: object, what: str) -> str:
    if not isinstance(value, str):
        raise TypeError(f"{what} must be a string, got {type(value).__name__}")
    if not value.strip():
        raise ValueError(f"{what} is empty")
    return value
