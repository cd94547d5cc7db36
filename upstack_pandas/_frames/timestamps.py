"""ISO 8601 timestamps → ``datetime64[us]`` UTC, vectorised for the API's fixed format."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, cast

import numpy as np

__all__ = ["parse_timestamps"]
_US = 1_000_000


def parse_timestamps(values: Sequence[Any]) -> np.ndarray:
    """Parse ISO 8601 timestamps to ``datetime64[us]`` UTC (NaT where unparseable).

    The API writes every bucket as ``YYYY-MM-DDTHH:MM:SS±HH:MM``: those are parsed vectorised
    (the naive part with numpy's fixed-format parser, then the offset applied), about ten times
    faster than a general parser. Anything else goes through ``pd.to_datetime(format="ISO8601")``.
    """
    n = len(values)
    if n == 0:
        return np.empty(0, dtype="M8[us]")
    try:
        joined = "".join(values)
    except TypeError:  # None or numbers among the values
        joined = ""
    width = len(joined) // n
    if len(joined) == width * n and width in (20, 25) and joined.isascii():
        raw = np.frombuffer(joined.encode("ascii"), dtype=np.uint8).reshape(n, width)
        parsed = _parse_fixed(raw)
        if parsed is not None:
            return parsed
    return _parse_general(values)


def _parse_fixed(raw: np.ndarray) -> np.ndarray | None:
    width = raw.shape[1]
    if width == 20:
        if not (raw[:, 19] == ord("Z")).all():
            return None
        offset: np.ndarray | int = 0
    else:
        sign = raw[:, 19].astype(np.int32)
        hours = raw[:, 20].astype(np.int32) * 10 + raw[:, 21] - 528  # 528 = ord("0") * 11
        minutes = raw[:, 23].astype(np.int32) * 10 + raw[:, 24] - 528
        if not (
            ((sign == 43) | (sign == 45)).all()  # "+" or "-"
            and (raw[:, 22] == ord(":")).all()
            and 0 <= hours.min() <= hours.max() < 24
            and 0 <= minutes.min() <= minutes.max() < 60
        ):
            return None
        offset = (hours * 3600 + minutes * 60) * (44 - sign)  # "+" -> 1, "-" -> -1
    if not ((raw[:, 10] == ord("T")).all()):
        return None
    try:
        local = np.ascontiguousarray(raw[:, :19]).view("S19").ravel().astype("M8[s]")
    except ValueError:
        return None
    seconds = local.view(np.int64) - offset
    return (seconds * _US).view("M8[us]")


def _parse_general(values: Sequence[Any]) -> np.ndarray:
    import pandas as pd  # imported here: the fast path needs only numpy

    strings = [v if isinstance(v, str) else None for v in values]
    parsed = pd.DatetimeIndex(
        pd.to_datetime(cast(Any, strings), utc=True, format="ISO8601", errors="coerce")
    )
    return np.asarray(parsed.tz_localize(None).as_unit("us").to_numpy(), dtype="M8[us]")
