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
    "actual_granularity",
    "attach",
    "build",
    "compare_for_rows",
    "compare_frame",
    "compare_range_for_rows",
    "covered_range",
    "decode_frame",
    "encode_frame",
    "get",
    "incomplete",
    "infer_granularity",
    "json_safe",
    "measure_entries",
    "problems",
    "read_parquet",
    "scope_mismatch",
    "scope_of",
    "server_now",
    "to_parquet",
    "warn",
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
    if detail is not None and detail.message:
        entry["message"] = detail.message
    if detail is not None and detail.unapplied_filters:
        entry["filtersNotApplied"] = list(detail.unapplied_filters)
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
    compare: pd.DataFrame | Mapping[str, str] | None = None,
    **extra: Any,
) -> dict[str, Any]:
    """The ``attrs["upstack"]`` dict (see ``docs/metadata.md``).

    ``compare`` is the compare-period frame, or its :func:`encode_frame` encoding already made.
    """
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
        "compare": (
            encode_frame(compare)
            if isinstance(compare, pd.DataFrame)
            else (dict(compare) if compare is not None else None)
        ),
    }
    meta.update(json_safe(extra))
    skipped: dict[tuple[Any, Any], dict[str, Any]] = {}
    for mid, entry in meta["measures"].items():
        for condition in entry.get("filtersNotApplied") or []:
            key = (condition.get("field"), condition.get("op"))
            found = skipped.setdefault(key, {**condition, "measures": []})
            found["measures"].append(mid)
    if skipped:
        meta["filtersNotApplied"] = list(skipped.values())
    return meta


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


