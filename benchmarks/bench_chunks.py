"""Long ranges fetched serially vs concurrently, with injected emulator latency.

A 720-day daily query split with ``chunks="90D"`` into 8 windows is read with
``max_workers=1`` (serial) and ``max_workers=4``, the runs interleaved, against an emulator
whose ``/db-mgmt/api/query`` answers 200 ms late (a latency fault). Both are checked equal to
the single-request frame read in the same rounds. Target: concurrent at least 3x faster than serial.
``chunks="auto"`` (D107) is read in the same rounds, with and without the latency: it splits
only when the client's measured round trips predict windows are faster. Target: with no
latency it costs at most 1.5x one request.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import pandas as pd

import upstack_pandas as up
from benchmarks import Check, Section, fmt_seconds

if TYPE_CHECKING:
    from upstack_pandas import Client
    from upstack_pandas.emulator.http.server import Emulator

__all__ = ["run"]

MEASURES = ["orders.orders", "orders.total_revenue", "orders.aov"]
START, END = "2024-11-07", "2026-10-27"  # 720 days: 8 windows of 90
CHUNKS = "90D"
WINDOWS = 8
SPEEDUP_LIMIT = 3.0
OVERHEAD_LIMIT = 1.5  # no latency: a chunked read costs at most this many single requests


def _read(client: Client, **kwargs: Any) -> pd.DataFrame:
    return up.read_upstack(
        MEASURES, START, END, compare=False, client=client, progress=False, **kwargs
    )


def _plan(frame: pd.DataFrame) -> tuple[str, str]:
    """What ``chunks="auto"`` chose for ``frame``, and its requests column.

    ``("one request", "1")``, or ``("N windows", "N + 1")`` (the summary request beside them).
    """
    info = frame.attrs["upstack"]["chunks"]
    if info["requests"] == 1:
        return "one request", "1"
    return f"{info['windows']} windows", f"{info['windows']} + 1"


def run(emu: Emulator, *, quick: bool = False) -> Section:
    """Time serial and concurrent chunked reads under injected latency.

    Parameters
    ----------
    emu : Emulator
        A running emulator; a latency fault is added for the duration and removed after
        (``emu.clear_faults()``).
    quick : bool
        50 ms latency and one round instead of 200 ms and three rounds.

    Returns
    -------
    Section
    """
    latency_ms, rounds = (50, 1) if quick else (200, 3)
    section = Section(
        title="4. Long ranges: serial vs concurrent windows",
        note=(
            f"`read_upstack` of {len(MEASURES)} measures, daily, {START} to {END} with "
            f'`chunks="{CHUNKS}"` ({WINDOWS} windows plus the one granularity-"none" summary '
            f"request), {latency_ms} ms of injected latency per query request, uncached "
            f"client, {rounds} interleaved rounds, medians; and, before the latency is injected, "
            "the concurrent (and the serial) chunked read against one request with no latency, "
            'the emulator in the reader\'s process. `chunks="auto"` (D107) is read in the same '
            "rounds: it splits only when the client's measured round trips predict windows are "
            "faster (the plan it chose is in its row). Targets: "
            f"serial / concurrent ≥ {SPEEDUP_LIMIT:g}x; with no latency, "
            f'`chunks="auto"` ≤ {OVERHEAD_LIMIT:g}x a single request.'
        ),
        headers=["read", "requests", "time", "serial time / this", "target", "result"],
    )
    client = emu.client(cache=False)
    reads: dict[str, Callable[[], pd.DataFrame]] = {
        "single": lambda: _read(client),
        "serial": lambda: _read(client, chunks=CHUNKS, max_workers=1),
        "concurrent": lambda: _read(client, chunks=CHUNKS, max_workers=4),
        "auto": lambda: _read(client, chunks="auto"),
    }
    times: dict[str, list[float]] = {name: [] for name in reads}
    frames: dict[str, pd.DataFrame] = {}
    no_latency: dict[str, list[float]] = {name: [] for name in reads}
    plans: dict[str, tuple[str, str]] = {}
    try:
        _read(client)  # warm-up: catalog and engine
        for _ in range(rounds + 2):  # no latency first: the fixed cost of each request shows
            for name in no_latency:
                started = time.perf_counter()
                frame = reads[name]()
                no_latency[name].append(time.perf_counter() - started)
                if name == "auto":
                    plans["no latency"] = _plan(frame)
        emu.inject("latency", path="/db-mgmt/api/query", latency_ms=latency_ms)
        for _ in range(rounds):
            for name, read in reads.items():
                started = time.perf_counter()
                frames[name] = read()
                times[name].append(time.perf_counter() - started)
            plans["latency"] = _plan(frames["auto"])
    finally:
        emu.clear_faults()
        client.close()
    windows = frames["serial"].attrs["upstack"]["chunks"]["windows"]
    assert windows == WINDOWS, f"expected {WINDOWS} windows, got {windows}"
    for name in ("serial", "concurrent", "auto"):
        pd.testing.assert_frame_equal(frames[name], frames["single"], check_freq=False)
    med = {name: statistics.median(values) for name, values in times.items()}
    speedup = med["serial"] / med["concurrent"]
    label = f"chunked read, {WINDOWS} windows, {latency_ms} ms latency: serial / 4 workers"
    check = Check(label, speedup, SPEEDUP_LIMIT, op=">=", applies=not quick)
    section.checks.append(check)
    single_s = statistics.median(no_latency["single"])
    overhead = statistics.median(no_latency["auto"]) / single_s
    section.checks.append(
        Check('chunked read, no latency: chunks="auto" / single request', overhead, OVERHEAD_LIMIT)
    )

    def vs_single(name: str) -> str:
        return f"{statistics.median(no_latency[name]) / single_s:.2f}x single"

    section.rows += [
        ["no latency: single request", "1", fmt_seconds(single_s), "", "", ""],
        [f'no latency: `chunks="auto"` ({plans["no latency"][0]})', plans["no latency"][1],
         fmt_seconds(statistics.median(no_latency["auto"])), vs_single("auto"),
         f"≤ {OVERHEAD_LIMIT:g}x single", section.checks[-1].result],
        ["no latency: concurrent (`max_workers=4`)", f"{WINDOWS} + 1",
         fmt_seconds(statistics.median(no_latency["concurrent"])), vs_single("concurrent"), "", ""],
        ["no latency: serial (`max_workers=1`)", f"{WINDOWS} + 1",
         fmt_seconds(statistics.median(no_latency["serial"])), vs_single("serial"), "", ""],
    ]  # fmt: skip
    section.rows += [
        ["single request (no chunks)", "1", fmt_seconds(med["single"]), f"{med['serial'] / med['single']:.2f}x", "", ""],
        [f'`chunks="auto"` ({plans["latency"][0]})', plans["latency"][1], fmt_seconds(med["auto"]),
         f"{med['serial'] / med['auto']:.2f}x", "", ""],
        ["serial (`max_workers=1`)", f"{WINDOWS} + 1", fmt_seconds(med["serial"]), "1.00x", "", ""],
        ["concurrent (`max_workers=4`)", f"{WINDOWS} + 1", fmt_seconds(med["concurrent"]),
         check.show(speedup), f"≥ {check.show(SPEEDUP_LIMIT)}", check.result],
    ]  # fmt: skip
    return section
