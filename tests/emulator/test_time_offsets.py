"""Local wall time from UTC offsets (no ICU): equal to DuckDB's ``timezone()`` at every instant."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import duckdb
import pytest

from upstack_pandas.emulator.engine.time import local_sql, utc_offsets

ZONES = ["UTC", "America/New_York", "Europe/London", "Australia/Lord_Howe", "Asia/Kolkata",
         "Pacific/Chatham", "America/Sao_Paulo", "Africa/Casablanca", "America/St_Johns"]  # fmt: skip


def test_offsets_of_a_range_with_two_dst_changes() -> None:
    tz = ZoneInfo("America/New_York")
    lo, hi = datetime(2026, 1, 1, 5, tzinfo=UTC), datetime(2027, 1, 1, 5, tzinfo=UTC)
    us = 1_000_000
    assert utc_offsets(tz, lo, hi) == [
        (int(lo.timestamp()) * us, -5 * 3600 * us),
        (int(datetime(2026, 3, 8, 7, tzinfo=UTC).timestamp()) * us, -4 * 3600 * us),
        (int(datetime(2026, 11, 1, 6, tzinfo=UTC).timestamp()) * us, -5 * 3600 * us),
    ]
    assert utc_offsets(ZoneInfo("UTC"), lo, hi) == [(int(lo.timestamp()) * us, 0)]


@pytest.mark.parametrize("zone", ZONES)
def test_local_time_equals_icu_around_every_change(zone: str) -> None:
    tz = ZoneInfo(zone)
    lo, hi = datetime(2024, 6, 1, tzinfo=UTC), datetime(2026, 6, 1, tzinfo=UTC)
    offsets = utc_offsets(tz, lo, hi)
    instants = [lo + timedelta(hours=7 * i, seconds=13 * i) for i in range(2500)]
    for at, _ in offsets[1:]:  # each side of every change, to the microsecond
        change = datetime(1970, 1, 1, tzinfo=UTC) + timedelta(microseconds=at)
        instants += [change + timedelta(microseconds=d) for d in (-3_600_000_000, -1, 0, 1)]
    instants = [t for t in instants if lo <= t < hi]
    with duckdb.connect() as con:
        con.execute("SET TimeZone = 'UTC'")
        con.execute("CREATE TABLE t (ts TIMESTAMPTZ)")
        con.executemany("INSERT INTO t VALUES (?)", [(t,) for t in instants])
        differ = con.execute(
            f"SELECT count(*) FROM t WHERE timezone($tz, ts) IS DISTINCT FROM {local_sql('ts', offsets)}",
            {"tz": zone},
        ).fetchone()
        assert differ == (0,)
        expected = [(t.astimezone(tz).replace(tzinfo=None),) for t in sorted(instants)]
        assert (
            con.execute(f"SELECT {local_sql('ts', offsets)} FROM t ORDER BY ts").fetchall()
            == expected
        )
