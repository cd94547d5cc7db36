"""Dask readers: ``read_upstack`` as a lazy Dask DataFrame, one partition per pixel and month.

Needs the ``dask`` extra (``pip install 'upstack-pandas[dask]'``). Building the frame sends one
request, the measures catalog (``GET /db-mgmt/api/measures``, with the first profile), to turn
titles into ids and check the dimensions; the meta (columns and dtypes) is then built from the
request alone, and no data is fetched until the frame is computed. The task graph holds profile
names, never keys: each worker builds the profile's ``Client`` itself, from its own environment
and config file (which must therefore be visible to the workers), and keeps it for its next
partitions. In a worker, that client's 429 pause is shared with the other workers of the cluster
(:class:`ClusterPacer`). See ``docs/dask.md``.
"""

from __future__ import annotations

import contextlib
import datetime as _dt
import logging
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import pandas as pd

from upstack_pandas._profiles import ProfilesArg, normalise_profiles
from upstack_pandas.datasets.cluster import (
    ClusterPacer,
    install_lock,
    pacing_topic,
    worker_events,
)
from upstack_pandas.datasets.fetch import detach, fetch_frame, meta_frame, paced_client
from upstack_pandas.datasets.plan import (
    SYNC_GRANULARITIES,
    DatasetRequest,
    Window,
    check_pixel_id,
    month_windows,
)

if TYPE_CHECKING:
    import dask.dataframe as dd

    from upstack_pandas._query.checks import DateLike
    from upstack_pandas._transport.client import Client

__all__ = ["ClusterPacer", "pacing_topic", "read_upstack", "sync"]

logger = logging.getLogger("upstack_pandas")


def _require_dask() -> Any:
    try:
        import dask.dataframe as dd
    except ImportError as exc:  # pragma: no cover - depends on the installation
        raise ImportError(
            f"upstack_pandas.dask needs the 'dask' extra ({exc.name} is missing): "
            "pip install 'upstack-pandas[dask]'"
        ) from None
    return dd


@dataclass(frozen=True)
class PartitionSpec:
    """One partition of the frame: a pixel's month, named by profile (no credential)."""

    profile: str | None
    request: DatasetRequest
    window: Window
    #: at most this many partitions of the pixel fetch at once on a cluster (None: no cap)
    max_in_flight: int | None = None


def read_partition(spec: PartitionSpec) -> pd.DataFrame:
    """Fetch one partition (runs in the worker; the worker resolves the profile itself).

    Parameters
    ----------
    spec : PartitionSpec

    Returns
    -------
    pandas.DataFrame
        Index ``dt``; columns ``pixel``, the dimensions, the measures (the frame's meta).
    """
    request = spec.request
    try:
        client = paced_client(spec.profile)
        with _in_flight_cap(client, spec.max_in_flight):
            frame = fetch_frame(client, request, spec.window)
    except Exception as exc:  # it travels back to the client: without the request in its chain
        raise detach(exc) from None
    if request.dimensions:
        frame = frame.reset_index(level=list(request.dimensions))
    frame.insert(0, "pixel", spec.window.pixel_id)
    dtypes = _meta_dtypes(request)
    frame = frame[list(dtypes.index)]
    if not frame.dtypes.equals(dtypes):
        frame = frame.astype(dtypes.to_dict())
    return frame


_dtypes_by_request: dict[str, pd.Series] = {}


def _meta_dtypes(request: DatasetRequest) -> pd.Series:
    """The meta's column dtypes, built once per request in this process (not per partition)."""
    import json

    key = json.dumps(request.to_json(), sort_keys=True, default=str)
    found = _dtypes_by_request.get(key)
    if found is None:
        if len(_dtypes_by_request) >= 64:  # a long-lived worker: keep only recent requests
            _dtypes_by_request.clear()
        found = _dtypes_by_request[key] = meta_frame(request, pixel_column=True).dtypes
    return found


