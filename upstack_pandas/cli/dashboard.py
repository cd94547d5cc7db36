"""``upstack-pandas dashboard view ...``: list, show, create, update, copy, delete, build, sections, pins."""

from __future__ import annotations

import argparse
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from upstack_pandas.cli._command import CommandError
from upstack_pandas.cli._common import library_errors, split_list
from upstack_pandas.cli._options import (
    FileOptions,
    action,
    add_dates,
    add_from_file,
    api_client,
    apply_change,
    deleted,
    dispatch,
    emit_frame,
    emit_object,
    file_date,
    file_list,
    merge_from_file,
    read_json_file,
)

if TYPE_CHECKING:
    from upstack_pandas._transport.client import Client
    from upstack_pandas.dashboards import Dashboards, DashboardView

__all__ = ["HELP", "NAME", "add_arguments", "run"]

NAME = "dashboard"
HELP = "dashboard views: list, show, create, update, copy, delete, build, section, pin, unpin"
DESCRIPTION = """\
Manage dashboard views (/accounts/api/dashboard/views). Changes ask for confirmation; --yes
skips it (needed when stdin is not a terminal).

examples:
  upstack-pandas dashboard view list
  upstack-pandas dashboard view build --name "NC pulse" --measures core.new_customer_roas,meta.cpm --yes
  upstack-pandas dashboard view pin VIEW_ID WIDGET_ID --yes
"""
run = dispatch


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Add ``view`` and its actions.

    Parameters
    ----------
    parser : argparse.ArgumentParser
    """
    groups = parser.add_subparsers(dest="group", metavar="GROUP", required=True)
    view = groups.add_parser("view", help="dashboard views")
    actions = view.add_subparsers(dest="action", metavar="ACTION", title="actions", required=True)

    with action(actions, "list", "list the views", _list, output="table") as p:
        p.add_argument("--type", choices=("view", "attribution_view", "pnl_view"), default=None)
    with action(actions, "show", "one view with its configuration, as JSON", _show) as p:
        p.add_argument("id")
    with action(actions, "create", "create a view from a full body (--from-file)", _create,
                changes=True) as p:  # fmt: skip
        p.add_argument("--name", help="overrides the file's name")
        p.add_argument("--type", help="overrides the file's type")
        add_from_file(p, "JSON body: name, type, configuration (options override it)")
    with action(actions, "update", "rename or replace a view's configuration", _update,
                changes=True) as p:  # fmt: skip
        p.add_argument("id")
        p.add_argument("--name", help="new name")
        add_from_file(p, "JSON body: name and/or configuration (--name overrides it)")
    with action(actions, "copy", "copy a view", _copy, changes=True) as p:
        p.add_argument("id")
        p.add_argument("--name", help="name of the copy")
    with action(actions, "delete", "delete a view", _delete, changes=True) as p:
        p.add_argument("id")
    with action(actions, "build", "build a view of sparkline tiles from measures", _build,
                changes=True) as p:  # fmt: skip
        p.add_argument("--name")
        p.add_argument("--measures", "-m", type=split_list, metavar="LIST")
        p.add_argument("--chart-types", type=split_list, metavar="LIST")
        p.add_argument("--type", choices=("view", "attribution_view", "pnl_view"))
        p.add_argument("--layout")
        p.add_argument("--attribution-model")
        p.add_argument("--attribution-window", type=int)
        p.add_argument("--granularity")
        add_dates(p)
        add_from_file(p)

    p = actions.add_parser("section", help="list, add or remove a view's sections")
    sections = p.add_subparsers(dest="section_action", metavar="ACTION", required=True)
    with action(sections, "list", "the view's sections", _section_list, output="table") as s:
        s.add_argument("id")
    with action(sections, "add", "add a section", _section_add, changes=True) as s:
        s.add_argument("id")
        s.add_argument("--title", required=True)
        s.add_argument("--collapsed", action="store_true")
        s.add_argument("--hidden", action="store_true")
        s.add_argument("--ordinal", type=int)
    with action(sections, "remove", "remove a section (by id or title)", _section_remove,
                changes=True) as s:  # fmt: skip
        s.add_argument("id")
        s.add_argument("section")

    for name, handler, text in (
        ("pin", _pin, "copy a widget into the Pinned section"),
        ("unpin", _unpin, "remove a widget from the Pinned section"),
    ):
        with action(actions, name, text, handler, changes=True) as p:
            p.add_argument("id")
            p.add_argument("widget_id", metavar="WIDGET_ID")


def _summary(view: Any) -> dict[str, Any]:
    return {
        "id": view.id,
        "name": view.name,
        "type": view.type,
        "widgets": [
            {"id": row["id"], "title": row.get("title")} for _, row in view.widgets.iterrows()
        ],
        "sections": [
            {"id": row["id"], "title": row["title"], "widgetCount": int(row["widgetCount"])}
            for _, row in view.sections.iterrows()
        ],
    }


def _change_view(
    args: argparse.Namespace, summary: str, change: Callable[[Dashboards], DashboardView]
) -> int:
    """Confirm ``summary``, make the change on the pixel's views, print the stored view."""

    def run(client: Client) -> DashboardView:
        from upstack_pandas.dashboards import Dashboards

        return change(Dashboards(client))

    return apply_change(args, summary, run, lambda view: emit_object(_summary(view)))


