"""Incremental parquet datasets of many pixels: :func:`sync` writes them, :func:`read_dataset`
reads them back (see ``docs/sync.md``).

Modules: :mod:`.plan` (the request, its fingerprint, windows, settled vs provisional),
:mod:`.manifest` (``_upstack/`` bookkeeping), :mod:`.writer` (atomic partition files),
:mod:`.lock` (one sync per dataset), :mod:`.fetch` (one window, in this process or a worker),
:mod:`.cluster` (in a ``distributed`` worker, the pixel's 429 pause shared with the others),
:mod:`.run` (``sync``), :mod:`.reader` (``read_dataset``), :mod:`.summary`.
"""

from __future__ import annotations

from upstack_pandas.datasets.lock import DatasetLocked
from upstack_pandas.datasets.plan import DEFAULT_SETTLE_DAYS, DatasetRequest
from upstack_pandas.datasets.reader import read_dataset
from upstack_pandas.datasets.run import DatasetMismatch, sync
from upstack_pandas.datasets.summary import PixelSummary, SyncFailed, SyncSummary

__all__ = [
    "DEFAULT_SETTLE_DAYS",
    "DatasetLocked",
    "DatasetMismatch",
    "DatasetRequest",
    "PixelSummary",
    "SyncFailed",
    "SyncSummary",
    "read_dataset",
    "sync",
]
