"""What a dataset holds and which windows a sync must fetch.

A dataset answers one request (:class:`DatasetRequest`: measures, granularity, dimensions,
filters, timezone, order settings) for several pixels over calendar-month windows. Its
fingerprint (a hash of that request) is stored with the dataset and with every window, so a
sync with another request is detected before anything is fetched. The date range and the
pixels are not part of the fingerprint: a later sync may extend either.

A window is *settled* when its last day is more than ``settle_days`` days before ``as_of``
(data that old no longer changes), else *provisional*; a re-run fetches the windows that are
missing, provisional, of another request, or narrower than the new plan, and skips the rest.
"""

from __future__ import annotations

import datetime as _dt
import hashlib
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import orjson

__all__ = [
    "DEFAULT_SETTLE_DAYS",
    "SYNC_GRANULARITIES",
    "DatasetRequest",
    "Window",
    "check_pixel_id",
    "is_settled",
    "month_windows",
    "needs_fetch",
    "plan_windows",
    "reader_dtypes",
]

#: Granularities a dataset can hold: every bucket falls inside one calendar month.
SYNC_GRANULARITIES = ("second", "minute", "hour", "day", "month")
#: Days after which a window's data is taken as final (late orders, refunds, attribution).
DEFAULT_SETTLE_DAYS = 3
_PIXEL_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")


@dataclass(frozen=True)
class DatasetRequest:
    """The request a dataset answers (measures as catalog ids, in column order)."""

    measures: tuple[str, ...]
    granularity: str
    dimensions: tuple[str, ...] = ()
    filters: dict[str, Any] | None = None
    timezone: str = "UTC"
    order_settings: dict[str, Any] | None = None

    def to_json(self) -> dict[str, Any]:
        """The request as stored in ``_upstack/dataset.json``."""
        return {
            "measures": list(self.measures),
            "granularity": self.granularity,
            "dimensions": list(self.dimensions),
            "filters": self.filters,
            "timezone": self.timezone,
            "orderSettings": self.order_settings,
        }

    @classmethod
    def from_json(cls, body: Mapping[str, Any]) -> DatasetRequest:
        """The request stored by :meth:`to_json`."""
        return cls(
            measures=tuple(body["measures"]),
            granularity=str(body["granularity"]),
            dimensions=tuple(body.get("dimensions") or ()),
            filters=body.get("filters"),
            timezone=str(body.get("timezone") or "UTC"),
            order_settings=body.get("orderSettings"),
        )

    @property
    def fingerprint(self) -> str:
        """A short hash of the request (sorted-key JSON): equal requests, equal fingerprints."""
        raw = orjson.dumps(self.to_json(), option=orjson.OPT_SORT_KEYS)
        return hashlib.sha256(raw).hexdigest()[:16]

    def differences(self, other: DatasetRequest) -> list[str]:
        """The fields in which ``other`` differs, as ``"name: stored -> new"`` lines."""
        mine, theirs = self.to_json(), other.to_json()
        return [f"{k}: {mine[k]!r} -> {theirs[k]!r}" for k in mine if mine[k] != theirs[k]]

    def reader_kwargs(self) -> dict[str, Any]:
        """Keyword arguments of ``read_upstack`` for one window of this request."""
        return {
            "granularity": self.granularity,
            "dimensions": list(self.dimensions) or None,
            "filters": self.filters,
            "timezone": self.timezone,
            "order_settings": self.order_settings,
            "compare": False,
        }


@dataclass(frozen=True)
class Window:
    """One partition: a pixel's calendar month (or the part of it inside the range)."""

    pixel_id: str
    period: str
    start: _dt.date
    end: _dt.date


def reader_dtypes(request: DatasetRequest, *, pixel: bool) -> dict[str, Any]:
    """The pandas reader's dtypes of a dataset's columns: ``dt``, ``pixel``, dimensions, measures.

    The one place the datasets and the Dask reader take their dtypes from, so that a frame read
    back from parquet (stored at ``us``) matches :func:`upstack_pandas.read_upstack` on every
    pandas: ``datetime64[us, <tz>]`` on pandas 3, ``datetime64[ns, <tz>]`` on pandas 2.2.

    Parameters
    ----------
    request : DatasetRequest
    pixel : bool
        Include the ``pixel`` column (text, as the dimensions).

    Returns
    -------
    dict
        Column name to dtype, in the order ``dt``, ``pixel``, dimensions, measures.
    """
    from upstack_pandas._frames.builders import resolve_dtype

    text = resolve_dtype("dimension")
    dtypes: dict[str, Any] = {"dt": resolve_dtype("dt", request.timezone)}
    if pixel:
        dtypes["pixel"] = text
    dtypes.update(dict.fromkeys(request.dimensions, text))
    dtypes.update(dict.fromkeys(request.measures, resolve_dtype("measure")))
    return dtypes


def check_pixel_id(pixel_id: str) -> str:
    """Return ``pixel_id`` when it can name a partition directory (``pixel=<id>``)."""
    if not _PIXEL_RE.match(pixel_id):
        raise ValueError(
            f"pixel id {pixel_id!r} cannot name a partition directory: use letters, digits, "
            "'.', '_' and '-' only"
        )
    return pixel_id


def month_windows(start: _dt.date, end: _dt.date) -> list[tuple[str, _dt.date, _dt.date]]:
    """``(period, first day, last day)`` of each calendar month of ``start..end`` (clipped)."""
    out: list[tuple[str, _dt.date, _dt.date]] = []
    cur = start
    while cur <= end:
        nxt = _dt.date(cur.year + cur.month // 12, cur.month % 12 + 1, 1)
        last = min(nxt - _dt.timedelta(days=1), end)
        out.append((f"{cur.year:04d}-{cur.month:02d}", cur, last))
        cur = nxt
    return out


def is_settled(end: _dt.date, as_of: _dt.date, settle_days: int) -> bool:
    """Whether a window ending on ``end`` lies entirely before the settle window of ``as_of``."""
    return end < as_of - _dt.timedelta(days=settle_days)


def needs_fetch(entry: Mapping[str, Any] | None, window: Window, fingerprint: str) -> str | None:
    """Why ``window`` must be fetched given its manifest ``entry``, or None to skip it.

    Returns
    -------
    str or None
        ``"missing"``, ``"provisional"``, ``"request changed"`` or ``"range grew"``.
    """
    if entry is None:
        return "missing"
    if entry.get("fingerprint") != fingerprint:
        return "request changed"
    if entry.get("status") != "settled":
        return "provisional"
    stored = (_dt.date.fromisoformat(entry["start"]), _dt.date.fromisoformat(entry["end"]))
    if stored[0] > window.start or stored[1] < window.end:
        return "range grew"
    return None


def plan_windows(pixel_ids: Sequence[str], start: _dt.date, end: _dt.date) -> list[Window]:
    """Every window of every pixel, window-major (so the pixels advance together)."""
    months = month_windows(start, end)
    return [Window(p, period, lo, hi) for period, lo, hi in months for p in pixel_ids]
