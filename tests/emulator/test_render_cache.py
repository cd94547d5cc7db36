"""Bucket renderings are kept across requests: same strings, a fresh dict each call."""

from __future__ import annotations

from datetime import date
from zoneinfo import ZoneInfo

from upstack_pandas.emulator.engine.time import Buckets, make_period


def test_cached_renderings_are_fresh_dicts_with_the_local_offsets() -> None:
    tz = ZoneInfo("Europe/Berlin")
    buckets = Buckets("day", tz)
    period = make_period(date(2026, 10, 24), date(2026, 10, 26), tz)  # DST ends on the 25th
    keys = buckets.keys(period)
    first = [buckets.render(k, period) for k in keys]
    assert [r["dt"] for r in first] == [
        "2026-10-24T00:00:00+02:00",
        "2026-10-25T00:00:00+02:00",
        "2026-10-26T00:00:00+01:00",
    ]
    assert first[1]["end"] == "2026-10-26T00:00:00+01:00"
    first[0]["dt"] = "changed by a caller"
    again = buckets.render(keys[0], period)
    assert again["dt"] == "2026-10-24T00:00:00+02:00" and again is not first[0]


def test_the_same_instants_in_another_timezone_render_in_their_own() -> None:
    utc, berlin = Buckets("day", ZoneInfo("UTC")), Buckets("day", ZoneInfo("Europe/Berlin"))
    day = date(2026, 7, 1)
    in_utc = utc.render(utc.keys(make_period(day, day, utc.tz))[0], make_period(day, day, utc.tz))
    period = make_period(day, day, berlin.tz)
    in_berlin = berlin.render(berlin.keys(period)[0], period)
    assert in_utc["dt"] == "2026-07-01T00:00:00+00:00"
    assert in_berlin["dt"] == "2026-07-01T00:00:00+02:00"
