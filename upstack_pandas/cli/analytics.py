"""``query-cohort``, ``attribution`` and ``channel-details``: the other analytics reads."""

from __future__ import annotations

import argparse

from upstack_pandas.cli._command import CommandError, CommandSpec
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
from upstack_pandas.cli.query import (
    FILE_OPTIONS,
    add_shared_query_options,
    check_filter,
    check_order_settings,
    check_view_filters,
)

__all__ = ["SPECS"]

COHORT_GRANULARITIES = ("week", "month", "year")
ATTRIBUTION_MODELS = ("first_click", "last_click", "any_click")
CHANNEL_LEVELS = ("account", "campaign", "adset", "ad")


def _add_cohort(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--measures",
        "-m",
        type=split_list,
        metavar="LIST",
        help="comma-separated cohort measure ids (default orders.cohort_retention_percent)",
    )
    parser.add_argument(
        "--granularity", "-g", choices=COHORT_GRANULARITIES, help="cohort size (default month)"
    )
    add_dates(parser, what="last 12 months")
    add_shared_query_options(parser)
    add_from_file(parser)
    add_output(parser)
    add_connection(parser)


def _run_cohort(args: argparse.Namespace) -> int:
    merge_from_file(args, FILE_OPTIONS)
    filters = check_filter(args.filter)
    view_filters = check_view_filters(args.view_filters)
    check_out(args.out)
    with reader_source(args) as source, library_errors():
        from upstack_pandas._readers import read_cohorts

        df = read_cohorts(
            args.measures or "orders.cohort_retention_percent",
            args.date_start,
            args.date_end,
            granularity=args.granularity or "month",
            filters=filters,
            timezone=args.timezone,
            order_settings=check_order_settings(args.order_settings),
            view_filters=view_filters,
            **source,
            refresh=args.refresh,
        )
    return emit_frame(df, args)


def _add_attribution(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--dimension", metavar="DIM", help="what to attribute to (default utm_source)"
    )
    parser.add_argument(
        "--model",
        type=split_list,
        metavar="LIST",
        help=f"attribution model(s), comma-separated: {', '.join(ATTRIBUTION_MODELS)} "
        "(default first_click)",
    )
    parser.add_argument("--window", type=int, metavar="DAYS", help="lookback days (default 30)")
    parser.add_argument(
        "--measures", "-m", type=split_list, metavar="LIST", help="attribution measure ids"
    )
    parser.add_argument("--granularity", "-g", metavar="G", help="time bucket (default none)")
    add_dates(parser)
    add_shared_query_options(parser)
    add_from_file(parser)
    add_output(parser)
    add_connection(parser)


_ATTRIBUTION_FILE: FileOptions = {
    **FILE_OPTIONS,
    "dimension": str,
    "model": file_list,
    "window": int,
    "attribution_model": file_list,
    "attribution_window": int,
}


def _run_attribution(args: argparse.Namespace) -> int:
    args.attribution_model = None
    args.attribution_window = None
    args.dimensions = None
    merge_from_file(args, _ATTRIBUTION_FILE)
    model = args.model or args.attribution_model or ["first_click"]
    window = args.window if args.window is not None else args.attribution_window
    check_out(args.out)
    with reader_source(args) as source, library_errors():
        from upstack_pandas._readers import read_attribution

        df = read_attribution(
            args.dimension or "utm_source",
            args.date_start,
            args.date_end,
            model=model[0] if len(model) == 1 else model,
            window=30 if window is None else window,
            measures=args.measures or None,
            granularity=args.granularity or "none",
            filters=check_filter(args.filter),
            timezone=args.timezone,
            order_settings=check_order_settings(args.order_settings),
            view_filters=check_view_filters(args.view_filters),
            **source,
            refresh=args.refresh,
        )
    return emit_frame(df, args)


def _add_channels(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--level", choices=CHANNEL_LEVELS, help="entity level (default account)")
    parser.add_argument(
        "--measures", "-m", type=split_list, metavar="LIST", help="metrics to add per entity"
    )
    parser.add_argument("--granularity", "-g", metavar="G", help="time bucket (default none)")
    parser.add_argument(
        "--page-size", type=int, metavar="N", help="entities per request (default 100)"
    )
    add_dates(parser)
    add_shared_query_options(parser, order=False)
    add_from_file(parser)
    add_output(parser)
    add_connection(parser)


_CHANNEL_FILE: FileOptions = {
    "measures": file_list,
    "date_start": file_date,
    "date_end": file_date,
    "granularity": str,
    "filter": None,
    "timezone": str,
    "level": str,
    "page_size": int,
}


def _run_channels(args: argparse.Namespace) -> int:
    merge_from_file(args, _CHANNEL_FILE)
    check_out(args.out)
    if args.level is not None and args.level not in CHANNEL_LEVELS:
        raise CommandError(f"level must be one of {', '.join(CHANNEL_LEVELS)}; got {args.level!r}")
    with reader_source(args) as source, library_errors():
        from upstack_pandas._readers import read_channel_details

        df = read_channel_details(
            args.measures or None,
            args.date_start,
            args.date_end,
            level=args.level or "account",
            granularity=args.granularity or "none",
            filters=check_filter(args.filter),
            timezone=args.timezone,
            page_size=args.page_size or 100,
            **source,
            refresh=args.refresh,
        )
    return emit_frame(df, args, what="entities")


SPECS = (
    CommandSpec(
        "query-cohort",
        "cohort analysis (POST /db-mgmt/api/query-cohort-analysis)",
        "Cohort analysis: one row per (cohort, period).\n\nexamples:\n"
        "  upstack-pandas query-cohort --measures orders.cohort_retention_percent "
        "--granularity month --date-start 2026-01-01 --date-end 2026-06-30\n",
        _add_cohort,
        _run_cohort,
    ),
    CommandSpec(
        "attribution",
        "attribution query (POST /db-mgmt/api/query-attribution)",
        "Attribution: revenue and orders per dimension value under a model and window.\n\n"
        "examples:\n  upstack-pandas attribution --dimension utm_source --model last_click "
        "--window 7 --date-start 2026-10-01 --date-end 2026-10-31\n",
        _add_attribution,
        _run_attribution,
    ),
    CommandSpec(
        "channel-details",
        "ad-platform entities with metrics (POST /db-mgmt/api/query-channel-details)",
        "Channel details: one row per ad account, campaign, ad set or ad.\n\nexamples:\n"
        "  upstack-pandas channel-details --level campaign --measures channel.spend\n",
        _add_channels,
        _run_channels,
    ),
)