def read_upstack(
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
    max_in_flight: int | None = None,
) -> dd.DataFrame:
    """Read measures over time as a lazy Dask DataFrame, one partition per pixel and month.

    Parameters
    ----------
    measures : str or list of str
        Measure ids or catalog titles.
    start, end : date-like
        First and last day, inclusive, in ``timezone`` (``end`` defaults to today).
    granularity : {"day", "hour", "minute", "second", "month"}
        Bucket size (buckets must not straddle months).
    dimensions : str or list of str, optional
        Dimension ids; they are columns (Dask has no MultiIndex).
    filters : dict or list of dict, optional
        Canonical filter, as for :func:`upstack_pandas.read_upstack`.
    timezone : str, optional
        IANA timezone (default ``"UTC"``).
    order_settings : dict, optional
        Query-level order settings.
    profiles : str or list of str, optional
        Config-file profiles, one per pixel (default: the default settings, as each worker
        resolves them).
    max_in_flight : int, optional
        On a ``distributed`` cluster, at most this many partitions of one pixel are fetched at
        once, across all workers (a scheduler semaphore per pixel). Default: no cap (workers x
        threads). Elsewhere (``scheduler="sync"``, threads) it does not apply.

    Returns
    -------
    dask.dataframe.DataFrame
        Index ``dt`` (``datetime64[us, <timezone>]``, ``ns`` on pandas 2); columns ``pixel``,
        the dimensions (strings) and one ``float64`` column per measure: the dtypes of
        :func:`upstack_pandas.read_upstack`. Partitions are ordered by pixel, then month; the
        divisions are known when there is one pixel (months do not overlap), unknown
        otherwise. No compare period and no totals (use the pandas reader for those).

    Raises
    ------
    ValueError, TypeError
        For invalid arguments, before anything is sent.
    upstack_pandas.UpstackError
        When the catalog cannot be read (at build time) or a partition fails (at compute
        time).

    Examples
    --------
    >>> import upstack_pandas.dask as upd
    >>> ddf = upd.read_upstack("orders.orders", "2024-01-01", "2026-10-31",
    ...                        profiles=["store-eu", "store-us"])  # doctest: +SKIP
    >>> ddf.groupby("pixel")["orders.orders"].sum().compute()  # doctest: +SKIP
    """
    dd = _require_dask()
    from upstack_pandas._query.checks import check_timezone
    from upstack_pandas._query.models import Query
    from upstack_pandas._transport.client import Client
    from upstack_pandas._transport.config import resolve_settings
    from upstack_pandas.catalog import get_catalog

    if max_in_flight is not None and (
        isinstance(max_in_flight, bool) or not isinstance(max_in_flight, int) or max_in_flight < 1
    ):
        raise ValueError(f"max_in_flight must be a whole number of at least 1, not {max_in_flight!r}")
    if granularity not in SYNC_GRANULARITIES:
        raise ValueError(
            f"granularity={granularity!r}: the Dask reader cuts the range into calendar months, "
            f"so use one of {', '.join(SYNC_GRANULARITIES)}"
        )
    tz = check_timezone(timezone)
    query = Query.build(
        measures, start, end, granularity=granularity, dimensions=dimensions,
        filters=filters, compare=False, timezone=tz, order_settings=order_settings,
    )  # fmt: skip
    names = normalise_profiles(profiles)
    pixels = [check_pixel_id(resolve_settings(profile=n).pixel_id) for n in names]
    if len(set(pixels)) < len(pixels):
        raise ValueError(f"two of the profiles are the same pixel: {pixels}")
    with Client(profile=names[0], cache=False) as probe:  # the one build-time request
        catalog = get_catalog(probe)
    ids = catalog.resolve(query.measures, context="query")
    catalog.check_dimensions(query.dimensions, ids)
    request = DatasetRequest(
        measures=ids, granularity=query.granularity, dimensions=query.dimensions,
        filters=query.filters, timezone=tz, order_settings=query.order_settings,
    )  # fmt: skip
    months = month_windows(*query.range)
    specs = [
        PartitionSpec(name, request, Window(pixel, period, lo, hi), max_in_flight)
        for name, pixel in zip(names, pixels, strict=True)
        for period, lo, hi in months
    ]
    divisions: tuple[Any, ...] | None = None
    if len(pixels) == 1:
        bounds = [pd.Timestamp(lo).tz_localize(tz) for _, lo, _ in months]
        last = pd.Timestamp(months[-1][2] + _dt.timedelta(days=1)).tz_localize(tz)
        divisions = (*bounds, last - pd.Timedelta(microseconds=1))
    import dask

    # keep the pandas reader's string dtype (``str``), not Dask's ``string[pyarrow]``
    with dask.config.set({"dataframe.convert-string": False}):
        frame = dd.from_map(
            read_partition,
            specs,
            meta=meta_frame(request, pixel_column=True),
            divisions=divisions,
            label="read-upstack",
            enforce_metadata=False,
        )
    return frame  # type: ignore[no-any-return]


def sync(*args: Any, scheduler: Any = None, **kwargs: Any) -> Any:
    """:func:`upstack_pandas.sync` with ``scheduler=`` (e.g. a ``distributed.Client``).

    Parameters
    ----------
    *args, **kwargs
        As for :func:`upstack_pandas.sync`.
    scheduler : distributed.Client, Executor, "threads" or "sync", optional
        Where the windows are fetched and written (default: the current ``distributed``
        client when there is one, else threads here).

    Returns
    -------
    upstack_pandas.datasets.SyncSummary
    """
    from upstack_pandas.datasets import sync as run

    if scheduler is None:
        try:
            from distributed import get_client

            scheduler = get_client()
        except (ImportError, ValueError):
            scheduler = None
    return run(*args, scheduler=scheduler, **kwargs)


_semaphores: dict[tuple[str, int], Any] = {}


@contextlib.contextmanager
def _in_flight_cap(client: Client, limit: int | None) -> Iterator[None]:
    """Hold one lease of the pixel's scheduler semaphore (in a worker, when ``limit`` is set)."""
    if limit is None or worker_events() is None:
        yield
        return
    from distributed import Semaphore

    make: Any = Semaphore  # distributed's classes are untyped
    name = f"{pacing_topic(client.base_url, client.pixel_id)}-in-flight-{limit}"
    with install_lock:
        semaphore = _semaphores.get((name, limit))
        if semaphore is None:
            semaphore = _semaphores[(name, limit)] = make(max_leases=limit, name=name)
    with semaphore:
        yield
