"""Totals for a frame that no longer matches its query: re-read it, or rebuild it from rows.

Metadata, frames and plots never fetch; this reader-layer module does, for ``df.upstack``:

- :func:`reread` sends the frame's query again for the rows it actually has (its covered
  range, bucket size and dimensions), through the client's cache;
- :func:`rows_match` says whether the API's rows for that scope are the frame's rows (a frame
  that was only sliced matches; a scaled or edited one does not, and then the API's totals do
  not describe it);
- :func:`regroup` re-aggregates to another bucket size and/or fewer dimensions: sums from the
  rows, ratios and averages from the API at the new scope when the rows are the API's, else
  missing with an :class:`~upstack_pandas.IncompleteTotalsWarning`.
"""

from __future__ import annotations

import datetime as _dt
import warnings
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from upstack_pandas import metadata
from upstack_pandas._errors import IncompleteTotalsWarning, UpstackError
from upstack_pandas._readers.query import read_upstack

if TYPE_CHECKING:
    from upstack_pandas._transport.client import Client

__all__ = ["GRANULARITY_RULES", "granularity_of_rule", "regroup", "reread", "rows_match"]

#: pandas resample rules → API granularity (buckets start as the API's: weeks on Monday)
GRANULARITY_RULES: dict[str, str] = {
    "D": "day", "1D": "day", "W": "week", "W-MON": "week", "W-SUN": "week", "1W": "week",
    "M": "month", "MS": "month", "ME": "month", "Q": "quarter", "QS": "quarter",
    "QE": "quarter", "Y": "year", "YS": "year", "YE": "year", "A": "year", "AS": "year",
    "H": "hour", "h": "hour",
}  # fmt: skip
_NAMES = ("second", "minute", "hour", "day", "week", "month", "quarter", "year")
_PERIODS = {"week": "W-SUN", "month": "M", "quarter": "Q-DEC", "year": "Y-DEC", "day": "D"}


def granularity_of_rule(rule: str) -> str:
    """The API granularity a resample rule means (``"W"`` → ``"week"``; names pass through)."""
    if rule in _NAMES:
        return rule
    found = GRANULARITY_RULES.get(str(rule))
    if found is None:
        raise ValueError(
            f"rule {rule!r} is not an API bucket size: use one of {', '.join(_NAMES)} or a "
            f"pandas rule among {', '.join(GRANULARITY_RULES)}"
        )
    return found


def _dims(frame: pd.DataFrame) -> list[str]:
    return [str(n) for n in frame.index.names if n is not None and n != "dt"]


def reread(
    frame: pd.DataFrame,
    *,
    granularity: str | None = None,
    dimensions: Sequence[str] | None = None,
    client: Client | None = None,
) -> pd.DataFrame:
    """The frame's ``/query`` again, for its covered range (and another scope when given).

    Raises
    ------
    ValueError
        When the frame is not a ``read_upstack`` frame with its metadata.
    upstack_pandas.UpstackError
        When the request fails.
    """
    meta = metadata.get(frame) or {}
    request = meta.get("request") or {}
    covered = metadata.covered_range(frame)
    if meta.get("pixels"):  # decision D91: one client cannot re-read several pixels' rows
        raise ValueError(
            "it holds the rows of several pixels (read with profiles=); ratios and averages "
            "are not re-read across pixels"
        )
    if meta.get("endpoint") != "/db-mgmt/api/query" or covered is None:
        raise ValueError("only read_upstack frames with a dt index and their metadata re-read")
    ids = [c for c in frame.columns if c in (meta.get("measures") or {})]
    return read_upstack(
        ids,
        covered[0],
        covered[1],
        granularity=granularity or metadata.actual_granularity(frame) or "day",
        dimensions=list(_dims(frame) if dimensions is None else dimensions) or None,
        filters=request.get("filters"),
        compare=_compare_for(frame, request, granularity, dimensions),
        timezone=meta.get("timezone"),
        order_settings=request.get("orderSettings"),
        client=client,
    )


def _compare_for(
    frame: pd.DataFrame,
    request: Mapping[str, Any],
    granularity: str | None,
    dimensions: Sequence[str] | None,
) -> bool | tuple[_dt.date, _dt.date]:
    """The re-read's compare: the compare period of the frame's own rows when the stored one
    describes them (a slice keeps its positions in the compare range), else the API's default.
    """
    if request.get("compareDateRange") is None:
        return False
    if granularity is None and dimensions is None:
        found = metadata.compare_range_for_rows(frame)
        if found is not None:
            return found
    return True


def rows_match(frame: pd.DataFrame, other: pd.DataFrame, columns: Sequence[str]) -> bool:
    """Whether ``frame`` and ``other`` hold the same rows and values in ``columns``."""
    if len(frame) != len(other) or not frame.index.equals(other.index):
        return False
    for column in columns:
        left = frame[column].to_numpy(dtype="float64", na_value=np.nan)
        right = other[column].to_numpy(dtype="float64", na_value=np.nan)
        if not np.allclose(left, right, rtol=1e-9, atol=1e-9, equal_nan=True):
            return False
    return True


