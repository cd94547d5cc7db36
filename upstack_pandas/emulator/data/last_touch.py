"""Each order's last touchpoint, found with integer keys (the synthetic shop's build).

The store's SQL (``Store._build``) joins orders and sessions on ``customer_id`` strings; the
synthetic generator knows every order's and session's customer as an integer code, and its
sessions are in ``(ts, session_id)`` order, so the latest session of a customer at or before an
order is one binary search: sort the customers' sessions by ``(customer, position)`` (one integer
key each), then look up ``(customer, last position with ts <= order ts)``. Same result as the SQL (the latest session by
``ts`` then ``session_id`` within the window), a tenth of the CPU at ten million sessions.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

__all__ = ["last_touch_columns", "last_touch_rows"]


def last_touch_rows(
    order_customer: np.ndarray,
    order_ts: np.ndarray,
    session_customer: np.ndarray,
    session_ts: np.ndarray,
    window: int,
) -> np.ndarray:
    """Return each order's last session's row, or -1 when it has none within ``window``.

    Parameters
    ----------
    order_customer, order_ts
        Per order: its customer's integer code and its time (integers, e.g. µs).
    session_customer, session_ts
        Per session, sessions sorted by time (then by their id, so a later row wins a tie):
        its visitor's code (comparable with ``order_customer``) and its time.
    window
        How far back a session still counts (``ts >= order ts - window``), in ``ts`` units.

    Returns
    -------
    numpy.ndarray
        int64 row numbers into the sessions (-1: no session of that customer in the window).
    """
    order_customer = np.asarray(order_customer, dtype=np.int64)
    order_ts = np.asarray(order_ts, dtype=np.int64)
    session_customer = np.asarray(session_customer)
    session_ts = np.asarray(session_ts, dtype=np.int64)
    n = len(session_ts)
    if not n or not len(order_ts):
        return np.full(len(order_ts), -1, dtype=np.int64)
    known = np.flatnonzero(np.isin(session_customer, order_customer, kind="table"))
    # (customer, row) as one integer: unique, so a plain sort orders them by customer, then row
    keys = session_customer[known].astype(np.int64)
    keys *= n
    keys += known
    del known
    keys.sort()
    latest = np.searchsorted(session_ts, order_ts, side="right") - 1  # last row with ts <= order
    found = np.searchsorted(keys, order_customer * n + latest, side="right") - 1
    row = keys[np.maximum(found, 0)] % n if len(keys) else np.zeros_like(found)
    hit = (
        (found >= 0)
        & (session_customer[row] == order_customer)
        & (session_ts[row] >= order_ts - window)
    )
    return np.where(hit, row, -1).astype(np.int64)


def last_touch_columns(
    sessions: pa.Table, rows: np.ndarray, columns: tuple[str, ...], missing: str
) -> dict[str, pa.Array]:
    """The sessions' ``columns`` at ``rows`` (``missing`` where a row is -1), one per order.

    Parameters
    ----------
    sessions
        The sessions (dictionary-encoded or plain string columns).
    rows
        :func:`last_touch_rows`.
    columns
        The columns to pick.
    missing
        The value of orders without a last touch.

    Returns
    -------
    dict of str to pyarrow.Array
        A dictionary-encoded string array per column.
    """
    none = rows < 0
    take = np.where(none, 0, rows)
    out: dict[str, pa.Array] = {}
    for name in columns:
        column = sessions.column(name)
        if not len(rows) or not len(column):
            out[name] = pa.array([missing] * len(rows), type=pa.string()).dictionary_encode()
            continue
        if column.num_chunks != 1 and pa.types.is_dictionary(column.type):
            column = column.unify_dictionaries()
        encoded = column.combine_chunks() if column.num_chunks != 1 else column.chunk(0)
        if not pa.types.is_dictionary(encoded.type):
            encoded = encoded.dictionary_encode()
        if encoded.null_count:  # (a null attribute reads as the missing value too)
            encoded = pc.fill_null(encoded.cast(pa.string()), missing).dictionary_encode()
        # By codes: the orders' rows' codes, and the missing value's (added to the dictionary
        # when it is not there) for orders without a last touch; no string is copied per order.
        dictionary = encoded.dictionary.cast(pa.string())
        found = pc.index(dictionary, missing).as_py()
        if found < 0:
            found = len(dictionary)
            dictionary = pa.concat_arrays([dictionary, pa.array([missing], type=pa.string())])
        codes = np.asarray(encoded.indices.to_numpy(), dtype=np.int32)[take]
        codes[none] = found
        out[name] = pa.DictionaryArray.from_arrays(pa.array(codes, type=pa.int32()), dictionary)
    return out
