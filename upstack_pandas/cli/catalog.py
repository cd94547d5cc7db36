"""``upstack-pandas measures`` and ``upstack-pandas filters``: the catalog, searchable."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

from upstack_pandas.cli._command import CommandSpec
from upstack_pandas.cli._common import library_errors
from upstack_pandas.cli._options import (
    add_connection,
    add_output,
    api_client,
    check_out,
    emit_frame,
)

if TYPE_CHECKING:
    import pandas as pd

__all__ = [
    "SPECS",
    "add_filters_arguments",
    "add_measures_arguments",
    "run_filters",
    "run_measures",
]


def add_measures_arguments(parser: argparse.ArgumentParser) -> None:
    """Add the options of ``measures``.

    Parameters
    ----------
    parser : argparse.ArgumentParser
    """
    parser.add_argument(
        "--search", "-s", metavar="TEXT", help="only measures whose id, title or description match"
    )
    parser.add_argument("--refresh", action="store_true", help="skip the cache")
    add_output(parser)
    add_connection(parser)


def add_filters_arguments(parser: argparse.ArgumentParser) -> None:
    """Add the options of ``filters``.

    Parameters
    ----------
    parser : argparse.ArgumentParser
    """
    parser.add_argument(
        "--search", "-s", metavar="TEXT", help="only filter fields whose id or title match"
    )
    parser.add_argument(
        "--detail",
        action="store_true",
        help="every column of the catalog (operators, values, ...), not just id and title",
    )
    parser.add_argument("--refresh", action="store_true", help="skip the cache")
    add_output(parser)
    add_connection(parser)


#: The columns printed without --detail when present.
_BRIEF_FILTER_COLUMNS = ("title", "type", "operators")


def run_measures(args: argparse.Namespace) -> int:
    """List the measures catalog (GET /db-mgmt/api/measures).

    Parameters
    ----------
    args : argparse.Namespace

    Returns
    -------
    int
        0.
    """
    check_out(args.out)
    with api_client(args) as client, library_errors():
        from upstack_pandas.catalog import measures

        df = measures(args.search, client=client, refresh=args.refresh)
    return emit_frame(df, args, formatted=_brief_measures, what="measures")


def _brief_measures(df: pd.DataFrame) -> pd.DataFrame:
    return df[[column for column in ("title", "category", "format") if column in df.columns]]


def run_filters(args: argparse.Namespace) -> int:
    """List the filter fields (GET /db-mgmt/api/filters).

    Parameters
    ----------
    args : argparse.Namespace

    Returns
    -------
    int
        0.
    """
    check_out(args.out)
    with api_client(args) as client, library_errors():
        from upstack_pandas.catalog import filters

        df = filters(args.search, client=client, refresh=args.refresh)
    if not args.detail:
        df = df[[column for column in df.columns if column in _BRIEF_FILTER_COLUMNS]]
    return emit_frame(df, args, what="filters")


SPECS = (
    CommandSpec(
        "measures",
        "list the measures catalog (GET /db-mgmt/api/measures)",
        "List the measures catalog: id, title, category and format (--json or --out: every "
        "field).\n\nexamples:\n  upstack-pandas measures --search roas\n"
        "  upstack-pandas measures --json --out measures.json\n",
        add_measures_arguments,
        run_measures,
    ),
    CommandSpec(
        "filters",
        "list the filter fields (GET /db-mgmt/api/filters)",
        "List the fields a --filter may name, with their operators (--detail: contexts and "
        "values too).\n\nexamples:\n  upstack-pandas filters --search country --detail\n",
        add_filters_arguments,
        run_filters,
    ),
)
