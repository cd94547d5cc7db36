"""The one reader pipeline every reader runs; the per-endpoint modules hold only what differs.

A read goes through the same steps whatever the endpoint:

1. the endpoint module validates and normalises its arguments into a request model
   (:mod:`upstack_pandas._query.models`), before anything is sent;
2. :class:`Read` resolves the client (the default client when none is given) and its catalog
   (kept on the client), then :meth:`Read.measures` resolves measure names to ids and checks
   dimensions and ``dtypes=`` against them, still before any request;
3. :meth:`Read.fetch` sends a request (through the client: its cache, retries and pacing) and
   decodes the body into columns, refusing a body without a ``results`` list; chunked and
   paginated reads call it once per window or page, :meth:`Read.progress_bar` counts them;
4. the endpoint module builds its frame from the decoded columns (:mod:`upstack_pandas._frames`);
5. :meth:`Read.finish` attaches ``attrs["upstack"]`` (:mod:`upstack_pandas.metadata`) from the
   requests sent and applies ``dtypes=``.

The execution knobs every reader shares (which client, whether to bypass the cache, whether to
show progress) are one :class:`ReadOptions`; the readers keep them as keyword arguments
(``client=``, ``refresh=``, ``progress=``), documented with the same words in each reader (a test
keeps the shared parameter descriptions identical).
"""

from __future__ import annotations

import datetime
import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import orjson
import pandas as pd

from upstack_pandas import _wire as wire
from upstack_pandas import metadata
from upstack_pandas._frames import backends
from upstack_pandas._frames import builders as frames
from upstack_pandas._frames import decode as _decode
from upstack_pandas._query.checks import (
    DateRange,
    check_dtypes,
    date_range,
    fail,
    range_body,
)
from upstack_pandas._query.dates import is_relative
from upstack_pandas._readers.progress import Progress, progress_enabled
from upstack_pandas.catalog import Catalog, get_catalog, resolve_client

if TYPE_CHECKING:
    from upstack_pandas._query.models import Query
    from upstack_pandas._transport.client import ApiResponse, Client

__all__ = [
    "DtypesArg",
    "Read",
    "ReadOptions",
    "concat",
    "query_frames_of",
    "query_spec_of",
    "server_range",
    "summed_details",
]

DtypesArg = Mapping[str, Any] | str | None


@dataclass(frozen=True)
class ReadOptions:
    """How a read is executed (not what it asks for): the knobs every reader shares.

    Parameters
    ----------
    client
        The client to use; the default client when None.
    refresh
        Bypass the client's cache and fetch again (the fresh responses are stored).
    progress
        Show a progress bar for multi-request work: ``True``/``False``, or None for the
        client's setting (``Client(progress=...)``), then ``UPSTACK_PANDAS_PROGRESS``, then
        "only in interactive sessions".
    """

    client: Client | None = None
    refresh: bool = False
    progress: bool | None = None


