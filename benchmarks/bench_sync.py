"""Many pixels: incremental re-sync vs cold sync, sync peak memory vs pixel count, Dask vs serial.

Sizes: ``--quick`` 2 pixels x 12 months; the default 5 pixels x 36 months; set
``UPSTACK_BENCH_SYNC_FULL=1`` for the issue's full size, 20 pixels x 36 months. Every run is
daily with 10 measures against one emulator serving that many pixels, each with its own key and
``.upstackrc`` profile. The pixels share one engine (the same data): the benchmark measures the
client (requests, parquet writes, manifests), not the emulator's data generation. 50 ms of
latency is injected on ``/db-mgmt/api/query`` for the sync figures (the API is remote; without
latency the fixed local costs of a run dominate) and 200 ms for the Dask read.

- Incremental: a cold sync as of a mid-month day, then the next day's sync (the range grows by
  one day; only the provisional month of each pixel is fetched). Target: next day / cold ≤ 5 %.
- Memory: peak RSS growth of a sync in a fresh process (``clear_refs`` + ``VmHWM``, as in
  ``_memory``), for 1 pixel and for 4 times as many. Target: ratio ≤ 1.5x (partitions are
  written as they arrive, nothing accumulates).
- Dask: ``upstack_pandas.dask.read_upstack`` of one pixel's 24 months computed serially in this
  process (``scheduler="sync"``, the same graph) and on a ``distributed.LocalCluster`` of 4
  worker processes with 2 threads each (a partition is one request, mostly waiting on the
  network: one thread per worker left each process idle for the latency, while the finalising
  concat and the 2 cores bound what more processes can add). Target: serial / cluster ≥ 3x.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

from benchmarks import Check, Section, fmt_bytes, fmt_seconds

if TYPE_CHECKING:
    from upstack_pandas.emulator.http.server import Emulator

__all__ = ["run", "run_dask"]

ROOT = Path(__file__).resolve().parent.parent
NOW = "2026-11-26T12:00:00Z"
MEASURES = [
    "orders.orders", "orders.total_revenue", "orders.aov", "orders.gross_revenue",
    "orders.new_customer_orders", "core.new_customer_roas", "core.mer", "meta.cpm",
    "meta.spend", "google.spend",
]  # fmt: skip
COLD_AS_OF, NEXT_AS_OF = "2026-10-15", "2026-10-16"
INCREMENTAL_LIMIT, MEMORY_LIMIT, DASK_LIMIT = 0.05, 1.5, 3.0
SYNC_LATENCY_MS = 50
#: Next-day syncs timed (each on its own copy of the cold folder); the median is the figure.
NEXT_DAY_RUNS = 3
#: the Dask section reads 3 measures, as the chunked-read section does: its figure is about
#: overlapping request latency, not about the emulator's CPU (2 cores serve every worker)
DASK_MEASURES = MEASURES[:3]


def _sizes(quick: bool) -> tuple[int, int]:
    """(pixels, months) of the incremental run."""
    if quick:
        return 2, 12
    if os.environ.get("UPSTACK_BENCH_SYNC_FULL", "").strip() in ("1", "true", "yes"):
        return 20, 36
    return 5, 36


def _start(months: int) -> str:
    year, month = 2026, 10 - (months - 1)
    while month < 1:
        year, month = year - 1, month + 12
    return f"{year:04d}-{month:02d}-01"


@contextlib.contextmanager
def _emulator(pixels: int) -> Iterator[Emulator]:
    """An emulator of ``pixels`` pixels sharing one engine (built once)."""
    from upstack_pandas.emulator.engine.backend import Backend
    from upstack_pandas.emulator.http.server import BackendPool, Emulator, pixel_ids

    shared: list[Backend] = []

    def one_engine(**kwargs: Any) -> Backend:
        if not shared:
            shared.append(Backend(**kwargs))
        return shared[0]

    emu = Emulator(now=NOW, pixels=pixel_ids(pixels))
    # benchmark-only: every pixel answers from the same engine (data generation is not measured)
    emu._pool = BackendPool(emu.pixel_ids, seed=7, now=NOW, data_dir=None, factory=one_engine)
    with emu:
        yield emu


@contextlib.contextmanager
def _environment(emu: Emulator, directory: Path) -> Iterator[Path]:
    """``UPSTACK_CONFIG`` at the emulator's ``.upstackrc`` (restored after)."""
    rc = directory / "upstackrc"
    rc.write_text(emu.upstackrc(), encoding="utf-8")
    rc.chmod(0o600)
    saved = {k: v for k, v in os.environ.items() if k.startswith("UPSTACK_")}
    for name in saved:
        if name not in ("UPSTACK_CACHE_DIR", "UPSTACK_BENCH_SYNC_FULL"):
            del os.environ[name]
    os.environ["UPSTACK_CONFIG"] = str(rc)
    try:
        yield rc
    finally:
        for name in [k for k in os.environ if k.startswith("UPSTACK_")]:
            del os.environ[name]
        os.environ.update(saved)


