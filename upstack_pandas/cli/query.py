"""``upstack-pandas query``: run one analytics query and print it or write it to a file."""

from __future__ import annotations

import argparse
import contextlib
import json
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

from upstack_pandas._query.checks import (  # costs nothing: importing upstack_pandas loads pandas
    GRANULARITIES,
    MAX_DIMENSIONS,
    MAX_MEASURES,
)
from upstack_pandas.cli._command import CommandError
from upstack_pandas.cli._common import (
    date_arg,
    library_errors,
    one_line,
    path_label,
    split_list,
)

if TYPE_CHECKING:
    import pandas as pd

    from upstack_pandas._transport.client import Client

__all__ = ["HELP", "NAME", "add_arguments", "run"]

NAME = "query"
HELP = "query measures into a table, a parquet file or a CSV file"
DESCRIPTION = """\
Query measures from the Upstack Data API (POST /db-mgmt/api/query) and print the table, or
write it to --out. Measures are catalog ids or titles. Credentials come from the environment
(UPSTACK_API_KEY, UPSTACK_PIXEL_ID, UPSTACK_BASE_URL) or the config file ~/.upstackrc; with
--emulator the query runs against an embedded emulator instead. Responses are cached (see
'upstack-pandas cache info'); --refresh asks the server again.

examples:
  upstack-pandas query --measures core.new_customer_roas,meta.cpm
  upstack-pandas query --measures "NC ROAS,NC MER" --start 2026-10-01 --end 2026-10-31 \\
      --granularity week --dimensions utm_source --out october.parquet
  upstack-pandas query --measures orders.gross_revenue --granularity none \\
      --filter '{"field": "orders.customer_type", "op": "equals", "value": "new_customer"}'
  upstack-pandas query --emulator --measures meta.cpm --out cpm.csv
"""
#: File suffixes --out understands.
WRITERS = (".parquet", ".pq", ".csv")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Add the query's options to ``parser``.

    Parameters
    ----------
    parser : argparse.ArgumentParser
    """
    parser.add_argument(
        "--measures",
        "-m",
        required=True,
        metavar="LIST",
        type=split_list,
        help=f"comma-separated measure ids or catalog titles (1 to {MAX_MEASURES}), "
        "e.g. core.new_customer_roas,'NC MER',meta.cpm",
    )
    parser.add_argument(
        "--start", type=date_arg, metavar="DATE", help="first day, YYYY-MM-DD (inclusive)"
    )
    parser.add_argument(
        "--end",
        type=date_arg,
        metavar="DATE",
        help="last day, YYYY-MM-DD (inclusive); without --start/--end: the last 30 days",
    )
    parser.add_argument(
        "--granularity",
        "-g",
        choices=GRANULARITIES,
        default="day",
        metavar="G",
        help=f"time bucket: {', '.join(GRANULARITIES)} (default day; none = one row per "
        "dimension combination)",
    )
    parser.add_argument(
        "--dimensions",
        "-d",
        type=split_list,
        default=[],
        metavar="LIST",
        help=f"comma-separated dimension ids (at most {MAX_DIMENSIONS}), e.g. utm_source,channel",
    )
    parser.add_argument(
        "--filter",
        metavar="JSON",
        help='a canonical filter, e.g. \'{"field": "orders.customer_type", "op": "equals", '
        '"value": "new_customer"}\' or {"and": [...]} (see docs/contract.md)',
    )
    parser.add_argument(
        "--timezone", "--tz", metavar="TZ", help="IANA timezone of the dates (default UTC)"
    )
    parser.add_argument(
        "--no-compare",
        dest="compare",
        action="store_false",
        help="do not fetch the preceding period for comparison",
    )
    parser.add_argument(
        "--out",
        "-o",
        type=Path,
        metavar="FILE",
        help="write to FILE instead of printing: .parquet keeps the index, time zone and "
        "metadata (read it back with upstack_pandas.read_parquet); .csv is plain values",
    )
    parser.add_argument(
        "--raw",
        action="store_true",
        help="print plain numbers instead of values formatted as currency, %% or x",
    )
    parser.add_argument(
        "--refresh", action="store_true", help="skip the cache and ask the server again"
    )
    parser.add_argument(
        "--emulator",
        action="store_true",
        help="query an embedded emulator (synthetic data, seed 7) instead of the API",
    )


def _filter(text: str | None) -> dict[str, Any] | None:
    if text is None:
        return None
    try:
        value = json.loads(text)
    except json.JSONDecodeError as exc:
        raise CommandError(f"--filter is not valid JSON: {exc}") from None
    if not isinstance(value, dict):
        raise CommandError(
            '--filter must be a JSON object such as {"field": ..., "op": ..., "value": ...}'
        )
    return value


def _check_out(out: Path | None) -> None:
    if out is not None and out.suffix.lower() not in WRITERS:
        raise CommandError(
            f"--out {out}: unknown file type {out.suffix or '(none)'!r}; "
            "use a .parquet or .csv file name"
        )


@contextlib.contextmanager
def _client(emulator: bool) -> Iterator[Client]:
    if not emulator:
        from upstack_pandas._errors import ConfigurationError
        from upstack_pandas._transport.client import get_default_client

        try:
            client = get_default_client()
        except ConfigurationError as exc:
            raise CommandError(f"{one_line(exc)} Or pass --emulator to try a local one.") from None
        yield client
        return
    with library_errors("--emulator"):
        from upstack_pandas.emulator import Emulator

        emu = Emulator().start()
    try:
        with emu.client(cache=False) as client:
            yield client
    finally:
        emu.stop()


def _write(df: pd.DataFrame, out: Path) -> None:
    with library_errors(f"--out {out}"):
        if out.suffix.lower() == ".csv":
            df.to_csv(out)
        else:
            df.upstack.to_parquet(out)


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
    filters = _filter(args.filter)
    _check_out(args.out)
    if not args.measures:
        raise CommandError("--measures: give at least one measure id or title")
    with _client(args.emulator) as client, library_errors():
        from upstack_pandas._readers import read_upstack

        df = read_upstack(
            args.measures,
            args.start,
            args.end,
            granularity=args.granularity,
            dimensions=args.dimensions or None,
            filters=filters,
            compare=args.compare,
            timezone=args.timezone,
            client=client,
            refresh=args.refresh,
        )
    if args.out is not None:
        _write(df, args.out)
        print(f"Wrote {len(df)} rows x {df.shape[1]} measures to {path_label(args.out)}")
        return 0
    shown = df if args.raw else df.upstack.format()
    print(shown.to_string())
    return 0