class Read:
    """One read in progress: its client and catalog, and every response it received.

    Thread-safe: chunked reads call :meth:`fetch` from several threads.
    """

    def __init__(self, options: ReadOptions) -> None:
        self.options = options
        self.client: Client = resolve_client(options.client)
        # one deadline for the whole call: every window and page (fake clients have none)
        deadline = getattr(self.client, "read_deadline_at", None)
        self.deadline_at: float | None = deadline() if callable(deadline) else None
        self.catalog: Catalog = get_catalog(self.client)
        self.responses: list[ApiResponse] = []
        self._lock = threading.Lock()

    def measures(
        self,
        names: Sequence[str],
        *,
        context: str,
        dtypes: DtypesArg = None,
        dimensions: Sequence[str] | None = None,
    ) -> tuple[str, ...]:
        """Measure ids for ``names`` in ``context``; checks ``dimensions`` and ``dtypes`` too."""
        check_dtypes(dtypes)
        ids = self.catalog.resolve(names, context=context) if names else ()
        if dimensions is not None:
            self.catalog.check_dimensions(dimensions, ids)
        if isinstance(dtypes, Mapping):
            unknown = [k for k in dtypes if k not in ids]
            if unknown:
                fail(
                    "dtypes",
                    f"dtypes names columns that are not measures asked for: {unknown}",
                    "name only the measure ids of this read",
                )
        return ids

    def send(self, path: str, body: Mapping[str, Any]) -> ApiResponse:
        """POST ``body`` to ``path`` through the client, and remember the response."""
        if self.deadline_at is None:
            response = self.client.post(path, body, refresh=self.options.refresh)
        else:
            response = self.client.post(
                path, body, refresh=self.options.refresh, deadline_at=self.deadline_at
            )
        with self._lock:
            self.responses.append(response)
        return response

    def fetch(
        self, path: str, body: Mapping[str, Any], spec: _decode.RowSpec
    ) -> tuple[ApiResponse, _decode.Decoded]:
        """Send one request and decode its body into the columns ``spec`` asks for."""
        response = self.send(path, body)
        return response, decode_response(response, spec)

    def progress_bar(self, total: int | None, desc: str, *, enabled: bool = True) -> Progress:
        """A progress bar for this read (silent unless the settings say show it)."""
        show = enabled and progress_enabled(
            self.options.progress, getattr(self.client, "progress", None)
        )
        return Progress(total, desc=desc, enabled=show)

    def finish(
        self,
        frame: pd.DataFrame,
        *,
        ids: Sequence[str],
        dtypes: DtypesArg,
        endpoint: str,
        request: Mapping[str, Any],
        timezone: str,
        granularity: str | None,
        dimensions: Sequence[str],
        date_range: DateRange | None,
        compare_range: DateRange | None,
        details: Mapping[str, wire.MeasureDetail],
        compare: pd.DataFrame | Mapping[str, str] | None = None,
        dtype_backend: str | None = None,
        scope: Mapping[str, Any] | None = None,
        attrs: bool = True,
        **extra: Any,
    ) -> pd.DataFrame:
        """Attach ``attrs["upstack"]`` to ``frame``; apply ``dtype_backend=``, then ``dtypes=``.

        ``compare`` is the compare frame, or already encoded (a memoised cache hit); ``scope``
        is the finished frame's scope when a memoised hit already knows it (computed otherwise).
        ``attrs=False`` (the library's own window reads): the same frame without ``attrs``; its
        metadata is built without the compare frame, only for the warnings, and no scope is
        computed.
        """
        responses = self.responses
        frame = backends.convert_frame(frame, dtype_backend)
        if not attrs:
            compare = None  # never encoded: nothing keeps it
        elif isinstance(compare, pd.DataFrame):  # an encoded compare decodes into the backend
            compare = backends.convert_frame(compare, dtype_backend)
        if dtype_backend is not None:
            extra["dtypeBackend"] = dtype_backend  # the compare frame is decoded back into it
        meta = metadata.build(
            endpoint=endpoint,
            request=request,
            fetched_at=min(r.fetched_at for r in responses) if responses else None,
            serverNow=max(r.fetched_at for r in responses) if responses else None,
            from_cache=bool(responses) and all(r.from_cache for r in responses),
            timezone=timezone,
            granularity=granularity,
            dimensions=dimensions,
            date_range=range_body(date_range) if date_range else None,
            compare_date_range=range_body(compare_range) if compare_range else None,
            measures={m: metadata.measure_entry(self.catalog.get(m), details.get(m)) for m in ids},
            compare=compare,
            **extra,
        )
        metadata.warn(meta)
        frame = apply_dtypes(frame, dtypes, ids)
        return metadata.attach(frame, meta, scope) if attrs else frame

    def today(self, timezone: str) -> datetime.date | None:
        """The server's date in ``timezone`` (decision D80), or None before any live response."""
        clock = getattr(self.client, "clock", None)
        return clock.today(timezone) if clock is not None and clock.known else None


def server_range(read: Read, start: Any, end: Any, timezone: str) -> DateRange | None:
    """The range on the server's clock (D80) when it depends on "today", once that is known.

    It depends on today without ``start`` and ``end`` (the last 30 days) and with a relative
    ``start`` or ``end`` (``"-7D"``, ``"mtd"``, ``"yesterday"``...). None when the range does
    not depend on today or no live response has told the server's time yet.
    """
    clock = getattr(read.client, "clock", None)
    if clock is None or not clock.known:
        return None
    relative = any(isinstance(v, str) and is_relative(v) for v in (start, end))
    if not relative and not (start is None and end is None):
        return None
    return date_range(start, end, timezone, now=clock.now())


def decode_response(
    response: ApiResponse, spec: _decode.RowSpec, shape: wire.Shape | None = None
) -> _decode.Decoded:
    """Decode an analytics response; ``TransportError`` unless it has the shape promised.

    Without a ``shape``: a ``results`` list of objects, each row an object with numbers or null.
    A refused body is dropped from the cache (``response.unexpected``).
    """
    try:
        decoded = _decode.decode(response.content, spec)
    except orjson.JSONDecodeError:
        response.json()  # raises the client's TransportError (and drops a cached copy)
        raise  # pragma: no cover - json() raised already
    if wire.results(decoded.body) is None:
        # never an empty frame standing in for an answer that did not come
        raise response.unexpected(f"expected a JSON object with a {wire.RESULTS!r} list of objects")
    problem = wire.shape_problem(shape or wire.Shape(required=()), _facts(decoded))
    quoted = wire.quoted_value(response.content, spec.floats) if problem is None else None
    if quoted is not None:
        problem = f"{quoted!r} has values that are neither numbers nor null (a string)"
    if problem is not None:
        raise response.unexpected(problem)
    return decoded


