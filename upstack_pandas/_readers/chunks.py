"""Long ranges in windows: split at bucket boundaries, fetch concurrently, stitch exactly.

``read_upstack(..., chunks="90D")`` lands here. The range (and the compare range) is cut into
windows of about that many days whose cuts fall on bucket boundaries (a Monday for weeks, the
1st for months...), so no bucket is split and every window returns exactly the rows a single
request would. The windows run on a bounded thread pool (``max_workers`` at a time, the summary
request beside them) sharing one client, hence its retries, cache and rate-limit pacing.
Per-measure totals cannot be added up across windows (averages and ratios do not add), so they
come from one extra request with granularity ``"none"``; the per-bucket averages of additive
measures are then total / number of buckets, as the API computes them. Any window that fails for
good fails the whole read: nothing partial is returned.
"""

from __future__ import annotations

import datetime as _dt
import zoneinfo
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor, as_completed
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

import pandas as pd

from upstack_pandas import _wire as wire
from upstack_pandas._readers.pipeline import Read, concat

if TYPE_CHECKING:
    from upstack_pandas._query.checks import DateRange
    from upstack_pandas._query.models import Query
    from upstack_pandas._transport.client import ApiResponse

__all__ = ["Chunked", "bucket_count", "read_chunked", "windows"]

#: primary frame, compare frame and per-measure details of one ``/query`` response
Decoded = tuple[pd.DataFrame, pd.DataFrame, dict[str, wire.MeasureDetail]]
#: decodes one ``/query`` response (``upstack_pandas._readers.query.decode_query``)
Decoder = Callable[["Query", "ApiResponse"], Decoded]
_SUMMARY = "summary"

_DAY = _dt.timedelta(days=1)
_SUB_DAY = {"second": 1, "minute": 60, "hour": 3600}