def _period_index(values: pd.DatetimeIndex, granularity: str, origin: _dt.date) -> np.ndarray:
    """Each bucket start's position counted from the bucket holding ``origin`` (calendar-wise).

    Calendar arithmetic on local wall time, so a clipped first bucket (a week starting before
    the range) and DST days count as one bucket each.
    """
    naive = values.tz_localize(None) if values.tz is not None else values
    start = pd.Timestamp(origin)
    if granularity in _SUB_DAY:
        step = _SUB_DAY[granularity].total_seconds()
        return np.floor((naive - start).total_seconds().to_numpy() / step).astype("int64")
    days = naive.normalize()
    if granularity == "day":
        return np.asarray((days - start).days, dtype="int64")
    if granularity == "week":
        monday = days - pd.to_timedelta(days.dayofweek, unit="D")
        first = start - pd.Timedelta(days=start.dayofweek)
        return np.asarray((monday - first).days // 7, dtype="int64")
    months = np.asarray(naive.year * 12 + naive.month - 1, dtype="int64")
    first_month = start.year * 12 + start.month - 1
    size = {"month": 1, "quarter": 3, "year": 12}[granularity]
    if granularity == "year":
        return np.asarray(naive.year - start.year, dtype="int64")
    return months // size - first_month // size


def _row_keys(
    frame: pd.DataFrame, dims: Sequence[str], granularity: str | None, origin: _dt.date | None
) -> pd.MultiIndex:
    """One key per row: its dimension values and its bucket's position in its range."""
    arrays: list[Any] = [frame.index.get_level_values(d) for d in dims]
    values = _dt_values(frame)
    if values is not None and granularity is not None and origin is not None:
        arrays.append(_period_index(values, granularity, origin))
    if not arrays:
        arrays = [np.zeros(len(frame), dtype="int64")]
    return pd.MultiIndex.from_arrays(arrays)


def compare_for_rows(frame: pd.DataFrame) -> pd.DataFrame | None:
    """The compare-period rows that match ``frame``'s rows, or None without a compare period.

    The compare period aligns with the primary range by position: the k-th bucket of the range
    is compared with the k-th bucket of the compare range, for the same dimension values. A
    frame that still matches its query gets the whole stored compare frame. A sliced or
    filtered frame (any subset of the query's rows, in any order) gets the compare rows at the
    same positions, in the frame's row order, with the frame's measure columns.

    Parameters
    ----------
    frame
        A reader's frame, or rows of one (attrs intact).

    Returns
    -------
    pandas.DataFrame or None

    Raises
    ------
    ValueError
        When the frame's rows are not rows of its query, so the stored compare period cannot
        describe them: resampled to another bucket size, repeated (``concat``), re-labelled,
        or outside the query's range. The message says why.
    """
    full = compare_frame(frame)
    if full is None:
        return None
    columns = [c for c in frame.columns if c in full.columns]
    if not scope_mismatch(frame):
        return full
    meta = get(frame) or {}
    granularity = meta.get("granularity")
    where = "the stored compare period cannot describe this frame's rows"
    fix = "re-read them with compare= to get their compare period"
    if list(frame.index.names) != list(full.index.names):
        raise ValueError(f"{where}: its index levels are not the query's ({fix})")
    found = infer_granularity(frame)
    if found is not None and granularity not in (None, "none") and found != granularity:
        raise ValueError(f"{where}: its rows are by {found}, the query's by {granularity} ({fix})")
    dims = [str(n) for n in frame.index.names if n is not None and n != "dt"]
    dated = granularity not in (None, "none") and _dt_values(frame) is not None
    primary_range = meta.get("dateRange") or {}
    compare_range = meta.get("compareDateRange") or {}
    try:
        origin = _dt.date.fromisoformat(str(primary_range["start"])) if dated else None
        compare_origin = _dt.date.fromisoformat(str(compare_range["start"])) if dated else None
    except (KeyError, ValueError):
        raise ValueError(f"{where}: the attrs hold no date range ({fix})") from None
    step = str(granularity) if dated else None
    keys = _row_keys(frame, dims, step, origin)
    if keys.has_duplicates:
        raise ValueError(f"{where}: some rows appear twice (a concat?) ({fix})")
    compare_keys = _row_keys(full, dims, step, compare_origin)
    positions = compare_keys.get_indexer(keys) if compare_keys.is_unique else None
    if positions is None or (positions < 0).any():
        missing = len(keys) if positions is None else int((positions < 0).sum())
        raise ValueError(f"{where}: {missing} of its rows are not rows of its query ({fix})")
    return full.iloc[positions][columns]


def compare_range_for_rows(frame: pd.DataFrame) -> tuple[_dt.date, _dt.date] | None:
    """The days (inclusive) the compare rows of :func:`compare_for_rows` cover, or None.

    None when the frame has no compare period, no ``dt`` index, or rows the stored compare
    period cannot describe.
    """
    try:
        rows = compare_for_rows(frame)
    except ValueError:
        return None
    meta = get(frame) or {}
    values = _dt_values(rows) if rows is not None else None
    bounds = meta.get("compareDateRange") or {}
    if rows is None or values is None or not len(values) or not bounds.get("start"):
        return None
    ends = bucket_end(pd.DatetimeIndex([values.max()]), meta.get("granularity"))
    first, last = values.min().date(), values.max().date()
    if ends is not None and not pd.isna(ends[0]):
        last = (ends[0] - pd.Timedelta(microseconds=1)).date()
    start = max(first, _dt.date.fromisoformat(str(bounds["start"])))
    end = min(last, _dt.date.fromisoformat(str(bounds.get("end") or last.isoformat())))
    return start, end


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


# --------------------------------------------------------------------------------------- scope
#
# What the totals describe. ``attrs["upstack"]["scope"]`` is written once, when a reader
# attaches the metadata, and compared with the frame whenever totals are about to be shown:
# pandas copies attrs through slicing, filtering, resampling, ``concat`` and arithmetic, so
# attrs alone cannot tell whether they still describe the rows.

#: pandas offsets of the API's calendar buckets (weeks start on Monday, decision D16)
_BUCKET_OFFSETS: dict[str, pd.DateOffset] = {
    "day": pd.DateOffset(days=1),
    "week": pd.DateOffset(weeks=1),
    "month": pd.DateOffset(months=1),
    "quarter": pd.DateOffset(months=3),
    "year": pd.DateOffset(years=1),
}
_SUB_DAY = {"second": pd.Timedelta(seconds=1), "minute": pd.Timedelta(minutes=1),
            "hour": pd.Timedelta(hours=1)}  # fmt: skip
_MAX_LISTED_VALUES = 200  # dimension values listed in a scope (more: only their count)


def _dt_values(frame: pd.DataFrame | pd.Series) -> pd.DatetimeIndex | None:
    index = frame.index
    if "dt" in list(index.names):
        values = index.get_level_values("dt") if isinstance(index, pd.MultiIndex) else index
    elif isinstance(index, pd.DatetimeIndex):
        values = index
    else:
        return None
    return values if isinstance(values, pd.DatetimeIndex) else None


def infer_granularity(frame: pd.DataFrame | pd.Series) -> str | None:
    """The bucket size the frame's ``dt`` index is spaced by, or None when irregular/absent."""
    values = _dt_values(frame)
    if values is None:
        return None
    unique = values.unique().sort_values()
    if len(unique) < 2:
        return None
    naive = unique.tz_localize(None) if unique.tz is not None else unique
    steps = set(np.diff(naive.asi8).tolist())
    unit = {"ns": 1e9, "us": 1e6, "ms": 1e3, "s": 1}[naive.unit]
    days = {round(s / unit / 86_400, 6) for s in steps}
    for name, allowed in (
        ("day", {1.0}),
        ("week", {7.0}),
        ("month", {28.0, 29.0, 30.0, 31.0}),
        ("quarter", {89.0, 90.0, 91.0, 92.0}),
        ("year", {365.0, 366.0}),
    ):
        if days <= allowed | ({round(23 / 24, 6), round(25 / 24, 6)} if name == "day" else set()):
            return name
    seconds = {round(s / unit) for s in steps}
    for name, step in _SUB_DAY.items():
        if seconds == {int(step.total_seconds())}:
            return name
    return None


def actual_granularity(frame: pd.DataFrame | pd.Series) -> str | None:
    """The frame's bucket size: inferred from its index, else the one it was read with."""
    meta = get(frame) or {}
    found = infer_granularity(frame)
    return found if found is not None else meta.get("granularity")


def bucket_end(starts: pd.DatetimeIndex, granularity: str | None) -> pd.DatetimeIndex | None:
    """The exclusive end of each bucket starting at ``starts`` (None for unknown sizes)."""
    if granularity in _SUB_DAY:
        return starts + _SUB_DAY[str(granularity)]
    offset = _BUCKET_OFFSETS.get(str(granularity))
    if offset is None:
        return None
    naive = starts.tz_localize(None) if starts.tz is not None else starts
    ends = naive + offset
    if starts.tz is None:
        return ends
    return ends.tz_localize(starts.tz, ambiguous="NaT", nonexistent="shift_forward")


def covered_range(frame: pd.DataFrame | pd.Series) -> tuple[_dt.date, _dt.date] | None:
    """The first and last day (inclusive) the frame's rows cover, clipped to the request range.

    From the ``dt`` index and the bucket size (:func:`actual_granularity`); None for frames
    without a ``dt`` level (granularity ``none``, cohorts), where the request range applies.
    """
    meta = get(frame) or {}
    values = _dt_values(frame)
    if values is None or not len(values) or values.isna().all():
        return None
    granularity = actual_granularity(frame)
    first, last = values.min(), values.max()
    ends = bucket_end(pd.DatetimeIndex([last]), granularity)
    if granularity == "week" and first.day_of_week == 6 and last.day_of_week == 6:
        # pandas' resample("W") labels weeks by their Sunday: the week ends on the label
        first, ends = first - pd.Timedelta(days=6), pd.DatetimeIndex([last + pd.Timedelta(days=1)])
    start_day = first.date()
    end_day = (ends[0] - pd.Timedelta(microseconds=1)).date() if ends is not None else last.date()
    requested = meta.get("dateRange") or {}
    try:
        if requested.get("start"):
            start_day = max(start_day, _dt.date.fromisoformat(str(requested["start"])))
        if requested.get("end"):
            end_day = min(end_day, _dt.date.fromisoformat(str(requested["end"])))
    except ValueError:
        pass
    return start_day, end_day


def fingerprint(index: pd.Index) -> str:
    """A cheap fingerprint of an index: its length, level names and set of values.

    Order-independent on purpose: the same rows in another order have the same totals.
    """
    frame = index.to_frame(index=False)
    hashed = pd.util.hash_pandas_object(frame, index=False).to_numpy()
    total = int(hashed.sum(dtype="uint64")) ^ int((hashed * np.uint64(31)).sum(dtype="uint64") >> 1)
    return f"{len(index)}:{total:016x}:{'|'.join(str(n) for n in index.names)}"


def _checksum(column: pd.Series) -> list[float | int]:
    numbers = pd.to_numeric(column, errors="coerce").astype("float64")
    return [float(numbers.sum()), int(numbers.notna().sum())]


def _checksums(frame: pd.DataFrame, measures: Mapping[str, Any]) -> dict[str, list[float | int]]:
    """:func:`_checksum` of every measure column; the ``float64`` ones in one pass.

    The NumPy ``float64`` columns (every measure of a plain read) are summed and counted
    together over one 2-D array, with no per-column Series: a column taken from a frame
    deep-copies its ``attrs``, which :func:`attach` has set by then. The sums are pandas'
    ``Series.sum()`` (NaN skipped, each column summed pairwise along its own values); other
    dtypes (``dtypes=``, ``dtype_backend=``) take the per-column path.
    """
    names = [(i, c) for i, c in enumerate(frame.columns) if isinstance(c, str) and c in measures]
    dtypes = frame.dtypes.to_numpy()
    fast = [(i, c) for i, c in names if dtypes[i] == np.dtype(np.float64)]
    out: dict[str, list[float | int]] = {}
    if fast:
        if len(fast) == frame.shape[1]:
            values = frame.to_numpy(dtype=np.float64)
        else:
            values = frame.iloc[:, [i for i, _ in fast]].to_numpy(dtype=np.float64)
        # each column contiguous, so each is summed pairwise along its own values, as
        # Series.sum() does: a row-major copy (pandas 2.2 gives one for some frames) would be
        # summed row by row, rounding differently
        values = np.asfortranarray(values)
        sums = np.nansum(values, axis=0)
        counts = values.shape[0] - np.isnan(values).sum(axis=0)
        for j, (_, c) in enumerate(fast):
            out[str(c)] = [float(sums[j]), int(counts[j])]
    done = {c for _, c in fast}
    return {
        str(c): out[str(c)] if c in done else _checksum(frame.iloc[:, i]) for i, c in names
    }


def scope_of(frame: pd.DataFrame, meta: Mapping[str, Any]) -> dict[str, Any]:
    """What ``frame``'s rows are: range, granularity, timezone, dimension values, rows, hashes.

    Parameters
    ----------
    frame
        A frame (its index and measure columns are read).
    meta
        Its ``attrs["upstack"]`` (granularity, timezone and measure ids come from it).

    Returns
    -------
    dict
        ``{"dateRange", "granularity", "timezone", "dimensionValues", "rows", "fingerprint",
        "checksums"}`` (JSON-safe; see ``docs/metadata.md``).
    """
    dims = [str(n) for n in frame.index.names if n is not None and n != "dt"]
    values: dict[str, Any] = {}
    for name in dims:
        unique = pd.unique(frame.index.get_level_values(name))
        if len(unique) <= _MAX_LISTED_VALUES:
            values[name] = sorted(json_safe(list(unique)), key=str)
        else:
            values[name] = {"count": len(unique)}
    covered = covered_range(frame)
    measures = meta.get("measures") or {}
    return {
        "dateRange": (
            {"start": covered[0].isoformat(), "end": covered[1].isoformat()}
            if covered
            else json_safe(meta.get("dateRange"))
        ),
        "granularity": actual_granularity(frame) if covered else meta.get("granularity"),
        "timezone": meta.get("timezone"),
        "dimensionValues": values,
        "rows": len(frame),
        "fingerprint": fingerprint(frame.index),
        "checksums": _checksums(frame, measures),
    }


def attach(
    frame: pd.DataFrame, meta: Mapping[str, Any], scope: Mapping[str, Any] | None = None
) -> pd.DataFrame:
    """Set ``frame.attrs["upstack"]`` (in place), with the scope of ``frame``, and return it.

    ``scope`` is :func:`scope_of` already computed for these rows and this ``meta`` (a memoised
    cache hit); without it the scope is computed here.
    """
    stored = dict(meta)
    frame.attrs[KEY] = stored
    stored["scope"] = dict(scope) if scope is not None else scope_of(frame, stored)
    return frame


def scope_mismatch(frame: pd.DataFrame | pd.Series) -> list[str]:
    """Why the frame's totals no longer describe its rows (empty: they do).

    Compares the stored scope with the frame: rows, index fingerprint, and each measure
    column's sum and count (a scaled or edited column). A frame without a stored scope
    (metadata version 1 files written before scopes existed) is taken as matching.
    """
    if isinstance(frame, pd.Series):
        frame = frame.to_frame()
    meta = get(frame)
    stored = meta.get("scope") if meta else None
    if not isinstance(stored, Mapping):
        return []
    reasons = []
    if stored.get("rows") != len(frame):
        reasons.append(f"it has {len(frame)} rows, the query returned {stored.get('rows')}")
    elif stored.get("fingerprint") != fingerprint(frame.index):
        reasons.append(
            "its index differs from the query's (rows reordered, relabelled or replaced)"
        )
    sums = stored.get("checksums") or {}
    changed = []
    for column, expected in sums.items():
        if column not in frame.columns or not isinstance(expected, list):
            continue
        total, count = _checksum(frame[column])
        want_total = expected[0] if expected[0] is not None else float("nan")
        same = count == expected[1] and (
            (math.isnan(total) and math.isnan(want_total))
            or math.isclose(total, want_total, rel_tol=1e-9, abs_tol=1e-9)
        )
        if not same:
            changed.append(column)
    if changed and not reasons:
        reasons.append(f"the values of {', '.join(changed)} changed (scaled or edited)")
    if reasons:
        range_ = stored.get("dateRange") or {}
        covered = covered_range(frame)
        if (
            covered
            and range_
            and (covered[0].isoformat(), covered[1].isoformat())
            != (
                range_.get("start"),
                range_.get("end"),
            )
        ):
            reasons.append(
                f"it covers {covered[0]} to {covered[1]}, the totals "
                f"{range_.get('start')} to {range_.get('end')}"
            )
        granularity = infer_granularity(frame)
        if granularity and stored.get("granularity") and granularity != stored["granularity"]:
            reasons.append(f"its rows are by {granularity}, the query's by {stored['granularity']}")
    return reasons


def rescope(frame: pd.DataFrame, meta: Mapping[str, Any]) -> pd.DataFrame:
    """Attach ``meta`` to ``frame`` with a fresh scope (for frames the library re-aggregated)."""
    return attach(frame, meta)


# ----------------------------------------------------------------------- incomplete periods


def server_now(frame: pd.DataFrame | pd.Series) -> pd.Timestamp | None:
    """The server's time when the frame was fetched (``serverNow``, else ``fetchedAt``)."""
    meta = get(frame) or {}
    raw = meta.get("serverNow") or meta.get("fetchedAt")
    if not raw:
        return None
    try:
        stamp = pd.Timestamp(str(raw))
    except ValueError:
        return None
    return stamp.tz_localize("UTC") if stamp.tzinfo is None else stamp


def incomplete(frame: pd.DataFrame | pd.Series) -> pd.Series | None:
    """Per row: whether its period was not over at the server's "now" when fetched.

    Query frames: the bucket (clipped to the request range) ends after ``serverNow``: the
    current bucket (``hasPacing``) and any later one. Cohort frames: the cohort's period ends
    after ``serverNow``. None when the frame has no time index or no recorded server time.
    """
    now = server_now(frame)
    if now is None:
        return None
    meta = get(frame) or {}
    index = frame.index
    names = list(index.names)
    if "cohort" in names and "period" in names:
        cohorts = pd.DatetimeIndex(index.get_level_values("cohort"))
        periods = np.asarray(index.get_level_values("period"), dtype="int64")
        granularity = str(meta.get("granularity") or "month")
        cell_ends = _cohort_period_ends(cohorts, periods, granularity)
        return pd.Series(np.asarray(cell_ends > now), index=index, name="incomplete")
    starts = _dt_values(frame)
    if starts is None:
        if meta.get("granularity") == "none":
            has_pacing = any(
                bool(m.get("hasPacing")) for m in (meta.get("measures") or {}).values()
            )
            return pd.Series(has_pacing, index=index, name="incomplete")
        return None
    found = bucket_end(starts, actual_granularity(frame))
    if found is None:
        return None
    ends: pd.DatetimeIndex = found
    range_end = (meta.get("dateRange") or {}).get("end")
    if range_end and starts.tz is not None:
        limit = pd.Timestamp(str(range_end)).tz_localize(starts.tz) + pd.Timedelta(days=1)
        ends = ends.where(ends <= limit, limit)
    return pd.Series(np.asarray(ends > now), index=index, name="incomplete")


def _cohort_period_ends(
    cohorts: pd.DatetimeIndex, periods: np.ndarray[Any, Any], granularity: str
) -> pd.DatetimeIndex:
    tz = cohorts.tz
    naive = cohorts.tz_localize(None) if tz is not None else cohorts
    if granularity == "week":
        ends = naive + pd.to_timedelta((periods + 1) * 7, unit="D")
    else:
        months = (periods + 1) * (12 if granularity == "year" else 1)
        ends = pd.DatetimeIndex(
            [c + pd.DateOffset(months=int(m)) for c, m in zip(naive, months, strict=True)]
        )
    return ends.tz_localize(tz, ambiguous="NaT", nonexistent="shift_forward") if tz else ends


# ---------------------------------------------------------------------------------- warnings


def problems(meta: Mapping[str, Any]) -> list[tuple[type[Warning], str]]:
    """The warnings a freshly read frame deserves: measures not computed, filters not applied."""
    from upstack_pandas._errors import FilterNotAppliedWarning, MeasureUnavailableWarning

    out: list[tuple[type[Warning], str]] = []
    for mid, entry in (meta.get("measures") or {}).items():
        if entry.get("success") is False:
            reason = entry.get("message") or "the server gave no reason"
            out.append(
                (
                    MeasureUnavailableWarning,
                    f"{mid}: the API could not compute this measure (success: false): "
                    f"{reason}. Its column is all missing.",
                )
            )
    for condition in meta.get("filtersNotApplied") or []:
        out.append(
            (
                FilterNotAppliedWarning,
                f"{condition.get('message') or 'a filter was not applied'} "
                f"(field {condition.get('field')}; "
                f"measures {', '.join(condition.get('measures') or [])}). "
                'attrs["upstack"]["filtersNotApplied"] records it.',
            )
        )
    return out


def warn(meta: Mapping[str, Any]) -> None:
    """Issue :func:`problems` as warnings, attributed to the caller's code."""
    import warnings

    for category, message in problems(meta):
        warnings.warn(message, category, stacklevel=user_stacklevel())


def user_stacklevel() -> int:
    """The ``stacklevel`` of the first frame outside upstack_pandas (warnings point there)."""
    import sys

    level, frame = 1, sys._getframe(1)
    package = os.path.dirname(os.path.abspath(__file__))
    while frame is not None and os.path.abspath(frame.f_code.co_filename).startswith(package):
        frame = frame.f_back  # type: ignore[assignment]
        level += 1
    return level
