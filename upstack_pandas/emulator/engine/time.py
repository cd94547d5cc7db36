"""Time: timezones, date ranges, and buckets for every granularity in a request's timezone.

A bucket is identified by a naive ``datetime`` *key* that SQL and Python compute alike:

* ``day`` and coarser: the local (wall-clock) bucket start, e.g. the Monday 00:00 of a week;
* ``hour``, ``minute``, ``second``: the UTC instant of the bucket start, so the repeated hour
  when clocks fall back is two buckets (01:00-04:00 and 01:00-05:00), never one;
* ``none``: :data:`NONE_KEY`, one bucket per period.

Day buckets follow the wall clock, so across a DST change they last 23 or 25 hours.

The local time of an instant column is computed in SQL from its epoch and the zone's UTC
offsets over the request's periods (:func:`utc_offsets`, from Python's tz database, the one the
bucket keys and renderings use): a constant, or a ``CASE`` over the few DST changes in range.
DuckDB's ``timezone()`` (ICU) gives the same wall clock but costs about 150 ns a row, several
times the rest of a query's per-row work.
"""

from __future__ import annotations

import functools
import itertools
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo, available_timezones

import duckdb

from upstack_pandas.emulator.engine.errors import fail

GRANULARITIES = ("none", "second", "minute", "hour", "day", "week", "month", "quarter", "year")
SUB_DAY = {
    "second": timedelta(seconds=1),
    "minute": timedelta(minutes=1),
    "hour": timedelta(hours=1),
}
NONE_KEY = datetime(1970, 1, 1)
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
#: Step of the scan for UTC offset changes (two changes closer than this are not in tzdata).
_OFFSET_SCAN = timedelta(hours=3)
MAX_BUCKETS = 100_000  # per period; more is a 400 (narrow the range or coarsen the granularity)


@functools.cache
def valid_timezones() -> frozenset[str]:
    """IANA names known to both Python's tz database and DuckDB's ICU."""
    with duckdb.connect() as con:
        icu = {row[0] for row in con.execute("SELECT name FROM pg_timezone_names()").fetchall()}
    return frozenset((available_timezones() | {"UTC"}) & icu)


def parse_timezone(name: object, path: str = "timezone") -> ZoneInfo:
    """Return the ``ZoneInfo`` for an IANA name, or raise :class:`QueryError`.

    Parameters
    ----------
    name
        The request's ``timezone`` (``None`` means ``UTC``).
    path
        Request path reported in the error.

    Returns
    -------
    zoneinfo.ZoneInfo
        The timezone.
    """
    if name is None:
        return ZoneInfo("UTC")
    if not isinstance(name, str) or name not in valid_timezones():
        raise fail(path, f"Unknown timezone {name!r}: use an IANA name such as 'America/New_York'.")
    return ZoneInfo(name)


def parse_date(value: object, path: str) -> date:
    """Parse a ``YYYY-MM-DD`` string, raising :class:`QueryError` naming ``path``."""
    try:
        if not isinstance(value, str) or len(value) != 10:
            raise ValueError
        return date.fromisoformat(value)
    except ValueError:
        raise fail(path, f"Invalid date {value!r}: expected YYYY-MM-DD.") from None


@dataclass(frozen=True)
class Period:
    """An inclusive range of local dates and the UTC instants ``[lo, hi)`` it covers."""

    start: date
    end: date
    lo: datetime
    hi: datetime

    @property
    def days(self) -> int:
        """Number of calendar days in the period."""
        return (self.end - self.start).days + 1

    def as_dict(self) -> dict[str, str]:
        """Return ``{"start": "YYYY-MM-DD", "end": "YYYY-MM-DD"}``."""
        return {"start": self.start.isoformat(), "end": self.end.isoformat()}

    def overlaps(self, other: Period) -> bool:
        """Whether two periods share at least one day."""
        return self.start <= other.end and other.start <= self.end


def local_midnight(day: date, tz: ZoneInfo) -> datetime:
    """The aware instant of local midnight starting ``day`` in ``tz``."""
    return datetime(day.year, day.month, day.day, tzinfo=tz)


