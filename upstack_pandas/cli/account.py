"""``upstack-pandas account ...``: show, rename, order settings."""

from __future__ import annotations

import argparse
from typing import Any

from upstack_pandas.cli._command import CommandError
from upstack_pandas.cli._common import library_errors
from upstack_pandas.cli._options import (
    action,
    add_from_file,
    api_client,
    confirm,
    declined,
    dispatch,
    emit_object,
    read_json_file,
)

__all__ = ["HELP", "NAME", "add_arguments", "run"]

NAME = "account"
HELP = "the account: show, rename, order settings show|set"
DESCRIPTION = """\
The configured account (/accounts/api/account).

examples:
  upstack-pandas account show
  upstack-pandas account rename --name "Upstack Data" --yes
  upstack-pandas account settings order show
  upstack-pandas account settings order set --from-file order.json
"""
run = dispatch


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Add ``show``, ``rename`` and ``settings order show|set``.

    Parameters
    ----------
    parser : argparse.ArgumentParser
    """
    actions = parser.add_subparsers(dest="action", metavar="ACTION", title="actions", required=True)
    with action(actions, "show", "the account as JSON", _show):
        pass
    with action(actions, "rename", "rename the account", _rename, changes=True) as p:
        p.add_argument("--name", required=True, help="new name, 1-100 characters")
    settings = actions.add_parser("settings", help="account settings")
    kinds = settings.add_subparsers(dest="kind", metavar="KIND", required=True)
    order = kinds.add_parser("order", help="order settings")
    order_actions = order.add_subparsers(dest="order_action", metavar="ACTION", required=True)
    with action(order_actions, "show", "the order settings as JSON", _order_show):
        pass
    with action(order_actions, "set", "replace the order settings (shows the diff)", _order_set,
                changes=True) as p:  # fmt: skip
        add_from_file(p, "JSON object of order settings (required)")


def _account_json(account: Any) -> dict[str, Any]:
    return {
        "accountName": account.name,
        "createdAt": account.created_at,
        "owners": list(account.owners),
        "admins": list(account.admins),
        "subscription": account.subscription,
    }


def _show(args: argparse.Namespace) -> int:
    with api_client(args) as client, library_errors():
        from upstack_pandas import account

        return emit_object(_account_json(account.get(client=client)))


def _rename(args: argparse.Namespace) -> int:
    with api_client(args) as client, library_errors():
        from upstack_pandas import account

        current = account.get(client=client)
        if not confirm(f"Rename the account: {current.name!r} -> {args.name!r}.", args):
            return declined()
        renamed = account.rename(args.name, client=client)
    print(f"Renamed the account to {renamed.name!r}")
    return 0


def _order_show(args: argparse.Namespace) -> int:
    with api_client(args) as client, library_errors():
        from upstack_pandas import account

        return emit_object(account.order_settings(client=client).to_body())


def _order_set(args: argparse.Namespace) -> int:
    if args.from_file is None:
        raise CommandError("--from-file: give the order settings as a JSON object")
    body = read_json_file(args.from_file)
    if not isinstance(body, dict):
        raise CommandError(f"--from-file {args.from_file}: expected a JSON object")
    with api_client(args) as client, library_errors():
        from upstack_pandas import account
        from upstack_pandas.account import OrderSettings

        current = account.order_settings(client=client)
        new = OrderSettings.from_body({**current.to_body(), **body})
        diff = account.diff_order_settings(current, new)
        if diff.empty:
            print("The order settings already are these: nothing to change.")
            return 0
        if not confirm("Order settings to change:\n" + diff.to_string(index=False), args):
            return declined()
        stored = account.replace_order_settings(new, client=client)
    return emit_object(stored.to_body())
