"""``up.sync`` and ``up.read_dataset``: layout, incremental re-runs, changed requests,
per-pixel failure isolation, concurrent syncs, and what pandas and DuckDB read."""

from __future__ import annotations

import datetime as dt
import json
import threading
import time
from pathlib import Path

import pandas as pd
import pytest
from _multi_pixel import PROFILES, multi_emulator, rc_env

import upstack_pandas as up
from upstack_pandas._frames.builders import DATETIME_UNIT
from upstack_pandas.datasets import (
    DatasetLocked,
    DatasetMismatch,
    SyncFailed,
    SyncSummary,
)
from upstack_pandas.datasets.lock import DatasetLock
from upstack_pandas.datasets.plan import Window, is_settled, month_windows, needs_fetch
from upstack_pandas.emulator.http.server import Emulator

__all__ = ["multi_emulator", "rc_env"]  # fixtures used here

MEASURES = ["orders.orders", "NC ROAS"]  # a title on purpose: stored as its id
IDS = ["orders.orders", "core.new_customer_roas"]
Q1 = ("2026-01-01", "2026-03-31")



def _reference(profile: str, start: str, end: str, **kwargs: object) -> pd.DataFrame:
    """One single request of the pandas reader for the whole range (computed independently)."""
    with up.Client(profile=profile, cache=False) as client:
        frame = up.read_upstack(IDS, start, end, compare=False, client=client, **kwargs)  # type: ignore[arg-type]
    frame.attrs = {}
    return frame


def _windows(root: Path, pixel: str) -> dict[str, dict[str, object]]:
    data = json.loads((root / "_upstack" / "manifest" / f"{pixel}.json").read_text())
    return data["windows"]  # type: ignore[no-any-return]


def _stable(root: Path, pixel: str) -> dict[str, dict[str, object]]:
    return {
        k: {f: v for f, v in e.items() if f != "fetchedAt"}
        for k, e in _windows(root, pixel).items()
    }


def _sorted_parquet(root: Path) -> pd.DataFrame:
    frame = pd.read_parquet(root)
    frame = frame.astype({"pixel": str, "period": str})
    return frame.sort_values(["pixel", "dt", "channel"]).reset_index(drop=True)


def test_sync_writes_a_hive_dataset_that_pandas_duckdb_and_read_dataset_read(
    multi_emulator: Emulator, rc_env: Path, tmp_path: Path
) -> None:
    root = tmp_path / "shops"
    summary = up.sync(root, MEASURES, *Q1, dimensions="channel", profiles=PROFILES,
                      as_of="2026-11-26")  # fmt: skip
    assert isinstance(summary, SyncSummary) and summary.ok
    assert (summary.fetched, summary.skipped, summary.failed) == (9, 0, 0)
    pixels = list(multi_emulator.pixel_ids)
    files = sorted(p.relative_to(root).as_posix() for p in root.rglob("*.parquet"))
    assert files == sorted(
        f"pixel={p}/period=2026-0{m}/data.parquet" for p in pixels for m in (1, 2, 3)
    )
    references = {
        p: _reference(n, *Q1, dimensions="channel") for n, p in zip(PROFILES, pixels, strict=True)
    }

    # up.read_dataset: pixel as the first index level, the reader's dtypes and values
    df = up.read_dataset(root)
    assert df.index.names == ["pixel", "dt", "channel"]
    assert list(df.columns) == IDS
    for pixel, expected in references.items():
        got = df.xs(pixel, level="pixel")
        pd.testing.assert_frame_equal(got, expected.sort_index(), check_freq=False)
    assert str(df.index.dtypes["dt"]) == f"datetime64[{DATETIME_UNIT}, UTC]"  # the reader's unit
    meta = df.attrs["upstack"]
    assert meta["request"]["measures"] == IDS and "pixelId" not in meta["request"]
    assert meta["measures"]["core.new_customer_roas"]["title"]
    assert meta["measures"]["orders.orders"]["primarySum"] is None  # no cross-pixel totals
    assert meta["dataset"]["pixels"] == sorted(pixels)
    assert meta["dateRange"] == {"start": "2026-01-01", "end": "2026-03-31"}

    # plain pandas: hive columns pixel and period, same rows
    raw = _sorted_parquet(root)
    assert list(raw.columns) == ["dt", "channel", *IDS, "pixel", "period"]
    assert len(raw) == sum(len(r) for r in references.values())
    assert (raw["period"] == raw["dt"].dt.strftime("%Y-%m")).all()

    # DuckDB reads the same files
    import duckdb

    counts = duckdb.sql(
        f'SELECT pixel, count(*) AS n, sum("orders.orders") AS orders FROM read_parquet('
        f"'{root.as_posix()}/*/*/*.parquet', hive_partitioning = true) GROUP BY pixel"
    ).fetchall()
    assert {p: (n, o) for p, n, o in counts} == {
        p: (len(r), r["orders.orders"].sum()) for p, r in references.items()
    }

    # subsets
    part = up.read_dataset(root, pixels=pixels[1], start="2026-02-10", end="2026-02-12",
                           columns=["orders.orders"])  # fmt: skip
    expected = references[pixels[1]].loc["2026-02-10":"2026-02-12", ["orders.orders"]]
    pd.testing.assert_frame_equal(part.droplevel("pixel"), expected.sort_index(), check_freq=False)

    # no key in any file of the dataset
    blob = b"".join(p.read_bytes() for p in root.rglob("*") if p.is_file())
    for pixel in pixels:
        assert multi_emulator.pixel_key(pixel).encode() not in blob


