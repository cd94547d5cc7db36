"""Shared pieces of the synthetic data generator: clock units, distributions, column builders."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa

US_PER_HOUR = 3_600_000_000
US_PER_DAY = 24 * US_PER_HOUR

# relative order volume by UTC hour (US shoppers: evening peak around 00-03 UTC)
# fmt: off
HOURLY = np.array([8, 7, 6, 5, 3.5, 2.5, 1.8, 1.4, 1.2, 1.3, 1.8, 2.6,
                   3.4, 4.2, 4.8, 5.1, 5.2, 5.3, 5.4, 5.7, 6.2, 6.8, 7.4, 7.9])
# fmt: on
HOURLY = HOURLY / HOURLY.sum()

COUNTRIES = (["US", "CA", "GB", "AU", "DE", "FR"], [0.62, 0.1, 0.1, 0.07, 0.06, 0.05])
DEVICES = (["mobile", "desktop", "tablet"], [0.62, 0.33, 0.05])


def times(rng: np.random.Generator, day: np.ndarray) -> np.ndarray:
    """Random UTC instants (µs) on the given days, following the hourly shopping profile."""
    hour = rng.choice(24, len(day), p=HOURLY)
    return np.asarray(
        day * US_PER_DAY + hour * US_PER_HOUR + rng.integers(0, US_PER_HOUR, len(day)),
        dtype=np.int64,
    )


def group_cumsum(values: np.ndarray, counts: np.ndarray) -> np.ndarray:
    """Cumulative sums restarting at each group of ``counts`` consecutive values."""
    total = np.cumsum(values)
    starts = (np.cumsum(counts) - counts)[counts > 0]
    before = total[starts] - values[starts]
    return np.asarray(total - np.repeat(before, counts[counts > 0]), dtype=np.float64)


def time_order(ts: np.ndarray, key: np.ndarray) -> np.ndarray:
    """The permutation ``np.lexsort((key, ts))`` gives (by ``ts``, then ``key``, then position).

    One ``argsort`` of ``ts`` (several times faster than the two-key lexsort on millions of
    rows), then only the runs of equal ``ts`` (a few, at microsecond resolution) are re-sorted
    by ``key`` and position, so the result is exactly lexsort's.
    """
    order = np.argsort(ts)
    if len(order) < 2:
        return order
    sorted_ts = ts[order]
    tie = sorted_ts[1:] == sorted_ts[:-1]
    if tie.any():
        in_run = np.zeros(len(order), dtype=bool)
        in_run[1:] |= tie
        in_run[:-1] |= tie
        pos = np.flatnonzero(in_run)
        run = np.cumsum(np.r_[True, ~tie])[pos]  # which run of equal ts each position is in
        sub = order[pos]
        order[pos] = sub[np.lexsort((sub, key[sub], run))]
    return order


def dense_unique(values: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``np.unique(values, return_index=True, return_inverse=True)`` for small non-negative ints.

    Counting instead of sorting (values index a table as long as the largest value), so it is
    linear: the sorted unique values, the position of each one's first occurrence, and each
    value's code (its index among the unique values).
    """
    values = np.asarray(values, dtype=np.int64)
    if not len(values):
        empty = np.zeros(0, dtype=np.int64)
        return empty, empty, empty
    present = np.zeros(int(values.max()) + 1, dtype=bool)
    present[values] = True
    unique = np.flatnonzero(present)
    codes = (np.cumsum(present, dtype=np.int64) - 1)[values]
    first = np.full(len(unique), len(values), dtype=np.int64)
    np.minimum.at(first, codes, np.arange(len(values), dtype=np.int64))
    return unique, first, codes


def cents(values: np.ndarray | float) -> np.ndarray:
    """Round money to whole cents."""
    return np.round(np.asarray(values, dtype=np.float64), 2)


_PANDAS_MAJOR = int(pd.__version__.split(".")[0])


def utc_index(us: np.ndarray) -> pd.DatetimeIndex:
    """Microseconds since the epoch as a tz-aware UTC ``DatetimeIndex``."""
    return pd.DatetimeIndex(np.asarray(us, dtype=np.int64).astype("datetime64[us]")).tz_localize(
        "UTC"
    )


def id_bytes(prefix: str, numbers: np.ndarray, width: int) -> np.ndarray:
    """``prefix`` + zero-padded ``numbers`` as fixed-width bytes, built with integer arithmetic.

    The same text as ``prefix + str(n).zfill(width)``, without a Python string per value (numbers
    wider than ``width`` take the per-value route).
    """
    numbers = np.asarray(numbers, dtype=np.int64)
    if len(numbers) and (int(numbers.max()) >= 10**width or int(numbers.min()) < 0):
        # wider than ``width`` (zfill pads, never truncates): one string per value
        text = prefix + pd.Series(numbers).astype(str).str.zfill(width)
        return np.asarray(text.str.encode("ascii").to_numpy(), dtype=np.bytes_)
    digits = width
    head = np.frombuffer(prefix.encode("ascii"), dtype=np.uint8)
    out = np.empty((len(numbers), len(head) + digits), dtype=np.uint8)
    out[:, : len(head)] = head
    rest = numbers.copy()
    for column in range(out.shape[1] - 1, len(head) - 1, -1):  # one pass per digit
        out[:, column] = rest % 10 + 48
        rest //= 10
    return out.view(f"S{out.shape[1]}").ravel()


