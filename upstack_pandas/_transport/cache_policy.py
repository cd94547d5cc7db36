"""How long a cached response stays fresh: ``CachePolicy`` (public as ``upstack_pandas.CachePolicy``).

Which policy field applies is the endpoint's cache class in the endpoint table
(``upstack_pandas._endpoints``); analytics reads over a date range are ``settled`` once the range
ended before the settle window, ``recent`` otherwise. Lives in the transport layer because the
client's session applies it when storing each response (see ``cache_store``); the user-facing
cache controls (``upstack_pandas.cache``) sit above the transport and re-export it.
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import orjson

from upstack_pandas import _wire as wire
from upstack_pandas._endpoints import cache_class
from upstack_pandas._errors import invalid_argument

__all__ = ["BODY_DIGEST_HEADER", "CachePolicy", "body_digest"]

#: Longest freshness and settle window a policy may set (longer ones are mistakes).
MAX_FRESHNESS = timedelta(days=3650)
MAX_SETTLE_DAYS = 365


#: Header the cache sets on every response it stores (over any value the server sent): the
#: :func:`body_digest` of the body, computed once, so a hit need not hash the body again.
BODY_DIGEST_HEADER = "X-Upstack-Body-Digest"


def body_digest(content: bytes) -> str:
    """A digest of every byte of a body (BLAKE2b, 160 bits, hex): what identifies its frames."""
    return hashlib.blake2b(content, digest_size=20).hexdigest()


@dataclass(frozen=True)
class CachePolicy:
    """How long responses stay fresh, and where the cache lives.

    Every field is checked when the policy is made (``ValidationError`` naming the field):
    freshness periods are ``timedelta`` values from 0 to 3,650 days, ``settle_days`` a whole
    number from 0 to 365.

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

    def __post_init__(self) -> None:
        for name in ("catalog", "settled", "recent", "pacing", "dashboards"):
            value = getattr(self, name)
            if not isinstance(value, timedelta):
                raise invalid_argument(
                    name,
                    f"CachePolicy.{name} must be a datetime.timedelta, not {value!r}",
                    hint=f"e.g. {name}=timedelta(hours=1); timedelta(0) stores nothing",
                    wrong_type=True,
                )
            if not timedelta(0) <= value <= MAX_FRESHNESS:
                raise invalid_argument(
                    name,
                    f"CachePolicy.{name} must be from 0 to {MAX_FRESHNESS.days} days; got {value}",
                    hint="timedelta(0) stores nothing",
                )
        days = self.settle_days
        if isinstance(days, bool) or not isinstance(days, int):
            raise invalid_argument(
                "settle_days",
                f"CachePolicy.settle_days must be a whole number of days, not {days!r}",
                wrong_type=True,
            )
        if not 0 <= days <= MAX_SETTLE_DAYS:
            raise invalid_argument(
                "settle_days",
                f"CachePolicy.settle_days must be from 0 to {MAX_SETTLE_DAYS}; got {days}",
            )
        if self.location is not None and not isinstance(self.location, str | os.PathLike):
            raise invalid_argument(
                "location",
                f"CachePolicy.location must be a path, not {self.location!r}",
                wrong_type=True,
            )
        if isinstance(self.location, str) and not self.location.strip():
            raise invalid_argument(
                "location", "CachePolicy.location is empty", hint="give a directory or a file"
            )

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
        kind = cache_class(method, path)  # the endpoint table's cache class
        if kind == "never":
            return None
        if kind == "dashboard-read":
            expiry = self.dashboards
        elif kind == "catalog":
            expiry = self.catalog
        elif kind == "analytics-range":
            expiry = self._query_expiry(body, now or datetime.now(UTC))
        else:  # "recent": e.g. cohorts, which gain periods as time passes
            expiry = self.recent
        if content and expiry > self.pacing and wire.HAS_PACING_TRUE.search(content):
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
