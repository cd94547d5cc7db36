"""Cache hit vs cold request against the emulator, at the transport level and through the reader.

For each query (:data:`benchmarks.bench_emulator.SMALL` and ``LARGE``) and level
(``client.post`` and ``up.read_upstack(..., client=client)``), each round clears the client's
on-disk cache, times one cold request (miss, server, store), then several hits of the same
request. The figure is median(hit) / median(cold), measured side by side in one run. Targets:
hit ≤ 25 % of cold for the small query, ≤ 10 % for the large one.
"""

from __future__ import annotations

import statistics
import tempfile
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import upstack_pandas as up
from benchmarks import Check, Section, fmt_bytes, fmt_seconds, sample
from benchmarks.bench_emulator import LARGE, QUERY_PATH, SMALL, QuerySpec

if TYPE_CHECKING:
    from upstack_pandas import Client
    from upstack_pandas.emulator.http.server import Emulator

__all__ = ["LIMITS", "run"]

#: Query name → (query, largest hit / cold ratio).
LIMITS: dict[str, tuple[QuerySpec, float]] = {
    "small (1 measure, 30 days)": (SMALL, 0.25),
    "large (10 measures, 2 years daily, by channel)": (LARGE, 0.10),
}


def _transport(client: Client, query: QuerySpec) -> Callable[[], Any]:
    body = query.body()
    return lambda: client.post(QUERY_PATH, body)


def _reader(client: Client, query: QuerySpec) -> Callable[[], Any]:
    return lambda: query.read(client)


def _rounds(
    client: Client, call: Callable[[], Any], rounds: int, hits: int
) -> tuple[list[float], list[float]]:
    """Cold and hit times: each round clears the cache, then one cold call and ``hits`` hits."""
    cold: list[float] = []
    hot: list[float] = []
    for _ in range(rounds):
        up.cache.clear(client=client)
        cold += sample(call, 1)
        hot += sample(call, hits)
    return cold, hot


def _from_cache(result: Any) -> bool:
    if hasattr(result, "from_cache"):
        return bool(result.from_cache)
    return bool(result.attrs["upstack"]["fromCache"])


def run(emu: Emulator, *, quick: bool = False) -> Section:
    """Measure cache hits against cold requests for both queries and both levels.

    Parameters
    ----------
    emu : Emulator
        A running emulator.
    quick : bool
        One round of two hits instead of seven rounds of five.

    Returns
    -------
    Section
    """
    rounds, hits = (1, 2) if quick else (7, 5)
    section = Section(
        title="3. Cache hit vs cold",
        note=(
            f"Emulator on 127.0.0.1, a client with an on-disk cache in a temporary directory. "
            f"{rounds} rounds of: clear the cache, one cold request (miss, server, store), "
            f"{hits} hits; medians. `transport` is `client.post`; `reader` is "
            "`up.read_upstack(..., client=client)` to the finished frame with its metadata "
            "(the catalog already fetched; a hit reuses the frame decoded from that stored "
            "response, see docs/caching.md; `up.cache.clear()` empties that memo too)."
        ),
        headers=["query", "level", "body", "cold", "hit", "hit / cold", "target", "result"],
    )
    with tempfile.TemporaryDirectory() as directory:
        client = emu.client(cache=directory)
        try:
            for name, (query, limit) in LIMITS.items():
                for level, make in (("transport", _transport), ("reader", _reader)):
                    call = make(client, query)
                    size = len(_transport(client, query)().content)
                    call()  # warm-up (imports, the catalog), stored
                    assert _from_cache(call()), f"{name} {level}: the second request missed"
                    cold, hot = _rounds(client, call, rounds, hits)
                    ratio = statistics.median(hot) / statistics.median(cold)
                    check = Check(f"cache hit / cold, {name}, {level}", ratio, limit, unit="%")
                    section.checks.append(check)
                    section.rows.append([
                        name, level, fmt_bytes(size), fmt_seconds(statistics.median(cold)),
                        fmt_seconds(statistics.median(hot)), check.show(ratio),
                        f"≤ {check.show(limit)}", check.result,
                    ])  # fmt: skip
        finally:
            client.close()
    return section