def _profiles(n: int) -> list[str]:
    return [f"pixel-{i}" for i in range(1, n + 1)]


def run(emu: Emulator, *, quick: bool = False) -> Section:
    """Incremental re-sync vs cold sync, and sync peak memory vs the number of pixels.

    Parameters
    ----------
    emu : Emulator
        The suite's emulator (unused: this section starts one serving many pixels).
    quick : bool
        2 pixels x 12 months (the targets do not apply).

    Returns
    -------
    Section
    """
    import upstack_pandas as up

    pixels, months = _sizes(quick)
    start = _start(months)
    section = Section(
        title="6. Many pixels: incremental sync and memory",
        note=(
            f"`up.sync` of {len(MEASURES)} measures, daily, {pixels} pixels x {months} months "
            f"({start} to {COLD_AS_OF}; one parquet partition per pixel and month), "
            f"{SYNC_LATENCY_MS} ms of injected latency per query request, default 4 threads. "
            f"Cold: an empty folder; next day: the same call a day later (end and as_of "
            f"{NEXT_AS_OF}), which fetches each pixel's provisional month only (median of "
            f"{NEXT_DAY_RUNS} runs, each on a copy of the cold folder). Targets: next "
            f"day / cold ≤ {INCREMENTAL_LIMIT:.0%}; peak RSS growth of a sync in a fresh "
            f"process, 4x the pixels / 1x, ≤ {MEMORY_LIMIT:g}x. Full size (20 pixels x 36 "
            "months): `UPSTACK_BENCH_SYNC_FULL=1`."
        ),
        headers=["run", "windows fetched", "time or peak", "ratio", "target", "result"],
    )
    memory_pixels = (1, 2) if quick else (1, 4)
    with (
        _emulator(max(pixels, memory_pixels[1])) as multi,
        tempfile.TemporaryDirectory() as tmp,
        _environment(multi, Path(tmp)) as rc,
    ):
        names = _profiles(pixels)
        kwargs: dict[str, Any] = {"profiles": names, "progress": False}
        warm = up.sync(Path(tmp) / "warm", MEASURES, "2026-01-01", "2026-01-31", **kwargs)
        assert warm.ok, warm  # engines, catalog and imports warmed up
        multi.inject("latency", path="/db-mgmt/api/query", latency_ms=SYNC_LATENCY_MS)
        try:
            began = time.perf_counter()
            cold = up.sync(
                Path(tmp) / "ds", MEASURES, start, COLD_AS_OF, as_of=COLD_AS_OF, **kwargs
            )
            cold_s = time.perf_counter() - began
            # The next day, on copies of the cold folder: the median of NEXT_DAY_RUNS (a run
            # of a few windows is a few round trips, so one run is as noisy as its slowest).
            copies = [Path(tmp) / f"ds-{k}" for k in range(NEXT_DAY_RUNS)]
            for copy in copies:
                shutil.copytree(Path(tmp) / "ds", copy)
            next_runs = []
            for copy in copies:
                began = time.perf_counter()
                nxt = up.sync(copy, MEASURES, start, NEXT_AS_OF, as_of=NEXT_AS_OF, **kwargs)
                next_runs.append(time.perf_counter() - began)
                assert nxt.ok and nxt.fetched == pixels, nxt
            next_s = statistics.median(next_runs)
        finally:
            multi.clear_faults()
        assert cold.ok and cold.fetched == pixels * months, cold
        assert nxt.ok and nxt.fetched == pixels, nxt
        ratio = next_s / cold_s
        check = Check(f"sync next day / cold, {pixels} pixels x {months} months", ratio,
                      INCREMENTAL_LIMIT, unit="%", applies=not quick)  # fmt: skip
        section.checks.append(check)
        section.rows += [
            ["cold sync", str(cold.fetched), fmt_seconds(cold_s), "", "", ""],
            ["next-day sync", str(nxt.fetched), fmt_seconds(next_s), check.show(ratio),
             f"≤ {check.show(INCREMENTAL_LIMIT)}", check.result],
        ]  # fmt: skip
        peaks = {
            n: _peak_memory(rc, Path(tmp) / f"mem{n}", n, min(months, 12)) for n in memory_pixels
        }
    small, large = (peaks[n] for n in memory_pixels)
    mem_ratio = large / max(small, 1)
    check = Check(f"sync peak memory, {memory_pixels[1]} pixels / 1 pixel", mem_ratio,
                  MEMORY_LIMIT, applies=not quick)  # fmt: skip
    section.checks.append(check)
    section.rows += [
        [f"sync peak RSS growth, {n} pixel{'s' if n > 1 else ''} x {min(months, 12)} months",
         str(n * min(months, 12)), fmt_bytes(peaks[n]),
         check.show(mem_ratio) if n == memory_pixels[1] else "",
         f"≤ {check.show(MEMORY_LIMIT)}" if n == memory_pixels[1] else "",
         check.result if n == memory_pixels[1] else ""]
        for n in memory_pixels
    ]  # fmt: skip
    return section


