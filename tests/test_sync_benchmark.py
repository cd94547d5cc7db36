"""Smoke test of the many-pixels benchmark sections (``--quick`` sizes; no timing asserts)."""

from __future__ import annotations

import pytest

from tests._benchmarks import benchmark_module

pytestmark = pytest.mark.slow  # a multi-pixel emulator, fresh processes and a local cluster


def test_quick_sync_and_dask_sections_run_and_report_their_targets() -> None:
    pytest.importorskip("distributed")
    bench_sync = benchmark_module("bench_sync")

    sync_section = bench_sync.run(None, quick=True)  # type: ignore[arg-type]
    names = [c.name for c in sync_section.checks]
    assert names == [
        "sync next day / cold, 2 pixels x 12 months",
        "sync peak memory, 2 pixels / 1 pixel",
    ]
    assert all(c.result == "n/a (quick)" for c in sync_section.checks)
    assert sync_section.rows[0][:2] == ["cold sync", "24"]
    assert sync_section.rows[1][:2] == ["next-day sync", "2"]
    dask_section = bench_sync.run_dask(None, quick=True)  # type: ignore[arg-type]
    assert [c.result for c in dask_section.checks] == ["n/a (quick)"]
    from benchmarks import run

    assert {"sync", "dask"} <= set(run.SECTIONS)
