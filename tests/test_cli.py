"""The ``upstack-pandas`` command: demo, query, cache; help texts and one-line errors.

Commands run in-process through ``cli.main(argv)`` (one subprocess checks the entry point).
``query`` and ``cache`` use the session's emulator through the environment variables, with a
temporary config file and cache directory, and a fresh default client per test.
"""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pandas as pd
import pytest

import upstack_pandas as up
from upstack_pandas.cli import main
from upstack_pandas.cli._demo_steps import DASHBOARD_NAME
from upstack_pandas.dashboards import Dashboards

if TYPE_CHECKING:
    from upstack_pandas.emulator.http.server import Emulator

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
DEMO_MEASURES = ["core.new_customer_roas", "core.new_customer_mer", "meta.cpm"]
NOW = "2026-11-26T12:00:00Z"
QUERY = ["query", "--measures", "core.new_customer_roas,meta.cpm"]
OCTOBER = ["--start", "2026-10-01", "--end", "2026-10-31"]


def run_cli(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    """Run the command line in-process; return the exit code, stdout and stderr."""
    try:
        code = main(argv)
    except SystemExit as exc:  # argparse: --help, usage errors
        code = exc.code if isinstance(exc.code, int) else 1
    out, err = capsys.readouterr()
    return code, out, err


def assert_one_line_error(code: int, err: str, prog: str) -> None:
    assert code != 0
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith(f"upstack-pandas {prog}: error: "), err


@pytest.fixture
def no_credentials(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """An environment without credentials: empty config file, private cache directory."""
    config = tmp_path / "upstackrc"
    config.write_text("")
    for name in ("UPSTACK_API_KEY", "UPSTACK_PIXEL_ID", "UPSTACK_BASE_URL", "UPSTACK_PROFILE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("UPSTACK_CONFIG", str(config))
    monkeypatch.setenv("UPSTACK_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.chdir(tmp_path)
    up.set_default_client(None)
    yield tmp_path / "cache"
    up.set_default_client(None)


@pytest.fixture
def env_emulator(
    emulator: Emulator, no_credentials: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Path]:
    """Credentials of the session's emulator in the environment; yields the cache directory."""
    monkeypatch.setenv("UPSTACK_API_KEY", emulator.api_key)
    monkeypatch.setenv("UPSTACK_PIXEL_ID", emulator.pixel_id)
    monkeypatch.setenv("UPSTACK_BASE_URL", emulator.url)
    yield no_credentials
    up.get_default_client().close()
    up.set_default_client(None)


# -- help ---------------------------------------------------------------------------------


def test_top_level_help_lists_every_command(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run_cli(["--help"], capsys)
    assert code == 0
    for command in ("demo", "query", "cache", "emulator"):
        assert f"    {command} " in out


def test_no_command_prints_help_and_exits_2(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run_cli([], capsys)
    assert code == 2
    assert "commands:" in out


@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        (["demo"], "--live"),
        (["query"], "--measures"),
        (["cache"], "clear"),
        (["cache", "info"], "credentials"),
        (["cache", "clear"], "--expired-only"),
    ],
)
def test_help_of_each_command(
    argv: list[str], expected: str, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = run_cli([*argv, "--help"], capsys)
    assert code == 0
    assert out.startswith(f"usage: upstack-pandas {' '.join(argv)}")
    assert expected in out


def test_entry_point_runs_as_a_module() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "upstack_pandas.cli", "query", "--help"],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert "--granularity" in done.stdout


# -- demo ---------------------------------------------------------------------------------


def test_demo_end_to_end(
    tmp_path: Path,
    no_credentials: Path,
    client: up.Client,
    capsys: pytest.CaptureFixture[str],
) -> None:
    out_dir = tmp_path / "demo"
    code, out, err = run_cli(["demo", "--out", str(out_dir), "--now", NOW], capsys)
    assert code == 0, err
    names = ["query.parquet", "cohorts.parquet", "sparklines.png", "cohort_heatmap.png"]
    for name in [*names, "dashboard.html"]:
        assert (out_dir / name).stat().st_size > 0, name
        assert name in out
    for png in ("sparklines.png", "cohort_heatmap.png"):
        assert (out_dir / png).read_bytes().startswith(PNG_SIGNATURE)
    query = up.read_parquet(out_dir / "query.parquet")
    assert list(query.attrs["upstack"]["measures"]) == DEMO_MEASURES
    # the last 30 days end on the emulator's today; default seed 7 = the session emulator's data
    expected = up.read_upstack(DEMO_MEASURES, "2026-10-28", "2026-11-26", client=client)
    pd.testing.assert_frame_equal(query, expected)
    assert isinstance(query.index, pd.DatetimeIndex) and str(query.index.tz) == "UTC"
    cohorts = up.read_parquet(out_dir / "cohorts.parquet")
    assert list(cohorts.index.names) == ["cohort", "period"]
    assert len(cohorts.attrs["upstack"]["cohortSizes"]) == 12
    for measure in DEMO_MEASURES:
        assert measure in out
    for heading in ("Measures catalog", "Summary", "Dashboard view", "Monthly cohorts"):
        assert heading in out
    assert "same values, index, time zone and metadata" in out
    assert not list(no_credentials.glob("*.sqlite")), "the demo must not touch the user's cache"


def test_demo_honours_seed(
    tmp_path: Path,
    no_credentials: Path,
    client: up.Client,
    capsys: pytest.CaptureFixture[str],
) -> None:
    argv = ["demo", "--out", str(tmp_path / "demo"), "--now", NOW, "--seed", "8"]
    code, out, err = run_cli(argv, capsys)
    assert code == 0, err
    assert "seed 8" in out.splitlines()[0]
    query = up.read_parquet(tmp_path / "demo" / "query.parquet")
    seven = up.read_upstack(DEMO_MEASURES, "2026-10-28", "2026-11-26", client=client)
    assert query.index.equals(seven.index)
    assert not query.equals(seven)


def test_demo_live_uses_the_configured_credentials(
    env_emulator: Path, tmp_path: Path, client: up.Client, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = run_cli(["demo", "--live", "--out", str(tmp_path / "live")], capsys)
    views = Dashboards(client)
    listed = views.list()
    for view_id in listed.index[listed["name"] == DASHBOARD_NAME]:  # clean the shared emulator
        views.delete(view_id)
    assert code == 0, err
    assert out.startswith(f"upstack-pandas demo: the Upstack Data API at {client.base_url}")
    assert "remove it with up.dashboards.delete(" in out
    assert (tmp_path / "live" / "query.parquet").is_file()


@pytest.mark.parametrize(
    ("argv", "needle"),
    [
        (["--live", "--seed", "3"], "cannot go with --live"),
        (["--now", "yesterday"], "expected an ISO date or datetime"),
    ],
)
def test_demo_bad_options(
    argv: list[str], needle: str, no_credentials: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _, err = run_cli(["demo", *argv], capsys)
    assert code != 0
    assert needle in err.strip().splitlines()[-1]


def test_demo_out_is_a_file(
    tmp_path: Path, no_credentials: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    target = tmp_path / "taken"
    target.write_text("")
    code, _, err = run_cli(["demo", "--out", str(target)], capsys)
    assert_one_line_error(code, err, "demo")
    assert "--out" in err


def test_demo_live_without_credentials_is_one_line(
    tmp_path: Path, no_credentials: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _, err = run_cli(["demo", "--live", "--out", str(tmp_path / "x")], capsys)
    assert_one_line_error(code, err, "demo")
    assert "no API key found" in err


# -- query --------------------------------------------------------------------------------


def test_query_to_parquet_keeps_frame_and_metadata(
    env_emulator: Path, tmp_path: Path, client: up.Client, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "october.parquet"
    code, out, err = run_cli([*QUERY, *OCTOBER, "--out", str(path)], capsys)
    assert code == 0, err
    assert "Wrote 31 rows x 2 measures" in out
    back = up.read_parquet(path)
    expected = up.read_upstack(
        ["core.new_customer_roas", "meta.cpm"], "2026-10-01", "2026-10-31", client=client
    )
    pd.testing.assert_frame_equal(back, expected)
    meta = back.attrs["upstack"]
    assert meta["dateRange"] == {"start": "2026-10-01", "end": "2026-10-31"}
    assert meta["measures"]["meta.cpm"]["format"] == "currency"


def test_query_to_csv_with_titles_and_dimensions(
    env_emulator: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "by_source.csv"
    argv = ["query", "--measures", "NC ROAS,core.new_customer_mer", *OCTOBER]
    argv += ["--granularity", "none", "--dimensions", "channel", "--out", str(path)]
    code, _, err = run_cli(argv, capsys)
    assert code == 0, err
    frame = pd.read_csv(path)
    assert list(frame.columns) == ["channel", "core.new_customer_roas", "core.new_customer_mer"]
    assert frame["channel"].is_unique and len(frame) > 1


def test_query_prints_formatted_table(
    env_emulator: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = run_cli([*QUERY, *OCTOBER, "--timezone", "America/New_York"], capsys)
    assert code == 0, err
    lines = out.strip().splitlines()
    assert "core.new_customer_roas" in lines[0] and "meta.cpm" in lines[0]
    assert lines[1].startswith("dt")
    assert len(lines) == 2 + 31
    assert "2026-10-01 00:00:00-04:00" in lines[2]
    assert "$" in lines[2] and "x" in lines[2]  # currency and multiplier formats


def test_query_with_filter(env_emulator: Path, capsys: pytest.CaptureFixture[str]) -> None:
    condition = '{"field": "orders.customer_type", "op": "equals", "value": "new_customer"}'
    argv = ["query", "--measures", "core.new_customer_roas", *OCTOBER, "--raw"]
    code, out, err = run_cli([*argv, "--filter", condition, "--granularity", "none"], capsys)
    assert code == 0, err
    assert "core.new_customer_roas" in out


def test_query_on_embedded_emulator(
    no_credentials: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "cpm.csv"
    code, out, err = run_cli(
        ["query", "--emulator", "--measures", "meta.cpm", "--out", str(path)], capsys
    )
    assert code == 0, err
    assert "Wrote 30 rows x 1 measures" in out
    assert list(pd.read_csv(path).columns) == ["dt", "meta.cpm"]


@pytest.mark.parametrize(
    ("argv", "needle"),
    [
        ([*QUERY, "--out", "report.txt"], "unknown file type '.txt'"),
        ([*QUERY, "--filter", "{"], "--filter is not valid JSON"),
        ([*QUERY, "--filter", "[1, 2]"], "--filter must be a JSON object"),
        (["query", "--measures", "core.no_such_measure"], "core.no_such_measure"),
        (["query", "--measures", " , "], "--measures"),
        ([*QUERY, "--start", "2026-10-31", "--end", "2026-10-01"], "2026-10-01"),
        ([*QUERY, "--timezone", "Mars/Olympus_Mons"], "Mars/Olympus_Mons"),
        ([*QUERY, "--dimensions", "no_such_dimension"], "no_such_dimension"),
    ],
)
def test_query_bad_input_is_one_line(
    argv: list[str], needle: str, env_emulator: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _, err = run_cli(argv, capsys)
    assert_one_line_error(code, err, "query")
    assert needle in err


def test_query_server_error_is_one_line_with_request_id(
    emulator: Emulator, env_emulator: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    emulator.inject("status", path="/db-mgmt/api/query", status=500, count=1)
    try:
        code, _, err = run_cli([*QUERY, *OCTOBER, "--refresh"], capsys)
    finally:
        emulator.clear_faults()
    assert_one_line_error(code, err, "query")
    assert "500" in err and "Request id: req_" in err


def test_query_without_credentials_suggests_the_emulator(
    no_credentials: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _, err = run_cli(QUERY, capsys)
    assert_one_line_error(code, err, "query")
    assert "UPSTACK_API_KEY" in err and "--emulator" in err


def test_query_usage_error_exits_2(capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run_cli([*QUERY, "--start", "Oct 1"], capsys)
    assert code == 2
    assert err.strip().splitlines()[-1].endswith("expected a date as YYYY-MM-DD, got 'Oct 1'")


# -- cache --------------------------------------------------------------------------------


def test_cache_info_and_clear(env_emulator: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert run_cli([*QUERY, *OCTOBER], capsys)[0] == 0
    code, out, err = run_cli(["cache", "info"], capsys)
    assert code == 0, err
    assert str(env_emulator) in out
    entries = int(out.split("entries:")[1].split()[0])
    assert entries >= 1
    assert "CachePolicy(" in out
    code, out, _ = run_cli(["cache", "clear", "--expired-only"], capsys)
    assert code == 0
    assert out.startswith("Removed 0 expired response(s)")
    code, out, _ = run_cli(["cache", "clear"], capsys)
    assert code == 0
    assert out.startswith(f"Removed {entries} cached response(s)")
    code, out, _ = run_cli(["cache", "info"], capsys)
    assert "entries:  0" in out


def test_cache_clear_all_deletes_every_file(
    env_emulator: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run_cli([*QUERY, *OCTOBER], capsys)[0] == 0
    up.get_default_client().close()
    assert list(env_emulator.glob("*.sqlite"))
    code, out, _ = run_cli(["cache", "clear", "--all"], capsys)
    assert code == 0
    assert out.startswith("Deleted 1 cache file(s)")
    assert not list(env_emulator.glob("*.sqlite*"))


def test_cache_without_credentials(
    no_credentials: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = run_cli(["cache", "info"], capsys)
    assert code == 0
    assert "No credentials configured" in out
    assert f"Cache directory {no_credentials}: 0 file(s)" in out
    code, _, err = run_cli(["cache", "clear"], capsys)
    assert_one_line_error(code, err, "cache")
    assert "--all" in err


def test_cache_needs_an_action(capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run_cli(["cache"], capsys)
    assert code == 2
    assert "ACTION" in err
