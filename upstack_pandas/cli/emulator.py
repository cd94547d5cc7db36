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
  upstack-pandas emulator --data shops/eu --data shops/us --print-upstackrc
                                                # 2 pixels, each with its own files and key
  upstack-pandas emulator --data shops/*        # one pixel per shop directory
  upstack-pandas emulator --pixels 3 --print-upstackrc > emulator.upstackrc
                                                # 3 pixels, one key and profile each
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
        action="append",
        help="serve your own data from DIR (orders required; sessions and ad spend optional, "
        "CSV or parquet; see docs/emulator-data.md) instead of generated data; repeat it to "
        "give each pixel its own directory (pixel 1 the first, ...)",
    )
    parser.add_argument(
        "--seed", type=int, default=7, help="seed of the generated data (default 7)"
    )
    parser.add_argument(
        "--scale",
        type=float,
        default=1.0,
        metavar="N",
        help="size of the generated shop relative to the default one (default 1; 16 is about "
        "1.3 million orders and 10 million sessions); ignored with --data",
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
    parser.add_argument(
        "--pixels",
        type=int,
        default=None,
        metavar="N",
        help="serve N pixels, each with its own key and data (default 2, or one per --data "
        "directory when several are given)",
    )
    parser.add_argument(
        "--print-upstackrc",
        action="store_true",
        help="print a ready .upstackrc (one profile per pixel: [pixel-1], [pixel-2]...) on "
        "stdout instead of the banner (which goes to stderr); point UPSTACK_CONFIG at it",
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
        from upstack_pandas.emulator.http.server import Emulator, pixel_ids
    except ImportError as exc:
        raise CommandError(
            f"the emulator needs the 'emulator' extra ({exc.name} is missing): "
            "pip install 'upstack-pandas[emulator]'"
        ) from None
    dirs: list[Path] = list(args.data or [])
    for directory in dirs:
        if not directory.is_dir():
            raise CommandError(f"--data {directory}: not a directory")
    count = args.pixels if args.pixels is not None else max(len(dirs), 2)
    if count < 1:
        raise CommandError(f"--pixels {count}: give at least 1")
    if len(dirs) > 1 and count != len(dirs):
        raise CommandError(
            f"--pixels {count} with {len(dirs)} --data directories: give one directory "
            "(served by every pixel) or one per pixel"
        )
    data_dir: Path | list[Path] | None = (dirs[0] if len(dirs) == 1 else dirs) if dirs else None
    if not args.scale > 0:
        raise CommandError(f"--scale {args.scale:g}: must be a positive number")
    emu = Emulator(
        seed=args.seed,
        now=args.now,
        data_dir=data_dir,
        port=args.port,
        persist=args.persist,
        pixels=pixel_ids(count),
        scale=args.scale,
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
    source = (
        ", ".join(str(d) for d in dirs)
        if dirs
        else (
            f"generated, seed {args.seed}" + (f", scale {args.scale:g}" if args.scale != 1 else "")
        )
    )
    try:
        print(f"Preparing data ({source})...", file=sys.stderr, flush=True)
        try:
            backend = emu.backend()  # requests arriving meanwhile wait for it
            for pixel in emu.data_dirs if len(dirs) > 1 else ():
                emu.backend(pixel)  # every pixel's files are checked before serving
        except (DataLoadError, ValueError, OSError) as exc:
            raise CommandError(f"cannot prepare the data: {exc}") from None
        data = f"{source}, now {backend.now.isoformat()}"
        banner = _banner(emu.url, emu.api_key, emu.pixel_id, data)
        if getattr(args, "print_upstackrc", False):
            print(banner, file=sys.stderr, flush=True)
            print(emu.upstackrc(), end="", flush=True)
        else:
            print(banner, flush=True)
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
