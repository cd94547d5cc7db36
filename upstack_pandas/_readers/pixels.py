"""``profiles=`` on the readers: one read per pixel, concatenated with ``pixel`` outermost.

Every reader (``read_upstack``, ``read_attribution``, ``read_cohorts``,
``read_channel_details``) hands a ``profiles=`` call to :func:`read_pixels`, which

1. refuses ``profiles=`` together with ``client=`` and checks the names (before any request);
2. opens one ``Client(profile=name)`` per profile (cached, as the default client is), all of
   them before the first request, so a missing or broken profile fails before anything is sent;
3. runs the reader once per pixel, in a small thread pool when there are several;
4. closes the clients, and concatenates the frames with ``pixel`` (the pixel id, with the
   dtype of the dimension levels, as :func:`upstack_pandas.read_dataset` has it) as the
   outermost index level;
5. merges the metadata so that it describes the rows of the frame: the request without its
   ``pixelId``, ``pixels`` (per pixel: profile, range, fetch time), sums added across pixels,
   averages and ratios left missing (decision D91), the compare frames concatenated the same
   way.

One pixel failing raises :class:`PixelReadError` (decision D92): it names the profiles that
failed (never a key), chains the first failure, and keeps the pixels that were read in
``partial``.
"""

from __future__ import annotations

import concurrent.futures
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

import pandas as pd

from upstack_pandas import metadata
from upstack_pandas._errors import UpstackError, ValidationError
from upstack_pandas._frames import backends
from upstack_pandas._frames.builders import resolve_dtype
from upstack_pandas._profiles import ProfilesArg, normalise_profiles

if TYPE_CHECKING:
    from upstack_pandas._transport.client import Client

__all__ = ["MAX_PIXEL_WORKERS", "PIXEL_LEVEL", "PixelReadError", "read_pixels"]

#: The name of the outermost index level of a multi-pixel frame (as ``read_dataset`` has it).
PIXEL_LEVEL = "pixel"
#: Pixels read at once (each pixel's own chunked reads keep their ``max_workers=``).
MAX_PIXEL_WORKERS = 4
#: Per-response details that add up across pixels (when every pixel sent a number).
_SUMS = ("primarySum", "compareSum", "pacedSum")
#: Per-response details that do not: averages and ratios of each pixel's own rows.
_NOT_ADDITIVE = ("primaryAvg", "compareAvg", "calculatedAverage")


class PixelReadError(UpstackError):
    """A read over several profiles where at least one pixel failed.

    Parameters
    ----------
    message : str
        Which profiles failed, and the first failure.
    errors : mapping of str to Exception
        Each failed profile's own error (typed, redacted: a ``ValidationError``,
        ``AuthenticationError``...).
    partial : pandas.DataFrame or None
        The pixels that were read, concatenated as a full read would be (``None`` when every
        pixel failed).
    """

    def __init__(
        self,
        message: str,
        *,
        errors: Mapping[str, BaseException],
        partial: pd.DataFrame | None,
    ) -> None:
        super().__init__(message, hint="the other pixels' frame is in .partial")
        self.failures: dict[str, BaseException] = dict(errors)
        self.profiles: list[str] = list(errors)
        self.partial = partial


