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
from concurrent.futures import Future, ThreadPoolExecutor, as_completed
from dataclasses import replace
from typing import TYPE_CHECKING, Any

import pandas as pd

from upstack_pandas._frames import decode as _decode
from upstack_pandas._readers.pipeline import concat, result_details
from upstack_pandas._readers.progress import Progress
from upstack_pandas._readers.query import decode_query, query_frames, query_metadata

if TYPE_CHECKING:
    from upstack_pandas._query.checks import DateRange
    from upstack_pandas._query.models import Query
    from upstack_pandas._transport.client import ApiResponse, Client
    from upstack_pandas.catalog import Catalog

__all__ = ["bucket_count", "read_chunked", "windows"]

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


def _fetch(client: Client, query: Query, refresh: bool) -> tuple[ApiResponse, _decode.Decoded]:
    response = client.post(query.path, query.body(client.pixel_id), refresh=refresh)
    return response, decode_query(query, response)


def read_chunked(
    client: Client,
    query: Query,
    catalog: Catalog,
    *,
    window_days: int,
    max_workers: int,
    progress: bool | None,
    refresh: bool,
) -> pd.DataFrame:
    """Fetch ``query`` window by window, concurrently, and return the single-request frame."""
    jobs: list[tuple[str, Query]] = [
        ("primary", replace(query, range=w, compare=None, pacing=False))
        for w in windows(query.range, query.granularity, window_days)
    ]
    if query.pacing:  # pacedSum needs the last bucket: ask for it in the last window
        jobs[-1] = ("primary", replace(jobs[-1][1], pacing=True))
    if query.compare:
        jobs += [
            ("compare", replace(query, range=w, compare=None, pacing=False))
            for w in windows(query.compare, query.granularity, window_days)
        ]
    jobs.append(("summary", replace(query, granularity="none")))
    done: dict[int, tuple[ApiResponse, _decode.Decoded]] = {}
    # max_workers windows at a time; the one summary request runs beside them
    windows_pool = ThreadPoolExecutor(
        max_workers=min(max_workers, len(jobs) - 1), thread_name_prefix="upstack"
    )
    summary_pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="upstack-summary")
    with Progress(len(jobs), desc="windows", enabled=progress) as bar:
        futures: dict[Future[tuple[ApiResponse, _decode.Decoded]], int] = {
            (summary_pool if kind == "summary" else windows_pool).submit(
                _fetch, client, q, refresh
            ): i
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
    primary = _stitch("primary", jobs, done)
    compare = _stitch("compare", jobs, done) if query.compare else primary.iloc[:0]
    details = _details(query, jobs, done)
    request = query.body(client.pixel_id)
    chunk_info = {
        "days": window_days,
        "windows": sum(k == "primary" for k, _ in jobs),
        "requests": len(jobs),
    }
    responses = [done[i][0] for i in range(len(jobs))]
    return query_metadata(
        query, catalog, primary, compare, details, responses, request, chunks=chunk_info
    )


def _stitch(
    kind: str,
    jobs: list[tuple[str, Query]],
    done: dict[int, tuple[ApiResponse, _decode.Decoded]],
) -> pd.DataFrame:
    """The primary frames of the ``kind`` windows, in order, as one frame."""
    return concat([query_frames(q, done[i][1])[0] for i, (k, q) in enumerate(jobs) if k == kind])


def _details(
    query: Query,
    jobs: list[tuple[str, Query]],
    done: dict[int, tuple[ApiResponse, _decode.Decoded]],
) -> dict[str, dict[str, Any]]:
    """The single request's measureDetails, from the ``none`` request (and the last window)."""

    details = result_details(done[len(jobs) - 1][1])
    counts = {"primary": bucket_count(query.range, query.granularity, query.timezone)}
    if query.compare:
        counts["compare"] = bucket_count(query.compare, query.granularity, query.timezone)
    last_window = max(i for i, (k, _) in enumerate(jobs) if k == "primary")
    paced = result_details(done[last_window][1]) if query.pacing else {}
    for mid, detail in details.items():
        if detail.get("isAverage"):
            continue
        for period, count in counts.items():
            total = detail.get(f"{period}Sum")
            if isinstance(total, int | float):
                detail[f"{period}Avg"] = total / count
        window = paced.get(mid, {})
        if all(isinstance(window.get(k), int | float) for k in ("pacedSum", "primarySum")):
            total = detail.get("primarySum") or 0.0
            detail["pacedSum"] = total + (window["pacedSum"] - window["primarySum"])
    return details