def make_period(start: date, end: date, tz: ZoneInfo) -> Period:
    """Build a :class:`Period` from inclusive local dates."""
    return Period(
        start,
        end,
        local_midnight(start, tz).astimezone(UTC),
        local_midnight(end + timedelta(days=1), tz).astimezone(UTC),
    )


def parse_period(obj: object, path: str, tz: ZoneInfo) -> Period:
    """Parse a request ``{"start", "end"}`` object into a :class:`Period`.

    Parameters
    ----------
    obj
        The date range object from the body.
    path
        Its path in the body (``dateRange``), used in errors.
    tz
        The request timezone.

    Returns
    -------
    Period
        The period; ``start > end`` raises :class:`QueryError`.
    """
    if not isinstance(obj, dict):
        raise fail(path, "Expected an object with 'start' and 'end' dates.")
    start = parse_date(obj.get("start"), f"{path}.start")
    end = parse_date(obj.get("end"), f"{path}.end")
    if start > end:
        raise fail(f"{path}.start", f"{path}.start ({start}) is after {path}.end ({end}).")
    return make_period(start, end, tz)


def preceding(period: Period, tz: ZoneInfo) -> Period:
    """The period of equal length ending the day before ``period`` starts."""
    return make_period(
        period.start - timedelta(days=period.days), period.start - timedelta(days=1), tz
    )


