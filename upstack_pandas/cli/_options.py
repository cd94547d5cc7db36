"""Options shared by the API commands: connection, ``--from-file``, output, confirmation.

Nothing heavy is imported here (``upstack-pandas --help`` builds every parser); the functions
that need pandas or the client import them when called.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import re
import sys
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, TypeVar

from upstack_pandas.cli._command import CommandError
from upstack_pandas.cli._common import date_arg, library_errors, one_line, path_label

if TYPE_CHECKING:
    import pandas as pd

    from upstack_pandas._transport.client import Client

T = TypeVar("T")
Handler = Callable[[argparse.Namespace], int]

#: What ``--from-file`` may set: option name -> converter of the file's value (``None``: as is).
FileOptions = dict[str, "Callable[[Any], Any] | None"]

__all__ = [
    "OUT_SUFFIXES",
    "FileOptions",
    "action",
    "add_connection",
    "add_dates",
    "add_from_file",
    "add_output",
    "add_yes",
    "api_client",
    "apply_change",
    "confirm",
    "deleted",
    "dispatch",
    "emit_frame",
    "emit_object",
    "json_arg",
    "merge_from_file",
    "profile_list",
    "reader_source",
    "series_json",
    "stdin_is_tty",
]

#: File suffixes ``--out`` understands.
OUT_SUFFIXES = (".parquet", ".pq", ".csv", ".json")


def dispatch(args: argparse.Namespace) -> int:
    """Run the handler a nested subcommand registered with ``set_defaults(handler=...)``.

    Parameters
    ----------
    args : argparse.Namespace

    Returns
    -------
    int
        The handler's exit code.
    """
    handler: Callable[[argparse.Namespace], int] = args.handler
    return handler(args)


@contextlib.contextmanager
def action(
    actions: argparse._SubParsersAction[argparse.ArgumentParser],
    name: str,
    help_text: str,
    handler: Handler,
    *,
    output: Literal["table", "json"] | None = None,
    changes: bool = False,
) -> Iterator[argparse.ArgumentParser]:
    """Register one leaf action of a command: the body adds its own arguments.

    After the body: ``--json`` (and ``--out`` for a table) when the action prints ``output``,
    ``--yes`` when it ``changes`` the account, then the connection options and the handler,
    in the order every action's help shows them.

    Parameters
    ----------
    actions : argparse._SubParsersAction
        The ``add_subparsers`` result to add the action to.
    name, help_text : str
        The action's name and one-line help.
    handler : callable
        ``handler(args) -> exit code``, run by :func:`dispatch`.
    output : {"table", "json"}, optional
        What the action prints, for the output options.
    changes : bool, default False
        Whether the action changes the account (then it confirms first, see :func:`confirm`).

    Yields
    ------
    argparse.ArgumentParser
        The action's parser.
    """
    parser = actions.add_parser(name, help=help_text)
    yield parser
    if output is not None:
        add_output(parser, table=output == "table")
    if changes:
        add_yes(parser)
    add_connection(parser)
    parser.set_defaults(handler=handler)


def apply_change(
    args: argparse.Namespace,
    summary: str,
    change: Callable[[Client], T],
    show: Callable[[T], int] | None = None,
) -> int:
    """Confirm a change, make it with the command's client and show what the API answered.

    Parameters
    ----------
    args : argparse.Namespace
        The parsed command line (``--yes``, the connection options).
    summary : str
        What will change, shown before asking (see :func:`confirm`).
    change : callable
        ``change(client)``: makes the change and returns what the API stored.
    show : callable, optional
        ``show(stored) -> exit code``; by default the stored object printed as JSON.

    Returns
    -------
    int
        ``show``'s exit code, or 1 when the user declined (nothing was changed).
    """
    if not confirm(summary, args):
        return declined()
    with api_client(args) as client, library_errors():
        stored = change(client)
    return (show or emit_object)(stored)


def deleted(what: str, identifier: str) -> int:
    """Report a deletion the API confirmed.

    Parameters
    ----------
    what, identifier : str
        What was deleted (``"COG line"``) and its id.

    Returns
    -------
    int
        0.
    """
    print(f"Deleted {what} {identifier}")
    return 0


def series_json(series: Any) -> dict[str, Any]:
    """A one-row pandas object (or any mapping) as a JSON object, missing values as null.

    Parameters
    ----------
    series : pandas.Series or mapping
        What the API stored, as the library returns it.

    Returns
    -------
    dict
        String keys; NaN, NaT and None as ``None``.
    """
    return {
        str(key): (None if value is None or value != value else value)
        for key, value in series.items()
    }


def add_connection(parser: argparse.ArgumentParser) -> None:
    """Add ``--profile`` and ``--emulator``.

    Parameters
    ----------
    parser : argparse.ArgumentParser
    """
    group = parser.add_argument_group("connection")
    group.add_argument(
        "--profile",
        "-p",
        metavar="NAME",
        help="section of ~/.upstackrc to use (default: UPSTACK_PROFILE, else [default]); the "
        "query, query-cohort, attribution and channel-details commands take a comma-separated "
        "list (one pixel each, with a pixel column in the output)",
    )
    group.add_argument(
        "--emulator",
        action="store_true",
        help="run against an embedded emulator (synthetic data, seed 7) instead of the API",
    )


def add_dates(parser: argparse.ArgumentParser, *, what: str = "last 30 days") -> None:
    """Add ``--date-start``/``--date-end`` with ``--start``/``--end`` as aliases.

    Parameters
    ----------
    parser : argparse.ArgumentParser
    what : str
        The default range, for the help text.
    """
    parser.add_argument(
        "--date-start",
        "--start",
        dest="date_start",
        type=date_arg,
        metavar="DATE",
        help="first day, YYYY-MM-DD (inclusive)",
    )
    parser.add_argument(
        "--date-end",
        "--end",
        dest="date_end",
        type=date_arg,
        metavar="DATE",
        help=f"last day, YYYY-MM-DD (inclusive); default: the {what}",
    )


def add_from_file(parser: argparse.ArgumentParser, help_text: str | None = None) -> None:
    """Add ``--from-file PATH`` (a JSON object; flags given on the command line override it).

    Parameters
    ----------
    parser : argparse.ArgumentParser
    help_text : str, optional
    """
    parser.add_argument(
        "--from-file",
        type=Path,
        metavar="PATH",
        help=help_text
        or "JSON file with any of the options (dashed, underscored or the API's camelCase "
        "names; dateRange {start, end} too); options on the command line override it",
    )


def add_output(parser: argparse.ArgumentParser, *, table: bool = True) -> None:
    """Add ``--json`` and, for tables, ``--out FILE``.

    Parameters
    ----------
    parser : argparse.ArgumentParser
    table : bool
        Whether the command prints a table (then ``--out`` is offered).
    """
    group = parser.add_argument_group("output")
    group.add_argument("--json", action="store_true", help="print JSON instead of a table")
    if table:
        group.add_argument(
            "--out",
            "-o",
            type=Path,
            metavar="FILE",
            help="write to FILE instead of printing, by extension: .parquet (index, time zone "
            "and metadata kept), .csv (plain values) or .json (records)",
        )


def add_yes(parser: argparse.ArgumentParser) -> None:
    """Add ``--yes``/``-y`` (skip the confirmation of a change).

    Parameters
    ----------
    parser : argparse.ArgumentParser
    """
    parser.add_argument(
        "--yes",
        "-y",
        action="store_true",
        help="do not ask for confirmation (required when stdin is not a terminal)",
    )


def json_arg(text: str) -> Any:
    """Parse a JSON option value (an argparse ``type``).

    Parameters
    ----------
    text : str

    Returns
    -------
    Any
        The decoded value.

    Raises
    ------
    argparse.ArgumentTypeError
        When ``text`` is not JSON.
    """
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise argparse.ArgumentTypeError(f"not valid JSON: {exc}") from None


def read_json_file(path: Path, option: str = "--from-file") -> Any:
    """Read a JSON file named by an option, as a one-line :class:`CommandError` on failure.

    Parameters
    ----------
    path : Path
    option : str
        The option's name, for messages.

    Returns
    -------
    Any
    """
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise CommandError(f"{option} {path}: {exc.strerror or one_line(exc)}") from None
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise CommandError(f"{option} {path}: not valid JSON: {exc}") from None


def _option_name(key: str) -> str:
    snake = re.sub(r"(?<=[a-z0-9])([A-Z])", r"_\1", key).lower()
    return snake.replace("-", "_")


#: API body names whose option is spelled differently.
_ALIASES = {"filters": "filter", "chart_types": "chart_types", "start": "date_start"}


def merge_from_file(
    args: argparse.Namespace, options: Mapping[str, Callable[[Any], Any] | None]
) -> None:
    """Fill the options not given on the command line from ``args.from_file``.

    Parameters
    ----------
    args : argparse.Namespace
        Parsed options; those still ``None`` (or an empty list) take the file's value.
    options : mapping
        Option names (``args`` attributes) the file may set, each with a converter for the
        file's value (``None``: as is).

    Raises
    ------
    CommandError
        When the file is unreadable, not a JSON object, or names an unknown option.
    """
    path: Path | None = getattr(args, "from_file", None)
    if path is None:
        return
    body = read_json_file(path)
    if not isinstance(body, dict):
        raise CommandError(f"--from-file {path}: expected a JSON object")
    values: dict[str, Any] = {}
    for key, value in body.items():
        if key == "dateRange" and isinstance(value, dict):
            values.update(date_start=value.get("start"), date_end=value.get("end"))
            continue
        name = _option_name(key)
        values[_ALIASES.get(name, name)] = value
    unknown = sorted(set(values) - set(options))
    if unknown:
        known = ", ".join(sorted(options))
        raise CommandError(
            f"--from-file {path}: unknown option(s) {', '.join(unknown)}; known: {known}"
        )
    for name, value in values.items():
        if getattr(args, name, None) not in (None, [], False) or value is None:
            continue
        convert = options[name]
        try:
            setattr(args, name, convert(value) if convert is not None else value)
        except (argparse.ArgumentTypeError, TypeError, ValueError, AttributeError) as exc:
            raise CommandError(f"--from-file {path}: {name}: {one_line(exc)}") from None


def file_date(value: Any) -> Any:
    """Convert a ``--from-file`` date string like the ``--date-start`` option does.

    Parameters
    ----------
    value : Any

    Returns
    -------
    datetime.date
    """
    return date_arg(str(value))


def file_list(value: Any) -> list[str]:
    """Convert a ``--from-file`` list (JSON array or comma-separated string).

    Parameters
    ----------
    value : Any

    Returns
    -------
    list of str
    """
    if isinstance(value, str):
        return [item.strip() for item in value.split(",") if item.strip()]
    return [str(item) for item in value]


@contextlib.contextmanager
def api_client(args: argparse.Namespace) -> Iterator[Client]:
    """Yield the client of ``--emulator`` / ``--profile`` / the environment.

    Parameters
    ----------
    args : argparse.Namespace
        With ``profile`` and ``emulator`` (from :func:`add_connection`).

    Yields
    ------
    Client
    """
    if getattr(args, "emulator", False) and getattr(args, "profile", None):
        raise CommandError("--profile and --emulator exclude each other; give one")
    if getattr(args, "emulator", False):
        with library_errors("--emulator"):
            from upstack_pandas.emulator import Emulator

            emu = Emulator().start()
        try:
            with emu.client(cache=False) as client:
                yield client
        finally:
            emu.stop()
        return
    from upstack_pandas._errors import ConfigurationError
    from upstack_pandas._transport.client import Client, get_default_client

    profile = getattr(args, "profile", None)
    if profile and len(profile_list(profile)) > 1:
        raise CommandError(
            f"--profile {profile}: this command works on one pixel; give one profile"
        )
    if profile:
        profile = profile_list(profile)[0]
        try:
            client = Client(profile=profile)
        except ConfigurationError as exc:
            raise CommandError(f"--profile {profile}: {one_line(exc)}") from None
        try:
            yield client
        finally:
            client.close()
        return
    try:
        client = get_default_client()
    except ConfigurationError as exc:
        raise CommandError(f"{one_line(exc)} Or pass --emulator to try a local one.") from None
    yield client


def profile_list(value: str) -> list[str]:
    """The profile names of a ``--profile`` value (comma-separated, blanks dropped).

    Parameters
    ----------
    value : str

    Returns
    -------
    list of str
    """
    return [name.strip() for name in value.split(",") if name.strip()]


@contextlib.contextmanager
def reader_source(args: argparse.Namespace) -> Iterator[dict[str, Any]]:
    """Yield the reader keyword of the connection options: ``client=`` or ``profiles=``.

    ``--profile a,b`` (several names) gives ``{"profiles": [...]}``: the reader opens one
    client per profile and returns one frame with a leading ``pixel`` level; anything else
    gives ``{"client": ...}`` as :func:`api_client` resolves it.

    Parameters
    ----------
    args : argparse.Namespace
        With ``profile`` and ``emulator`` (from :func:`add_connection`).

    Yields
    ------
    dict
    """
    names = profile_list(getattr(args, "profile", None) or "")
    if len(names) > 1:
        if getattr(args, "emulator", False):
            raise CommandError("--profile and --emulator exclude each other; give one")
        yield {"profiles": names}
        return
    with api_client(args) as client:
        yield {"client": client}


def check_out(out: Path | None) -> None:
    """Refuse an ``--out`` file type before any request.

    Parameters
    ----------
    out : Path or None
    """
    if out is not None and out.suffix.lower() not in OUT_SUFFIXES:
        raise CommandError(
            f"--out {out}: unknown file type {out.suffix or '(none)'!r}; "
            "use a .parquet, .csv or .json file name"
        )


def _records_json(df: pd.DataFrame) -> str:
    flat = df.reset_index() if not isinstance(df.index, _range_index()) else df
    text: str = flat.to_json(
        orient="records", date_format="iso", indent=2, default_handler=str, force_ascii=False
    )
    return text


def _range_index() -> type:
    import pandas as pd

    return pd.RangeIndex


def emit_frame(
    df: pd.DataFrame,
    args: argparse.Namespace,
    *,
    formatted: Callable[[pd.DataFrame], pd.DataFrame] | None = None,
    what: str = "rows",
    columns: str = "columns",
) -> int:
    """Print a frame (table or ``--json``) or write it to ``--out``.

    Parameters
    ----------
    df : pandas.DataFrame
    args : argparse.Namespace
        With ``json`` and ``out``.
    formatted : callable, optional
        Turns the frame into the table to print (e.g. values formatted as currency).
    what : str
        What a row is, for the ``--out`` message.
    columns : str
        What a column is, for the ``--out`` message.

    Returns
    -------
    int
        0.
    """
    out: Path | None = getattr(args, "out", None)
    if out is not None:
        with library_errors(f"--out {out}"):
            suffix = out.suffix.lower()
            if suffix == ".csv":
                df.to_csv(out)
            elif suffix == ".json":
                out.write_text(_records_json(df) + "\n", encoding="utf-8")
            elif "upstack" in df.attrs:
                df.upstack.to_parquet(out)
            else:
                df.to_parquet(out)
        print(f"Wrote {len(df)} {what} x {df.shape[1]} {columns} to {path_label(out)}")
        return 0
    if getattr(args, "json", False):
        print(_records_json(df))
        return 0
    if df.empty:
        print("(no rows)")
        return 0
    shown = formatted(df) if formatted is not None else df
    print(shown.to_string())
    return 0


def emit_object(value: Any, args: argparse.Namespace | None = None) -> int:
    """Print a JSON document (objects are always printed as JSON, ``--json`` or not).

    Parameters
    ----------
    value : Any
        JSON-compatible data; dates and other objects are printed with ``str``.
    args : argparse.Namespace, optional

    Returns
    -------
    int
        0.
    """
    print(json.dumps(value, indent=2, default=_json_default, ensure_ascii=False))
    return 0


def _json_default(value: Any) -> Any:
    isoformat = getattr(value, "isoformat", None)
    if callable(isoformat):
        return isoformat()
    item = getattr(value, "item", None)  # numpy scalars
    if callable(item):
        return item()
    return str(value)


def stdin_is_tty() -> bool:
    """Whether stdin is a terminal (the seam tests replace).

    Returns
    -------
    bool
    """
    return sys.stdin.isatty()


def confirm(summary: str, args: argparse.Namespace) -> bool:
    """Show what a change will do and ask before doing it.

    With ``--yes`` the summary is printed and the answer is yes. Without a terminal on stdin
    nothing is asked: the command refuses with a hint to pass ``--yes``.

    Parameters
    ----------
    summary : str
        What will change (printed first).
    args : argparse.Namespace
        With ``yes``.

    Returns
    -------
    bool
        ``True`` to go ahead; ``False`` when the user declined (the caller prints nothing was
        changed and exits 1).

    Raises
    ------
    CommandError
        Without ``--yes`` when stdin is not a terminal.
    """
    print(summary)
    if getattr(args, "yes", False):
        return True
    if not stdin_is_tty():
        raise CommandError(
            "this changes your account and stdin is not a terminal to confirm it; "
            "pass --yes to go ahead"
        )
    try:
        answer = input("Proceed? [y/N] ")
    except EOFError:
        answer = ""
    return answer.strip().lower() in ("y", "yes")


def declined() -> int:
    """Report a declined confirmation.

    Returns
    -------
    int
        1.
    """
    print("Cancelled: nothing was changed.", file=sys.stderr)
    return 1
