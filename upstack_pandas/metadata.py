"""``df.attrs["upstack"]``: what a frame is, where it came from, and its compare period.

The schema (``docs/metadata.md``) is JSON-safe by construction, so it survives
``df.to_parquet`` / ``pd.read_parquet`` (pandas stores ``attrs`` in the parquet file). The
compare-period frame is kept as one compact string (Arrow IPC, zstd, base64): pandas deep-copies
``attrs`` on every operation, and a string costs nothing to copy.

This module is the only mapping from the client's internal records (the catalog entry, and the
response's per-measure details, as the wire module normalises them) to the attrs
schema. It is pure: it never sends a request and imports neither the client nor the catalog
(recovering catalog entries for a frame whose attrs were dropped takes a lookup function, see
:func:`measure_entries`).
"""

from __future__ import annotations

import base64
import datetime as _dt
import math
import os
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from upstack_pandas._frames import backends

if TYPE_CHECKING:
    from upstack_pandas._wire import MeasureDetail

__all__ = [
    "KEY",
    "VERSION",
    "build",
    "compare_frame",
    "decode_frame",
    "encode_frame",
    "get",
    "json_safe",
    "measure_entries",
    "read_parquet",
    "to_parquet",
]

KEY = "upstack"
VERSION = 1
COMPARE_ENCODING = "arrow-ipc+zstd+base64"

#: catalog fields copied into each measure's entry
CATALOG_FIELDS = (
    "title",
    "shortTitle",
    "description",
    "format",
    "isAverage",
    "isPercentage",
    "preferredTrendDirection",
    "currency",
)
#: attrs key of each per-measure response detail ← its :class:`MeasureDetail` attribute
DETAIL_FIELDS: dict[str, str] = {
    "primarySum": "primary_sum",
    "compareSum": "compare_sum",
    "primaryAvg": "primary_avg",
    "compareAvg": "compare_avg",
    "percentDiff": "percent_diff",
    "hasPacing": "has_pacing",
    "success": "success",
    "calculatedAverage": "calculated_average",
    "pacedSum": "paced_sum",  # only when the response sent it
}
#: catalog fields a response detail overrides when it sends them ← its attribute
DETAIL_OVERRIDES: dict[str, str] = {
    "title": "title",
    "shortTitle": "short_title",
    "description": "description",
    "format": "format",
    "isAverage": "is_average",
    "isPercentage": "is_percentage",
    "preferredTrendDirection": "preferred_trend_direction",
    "currency": "currency",
}

#: Looks up catalog entries for measure ids (never fetching); see :func:`measure_entries`.
EntryLookup = Callable[[Iterable[str]], Mapping[str, Mapping[str, Any]]]


