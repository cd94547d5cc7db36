"""``upstack-pandas products ...``: search, cost, handling-fee set, cogs add|update|delete."""

from __future__ import annotations

import argparse
import json
from typing import TYPE_CHECKING

from upstack_pandas.cli._command import CommandError
from upstack_pandas.cli._common import date_arg, library_errors
from upstack_pandas.cli._options import (
    action,
    api_client,
    apply_change,
    check_out,
    deleted,
    dispatch,
    emit_frame,
    emit_object,
    series_json,
)

if TYPE_CHECKING:
    import pandas as pd

    from upstack_pandas._transport.client import Client

__all__ = ["HELP", "NAME", "add_arguments", "run"]

NAME = "products"
HELP = "products: search, cost, handling-fee set, cogs add|update|delete"
DESCRIPTION = """\
Products and per-variant costs (/accounts/api/products).

examples:
  upstack-pandas products search -q shirt
  upstack-pandas products cost --product-id P --variant-id V
  upstack-pandas products handling-fee set --product-id P --variant-id V --fee 2 --yes
  upstack-pandas products cogs add --product-id P --variant-id V --cost 5 --start 2026-01-01 --yes
"""
run = dispatch


def _variant(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--product-id", required=True)
    parser.add_argument("--variant-id", required=True)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Add the products actions.

    Parameters
    ----------
    parser : argparse.ArgumentParser
    """
    actions = parser.add_subparsers(dest="action", metavar="ACTION", title="actions", required=True)
    with action(actions, "search", "variants matching a title / SKU (every page, or one with "
                "--cursor)", _search, output="table") as p:  # fmt: skip
        p.add_argument("--query", "-q", metavar="TEXT")
        p.add_argument("--page-size", type=int, default=20, metavar="N", help="1-100 (default 20)")
        p.add_argument(
            "--cursor",
            nargs="?",
            const="",
            metavar="CURSOR",
            help="one page only: the page after CURSOR (a 'next cursor' printed before), or the "
            "first page when CURSOR is omitted; prints the page and its next cursor",
        )
    with action(actions, "cost", "a variant's resolved cost", _cost, output="table") as p:
        _variant(p)

    group = actions.add_parser("handling-fee", help="per-variant handling fee")
    sub = group.add_subparsers(dest="sub", metavar="ACTION", required=True)
    with action(sub, "set", "set the handling fee (>= 0)", _fee_set, changes=True) as p:
        _variant(p)
        p.add_argument("--fee", type=float, required=True)

    group = actions.add_parser("cogs", help="a variant's COGS history")
    sub = group.add_subparsers(dest="sub", metavar="ACTION", required=True)
    with action(sub, "add", "add a COG line", _cog_add, changes=True) as p:
        _variant(p)
        p.add_argument("--cost", type=float, required=True)
        p.add_argument("--start", type=date_arg, required=True, metavar="DATE")
        p.add_argument("--end", type=date_arg, metavar="DATE")
        p.add_argument("--description")
    with action(sub, "update", "update a COG line", _cog_update, changes=True) as p:
        _variant(p)
        p.add_argument("cog_id", metavar="COG_ID")
        p.add_argument("--cost", type=float)
        p.add_argument("--start", type=date_arg, metavar="DATE")
        p.add_argument("--end", type=date_arg, metavar="DATE")
        p.add_argument("--description")
    with action(sub, "delete", "delete a COG line", _cog_delete, changes=True) as p:
        _variant(p)
        p.add_argument("cog_id", metavar="COG_ID")


def _emit(stored: pd.Series) -> int:
    return emit_object(series_json(stored))


def _search(args: argparse.Namespace) -> int:
    check_out(args.out)
    if not 1 <= args.page_size <= 100:
        raise CommandError(f"--page-size must be 1 to 100; got {args.page_size}")
    with api_client(args) as client, library_errors():
        from upstack_pandas import products

        if args.cursor is None:
            df = products.search(
                args.query, page_size=args.page_size, progress=False, client=client
            )
            return emit_frame(df, args, what="variants")
        df, next_cursor = products.search_page(
            args.query, cursor=args.cursor or None, page_size=args.page_size, client=client
        )
    if args.json and args.out is None:
        records = json.loads(df.to_json(orient="records", force_ascii=False))
        return emit_object({"variants": records, "nextCursor": next_cursor})
    emit_frame(df, args, what="variants")
    print(f"next cursor: {next_cursor}" if next_cursor else "next cursor: none (the last page)")
    return 0


def _cost(args: argparse.Namespace) -> int:
    check_out(args.out)
    with api_client(args) as client, library_errors():
        from upstack_pandas import products

        df = products.variant_costs(
            [(args.product_id, args.variant_id)], progress=False, client=client
        )
    return emit_frame(df, args, what="variants")


def _fee_set(args: argparse.Namespace) -> int:
    def change(client: Client) -> pd.Series:
        from upstack_pandas import products

        return products.set_handling_fee(args.product_id, args.variant_id, args.fee, client=client)

    summary = f"Set the handling fee of {args.product_id}/{args.variant_id} to {args.fee}."
    return apply_change(args, summary, change, _emit)


def _cog_add(args: argparse.Namespace) -> int:
    def change(client: Client) -> pd.Series:
        from upstack_pandas import products

        return products.add_cog_line(
            args.product_id,
            args.variant_id,
            args.cost,
            args.start,
            args.end,
            args.description,
            client=client,
        )

    summary = f"Add a COG line to {args.product_id}/{args.variant_id}: cost {args.cost} from {args.start}."
    return apply_change(args, summary, change, _emit)


def _cog_update(args: argparse.Namespace) -> int:
    fields = {
        "cost": args.cost,
        "effectiveStartDate": args.start,
        "effectiveEndDate": args.end,
        "description": args.description,
    }
    updates = {key: value for key, value in fields.items() if value is not None}
    if not updates:
        raise CommandError("give at least one of --cost, --start, --end, --description")

    def change(client: Client) -> pd.Series:
        from upstack_pandas import products

        return products.update_cog_line(
            args.product_id, args.variant_id, args.cog_id, client=client, **updates
        )

    summary = f"Update COG line {args.cog_id}: {', '.join(updates)}."
    return apply_change(args, summary, change, _emit)


def _cog_delete(args: argparse.Namespace) -> int:
    def change(client: Client) -> None:
        from upstack_pandas import products

        products.delete_cog_line(args.product_id, args.variant_id, args.cog_id, client=client)

    summary = f"Delete COG line {args.cog_id}."
    return apply_change(args, summary, change, lambda _: deleted("COG line", args.cog_id))
