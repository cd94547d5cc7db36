"""``chunks="auto"``: split a long range only when this client's own round trips say it pays.

Every request pays a fixed cost (the round trip and the server's overhead) that concurrency
can hide but never remove, and the server's work grows with what the request asks: its
*cells*, buckets times measures (compare period included). One request for the whole range
costs about ``fixed + rate * cells``; ``n`` windows fetched ``w`` at a time cost about
``ceil(n / w) * (fixed + rate * cells / n)``. So windows pay only when the server's work
dominates the fixed cost, never because of latency alone (latency favours concurrent windows
over serial ones, and one request over both).

The model is fitted to the ``/query`` responses this client received from the network (cache
hits are not measured): ``elapsed`` is the time from sending the request to its response
headers (``requests``' ``Response.elapsed``). ``fixed`` is the fastest of the smallest requests
and ``rate`` the slope up to the largest ones, over the last :data:`HISTORY` responses. Windows
are chosen when the model predicts they save at least :data:`MIN_SAVING` of the single request
and two fixed costs; with too little history to fit (fewer than two sizes of request, at least
:data:`MIN_SPREAD` apart), the windows asked for are used. This module is pure: it holds numbers
and decides; :mod:`.chunks` measures and fetches.
"""

from __future__ import annotations

import math
import threading
import weakref
from collections import deque
from dataclasses import dataclass
from typing import Any

__all__ = ["HISTORY", "MIN_SAVING", "MIN_SPREAD", "Advice", "QueryCosts", "costs_of"]

#: how many recent ``/query`` round trips the model is fitted to
HISTORY = 32
#: windows must save at least this share of the predicted single request (and two fixed costs)
MIN_SAVING = 0.25
#: the largest request measured must ask at least this many times the cells of the smallest
MIN_SPREAD = 2.0


@dataclass(frozen=True)
class Advice:
    """Whether to fetch in windows, and why (the why goes to ``attrs["upstack"]["chunks"]``).

    Attributes
    ----------
    split : bool
        Fetch in windows (True) or as one request (False).
    reason : str
        ``"measured: windows are faster"``, ``"measured: one request is faster"``,
        ``"not measured yet"`` (too little history: the windows asked for are used) or
        ``"the range fits one window"``.
    single, windows : float or None
        The predicted seconds of one request and of the windows (None when not measured).
    """

    split: bool
    reason: str
    single: float | None = None
    windows: float | None = None


class QueryCosts:
    """The recent ``(elapsed seconds, cells)`` of one client's ``/query`` requests.

    Thread-safe: the windows of a chunked read report from several threads.
    """

    def __init__(self, history: int = HISTORY) -> None:
        self._samples: deque[tuple[float, int]] = deque(maxlen=history)
        self._lock = threading.Lock()

    def observe(self, elapsed: float | None, cells: int) -> None:
        """Record one network round trip (``elapsed`` None, e.g. a cache hit: ignored)."""
        if elapsed is None or not math.isfinite(elapsed) or elapsed < 0 or cells < 1:
            return
        with self._lock:
            self._samples.append((elapsed, cells))

    def fit(self) -> tuple[float, float] | None:
        """``(fixed seconds, seconds per cell)``, or None when the history cannot tell them apart.

        ``fixed`` is the fastest round trip among the requests of the fewest cells; ``rate`` the
        slope from there to the fastest of the requests of the most cells (the fastest of each
        size: a slow outlier is contention, not cost).
        """
        with self._lock:
            samples = list(self._samples)
        if not samples:
            return None
        small = min(cells for _, cells in samples)
        large = max(cells for _, cells in samples)
        if large < MIN_SPREAD * small:
            return None
        fixed = min(elapsed for elapsed, cells in samples if cells == small)
        top = min(elapsed for elapsed, cells in samples if cells == large)
        rate = max(top - fixed, 0.0) / (large - small)
        fixed = max(fixed - rate * small, 0.0)
        return fixed, rate

    def advise(self, cells: int, requests: int, workers: int) -> Advice:
        """Whether ``requests`` window requests, ``workers`` at a time, beat one request.

        Parameters
        ----------
        cells : int
            The cells of the whole read (buckets times measures, compare period included).
        requests : int
            The window requests the split would send (the summary request runs beside them).
        workers : int
            How many run at once.

        Returns
        -------
        Advice
        """
        fitted = self.fit()
        if fitted is None:
            return Advice(True, "not measured yet")
        fixed, rate = fitted
        single = fixed + rate * cells
        rounds = math.ceil(requests / max(workers, 1))
        windows = rounds * (fixed + rate * cells / max(requests, 1))
        saving = single - windows
        if saving >= max(MIN_SAVING * single, 2 * fixed):
            return Advice(True, "measured: windows are faster", single, windows)
        return Advice(False, "measured: one request is faster", single, windows)


_COSTS: weakref.WeakKeyDictionary[Any, QueryCosts] = weakref.WeakKeyDictionary()
_COSTS_LOCK = threading.Lock()


def costs_of(client: Any) -> QueryCosts | None:
    """The cost history of ``client`` (made on first use; None if it cannot be weakly held)."""
    with _COSTS_LOCK:
        try:
            found = _COSTS.get(client)
            if found is None:
                found = _COSTS[client] = QueryCosts()
        except TypeError:  # not weak-referenceable (a test double)
            return None
        return found
