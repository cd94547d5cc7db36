"""``upstack-pandas query``: run one analytics query and print it or write it to a file."""

from __future__ import annotations

import argparse
import json
from typing import TYPE_CHECKING, Any

from upstack_pandas._query.checks import (  # costs nothing: importing upstack_pandas loads pandas
    GRANULARITIES,
    MAX_DIMENSIONS,
    MAX_MEASURES,
)
from upstack_pandas.cli._command import CommandError
from upstack_pandas.cli._common import library_errors, split_list
from upstack_pandas.cli._options import (
    FileOptions,
    add_connection,
    add_dates,
    add_from_file,
    add_output,
    check_out,
    emit_frame,
    file_date,
    file_list,
    merge_from_file,
    reader_source,
)

if TYPE_CHECKING:
    import pandas as pd


__all__ = ["HELP", "NAME", "add_arguments", "run"]

NAME = "query"
HELP = "query measures (POST /db-mgmt/api/query) into a table or a parquet, CSV or JSON file"
DESCRIPTION = """\
Query measures from the Upstack Data API (POST /db-mgmt/api/query) and print the table, or
write it to --out. Measures are catalog ids or titles. Credentials come from the environment
(UPSTACK_API_KEY, UPSTACK_PIXEL_ID, UPSTACK_BASE_URL) or the config file ~/.upstackrc; with
--emulator the query runs against an embedded emulator instead. Responses are cached (see
'upstack-pandas cache info'); --refresh asks the server again.

examples:
  upstack-pandas query --measures core.new_customer_roas,meta.cpm
  upstack-pandas query --measures "NC ROAS,NC MER" --date-start 2026-10-01 --date-end 2026-10-31 \\
      --granularity week --dimensions utm_source --out october.parquet
  upstack-pandas query --measures orders.gross_revenue --granularity none \\
      --filter '{"field": "orders.customer_type", "op": "equals", "value": "new_customer"}'
  upstack-pandas query --emulator --measures meta.cpm --out cpm.csv
  upstack-pandas query --from-file query.json --granularity week --json
"""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Add the query's options to ``parser``.

    Parameters
    ----------
    parser : argparse.ArgumentParser
    """
    parser.add_argument(
        "--measures",
        "-m",
        metavar="LIST",
        type=split_list,
        help=f"comma-separated measure ids or catalog titles (1 to {MAX_MEASURES}; required, "
        "here or in --from-file), e.g. core.new_customer_roas,'NC MER',meta.cpm",
    )
    add_dates(parser)
    parser.add_argument(
        "--granularity",
        "-g",
        choices=GRANULARITIES,
        metavar="G",
        help=f"time bucket: {', '.join(GRANULARITIES)} (default day; none = one row per "
        "dimension combination)",
    )
    parser.add_argument(
        "--dimensions",
        "-d",
        type=split_list,
        metavar="LIST",
        help=f"comma-separated dimension ids (at most {MAX_DIMENSIONS}), e.g. utm_source,channel",
    )
    add_shared_query_options(parser)
    parser.add_argument(
        "--no-compare",
        dest="compare",
        action="store_false",
        default=None,
        help="do not fetch the preceding period for comparison",
    )
    parser.add_argument(
        "--raw",
        action="store_true",
        help="print plain numbers instead of values formatted as currency, %% or x",
    )
    add_from_file(parser)
    add_output(parser)
    add_connection(parser)


def add_shared_query_options(parser: argparse.ArgumentParser, *, order: bool = True) -> None:
    """Add ``--filter``, ``--timezone``, ``--view-filters``, ``--order-settings``, ``--refresh``.

    Parameters
    ----------
    parser : argparse.ArgumentParser
    order : bool
        Whether the endpoint takes order settings and view filters.
    """
    parser.add_argument(
        "--filter",
        metavar="JSON",
        help='a canonical filter, e.g. \'{"field": "orders.customer_type", "op": "equals", '
        '"value": "new_customer"}\' or {"and": [...]} (see docs/contract.md)',
    )
    parser.add_argument(
        "--timezone", "--tz", metavar="TZ", help="IANA timezone of the dates (default UTC)"
    )
    if order:
        parser.add_argument(
            "--view-filters",
            metavar="JSON",
            help="a JSON array of view filters (the dashboard view's viewFilters)",
        )
        parser.add_argument(
            "--order-settings",
            metavar="JSON",
            help="a JSON object of order settings overriding the account's for this query",
        )
    parser.add_argument(
        "--refresh", action="store_true", help="skip the cache and ask the server again"
    )


#: What --from-file may set for a query.
FILE_OPTIONS: FileOptions = {
    "measures": file_list,
    "date_start": file_date,
    "date_end": file_date,
    "granularity": str,
    "dimensions": file_list,
    "filter": None,
    "timezone": str,
    "view_filters": None,
    "order_settings": None,
    "compare": bool,
}


def check_filter(value: Any) -> dict[str, Any] | None:
    """Check a ``--filter`` value is a JSON object.

    Parameters
    ----------
    value : Any

    Returns
    -------
    dict or None
    """
    value = _json_option("--filter", value)
    if value is None:
        return None
    if not isinstance(value, dict):
        raise CommandError(
            '--filter must be a JSON object such as {"field": ..., "op": ..., "value": ...}'
        )
    return value


def check_order_settings(value: Any) -> dict[str, Any] | None:
    """Check an ``--order-settings`` value is a JSON object.

    Parameters
    ----------
    value : Any
        JSON text (from the command line) or a decoded value (from ``--from-file``).

    Returns
    -------
    dict or None
    """
    value = _json_option("--order-settings", value)
    if value is not None and not isinstance(value, dict):
        raise CommandError("--order-settings must be a JSON object")
    return value


def _json_option(option: str, value: Any) -> Any:
    if not isinstance(value, str):
        return value
    try:
        return json.loads(value)
    except json.JSONDecodeError as exc:
        raise CommandError(f"{option} is not valid JSON: {exc}") from None


def check_view_filters(value: Any) -> list[dict[str, Any]] | None:
    """Check a ``--view-filters`` value is a JSON array of objects.

    Parameters
    ----------
    value : Any

    Returns
    -------
    list or None
    """
    value = _json_option("--view-filters", value)
    if value is None:
        return None
    if not isinstance(value, list) or not all(isinstance(item, dict) for item in value):
        raise CommandError("--view-filters must be a JSON array of objects")
    return value


def run(args: argparse.Namespace) -> int:
    """Validate the options, run the query, then print the frame or write ``--out``.

    Parameters
    ----------
    args : argparse.Namespace
        The parsed options.

    Returns
    -------
    int
        The exit code (0).
    """
    merge_from_file(args, FILE_OPTIONS)
    filters = check_filter(args.filter)
    view_filters = check_view_filters(args.view_filters)
    check_out(args.out)
    if not args.measures:
        raise CommandError("--measures: give at least one measure id or title")
    with reader_source(args) as source, library_errors():
        from upstack_pandas._readers import read_upstack

        df = read_upstack(
            args.measures,
            args.date_start,
            args.date_end,
            granularity=args.granularity or "day",
            dimensions=args.dimensions or None,
            filters=filters,
            compare=args.compare is not False,
            timezone=args.timezone,
            order_settings=check_order_settings(args.order_settings),
            view_filters=view_filters,
            **source,
            refresh=args.refresh,
        )
    return emit_frame(
        df, args, formatted=None if args.raw else _formatted, what="rows", columns="measures"
    )


def _formatted(df: pd.DataFrame) -> pd.DataFrame:
    shown: pd.DataFrame = df.upstack.format()
    return shown
