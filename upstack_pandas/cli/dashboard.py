"""``upstack-pandas dashboard view ...``: list, show, create, update, copy, delete, build, sections, pins."""

from __future__ import annotations

import argparse
from typing import Any

from upstack_pandas.cli._command import CommandError
from upstack_pandas.cli._common import library_errors, split_list
from upstack_pandas.cli._options import (
    FileOptions,
    add_connection,
    add_dates,
    add_from_file,
    add_output,
    add_yes,
    api_client,
    confirm,
    declined,
    dispatch,
    emit_frame,
    emit_object,
    file_date,
    file_list,
    merge_from_file,
    read_json_file,
)

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


def _common(parser: argparse.ArgumentParser, *, yes: bool = False) -> None:
    if yes:
        add_yes(parser)
    add_connection(parser)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Add ``view`` and its actions.

    Parameters
    ----------
    parser : argparse.ArgumentParser
    """
    groups = parser.add_subparsers(dest="group", metavar="GROUP", required=True)
    view = groups.add_parser("view", help="dashboard views")
    actions = view.add_subparsers(dest="action", metavar="ACTION", title="actions", required=True)

    p = actions.add_parser("list", help="list the views")
    p.add_argument("--type", choices=("view", "attribution_view", "pnl_view"), default=None)
    add_output(p)
    _common(p)
    p.set_defaults(handler=_list)

    p = actions.add_parser("show", help="one view with its configuration, as JSON")
    p.add_argument("id")
    _common(p)
    p.set_defaults(handler=_show)

    p = actions.add_parser("create", help="create a view from a full body (--from-file)")
    p.add_argument("--name", help="overrides the file's name")
    p.add_argument("--type", help="overrides the file's type")
    add_from_file(p, "JSON body: name, type, configuration (options override it)")
    _common(p, yes=True)
    p.set_defaults(handler=_create)

    p = actions.add_parser("update", help="rename or replace a view's configuration")
    p.add_argument("id")
    p.add_argument("--name", help="new name")
    add_from_file(p, "JSON body: name and/or configuration (--name overrides it)")
    _common(p, yes=True)
    p.set_defaults(handler=_update)

    p = actions.add_parser("copy", help="copy a view")
    p.add_argument("id")
    p.add_argument("--name", help="name of the copy")
    _common(p, yes=True)
    p.set_defaults(handler=_copy)

    p = actions.add_parser("delete", help="delete a view")
    p.add_argument("id")
    _common(p, yes=True)
    p.set_defaults(handler=_delete)

    p = actions.add_parser("build", help="build a view of sparkline tiles from measures")
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
    _common(p, yes=True)
    p.set_defaults(handler=_build)

    p = actions.add_parser("section", help="list, add or remove a view's sections")
    sections = p.add_subparsers(dest="section_action", metavar="ACTION", required=True)
    s = sections.add_parser("list", help="the view's sections")
    s.add_argument("id")
    add_output(s)
    _common(s)
    s.set_defaults(handler=_section_list)
    s = sections.add_parser("add", help="add a section")
    s.add_argument("id")
    s.add_argument("--title", required=True)
    s.add_argument("--collapsed", action="store_true")
    s.add_argument("--hidden", action="store_true")
    s.add_argument("--ordinal", type=int)
    _common(s, yes=True)
    s.set_defaults(handler=_section_add)
    s = sections.add_parser("remove", help="remove a section (by id or title)")
    s.add_argument("id")
    s.add_argument("section")
    _common(s, yes=True)
    s.set_defaults(handler=_section_remove)

    for name, handler, text in (
        ("pin", _pin, "copy a widget into the Pinned section"),
        ("unpin", _unpin, "remove a widget from the Pinned section"),
    ):
        p = actions.add_parser(name, help=text)
        p.add_argument("id")
        p.add_argument("widget_id", metavar="WIDGET_ID")
        _common(p, yes=True)
        p.set_defaults(handler=handler)


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
    if not confirm(f"Create dashboard view {name!r}.", args):
        return declined()
    with api_client(args) as client, library_errors():
        from upstack_pandas import dashboards

        view = dashboards.create(
            name,
            body.get("configuration", {}),
            type=args.type or body.get("type", "view"),
            client=client,
        )
    return emit_object(_summary(view))


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
    if not confirm(f"Update dashboard view {args.id}: {change}.", args):
        return declined()
    with api_client(args) as client, library_errors():
        from upstack_pandas import dashboards

        view = dashboards.update(args.id, name=name, configuration=configuration, client=client)
    return emit_object(_summary(view))


def _copy(args: argparse.Namespace) -> int:
    if not confirm(f"Copy dashboard view {args.id}.", args):
        return declined()
    with api_client(args) as client, library_errors():
        from upstack_pandas import dashboards

        view = dashboards.copy(args.id, args.name, client=client)
    return emit_object(_summary(view))


def _delete(args: argparse.Namespace) -> int:
    if not confirm(f"Delete dashboard view {args.id}.", args):
        return declined()
    with api_client(args) as client, library_errors():
        from upstack_pandas import dashboards

        dashboards.delete(args.id, client=client)
    print(f"Deleted dashboard view {args.id}")
    return 0


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
    if not confirm(
        f"Build dashboard view {args.name!r} with {len(args.measures)} tile(s): "
        f"{', '.join(args.measures)}.",
        args,
    ):
        return declined()
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
    with api_client(args) as client, library_errors():
        from upstack_pandas import dashboards

        view = dashboards.build(args.name, args.measures, client=client, **options)
    return emit_object(_summary(view))


def _section_list(args: argparse.Namespace) -> int:
    with api_client(args) as client, library_errors():
        from upstack_pandas import dashboards

        df = dashboards.get(args.id, client=client).sections
    return emit_frame(df, args, what="sections")


def _section_add(args: argparse.Namespace) -> int:
    if not confirm(f"Add section {args.title!r} to dashboard view {args.id}.", args):
        return declined()
    with api_client(args) as client, library_errors():
        from upstack_pandas import dashboards

        view = dashboards.add_section(
            args.id,
            args.title,
            collapsed=args.collapsed,
            hidden=args.hidden,
            ordinal=args.ordinal,
            client=client,
        )
    return emit_object(_summary(view))


def _section_remove(args: argparse.Namespace) -> int:
    if not confirm(f"Remove section {args.section!r} from dashboard view {args.id}.", args):
        return declined()
    with api_client(args) as client, library_errors():
        from upstack_pandas import dashboards

        view = dashboards.remove_section(args.id, args.section, client=client)
    return emit_object(_summary(view))


def _pin(args: argparse.Namespace) -> int:
    if not confirm(f"Pin widget {args.widget_id} on dashboard view {args.id}.", args):
        return declined()
    with api_client(args) as client, library_errors():
        from upstack_pandas import dashboards

        view = dashboards.pin(args.id, args.widget_id, client=client)
    return emit_object(_summary(view))


def _unpin(args: argparse.Namespace) -> int:
    if not confirm(f"Unpin widget {args.widget_id} from dashboard view {args.id}.", args):
        return declined()
    with api_client(args) as client, library_errors():
        from upstack_pandas import dashboards

        view = dashboards.unpin(args.id, args.widget_id, client=client)
    return emit_object(_summary(view))
