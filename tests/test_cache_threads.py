"""Threads share one on-disk cache safely: 8 threads x 50 mixed reads, two pixels, one file.

Every frame read concurrently through the shared cache must equal the frame the same read
returns single-threaded and uncached (issue 5).
"""

from __future__ import annotations

import random
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

import upstack_pandas as up
from upstack_pandas.emulator.http.server import SECOND_PIXEL_ID, Emulator

THREADS, PER_THREAD = 8, 50
Read = Callable[[up.Client], pd.DataFrame]


def _reads() -> dict[str, Read]:
    """Distinct reads: query shapes x date ranges, plus attribution and cohorts."""
    shapes: list[tuple[str, list[str], dict[str, object]]] = [
        ("orders daily", ["orders.orders"], {}),
        ("revenue+aov weekly", ["orders.total_revenue", "orders.aov"], {"granularity": "week"}),
        ("orders by channel", ["orders.orders", "orders.net_revenue"], {"dimensions": "channel"}),
        ("sessions by device", ["sessions.sessions"], {"dimensions": "device", "compare": False}),
        ("orders monthly NY", ["orders.orders"], {"granularity": "month", "timezone": "America/New_York"}),
    ]  # fmt: skip
    ranges = [
        ("2026-09-01", "2026-09-30"),
        ("2026-06-01", "2026-08-15"),
        ("2026-10-20", "2026-11-20"),
    ]
    reads: dict[str, Read] = {}
    for name, measures, kwargs in shapes:
        for start, end in ranges:

            def read(client: up.Client, m: list[str] = measures, s: str = start, e: str = end,
                     kw: dict[str, object] = kwargs) -> pd.DataFrame:  # fmt: skip
                return up.read_upstack(m, s, e, client=client, progress=False, **kw)  # type: ignore[arg-type]

            reads[f"{name} {start}..{end}"] = read
    reads["attribution"] = lambda c: up.read_attribution(
        "utm_source", "2026-10-01", "2026-10-31", client=c
    )
    reads["cohorts"] = lambda c: up.read_cohorts(
        "orders.cohort_retention_percent", "2026-05-01", "2026-10-31", client=c
    )
    return reads


READS = _reads()


@pytest.fixture
def clients(emulator: Emulator, tmp_path: Path) -> Iterator[dict[str, up.Client]]:
    """One client per pixel, both on the same cache file."""
    shared = tmp_path / "shared.sqlite"
    made = {
        "demo": emulator.client(cache=shared),
        "second": emulator.client(
            api_key=emulator.keys["other_pixel"], pixel_id=SECOND_PIXEL_ID, cache=shared
        ),
    }
    yield made
    for client in made.values():
        client.close()


def _plan() -> list[list[tuple[str, str]]]:
    """Per thread, 50 (pixel, read) pairs: repeats within and across threads, and some reads
    only one thread makes."""
    rng = random.Random(5)
    names = list(READS)
    common, own = names[: len(names) // 2], names[len(names) // 2 :]
    plan = []
    for thread in range(THREADS):
        mine = [own[thread % len(own)], own[(thread + 3) % len(own)]]
        picks = [rng.choice(common + mine) for _ in range(PER_THREAD)]
        plan.append([(rng.choice(["demo", "second"]), name) for name in picks])
    return plan


def test_threads_share_one_cache_file_and_get_single_threaded_answers(
    emulator: Emulator, clients: dict[str, up.Client]
) -> None:
    plan = _plan()
    needed = {pair for work in plan for pair in work}
    references = {
        "demo": emulator.client(cache=False),
        "second": emulator.client(
            api_key=emulator.keys["other_pixel"], pixel_id=SECOND_PIXEL_ID, cache=False
        ),
    }
    expected = {(pixel, name): READS[name](references[pixel]) for pixel, name in sorted(needed)}
    for reference in references.values():
        reference.close()
    differs = [
        n for n in READS
        if ("demo", n) in expected and ("second", n) in expected
        and not expected["demo", n].equals(expected["second", n])
    ]  # fmt: skip
    assert differs, "the two pixels must answer differently, or the test proves no isolation"

    start = threading.Barrier(THREADS)

    def run(work: list[tuple[str, str]]) -> list[tuple[str, str, pd.DataFrame]]:
        start.wait()
        return [(pixel, name, READS[name](clients[pixel])) for pixel, name in work]

    with ThreadPoolExecutor(THREADS) as pool:
        results = [row for rows in pool.map(run, plan) for row in rows]

    assert len(results) == THREADS * PER_THREAD
    for pixel, name, frame in results:
        pd.testing.assert_frame_equal(frame, expected[pixel, name], obj=f"{pixel} {name}")
    from_cache = sum(bool(frame.attrs["upstack"]["fromCache"]) for _, _, frame in results)
    assert from_cache > len(results) // 2
    assert sum(up.cache.info(c).hits for c in clients.values()) > 0


def _read_beside(table: Any) -> list[object]:
    """Hold ``table``'s connection in one thread, read it (an item, then the keys) in another;
    the read must wait until the connection is released. Returns what the read got."""
    holding, release, done = threading.Event(), threading.Event(), threading.Event()
    reads: list[object] = []

    def hold() -> None:
        with table.connection():
            holding.set()
            release.wait(10)

    def read() -> None:
        reads.append(table["k"])
        reads.append(list(table))
        done.set()

    holder, reader = threading.Thread(target=hold), threading.Thread(target=read)
    holder.start()
    assert holding.wait(10)
    reader.start()
    ran_beside = done.wait(0.3)
    release.set()
    holder.join()
    reader.join()
    assert not ran_beside, f"{table.table_name}: a read ran while another thread used it"
    return reads


def test_a_read_waits_while_another_thread_uses_the_connection(tmp_path: Path) -> None:
    """One thread at a time uses a cache connection, reads included.

    Python's sqlite3 reads a failed statement's error code from the connection after the call;
    another thread's read in between replaced it, and a busy write surfaced as
    ``DatabaseError('no more rows available')`` (CI). requests-cache itself reads unlocked.
    """
    from upstack_pandas._transport.cache_policy import CachePolicy
    from upstack_pandas._transport.cache_store import UpstackSQLiteCache

    cache = UpstackSQLiteCache(tmp_path / "c.sqlite", policy=CachePolicy(), wal=True)
    tables = [cache.responses, cache.redirects, cache.key_owners, cache.dashboard_keys,
              cache.request_keys]  # fmt: skip
    try:
        for table in tables:
            table["k"] = "v"
            assert _read_beside(table) == ["v", ["k"]]
    finally:
        cache.close()
