"""``upstack-pandas costs ...``: show, global-override set, shipping set, lines add|update|delete."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING, Any

from upstack_pandas.cli._command import CommandError
from upstack_pandas.cli._common import library_errors
from upstack_pandas.cli._options import (
    action,
    add_from_file,
    api_client,
    apply_change,
    check_out,
    confirm,
    declined,
    deleted,
    dispatch,
    emit_frame,
    emit_object,
    read_json_file,
    series_json,
)

if TYPE_CHECKING:
    import pandas as pd

    from upstack_pandas._transport.client import Client

__all__ = ["HELP", "NAME", "add_arguments", "run"]

NAME = "costs"
HELP = "cost configuration: show, global-override set, shipping set, lines add|update|delete"
DESCRIPTION = """\
Cost configuration (/accounts/api/costs). Changes recalculate COGS-based measures.

examples:
  upstack-pandas costs show --type fixed
  upstack-pandas costs global-override set --default-cogs 5 --handling-fee 1.5 --yes
  upstack-pandas costs shipping set --method fixed_rate --fixed-rate 7.5 --yes
  upstack-pandas costs lines add --type fixed --from-file klaviyo.json --yes
"""
run = dispatch
LINE_TYPES = ("order", "gateway", "shipping", "variable", "fixed")
SHOW_TYPES = ("global_product_override", "shipping_settings", *LINE_TYPES)
SHIPPING_METHODS = ("shopify_charges", "fixed_rate", "shipping_profiles")
_TYPE_HELP = "the line's cost type (default: looked up by its id)"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Add the costs actions.

    Parameters
    ----------
    parser : argparse.ArgumentParser
    """
    actions = parser.add_subparsers(dest="action", metavar="ACTION", title="actions", required=True)
    with action(
        actions, "show", "cost lines as a table, or one surface", _show, output="table"
    ) as p:
        p.add_argument("--type", choices=SHOW_TYPES)

    group = actions.add_parser("global-override", help="the global product override")
    sub = group.add_subparsers(dest="sub", metavar="ACTION", required=True)
    with action(sub, "set", "set default COGS, handling fee or currency", _override_set,
                changes=True) as p:  # fmt: skip
        p.add_argument("--default-cogs", type=float)
        p.add_argument("--handling-fee", type=float)
        p.add_argument("--currency")

    group = actions.add_parser("shipping", help="shipping settings")
    sub = group.add_subparsers(dest="sub", metavar="ACTION", required=True)
    with action(sub, "set", "switch the shipping cost method", _shipping_set, changes=True) as p:
        p.add_argument("--method", required=True, choices=SHIPPING_METHODS)
        p.add_argument("--fixed-rate", type=float, help="required with --method fixed_rate")
        p.add_argument("--currency")

    group = actions.add_parser("lines", help="cost lines")
    sub = group.add_subparsers(dest="sub", metavar="ACTION", required=True)
    with action(sub, "add", "add a cost line (body from --from-file)", _line_add,
                changes=True) as p:  # fmt: skip
        p.add_argument("--type", required=True, choices=LINE_TYPES)
        add_from_file(p, "JSON object: the line's fields (required)")
    with action(sub, "update", "update a cost line (fields from --from-file)", _line_update,
                changes=True) as p:  # fmt: skip
        p.add_argument("line_id", metavar="LINE_ID")
        p.add_argument("--type", choices=LINE_TYPES, help=_TYPE_HELP)
        add_from_file(p, "JSON object: the fields to change (required)")
    with action(sub, "delete", "delete a cost line", _line_delete, changes=True) as p:
        p.add_argument("line_id", metavar="LINE_ID")
        p.add_argument("--type", choices=LINE_TYPES, help=_TYPE_HELP)


def _emit(stored: pd.Series) -> int:
    return emit_object(series_json(stored))


def _line_json(series: Any) -> dict[str, Any]:
    return {key: value for key, value in series_json(series).items() if value is not None}


