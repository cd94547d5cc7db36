"""Long ranges in windows: split at bucket boundaries, fetch concurrently, stitch exactly.

``read_upstack(..., chunks="90D")`` lands here. The range (and the compare range) is cut into
windows of about that many days whose cuts fall on bucket boundaries (a Monday for weeks, the
1st for months...), so no bucket is split and every window returns exactly the rows a single
request would. Each request carries one primary and one compare window (a request has both a
date range and a compare range), so the compare period costs no extra requests; a range that
fits in one window is one plain request. The windows run on a bounded thread pool (``max_workers`` at a time, the summary
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

import numpy as np
import pandas as pd

from upstack_pandas import _wire as wire
from upstack_pandas._frames.decode import Block, Coder, Decoded, RowSpec
from upstack_pandas._readers.chunk_plan import Advice, costs_of
from upstack_pandas._readers.pipeline import (
    Read,
    decode_response,
    first_details,
    query_frames_of,
    query_spec_of,
)

if TYPE_CHECKING:
    from upstack_pandas._query.checks import DateRange
    from upstack_pandas._query.models import Query
    from upstack_pandas._transport.response import ApiResponse

__all__ = [
    "Chunked",
    "advise",
    "bucket_count",
    "cells_of",
    "observe",
    "read_chunked",
    "windows",
]

#: what a ``/query`` response promises for a request (``upstack_pandas._readers.query.query_shape``)
Shape = Callable[["Query"], wire.Shape]

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


def cells_of(query: Query) -> int:
    """The cells ``query`` asks for: buckets times measures, the compare period's included.

    For granularity ``"none"`` a bucket per day (the server's work is a pass over the days).
    """
    granularity = "day" if query.granularity == "none" else query.granularity
    buckets = bucket_count(query.range, granularity, query.timezone)
    if query.compare:
        buckets += bucket_count(query.compare, granularity, query.timezone)
    return buckets * max(len(query.measures), 1)


def observe(read: Read, query: Query, response: ApiResponse) -> None:
    """Record a ``/query`` round trip in the client's cost history (:mod:`.chunk_plan`)."""
    costs = costs_of(read.client)
    if costs is not None:
        costs.observe(getattr(response, "elapsed", None), cells_of(query))


def advise(read: Read, query: Query, *, window_days: int, max_workers: int) -> Advice:
    """Whether windows of ``window_days`` beat one request for ``query`` (``chunks="auto"``)."""
    requests = len(_jobs(query, window_days)) - 1  # the summary request runs beside them
    if requests <= 1:
        return Advice(False, "the range fits one window")
    costs = costs_of(read.client)
    if costs is None:
        return Advice(True, "not measured yet")
    return costs.advise(cells_of(query), requests, max_workers)


@dataclass(frozen=True)
class Chunked:
    """What a chunked read gives back: the single-request frames and details, and the split."""

    primary: pd.DataFrame
    compare: pd.DataFrame
    details: dict[str, wire.MeasureDetail]
    info: dict[str, int]


@dataclass(frozen=True)
class _Job:
    """One request of a chunked read, and which windows its frames fill.

    ``primary`` / ``compare``: the index of the primary / compare window this request's primary /
    compare frame is; ``compare_as_primary``: a compare window sent on its own (its data comes
    back as the request's primary frame). The summary request fills no window.
    """

    query: Query
    primary: int | None = None
    compare: int | None = None
    compare_as_primary: int | None = None


def _jobs(query: Query, window_days: int) -> list[_Job]:
    """The window requests (each primary window paired with a compare window), then the summary.

    A request carries a date range and a compare range, so a primary window and a compare window
    travel together: the compare period costs no extra requests. Windows left over (when the two
    ranges split into different numbers of windows) are sent on their own.
    """
    primary = windows(query.range, query.granularity, window_days)
    compare = windows(query.compare, query.granularity, window_days) if query.compare else []
    jobs: list[_Job] = []
    for i in range(max(len(primary), len(compare))):
        if i < len(primary):
            pacing = query.pacing and i == len(primary) - 1  # pacedSum needs the last bucket
            paired = compare[i] if i < len(compare) else None
            jobs.append(_Job(replace(query, range=primary[i], compare=paired, pacing=pacing), i,
                             i if paired is not None else None))  # fmt: skip
        else:
            jobs.append(_Job(replace(query, range=compare[i], compare=None, pacing=False),
                             compare_as_primary=i))  # fmt: skip
    jobs.append(_Job(replace(query, granularity="none")))  # the totals of the whole range
    return jobs


def read_chunked(
    read: Read, query: Query, shape: Shape, *, window_days: int, max_workers: int
) -> Chunked:
    """Fetch ``query`` window by window, concurrently; the frames a single request would give.

    When the range (and the compare range) fits in one window, chunking cannot help: the read is
    one request, as without ``chunks=``. Each window's body is decoded into columns as it
    arrives; the frames are built once, from the columns of every window (no frame per window,
    no concatenation of frames), and the summary request's body gives the details only.
    """
    n_windows = len(windows(query.range, query.granularity, window_days))
    n_compare = len(windows(query.compare, query.granularity, window_days)) if query.compare else 0
    if n_windows <= 1 and n_compare <= 1:
        decoded = _fetch(read, query, shape)
        primary, compare = _frames(
            query, decoded.blocks(wire.PRIMARY), decoded.blocks(wire.COMPARE)
        )
        info = {"days": window_days, "windows": 1, "requests": 1}
        return Chunked(primary, compare, first_details(decoded), info)
    jobs = _jobs(query, window_days)
    done = _fetch_all(read, jobs, shape, max_workers)
    primary_blocks: list[Block] = []
    compare_blocks: dict[int, list[Block]] = {}
    for job, decoded in zip(jobs, done, strict=True):
        if job.primary is not None:
            primary_blocks += decoded.blocks(wire.PRIMARY)
        if job.compare is not None:
            compare_blocks[job.compare] = decoded.blocks(wire.COMPARE)
        if job.compare_as_primary is not None:
            compare_blocks[job.compare_as_primary] = decoded.blocks(wire.PRIMARY)
    ordered = [b for k in sorted(compare_blocks) for b in compare_blocks[k]]
    primary, compare = _frames(query, primary_blocks, ordered)
    info = {"days": window_days, "windows": n_windows, "requests": len(jobs)}
    return Chunked(primary, compare, _details(query, jobs, done), info)


def _fetch(read: Read, query: Query, shape: Shape) -> Decoded:
    """Send one request and decode its body into columns (checked against ``shape(query)``)."""
    response = read.send(query.path, query.body(read.client.pixel_id))
    observe(read, query, response)
    spec = query_spec_of(query)
    return decode_response(response, spec, shape(query))


def _fetch_all(read: Read, jobs: list[_Job], shape: Shape, max_workers: int) -> list[Decoded]:
    """Every job's decoded body, in job order: ``max_workers`` windows at a time, the summary
    (the last job) beside them; the first failure cancels what has not started and raises."""
    done: dict[int, Decoded] = {}
    last = len(jobs) - 1
    windows_pool = ThreadPoolExecutor(
        max_workers=min(max_workers, last), thread_name_prefix="upstack"
    )
    summary_pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="upstack-summary")
    with read.progress_bar(len(jobs), "windows") as bar:
        futures: dict[Future[Decoded], int] = {
            summary_pool.submit(_fetch, read, jobs[last].query, shape): last
        }
        futures |= {
            windows_pool.submit(_fetch, read, job.query, shape): i
            for i, job in enumerate(jobs[:last])
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
    return [done[i] for i in range(len(jobs))]


def _frames(
    query: Query, primary: list[Block], compare: list[Block]
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The primary and compare frames from the blocks of every window, in window order.

    Each body codes its labels (dimension values, and ``dt`` with dimensions) against its own
    coders; the blocks are re-coded against one set per kind, then built as one body's would be,
    so the frame is the single request's (its index levels sorted and unique, not a union).
    """
    spec = query_spec_of(query)
    merged = {
        wire.PRIMARY: _recoded(primary, spec),
        wire.COMPARE: _recoded(compare, spec),
    }
    size = max(len(blocks) for blocks in merged.values())
    for kind, blocks in merged.items():
        merged[kind] = blocks + [_empty(spec) for _ in range(size - len(blocks))]
    results = [
        {wire.DATA: {kind: merged[kind][i] for kind in wire.DATA_KINDS}} for i in range(size)
    ]
    body = Decoded({wire.RESULTS: results}, spec)
    primary_frame, compare_frame = query_frames_of(query, body)
    return primary_frame, compare_frame if query.compare else primary_frame.iloc[:0]


def _recoded(blocks: list[Block], spec: RowSpec) -> list[Block]:
    """``blocks`` with their label codes re-coded against one shared set of coders."""
    if len(blocks) <= 1 or not spec.coded:
        return blocks
    coders = {key: Coder() for key in spec.coded}
    out = []
    for block in blocks:
        codes = {}
        for key, coder in coders.items():
            index = coder.index
            found = block.uniques(key)
            mapping = np.fromiter(
                (index.setdefault(u, len(index)) for u in found), np.intp, count=len(found)
            )
            codes[key] = mapping.take(block.codes[key]) if block.n else block.codes[key]
        out.append(replace(block, codes=codes, coders=coders))
    return out


def _empty(spec: RowSpec) -> Block:
    """A block without rows (a kind some windows do not have)."""
    return Block(
        n=0,
        values=np.empty((0, len(spec.floats)), dtype=np.float64),
        codes={key: np.empty(0, dtype=np.intp) for key in spec.coded},
        times={key: np.empty(0, dtype="M8[us]") for key in spec.parsed},
        coders={key: Coder() for key in spec.coded},
    )


def _details(query: Query, jobs: list[_Job], done: list[Decoded]) -> dict[str, wire.MeasureDetail]:
    """The single request's details, from the ``none`` request (and the last window)."""
    details = first_details(done[-1])
    primary_count = bucket_count(query.range, query.granularity, query.timezone)
    compare_count = (
        bucket_count(query.compare, query.granularity, query.timezone) if query.compare else None
    )
    last_window = max(i for i, job in enumerate(jobs) if job.primary is not None)
    paced = first_details(done[last_window]) if query.pacing else {}
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
