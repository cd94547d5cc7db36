"""Decoded response columns → the DataFrames every reader returns.

The one source → dtype table (:data:`DTYPES`) lives here; ``docs/reading.md`` shows it and a
test keeps the two equal. Frames are built from columns (see :mod:`upstack_pandas._frames.decode`),
never row by row, and never call the client.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Literal, cast

import numpy as np
import pandas as pd

from upstack_pandas import _wire as wire
from upstack_pandas._frames.decode import Block, Decoded, RowSpec
from upstack_pandas._frames.timestamps import parse_timestamps

__all__ = [
    "DATETIME_UNIT",
    "DTYPES",
    "attribution_frame",
    "attribution_spec",
    "channel_frame",
    "channel_spec",
    "cohort_frame",
    "cohort_spec",
    "dtype_table",
    "query_frames",
    "query_spec",
    "resolve_dtype",
]

PANDAS_3 = int(pd.__version__.split(".")[0]) >= 3
#: Resolution of every timestamp we build: pandas' own default for parsed strings.
DATETIME_UNIT: Literal["us", "ns"] = "us" if PANDAS_3 else "ns"

#: The one source → dtype table: (source field, where it lands) → dtype.
#: ``{unit}`` is :data:`DATETIME_UNIT`, ``{tz}`` the query timezone; ``str`` is pandas' string
#: dtype on pandas 3 and ``object`` (holding ``str``) on pandas 2.
DTYPES: dict[str, str] = {
    "measure": "float64",
    "dt": "datetime64[{unit}, {tz}]",
    "dimension": "str",
    "attribution_model": "str",
    "cohort": "datetime64[{unit}, {tz}]",
    "period": "int64",
    "entity": "str",
}

_SOURCES: dict[str, tuple[str, str]] = {
    "measure": ("every measure value (`null` → NaN), one column per measure id", "column"),
    "dt": ("bucket start `dt`, converted to the query timezone", "index level `dt`"),
    "dimension": ("dimension values (`utm_source`, `channel`...)", "index level per dimension"),
    "attribution_model": ("the attribution model, when several are asked", "outer index level"),
    "cohort": ("cohort start, midnight in the query timezone", "index level `cohort`"),
    "period": ("periods since acquisition", "index level `period`"),
    "entity": ("channel entity `basicDetails` fields (`id`, `name`, ...)", "index `id`, columns"),
}


def resolve_dtype(source: str, timezone: str = "UTC") -> Any:
    """The pandas dtype a source field gets (see :data:`DTYPES`)."""
    spec = DTYPES[source]
    if spec == "str":
        return "str" if PANDAS_3 else np.dtype(object)
    if spec.startswith("datetime64"):
        return pd.DatetimeTZDtype(unit=DATETIME_UNIT, tz=timezone)
    return np.dtype(spec)


def dtype_table() -> str:
    """The dtype table of ``docs/reading.md`` as Markdown, generated from :data:`DTYPES`."""
    lines = ["| source | dtype | where |", "|---|---|---|"]
    for key, dtype in DTYPES.items():
        what, where = _SOURCES[key]
        lines.append(f"| {what} | `{dtype}` | {where} |")
    return "\n".join(lines)


# ------------------------------------------------------------------------------ building blocks


def _times(values: np.ndarray, timezone: str, name: str | None = None) -> pd.DatetimeIndex:
    """datetime64[us] UTC values → tz-aware DatetimeIndex in ``timezone``."""
    index = pd.DatetimeIndex(values, name=name).tz_localize("UTC").tz_convert(timezone)
    return index if DATETIME_UNIT == "us" else index.as_unit(DATETIME_UNIT)


def _label_times(uniques: Sequence[Any], timezone: str) -> pd.DatetimeIndex:
    """Timestamps given as labels: ISO with offset, or plain dates meaning local midnight."""
    strings = [v if isinstance(v, str) else None for v in uniques]
    if strings and all(s is not None and len(s) == 10 for s in strings):
        local = pd.to_datetime(cast(Any, strings), format="%Y-%m-%d", errors="coerce")
        index = local.as_unit(DATETIME_UNIT).tz_localize(
            timezone, ambiguous="NaT", nonexistent="shift_forward"
        )
        return pd.DatetimeIndex(index)
    return _times(parse_timestamps(strings), timezone)


def _labels(uniques: Sequence[Any], source: str, timezone: str) -> pd.Index:
    if source in ("dt", "cohort"):
        return _label_times(uniques, timezone)
    if source == "period":
        numbers = pd.to_numeric(pd.Series(uniques, dtype=object), errors="coerce")
        period: pd.Index = pd.Index(np.asarray(numbers))
        return period
    values = [None if v is None or v != v else str(v) for v in uniques]  # v != v: NaN
    index: pd.Index = pd.Index(values, dtype=resolve_dtype("dimension"))
    return index


def _multi_index(
    levels: Sequence[pd.Index], codes: Sequence[np.ndarray], names: Sequence[str]
) -> pd.MultiIndex:
    """A MultiIndex straight from unique levels and codes (no factorizing again)."""
    return pd.MultiIndex(
        levels=cast(Any, levels), codes=cast(Any, codes), names=list(names), verify_integrity=False
    )


def _take(level: pd.Index, codes: np.ndarray) -> pd.Index:
    """``level[codes]`` with -1 → missing, even from an empty level (pandas 2 refuses that)."""
    return _multi_index([level], [codes], [str(level.name)]).get_level_values(0)


def _clean(level: pd.Index, codes: np.ndarray) -> tuple[pd.Index, np.ndarray]:
    """Sorted unique level without missing values, codes remapped (-1 = missing)."""
    try:
        mapping, uniques = pd.factorize(level, sort=True)
    except TypeError:  # pragma: no cover - unorderable mixed labels
        mapping, uniques = pd.factorize(level, sort=False)
    if len(level) == 0:
        return pd.Index(uniques, dtype=level.dtype), codes
    if np.array_equal(mapping, np.arange(len(mapping))):  # sorted already, no missing value
        remapped = codes
    else:
        remapped = np.where(codes >= 0, mapping.take(codes, mode="clip"), -1)
    if isinstance(uniques, pd.Index):
        uniques = uniques.astype(level.dtype) if uniques.dtype != level.dtype else uniques
    else:  # pragma: no cover - factorize of an Index returns an Index
        uniques = pd.Index(uniques, dtype=level.dtype)
    return uniques, remapped


class _Columns:
    """Concatenated columns of several blocks, plus per-block constants."""

    def __init__(
        self,
        blocks: Sequence[Block],
        spec: RowSpec,
        constants: Sequence[Mapping[str, Any]] | None = None,
    ) -> None:
        self.blocks = list(blocks)
        self.spec = spec
        self.constants = list(constants) if constants is not None else None
        self.sizes = np.array([b.n for b in self.blocks], dtype=np.intp)
        self.n = int(self.sizes.sum())

    def values(self) -> np.ndarray:
        parts = [b.values for b in self.blocks]
        if len(parts) == 1:
            return parts[0]
        if not parts:
            return np.empty((0, len(self.spec.floats)), dtype=np.float64)
        return np.concatenate(parts)

    def level(self, key: str, source: str, timezone: str) -> tuple[pd.Index, np.ndarray | None]:
        """(level, codes) for one index key; codes None means the level is the values."""
        if self.constants is not None and self.constants and key in self.constants[0]:
            codes_per_block, found = pd.factorize(
                pd.Series([c.get(key) for c in self.constants], dtype=object)
            )
            codes = np.repeat(codes_per_block.astype(np.intp), self.sizes)
            return _clean(_labels(list(found), source, timezone), codes)
        if key in self.spec.parsed:
            parts = [b.times[key] for b in self.blocks]
            if not parts:
                values = np.empty(0, dtype="M8[us]")
            else:
                values = parts[0] if len(parts) == 1 else np.concatenate(parts)
            return _times(values, timezone), None
        parts = [b.codes[key] for b in self.blocks]
        if not parts:
            codes = np.empty(0, dtype=np.intp)
        else:
            codes = np.concatenate(parts) if len(parts) != 1 else parts[0]
        uniques = self.blocks[0].uniques(key) if self.blocks else []
        return _clean(_labels(uniques, source, timezone), codes.astype(np.intp, copy=False))


def _index(columns: _Columns, keys: Sequence[tuple[str, str]], timezone: str) -> pd.Index:
    """Build the frame index from (key, source) pairs; no keys → RangeIndex."""
    if not keys:
        return pd.RangeIndex(columns.n)
    built = [columns.level(key, source, timezone) for key, source in keys]
    names = [key for key, _ in keys]
    if len(built) == 1:
        level, codes = built[0]
        if codes is None:
            return level.rename(names[0])
        return _take(level, codes).rename(names[0])
    levels, codes_list = [], []
    for level, codes in built:
        if codes is None:
            codes, level = pd.factorize(level, sort=True)
        levels.append(level)
        codes_list.append(codes)
    return _multi_index(levels, codes_list, names)


def _frame(
    columns: _Columns,
    index: pd.Index,
    measures: Sequence[str],
    extra: Mapping[str, Any] | None = None,
) -> pd.DataFrame:
    values = columns.values()[:, : len(measures)]
    if not extra:
        return pd.DataFrame(values, index=index, columns=pd.Index(list(measures)), copy=False)
    data: dict[str, Any] = dict(extra)
    for i, measure in enumerate(measures):
        data[measure] = values[:, i]
    return pd.DataFrame(data, index=index, columns=[*extra, *measures])


# ------------------------------------------------------------------------------------- readers


def query_spec(measures: Sequence[str], dimensions: Sequence[str], granularity: str) -> RowSpec:
    """What ``/query`` data points hold: measure values, dimension labels, and ``dt``."""
    times = () if granularity == "none" else (wire.DT,)
    return RowSpec(tuple(measures), tuple(dimensions), times, code_times=bool(dimensions))


def query_frames(
    decoded: Decoded,
    *,
    measures: Sequence[str],
    dimensions: Sequence[str],
    granularity: str,
    timezone: str,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The primary and compare frames of a ``/query`` response (all ``results`` concatenated)."""
    keys = ([] if granularity == "none" else [(wire.DT, "dt")]) + [
        (d, "dimension") for d in dimensions
    ]
    frames = []
    for kind in wire.DATA_KINDS:
        columns = _Columns(decoded.blocks(kind), decoded.spec)
        frames.append(_frame(columns, _index(columns, keys, timezone), measures))
    return frames[0], frames[1]


