"""The ``upstack-pandas`` command.

Subcommands live one per module under :mod:`upstack_pandas.cli._command` (see its docstring for the
protocol) and are registered in :data:`COMMANDS`; this module only builds the parser and
dispatches.

Examples
--------
::

    upstack-pandas emulator --port 8765 --seed 7
    upstack-pandas emulator --help
"""

from __future__ import annotations

import argparse
import importlib
from collections.abc import Sequence
from types import ModuleType

from upstack_pandas._version import __version__
from upstack_pandas.cli._command import CommandSpec, run_command

__all__ = ["COMMANDS", "build_parser", "main"]

PROG = "upstack-pandas"

#: Subcommand modules, in the order ``--help`` lists them.
COMMANDS: tuple[str, ...] = (
    "upstack_pandas.cli.catalog",
    "upstack_pandas.cli.query",
    "upstack_pandas.cli.analytics",
    "upstack_pandas.cli.dashboard",
    "upstack_pandas.cli.account",
    "upstack_pandas.cli.costs",
    "upstack_pandas.cli.products",
    "upstack_pandas.cli.events",
    "upstack_pandas.cli.demo",
    "upstack_pandas.cli.cache",
    "upstack_pandas.cli.emulator",
)


def _specs(module: ModuleType) -> list[CommandSpec]:
    specs: tuple[CommandSpec, ...] | None = getattr(module, "SPECS", None)
    if specs is not None:
        return list(specs)
    return [
        CommandSpec(
            module.NAME,
            module.HELP,
            getattr(module, "DESCRIPTION", module.HELP),
            module.add_arguments,
            module.run,
        )
    ]


def _commands() -> list[CommandSpec]:
    return [spec for name in COMMANDS for spec in _specs(importlib.import_module(name))]


def build_parser() -> argparse.ArgumentParser:
    """Return the argument parser with every registered subcommand."""
    parser = argparse.ArgumentParser(
        prog=PROG,
        description="The pandas way to work with the Upstack Data API.",
        epilog=f"Run '{PROG} COMMAND --help' for a command's options.",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", title="commands")
    for spec in _commands():
        sub = commands.add_parser(
            spec.name,
            help=spec.help,
            description=spec.description,
            formatter_class=argparse.RawDescriptionHelpFormatter,
        )
        spec.add_arguments(sub)
        sub.set_defaults(run=spec.run)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line and return the exit code.

    Parameters
    ----------
    argv : sequence of str, optional
        Arguments without the program name (default: ``sys.argv[1:]``).

    Returns
    -------
    int
        0 on success; 1 for a failure the command reports; 2 for a usage error.
    """
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help()
        return 2
    return run_command(args.run, args, f"{PROG} {args.command}")
