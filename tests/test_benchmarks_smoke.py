"""Smoke test of the benchmark suite: ``--quick`` runs and writes its tables (no timing asserts);
``--baseline`` loads a revision's conversion beside today's (or says why it cannot)."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path
from types import ModuleType

import pandas as pd
import pytest

from tests._benchmarks import ROOT, benchmark_module
from upstack_pandas.emulator.http.server import Emulator


@pytest.fixture(scope="module")
def run() -> ModuleType:
    """``benchmarks.run`` (the package lives beside the library, at the repository root)."""
    return benchmark_module("run")


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
    assert len(checks) == 6 and all(c.result in ("PASS", "**FAIL**", "n/a (quick)") for c in checks)
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


def _git_head_available() -> bool:
    if shutil.which("git") is None:
        return False
    found = subprocess.run(
        ["git", "-C", str(ROOT), "cat-file", "-e", "HEAD:benchmarks/bench_frames.py"],
        capture_output=True,
        check=False,
    )
    return found.returncode == 0


needs_git = pytest.mark.skipif(
    not _git_head_available(),
    reason="no git, or not a git work tree with benchmarks/bench_frames.py at HEAD (sdist)",
)


@needs_git
def test_baseline_option_times_head_beside_the_pure_path(
    run: ModuleType, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(run, "BASELINE_TARGET_CELLS", (1_000,))  # the target's size, made tiny
    (times,) = run.conversion([1_000], [], quick=True, baseline_rev="HEAD")
    head = subprocess.run(
        ["git", "-C", str(ROOT), "rev-parse", "HEAD"], capture_output=True, text=True, check=True
    ).stdout.strip()
    assert times.headers[-1] == "pure / baseline"
    label = times.headers[-2].removeprefix("baseline ")
    assert label.startswith(f"{head[:7]} (") and label.endswith(")")
    assert "`--baseline HEAD`" in times.note and "pure / baseline ≤ 1.05x" in times.note
    assert len(times.rows) == 2  # 1k cells, without and with dimensions
    ratios = []
    for row in times.rows:
        assert len(row) == len(times.headers)
        cpu_ratio, wall = row[-1].split("x (wall ")
        assert wall.endswith("x)") and float(wall.removesuffix("x)")) > 0
        ratios.append(float(cpu_ratio))
        assert row[-2].startswith("CPU ")
    checks = [c for c in times.checks if "baseline" in c.name]
    assert [c.name for c in checks] == [
        f"conversion, pure / baseline {label}, 1k cells, no dimensions",
        f"conversion, pure / baseline {label}, 1k cells, 2 dimensions",
    ]
    assert all(c.limit == 1.05 and c.op == "<=" for c in checks)
    assert [round(c.value, 2) for c in checks] == ratios
    assert not [m for m in sys.modules if m.startswith("_upstack_baseline_")]  # closed


@needs_git
def test_baseline_is_loaded_under_its_own_name_and_converts_like_today(tmp_path: Path) -> None:
    import upstack_pandas._frames.decode as today

    baseline, bench_frames = benchmark_module("baseline"), benchmark_module("bench_frames")

    body, measures = bench_frames.make_body(2_000, bench_frames.DIMS)
    with baseline.loaded("HEAD") as base:
        names = [m for m in sys.modules if m.startswith(f"_upstack_baseline_{base.commit[:10]}")]
        assert f"_upstack_baseline_{base.commit[:10]}._frames.decode" in names
        assert base.function == "library_pure"
        frame = base.convert(body, measures, bench_frames.DIMS)
        assert sys.modules["upstack_pandas._frames.decode"] is today  # today's modules stay
        directory = Path(base._directory)
        assert (
            directory / f"_upstack_baseline_{base.commit[:10]}" / "_frames" / "decode.py"
        ).exists()
    pd.testing.assert_frame_equal(
        frame, bench_frames.library_pure(body, measures, bench_frames.DIMS), check_exact=True
    )
    assert not directory.exists()
    assert not [m for m in sys.modules if m.startswith(f"_upstack_baseline_{base.commit[:10]}")]


def test_an_unavailable_baseline_is_skipped_with_the_reason(
    run: ModuleType, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from benchmarks import baseline

    (times,) = run.conversion([1_000], [], quick=True, baseline_rev="no-such-revision-13")
    assert "Baseline `no-such-revision-13` skipped: revision 'no-such-revision-13' is not in" in (
        times.note
    )
    assert "pure / baseline" not in times.headers and len(times.rows[0]) == len(times.headers)
    assert "baseline no-such-revision-13 skipped" in capsys.readouterr().err

    monkeypatch.setattr(baseline.shutil, "which", lambda name: None)
    with pytest.raises(baseline.BaselineUnavailable, match="git is not installed"):
        baseline.load("HEAD")


def test_baseline_option_parses(run: ModuleType) -> None:
    from benchmarks import baseline

    parser = run._parser()
    assert parser.parse_args([]).baseline is None
    assert parser.parse_args(["--baseline"]).baseline == baseline.ISSUE_13
    assert parser.parse_args(["--baseline", "HEAD~2"]).baseline == "HEAD~2"