def attribution_spec(measures: Sequence[str], granular: bool) -> RowSpec:
    """Attribution data points: like channel details', measure values and ``dt`` when granular."""
    return channel_spec(measures, granular)


def attribution_frame(
    decoded: Decoded,
    *,
    dimension: str,
    measures: Sequence[str],
    granular: bool,
    timezone: str,
    kind: str = wire.PRIMARY,
) -> pd.DataFrame:
    """Rows per attributed dimension value (and per bucket when granular)."""
    results = decoded.results
    constants = [{dimension: wire.dimension_value(r, dimension)} for r in results]
    columns = _Columns(decoded.blocks(kind), decoded.spec, constants)
    keys = ([(wire.DT, "dt")] if granular else []) + [(dimension, "dimension")]
    frame = _frame(columns, _index(columns, keys, timezone), measures)
    return frame.sort_index(kind="stable") if granular else frame


def cohort_spec(measures: Sequence[str]) -> RowSpec:
    """Cohort data points: measure values, cohort size, and the (cohort, period) labels."""
    return RowSpec(
        (*measures, wire.COHORT_SIZE), (wire.COHORT, wire.PERIOD, wire.DT), (), code_times=False
    )


def cohort_frame(
    decoded: Decoded, *, measures: Sequence[str], timezone: str
) -> tuple[pd.DataFrame, dict[str, int]]:
    """Long cohort frame indexed by (cohort, period), and the cohort sizes by cohort date."""
    columns = _Columns(decoded.blocks(wire.PRIMARY), decoded.spec)
    blocks = columns.blocks
    has_cohort = any(v is not None for v in (blocks[0].uniques(wire.COHORT) if blocks else []))
    cohort_key = wire.COHORT if has_cohort or not blocks else wire.DT
    cohort, cohort_codes = columns.level(cohort_key, "cohort", timezone)
    period, period_codes = columns.level(wire.PERIOD, "period", timezone)
    if period.dtype.kind == "f" and not period.hasnans:
        period = period.astype(np.int64)
    elif period.dtype.kind != "i":
        period = pd.Index(period.dropna().astype(np.int64), dtype=np.int64)
    if cohort_codes is None or period_codes is None:  # pragma: no cover - labels are coded
        raise AssertionError("cohort labels must be coded")
    index = _multi_index([cohort, period], [cohort_codes, period_codes], ["cohort", "period"])
    frame = _frame(columns, index, measures)
    sizes: dict[str, int] = {}
    size_column = columns.values()[:, len(measures)]
    for code, size in zip(cohort_codes.tolist(), size_column.tolist(), strict=True):
        key = cohort[code].date().isoformat() if code >= 0 and not pd.isna(cohort[code]) else None
        if key is not None and key not in sizes and size == size:
            sizes[key] = int(size)
    return frame, sizes