def _show(args: argparse.Namespace) -> int:
    check_out(args.out)
    with api_client(args) as client, library_errors():
        from upstack_pandas import costs

        if args.type == "global_product_override":
            return emit_object(series_json(costs.global_product_override(client=client)))
        if args.type == "shipping_settings":
            return emit_object(series_json(costs.shipping_settings(client=client)))
        df = costs.lines(args.type, client=client)
        if args.type is None and args.out is None:
            override = series_json(costs.global_product_override(client=client))
            shipping = series_json(costs.shipping_settings(client=client))
            if args.json:
                import json

                lines = json.loads(df.to_json(orient="records", date_format="iso"))
                return emit_object(
                    {
                        "globalProductOverride": override,
                        "shippingSettings": shipping,
                        "lines": lines,
                    }
                )
            print(f"Global product override: {override}")
            print(f"Shipping settings: {shipping}")
            print("Cost lines:")
    return emit_frame(df, args, what="cost lines")


def _override_set(args: argparse.Namespace) -> int:
    fields = {
        "defaultCogs": args.default_cogs,
        "globalHandlingFee": args.handling_fee,
        "currency": args.currency,
    }
    given = {key: value for key, value in fields.items() if value is not None}
    if not given:
        raise CommandError("give at least one of --default-cogs, --handling-fee, --currency")
    summary = ", ".join(f"{key} -> {value}" for key, value in given.items())

    def change(client: Client) -> pd.Series:
        from upstack_pandas import costs

        return costs.set_global_product_override(
            default_cogs=args.default_cogs,
            global_handling_fee=args.handling_fee,
            currency=args.currency,
            client=client,
        )

    return apply_change(args, f"Set the global product override: {summary}.", change, _emit)


def _shipping_set(args: argparse.Namespace) -> int:
    if args.method == "fixed_rate" and args.fixed_rate is None:
        raise CommandError("--fixed-rate is required with --method fixed_rate")

    def change(client: Client) -> pd.Series:
        from upstack_pandas import costs

        return costs.set_shipping_settings(
            args.method, fixed_rate_amount=args.fixed_rate, currency=args.currency, client=client
        )

    return apply_change(args, f"Set the shipping cost method to {args.method}.", change, _emit)


def _body(args: argparse.Namespace) -> dict[str, Any]:
    if args.from_file is None:
        raise CommandError("--from-file: give the line as a JSON object")
    body = read_json_file(args.from_file)
    if not isinstance(body, dict):
        raise CommandError(f"--from-file {args.from_file}: expected a JSON object")
    return body


def _line_add(args: argparse.Namespace) -> int:
    body = _body(args)

    def change(client: Client) -> pd.Series:
        from upstack_pandas import costs

        return costs.add_line(args.type, body, client=client)

    summary = f"Add a {args.type} cost line {body.get('name', '')!r}."
    return apply_change(args, summary, change, lambda stored: emit_object(_line_json(stored)))


def _line_type(args: argparse.Namespace, client: Any) -> str:
    """``--type``, or the type of the stored line with the id (one read)."""
    from upstack_pandas import costs

    given: str | None = args.type
    return given if given is not None else costs.line_type(args.line_id, client=client)


def _line_update(args: argparse.Namespace) -> int:
    body = _body(args)
    if not body:
        raise CommandError(f"--from-file {args.from_file}: give at least one field to change")
    with api_client(args) as client, library_errors():
        from upstack_pandas import costs

        cost_type = _line_type(args, client)
        if not confirm(f"Update {cost_type} cost line {args.line_id}: {', '.join(body)}.", args):
            return declined()
        stored = costs.update_line(cost_type, args.line_id, body, client=client)
    return emit_object(_line_json(stored))


def _line_delete(args: argparse.Namespace) -> int:
    with api_client(args) as client, library_errors():
        from upstack_pandas import costs

        cost_type = _line_type(args, client)
        if not confirm(f"Delete {cost_type} cost line {args.line_id}.", args):
            return declined()
        costs.delete_line(cost_type, args.line_id, client=client)
    return deleted(f"{cost_type} cost line", args.line_id)