def json_safe(value: Any) -> Any:
    """A copy of ``value`` made of dict/list/str/int/float/bool/None only (NaN → None)."""
    if value is None or isinstance(value, bool | str | int):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, np.generic):
        return json_safe(value.item())
    if isinstance(value, Mapping):
        return {str(k): json_safe(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset | np.ndarray | pd.Index):
        return [json_safe(v) for v in value]
    if isinstance(value, pd.Timestamp | _dt.datetime | _dt.date):
        return value.isoformat()
    return str(value)


def measure_entry(
    catalog_entry: Mapping[str, Any] | None, detail: MeasureDetail | None
) -> dict[str, Any]:
    """One measure's metadata: the catalog entry merged with the response's details."""
    entry: dict[str, Any] = {k: (catalog_entry or {}).get(k) for k in CATALOG_FIELDS}
    for key, attr in DETAIL_OVERRIDES.items():
        value = getattr(detail, attr) if detail is not None else None
        if value is not None:
            entry[key] = value
    for key, attr in DETAIL_FIELDS.items():
        if key == "pacedSum" and (detail is None or not detail.paced_sum_sent):
            continue
        entry[key] = getattr(detail, attr) if detail is not None else None
    return json_safe(entry)  # type: ignore[no-any-return]


def build(
    *,
    endpoint: str,
    request: Mapping[str, Any],
    fetched_at: _dt.datetime | None,
    from_cache: bool,
    timezone: str,
    granularity: str | None,
    dimensions: Sequence[str],
    date_range: Mapping[str, Any] | None,
    compare_date_range: Mapping[str, Any] | None,
    measures: Mapping[str, Mapping[str, Any]],
    compare: pd.DataFrame | None = None,
    **extra: Any,
) -> dict[str, Any]:
    """The ``attrs["upstack"]`` dict (see ``docs/metadata.md``)."""
    meta: dict[str, Any] = {
        "version": VERSION,
        "endpoint": endpoint,
        "request": json_safe(dict(request)),
        "fetchedAt": fetched_at.astimezone(_dt.UTC).isoformat() if fetched_at else None,
        "fromCache": bool(from_cache),
        "timezone": timezone,
        "granularity": granularity,
        "dimensions": list(dimensions),
        "dateRange": json_safe(date_range),
        "compareDateRange": json_safe(compare_date_range),
        "measures": {k: dict(v) for k, v in measures.items()},
        "compare": encode_frame(compare) if compare is not None else None,
    }
    meta.update(json_safe(extra))
    return meta


def attach(frame: pd.DataFrame, meta: Mapping[str, Any]) -> pd.DataFrame:
    """Set ``frame.attrs["upstack"]`` (in place) and return the frame."""
    frame.attrs[KEY] = dict(meta)
    return frame


def get(frame: pd.DataFrame | pd.Series) -> dict[str, Any] | None:
    """The frame's ``attrs["upstack"]``, or None when pandas dropped it."""
    meta = frame.attrs.get(KEY)
    return meta if isinstance(meta, dict) else None


def measure_entries(
    frame: pd.DataFrame | pd.Series, recover: EntryLookup | None = None
) -> dict[str, dict[str, Any]]:
    """Metadata per measure column: from attrs, else recovered through ``recover``.

    Operations such as ``rolling``, ``agg`` or ``join`` may drop ``attrs``; columns whose names
    are measure ids then get their catalog entry back (without the response's sums) when
    ``recover`` knows them (``df.upstack`` passes
    :func:`upstack_pandas.catalog.known_entries`, which looks in catalogs already fetched and
    never sends a request).
    """
    columns = [frame.name] if isinstance(frame, pd.Series) else list(frame.columns)
    meta = get(frame)
    stored = meta.get("measures", {}) if meta else {}
    found = {c: dict(stored[c]) for c in columns if isinstance(c, str) and c in stored}
    missing = [c for c in columns if isinstance(c, str) and c not in found]
    if missing and recover is not None:
        for mid, entry in recover(missing).items():
            found[mid] = measure_entry(entry, None)
    return {c: found[c] for c in columns if c in found}


# ------------------------------------------------------------------------------ compare frame


def encode_frame(frame: pd.DataFrame) -> dict[str, str]:
    """A frame as ``{"encoding", "data"}``: Arrow IPC stream, zstd-compressed, base64 text."""
    import pyarrow as pa

    table = pa.Table.from_pandas(frame, preserve_index=True)
    sink = pa.BufferOutputStream()
    options = pa.ipc.IpcWriteOptions(compression="zstd")
    with pa.ipc.new_stream(sink, table.schema, options=options) as writer:
        writer.write_table(table)
    data = base64.b64encode(sink.getvalue().to_pybytes()).decode("ascii")
    return {"encoding": COMPARE_ENCODING, "data": data}


def compare_frame(frame: pd.DataFrame | pd.Series) -> pd.DataFrame | None:
    """The compare-period frame a reader stored in ``frame``'s attrs, or None.

    Parameters
    ----------
    frame
        A frame returned by a reader (attrs intact).

    Returns
    -------
    pandas.DataFrame or None
        Same columns, index names and dtypes as the primary frame; None when the frame was read
        without a compare period or pandas dropped its attrs.
    """
    meta = get(frame)
    encoded = meta.get("compare") if meta else None
    if not isinstance(encoded, Mapping):
        return None
    decoded = decode_frame(encoded)
    backend = meta.get("dtypeBackend") if meta else None  # Arrow IPC keeps columns, not the index
    return backends.convert_frame(decoded, backend) if isinstance(backend, str) else decoded


def decode_frame(encoded: Mapping[str, Any]) -> pd.DataFrame:
    """The frame :func:`encode_frame` encoded (same columns, index names and dtypes)."""
    import pyarrow as pa

    if encoded.get("encoding") != COMPARE_ENCODING:
        raise ValueError(f"unknown frame encoding {encoded.get('encoding')!r}")
    raw = base64.b64decode(str(encoded["data"]))
    frame: pd.DataFrame = pa.ipc.open_stream(raw).read_all().to_pandas()
    return frame


# ------------------------------------------------------------------------------------- parquet


def to_parquet(frame: pd.DataFrame, path: str | os.PathLike[str], **kwargs: Any) -> None:
    """Write ``frame`` with its index, timezone and ``attrs["upstack"]`` to a parquet file.

    Parameters
    ----------
    frame
        A frame returned by a reader (or any frame).
    path
        Destination file.
    **kwargs
        Passed to :meth:`pandas.DataFrame.to_parquet` (``compression=`` ...).
    """
    meta = get(frame)
    if meta is not None:
        frame = frame.copy(deep=False)
        frame.attrs = {**frame.attrs, KEY: json_safe(meta)}
    frame.to_parquet(path, engine="pyarrow", **kwargs)


def read_parquet(path: str | os.PathLike[str], **kwargs: Any) -> pd.DataFrame:
    """Read a parquet file written by :func:`to_parquet` (or ``df.to_parquet``).

    Plain :func:`pandas.read_parquet` gives the same frame; this function also checks the
    metadata version.

    Parameters
    ----------
    path
        The parquet file.
    **kwargs
        Passed to :func:`pandas.read_parquet`.

    Returns
    -------
    pandas.DataFrame
        The frame with its index, timezone and ``attrs["upstack"]``.
    """
    frame = pd.read_parquet(path, engine="pyarrow", **kwargs)
    meta = get(frame)
    if meta is not None and meta.get("version", VERSION) > VERSION:
        raise ValueError(
            f"{os.fspath(path)} holds upstack metadata version {meta['version']}; "
            f"this upstack-pandas reads up to version {VERSION}: upgrade it"
        )
    return frame