def read_pixels(
    reader: Callable[..., pd.DataFrame], profiles: ProfilesArg, arguments: Mapping[str, Any]
) -> pd.DataFrame:
    """Run ``reader`` once per profile and concatenate the frames with ``pixel`` outermost.

    Parameters
    ----------
    reader : callable
        The public reader (called with ``client=`` of each profile and ``profiles=None``).
    profiles : str or list of str
        Profile names (see :func:`upstack_pandas.profiles`).
    arguments : mapping
        The reader's own arguments (its ``locals()`` on entry), ``client`` and ``profiles``
        included.

    Returns
    -------
    pandas.DataFrame
        Index ``(pixel, *the reader's levels)``; the reader's columns and dtypes.

    Raises
    ------
    upstack_pandas.ValidationError
        When ``client=`` is given too, before any request.
    TypeError, ValueError
        For profile names that are not a name or a list of distinct names.
    upstack_pandas.ConfigurationError
        When a profile cannot be resolved (before any request).
    PixelReadError
        When at least one pixel's read fails.
    """
    from upstack_pandas._transport.client import Client

    if arguments.get("client") is not None:
        raise ValidationError(
            "give profiles= or client=, not both",
            parameter="profiles",
            hint="profiles= opens one client per profile; pass client= for a single pixel",
        )
    names = [n for n in normalise_profiles(profiles) if n is not None]
    kwargs = {k: v for k, v in arguments.items() if k not in ("client", "profiles")}
    clients: list[Client] = []
    try:
        for name in names:
            clients.append(Client(profile=name))
        pixel_ids = [c.pixel_id for c in clients]
        repeated = sorted({p for p in pixel_ids if pixel_ids.count(p) > 1})
        if repeated:
            raise ValidationError(
                f"two of the profiles are the same pixel ({', '.join(repeated)})",
                parameter="profiles",
            )
        results = _run(reader, kwargs, names, clients)
    finally:
        for client in clients:
            client.close()
    frames = {name: r for name, r in results.items() if isinstance(r, pd.DataFrame)}
    failed = {name: r for name, r in results.items() if not isinstance(r, pd.DataFrame)}
    by_name = dict(zip(names, pixel_ids, strict=True))
    backend = arguments.get("dtype_backend")
    combined = combine(frames, {n: by_name[n] for n in frames}, backend=backend) if frames else None
    if failed:
        first = next(iter(failed.values()))
        listed = ", ".join(f"{n} (pixel {by_name[n]})" for n in failed)
        raise PixelReadError(
            f"{len(failed)} of {len(names)} profiles failed: {listed}; first: "
            f"{type(first).__name__}: {str(first).splitlines()[0]}",
            errors=failed,
            partial=combined,
        ) from first
    assert combined is not None  # every profile gave a frame
    return combined


def _run(
    reader: Callable[..., pd.DataFrame],
    kwargs: Mapping[str, Any],
    names: Sequence[str],
    clients: Sequence[Client],
) -> dict[str, pd.DataFrame | BaseException]:
    """Each profile's frame, or its error, in the order of ``names``."""

    def one(client: Client) -> pd.DataFrame | BaseException:
        try:
            return reader(**kwargs, client=client)
        except Exception as exc:  # kept per pixel; raised together by the caller
            return exc

    if len(clients) == 1:
        return {names[0]: one(clients[0])}
    workers = min(MAX_PIXEL_WORKERS, len(clients))
    with concurrent.futures.ThreadPoolExecutor(workers, thread_name_prefix="upstack-pixel") as pool:
        found = list(pool.map(one, clients))
    return dict(zip(names, found, strict=True))


def combine(
    frames: Mapping[str, pd.DataFrame], pixels: Mapping[str, str], *, backend: str | None = None
) -> pd.DataFrame:
    """Concatenate per-profile frames with ``pixel`` outermost; merge their metadata.

    Parameters
    ----------
    frames : mapping of profile name to DataFrame
        Reader frames, attrs intact, in pixel order.
    pixels : mapping of profile name to pixel id
    backend : str, optional
        The read's ``dtype_backend=`` (the pixel level follows it).

    Returns
    -------
    pandas.DataFrame
    """
    names = list(frames)
    metas = [metadata.get(frames[n]) or {} for n in names]
    frame = concat_pixels([frames[n] for n in names], [pixels[n] for n in names], backend)
    if not any(metas):
        return frame
    compares = [metadata.compare_frame(frames[n]) for n in names]
    compare = None
    if all(c is not None for c in compares):
        compare = concat_pixels(
            [c for c in compares if c is not None], [pixels[n] for n in names], backend
        )
    merged = merge_metadata(metas, [pixels[n] for n in names], names)
    merged["compare"] = metadata.encode_frame(compare) if compare is not None else None
    return metadata.attach(frame, merged)


