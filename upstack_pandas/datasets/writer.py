"""Partitions: one parquet file per pixel and month, written whole and renamed into place.

Layout (hive partitioning, read by pandas, pyarrow, DuckDB and Dask as is)::

    <root>/pixel=<pixel id>/period=<YYYY-MM>/data.parquet

Each file holds the columns ``dt`` (timestamp in the dataset's timezone), the dimensions
(strings) and the measures (float64), with one fixed Arrow schema, so every file of a dataset
(an empty one included) has the same columns and types. A partition is written to a hidden
temporary file in its folder and ``os.replace``-d onto ``data.parquet``: readers see the old
file or the new one, never half of one. ``pixel`` and ``period`` come from the folder names.
"""

from __future__ import annotations

import contextlib
import os
import uuid
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from upstack_pandas.datasets.plan import DatasetRequest

__all__ = ["FILE_NAME", "arrow_schema", "partition_path", "remove_temp_files", "write_partition"]

FILE_NAME = "data.parquet"


def arrow_schema(request: DatasetRequest) -> pa.Schema:
    """The Arrow schema of every partition file of a dataset answering ``request``."""
    fields = [pa.field("dt", pa.timestamp("us", tz=request.timezone))]
    fields += [pa.field(d, pa.string()) for d in request.dimensions]
    fields += [pa.field(m, pa.float64()) for m in request.measures]
    return pa.schema(fields)


def partition_path(root: Path, pixel_id: str, period: str) -> Path:
    """``<root>/pixel=<pixel id>/period=<period>/data.parquet``."""
    return root / f"pixel={pixel_id}" / f"period={period}" / FILE_NAME


def to_table(frame: pd.DataFrame, schema: pa.Schema) -> pa.Table:
    """A reader frame (index ``dt`` or ``(dt, *dimensions)``) as a table of ``schema``."""
    flat = frame.reset_index()
    flat.attrs = {}
    missing = [n for n in schema.names if n not in flat.columns]
    if missing:
        raise ValueError(f"the frame lacks the columns {missing} of the dataset")
    table = pa.Table.from_pandas(flat[schema.names], preserve_index=False)
    return table.cast(schema).replace_schema_metadata(None)


def write_partition(root: Path, pixel_id: str, period: str, table: pa.Table) -> Path:
    """Write ``table`` as the partition of ``pixel_id`` and ``period``; return its path."""
    final = partition_path(root, pixel_id, period)
    final.parent.mkdir(parents=True, exist_ok=True)
    tmp = final.with_name(f".{FILE_NAME}.{uuid.uuid4().hex[:8]}.tmp")
    try:
        with open(tmp, "wb") as handle:
            pq.write_table(table, handle, compression="zstd")
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, final)
    finally:
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()
    return final


def remove_temp_files(root: Path) -> int:
    """Delete temporary files a crashed sync left behind; return how many."""
    count = 0
    for tmp in root.glob("pixel=*/period=*/.*.tmp"):
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()
            count += 1
    for tmp in (root / "_upstack").glob("**/.*.tmp"):
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()
            count += 1
    return count