def boundary_on_or_after(day: _dt.date, granularity: str) -> _dt.date:
    """The first bucket boundary (as a date) on or after ``day``."""
    if granularity == "week":
        return day + _dt.timedelta(days=(7 - day.weekday()) % 7)
    if granularity in ("month", "quarter", "year"):
        step = {"month": 1, "quarter": 3, "year": 12}[granularity]
        months = day.year * 12 + day.month - 1
        if day.day != 1 or months % step:
            months = (months // step + 1) * step
        return _dt.date(months // 12, months % 12 + 1, 1)
    return day  # day and finer: every midnight is a boundary


def windows(range_: DateRange, granularity: str, days: int) -> list[DateRange]:
    """Consecutive windows covering ``range_``, each cut on a bucket boundary.

    Each window after the first starts on a boundary; a window spans at least ``days`` days
    (fewer only at the end of the range) and ends the day before the next boundary.
    """
    start, end = range_
    out: list[DateRange] = []
    cur = start
    while cur <= end:
        nxt = boundary_on_or_after(cur + _dt.timedelta(days=days), granularity)
        last = min(nxt - _DAY, end)
        out.append((cur, last))
        cur = last + _DAY
    return out


def bucket_count(range_: DateRange, granularity: str, timezone: str) -> int:
    """Number of buckets of ``granularity`` the range touches (``none``: its days)."""
    start, end = range_
    if granularity in ("none", "day"):
        return (end - start).days + 1
    if granularity in _SUB_DAY:
        tz = zoneinfo.ZoneInfo(timezone)
        lo = _dt.datetime.combine(start, _dt.time(), tz).astimezone(_dt.UTC)
        hi = _dt.datetime.combine(end + _DAY, _dt.time(), tz).astimezone(_dt.UTC)
        return -(-int((hi - lo).total_seconds()) // _SUB_DAY[granularity])
    if granularity == "week":
        weeks = (end - _dt.timedelta(days=end.weekday())) - (
            start - _dt.timedelta(days=start.weekday())
        )
        return weeks.days // 7 + 1
    months = (end.year - start.year) * 12 + end.month - start.month
    if granularity == "month":
        return months + 1
    if granularity == "quarter":
        return (end.year * 4 + (end.month - 1) // 3) - (start.year * 4 + (start.month - 1) // 3) + 1
    return end.year - start.year + 1


@dataclass(frozen=True)
class Chunked:
    """What a chunked read gives back: the single-request frames and details, and the split."""

    primary: pd.DataFrame
    compare: pd.DataFrame
    details: dict[str, wire.MeasureDetail]
    info: dict[str, int]


def read_chunked(
    read: Read, query: Query, decode: Decoder, *, window_days: int, max_workers: int
) -> Chunked:
    """Fetch ``query`` window by window, concurrently; the frames a single request would give."""
    jobs: list[tuple[str, Query]] = [
        (wire.PRIMARY, replace(query, range=w, compare=None, pacing=False))
        for w in windows(query.range, query.granularity, window_days)
    ]
    if query.pacing:  # pacedSum needs the last bucket: ask for it in the last window
        jobs[-1] = (wire.PRIMARY, replace(jobs[-1][1], pacing=True))
    if query.compare:
        jobs += [
            (wire.COMPARE, replace(query, range=w, compare=None, pacing=False))
            for w in windows(query.compare, query.granularity, window_days)
        ]
    jobs.append((_SUMMARY, replace(query, granularity="none")))
    done: dict[int, Decoded] = {}

    def fetch(job: Query) -> Decoded:
        return decode(job, read.send(job.path, job.body(read.client.pixel_id)))

    # max_workers windows at a time; the one summary request runs beside them
    windows_pool = ThreadPoolExecutor(
        max_workers=min(max_workers, len(jobs) - 1), thread_name_prefix="upstack"
    )
    summary_pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="upstack-summary")
    with read.progress_bar(len(jobs), "windows") as bar:
        futures: dict[Future[Decoded], int] = {
            (summary_pool if kind == _SUMMARY else windows_pool).submit(fetch, q): i
            for i, (kind, q) in enumerate(jobs)
        }
        try:
            for future in as_completed(futures):
                done[futures[future]] = future.result()
                bar.update()
        except BaseException:
            for pool in (windows_pool, summary_pool):
                pool.shutdown(wait=False, cancel_futures=True)
            raise
    for pool in (windows_pool, summary_pool):
        pool.shutdown(wait=True)
    primary = _stitch(wire.PRIMARY, jobs, done)
    compare = _stitch(wire.COMPARE, jobs, done) if query.compare else primary.iloc[:0]
    info = {
        "days": window_days,
        "windows": sum(k == wire.PRIMARY for k, _ in jobs),
        "requests": len(jobs),
    }
    return Chunked(primary, compare, _details(query, jobs, done), info)


def _stitch(kind: str, jobs: list[tuple[str, Query]], done: dict[int, Decoded]) -> pd.DataFrame:
    """The primary frames of the ``kind`` windows, in order, as one frame."""
    return concat([done[i][0] for i, (k, _) in enumerate(jobs) if k == kind])


def _details(
    query: Query, jobs: list[tuple[str, Query]], done: dict[int, Decoded]
) -> dict[str, wire.MeasureDetail]:
    """The single request's details, from the ``none`` request (and the last window)."""
    details = done[len(jobs) - 1][2]
    primary_count = bucket_count(query.range, query.granularity, query.timezone)
    compare_count = (
        bucket_count(query.compare, query.granularity, query.timezone) if query.compare else None
    )
    last_window = max(i for i, (k, _) in enumerate(jobs) if k == wire.PRIMARY)
    paced = done[last_window][2] if query.pacing else {}
    for mid, detail in details.items():
        if detail.is_average:
            continue
        if isinstance(detail.primary_sum, int | float):
            detail.primary_avg = detail.primary_sum / primary_count
        if compare_count is not None and isinstance(detail.compare_sum, int | float):
            detail.compare_avg = detail.compare_sum / compare_count
        window = paced.get(mid)
        if (
            window is not None
            and isinstance(window.paced_sum, int | float)
            and isinstance(window.primary_sum, int | float)
        ):
            total = detail.primary_sum or 0.0
            detail.paced_sum = total + (window.paced_sum - window.primary_sum)
            detail.paced_sum_sent = True
    return details
