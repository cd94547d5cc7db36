"""The response cache: freshness-aware, per credentials, no secrets on disk.

Built on requests-cache with a SQLite file in the user cache directory (``UPSTACK_CACHE_DIR``
overrides it), one file per (base URL, pixel id, key fingerprint). How long a response stays
fresh is decided by ``CachePolicy.expire_after`` (see docs/caching.md for the table). Secret
headers are never part of the cache key material nor stored: they are replaced by ``REDACTED``
(case-insensitively) before a response is written. Error responses, empty or non-JSON bodies and
dashboard writes are never cached; a dashboard write drops cached dashboard reads.

Controls: ``Client(cache=False)``, ``cache="dir"`` / ``cache="file.sqlite"``,
``cache=CachePolicy(...)``, ``refresh=True`` on every request, ``info()`` and ``clear()``.
"""

from __future__ import annotations

import contextlib
import html
import os
import re
import sqlite3
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import orjson
from requests_cache.backends.sqlite import SQLiteCache

from upstack_pandas.cache._backend import default_directory, location_of, lookups

if TYPE_CHECKING:
    from upstack_pandas._transport.client import Client

__all__ = ["CacheInfo", "CachePolicy", "clear", "default_directory", "info"]

_PACING = re.compile(rb'"hasPacing"\s*:\s*true')
_DASHBOARD = "/accounts/api/dashboard"
_CATALOG = ("/db-mgmt/api/measures", "/db-mgmt/api/filters")


@dataclass(frozen=True)
class CachePolicy:
    """How long responses stay fresh, and where the cache lives.

    Parameters
    ----------
    catalog : timedelta
        Measures and filters catalog (default 24 h).
    settled : timedelta
        Query results whose date range ended before the settle window (default 7 days).
    recent : timedelta
        Query results reaching into the settle window or today, cohorts, other reads
        (default 5 min).
    pacing : timedelta
        Upper bound for responses with ``hasPacing: true`` (default 5 min).
    dashboards : timedelta
        Dashboard view reads (default 60 s; any write through the client drops them).
    settle_days : int
        Days after which a date is considered final (late orders, refunds), default 3.
    location : str or path, optional
        A directory (one file per base URL, pixel and key inside) or, with a suffix such as
        ``.sqlite``, the cache file itself. Default: ``$UPSTACK_CACHE_DIR`` or the platform's
        user cache directory.
    """

    catalog: timedelta = timedelta(hours=24)
    settled: timedelta = timedelta(days=7)
    recent: timedelta = timedelta(minutes=5)
    pacing: timedelta = timedelta(minutes=5)
    dashboards: timedelta = timedelta(seconds=60)
    settle_days: int = 3
    location: str | os.PathLike[str] | None = None

    @classmethod
    def coerce(cls, value: Any) -> CachePolicy:
        """Accept ``True``, a path or a policy.

        Parameters
        ----------
        value : bool, str, path or CachePolicy

        Returns
        -------
        CachePolicy
        """
        if isinstance(value, CachePolicy):
            return value
        if value is True:
            return cls()
        if isinstance(value, str | os.PathLike):
            return cls(location=value)
        raise TypeError(
            f"cache must be a bool, a path, a CachePolicy or a CachedSession, not {value!r}"
        )

    def expire_after(
        self,
        method: str,
        path: str,
        body: bytes | None = None,
        content: bytes | None = None,
        *,
        now: datetime | None = None,
    ) -> timedelta | None:
        """Decide how long a successful response stays fresh.

        Parameters
        ----------
        method : str
            HTTP method.
        path : str
            URL path (a base URL prefix is tolerated).
        body : bytes, optional
            The JSON request body (for ``dateRange`` and ``timezone``).
        content : bytes, optional
            The response body (for ``hasPacing``).
        now : datetime, optional
            Current time (tz-aware); default the system clock.

        Returns
        -------
        timedelta or None
            ``None`` means: do not cache.
        """
        method = method.upper()
        if method == "GET" and _DASHBOARD in path:
            expiry = self.dashboards
        elif method == "GET" and path.rstrip("/").endswith(_CATALOG):
            expiry = self.catalog
        elif method == "POST" and "/db-mgmt/api/query" in path:
            if "query-cohort-analysis" in path:  # cohorts gain periods as time passes
                expiry = self.recent
            else:
                expiry = self._query_expiry(body, now or datetime.now(UTC))
        elif method == "GET":
            expiry = self.recent
        else:
            return None
        if content and expiry > self.pacing and _PACING.search(content):
            expiry = self.pacing
        return expiry

    def _query_expiry(self, body: bytes | None, now: datetime) -> timedelta:
        try:
            request = orjson.loads(body or b"{}")
            end = date.fromisoformat(request["dateRange"]["end"])
        except (orjson.JSONDecodeError, KeyError, TypeError, ValueError):
            return self.recent
        try:
            tz = ZoneInfo(str(request.get("timezone") or "UTC"))
        except (ZoneInfoNotFoundError, ValueError):
            tz = ZoneInfo("UTC")
        today = now.astimezone(tz).date()
        return self.settled if end < today - timedelta(days=self.settle_days) else self.recent

    def __repr__(self) -> str:
        def fmt(value: timedelta) -> str:
            seconds = int(value.total_seconds())
            for unit, size in (("d", 86400), ("h", 3600), ("min", 60)):
                if seconds and seconds % size == 0:
                    return f"{seconds // size} {unit}"
            return f"{seconds} s"

        where = f", location={str(self.location)!r}" if self.location is not None else ""
        return (
            f"CachePolicy(catalog={fmt(self.catalog)}, settled={fmt(self.settled)}, "
            f"recent={fmt(self.recent)}, pacing={fmt(self.pacing)}, "
            f"dashboards={fmt(self.dashboards)}, settle_days={self.settle_days}{where})"
        )


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
    if client is not None:
        return client
    from upstack_pandas._transport.client import get_default_client

    return get_default_client()


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
    if not expired_only:
        from upstack_pandas._frames.memo import QUERY_FRAMES

        QUERY_FRAMES.clear()  # frames decoded in this process from cached responses
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
