"""Smoke test of the benchmark suite: ``--quick`` runs and writes its tables (no timing asserts)."""

from __future__ import annotations

import importlib
import sys
from pathlib import Path
from types import ModuleType

import pytest

from upstack_pandas.emulator.http.server import Emulator

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def run() -> ModuleType:
    """``benchmarks.run`` (the package lives beside the library, at the repository root)."""
    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))
    return importlib.import_module("benchmarks.run")


def test_quick_suite_writes_every_section_between_the_markers(
    run: ModuleType, tmp_path: Path, emulator: Emulator, capsys: pytest.CaptureFixture[str]
) -> None:
    report = tmp_path / "benchmarks.md"
    report.write_text(
        f"# Benchmarks\n\nprose before\n\n{run.START}\nold table\n{run.END}\n\nprose after\n"
    )
    assert run.main(["--quick", "--sections", "conversion,memory", "--output", str(report)]) == 0
    sections = run.run_sections(["cache", "chunks", "emulator"], quick=True, emulator=emulator)
    run.write_report(report, run.render(sections, quick=True))

    text = report.read_text()
    assert text.count(run.START) == text.count(run.END) == 1
    assert "old table" not in text
    assert text.startswith("# Benchmarks\n\nprose before\n") and text.endswith("\n\nprose after\n")
    for title in ("5. Emulator latency", "4. Long ranges", "3. Cache hit vs cold", "| target |"):
        assert title in text
    printed = capsys.readouterr().out
    for title in ("1. Response to DataFrame", "2. Peak memory", "| 10k | 2 |"):
        assert title in printed
    checks = [c for s in sections for c in s.checks]
    assert len(checks) == 6 and all(
        c.result in ("PASS", "**FAIL**", "n/a (quick)") for c in checks
    )
    guards = [c for c in checks if c.applies]  # only run.QUICK_GUARDS decide a quick run
    assert all(c.name in run.QUICK_GUARDS for c in guards)
    assert all(c.result == "n/a (quick)" for c in checks if c.name not in run.QUICK_GUARDS)
    assert not emulator.injector.active()  # the latency fault was removed


def test_write_report_creates_the_file_and_adds_markers(run: ModuleType, tmp_path: Path) -> None:
    fresh = tmp_path / "new.md"
    run.write_report(fresh, "table one\n")
    assert f"{run.START}\ntable one\n{run.END}" in fresh.read_text()
    run.write_report(fresh, "table two\n")
    assert "table one" not in fresh.read_text() and "table two" in fresh.read_text()

    plain = tmp_path / "plain.md"
    plain.write_text("# Title\n\nno markers yet\n")
    run.write_report(plain, "generated\n")
    assert plain.read_text().startswith("# Title\n\nno markers yet\n\n" + run.START)


def test_unknown_section_is_refused(run: ModuleType) -> None:
    with pytest.raises(SystemExit, match="unknown sections"):
        run.main(["--sections", "nope", "--output", "-"])
