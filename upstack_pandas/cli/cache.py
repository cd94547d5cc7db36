"""``upstack-pandas cache info|clear``: look at or empty the response cache."""

from __future__ import annotations

import argparse
import contextlib
import os
import shutil
from pathlib import Path
from typing import TYPE_CHECKING

from upstack_pandas.cli._command import CommandError
from upstack_pandas.cli._common import library_errors, one_line

if TYPE_CHECKING:
    from upstack_pandas._transport.client import Client

__all__ = ["HELP", "NAME", "add_arguments", "run"]

NAME = "cache"
HELP = "show or clear the response cache"
DESCRIPTION = """\
Show or clear the response cache of the configured credentials (UPSTACK_API_KEY,
UPSTACK_PIXEL_ID, UPSTACK_BASE_URL or ~/.upstackrc). Each base URL, pixel and key has its own
SQLite file in the cache directory (UPSTACK_CACHE_DIR, or the platform's user cache directory).

examples:
  upstack-pandas cache info
  upstack-pandas cache clear                  # every response of these credentials
  upstack-pandas cache clear --expired-only   # only responses past their expiry
  upstack-pandas cache clear --all            # every cache file in the directory
"""
_SUFFIXES = ("", "-wal", "-shm", "-journal")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Add the ``info`` and ``clear`` actions to ``parser``.

    Parameters
    ----------
    parser : argparse.ArgumentParser
    """
    actions = parser.add_subparsers(dest="action", metavar="ACTION", title="actions", required=True)
    actions.add_parser(
        "info",
        help="where the cache is, its size and entries",
        description="Show the cache file of the configured credentials (location, size, "
        "entries, freshness policy) and a summary of the cache directory. Works without "
        "credentials too (directory summary only).",
    )
    clear = actions.add_parser(
        "clear",
        help="remove cached responses",
        description="Remove the cached responses of the configured credentials.",
    )
    which = clear.add_mutually_exclusive_group()
    which.add_argument(
        "--expired-only", action="store_true", help="remove only responses past their expiry"
    )
    which.add_argument(
        "--all",
        action="store_true",
        help="delete every cache file in the cache directory (all base URLs, pixels and keys; "
        "no credentials needed)",
    )


def _human(size: int) -> str:
    value = float(size)
    for unit in ("B", "KiB", "MiB"):
        if value < 1024:
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    return f"{value:.1f} GiB"


def _cache_files(directory: Path) -> list[Path]:
    return sorted(directory.glob("*.sqlite")) if directory.is_dir() else []


def _size(path: Path) -> int:
    total = 0
    for suffix in _SUFFIXES:
        with contextlib.suppress(OSError):
            total += os.path.getsize(f"{path}{suffix}")
    return total


def _client() -> tuple[Client | None, str]:
    """Return the default client, or ``None`` and why there is none."""
    from upstack_pandas._errors import ConfigurationError
    from upstack_pandas._transport.client import get_default_client

    try:
        return get_default_client(), ""
    except ConfigurationError as exc:
        return None, one_line(exc)


def _info() -> int:
    from upstack_pandas import cache

    directory = cache.default_directory()
    client, problem = _client()
    if client is None:
        reason = problem.split(" upstack-pandas looks for credentials")[0].rstrip(". ")
        print(f"No credentials configured ({reason}); see docs/configuration.md.")
    else:
        with library_errors():
            found = cache.info(client)
        if found.location is None:
            print("Caching is off for the configured client.")
        else:
            print(f"Cache of {client.base_url}, pixel {client.pixel_id}:")
            print(f"  file:     {found.location}")
            print(f"  size:     {_human(found.size_bytes)}")
            print(f"  entries:  {found.entries}")
            if found.policy is not None:
                print(f"  policy:   {found.policy!r}")
    files = _cache_files(directory)  # after the client, which may have created its file
    total = sum(_size(path) for path in files)
    print(f"Cache directory {directory}: {len(files)} file(s), {_human(total)}")
    return 0


def _clear_all() -> int:
    from upstack_pandas import cache

    directory = cache.default_directory()
    files = _cache_files(directory)
    with library_errors("cannot delete a cache file"):
        for path in files:
            for suffix in _SUFFIXES:
                with contextlib.suppress(FileNotFoundError):
                    os.remove(f"{path}{suffix}")
            shutil.rmtree(f"{path}.frames", ignore_errors=True)  # the frame memo beside it
    print(f"Deleted {len(files)} cache file(s) from {directory}")
    return 0


def _clear(expired_only: bool) -> int:
    from upstack_pandas import cache

    client, problem = _client()
    if client is None:
        raise CommandError(f"{problem} (or use 'cache clear --all')")
    with library_errors():
        removed = cache.clear(expired_only=expired_only, client=client)
        where = cache.info(client).location
    if where is None:
        print("Caching is off for the configured client; nothing to clear.")
        return 0
    what = "expired response(s)" if expired_only else "cached response(s)"
    print(f"Removed {removed} {what} from {where}")
    return 0


def run(args: argparse.Namespace) -> int:
    """Run ``cache info`` or ``cache clear``.

    Parameters
    ----------
    args : argparse.Namespace
        The parsed options (``action``, and for ``clear`` ``expired_only`` and ``all``).

    Returns
    -------
    int
        The exit code (0).
    """
    if args.action == "info":
        return _info()
    if args.all:
        return _clear_all()
    return _clear(args.expired_only)
