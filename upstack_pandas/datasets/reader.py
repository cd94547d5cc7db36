"""``read_dataset``: a synced dataset back as one frame, with pixel as an index level."""

from __future__ import annotations

import datetime as _dt
import os
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import pandas as pd

from upstack_pandas.datasets.manifest import META_DIR, PixelManifest, load_dataset_info
from upstack_pandas.datasets.plan import DatasetRequest, reader_dtypes
from upstack_pandas.datasets.writer import FILE_NAME, arrow_schema

if TYPE_CHECKING:
    from upstack_pandas._query.checks import DateLike

__all__ = ["read_dataset"]


def read_dataset(
    path: str | os.PathLike[str],
    *,
    pixels: str | Sequence[str] | None = None,
    start: DateLike | None = None,
    end: DateLike | None = None,
    columns: Sequence[str] | None = None,
) -> pd.DataFrame:
    """Read a dataset written by :func:`upstack_pandas.sync` into one frame.

    Parameters
    ----------
    path : str or path
        The dataset folder.
    pixels : str or list of str, optional
        Only these pixel ids (default: all).
    start, end : date-like, optional
        Only buckets from ``start`` through ``end`` (inclusive days, in the dataset's
        timezone).
    columns : list of str, optional
        Only these measure columns (default: all, in the dataset's order).

    Returns
    -------
    pandas.DataFrame
        Index ``(pixel, dt, *dimensions)``, sorted; one ``float64`` column per measure, the
        same dtypes as :func:`upstack_pandas.read_upstack`. ``attrs["upstack"]`` holds the
        dataset's request and the catalog entries of its measures (no totals: they do not add
        up across pixels), and under ``"dataset"`` the path, pixels, and provisional months.

    Raises
    ------
    FileNotFoundError
        When ``path`` holds no dataset.
    ValueError
        For unknown columns.
    """
    import pyarrow as pa
    import pyarrow.dataset as ds

    from upstack_pandas import metadata
    from upstack_pandas._query.checks import to_date

    root = Path(path).expanduser()
    info = load_dataset_info(root)
    if info is None:
        raise FileNotFoundError(
            f"{root} holds no dataset written by upstack_pandas.sync ({META_DIR}/dataset.json "
            "is missing)"
        )
    request = DatasetRequest.from_json(info["request"])
    measures = list(request.measures) if columns is None else list(columns)
    unknown = [c for c in measures if c not in request.measures]
    if unknown:
        raise ValueError(f"columns {unknown} are not measures of {root}: {list(request.measures)}")
    partitioning = ds.partitioning(
        pa.schema([("pixel", pa.string()), ("period", pa.string())]), flavor="hive"
    )
    wanted = [pixels] if isinstance(pixels, str) else list(pixels) if pixels is not None else None
    # only the partition files: other files in the folder are not the dataset's
    files = [
        str(f)
        for pattern in ([f"pixel={p}" for p in wanted] if wanted is not None else ["pixel=*"])
        for f in sorted(root.glob(f"{pattern}/period=*/{FILE_NAME}"))
    ]
    schema = arrow_schema(request)
    for name in ("pixel", "period"):
        schema = schema.append(pa.field(name, pa.string()))
    dataset = ds.dataset(
        files, schema=schema, format="parquet", partitioning=partitioning,
        partition_base_dir=str(root),
    )  # fmt: skip
    condition = None
    tz = request.timezone
    if start is not None:
        lo = pd.Timestamp(to_date(start, "start", tz)).tz_localize(tz)
        cond = ds.field("dt") >= pa.scalar(lo.to_pydatetime(), pa.timestamp("us", tz=tz))
        condition = cond if condition is None else condition & cond
    if end is not None:
        hi = pd.Timestamp(to_date(end, "end", tz) + _dt.timedelta(days=1)).tz_localize(tz)
        cond = ds.field("dt") < pa.scalar(hi.to_pydatetime(), pa.timestamp("us", tz=tz))
        condition = cond if condition is None else condition & cond
    names = ["pixel", "dt", *request.dimensions, *measures]
    table = dataset.to_table(columns=names, filter=condition)
    frame = table.to_pandas()
    dtypes = reader_dtypes(request, pixel=True)
    frame = frame.astype({name: dtypes[name] for name in names})  # parquet holds dt at us
    frame = frame.set_index(["pixel", "dt", *request.dimensions]).sort_index()
    found = sorted(frame.index.get_level_values("pixel").unique()) if len(frame) else []
    pixel_ids = wanted if wanted is not None else _stored_pixels(root)
    provisional, fetched = {}, []
    for pid in pixel_ids:
        windows = PixelManifest(root, pid).windows
        provisional[pid] = sorted(p for p, e in windows.items() if e.get("status") != "settled")
        fetched += [e["fetchedAt"] for e in windows.values() if e.get("fetchedAt")]
    meta = metadata.build(
        endpoint="/db-mgmt/api/query",
        request={**request.to_json(), "measures": measures},
        fetched_at=_dt.datetime.fromisoformat(min(fetched)) if fetched else None,
        from_cache=False,
        timezone=tz,
        granularity=request.granularity,
        dimensions=list(request.dimensions),
        date_range=_date_range(frame, tz),
        compare_date_range=None,
        measures={m: info.get("measures", {}).get(m, {}) for m in measures},
        dataset={
            "path": str(root),
            "pixels": found,
            "fingerprint": info.get("fingerprint"),
            "provisional": provisional,
        },
    )
    return metadata.attach(frame, meta)


def _stored_pixels(root: Path) -> list[str]:
    return sorted(p.stem for p in (root / META_DIR / "manifest").glob("*.json"))


def _date_range(frame: pd.DataFrame, tz: str) -> dict[str, str] | None:
    if not len(frame):
        return None
    dt = frame.index.get_level_values("dt")
    return {"start": dt.min().date().isoformat(), "end": dt.max().date().isoformat()}
