"""``upstack-pandas events send``: server-side events from a JSON, CSV or parquet file."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import TYPE_CHECKING

from upstack_pandas.cli._command import CommandError
from upstack_pandas.cli._common import library_errors
from upstack_pandas.cli._options import (
    action,
    api_client,
    check_out,
    confirm,
    declined,
    dispatch,
    emit_frame,
    read_json_file,
)

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["HELP", "NAME", "add_arguments", "run"]

NAME = "events"
HELP = "send server-side events (POST /tr/api/events)"
DESCRIPTION = """\
Send events, one per row of --from-file (.json array of objects, .csv or .parquet); prints one
result row per event (accepted, eventId, reason, batch).

examples:
  upstack-pandas events send --from-file events.csv --yes
  upstack-pandas events send --from-file events.json --on-invalid skip --yes --json
"""
run = dispatch


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Add ``send``.

    Parameters
    ----------
    parser : argparse.ArgumentParser
    """
    actions = parser.add_subparsers(dest="action", metavar="ACTION", title="actions", required=True)
    with action(actions, "send", "send events from a file", _send, output="table",
                changes=True) as p:  # fmt: skip
        p.add_argument("--from-file", type=Path, required=True, metavar="PATH")
        p.add_argument("--version", choices=("auto", "batch", "single"), default="auto")
        p.add_argument("--batch-size", type=int, default=100, metavar="N")
        p.add_argument(
            "--on-invalid",
            choices=("raise", "skip"),
            default="raise",
            help="raise: refuse the file if a row is invalid (default); skip: send the valid rows",
        )


def _load(path: Path) -> pd.DataFrame:
    import pandas as pd

    suffix = path.suffix.lower()
    with library_errors(f"--from-file {path}"):
        if suffix == ".csv":
            return pd.read_csv(path)
        if suffix in (".parquet", ".pq"):
            return pd.read_parquet(path)
    if suffix != ".json":
        raise CommandError(f"--from-file {path}: use a .json, .csv or .parquet file")
    records = read_json_file(path)
    if not isinstance(records, list) or not all(isinstance(item, dict) for item in records):
        raise CommandError(f"--from-file {path}: expected a JSON array of event objects")
    return pd.DataFrame.from_records(records)


def _send(args: argparse.Namespace) -> int:
    check_out(args.out)
    events = _load(args.from_file)
    with library_errors():
        from upstack_pandas import events as api

        checked = api.validate(events, version=args.version)
    invalid = int((~checked["valid"]).sum())
    if invalid and args.on_invalid == "raise":
        first = checked[~checked["valid"]].iloc[0]
        raise CommandError(
            f"{invalid} invalid event(s), e.g. row {first.name}: {first['reason']}; nothing sent "
            "(fix them or pass --on-invalid skip)"
        )
    if not confirm(f"Send {len(events) - invalid} event(s) ({invalid} invalid skipped).", args):
        return declined()
    with api_client(args) as client, library_errors():
        result = api.send(
            events,
            version=args.version,
            batch_size=args.batch_size,
            on_invalid=args.on_invalid,
            client=client,
        )
    return emit_frame(result, args, what="events")