def _facts(decoded: _decode.Decoded) -> list[dict[str, wire.BlockFacts]]:
    """What the decoder saw of every data array, for :func:`upstack_pandas._wire.shape_problem`."""
    found = []
    for result in decoded.results:
        data = result.get(wire.DATA) or {}
        facts = {}
        for kind in wire.DATA_KINDS:
            block = data.get(kind)
            if isinstance(block, _decode.Block):
                missing, repeated = _dt_facts(block)
                facts[kind] = wire.BlockFacts(
                    array=block.array,
                    rows=block.n,
                    not_objects=block.not_objects,
                    not_numbers=block.not_numbers,
                    missing_dt=missing,
                    repeated_dt=repeated,
                )
        found.append(facts)
    return found


def _dt_facts(block: _decode.Block) -> tuple[int, int]:
    """(rows without a readable ``dt``, rows repeating another's ``dt``) of one block."""
    times = block.times.get(wire.DT)
    if times is not None:
        missing = int(np.isnat(times).sum())
        return missing, int(len(times) - missing - len(np.unique(times[~np.isnat(times)])))
    codes = block.codes.get(wire.DT)
    if codes is None or wire.DT not in block.coders:
        return 0, 0
    uniques = block.uniques(wire.DT)
    bad = {i for i, value in enumerate(uniques) if not isinstance(value, str) or not value}
    missing = int(np.isin(codes, list(bad)).sum()) if bad else 0
    return missing, 0  # with dimensions a bucket repeats once per combination


def query_spec_of(query: Query) -> _decode.RowSpec:
    """What to decode from each data point of a ``/query`` body for ``query``."""
    return frames.query_spec(query.measures, query.dimensions, query.granularity)


def query_frames_of(query: Query, decoded: _decode.Decoded) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The primary and compare frames of a decoded ``/query`` body, shaped as ``query`` asks."""
    return frames.query_frames(
        decoded,
        measures=query.measures,
        dimensions=query.dimensions,
        granularity=query.granularity,
        timezone=query.timezone,
    )


def first_details(decoded: _decode.Decoded) -> dict[str, wire.MeasureDetail]:
    """The first result's per-measure details (``/query`` and cohorts send one result)."""
    results = decoded.results
    return wire.measure_details(results[0] if results else None)


def apply_dtypes(frame: pd.DataFrame, dtypes: DtypesArg, measures: Sequence[str]) -> pd.DataFrame:
    """Apply a ``dtypes=`` override (a mapping, or one dtype for every measure column)."""
    if dtypes is None or (frame.empty and not len(frame.columns)):
        return frame
    mapping = dict(dtypes) if isinstance(dtypes, Mapping) else dict.fromkeys(measures, dtypes)
    attrs = frame.attrs
    frame = frame.astype(mapping)
    frame.attrs = attrs
    return frame


def summed_details(
    results: Sequence[Mapping[str, Any]], ids: Sequence[str]
) -> dict[str, wire.MeasureDetail]:
    """Whole-frame details when each result has its own (attribution values, channel entities).

    Sums of additive measures add up; averages and ratios do not, so they are left out.
    """
    totals: dict[str, wire.MeasureDetail] = {}
    for result in results:
        for mid, detail in wire.measure_details(result).items():
            total = totals.get(mid)
            if total is None:
                total = totals[mid] = wire.MeasureDetail(
                    success=True,
                    is_average=detail.is_average,
                    is_percentage=detail.is_percentage,
                    calculated_average=detail.calculated_average,
                    preferred_trend_direction=detail.preferred_trend_direction,
                )
            total.success = total.success and detail.success is not False
            total.has_pacing = total.has_pacing or bool(detail.has_pacing)
            if detail.is_average:
                continue
            for attr in ("primary_sum", "compare_sum"):
                value = getattr(detail, attr)
                if isinstance(value, int | float):
                    setattr(total, attr, (getattr(total, attr) or 0.0) + value)
    for total in totals.values():
        primary, compare = total.primary_sum, total.compare_sum
        if isinstance(primary, float) and isinstance(compare, float) and compare:
            total.percent_diff = (primary - compare) / abs(compare) * 100.0
    return {m: totals[m] for m in ids if m in totals}


def concat(parts: Sequence[pd.DataFrame]) -> pd.DataFrame:
    """The frames of several requests (windows, pages, models) as one frame."""
    non_empty = [p for p in parts if len(p)] or list(parts[:1])
    return non_empty[0] if len(non_empty) == 1 else pd.concat(non_empty)