def fixed_width_strings(values: np.ndarray) -> pa.Array:
    """An Arrow string array of ASCII fixed-width bytes (``S8``...), without a copy per value."""
    values = np.ascontiguousarray(values)
    width = values.dtype.itemsize
    if (
        not len(values)
        or len(values) * width >= 2**31  # beyond 32-bit offsets
        or not values.view(np.uint8).reshape(len(values), width)[:, -1].all()  # padded: ragged
    ):
        return pa.array(values, type=pa.binary()).cast(pa.string())
    offsets = np.arange(0, (len(values) + 1) * width, width, dtype=np.int32)
    return pa.StringArray.from_buffers(
        len(values), pa.py_buffer(offsets), pa.py_buffer(values.view(np.uint8))
    )


def id_strings(prefix: str, numbers: np.ndarray, width: int) -> pa.Array:
    """``prefix`` + zero-padded ``numbers`` as an Arrow string array, of any width.

    The text of ``prefix + str(n).zfill(width)`` for non-negative ``numbers``. Numbers as wide
    as ``width`` give fixed-width bytes (:func:`id_bytes`); wider ones (``#1000001`` after
    ``#999999``) are built one block per digit count, each with integer arithmetic, into one
    string buffer, so no Python string is made per value (negative numbers take that route).

    Parameters
    ----------
    prefix
        ASCII text before the digits.
    numbers
        The numbers.
    width
        Digits at least (zero-padded).

    Returns
    -------
    pyarrow.Array
        A ``string`` array (``large_string`` beyond 32-bit offsets).
    """
    numbers = np.asarray(numbers, dtype=np.int64)
    if not len(numbers) or int(numbers.max()) < 10**width or int(numbers.min()) < 0:
        # as wide as ``width``, or negative (zfill pads after the sign): :func:`id_bytes`
        return fixed_width_strings(id_bytes(prefix, numbers, width))
    digits = np.full(len(numbers), width, dtype=np.int64)
    for wider in range(width, 19):  # one pass per digit count beyond the width
        digits += numbers >= 10**wider
    head = len(prefix.encode("ascii"))
    offsets = np.zeros(len(numbers) + 1, dtype=np.int64)
    np.cumsum(digits + head, out=offsets[1:])
    text = np.empty(int(offsets[-1]), dtype=np.uint8)
    for count in np.unique(digits):  # a few: the widths present
        rows = np.flatnonzero(digits == count)
        block = id_bytes(prefix, numbers[rows], int(count)).view(np.uint8)
        first, last = int(rows[0]), int(rows[-1])
        if last - first + 1 == len(rows):  # consecutive rows (sorted numbers): one slice
            text[offsets[first] : offsets[last + 1]] = block
        else:
            size = head + int(count)
            text[(offsets[rows][:, None] + np.arange(size)).ravel()] = block
    large = offsets[-1] >= 2**31
    kind = pa.large_string() if large else pa.string()
    bounds = offsets if large else offsets.astype(np.int32)
    return pa.Array.from_buffers(
        kind, len(numbers), [None, pa.py_buffer(bounds), pa.py_buffer(text)]
    )


def ids(prefix: str, numbers: np.ndarray, width: int) -> pd.Series:
    """Readable ids: ``prefix`` + zero-padded ``numbers`` (``C0000042``)."""
    text = id_strings(prefix, numbers, width)
    if _PANDAS_MAJOR >= 3:
        return pd.Series(pd.array(text, dtype=pd.StringDtype("pyarrow", na_value=np.nan)))
    return pd.Series(text.to_pandas(), dtype=object)


def strings(names: list[str] | pd.Series, codes: np.ndarray) -> pd.Series:
    """A ``str`` series of ``names[codes]``, decoded by Arrow (fast for long columns)."""
    dictionary = pa.array(names, type=pa.large_string())
    decoded = pa.DictionaryArray.from_arrays(
        pa.array(np.asarray(codes, dtype=np.int32)), dictionary
    )
    if _PANDAS_MAJOR >= 3:
        dtype = pd.StringDtype("pyarrow", na_value=np.nan)  # pandas 3's default ``str``
        return pd.Series(pd.array(decoded.cast(pa.large_string()), dtype=dtype))
    return pd.Series(decoded.cast(pa.large_string()).to_pandas(), dtype=object)  # pandas 2.x
