"""``upstack-pandas demo``: the documented quickstart, end to end, on an embedded emulator.

The steps themselves (catalog, query, dashboard view, cohorts, files) are in
:mod:`upstack_pandas.cli._demo_steps`; this module parses the options, provides the client
(an embedded ``Emulator``, or the configured credentials with ``--live``) and reports.
"""

from __future__ import annotations

import argparse
import contextlib
import gc
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import TYPE_CHECKING

from upstack_pandas.cli._command import CommandError
from upstack_pandas.cli._common import library_errors, path_label, when_arg

if TYPE_CHECKING:
    from upstack_pandas._transport.client import Client

__all__ = ["DEFAULT_OUT", "HELP", "NAME", "add_arguments", "run"]

NAME = "demo"
HELP = "run the quickstart on an embedded emulator: catalog, query, dashboard, cohorts, plots"
DESCRIPTION = """\
Run the documented quickstart against an embedded emulator of the Upstack Data API (no
account needed): list the measures catalog, query New Customer ROAS, New Customer MER and
Meta CPM for the last 30 days, print their summary, build a dashboard view from them, and run
a monthly cohort analysis. Writes into --out: query.parquet and cohorts.parquet (with their
metadata; read them back with upstack_pandas.read_parquet), sparklines.png,
cohort_heatmap.png and dashboard.html (the view's layout).

With --live the same runs against the real API with your configured credentials
(UPSTACK_API_KEY, UPSTACK_PIXEL_ID, or ~/.upstackrc); it creates one dashboard view in your
account (skipped when the key lacks dashboards:write).

examples:
  upstack-pandas demo
  upstack-pandas demo --out /tmp/demo --now 2026-11-26T12:00:00Z --seed 3
  upstack-pandas demo --live
"""
DEFAULT_OUT = Path("upstack-demo")
DEFAULT_SEED = 7


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Add the demo's options to ``parser``.

    Parameters
    ----------
    parser : argparse.ArgumentParser
    """
    parser.add_argument(
        "--out",
        "-o",
        type=Path,
        default=DEFAULT_OUT,
        metavar="DIR",
        help=f"folder for the files (default ./{DEFAULT_OUT}; created if missing)",
    )
    parser.add_argument(
        "--live",
        action="store_true",
        help="use the real API with the configured credentials instead of the emulator",
    )
    parser.add_argument(
        "--seed",
        type=int,
        metavar="N",
        help=f"seed of the emulator's generated data (default {DEFAULT_SEED})",
    )
    parser.add_argument(
        "--now",
        type=when_arg,
        metavar="WHEN",
        help="the emulator's clock, an ISO date or datetime such as 2026-11-26T12:00:00Z "
        "(default: now); 'the last 30 days' end on that day",
    )


@dataclass(frozen=True)
class Source:
    """Where the demo's data comes from.

    Attributes
    ----------
    client : Client
        The client to query with.
    today : datetime.date
        The last day of "the last 30 days" (the server's today, in UTC).
    label : str
        One line describing the source.
    live : bool
        Whether this is the real API.
    """

    client: Client
    today: date
    label: str
    live: bool


@contextlib.contextmanager
def _emulated(seed: int, now: str | None) -> Iterator[Source]:
    with library_errors("cannot start the emulator"):
        from upstack_pandas.emulator import Emulator

        emu = Emulator(seed=seed, now=now)
        server_now = emu.backend().now  # builds the data (the slow part) before serving
        emu.start()
    label = (
        f"embedded emulator at {emu.url} (synthetic data, seed {seed}, "
        f"now {server_now:%Y-%m-%d %H:%M} UTC)"
    )
    try:
        # uncached: the demo neither reads nor fills the user's cache
        with emu.client(cache=False) as client:
            yield Source(client, server_now.astimezone(UTC).date(), label, live=False)
    finally:
        emu.stop()


@contextlib.contextmanager
def _live() -> Iterator[Source]:
    with library_errors("--live"):
        from upstack_pandas._transport.client import Client

        client = Client()
    with client:
        label = f"the Upstack Data API at {client.base_url}, pixel {client.pixel_id}"
        yield Source(client, datetime.now(UTC).date(), label, live=True)


def run(args: argparse.Namespace) -> int:
    """Run the quickstart and print what it found and wrote.

    Parameters
    ----------
    args : argparse.Namespace
        The parsed options (``out``, ``live``, ``seed``, ``now``).

    Returns
    -------
    int
        The exit code (0).
    """
    if args.live and (args.seed is not None or args.now is not None):
        raise CommandError("--seed and --now configure the emulator; they cannot go with --live")
    started = time.perf_counter()
    out: Path = args.out
    with library_errors(f"--out {out}"):
        out.mkdir(parents=True, exist_ok=True)
    import matplotlib

    matplotlib.use("Agg")  # files only: never open a window, work without a display

    from upstack_pandas.cli import _demo_steps as steps

    source = _live() if args.live else _emulated(args.seed or DEFAULT_SEED, args.now)
    with source as src, library_errors():
        print(f"upstack-pandas demo: {src.label}\n")
        fetched = steps.fetch(src.client, src.today, live=src.live)
    del source, src  # the embedded emulator's data goes before the plots are drawn
    gc.collect()
    with library_errors():
        files = steps.write_outputs(fetched, out)
    print("Files:")
    for what, path in files.items():
        print(f"  {path_label(path):<40} {what}")
    print(f"\nDone in {time.perf_counter() - started:.1f} s.")
    return 0
