"""Smoke test of the ``dataload`` benchmark section: a tiny export loads and is reported."""

from __future__ import annotations

import tempfile
from pathlib import Path
from types import ModuleType

import pytest

from tests._benchmarks import benchmark_module


@pytest.fixture(scope="module")
def bench() -> ModuleType:
    return benchmark_module("bench_data_load")


def test_a_tiny_export_is_cached_and_loaded(
    bench: ModuleType, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    section = bench.run(quick=True, cases=[(0.02, "csv")])
    files = bench.data_dir(0.02, "csv")  # cached: not exported again
    assert files.parent.parent == tmp_path / "upstack-bench-data"
    assert sorted(p.name for p in files.iterdir()) == ["ad_spend.csv", "orders.csv", "sessions.csv"]
    (row,) = section.rows
    assert len(row) == len(section.headers) and row[0].startswith("scale 0.02: ")
    assert "load " in row[5] and row[6].endswith(" MB")
    assert section.checks == []  # targets at scale 16 parquet only