def verified_totals(
    frame: pd.DataFrame, client: Client | None = None
) -> tuple[dict[str, dict[str, Any]] | None, str]:
    """API totals for exactly the frame's rows (re-read and checked), or None and why not."""
    meta = metadata.get(frame) or {}
    ids = [c for c in frame.columns if c in (meta.get("measures") or {})]
    try:
        fresh = reread(frame, client=client)
    except (UpstackError, ValueError) as exc:
        return None, f"re-reading the query for these rows failed ({exc})"
    if not rows_match(frame, fresh, ids):
        return None, "its values differ from the API's for these rows (scaled, filtered or edited)"
    return metadata.get(fresh)["measures"], "re-read"  # type: ignore[index]


def _bucket_starts(dt: pd.DatetimeIndex, granularity: str) -> pd.DatetimeIndex:
    tz = dt.tz
    naive = dt.tz_localize(None) if tz is not None else dt
    if granularity in ("second", "minute", "hour"):
        starts = naive.floor({"second": "s", "minute": "min", "hour": "h"}[granularity])
    else:
        starts = naive.to_period(_PERIODS[granularity]).start_time
    if tz is None:
        return pd.DatetimeIndex(starts)
    return pd.DatetimeIndex(starts).tz_localize(tz, ambiguous="NaT", nonexistent="shift_forward")


def regroup(
    frame: pd.DataFrame,
    granularity: str | None = None,
    dimensions: Sequence[str] | None = None,
    *,
    client: Client | None = None,
    fetch: bool = True,
) -> pd.DataFrame:
    """Re-aggregate a ``read_upstack`` frame to ``granularity`` and the kept ``dimensions``.

    Sums are summed from the rows. Ratios and averages come from the API for the new scope
    (same query, the frame's covered range, through the cache) when the frame's rows are the
    API's; otherwise they are missing and an :class:`IncompleteTotalsWarning` says which.
    The result's ``attrs["upstack"]`` describes the result (its totals, its scope).
    """
    meta = metadata.get(frame)
    if not meta or metadata._dt_values(frame) is None:
        raise ValueError(
            "df.upstack.resample/regroup need a read_upstack frame with a dt index and its "
            "metadata (attrs['upstack'])"
        )
    target = granularity or metadata.actual_granularity(frame) or "day"
    kept = _dims(frame) if dimensions is None else [str(d) for d in dimensions]
    unknown = [d for d in kept if d not in _dims(frame)]
    if unknown:
        raise ValueError(f"dimensions {unknown} are not index levels; levels: {_dims(frame)}")
    entries = metadata.measure_entries(frame)
    ids = [c for c in frame.columns if c in entries]
    ratios = [m for m in ids if entries[m].get("isAverage")]
    genuine, why = not metadata.scope_mismatch(frame), ""
    if not genuine and fetch and ratios:
        totals, why = verified_totals(frame, client)
        genuine = totals is not None
    if genuine and fetch:
        try:
            return reread(frame, granularity=target, dimensions=kept, client=client)
        except (UpstackError, ValueError) as exc:
            why = f"re-reading the query at the new scope failed ({exc})"
    if not why:
        why = "; ".join(metadata.scope_mismatch(frame)) or "fetching is switched off"
    dt = metadata._dt_values(frame)
    assert dt is not None
    keys: list[pd.Index] = [_bucket_starts(dt, target).rename("dt")]
    keys += [frame.index.get_level_values(d) for d in kept]
    sums = [m for m in ids if m not in ratios]
    out = frame[sums].astype("float64").groupby(keys, sort=True).sum(min_count=1)
    for mid in ratios:
        out[mid] = np.nan
        warnings.warn(
            f"{mid} is a ratio/average and cannot be re-aggregated from these rows ({why}): "
            "it is left missing",
            IncompleteTotalsWarning,
            stacklevel=metadata.user_stacklevel(),
        )
    out = out[ids]
    measures = {}
    for mid in ids:
        entry = {k: v for k, v in entries[mid].items() if k in metadata.CATALOG_FIELDS}
        total = float(out[mid].sum()) if mid in sums and out[mid].notna().any() else None
        entry.update(primarySum=total, compareSum=None, percentDiff=None, success=True)
        measures[mid] = entry
    covered = metadata.covered_range(frame)
    new = {
        **{k: v for k, v in meta.items() if k not in ("scope", "compare", "measures")},
        "granularity": target,
        "dimensions": kept,
        "dateRange": {"start": covered[0].isoformat(), "end": covered[1].isoformat()}
        if covered
        else meta.get("dateRange"),
        "compareDateRange": None,
        "compare": None,
        "measures": measures,
        "regrouped": True,
    }
    return metadata.attach(out, new)
