"""``sync``: keep a hive-partitioned parquet dataset in step with the API, incrementally."""

from __future__ import annotations

import concurrent.futures
import datetime as _dt
import logging
import os
import shutil
import sys
import time
import uuid
import zoneinfo
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from upstack_pandas._errors import UpstackError
from upstack_pandas._profiles import ProfilesArg, normalise_profiles
from upstack_pandas.datasets.fetch import WindowResult, WindowTask, run_task
from upstack_pandas.datasets.lock import DatasetLock
from upstack_pandas.datasets.manifest import (
    META_DIR,
    PixelManifest,
    load_dataset_info,
    write_dataset_info,
)
from upstack_pandas.datasets.plan import (
    DEFAULT_SETTLE_DAYS,
    SYNC_GRANULARITIES,
    DatasetRequest,
    Window,
    check_pixel_id,
    is_settled,
    needs_fetch,
    plan_windows,
)
from upstack_pandas.datasets.summary import PixelSummary, SyncSummary
from upstack_pandas.datasets.writer import remove_temp_files

if TYPE_CHECKING:
    from upstack_pandas._query.checks import DateLike
    from upstack_pandas._transport.client import Client

__all__ = ["DatasetMismatch", "sync"]

logger = logging.getLogger("upstack_pandas")


class DatasetMismatch(UpstackError, ValueError):
    """The dataset at the path answers another request (or is not a dataset of ``sync``)."""


@dataclass(frozen=True)
class _Target:
    """One pixel to sync: how to reach it here (client) or in a worker (profile)."""

    pixel_id: str
    profile: str | None
    client: Client | None