def channel_spec(measures: Sequence[str], granular: bool) -> RowSpec:
    """Channel-details data points: measure values, and ``dt`` when granular."""
    return RowSpec(tuple(measures), (), (wire.DT,) if granular else (), code_times=True)


def channel_frame(
    decoded: Decoded,
    *,
    measures: Sequence[str],
    granular: bool,
    timezone: str,
    kind: str = wire.PRIMARY,
) -> pd.DataFrame:
    """One row per entity (and per bucket when granular): entity columns, then measures."""
    results = decoded.results
    details = [wire.entity(result) for result in results]
    blocks = decoded.blocks(kind)
    spec = decoded.spec
    if not granular:  # one row per entity, even when it has no data point
        blocks = [b if b.n == 1 else _first_row(b, spec) for b in blocks]
    fields: list[str] = []
    for entity in details:
        fields.extend(
            k for k in entity if k not in fields and not isinstance(entity[k], dict | list)
        )
    if "id" not in fields:
        fields.insert(0, "id")
    constants = [{k: _scalar(d.get(k)) for k in fields} for d in details]
    columns = _Columns(blocks, spec, constants)
    keys = [("id", "entity")] + ([(wire.DT, "dt")] if granular else [])
    index = _index(columns, keys, timezone)
    extra = {}
    for key in fields:
        if key == "id":
            continue
        level, codes = columns.level(key, "entity", timezone)
        if codes is not None:
            extra[key] = _take(level, codes).array
    return _frame(columns, index, measures, extra or None)


def _scalar(value: Any) -> Any:
    return None if value is None else str(value)


def _first_row(block: Block, spec: RowSpec) -> Block:
    values = block.values[:1] if block.n else np.full((1, len(spec.floats)), np.nan)
    return Block(1, values, {}, {}, block.coders)
