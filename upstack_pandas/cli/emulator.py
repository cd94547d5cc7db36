"""``upstack-pandas emulator`` (and ``python -m upstack_pandas.emulator``): serve the local API."""

from __future__ import annotations

import argparse
import logging
import os
import sys
import time
from collections.abc import Sequence
from pathlib import Path

from upstack_pandas.cli._command import CommandError, run_command
from upstack_pandas.cli._common import when_arg

__all__ = ["DEFAULT_PORT", "HELP", "NAME", "add_arguments", "main", "run"]

NAME = "emulator"
HELP = "run a local emulator of the Upstack Data API"
DESCRIPTION = """\
Run a local emulator of the Upstack Data API on 127.0.0.1, computing every answer from
deterministic synthetic data (or your own, with --data) with DuckDB. It prints the URL, a
demo API key and a pixel id, and serves until Ctrl-C.

examples:
  upstack-pandas emulator                       # http://127.0.0.1:8765, seed 7, now = today
  upstack-pandas emulator --port 0 --now 2026-11-26T12:00:00Z
  upstack-pandas emulator --data ./my-shop      # serve orders.csv [+ sessions, ad spend]
"""
DEFAULT_PORT = 8765


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Add the emulator's options to ``parser``."""
    parser.add_argument(
        "--port",
        type=int,
        default=DEFAULT_PORT,
        help=f"port to listen on (default {DEFAULT_PORT}; 0 picks a free port)",
    )
    parser.add_argument(
        "--data",
        metavar="DIR",
        type=Path,
        help="serve your own data from DIR (orders required; sessions and ad spend optional, "
        "CSV or parquet; see docs/emulator-data.md) instead of generated data",
    )
    parser.add_argument(
        "--seed", type=int, default=7, help="seed of the generated data (default 7)"
    )
    parser.add_argument(
        "--now",
        type=when_arg,
        metavar="WHEN",
        help="the server's clock, an ISO date or datetime such as 2026-11-26T12:00:00Z "
        "(default: now); generated data runs up to it",
    )
    parser.add_argument(
        "--persist",
        metavar="FILE",
        type=Path,
        help="keep dashboard views in this SQLite file across restarts (default: in memory)",
    )
    parser.add_argument("--quiet", action="store_true", help="do not log requests to stderr")


_COLOURS = {"1": "1", "3": "32", "304": "36", "404": "33", "4": "1;31", "5": "1;35"}


class _RequestLogFormatter(logging.Formatter):
    """``HH:MM:SS message``, the request line coloured by status when ``colour`` is true.

    Parameters
    ----------
    colour : bool
        Add ANSI colours (werkzeug's scheme: 4xx red, 5xx magenta, 404 yellow, 3xx green).
    """

    def __init__(self, colour: bool) -> None:
        super().__init__("%(asctime)s %(message)s", "%H:%M:%S")
        self.colour = colour

    def format(self, record: logging.LogRecord) -> str:
        """Format ``record``; colour it when enabled and it carries an ``http_status``."""
        text = super().format(record)
        status = str(getattr(record, "http_status", ""))
        code = (_COLOURS.get(status) or _COLOURS.get(status[:1])) if status else None
        if not self.colour or code is None:
            return text
        return f"\x1b[{code}m{text}\x1b[0m"


def _wants_colour(stream: object) -> bool:
    """Whether to colour output to ``stream``: a terminal, and ``NO_COLOR`` unset.

    Parameters
    ----------
    stream : file-like

    Returns
    -------
    bool
    """
    if os.environ.get("NO_COLOR"):
        return False
    isatty = getattr(stream, "isatty", None)
    return bool(isatty and isatty())


def _banner(url: str, api_key: str, pixel_id: str, data: str) -> str:
    return f"""\
Upstack Data API emulator running at {url}
  API key:   {api_key}
  Pixel id:  {pixel_id}
  Data:      {data}

From Python:
  upstack_pandas.Client(api_key="{api_key}",
                        pixel_id="{pixel_id}", base_url="{url}")
From a shell:
  export UPSTACK_BASE_URL={url}
  export UPSTACK_API_KEY={api_key}
  export UPSTACK_PIXEL_ID={pixel_id}

Press Ctrl-C to stop."""


def run(args: argparse.Namespace) -> int:
    """Start serving on 127.0.0.1, prepare the data, print how to connect, serve until Ctrl-C."""
    try:
        from upstack_pandas.emulator.engine.errors import DataLoadError
        from upstack_pandas.emulator.http.server import Emulator
    except ImportError as exc:
        raise CommandError(
            f"the emulator needs the 'emulator' extra ({exc.name} is missing): "
            "pip install 'upstack-pandas[emulator]'"
        ) from None
    if args.data is not None and not args.data.is_dir():
        raise CommandError(f"--data {args.data}: not a directory")
    emu = Emulator(
        seed=args.seed, now=args.now, data_dir=args.data, port=args.port, persist=args.persist
    )
    try:
        emu.start()  # bind first: a busy port fails before seconds of data preparation
    except OSError as exc:
        hint = "; pass --port 0 for a free port" if args.port else ""
        raise CommandError(
            f"cannot listen on 127.0.0.1:{args.port}: {exc.strerror or exc}{hint}"
        ) from None
    log = logging.getLogger("upstack_pandas.emulator")
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(_RequestLogFormatter(colour=_wants_colour(sys.stderr)))
    if not args.quiet:
        log.addHandler(handler)
        log.setLevel(logging.INFO)
    source = f"{args.data}" if args.data is not None else f"generated, seed {args.seed}"
    try:
        print(f"Preparing data ({source})...", file=sys.stderr, flush=True)
        try:
            backend = emu.backend()  # requests arriving meanwhile wait for it
        except (DataLoadError, ValueError, OSError) as exc:
            raise CommandError(f"cannot prepare the data: {exc}") from None
        data = f"{source}, now {backend.now.isoformat()}"
        print(_banner(emu.url, emu.api_key, emu.pixel_id, data), flush=True)
        while emu.running:
            time.sleep(0.2)
    except KeyboardInterrupt:
        print("Stopped.", file=sys.stderr)
    finally:
        emu.stop()
        log.removeHandler(handler)
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of ``python -m upstack_pandas.emulator`` (same options as the subcommand)."""
    prog = "python -m upstack_pandas.emulator"
    parser = argparse.ArgumentParser(
        prog=prog, description=DESCRIPTION, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    add_arguments(parser)
    return run_command(run, parser.parse_args(argv), prog)
