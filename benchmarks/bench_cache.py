"""Cache hit vs cold request against the emulator, at the transport level and through the reader.

For each query (:data:`benchmarks.bench_emulator.SMALL` and ``LARGE``) and level
(``client.post`` and ``up.read_upstack(..., client=client)``), each round clears the client's
on-disk cache, times one cold request (miss, server, store), then several hits of the same
request. The figure is median(hit) / median(cold), measured side by side in one run; the hits
run back to back, and the same hits each after a full garbage collection are shown beside it. Targets:
through ``client.post`` ≤ 25 % of cold for the small query and ≤ 10 % for the large one; through
the reader ≤ 5 % for any shape in process (:data:`READER_LIMIT`) and ≤ 10 % from the on-disk
cache in a new process (:data:`PROCESS_LIMIT`). A hit of the client's own cache skips requests
and requests-cache (``_transport/cache_hits.py``); the new-process figure includes that
process's first read of the stored row and of the memo file.
"""

from __future__ import annotations

import datetime as _dt
import json
import os
import statistics
import subprocess
import sys
import tempfile
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

import upstack_pandas as up
from benchmarks import Check, Section, fmt_bytes, fmt_seconds, sample
from benchmarks.bench_emulator import LARGE, QUERY_PATH, SMALL, QuerySpec

ROOT = Path(__file__).resolve().parent.parent

if TYPE_CHECKING:
    from upstack_pandas import Client
    from upstack_pandas.emulator.http.server import Emulator

__all__ = ["LIMITS", "PROCESS_LIMIT", "READER_LIMIT", "SHAPES", "run"]

SMALL_COMPARE = replace(SMALL, compare=True)
LARGE_COMPARE = replace(LARGE, compare=True)
#: Query name → (query, largest hit / cold ratio through client.post, None: not measured there).
SHAPES: dict[str, tuple[QuerySpec, float | None]] = {
    "small (1 measure, 30 days)": (SMALL, 0.25),
    "small, with compare": (SMALL_COMPARE, None),
    "large (10 measures, 2 years daily, by channel)": (LARGE, 0.10),
    "large, with compare, by channel": (LARGE_COMPARE, None),
}
#: Largest hit / cold ratio through the reader, in process (any shape).
READER_LIMIT = 0.05
#: Largest hit / cold ratio through the reader from the on-disk cache in a new process.
PROCESS_LIMIT = 0.10
#: Shapes measured across processes.
PROCESS_SHAPES = ("small, with compare", "large, with compare, by channel")
#: ``--quick`` measures these shapes only, through the reader (the guards of a CI run).
QUICK_SHAPES = ("large (10 measures, 2 years daily, by channel)", "large, with compare, by channel")
LIMITS = {name: (query, limit if limit is not None else READER_LIMIT)
          for name, (query, limit) in SHAPES.items()}  # fmt: skip


def _transport(client: Client, query: QuerySpec) -> Callable[[], Any]:
    body = query.body()
    return lambda: client.post(QUERY_PATH, body)


def _reader(client: Client, query: QuerySpec) -> Callable[[], Any]:
    return lambda: query.read(client)


def _rounds(
    client: Client, call: Callable[[], Any], rounds: int, hits: int
) -> tuple[list[float], list[float], list[float]]:
    """Cold, hit, and hit-after-a-full-collection times: each round clears the cache, then one
    cold call, ``hits`` hits back to back, and ``hits`` hits each after a full collection."""
    cold: list[float] = []
    hot: list[float] = []
    collected: list[float] = []
    for _ in range(rounds):
        up.cache.clear(client=client)
        cold += sample(call, 1)
        hot += sample(call, hits, collect=False)
        collected += sample(call, hits)
    return cold, hot, collected


def _from_cache(result: Any) -> bool:
    if hasattr(result, "from_cache"):
        return bool(result.from_cache)
    return bool(result.attrs["upstack"]["fromCache"])


_CHILD = """
import json, sys, time
import upstack_pandas as up
from benchmarks.bench_emulator import QuerySpec
specs = [QuerySpec(**spec) for spec in json.loads(sys.argv[1])]
first = specs[0]
warm = QuerySpec(first.measures, "2024-01-01", "2024-01-31", first.dimensions, first.compare)
client = up.Client(cache=sys.argv[2])
warm.read(client)  # imports, the catalog, first-call caches: not in the figure
out = []
for spec in specs:  # each the first read of its request in this process
    started = time.perf_counter()
    frame = spec.read(client)
    out.append([time.perf_counter() - started, frame.attrs["upstack"]["fromCache"]])
print(json.dumps(out))
"""


def _shifted(query: QuerySpec, count: int) -> list[QuerySpec]:
    """``query`` and ``count - 1`` more of the same length, each a week earlier than the last
    (different requests with bodies of the same size: the data covers every one of them)."""
    start, end = _dt.date.fromisoformat(query.start), _dt.date.fromisoformat(query.end)
    week = _dt.timedelta(days=7)
    return [
        replace(query, start=(start - k * week).isoformat(), end=(end - k * week).isoformat())
        for k in range(count)
    ]