def _peak_memory(rc: Path, root: Path, pixels: int, months: int) -> int:
    env = {**os.environ, "UPSTACK_CONFIG": str(rc), "PYTHONPATH": os.pathsep.join(
        [str(ROOT), *filter(None, [os.environ.get("PYTHONPATH")])])}  # fmt: skip
    out = subprocess.run(
        [sys.executable, "-m", "benchmarks.bench_sync", str(root), str(pixels), str(months)],
        env=env, capture_output=True, text=True, check=True, cwd=ROOT,
    )  # fmt: skip
    return int(json.loads(out.stdout.strip().splitlines()[-1])["growth"])


def _memory_child(root: str, pixels: int, months: int) -> dict[str, Any]:
    import gc

    import upstack_pandas as up
    from benchmarks import _memory

    names = _profiles(pixels)
    up.sync(Path(root) / "warm", MEASURES, "2026-01-01", "2026-01-31", profiles=names,
            progress=False)  # fmt: skip
    gc.collect()
    method = "clear_refs" if _memory._reset_peak() else "hwm"
    before = _memory._status_kib("VmRSS" if method == "clear_refs" else "VmHWM") or 0
    summary = up.sync(Path(root) / "ds", MEASURES, _start(months), COLD_AS_OF, profiles=names,
                      as_of=COLD_AS_OF, progress=False)  # fmt: skip
    peak = _memory._status_kib("VmHWM") or 0
    assert summary.ok and summary.fetched == pixels * months, summary
    return {"growth": max(0, peak - before), "method": method}


def run_dask(emu: Emulator, *, quick: bool = False) -> Section:
    """The Dask read on a local cluster vs the same partitions fetched serially.

    Parameters
    ----------
    emu : Emulator
        The suite's emulator (unused: this section starts its own).
    quick : bool
        2 workers, 50 ms latency, 6 months (the target does not apply).

    Returns
    -------
    Section
    """
    workers, latency_ms, months = (2, 50, 6) if quick else (4, 200, 24)
    threads = 2  # per worker: the partitions wait on the network, not on the CPU
    rounds = 1 if quick else 3
    section = Section(
        title="7. Dask read: local cluster vs serial",
        note=(
            f"`upstack_pandas.dask.read_upstack` of {len(DASK_MEASURES)} measures, daily, one pixel, "
            f"{months} months (one partition each), {latency_ms} ms of injected latency per "
            f'query request; computed with `scheduler="sync"` (one partition after another, '
            f"in this process) and on a `distributed.LocalCluster` of {workers} worker "
            f"processes ({threads} threads each; started and warmed up before timing: each "
            "worker's client and its catalog are built once and reused); median of "
            f"{rounds} interleaved "
            "round(s). "
            f"Target: serial / cluster ≥ {DASK_LIMIT:g}x."
        ),
        headers=["compute", "partitions", "time", "serial / this", "target", "result"],
    )
    try:
        import distributed

        import upstack_pandas.dask as upd
    except ImportError as exc:
        section.rows.append(
            [f"skipped: {exc.name} is not installed (the dask extra)", "", "", "", "", ""]
        )
        return section
    import pandas as pd

    start = _start(months)
    with (
        _emulator(1) as single,
        tempfile.TemporaryDirectory() as tmp,
        _environment(single, Path(tmp)),
        distributed.LocalCluster(n_workers=workers, threads_per_worker=threads, processes=True,
                                 dashboard_address=":0") as cluster,
        distributed.Client(cluster) as client,
    ):  # fmt: skip
        ddf = upd.read_upstack(DASK_MEASURES, start, "2026-10-31", profiles="pixel-1")
        assert ddf.npartitions == months
        reference = ddf.compute(scheduler="sync")  # warm-up: engine, clients
        client.compute(ddf).result()
        times: dict[str, list[float]] = {"serial": [], "cluster": []}
        single.inject("latency", path="/db-mgmt/api/query", latency_ms=latency_ms)
        try:
            for _ in range(rounds):
                for name in times:
                    began = time.perf_counter()
                    got = (
                        ddf.compute(scheduler="sync")
                        if name == "serial"
                        else client.compute(ddf).result()
                    )
                    times[name].append(time.perf_counter() - began)
                    pd.testing.assert_frame_equal(got, reference)
        finally:
            single.clear_faults()
    med = {name: statistics.median(values) for name, values in times.items()}
    speedup = med["serial"] / med["cluster"]
    check = Check(f"dask read, {latency_ms} ms latency: serial / {workers} workers", speedup,
                  DASK_LIMIT, op=">=", applies=not quick)  # fmt: skip
    section.checks.append(check)
    section.rows += [
        ["serial (`scheduler=\"sync\"`)", str(months), fmt_seconds(med["serial"]), "1.00x", "", ""],
        [f"LocalCluster, {workers} processes x {threads} threads", str(months), fmt_seconds(med["cluster"]),
         check.show(speedup), f"≥ {check.show(DASK_LIMIT)}", check.result],
    ]  # fmt: skip
    return section


if __name__ == "__main__":
    print(json.dumps(_memory_child(sys.argv[1], int(sys.argv[2]), int(sys.argv[3]))))
