"""Fetching one window, in this process or in a worker, with credentials resolved locally.

Work sent to other processes (a ``distributed`` cluster, a process pool) names a *profile*,
never a key: :func:`client_for` builds the profile's ``Client`` in the process that runs the
task, from that process's environment and config file, and keeps it for the next tasks (one
client per profile per process, so its retries and 429 pacing are shared by that process's
tasks of the pixel).
"""

from __future__ import annotations

import datetime as _dt
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import pandas as pd

from upstack_pandas.datasets.cluster import share_pause
from upstack_pandas.datasets.plan import DatasetRequest, Window, reader_dtypes

if TYPE_CHECKING:
    from upstack_pandas._transport.client import Client

__all__ = [
    "WindowResult",
    "WindowTask",
    "client_for",
    "detach",
    "fetch_frame",
    "meta_frame",
    "paced_client",
    "run_task",
]

_clients: dict[tuple[str | None, str, str, str], Client] = {}
_clients_lock = threading.Lock()


def client_for(profile: str | None) -> Client:
    """This process's uncached ``Client`` of ``profile`` (None: the default settings).

    The settings are resolved again on each call (a small file read), so a changed config file
    or environment gets a new client; clients of unchanged settings are reused.
    """
    import hashlib

    from upstack_pandas._transport.config import resolve_settings

    settings = resolve_settings(profile=profile)
    digest = hashlib.sha256(settings.api_key.encode()).hexdigest()
    key = (profile, settings.pixel_id, settings.base_url, digest)
    with _clients_lock:
        found = _clients.get(key)
        if found is None:
            from upstack_pandas._transport.client import Client

            found = _clients[key] = Client(profile=profile, cache=False)
        return found


def paced_client(profile: str | None) -> Client:
    """This process's client of ``profile``; in a worker, its pause shared with the cluster.

    Parameters
    ----------
    profile : str or None
        A config-file profile (None: the default settings).

    Returns
    -------
    Client
        The client of :func:`client_for`, whose ``pacer`` is a
        ``upstack_pandas.dask.ClusterPacer`` once it has run in a ``distributed`` worker (D93):
        the partitions of the Dask reader and the windows of ``sync(..., scheduler=...)``
        share each pixel's 429 pause across the workers.
    """
    return share_pause(client_for(profile))


def detach(exc: BaseException) -> BaseException:
    """``exc`` without its chain (``__cause__``, ``__context__``) and traceback.

    What a worker sends back must not carry the request: a transport error's cause (the
    ``requests`` exception) holds the prepared request with its headers, and ``distributed``
    pickles exception chains and tracebacks (tblib). The exception's own message and attributes
    are already redacted.
    """
    exc.__cause__ = None
    exc.__context__ = None
    exc.__suppress_context__ = True
    return exc.with_traceback(None)


def fetch_frame(client: Client, request: DatasetRequest, window: Window) -> pd.DataFrame:
    """The pandas reader's frame of ``window``, fetched fresh, without ``attrs``.

    The frame of ``read_upstack`` (the same checks, request, values, dtypes and index), read
    through its internal entry with ``attrs=False``: nothing keeps a window's
    ``attrs["upstack"]`` (a parquet partition, a Dask partition), so they are never attached
    and their scope never computed (the reader's warnings are still issued).
    """
    from upstack_pandas._readers.query import query_arguments, read_query

    arguments = query_arguments(
        list(request.measures),
        window.start,
        window.end,
        client=client,
        refresh=True,
        progress=False,
        **request.reader_kwargs(),
    )
    return read_query(arguments, attrs=False)


@dataclass(frozen=True)
class WindowTask:
    """One window to fetch and write: everything a worker needs, and no credential."""

    root: str
    profile: str | None
    request: DatasetRequest
    window: Window


@dataclass(frozen=True)
class WindowResult:
    """What a finished task reports back: the partition is in place."""

    window: Window
    rows: int
    fetched_at: str


def run_task(task: WindowTask, client: Client | None = None) -> WindowResult:
    """Fetch ``task``'s window and write its partition (in whichever process runs it)."""
    from upstack_pandas.datasets.writer import arrow_schema, to_table, write_partition

    if client is None:  # in a worker: what is raised travels back, so without its chain
        try:
            return run_task(task, paced_client(task.profile))
        except Exception as exc:
            raise detach(exc) from None
    fetched_at = _dt.datetime.now(_dt.UTC).isoformat()
    frame = fetch_frame(client, task.request, task.window)
    table = to_table(frame, arrow_schema(task.request))
    write_partition(Path(task.root), task.window.pixel_id, task.window.period, table)
    return WindowResult(task.window, table.num_rows, fetched_at)


def meta_frame(request: DatasetRequest, *, pixel_column: bool) -> pd.DataFrame:
    """An empty frame with the reader's dtypes: index ``dt``; ``pixel``, dimensions, measures.

    The dimensions are columns here (a flat frame, as Dask needs); the dtypes are those of
    ``read_upstack`` (:func:`~upstack_pandas.datasets.plan.reader_dtypes`):
    ``datetime64[us, <timezone>]`` (``ns`` on pandas 2), pandas' string dtype (``object`` on
    pandas 2), ``float64``.
    """
    dtypes = reader_dtypes(request, pixel=pixel_column)
    index = pd.DatetimeIndex([], dtype=dtypes.pop("dt"), name="dt")
    columns = {k: pd.Series([], dtype=v) for k, v in dtypes.items()}
    return pd.DataFrame({k: v.to_numpy() for k, v in columns.items()}, index=index).astype(
        {k: v.dtype for k, v in columns.items()}
    )