def _check_int(value: Any, name: str, minimum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise ValueError(f"{name} must be an integer >= {minimum}; got {value!r}")
    return value


def _scheduler_kind(scheduler: Any) -> str:
    if scheduler is None or scheduler == "threads":
        return "threads"
    if scheduler == "sync":
        return "sync"
    distributed = sys.modules.get("distributed")  # a distributed.Client means it is imported
    if distributed is not None and isinstance(scheduler, distributed.Client):
        return "distributed"
    if isinstance(scheduler, concurrent.futures.Executor):
        return "executor"
    raise TypeError(
        "scheduler must be None or 'threads' (a thread pool here), 'sync' (one window at a "
        "time), a distributed.Client or a concurrent.futures.Executor; "
        f"got {type(scheduler).__name__}"
    )


def _targets(
    profiles: ProfilesArg, client: Client | Sequence[Client] | None, remote: bool
) -> tuple[list[_Target], list[Client]]:
    """The pixels to sync, and the clients this function opened (to close at the end)."""
    from upstack_pandas._transport.client import Client
    from upstack_pandas._transport.config import resolve_settings

    if client is not None:
        if profiles is not None:
            raise ValueError("give profiles= or client=, not both")
        if remote:
            raise ValueError(
                "a remote scheduler needs profiles= (names that each worker resolves itself); "
                "a Client holds credentials and is never sent to workers"
            )
        clients = [client] if isinstance(client, Client) else list(client)
        for c in clients:
            if not isinstance(c, Client):
                raise TypeError(f"client must be a Client or a list of them, not {c!r}")
        return [_Target(c.pixel_id, c.profile, c) for c in clients], []
    names = normalise_profiles(profiles)
    if remote:
        return [_Target(resolve_settings(profile=n).pixel_id, n, None) for n in names], []
    if names == [None]:
        from upstack_pandas._transport.client import get_default_client

        default = get_default_client()
        return [_Target(default.pixel_id, None, default)], []
    opened = [Client(profile=n, cache=False) for n in names]
    return [_Target(c.pixel_id, c.profile, c) for c in opened], opened


def _wipe(root: Path) -> None:
    """Delete the dataset's files (bookkeeping first, so a crash midway is never mistaken
    for a dataset of the old request); other files in ``root`` are left alone."""
    meta = root / META_DIR
    (meta / "dataset.json").unlink(missing_ok=True)
    shutil.rmtree(meta / "manifest", ignore_errors=True)
    for part in root.glob("pixel=*"):
        if part.is_dir():
            shutil.rmtree(part)


def _prepare(
    root: Path, request: DatasetRequest, measures: Mapping[str, Any], rebuild: bool
) -> None:
    """Check the stored request against ``request``; start a new dataset when there is none."""
    info = load_dataset_info(root)
    if info is None:
        if any(root.glob("pixel=*")) and not rebuild:
            raise DatasetMismatch(
                f"{root} holds pixel=... partitions but no {META_DIR}/dataset.json (an "
                "interrupted rebuild, or files not written by sync); pass rebuild=True to "
                "replace them, or choose another path"
            )
        if rebuild:
            _wipe(root)
        write_dataset_info(root, request, measures)
        return
    stored = DatasetRequest.from_json(info["request"])
    if stored.fingerprint == request.fingerprint:
        return
    if not rebuild:
        raise DatasetMismatch(
            f"{root} holds another request ({'; '.join(stored.differences(request))}); a "
            "dataset answers one request, never a mix: pass rebuild=True to delete it and "
            "sync this request, or choose another path"
        )
    logger.warning("rebuilding %s for a changed request", root)
    _wipe(root)
    write_dataset_info(root, request, measures)


def _completed(futures: Sequence[Any], kind: str) -> Iterator[Any]:
    if kind == "distributed":
        import distributed

        yield from distributed.as_completed(list(futures))  # type: ignore[no-untyped-call]
    else:
        yield from concurrent.futures.as_completed(futures)


def _error_text(exc: BaseException) -> str:
    from upstack_pandas._redact import redact

    return redact(f"{type(exc).__name__}: {exc}".splitlines()[0])


def sync(
    path: str | os.PathLike[str],
    measures: str | Sequence[str],
    start: DateLike,
    end: DateLike | None = None,
    *,
    granularity: str = "day",
    dimensions: str | Sequence[str] | None = None,
    filters: Any = None,
    timezone: str | None = None,
    order_settings: Mapping[str, Any] | None = None,
    profiles: ProfilesArg = None,
    client: Client | Sequence[Client] | None = None,
    settle_days: int = DEFAULT_SETTLE_DAYS,
    as_of: DateLike | None = None,
    rebuild: bool = False,
    max_workers: int = 4,
    scheduler: Any = None,
    lock_timeout: float = 0.0,
    progress: bool | None = None,
) -> SyncSummary:
    """Keep a hive-partitioned parquet dataset of ``/query`` results in step with the API.

    The dataset at ``path`` holds one parquet file per pixel and calendar month
    (``pixel=<id>/period=YYYY-MM/data.parquet``) and a manifest (``_upstack/``) recording,
    per pixel and month, the request it answers, when it was fetched and whether it is
    settled. A re-run fetches only the months that are missing or provisional (see
    ``settle_days``); the others are skipped. See ``docs/sync.md``.

    Parameters
    ----------
    path : str or path
        The dataset folder (created when missing).
    measures : str or list of str
        Measure ids or catalog titles (resolved to ids with the catalog, once).
    start, end : str, date, datetime or Timestamp
        First and last day, inclusive, in ``timezone``; ``end`` defaults to ``as_of``.
    granularity : {"day", "hour", "minute", "second", "month"}
        Bucket size; every bucket must fall inside one calendar month (no weeks, quarters,
        years or ``"none"``: read the dataset and resample instead).
    dimensions : str or list of str, optional
        Up to 5 dimension ids; they become columns of the files and index levels of
        :func:`read_dataset`.
    filters : dict or list of dict, optional
        Canonical filter, as for :func:`upstack_pandas.read_upstack`.
    timezone : str, optional
        IANA timezone of the dates and buckets (default ``"UTC"``).
    order_settings : dict, optional
        Query-level order settings.
    profiles : str or list of str, optional
        Config-file profiles (see :func:`upstack_pandas.profiles`), one per pixel. Default: the
        default client (``$UPSTACK_PROFILE`` or ``[default]``).
    client : Client or list of Client, optional
        Clients to use instead of profiles (in-process schedulers only).
    settle_days : int, default 3
        A month is *settled* once its last day is more than this many days before ``as_of``
        (the API's numbers for recent days still change: late orders, refunds, attribution);
        settled months are not fetched again, provisional ones are fetched on every run.
    as_of : date-like, optional
        The day settledness is measured from (default: today in ``timezone``).
    rebuild : bool, default False
        When ``path`` holds another request (other measures, dimensions, filters, timezone,
        granularity): delete its partitions and sync this request. Without it, a changed
        request raises :class:`DatasetMismatch` and nothing is changed.
    max_workers : int, default 4
        Windows fetched at once with the default thread scheduler.
    scheduler : None, "threads", "sync", distributed.Client or Executor
        Where windows are fetched and written: threads here (default), one at a time, a
        Dask ``distributed`` cluster, or a ``concurrent.futures`` executor. Remote workers get
        profile names only and resolve credentials themselves; they must see the same
        config file and ``path``.
    lock_timeout : float, default 0
        Seconds to wait when another sync holds the dataset's lock; then (or at once)
        :class:`~upstack_pandas.datasets.lock.DatasetLocked` is raised.
    progress : bool, optional
        Show a progress bar over the windows fetched (default: in interactive sessions).

    Returns
    -------
    SyncSummary
        Per pixel: the months fetched, skipped, failed (with the error) and not attempted.
        A failing pixel does not stop the others; ``summary.raise_for_failures()`` raises
        when any failed. Failed months are fetched again by the next run.

    Raises
    ------
    ValueError, TypeError
        For invalid arguments, before any request is sent.
    DatasetMismatch
        When ``path`` holds another request and ``rebuild`` is False.
    DatasetLocked
        When another sync of ``path`` runs (after ``lock_timeout``).
    upstack_pandas.UpstackError
        When the catalog cannot be read (per-window failures are reported in the summary).

    Examples
    --------
    >>> import upstack_pandas as up
    >>> summary = up.sync("shops", ["orders.orders", "core.new_customer_roas"],
    ...                   "2024-01-01", profiles=["store-eu", "store-us"])  # doctest: +SKIP
    >>> df = up.read_dataset("shops")  # doctest: +SKIP
    """
    from upstack_pandas._query.checks import check_timezone, to_date
    from upstack_pandas._query.models import Query
    from upstack_pandas._readers.progress import Progress, progress_enabled
    from upstack_pandas.catalog import get_catalog
    from upstack_pandas.metadata import measure_entry

    began = time.monotonic()
    if not isinstance(path, str | os.PathLike):
        raise TypeError(f"path must be a folder path, not {type(path).__name__}")
    if granularity not in SYNC_GRANULARITIES:
        raise ValueError(
            f"granularity={granularity!r} cannot be synced: a dataset is partitioned by "
            f"calendar month, so use one of {', '.join(SYNC_GRANULARITIES)} (and resample "
            "the result for weeks, quarters or years)"
        )
    settle_days = _check_int(settle_days, "settle_days", 0)
    max_workers = _check_int(max_workers, "max_workers", 1)
    tz = check_timezone(timezone)
    today = (
        to_date(as_of, "as_of", tz)
        if as_of is not None
        else _dt.datetime.now(zoneinfo.ZoneInfo(tz)).date()
    )
    query = Query.build(
        measures,
        start,
        end if end is not None else today,
        granularity=granularity,
        dimensions=dimensions,
        filters=filters,
        compare=False,
        timezone=tz,
        order_settings=order_settings,
    )
    kind = _scheduler_kind(scheduler)
    remote = kind in ("distributed", "executor")
    lock = DatasetLock(Path(path), timeout=lock_timeout)  # checks lock_timeout
    targets, opened = _targets(profiles, client, remote)
    try:
        pixel_ids = [check_pixel_id(t.pixel_id) for t in targets]
        repeated = sorted({p for p in pixel_ids if pixel_ids.count(p) > 1})
        if repeated:
            raise ValueError(f"two of the profiles (or clients) are the same pixel: {repeated}")
        if targets[0].client is not None:
            catalog = get_catalog(targets[0].client)
        else:
            from upstack_pandas._transport.client import Client

            with Client(profile=targets[0].profile, cache=False) as probe:
                catalog = get_catalog(probe)
        ids = catalog.resolve(query.measures, context="query")
        catalog.check_dimensions(query.dimensions, ids)
        request = DatasetRequest(
            measures=ids,
            granularity=query.granularity,
            dimensions=query.dimensions,
            filters=query.filters,
            timezone=query.timezone,
            order_settings=query.order_settings,
        )
        entries = {m: measure_entry(catalog.get(m), None) for m in ids}
        root = Path(path).expanduser().resolve()
        root.mkdir(parents=True, exist_ok=True)
        with lock:
            summary = _run(
                root, request, entries, targets, query.range, today, settle_days,
                rebuild=bool(rebuild), kind=kind, scheduler=scheduler,
                max_workers=max_workers, progress=Progress(None, desc="sync windows", enabled=progress_enabled(progress)),
            )  # fmt: skip
    finally:
        for c in opened:
            c.close()
    summary.seconds = time.monotonic() - began
    log = logger.warning if not summary.ok else logger.info
    log("%r", summary)
    return summary


def _run(
    root: Path,
    request: DatasetRequest,
    entries: Mapping[str, Any],
    targets: Sequence[_Target],
    range_: tuple[_dt.date, _dt.date],
    today: _dt.date,
    settle_days: int,
    *,
    rebuild: bool,
    kind: str,
    scheduler: Any,
    max_workers: int,
    progress: Any,
) -> SyncSummary:
    _prepare(root, request, entries, rebuild)
    remove_temp_files(root)
    fingerprint = request.fingerprint
    by_pixel = {t.pixel_id: t for t in targets}
    manifests = {t.pixel_id: PixelManifest(root, t.pixel_id) for t in targets}
    reports = {t.pixel_id: PixelSummary(t.pixel_id, t.profile) for t in targets}
    todo: list[Window] = []
    for window in plan_windows(list(by_pixel), *range_):
        if needs_fetch(manifests[window.pixel_id].entry(window.period), window, fingerprint):
            todo.append(window)
        else:
            reports[window.pixel_id].skipped.append(window.period)
    tasks = [WindowTask(str(root), by_pixel[w.pixel_id].profile, request, w) for w in todo]
    failed: set[str] = set()

    def finish(window: Window, result: WindowResult | None, error: BaseException | None) -> None:
        report = reports[window.pixel_id]
        if error is not None:
            report.failed[window.period] = _error_text(error)
            failed.add(window.pixel_id)
            logger.warning(
                "sync of %s: pixel %s, %s failed: %s",
                root, window.pixel_id, window.period, report.failed[window.period],
            )  # fmt: skip
        elif result is None:
            report.not_attempted.append(window.period)
        else:
            manifests[window.pixel_id].record(
                window,
                fingerprint=fingerprint,
                fetched_at=result.fetched_at,
                rows=result.rows,
                settled=is_settled(window.end, today, settle_days),
                profile=by_pixel[window.pixel_id].profile,
            )
            report.fetched.append(window.period)

    def local(task: WindowTask) -> WindowResult | None:
        if task.window.pixel_id in failed:  # one failure: the pixel's other windows wait
            return None
        return run_task(task, by_pixel[task.window.pixel_id].client)

    progress.set_total(len(tasks))
    with progress:
        if kind == "sync":
            for task in tasks:
                try:
                    result = local(task)
                except Exception as exc:
                    finish(task.window, None, exc)
                else:
                    finish(task.window, result, None)
                progress.update()
        else:
            _run_pool(tasks, kind, scheduler, max_workers, local, finish, progress)
    for report in reports.values():
        report.fetched.sort()
        report.skipped.sort()
        report.not_attempted.sort()
    return SyncSummary(str(root), reports)


def _run_pool(
    tasks: Sequence[WindowTask],
    kind: str,
    scheduler: Any,
    max_workers: int,
    local: Any,
    finish: Any,
    progress: Any,
) -> None:
    pool: concurrent.futures.ThreadPoolExecutor | None = None
    if kind == "threads":
        pool = concurrent.futures.ThreadPoolExecutor(max_workers, thread_name_prefix="upstack-sync")
        futures = {pool.submit(local, t): t for t in tasks}
    elif kind == "distributed":
        futures = {
            scheduler.submit(
                run_task, t, pure=False,
                key=f"upstack-sync-{t.window.pixel_id}-{t.window.period}-{uuid.uuid4().hex[:8]}",
            ): t
            for t in tasks
        }  # fmt: skip
    else:
        futures = {scheduler.submit(run_task, t): t for t in tasks}
    try:
        for future in _completed(list(futures), kind):
            task = futures[future]
            try:
                result = future.result()
            except Exception as exc:
                finish(task.window, None, exc)
            else:
                finish(task.window, result, None)
            progress.update()
    except BaseException:
        if pool is not None:
            pool.shutdown(wait=True, cancel_futures=True)
        else:
            for future in futures:
                future.cancel()
        raise
    if pool is not None:
        pool.shutdown(wait=True)