def test_rerun_fetches_only_missing_and_provisional_windows(
    multi_emulator: Emulator, rc_env: Path, tmp_path: Path
) -> None:
    root = tmp_path / "daily"
    pixels = multi_emulator.pixel_ids[:2]
    first = up.sync(root, IDS, "2026-01-01", "2026-03-15", profiles=PROFILES[:2],
                    as_of="2026-03-15")  # fmt: skip
    assert first.fetched == 6
    assert {p: e["status"] for p, e in _windows(root, pixels[0]).items()} == {
        "2026-01": "settled", "2026-02": "settled", "2026-03": "provisional",
    }  # fmt: skip
    settled_before = _windows(root, pixels[0])["2026-01"]["fetchedAt"]

    # the next day: only March (provisional, and its range grew) is fetched again
    second = up.sync(root, IDS, "2026-01-01", "2026-03-16", profiles=PROFILES[:2],
                     as_of="2026-03-16")  # fmt: skip
    for pixel in pixels:
        report = second.pixels[pixel]
        assert report.fetched == ["2026-03"] and report.skipped == ["2026-01", "2026-02"]
    assert _windows(root, pixels[0])["2026-01"]["fetchedAt"] == settled_before
    assert _windows(root, pixels[0])["2026-03"]["end"] == "2026-03-16"
    df = up.read_dataset(root)
    pd.testing.assert_frame_equal(
        df.xs(pixels[1], level="pixel"),
        _reference("pixel-2", "2026-01-01", "2026-03-16"),
        check_freq=False,
    )

    # a third pixel joins: only its windows are fetched; an earlier start adds December
    third = up.sync(root, IDS, "2025-12-01", "2026-03-16", profiles=PROFILES, as_of="2026-03-16")
    assert third.pixels[multi_emulator.pixel_ids[2]].fetched == [
        "2025-12",
        "2026-01",
        "2026-02",
        "2026-03",
    ]
    assert third.pixels[pixels[0]].fetched == ["2025-12", "2026-03"]


