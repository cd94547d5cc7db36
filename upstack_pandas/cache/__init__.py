"""The response cache: freshness-aware, per credentials, no secrets on disk.

Built on requests-cache with a SQLite file in the user cache directory (``UPSTACK_CACHE_DIR``
overrides it), one file per (base URL, pixel id, key fingerprint). How long a response stays
fresh is decided by ``CachePolicy.expire_after`` (see docs/caching.md for the table). Secret
headers are never part of the cache key material nor stored: they are replaced by ``REDACTED``
(case-insensitively) before a response is written. Error responses, empty or non-JSON bodies and
dashboard writes are never cached; a dashboard write drops cached dashboard reads.

A cache file that fails at run time (disk full, corrupt, read-only) warns once with
``CacheUnavailableWarning`` and the client goes on uncached; a 401 drops the cached responses of
that key.

Controls: ``Client(cache=False)``, ``cache="dir"`` / ``cache="file.sqlite"``,
``cache=CachePolicy(...)``, ``refresh=True`` on every request, ``info()`` and ``clear()``.

This package is the user's side of the cache (``info``, ``clear``, and ``CachePolicy``
re-exported): it works on a client, so it sits above the transport, whose session runs the
machinery (the policy, the requests-cache backend, the hooks) and never imports this package.
"""

from __future__ import annotations

import contextlib
import html
import os
import sqlite3
from dataclasses import dataclass
from typing import Any

from requests_cache.backends.sqlite import SQLiteCache

from upstack_pandas._frames.memo import memo_of
from upstack_pandas._transport.cache_policy import CachePolicy
from upstack_pandas._transport.cache_store import (
    CacheUnavailableWarning,
    default_directory,
    location_of,
    lookups,
)
from upstack_pandas._transport.client import Client, get_default_client

__all__ = [
    "CacheInfo",
    "CachePolicy",
    "CacheUnavailableWarning",
    "clear",
    "default_directory",
    "info",
]


# -- public controls ----------------------------------------------------------------------


@dataclass(frozen=True)
class CacheInfo:
    """What ``info()`` reports.

    Attributes
    ----------
    location : str or None
        The cache file (``None`` when caching is off).
    size_bytes : int
        Size on disk.
    entries : int
        Stored responses (fresh or expired).
    hits, misses : int
        Lookups answered from the cache, or not, in this process.
    policy : CachePolicy or None
        The freshness policy (``None`` for a user's own session).
    """

    location: str | None
    size_bytes: int
    entries: int
    hits: int
    misses: int
    policy: CachePolicy | None = None

    def __repr__(self) -> str:
        if self.location is None:
            return "CacheInfo(caching off)"
        return (
            f"CacheInfo(location={self.location!r}, size={_human(self.size_bytes)}, "
            f"entries={self.entries}, hits={self.hits}, misses={self.misses})"
        )

    def _repr_html_(self) -> str:
        rows = [
            ("location", self.location or "caching off"),
            ("size", _human(self.size_bytes)),
            ("entries", str(self.entries)),
            ("hits (this process)", str(self.hits)),
            ("misses (this process)", str(self.misses)),
        ]
        if self.policy is not None:
            rows.append(("policy", repr(self.policy)))
        body = "".join(
            f"<tr><th style='text-align:left'>{html.escape(k)}</th><td>{html.escape(v)}</td></tr>"
            for k, v in rows
        )
        return f"<table><caption>upstack-pandas cache</caption>{body}</table>"


def _human(size: int) -> str:
    value = float(size)
    for unit in ("B", "KiB", "MiB", "GiB"):
        if value < 1024 or unit == "GiB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    raise AssertionError("unreachable")  # pragma: no cover


def _resolve(client: Client | None) -> Client:
    return client if client is not None else get_default_client()


def _entries(backend: Any) -> int:
    if isinstance(backend, SQLiteCache):
        return int(backend.responses.count())
    return len(backend.responses)


def info(client: Client | None = None) -> CacheInfo:
    """Describe a client's cache.

    Parameters
    ----------
    client : Client, optional
        Default: the default client.

    Returns
    -------
    CacheInfo
    """
    client = _resolve(client)
    backend = getattr(client.session, "cache", None)
    location = location_of(client.session)
    if backend is None or location is None:
        return CacheInfo(location=None, size_bytes=0, entries=0, hits=0, misses=0)
    size = 0
    for suffix in ("", "-wal", "-journal"):
        with contextlib.suppress(OSError):
            size += os.path.getsize(location + suffix)
    hits, misses = lookups(location)
    return CacheInfo(location, size, _entries(backend), hits, misses, client.cache_policy)


def clear(expired_only: bool = False, client: Client | None = None) -> int:
    """Remove cached responses.

    Parameters
    ----------
    expired_only : bool
        Remove only responses past their expiry.
    client : Client, optional
        Default: the default client.

    Returns
    -------
    int
        Number of responses removed.
    """
    client = _resolve(client)
    if not expired_only:  # frames decoded from cached responses, in memory and beside the file
        memo_of(client).clear()
    hits = getattr(client, "_cache_hits", None)
    if hits is not None:  # the copies of stored responses (unusable once the rows are gone)
        hits.clear()
    backend = getattr(client.session, "cache", None)
    if backend is None:
        return 0
    before = _entries(backend)
    if expired_only:
        backend.delete(expired=True)
    else:
        backend.clear()
    if isinstance(backend, SQLiteCache):
        _compact(backend.responses.db_path)
    return before - _entries(backend)


def _compact(path: str | os.PathLike[str]) -> None:
    """Give the freed pages back to the file system: VACUUM, then empty the write-ahead log.

    In WAL mode a VACUUM alone writes the rebuilt database into the ``-wal`` file, so the cache
    would grow on ``clear()``; the TRUNCATE checkpoint copies it back and truncates the log.
    """
    if str(path) in ("", ":memory:") or not os.path.exists(path):
        return
    with contextlib.closing(sqlite3.connect(path, timeout=30, isolation_level=None)) as db:
        db.execute("VACUUM")
        db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