def concat_pixels(
    frames: Sequence[pd.DataFrame], pixel_ids: Sequence[str], backend: str | None = None
) -> pd.DataFrame:
    """``frames`` as one frame, ``pixel`` the outermost index level (attrs dropped).

    A frame whose only index is an unnamed ``RangeIndex`` (granularity ``"none"`` without
    dimensions) gives an index of ``pixel`` alone.
    """
    parts = []
    for part in frames:
        part = part.copy(deep=False)
        part.attrs = {}
        parts.append(part)
    plain = all(p.index.nlevels == 1 and p.index.name is None for p in parts)
    if plain:
        counts = [len(p) for p in parts]
        joined = pd.concat(parts, ignore_index=True)
        level = pd.Index(
            [pid for pid, n in zip(pixel_ids, counts, strict=True) for _ in range(n)],
            dtype=resolve_dtype("dimension"),
            name=PIXEL_LEVEL,
        )
        joined.index = level
    else:
        joined = pd.concat(parts, keys=list(pixel_ids), names=[PIXEL_LEVEL])
        index = joined.index
        assert isinstance(index, pd.MultiIndex)
        level = index.levels[0].astype(resolve_dtype("dimension"))
        joined.index = index.set_levels(level, level=0)
    return backends.convert_frame(joined, backend) if backend else joined


def merge_metadata(
    metas: Sequence[Mapping[str, Any]], pixel_ids: Sequence[str], names: Sequence[str]
) -> dict[str, Any]:
    """One ``attrs["upstack"]`` for the rows of several pixels' reads of one request."""
    merged = {k: v for k, v in metas[0].items() if k != "scope"}
    request = dict(merged.get("request") or {})
    request.pop("pixelId", None)
    merged["request"] = request
    merged["pixels"] = [
        {
            "pixel": pid,
            "profile": name,
            "fetchedAt": meta.get("fetchedAt"),
            "fromCache": meta.get("fromCache"),
            "dateRange": meta.get("dateRange"),
        }
        for pid, name, meta in zip(pixel_ids, names, metas, strict=True)
    ]
    fetched = [m["fetchedAt"] for m in metas if m.get("fetchedAt")]
    merged["fetchedAt"] = min(fetched) if fetched else None
    now = [m["serverNow"] for m in metas if m.get("serverNow")]
    if now:
        merged["serverNow"] = max(now)
    merged["fromCache"] = all(bool(m.get("fromCache")) for m in metas)
    for key in ("dateRange", "compareDateRange"):
        merged[key] = _union_range([m.get(key) for m in metas])
    measures: dict[str, Any] = {}
    for mid, first in (merged.get("measures") or {}).items():
        entries = [(m.get("measures") or {}).get(mid) or {} for m in metas]
        measures[mid] = _merge_entry(first, entries)
    merged["measures"] = measures
    return merged


def _merge_entry(first: Mapping[str, Any], entries: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """A measure's entry across pixels: sums added, averages and ratios missing (D91)."""
    entry = dict(first)
    additive = not first.get("isAverage") and not first.get("isPercentage")
    for key in _SUMS:
        if key not in entry:
            continue
        values = [e.get(key) for e in entries]
        numbers = all(isinstance(v, int | float) and not isinstance(v, bool) for v in values)
        entry[key] = (
            sum(float(v) for v in values if v is not None) if additive and numbers else None
        )
    for key in _NOT_ADDITIVE:
        if key in entry:
            entry[key] = None
    primary, compare = entry.get("primarySum"), entry.get("compareSum")
    entry["percentDiff"] = (
        (primary - compare) / abs(compare) * 100.0
        if isinstance(primary, float) and isinstance(compare, float) and compare
        else None
    )
    entry["success"] = all(e.get("success") is not False for e in entries)
    entry["hasPacing"] = any(bool(e.get("hasPacing")) for e in entries)
    messages = sorted({str(e["message"]) for e in entries if e.get("message")})
    if messages:
        entry["message"] = "; ".join(messages)
    return entry


def _union_range(ranges: Sequence[Any]) -> dict[str, Any] | None:
    """The smallest range holding every pixel's range (None when none has one)."""
    found = [r for r in ranges if isinstance(r, Mapping) and r.get("start") and r.get("end")]
    if not found:
        return None
    if all(dict(r) == dict(found[0]) for r in found):
        return dict(found[0])
    return {"start": min(r["start"] for r in found), "end": max(r["end"] for r in found)}
