"""Helpers shared by the ``demo``, ``query`` and ``cache`` subcommands.

Nothing heavy is imported here: the parsers of every subcommand are built on each
``upstack-pandas --help``.
"""

from __future__ import annotations

import argparse
import contextlib
import os
from collections.abc import Iterator
from datetime import date, datetime

from upstack_pandas.cli._command import CommandError

__all__ = [
    "date_arg",
    "library_errors",
    "one_line",
    "path_label",
    "split_list",
    "when_arg",
]


def split_list(text: str) -> list[str]:
    """Split a comma-separated option value into its non-empty, stripped items.

    Parameters
    ----------
    text : str
        E.g. ``"core.new_customer_roas, NC MER,meta.cpm"``.

    Returns
    -------
    list of str
    """
    return [item.strip() for item in text.split(",") if item.strip()]


def date_arg(text: str) -> date:
    """Parse a ``YYYY-MM-DD`` option value (an argparse ``type``).

    Parameters
    ----------
    text : str

    Returns
    -------
    datetime.date

    Raises
    ------
    argparse.ArgumentTypeError
        When ``text`` is not an ISO date.
    """
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a date as YYYY-MM-DD, got {text!r}") from None


def when_arg(text: str) -> str:
    """Check an ISO date or datetime option value (an argparse ``type``), returning it as is.

    Parameters
    ----------
    text : str
        E.g. ``2026-11-26`` or ``2026-11-26T12:00:00Z``.

    Returns
    -------
    str

    Raises
    ------
    argparse.ArgumentTypeError
        When ``text`` is neither.
    """
    try:
        datetime.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"expected an ISO date or datetime such as 2026-11-26T12:00:00Z, got {text!r}"
        ) from None
    return text


def one_line(exc: BaseException) -> str:
    """Render an exception as one line (multi-line library messages joined with ``"; "``).

    Parameters
    ----------
    exc : BaseException

    Returns
    -------
    str
    """
    lines = [line.strip() for line in str(exc).splitlines() if line.strip()]
    return "; ".join(lines) or type(exc).__name__


@contextlib.contextmanager
def library_errors(context: str = "") -> Iterator[None]:
    """Turn the library's expected failures into a :class:`CommandError`.

    ``UpstackError`` (configuration, HTTP and transport errors), ``ValueError`` (arguments the
    readers reject before sending anything), ``OSError`` (files) and ``ImportError`` (a missing
    extra) become one line; anything else is a bug and keeps its traceback.

    Parameters
    ----------
    context : str
        Prefix of the message, e.g. ``"--out report.parquet"``.

    Yields
    ------
    None
    """
    from upstack_pandas._errors import UpstackError

    prefix = f"{context}: " if context else ""
    try:
        yield
    except OSError as exc:
        filename = getattr(exc, "filename", None)
        where = f" ({filename})" if filename and str(filename) not in prefix else ""
        reason = exc.strerror or one_line(exc)
        raise CommandError(f"{prefix}{reason}{where}") from None
    except ImportError as exc:
        missing = f" ({exc.name} is missing)" if exc.name else ""
        raise CommandError(f"{prefix}{one_line(exc)}{missing}") from None
    except (UpstackError, ValueError) as exc:
        raise CommandError(f"{prefix}{one_line(exc)}") from None


def path_label(path: str | os.PathLike[str]) -> str:
    """Return ``path`` as shown to the user: relative to the working directory when inside it.

    Parameters
    ----------
    path : str or path

    Returns
    -------
    str
    """
    text = os.fspath(path)
    with contextlib.suppress(ValueError):
        relative = os.path.relpath(text)
        if not relative.startswith(".."):
            return relative
    return text
