"""Subcommands of the ``upstack-pandas`` command, one module each.

A subcommand module defines::

    NAME = "emulator"                       # the word after upstack-pandas
    HELP = "one line for the command list"
    DESCRIPTION = "the --help text"         # optional
    def add_arguments(parser: argparse.ArgumentParser) -> None: ...
    def run(args: argparse.Namespace) -> int: ...   # the exit code

and is listed in ``upstack_pandas.cli.COMMANDS``. A module holding several top-level commands
(``measures`` and ``filters``) defines ``SPECS``, a tuple of :class:`CommandSpec`, instead. Modules import nothing heavy at import time
(``upstack-pandas --help`` builds every parser); ``run`` imports what it needs. Expected
failures raise :class:`CommandError`, printed as one line on stderr.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from typing import NamedTuple

__all__ = ["CommandError", "CommandSpec", "run_command"]


class CommandSpec(NamedTuple):
    """One top-level command of a module that holds several."""

    name: str
    help: str
    description: str
    add_arguments: Callable[[argparse.ArgumentParser], None]
    run: Callable[[argparse.Namespace], int]


class CommandError(Exception):
    """A failure the user can act on: printed as one line, exit code ``exit_code``."""

    def __init__(self, message: str, exit_code: int = 1) -> None:
        super().__init__(message)
        self.exit_code = exit_code


def run_command(
    run: Callable[[argparse.Namespace], int], args: argparse.Namespace, prog: str
) -> int:
    """Run a subcommand, turning expected failures into one stderr line and an exit code."""
    try:
        return run(args)
    except CommandError as exc:
        print(f"{prog}: error: {exc}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        print(f"{prog}: interrupted", file=sys.stderr)
        return 130
