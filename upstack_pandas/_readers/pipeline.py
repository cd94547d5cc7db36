"""What the readers share: parameter docs written once, decoding, dtypes, metadata helpers."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

import orjson
import pandas as pd

from upstack_pandas import metadata
from upstack_pandas._frames import decode as _decode
from upstack_pandas._query.checks import DateRange, range_body
from upstack_pandas.catalog import Catalog

if TYPE_CHECKING:
    from upstack_pandas._transport.client import ApiResponse

DtypesArg = Mapping[str, Any] | str | None

#: Parameter docs shared by the readers, written once and substituted into their docstrings.
_PARAMS = {
    "start_end": """start, end : str, date, datetime or Timestamp, optional
    First and last day, inclusive, in the query timezone (``"2026-04-01"``,
    ``datetime.date(2026, 4, 1)``...). Defaults: the last 30 days, ending today.""",
    "filters": """filters : dict or list of dict, optional
    Canonical filter: ``{"field": "orders.customer_type", "op": "equals", "value":
    "new_customer"}``, ``{"and": [...]}`` or ``{"or": [...]}``; a list means ``and``. See
    :func:`upstack_pandas.filters` for the fields and their operators.""",
    "compare": """compare : bool or (start, end), default {default}
    ``True``: also fetch the preceding period of equal length; ``False``: no compare period;
    a ``(start, end)`` pair: that period (it must not overlap the date range). The compare
    frame is ``df.upstack.compare``.""",
    "timezone": """timezone : str, optional
    IANA timezone the dates and buckets are in (default ``"UTC"``); the index is tz-aware in
    it.""",
    "dtypes": """dtypes : dict or dtype, optional
    Override the documented dtypes (``float64`` per measure): ``{"orders.orders": "Int64"}``,
    or one dtype for every measure column.""",
    "client": """client : Client, optional
    The client to use; the default client (``upstack_pandas.get_default_client()``) when
    omitted.""",
    "refresh": """refresh : bool, default False
    Bypass the client's cache and fetch again.""",
    "progress": """progress : bool, optional
    Show a progress bar for multi-request work; by default only in interactive sessions.""",
    "raises": """Raises
------
ValueError, TypeError
    For invalid arguments (unknown measure names list the closest catalog ids), before any
    request is sent.
upstack_pandas.UpstackError
    When the API refuses the request or cannot be reached.""",
}


def fill_doc(template: str, **values: str) -> str:
    """Fill ``%name%`` markers (each alone on its line) with the shared parameter docs."""

    def fill(match: re.Match[str]) -> str:
        indent, key = match.group(1), match.group(2)
        text = _PARAMS[key]
        for name, value in values.items():
            text = text.replace("{" + name + "}", value)
        return "\n".join(indent + line if line else line for line in text.splitlines())

    return re.sub(r"^( *)%(\w+)%$", fill, template, flags=re.MULTILINE)


def decode_response(response: ApiResponse, spec: _decode.RowSpec) -> _decode.Decoded:
    """Decode an analytics response; ``TransportError`` unless it has a ``results`` list."""
    try:
        decoded = _decode.decode(response.content, spec)
    except orjson.JSONDecodeError:
        response.json()  # raises the client's TransportError (and drops a cached copy)
        raise  # pragma: no cover - json() raised already
    results = decoded.body.get("results") if isinstance(decoded.body, dict) else None
    if not isinstance(results, list) or not all(isinstance(r, dict) for r in results):
        # never an empty frame standing in for an answer that did not come
        raise response.unexpected("expected a JSON object with a 'results' list of objects")
    return decoded


def result_details(decoded: _decode.Decoded) -> dict[str, dict[str, Any]]:
    """The first result's ``measureDetails`` by measure id (``/query`` and cohorts send one)."""
    results = decoded.results
    return metadata.details_by_measure(results[0].get("measureDetails") if results else None)


def check_dtypes(dtypes: DtypesArg, measures: Sequence[str]) -> None:
    if isinstance(dtypes, Mapping):
        unknown = [k for k in dtypes if k not in measures]
        if unknown:
            raise ValueError(f"dtypes names columns that are not measures asked for: {unknown}")


def apply_dtypes(frame: pd.DataFrame, dtypes: DtypesArg, measures: Sequence[str]) -> pd.DataFrame:
    """Apply a ``dtypes=`` override (a mapping, or one dtype for every measure column)."""
    if dtypes is None or (frame.empty and not len(frame.columns)):
        return frame
    mapping = dict(dtypes) if isinstance(dtypes, Mapping) else dict.fromkeys(measures, dtypes)
    attrs = frame.attrs
    frame = frame.astype(mapping)
    frame.attrs = attrs
    return frame


def entries(
    catalog: Catalog, ids: Sequence[str], details: Mapping[str, Mapping[str, Any]]
) -> dict[str, Any]:
    return {m: metadata.measure_entry(catalog.get(m), details.get(m)) for m in ids}


def summed_details(
    results: Sequence[Mapping[str, Any]], ids: Sequence[str]
) -> dict[str, dict[str, Any]]:
    """Whole-frame details when each result has its own (attribution values, channel entities).

    Sums of additive measures add up; averages and ratios do not, so they are left out.
    """
    totals: dict[str, dict[str, Any]] = {}
    for result in results:
        for mid, detail in metadata.details_by_measure(result.get("measureDetails")).items():
            entry = totals.setdefault(mid, {"success": True})
            entry["success"] = entry["success"] and detail.get("success") is not False
            entry["hasPacing"] = entry.get("hasPacing") or bool(detail.get("hasPacing"))
            for key in (
                "isAverage",
                "isPercentage",
                "calculatedAverage",
                "preferredTrendDirection",
            ):
                entry.setdefault(key, detail.get(key))
            if detail.get("isAverage"):
                continue
            for key in ("primarySum", "compareSum"):
                value = detail.get(key)
                if isinstance(value, int | float):
                    entry[key] = entry.get(key, 0.0) + value
    for entry in totals.values():
        primary, compare = entry.get("primarySum"), entry.get("compareSum")
        if isinstance(primary, float) and isinstance(compare, float) and compare:
            entry["percentDiff"] = (primary - compare) / abs(compare) * 100.0
    return {m: totals[m] for m in ids if m in totals}


def concat(parts: Sequence[pd.DataFrame]) -> pd.DataFrame:
    non_empty = [p for p in parts if len(p)] or list(parts[:1])
    return non_empty[0] if len(non_empty) == 1 else pd.concat(non_empty)


def range_json(range_: DateRange | None) -> dict[str, str] | None:
    return range_body(range_) if range_ else None
