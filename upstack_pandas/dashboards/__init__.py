"""Dashboard views: list, read, create, update, copy, delete and build them from measures.

The functions here use the default client (``upstack_pandas.get_default_client``, looked up
at call time) unless given ``client=``; ``client.dashboards`` offers the same operations as
methods of a ``Dashboards`` bound to that client::

    import upstack_pandas as up

    view = up.dashboards.build("NC + Meta Pulse", ["NC ROAS", "core.new_customer_mer", "meta.cpm"])
    view.widgets            # one row per widget
    up.dashboards.list()    # one row per view, indexed by id

Arguments are checked before any request is sent; errors from the API (``NotFound`` for a
missing view...) come from the client unchanged. Wherever a view id is taken, a
``DashboardView`` works too.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from upstack_pandas.dashboards.bodies import DateLike, ViewRef
from upstack_pandas.dashboards.operations import Dashboards
from upstack_pandas.dashboards.view import DashboardView

if TYPE_CHECKING:
    import pandas as pd

    from upstack_pandas._transport.client import Client

__all__ = [
    "DashboardView",
    "Dashboards",
    "add_section",
    "build",
    "copy",
    "create",
    "dashboards",
    "delete",
    "get",
    "list",
    "pin",
    "remove_section",
    "to_dashboard",
    "unpin",
    "update",
]

dashboards = Dashboards()
"""A ``Dashboards`` bound to the default client, looked up at call time."""


def list(type: str | None = None, *, client: Client | None = None) -> pd.DataFrame:
    """Summaries of the pixel's views.

    Parameters
    ----------
    type : {"view", "attribution_view", "pnl_view"}, optional
        Only views of this type; ``None`` lists every type.
    client : Client, optional
        Defaults to the default client.

    Returns
    -------
    pandas.DataFrame
        Indexed by ``id``; columns ``name``, ``type``, ``order``, ``widgetCount``,
        ``createdAt`` and ``updatedAt`` (UTC datetimes), then any other summary fields
        (``pixelId``, ``createdBy``...).
    """
    return Dashboards(client).list(type)


def get(view: ViewRef, *, client: Client | None = None) -> DashboardView:
    """Fetch one view with its full configuration.

    Parameters
    ----------
    view : DashboardView or str
        The view or its id.
    client : Client, optional
        Defaults to the default client.

    Returns
    -------
    DashboardView
    """
    return Dashboards(client).get(view)


def create(
    name: str,
    configuration: Mapping[str, Any] | DashboardView,
    *,
    type: str = "view",
    order: float | None = None,
    client: Client | None = None,
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
    client : Client, optional
        Defaults to the default client.

    Returns
    -------
    DashboardView
        The stored view.
    """
    return Dashboards(client).create(name, configuration, type=type, order=order)


def update(
    view: ViewRef,
    *,
    name: str | None = None,
    configuration: Mapping[str, Any] | DashboardView | None = None,
    order: float | None = None,
    client: Client | None = None,
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
    client : Client, optional
        Defaults to the default client.

    Returns
    -------
    DashboardView
        The view as stored after the update.

    Raises
    ------
    ValueError
        If none of ``name``, ``configuration`` and ``order`` is given.
    """
    return Dashboards(client).update(view, name=name, configuration=configuration, order=order)


def delete(view: ViewRef, *, client: Client | None = None) -> None:
    """Delete a view.

    Parameters
    ----------
    view : DashboardView or str
        The view or its id.
    client : Client, optional
        Defaults to the default client.
    """
    Dashboards(client).delete(view)


def copy(view: ViewRef, name: str | None = None, *, client: Client | None = None) -> DashboardView:
    """Duplicate a view.

    Parameters
    ----------
    view : DashboardView or str
        The view or its id.
    name : str, optional
        The copy's name; the API defaults to ``"Copy of <name>"``.
    client : Client, optional
        Defaults to the default client.

    Returns
    -------
    DashboardView
        The new view.
    """
    return Dashboards(client).copy(view, name)


def build(
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
    client: Client | None = None,
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
    client : Client, optional
        Defaults to the default client.

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
    return Dashboards(client).build(
        name,
        measures,
        chart_types=chart_types,
        type=type,
        layout=layout,
        attribution_model=attribution_model,
        attribution_window=attribution_window,
        granularity=granularity,
        start=start,
        end=end,
    )


def to_dashboard(
    df: pd.DataFrame, name: str, *, client: Client | None = None, **build_kwargs: Any
) -> DashboardView:
    """Build a dashboard view showing the measures of a frame.

    The measures are the keys of ``df.attrs["upstack"]["measures"]`` (or, without that
    metadata, the columns the catalog knows as measure ids). The granularity, date range and
    attribution model and window come from the frame's metadata where present; the frame's
    dimensions, if any, are then set on every widget with one more request.

    Parameters
    ----------
    df : pandas.DataFrame
        A frame from one of the readers.
    name : str
        The view's name.
    client : Client, optional
        Defaults to the default client.
    **build_kwargs
        Passed to ``build``, overriding what the metadata says.

    Returns
    -------
    DashboardView
        The new view.

    Raises
    ------
    ValueError
        If the frame holds no measure.
    """
    return Dashboards(client).to_dashboard(df, name, **build_kwargs)


def add_section(
    view: ViewRef,
    title: str,
    *,
    widgets: Sequence[Mapping[str, Any]] = (),
    collapsed: bool = False,
    hidden: bool = False,
    ordinal: int | None = None,
    client: Client | None = None,
) -> DashboardView:
    """Add a section to a view (GET, then PATCH of its configuration).

    Parameters
    ----------
    view : DashboardView or str
        The view or its id.
    title : str
        The section's title.
    widgets : list of dict, optional
        Its widgets, as the API spells them.
    collapsed, hidden : bool
        Display flags.
    ordinal : int, optional
        Its position; default after the last section.
    client : Client, optional
        Defaults to the default client.

    Returns
    -------
    DashboardView
        The view as stored after the update.
    """
    return Dashboards(client).add_section(
        view, title, widgets=widgets, collapsed=collapsed, hidden=hidden, ordinal=ordinal
    )


def remove_section(view: ViewRef, section: str, *, client: Client | None = None) -> DashboardView:
    """Remove a section (by id, or by title) from a view.

    Parameters
    ----------
    view : DashboardView or str
        The view or its id.
    section : str
        The section's id or title.
    client : Client, optional
        Defaults to the default client.

    Returns
    -------
    DashboardView
        The view as stored after the update.
    """
    return Dashboards(client).remove_section(view, section)


def pin(view: ViewRef, widget_id: str, *, client: Client | None = None) -> DashboardView:
    """Pin a widget: copy it into the view's "Pinned" section (created when missing).

    Parameters
    ----------
    view : DashboardView or str
        The view or its id.
    widget_id : str
        One of the view's widget ids.
    client : Client, optional
        Defaults to the default client.

    Returns
    -------
    DashboardView
        The view as stored after the update.
    """
    return Dashboards(client).pin(view, widget_id)


def unpin(view: ViewRef, widget_id: str, *, client: Client | None = None) -> DashboardView:
    """Unpin a widget: remove it from the view's "Pinned" section.

    Parameters
    ----------
    view : DashboardView or str
        The view or its id.
    widget_id : str
        The pinned copy's id or the original widget's.
    client : Client, optional
        Defaults to the default client.

    Returns
    -------
    DashboardView
        The view as stored after the update.
    """
    return Dashboards(client).unpin(view, widget_id)