def test_settled_and_provisional_rules() -> None:
    assert month_windows(dt.date(2026, 1, 15), dt.date(2026, 3, 2)) == [
        ("2026-01", dt.date(2026, 1, 15), dt.date(2026, 1, 31)),
        ("2026-02", dt.date(2026, 2, 1), dt.date(2026, 2, 28)),
        ("2026-03", dt.date(2026, 3, 1), dt.date(2026, 3, 2)),
    ]
    feb_end = dt.date(2026, 2, 28)
    assert not is_settled(feb_end, dt.date(2026, 3, 3), 3)  # 2-28 is inside 3 days of 3-03
    assert is_settled(feb_end, dt.date(2026, 3, 4), 3)
    assert is_settled(feb_end, dt.date(2026, 3, 1), 0)
    window = Window("px", "2026-02", dt.date(2026, 2, 1), feb_end)
    entry = {"start": "2026-02-01", "end": "2026-02-28", "fingerprint": "f", "status": "settled"}
    assert needs_fetch(None, window, "f") == "missing"
    assert needs_fetch(entry, window, "f") is None
    assert needs_fetch(entry, window, "g") == "request changed"
    assert needs_fetch({**entry, "status": "provisional"}, window, "f") == "provisional"
    assert needs_fetch({**entry, "end": "2026-02-20"}, window, "f") == "range grew"


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"measures": ["orders.orders"]}, "measures"),
        ({"dimensions": "channel"}, "dimensions"),
        (
            {"filters": {"field": "orders.customer_type", "op": "equals", "value": "new_customer"}},
            "filters",
        ),
        ({"timezone": "America/New_York"}, "timezone"),
        ({"granularity": "hour"}, "granularity"),
    ],
)
def test_a_changed_request_is_refused_and_nothing_changes(
    multi_emulator: Emulator, rc_env: Path, tmp_path: Path, change: dict[str, object], field: str
) -> None:
    root = tmp_path / "one"
    base: dict[str, object] = {"measures": IDS, "profiles": "pixel-1", "as_of": "2026-11-26"}
    up.sync(root, start="2026-01-01", end="2026-01-31", **base)  # type: ignore[arg-type]
    before = {p: p.stat().st_mtime_ns for p in root.rglob("*") if p.is_file()}
    with pytest.raises(DatasetMismatch) as info:
        up.sync(root, start="2026-01-01", end="2026-01-31", **{**base, **change})  # type: ignore[arg-type]
    message = str(info.value)
    assert f"{field}:" in message and "rebuild=True" in message and "never a mix" in message
    assert {p: p.stat().st_mtime_ns for p in root.rglob("*") if p.is_file()} == before
    assert isinstance(info.value, ValueError) and isinstance(info.value, up.UpstackError)


def test_rebuild_replaces_the_dataset_with_the_new_request(
    multi_emulator: Emulator, rc_env: Path, tmp_path: Path
) -> None:
    root = tmp_path / "re"
    up.sync(root, IDS, "2026-01-01", "2026-02-28", profiles=PROFILES[:2], as_of="2026-11-26")
    (root / "notes.txt").write_text("mine")
    summary = up.sync(root, ["orders.orders"], "2026-02-01", "2026-02-28", profiles="pixel-1",
                      as_of="2026-11-26", rebuild=True)  # fmt: skip
    assert summary.fetched == 1
    files = sorted(p.relative_to(root).as_posix() for p in root.rglob("*.parquet"))
    assert files == [f"pixel={multi_emulator.pixel_ids[0]}/period=2026-02/data.parquet"]
    assert list(up.read_dataset(root).columns) == ["orders.orders"]
    assert (root / "notes.txt").read_text() == "mine"  # only the dataset's own files go


def test_partitions_without_a_dataset_file_are_refused(
    multi_emulator: Emulator, rc_env: Path, tmp_path: Path
) -> None:
    root = tmp_path / "orphan"
    up.sync(root, IDS, "2026-01-01", "2026-01-31", profiles="pixel-1", as_of="2026-11-26")
    (root / "_upstack" / "dataset.json").unlink()  # e.g. a rebuild interrupted midway
    with pytest.raises(DatasetMismatch, match=r"no _upstack/dataset\.json"):
        up.sync(root, IDS, "2026-01-01", "2026-01-31", profiles="pixel-1", as_of="2026-11-26")
    with pytest.raises(FileNotFoundError, match="holds no dataset"):
        up.read_dataset(root)


def test_one_failing_pixel_does_not_lose_the_others(
    multi_emulator: Emulator, rc_env: Path, tmp_path: Path
) -> None:
    root = tmp_path / "faulty"
    first, second, third = multi_emulator.pixel_ids
    multi_emulator.inject("status", path="/db-mgmt/api/query", status=500, pixel_id=second)
    try:
        summary = up.sync(root, IDS, *Q1, profiles=PROFILES, as_of="2026-11-26", max_workers=2)
    finally:
        multi_emulator.clear_faults()
    assert not summary.ok and summary.failed_pixels == [second]
    bad = summary.pixels[second]
    assert bad.fetched == [] and len(bad.failed) >= 1
    assert sorted([*bad.failed, *bad.not_attempted]) == ["2026-01", "2026-02", "2026-03"]
    assert all(e.startswith("ServerError: ") for e in bad.failed.values())
    for pixel in (first, third):
        assert summary.pixels[pixel].fetched == ["2026-01", "2026-02", "2026-03"]
    table = summary.to_frame()
    assert table.loc[second, "fetched"] == 0 and table.loc[first, "fetched"] == 3
    assert "FAILED for " + second in repr(summary)
    with pytest.raises(
        SyncFailed, match=f"1 of 3 pixels failed; the others were written.*{second}"
    ):
        summary.raise_for_failures()
    text = repr(summary) + table.to_string()
    assert multi_emulator.pixel_key(second) not in text
    df = up.read_dataset(root)
    assert sorted(df.index.get_level_values("pixel").unique()) == sorted([first, third])

    # the next run fetches the failed pixel only
    again = up.sync(root, IDS, *Q1, profiles=PROFILES, as_of="2026-11-26")
    assert again.ok
    assert again.pixels[second].fetched == ["2026-01", "2026-02", "2026-03"]
    assert again.pixels[first].fetched == [] and again.pixels[first].skipped == [
        "2026-01",
        "2026-02",
        "2026-03",
    ]


