"""The dashboard operations of one client: the ``Dashboards`` class (``Dashboards(client)``).

The module-level functions of ``upstack_pandas.dashboards`` call the same methods on the
default client.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from copy import deepcopy
from typing import TYPE_CHECKING, Any

import pandas as pd

from upstack_pandas import _wire as wire
from upstack_pandas import metadata
from upstack_pandas._query.checks import GRANULARITIES
from upstack_pandas._transport.response import json_with
from upstack_pandas.catalog import get_catalog, resolve_client
from upstack_pandas.dashboards.bodies import (
    PATH,
    VIEW_TYPES,
    DateLike,
    ViewRef,
    check_choice,
    check_name,
    check_order,
    configuration_body,
    frame_build_kwargs,
    frame_dimensions,
    measure_names,
    preset_body,
    view_path,
    views_frame,
)
from upstack_pandas.dashboards.view import DashboardView

if TYPE_CHECKING:
    from upstack_pandas._transport.client import ApiResponse, Client

__all__ = ["Dashboards"]


class Dashboards:
    """The dashboard views of one pixel.

    Parameters
    ----------
    client : Client, optional
        The client to send requests with. ``None`` uses
        ``upstack_pandas.get_default_client()`` at the time of each call, as the functions
        of ``upstack_pandas.dashboards`` do. ``Dashboards(client)`` is one bound to ``client``.

    Notes
    -----
    Wherever a view id is taken, a ``DashboardView`` works too.
    """

    def __init__(self, client: Client | None = None) -> None:
        self._bound = client

    def __repr__(self) -> str:
        return f"Dashboards(client={'<default>' if self._bound is None else repr(self._bound)})"

    @property
    def _client(self) -> Client:
        return resolve_client(self._bound)

    def list(self, type: str | None = None) -> pd.DataFrame:
        """Summaries of the pixel's views.

        As ``up.dashboards.list`` on this client: its parameters (but ``client=``),
        return value and errors.
        """
        params = None if type is None else {"type": check_choice(type, VIEW_TYPES, "type")}
        body = json_with(self._client.get(PATH, params=params), wire.DASHBOARD_VIEWS)
        return views_frame(body[wire.DASHBOARD_VIEWS])

    def get(self, view: ViewRef) -> DashboardView:
        """Fetch one view with its full configuration.

        As ``up.dashboards.get`` on this client: its parameters (but ``client=``),
        return value and errors.
        """
        return _view(self._client.get(view_path(view))).bound_to(self._client)

    def create(
        self,
        name: str,
        configuration: Mapping[str, Any] | DashboardView,
        *,
        type: str = "view",
        order: float | None = None,
    ) -> DashboardView:
        """Create a view from a full configuration.

        As ``up.dashboards.create`` on this client: its parameters (but ``client=``),
        return value and errors.
        """
        body: dict[str, Any] = {
            "type": check_choice(type, VIEW_TYPES, "type"),
            "name": check_name(name),
            "configuration": configuration_body(configuration),
        }
        if order is not None:
            body["order"] = check_order(order)
        return _view(self._client.post(PATH, json=body)).bound_to(self._client)

    def update(
        self,
        view: ViewRef,
        *,
        name: str | None = None,
        configuration: Mapping[str, Any] | DashboardView | None = None,
        order: float | None = None,
    ) -> DashboardView:
        """Change a view's name, configuration or order (only the ones given).

        As ``up.dashboards.update`` on this client: its parameters (but ``client=``),
        return value and errors.
        """
        body: dict[str, Any] = {}
        if name is not None:
            body["name"] = check_name(name)
        if configuration is not None:
            body["configuration"] = configuration_body(configuration)
        if order is not None:
            body["order"] = check_order(order)
        if not body:
            raise ValueError("update needs at least one of name=, configuration= or order=")
        return _view(self._client.patch(view_path(view), json=body)).bound_to(self._client)

    def add_section(
        self,
        view: ViewRef,
        title: str,
        *,
        widgets: Sequence[Mapping[str, Any]] = (),
        collapsed: bool = False,
        hidden: bool = False,
        ordinal: int | None = None,
    ) -> DashboardView:
        """Add a section to a view (GET, then PATCH of its configuration).

        As ``up.dashboards.add_section`` on this client: its parameters (but ``client=``),
        return value and errors.
        """
        current = self.get(view)
        changed = current.with_section(
            title, widgets=widgets, collapsed=collapsed, hidden=hidden, ordinal=ordinal
        )
        return self.update(current, configuration=changed.configuration)

    def remove_section(self, view: ViewRef, section: str) -> DashboardView:
        """Remove a section (by id, or by title) from a view.

        As ``up.dashboards.remove_section`` on this client: its parameters (but ``client=``),
        return value and errors.
        """
        current = self.get(view)
        return self.update(current, configuration=current.without_section(section).configuration)

    def pin(self, view: ViewRef, widget_id: str) -> DashboardView:
        """Pin a widget: copy it into the view's "Pinned" section (created when missing).

        As ``up.dashboards.pin`` on this client: its parameters (but ``client=``),
        return value and errors.
        """
        current = self.get(view)
        changed = current.with_pinned(widget_id)
        if changed is current:
            return current
        return self.update(current, configuration=changed.configuration)

    def unpin(self, view: ViewRef, widget_id: str) -> DashboardView:
        """Unpin a widget: remove it from the view's "Pinned" section.

        As ``up.dashboards.unpin`` on this client: its parameters (but ``client=``),
        return value and errors.
        """
        current = self.get(view)
        return self.update(current, configuration=current.without_pinned(widget_id).configuration)

    def delete(self, view: ViewRef) -> None:
        """Delete a view.

        As ``up.dashboards.delete`` on this client: its parameters (but ``client=``),
        return value and errors.
        """
        self._client.delete(view_path(view))

    def copy(self, view: ViewRef, name: str | None = None) -> DashboardView:
        """Duplicate a view.

        As ``up.dashboards.copy`` on this client: its parameters (but ``client=``),
        return value and errors.
        """
        body = {} if name is None else {"name": check_name(name)}
        return _view(self._client.post(f"{view_path(view)}/copy", json=body)).bound_to(self._client)

    def build(
        self,
        name: str,
        measures: str | Sequence[str],
        *,
        chart_types: str | Sequence[str] | None = None,
        type: str = "view",
        layout: str = "kpi-grid",
        attribution_model: str = "first_click",
        attribution_window: int = 30,
        granularity: str = "day",
        start: DateLike | None = None,
        end: DateLike | None = None,
    ) -> DashboardView:
        """Build a view with one tile per measure (the ``from-preset`` endpoint).

        As ``up.dashboards.build`` on this client: its parameters (but ``client=``),
        return value and errors.
        """
        names = measure_names(measures)
        body = preset_body(
            name,
            len(names),
            chart_types=chart_types,
            type=type,
            layout=layout,
            attribution_model=attribution_model,
            attribution_window=attribution_window,
            granularity=granularity,
            start=start,
            end=end,
        )
        client = self._client
        catalog = get_catalog(client)  # a tile per name: the same measure may appear twice
        body["measures"] = [catalog.resolve([name])[0] for name in names]
        return _view(client.post(f"{PATH}/from-preset", json=body)).bound_to(client)

    def to_dashboard(self, df: pd.DataFrame, name: str, **build_kwargs: Any) -> DashboardView:
        """Build a dashboard view showing the measures of a frame.

        As ``up.dashboards.to_dashboard`` on this client: its parameters (but ``client=``),
        return value and errors.
        """
        meta = df.attrs.get("upstack")
        meta = meta if isinstance(meta, Mapping) else {}
        client = self._client
        views = Dashboards(client)
        measures = _frame_measures(df, meta, client)
        from_frame = {**frame_build_kwargs(meta), **frame_scope_kwargs(df)}
        view = views.build(name, measures, **{**from_frame, **build_kwargs})
        dimensions = frame_dimensions(meta)
        if not dimensions:
            return view
        configuration = deepcopy(view.configuration)
        for widget in configuration.get("widgets", []):
            widget.setdefault("dataConfig", {})["dimensions"] = dimensions
        return views.update(view, configuration=configuration)


def frame_scope_kwargs(df: pd.DataFrame) -> dict[str, Any]:
    """``start``/``end``/``granularity`` of a frame's own rows, when it no longer matches its query.

    A sliced or re-aggregated frame still carries its query's ``dateRange``; the view is built
    for the rows the frame holds instead.
    """
    covered = metadata.covered_range(df)
    if covered is None or not metadata.scope_mismatch(df):
        return {}
    kwargs: dict[str, Any] = {"start": covered[0].isoformat(), "end": covered[1].isoformat()}
    granularity = metadata.actual_granularity(df)
    if granularity in GRANULARITIES:
        kwargs["granularity"] = granularity
    return kwargs


def _view(response: ApiResponse) -> DashboardView:
    """The view in a response; ``TransportError`` when the body is not one."""
    body = response.json()
    try:
        if not isinstance(body, Mapping):
            raise ValueError("not a dashboard view: expected a JSON object")
        return DashboardView.from_dict(body)
    except ValueError as exc:
        raise response.unexpected(str(exc)) from None


def _frame_measures(df: pd.DataFrame, meta: Mapping[str, Any], client: Client) -> list[str]:
    described = meta.get("measures")
    if isinstance(described, Mapping) and described:
        return [str(measure) for measure in described]
    catalog = get_catalog(client)
    found = [c for c in df.columns if isinstance(c, str) and catalog.get(c) is not None]
    if not found:
        raise ValueError(
            "the frame holds no measure: no attrs['upstack']['measures'] and no column is a "
            "catalog measure id"
        )
    return found
