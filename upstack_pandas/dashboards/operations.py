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

        Parameters
        ----------
        type : {"view", "attribution_view", "pnl_view"}, optional
            Only views of this type; ``None`` lists every type.

        Returns
        -------
        pandas.DataFrame
            Indexed by ``id``; columns ``name``, ``type``, ``order``, ``widgetCount``,
            ``createdAt`` and ``updatedAt`` (UTC datetimes), then any other summary fields
            (``pixelId``, ``createdBy``...).
        """
        params = None if type is None else {"type": check_choice(type, VIEW_TYPES, "type")}
        body = json_with(self._client.get(PATH, params=params), wire.DASHBOARD_VIEWS)
        return views_frame(body[wire.DASHBOARD_VIEWS])

    def get(self, view: ViewRef) -> DashboardView:
        """Fetch one view with its full configuration.

        Parameters
        ----------
        view : DashboardView or str
            The view or its id.

        Returns
        -------
        DashboardView
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

        Parameters
        ----------
        name : str
            1 to 100 characters.
        configuration : Mapping or DashboardView
            A ``DashboardViewConfiguration`` (either documented shape), or a view whose
            configuration to reuse.
        type : {"view", "attribution_view", "pnl_view"}, default "view"
        order : int or float, optional
            Position among the pixel's views.

        Returns
        -------
        DashboardView
            The stored view.
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

        Parameters
        ----------
        view : DashboardView or str
            The view or its id.
        name : str, optional
            The new name, 1 to 100 characters.
        configuration : Mapping or DashboardView, optional
            The new configuration. It replaces the stored one wholesale: to change one
            widget, edit a copy of ``view.configuration`` and pass it back.
        order : int or float, optional
            The new position.

        Returns
        -------
        DashboardView
            The view as stored after the update.

        Raises
        ------
        ValueError
            If none of ``name``, ``configuration`` and ``order`` is given.
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
        """Add a section to a view (reads the stored view, then patches its configuration).

        Parameters
        ----------
        view : DashboardView or str
            The view or its id.
        title : str
            The section's title.
        widgets : list of dict, optional
            Its widgets.
        collapsed, hidden : bool
            Display flags.
        ordinal : int, optional
            Its position; default after the last section.

        Returns
        -------
        DashboardView
            The view as stored after the update.
        """
        current = self.get(view)
        changed = current.with_section(
            title, widgets=widgets, collapsed=collapsed, hidden=hidden, ordinal=ordinal
        )
        return self.update(current, configuration=changed.configuration)

    def remove_section(self, view: ViewRef, section: str) -> DashboardView:
        """Remove a section (by id, or by title) from a view.

        Parameters
        ----------
        view : DashboardView or str
            The view or its id.
        section : str
            The section's id or title.

        Returns
        -------
        DashboardView
            The view as stored after the update.
        """
        current = self.get(view)
        return self.update(current, configuration=current.without_section(section).configuration)

    def pin(self, view: ViewRef, widget_id: str) -> DashboardView:
        """Pin a widget: copy it into the view's "Pinned" section (created when missing).

        Parameters
        ----------
        view : DashboardView or str
            The view or its id.
        widget_id : str
            One of the view's widget ids.

        Returns
        -------
        DashboardView
            The view as stored after the update (unchanged when already pinned).
        """
        current = self.get(view)
        changed = current.with_pinned(widget_id)
        if changed is current:
            return current
        return self.update(current, configuration=changed.configuration)

    def unpin(self, view: ViewRef, widget_id: str) -> DashboardView:
        """Unpin a widget: remove it from the view's "Pinned" section.

        Parameters
        ----------
        view : DashboardView or str
            The view or its id.
        widget_id : str
            The pinned copy's id or the original widget's.

        Returns
        -------
        DashboardView
            The view as stored after the update.
        """
        current = self.get(view)
        return self.update(current, configuration=current.without_pinned(widget_id).configuration)

    def delete(self, view: ViewRef) -> None:
        """Delete a view.

        Parameters
        ----------
        view : DashboardView or str
            The view or its id.
        """
        self._client.delete(view_path(view))

    def copy(self, view: ViewRef, name: str | None = None) -> DashboardView:
        """Duplicate a view.

        Parameters
        ----------
        view : DashboardView or str
            The view or its id.
        name : str, optional
            The copy's name; the API defaults to ``"Copy of <name>"``.

        Returns
        -------
        DashboardView
            The new view.
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

        Parameters
        ----------
        name : str
            1 to 100 characters.
        measures : str or sequence of str
            Measure ids or catalog titles / short titles (``"NC ROAS"``), resolved through
            the catalog.
        chart_types : str or sequence of str, optional
            One chart type per measure (positional), or one for all; the API's default
            is ``"sparkline"``.
        type : {"view", "attribution_view", "pnl_view"}, default "view"
        layout : str, default "kpi-grid"
            Auto-layout strategy (the API knows only ``"kpi-grid"`` today).
        attribution_model : {"first_click", "last_click", "any_click"}, default "first_click"
        attribution_window : {1, 3, 7, 14, 30, 60, 90}, default 30
            Lookback in days.
        granularity : str, default "day"
            One of ``none, second, minute, hour, day, week, month, quarter, year``.
        start, end : str or datetime.date, optional
            The view's date range (``YYYY-MM-DD``, inclusive), both or neither; the API
            defaults to the last 30 days.

        Returns
        -------
        DashboardView
            The new view.

        Raises
        ------
        ValueError
            On an invalid argument or a measure the catalog does not know (the message
            names the closest ids); raised before the view is created.
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

        The measures are the keys of ``df.attrs["upstack"]["measures"]`` (or, without that
        metadata, the columns the catalog knows as measure ids). The granularity, date range
        and attribution model and window come from the frame's metadata where present; the
        frame's dimensions, if any, are then set on every widget with one more request.

        Parameters
        ----------
        df : pandas.DataFrame
            A frame from one of the readers.
        name : str
            The view's name.
        **build_kwargs
            Passed to ``build``, overriding what the frame's metadata says.

        Returns
        -------
        DashboardView
            The new view.

        Raises
        ------
        ValueError
            If the frame holds no measure.
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