def test_a_second_sync_fails_clearly_or_waits(
    multi_emulator: Emulator, rc_env: Path, tmp_path: Path
) -> None:
    root = tmp_path / "busy"
    multi_emulator.inject("latency", path="/db-mgmt/api/query", latency_ms=400)
    errors: list[BaseException] = []

    def slow() -> None:
        try:
            up.sync(root, IDS, *Q1, profiles="pixel-1", as_of="2026-11-26", scheduler="sync")
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    worker = threading.Thread(target=slow)
    try:
        worker.start()
        lock = root / "_upstack" / "lock"
        deadline = time.monotonic() + 30
        while not lock.exists():
            assert time.monotonic() < deadline, "the first sync never took the lock"
            time.sleep(0.02)
        with pytest.raises(DatasetLocked, match=r"another sync of .* is running \(process \d+"):
            up.sync(root, IDS, *Q1, profiles="pixel-1", as_of="2026-11-26")
        waited = up.sync(root, IDS, *Q1, profiles="pixel-1", as_of="2026-11-26", lock_timeout=60)
    finally:
        worker.join(timeout=60)
        multi_emulator.clear_faults()
    assert not errors
    assert waited.ok and waited.fetched == 0 and waited.skipped == 3  # it ran after the first
    assert not (root / "_upstack" / "lock").exists()


def test_a_lock_of_a_dead_process_is_taken_over(tmp_path: Path) -> None:
    import socket
    import subprocess
    import sys

    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True, check=True)  # fmt: skip
    lock_file = tmp_path / "_upstack" / "lock"
    lock_file.parent.mkdir()
    lock_file.write_text(json.dumps({"host": socket.gethostname(), "pid": int(dead.stdout),
                                     "since": "2026-01-01T00:00:00+00:00"}))  # fmt: skip
    with DatasetLock(tmp_path):
        assert json.loads(lock_file.read_text())["pid"] != int(dead.stdout)
    assert not lock_file.exists()
    with DatasetLock(tmp_path), pytest.raises(DatasetLocked, match=r"after waiting 0\.2 s"):
        DatasetLock(tmp_path, timeout=0.2).acquire()


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"granularity": "week"}, ValueError, "granularity='week' cannot be synced"),
        ({"granularity": "none"}, ValueError, "calendar month"),
        ({"settle_days": -1}, ValueError, "settle_days must be an integer >= 0"),
        ({"max_workers": 0}, ValueError, "max_workers must be an integer >= 1"),
        ({"lock_timeout": -1}, ValueError, "lock_timeout must be"),
        ({"profiles": ["pixel-1", "pixel-1"]}, ValueError, "more than once"),
        ({"scheduler": "dask"}, TypeError, "scheduler must be"),
        ({"start": "2026-02-01", "end": "2026-01-01"}, ValueError, "start"),
        ({"measures": "no.such_measure"}, ValueError, "unknown measure"),
    ],
)
def test_bad_arguments_are_refused_before_anything_is_written(
    multi_emulator: Emulator, rc_env: Path, tmp_path: Path, kwargs: dict[str, object],
    error: type, match: str,
) -> None:  # fmt: skip
    args: dict[str, object] = {"measures": IDS, "start": "2026-01-01", "end": "2026-01-31",
                               "profiles": "pixel-1", **kwargs}  # fmt: skip
    with pytest.raises(error, match=match):
        up.sync(tmp_path / "bad", **args)  # type: ignore[arg-type]
    assert not any((tmp_path / "bad").rglob("*.parquet"))