def _list(args: argparse.Namespace) -> int:
    with api_client(args) as client, library_errors():
        from upstack_pandas import dashboards

        df = dashboards.list(args.type, client=client)
    return emit_frame(df, args, what="views")


def _show(args: argparse.Namespace) -> int:
    with api_client(args) as client, library_errors():
        from upstack_pandas import dashboards

        view = dashboards.get(args.id, client=client)
    return emit_object(view.to_dict())


def _create(args: argparse.Namespace) -> int:
    if args.from_file is None:
        raise CommandError("--from-file: give the view's JSON body (name, type, configuration)")
    body = read_json_file(args.from_file)
    if not isinstance(body, dict):
        raise CommandError(f"--from-file {args.from_file}: expected a JSON object")
    name = args.name or body.get("name")
    if not name:
        raise CommandError("--name: the view needs a name (here or in --from-file)")
    kind = args.type or body.get("type", "view")
    return _change_view(
        args,
        f"Create dashboard view {name!r}.",
        lambda views: views.create(name, body.get("configuration", {}), type=kind),
    )


def _update(args: argparse.Namespace) -> int:
    body: dict[str, Any] = {}
    if args.from_file is not None:
        loaded = read_json_file(args.from_file)
        if not isinstance(loaded, dict):
            raise CommandError(f"--from-file {args.from_file}: expected a JSON object")
        body = loaded
    name = args.name or body.get("name")
    configuration = body.get("configuration")
    if name is None and configuration is None:
        raise CommandError("nothing to update: give --name or --from-file with a configuration")
    change = ", ".join(
        part
        for part in (f"name -> {name!r}" if name else "", "configuration" if configuration else "")
        if part
    )
    return _change_view(
        args,
        f"Update dashboard view {args.id}: {change}.",
        lambda views: views.update(args.id, name=name, configuration=configuration),
    )


def _copy(args: argparse.Namespace) -> int:
    summary = f"Copy dashboard view {args.id}."
    return _change_view(args, summary, lambda views: views.copy(args.id, args.name))


def _delete(args: argparse.Namespace) -> int:
    def delete(client: Client) -> None:
        from upstack_pandas.dashboards import Dashboards

        Dashboards(client).delete(args.id)

    return apply_change(
        args,
        f"Delete dashboard view {args.id}.",
        delete,
        lambda _: deleted("dashboard view", args.id),
    )


_BUILD_FILE: FileOptions = {
    "name": str,
    "measures": file_list,
    "chart_types": file_list,
    "type": str,
    "layout": str,
    "attribution_model": str,
    "attribution_window": int,
    "granularity": str,
    "date_start": file_date,
    "date_end": file_date,
}


def _build(args: argparse.Namespace) -> int:
    merge_from_file(args, _BUILD_FILE)
    if not args.name or not args.measures:
        raise CommandError("--name and --measures are required (here or in --from-file)")
    options: dict[str, Any] = {
        key: value
        for key, value in {
            "chart_types": args.chart_types,
            "type": args.type,
            "layout": args.layout,
            "attribution_model": args.attribution_model,
            "attribution_window": args.attribution_window,
            "granularity": args.granularity,
            "start": args.date_start,
            "end": args.date_end,
        }.items()
        if value is not None
    }
    return _change_view(
        args,
        f"Build dashboard view {args.name!r} with {len(args.measures)} tile(s): "
        f"{', '.join(args.measures)}.",
        lambda views: views.build(args.name, args.measures, **options),
    )


def _section_list(args: argparse.Namespace) -> int:
    with api_client(args) as client, library_errors():
        from upstack_pandas import dashboards

        df = dashboards.get(args.id, client=client).sections
    return emit_frame(df, args, what="sections")


def _section_add(args: argparse.Namespace) -> int:
    return _change_view(
        args,
        f"Add section {args.title!r} to dashboard view {args.id}.",
        lambda views: views.add_section(
            args.id, args.title, collapsed=args.collapsed, hidden=args.hidden, ordinal=args.ordinal
        ),
    )


def _section_remove(args: argparse.Namespace) -> int:
    return _change_view(
        args,
        f"Remove section {args.section!r} from dashboard view {args.id}.",
        lambda views: views.remove_section(args.id, args.section),
    )


def _pin(args: argparse.Namespace) -> int:
    summary = f"Pin widget {args.widget_id} on dashboard view {args.id}."
    return _change_view(args, summary, lambda views: views.pin(args.id, args.widget_id))


def _unpin(args: argparse.Namespace) -> int:
    summary = f"Unpin widget {args.widget_id} from dashboard view {args.id}."
    return _change_view(args, summary, lambda views: views.unpin(args.id, args.widget_id))