def _add_months(d: datetime, months: int) -> datetime:
    total = d.year * 12 + d.month - 1 + months
    return d.replace(year=total // 12, month=total % 12 + 1, day=1)


def next_key(key: datetime, granularity: str) -> datetime:
    """The key of the bucket after ``key`` (local keys for day and coarser, UTC below)."""
    if granularity in SUB_DAY:
        return key + SUB_DAY[granularity]
    if granularity == "day":
        return key + timedelta(days=1)
    if granularity == "week":
        return key + timedelta(days=7)
    months = {"month": 1, "quarter": 3, "year": 12}[granularity]
    return _add_months(key, months)


def truncate_local(local: datetime, granularity: str) -> datetime:
    """Truncate a naive local datetime to the start of its (day-or-coarser) bucket."""
    day = local.replace(hour=0, minute=0, second=0, microsecond=0)
    if granularity == "day":
        return day
    if granularity == "week":
        return day - timedelta(days=day.weekday())
    if granularity == "month":
        return day.replace(day=1)
    if granularity == "quarter":
        return day.replace(month=(day.month - 1) // 3 * 3 + 1, day=1)
    return day.replace(month=1, day=1)


def _offset_s(tz: ZoneInfo, epoch_s: int) -> int:
    offset = (_EPOCH + timedelta(seconds=epoch_s)).astimezone(tz).utcoffset()
    return int(offset.total_seconds()) if offset is not None else 0


@functools.lru_cache(maxsize=1024)
def _changes(tz: ZoneInfo, year: int) -> tuple[tuple[int, int], ...]:
    """``(epoch second, new offset in seconds)`` of every UTC offset change in ``year`` (UTC)."""
    lo = int((datetime(year, 1, 1, tzinfo=UTC) - _EPOCH).total_seconds())
    hi = int((datetime(year + 1, 1, 1, tzinfo=UTC) - _EPOCH).total_seconds())
    step = int(_OFFSET_SCAN.total_seconds())
    out: list[tuple[int, int]] = []
    at, offset = lo, _offset_s(tz, lo)
    while at < hi:
        nxt = min(at + step, hi)
        found = _offset_s(tz, nxt)
        if found != offset:
            a, b = at, nxt  # offset(a) == offset, offset(b) == found: the change is in (a, b]
            while b - a > 1:
                mid = (a + b) // 2
                a, b = (mid, b) if _offset_s(tz, mid) == offset else (a, mid)
            out.append((b, found))
            offset = found
        at = nxt
    return tuple(out)


def utc_offsets(tz: ZoneInfo, lo: datetime, hi: datetime) -> list[tuple[int, int]]:
    """The zone's UTC offsets over ``[lo, hi)``: ``(from epoch µs, offset µs)``, in order.

    The first entry starts at ``lo``; each later one at an offset change (DST...).
    """
    lo_s = int((lo - _EPOCH).total_seconds())
    hi_s = int((hi - _EPOCH).total_seconds())
    out = [(lo_s, _offset_s(tz, lo_s))]
    for year in range(lo.astimezone(UTC).year, hi.astimezone(UTC).year + 1):
        out += [(at, off) for at, off in _changes(tz, year) if lo_s < at < hi_s]
    return [(at * 1_000_000, off * 1_000_000) for at, off in out]


def local_sql(column: str, offsets: Sequence[tuple[int, int]]) -> str:
    """SQL of the local wall time (a TIMESTAMP) of a TIMESTAMPTZ ``column`` in a zone whose
    offsets over the rows' instants are ``offsets`` (:func:`utc_offsets`); literals only."""
    epoch = f"epoch_us({column})"
    if len(offsets) == 1:
        offset = str(offsets[0][1])
    else:
        cases = " ".join(f"WHEN {epoch} < {at} THEN {off}"
                         for (_, off), (at, _) in itertools.pairwise(offsets))  # fmt: skip
        offset = f"CASE {cases} ELSE {offsets[-1][1]} END"
    return f"make_timestamp({epoch} + {offset})"


@dataclass(frozen=True)
class Buckets:
    """Bucketing of one request: granularity and timezone."""

    granularity: str
    tz: ZoneInfo

    def sql_key(
        self, time_kind: str, column: str, tz_param: str, periods: Sequence[Period] = ()
    ) -> str:
        """SQL producing the bucket key of a row.

        Parameters
        ----------
        time_kind
            ``"instant"`` (a TIMESTAMPTZ column) or ``"date"`` (a DATE of the reporting day,
            placed at local midnight of that day).
        column
            The time column's name.
        tz_param
            The bound parameter holding the timezone name (``$tz``).
        periods
            The periods the rows are in (every row's instant is in one of them): an instant's
            local time is then computed from the zone's offsets over them, without ICU.

        Returns
        -------
        str
            An expression of type TIMESTAMP.
        """
        g = self.granularity
        if g == "none":
            return "TIMESTAMP '1970-01-01 00:00:00'"
        if time_kind == "date":
            local = f"CAST({column} AS TIMESTAMP)"
            if g in SUB_DAY:
                return f"timezone('UTC', timezone({tz_param}, {local}))"
            return f"date_trunc('{g}', {local})"
        if periods:
            span = utc_offsets(self.tz, min(p.lo for p in periods), max(p.hi for p in periods))
            local, utc = local_sql(column, span), f"make_timestamp(epoch_us({column}))"
        else:
            local, utc = f"timezone({tz_param}, {column})", f"timezone('UTC', {column})"
        if g in SUB_DAY:
            return f"(date_trunc('{g}', {local}) - ({local} - {utc}))"
        return f"date_trunc('{g}', {local})"

    def count(self, period: Period) -> int:
        """Number of buckets in ``period`` (``none``: 1)."""
        g, start, end = self.granularity, period.start, period.end
        if g == "none":
            return 1
        if g in SUB_DAY:
            return -(-(period.hi - period.lo) // SUB_DAY[g])
        if g == "day":
            return period.days
        if g == "week":
            return (
                (end - timedelta(days=end.weekday())) - (start - timedelta(days=start.weekday()))
            ).days // 7 + 1
        months = (end.year - start.year) * 12 + end.month - start.month
        if g == "month":
            return months + 1
        if g == "quarter":
            return (
                (end.year * 4 + (end.month - 1) // 3)
                - (start.year * 4 + (start.month - 1) // 3)
                + 1
            )
        return end.year - start.year + 1

    def check(self, period: Period, path: str = "granularity") -> None:
        """Raise :class:`QueryError` when ``period`` has more than :data:`MAX_BUCKETS` buckets."""
        count = self.count(period)
        if count > MAX_BUCKETS:
            raise fail(
                path,
                f"{count} '{self.granularity}' buckets exceed the limit of {MAX_BUCKETS}: "
                "narrow the date range or use a coarser granularity.",
            )

    def keys(self, period: Period) -> list[datetime]:
        """All bucket keys of ``period``, in order."""
        g = self.granularity
        if g == "none":
            return [NONE_KEY]
        if g in SUB_DAY:
            step, key = SUB_DAY[g], period.lo.replace(tzinfo=None)
            stop = period.hi.replace(tzinfo=None)
        else:
            step, key = (
                timedelta(0),
                truncate_local(datetime.combine(period.start, datetime.min.time()), g),
            )
            stop = datetime.combine(period.end + timedelta(days=1), datetime.min.time())
        out = []
        while key < stop:
            out.append(key)
            key = key + step if step else next_key(key, g)
        return out

    def bounds(self, key: datetime, period: Period) -> tuple[datetime, datetime, datetime]:
        """Aware ``(dt, start, end)`` of a bucket: unclipped start, clipped start and end."""
        if self.granularity == "none":
            return (
                period.lo.astimezone(self.tz),
                period.lo.astimezone(self.tz),
                period.hi.astimezone(self.tz),
            )
        if self.granularity in SUB_DAY:
            dt = key.replace(tzinfo=UTC)
            end = dt + SUB_DAY[self.granularity]
        else:
            dt = key.replace(tzinfo=self.tz).astimezone(UTC)
            end = next_key(key, self.granularity).replace(tzinfo=self.tz).astimezone(UTC)
        return (
            dt.astimezone(self.tz),
            max(dt, period.lo).astimezone(self.tz),
            min(end, period.hi).astimezone(self.tz),
        )

    def render(self, key: datetime, period: Period) -> dict[str, str]:
        """``{"dt", "start", "end"}`` ISO 8601 strings with the local UTC offset.

        Renderings are kept across requests (a bounded cache: the same buckets recur in
        every window and every repeated query); each call returns a fresh dict.
        """
        return dict(_rendered(self, key, period))

    def renderer(self, period: Period) -> Callable[[datetime], dict[str, Any]]:
        """A memoised :meth:`render` for the buckets of one period (returns fresh dicts)."""
        cache: dict[datetime, dict[str, str]] = {}

        def render(key: datetime) -> dict[str, Any]:
            found = cache.get(key)
            if found is None:
                found = cache[key] = self.render(key, period)
            return dict(found)

        return render

    def key_of(self, instant: datetime) -> datetime:
        """The key of the bucket holding an aware instant."""
        g = self.granularity
        if g == "none":
            return NONE_KEY
        if g in SUB_DAY:
            local = instant.astimezone(self.tz)
            offset = local.utcoffset() or timedelta(0)
            naive = local.replace(tzinfo=None)
            size = SUB_DAY[g]
            trunc = naive - (naive - datetime.min) % size
            return trunc - offset
        return truncate_local(instant.astimezone(self.tz).replace(tzinfo=None), g)


def to_utc(value: datetime | date | str | None) -> datetime:
    """Normalise a "now" value to an aware UTC datetime (naive values are UTC).

    Parameters
    ----------
    value
        A datetime, a date (its UTC midnight), an ISO 8601 string, or ``None`` for the real now.

    Returns
    -------
    datetime
        The instant, tz-aware in UTC.
    """
    if value is None:
        return datetime.now(UTC)
    if isinstance(value, str):
        text = value.strip()
        value = date.fromisoformat(text) if len(text) == 10 else datetime.fromisoformat(text)
    if not isinstance(value, datetime):
        value = datetime(value.year, value.month, value.day)
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


@functools.lru_cache(maxsize=1 << 16)
def _rendered(buckets: Buckets, key: datetime, period: Period) -> dict[str, str]:
    # Equal arguments render equally: the strings depend on the instants and the buckets'
    # timezone only (an aware ``lo``/``hi`` equal in another tzinfo is the same instant).
    dt, start, end = buckets.bounds(key, period)
    return {"dt": dt.isoformat(), "start": start.isoformat(), "end": end.isoformat()}