def _in_new_process(
    emu: Emulator, queries: list[QuerySpec], cache: str
) -> list[tuple[float, bool]]:
    """Seconds of one reader call per query in one fresh interpreter (after a warm-up read of
    another range), and each one's fromCache."""
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])),
        "UPSTACK_API_KEY": emu.api_key, "UPSTACK_PIXEL_ID": emu.pixel_id,
        "UPSTACK_BASE_URL": emu.url,
    }  # fmt: skip
    specs = [{"measures": list(q.measures), "start": q.start, "end": q.end,
              "dimensions": list(q.dimensions), "compare": q.compare} for q in queries]  # fmt: skip
    out = subprocess.run(
        [sys.executable, "-c", _CHILD, json.dumps(specs), cache],
        check=True, capture_output=True, text=True, cwd=ROOT, env=env,
    ).stdout  # fmt: skip
    return [(float(s), bool(c)) for s, c in json.loads(out.strip().splitlines()[-1])]


def run(emu: Emulator, *, quick: bool = False) -> Section:
    """Measure cache hits against cold requests: every shape in process, some across processes.

    Parameters
    ----------
    emu : Emulator
        A running emulator.
    quick : bool
        Three rounds of three hits (one process pair reading two ranges) instead of seven rounds
        of five (three pairs reading four ranges each), for the large shapes through the reader
        only (:data:`QUICK_SHAPES`).

    Returns
    -------
    Section
    """
    rounds, hits = (3, 3) if quick else (7, 5)
    pairs = 1 if quick else 3
    per_process = 2 if quick else 4  # ranges read per interpreter, each its first read there
    section = Section(
        title="3. Cache hit vs cold",
        note=(
            f"Emulator on 127.0.0.1, a client with an on-disk cache in a temporary directory. "
            f"In process: {rounds} rounds of: clear the cache, one cold request (miss, server, "
            f"store) after a full garbage collection, {hits} hits back to back (as a notebook "
            f"re-running a cell makes them), then {hits} hits each after a full collection (the "
            "last column: a collection leaves the CPU caches cold); medians. `transport` is `client.post`; `reader` is "
            "`up.read_upstack(..., client=client)` to the finished frame with its metadata "
            "(the catalog already fetched; a hit reuses the frames decoded from that stored "
            "response and its compare frame already encoded, see docs/caching.md). `new process`"
            f": {pairs} pairs of fresh interpreters, one after clearing the cache (cold), one "
            "reading from the on-disk cache left by the first (hit); each times one reader call "
            f"for each of {per_process} ranges of the same length (the first read of that "
            "request in that interpreter) after a warm-up read of another range; medians over "
            "all of them. Targets: transport ≤ 25 % (small) and "
            f"≤ 10 % (large); reader ≤ {READER_LIMIT:.0%} for any shape in process, "
            f"≤ {PROCESS_LIMIT:.0%} in a new process."
        ),
        headers=[
            "query",
            "level",
            "body",
            "cold",
            "hit",
            "hit / cold",
            "target",
            "result",
            "hit after a full gc",
        ],
    )

    def add(
        name: str, level: str, size: int, cold: float, hot: float, limit: float,
        collected: float | None = None,
    ) -> None:  # fmt: skip
        ratio = hot / cold
        check = Check(f"cache hit / cold, {name}, {level}", ratio, limit, unit="%")
        section.checks.append(check)
        after_gc = (
            "–"
            if collected is None
            else (f"{fmt_seconds(collected)} ({check.show(collected / cold)})")
        )
        section.rows.append([
            name, level, fmt_bytes(size), fmt_seconds(cold), fmt_seconds(hot), check.show(ratio),
            f"≤ {check.show(limit)}", check.result, after_gc,
        ])  # fmt: skip

    with tempfile.TemporaryDirectory() as directory:
        client = emu.client(cache=directory)
        try:
            for name, (query, transport_limit) in SHAPES.items():
                if quick and name not in QUICK_SHAPES:
                    continue
                size = len(_transport(client, query)().content)
                levels = [("reader", _reader, READER_LIMIT)]
                if transport_limit is not None and not quick:
                    levels.insert(0, ("transport", _transport, transport_limit))
                for level, make, limit in levels:
                    call = make(client, query)
                    call()  # warm-up (imports, the catalog), stored
                    assert _from_cache(call()), f"{name} {level}: the second request missed"
                    cold, hot, collected = _rounds(client, call, rounds, hits)
                    add(name, level, size, statistics.median(cold), statistics.median(hot), limit,
                        statistics.median(collected))  # fmt: skip
            location = up.cache.info(client=client).location
            assert location is not None
            for name in PROCESS_SHAPES:
                if quick and name not in QUICK_SHAPES:
                    continue
                query = SHAPES[name][0]
                size = len(_transport(client, query)().content)
                cold_s: list[float] = []
                hot_s: list[float] = []
                queries = _shifted(query, per_process)
                for _ in range(pairs):
                    up.cache.clear(client=client)
                    cold_runs = _in_new_process(emu, queries, location)
                    assert not any(c for _, c in cold_runs), f"{name}: a cold read was a hit"
                    cold_s += [seconds for seconds, _ in cold_runs]
                    hot_runs = _in_new_process(emu, queries, location)
                    assert all(c for _, c in hot_runs), f"{name}: the new process missed the cache"
                    hot_s += [seconds for seconds, _ in hot_runs]
                add(name, "reader, new process", size, statistics.median(cold_s),
                    statistics.median(hot_s), PROCESS_LIMIT)  # fmt: skip
        finally:
            client.close()
    return section