def test_two_profiles_of_one_pixel_are_refused(
    multi_emulator: Emulator, rc_env: Path, tmp_path: Path
) -> None:
    pixel = multi_emulator.pixel_ids[0]
    again = f"\n[again]\napi_key = {multi_emulator.pixel_key(pixel)}\npixel_id = {pixel}\n"
    rc_env.write_text(rc_env.read_text() + again, encoding="utf-8")
    with pytest.raises(ValueError, match="same pixel"):
        up.sync(tmp_path / "x", IDS, "2026-01-01", profiles=["pixel-1", "again"])


def test_a_client_and_the_default_client_work_too(
    multi_emulator: Emulator, rc_env: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with up.Client(profile="pixel-3", cache=False) as client:
        summary = up.sync(tmp_path / "c", IDS, "2026-01-01", "2026-01-31", client=client,
                          as_of="2026-11-26")  # fmt: skip
    assert summary.fetched == 1 and list(summary.pixels) == [multi_emulator.pixel_ids[2]]
    monkeypatch.setenv("UPSTACK_PROFILE", "pixel-2")
    up.set_default_client(None)
    try:
        summary = up.sync(tmp_path / "d", IDS, "2026-01-01", "2026-01-31", as_of="2026-11-26")
    finally:
        up.get_default_client().close()
        up.set_default_client(None)
    assert list(summary.pixels) == [multi_emulator.pixel_ids[1]]
    with pytest.raises(ValueError, match="profiles= or client=, not both"):
        up.sync(tmp_path / "e", IDS, "2026-01-01", client=client, profiles="pixel-1")


def test_progress_bar_counts_the_windows(
    multi_emulator: Emulator,
    rc_env: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from upstack_pandas._readers import progress as _progress

    monkeypatch.setattr(_progress, "DELAY_SECONDS", 0)  # quick windows: show the bar anyway
    up.sync(tmp_path / "p", IDS, *Q1, profiles="pixel-1", as_of="2026-11-26", progress=True)
    err = capsys.readouterr().err
    assert "sync windows" in err and "0/3" in err  # a bar over the 3 windows to fetch


def test_hourly_data_in_a_dst_timezone_round_trips(
    multi_emulator: Emulator, rc_env: Path, tmp_path: Path
) -> None:
    root = tmp_path / "hourly"
    tz = "America/New_York"  # 2026-03-08 has 23 hours there
    summary = up.sync(root, IDS, "2026-02-27", "2026-03-09", granularity="hour", timezone=tz,
                      profiles="pixel-2", as_of="2026-11-26")  # fmt: skip
    assert summary.pixels[multi_emulator.pixel_ids[1]].fetched == ["2026-02", "2026-03"]
    df = up.read_dataset(root)
    expected = _reference("pixel-2", "2026-02-27", "2026-03-09", granularity="hour", timezone=tz)
    pd.testing.assert_frame_equal(df.droplevel("pixel"), expected, check_freq=False)
    assert str(df.index.dtypes["dt"]) == f"datetime64[{DATETIME_UNIT}, {tz}]"
    assert len(df) == 11 * 24 - 1
    march = up.read_dataset(root, start="2026-03-08", end="2026-03-08")
    assert len(march) == 23


def test_worker_clients_follow_the_config_file(multi_emulator: Emulator, rc_env: Path) -> None:
    from upstack_pandas.datasets.fetch import client_for

    first = client_for("pixel-1")
    assert first.pixel_id == multi_emulator.pixel_ids[0]
    assert client_for("pixel-1") is first  # reused while the settings are the same
    text = rc_env.read_text().replace("[pixel-1]", "[old]").replace("[pixel-2]", "[pixel-1]")
    rc_env.write_text(text, encoding="utf-8")
    assert client_for("pixel-1").pixel_id == multi_emulator.pixel_ids[1]


@pytest.mark.parametrize(
    ("dimensions", "timezone"),
    [((), "UTC"), (("channel",), "America/New_York")],
    ids=["plain", "dimensioned"],
)
def test_a_windows_frame_is_the_readers_without_attrs_and_never_computes_them(
    multi_emulator: Emulator,
    rc_env: Path,
    monkeypatch: pytest.MonkeyPatch,
    dimensions: tuple[str, ...],
    timezone: str,
) -> None:
    from upstack_pandas import metadata
    from upstack_pandas.datasets.fetch import client_for, fetch_frame
    from upstack_pandas.datasets.plan import DatasetRequest

    request = DatasetRequest(tuple(IDS), "day", dimensions, timezone=timezone)
    window = Window(multi_emulator.pixel_ids[0], "2026-02", dt.date(2026, 2, 1),
                    dt.date(2026, 2, 28))  # fmt: skip
    expected = _reference("pixel-1", "2026-02-01", "2026-02-28",
                          dimensions=list(dimensions) or None, timezone=timezone)  # fmt: skip
    assert len(expected) >= 28 and set(expected.columns) == set(IDS)

    def never(*args: object, **kwargs: object) -> None:
        raise AssertionError("a window's read computed its attrs")

    monkeypatch.setattr(metadata, "attach", never)
    monkeypatch.setattr(metadata, "scope_of", never)
    monkeypatch.setattr(metadata, "encode_frame", never)
    frame = fetch_frame(client_for("pixel-1"), request, window)
    assert frame.attrs == {}
    pd.testing.assert_frame_equal(frame, expected)  # values, dtypes, index (levels, tz, unit)
    assert list(frame.index.names) == ["dt", *dimensions]
    dt_dtype = frame.index.get_level_values("dt").dtype
    assert str(dt_dtype) == f"datetime64[{DATETIME_UNIT}, {timezone}]"


def test_the_readers_internal_entry_takes_only_its_parameters(
    multi_emulator: Emulator, rc_env: Path
) -> None:
    from upstack_pandas._readers.query import query_arguments

    arguments = query_arguments(IDS, "2026-02-01", "2026-02-28", compare=False)
    assert arguments["granularity"] == "day" and arguments["compare"] is False
    assert arguments["profiles"] is None and arguments["dtypes"] is None
    with pytest.raises(TypeError, match="attrs"):
        query_arguments(IDS, "2026-02-01", "2026-02-28", attrs=False)


def test_scope_checksums_of_every_dtype_match_pandas_sums_and_counts() -> None:
    """The scope's checksums (one pass over the float64 columns) equal pandas' per-column
    ``sum()`` and ``count()``, for NumPy, nullable and Arrow columns alike; other columns
    are left out; an edited value is told."""
    from upstack_pandas import metadata

    index = pd.date_range("2026-02-01", periods=6, freq="D", tz="UTC", name="dt")
    values = [1.5, float("nan"), 2.25, 1e12, -3.0, 0.1]
    frame = pd.DataFrame(
        {
            "a.float": values,
            "note": ["x"] * 6,
            "b.int": pd.array([1, None, 3, 4, 5, 6], dtype="Int64"),
            "c.float": [float("nan")] * 6,
            "d.arrow": pd.array(values, dtype="double[pyarrow]"),
            "e.inf": [1.0, float("inf"), 2.0, 3.0, 4.0, 5.0],
            "f.float": [0.3] * 6,
        },
        index=index,
    )
    ids = ["a.float", "b.int", "c.float", "d.arrow", "e.inf", "f.float"]
    meta = {"granularity": "day", "timezone": "UTC", "measures": {m: {} for m in ids}}
    scope = metadata.scope_of(frame, meta)
    expected = {m: [float(frame[m].astype("float64").sum()), int(frame[m].count())] for m in ids}
    assert scope["checksums"] == expected
    assert expected["a.float"] == [sum(v for v in values if v == v), 5]
    assert expected["c.float"] == [0.0, 0] and expected["e.inf"][0] == float("inf")
    floats = frame[["a.float", "c.float", "f.float"]]  # every column a float64 measure
    assert metadata.scope_of(floats, meta)["checksums"] == {m: expected[m] for m in floats}

    metadata.attach(frame, meta)
    assert metadata.scope_mismatch(frame) == []
    edited = frame.copy()
    edited.iloc[2, 6] = 0.4
    assert metadata.scope_mismatch(edited) == ["the values of f.float changed (scaled or edited)"]


def test_a_windows_read_still_warns_of_a_filter_not_applied(
    multi_emulator: Emulator, rc_env: Path
) -> None:
    from upstack_pandas.datasets.fetch import client_for, fetch_frame
    from upstack_pandas.datasets.plan import DatasetRequest

    condition = {"field": "channel.campaign", "op": "equals", "value": "nope"}
    request = DatasetRequest(("orders.total_revenue",), "day", filters=condition)
    window = Window(multi_emulator.pixel_ids[0], "2026-02", dt.date(2026, 2, 1),
                    dt.date(2026, 2, 7))  # fmt: skip
    with pytest.warns(up.FilterNotAppliedWarning, match="orders.total_revenue"):
        frame = fetch_frame(client_for("pixel-1"), request, window)
    assert frame.attrs == {} and len(frame) == 7
