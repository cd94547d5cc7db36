"""attrs["upstack"]: schema, JSON safety, compare encoding, recovery when pandas drops attrs."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import numpy as np
import pandas as pd
import pytest

import upstack_pandas as up
from tests._fake_client import RefusingClient, fake_query_client
from upstack_pandas import catalog, metadata


@pytest.fixture
def frame() -> pd.DataFrame:
    return up.read_upstack(
        ["orders.orders", "AOV"],
        "2026-03-01",
        "2026-03-10",
        dimensions="channel",
        timezone="America/New_York",
        client=fake_query_client(),
    )


def test_schema(frame: pd.DataFrame) -> None:
    meta = frame.attrs["upstack"]
    assert set(meta) >= {
        "version",
        "endpoint",
        "request",
        "fetchedAt",
        "fromCache",
        "timezone",
        "granularity",
        "dimensions",
        "dateRange",
        "compareDateRange",
        "measures",
        "compare",
    }
    assert meta["version"] == metadata.VERSION
    assert meta["endpoint"] == "/db-mgmt/api/query"
    assert meta["request"]["measures"] == [
        {"measure": "orders.orders", "pacing": False},
        {"measure": "orders.aov", "pacing": False},
    ]
    assert meta["fetchedAt"] == "2026-11-26T11:00:00+00:00" and meta["fromCache"] is False
    assert meta["timezone"] == "America/New_York" and meta["granularity"] == "day"
    assert meta["dimensions"] == ["channel"]
    assert meta["dateRange"] == {"start": "2026-03-01", "end": "2026-03-10"}
    assert meta["compareDateRange"] == {"start": "2026-02-19", "end": "2026-02-28"}
    aov = meta["measures"]["orders.aov"]
    assert aov["title"] == "Average Order Value" and aov["shortTitle"] == "AOV"  # catalog
    assert aov["format"] == "currency" and aov["currency"] == "USD"
    assert aov["isAverage"] is True and aov["success"] is True  # response
    assert set(aov) >= set(metadata.CATALOG_FIELDS) | (set(metadata.DETAIL_FIELDS) - {"pacedSum"})
    assert list(meta["measures"]) == ["orders.orders", "orders.aov"]
    assert set(meta["compare"]) == {"encoding", "data"} and isinstance(meta["compare"]["data"], str)


def test_attrs_are_json_safe_and_hold_no_secret(frame: pd.DataFrame) -> None:
    text = json.dumps(frame.attrs, allow_nan=False)
    assert "upstack_" not in text and "x-api-key" not in text


def test_json_safe() -> None:
    value = {
        "nan": float("nan"),
        "inf": float("inf"),
        "np": np.float64(1.5),
        "i": np.int64(3),
        "ts": pd.Timestamp("2026-01-01", tz="UTC"),
        "d": dt.date(2026, 1, 2),
        "t": (1, 2),
        "nested": [{"x": np.nan}],
        7: "key",
    }
    assert metadata.json_safe(value) == {
        "nan": None,
        "inf": None,
        "np": 1.5,
        "i": 3,
        "ts": "2026-01-01T00:00:00+00:00",
        "d": "2026-01-02",
        "t": [1, 2],
        "nested": [{"x": None}],
        "7": "key",
    }


def test_compare_round_trips_with_same_shape(frame: pd.DataFrame) -> None:
    compare = frame.upstack.compare
    assert list(compare.columns) == list(frame.columns)
    assert compare.index.names == frame.index.names
    assert list(compare.index.dtypes) == list(frame.index.dtypes)
    assert (compare.dtypes == frame.dtypes).all()
    assert compare.index.get_level_values("dt").min() == pd.Timestamp(
        "2026-02-19", tz="America/New_York"
    )
    assert compare["orders.orders"].iloc[0] == 0.5


def test_compare_survives_pandas_operations(frame: pd.DataFrame) -> None:
    derived = (frame * 2).head(3)
    assert derived.attrs["upstack"]["compare"] == frame.attrs["upstack"]["compare"]
    # the compare rows of the first three rows: the same channels, the same bucket positions
    pd.testing.assert_frame_equal(derived.upstack.compare, frame.upstack.compare.iloc[:3])
    assert metadata.compare_frame(derived).equals(frame.upstack.compare)  # the stored whole


def test_compare_of_rows_follows_positions_and_row_order(frame: pd.DataFrame) -> None:
    full = frame.upstack.compare
    picked = frame.iloc[[7, 2, 4]]
    pd.testing.assert_frame_equal(picked.upstack.compare, full.iloc[[7, 2, 4]])
    one = frame[frame.index.get_level_values("channel") == "b"][["orders.aov"]]
    expected = full[full.index.get_level_values("channel") == "b"][["orders.aov"]]
    pd.testing.assert_frame_equal(one.upstack.compare, expected)
    assert metadata.compare_range_for_rows(frame.iloc[2:4]) == (
        full.index.get_level_values("dt")[2].date(),
        full.index.get_level_values("dt")[3].date(),
    )


@pytest.mark.parametrize(
    ("change", "why"),
    [
        (lambda f: pd.concat([f, f]), "appear twice"),
        (lambda f: f.rename(index={"a": "z"}, level="channel"), "not rows of its query"),
        (lambda f: f.reset_index("channel", drop=True), "index levels"),
    ],
)
def test_compare_of_rows_it_cannot_describe_raises(frame: pd.DataFrame, change: Any, why: str) -> None:
    with pytest.raises(ValueError, match=why):
        _ = change(frame).upstack.compare


def test_compare_frame_function(frame: pd.DataFrame) -> None:
    pd.testing.assert_frame_equal(metadata.compare_frame(frame), frame.upstack.compare)
    assert metadata.compare_frame(pd.DataFrame({"a": [1.0]})) is None


def test_no_compare_means_none() -> None:
    df = up.read_upstack(
        "orders.orders", "2026-03-01", "2026-03-02", compare=False, client=fake_query_client()
    )
    assert df.attrs["upstack"]["compare"] is None
    assert df.attrs["upstack"]["compareDateRange"] is None
    with pytest.raises(AttributeError, match="no compare"):
        _ = df.upstack.compare


def test_encode_decode_empty_frame() -> None:
    empty = pd.DataFrame(
        {"m": pd.Series([], dtype="float64")}, index=pd.DatetimeIndex([], tz="UTC", name="dt")
    )
    pd.testing.assert_frame_equal(metadata.decode_frame(metadata.encode_frame(empty)), empty)
    with pytest.raises(ValueError, match="encoding"):
        metadata.decode_frame({"encoding": "pickle", "data": ""})


def test_recovery_from_the_catalog_when_attrs_are_dropped(frame: pd.DataFrame) -> None:
    rolled = frame.droplevel("channel").groupby(level="dt").sum().rolling(3).mean()
    rolled.attrs = {}  # whatever pandas did, assume the worst
    assert metadata.measure_entries(rolled) == {}  # metadata alone never looks anything up
    entries = metadata.measure_entries(rolled, catalog.known_entries)
    assert entries["orders.aov"]["title"] == "Average Order Value"
    assert entries["orders.aov"]["primarySum"] is None  # the response's totals are gone
    assert rolled.upstack.meta("orders.aov")["title"] == "Average Order Value"
    frame = pd.DataFrame({"not_a_measure": [1.0]})
    assert metadata.measure_entries(frame, catalog.known_entries) == {}


def test_recovery_without_any_catalog_or_credentials(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(catalog, "cached_catalogs", lambda: [])
    monkeypatch.delenv("UPSTACK_API_KEY", raising=False)
    monkeypatch.delenv("UPSTACK_PIXEL_ID", raising=False)
    monkeypatch.setenv("HOME", "/nonexistent")
    monkeypatch.setattr("upstack_pandas._transport.client._default_client", None)
    frame = pd.DataFrame({"orders.orders": [1.0]})
    assert metadata.measure_entries(frame, catalog.known_entries) == {}
    assert frame.upstack.measures.empty


def test_recovery_never_sends_a_request(monkeypatch: pytest.MonkeyPatch) -> None:
    """A frame whose attrs were dropped is looked up, never fetched (data flows down)."""
    monkeypatch.setattr(catalog, "cached_catalogs", lambda: [])
    client = RefusingClient()
    monkeypatch.setattr("upstack_pandas._transport.client._default_client", client)
    frame = pd.DataFrame({"orders.orders": [1.0]})
    assert frame.upstack.measures.empty and client.sent == []


# ------------------------------------------------------------------------------------ scope


def test_scope_records_what_the_totals_describe(frame: pd.DataFrame) -> None:
    scope = frame.attrs["upstack"]["scope"]
    assert scope["dateRange"] == {"start": "2026-03-01", "end": "2026-03-10"}
    assert scope["granularity"] == "day" and scope["timezone"] == "America/New_York"
    assert scope["rows"] == len(frame)
    channels = sorted(str(v) for v in pd.unique(frame.index.get_level_values("channel")))
    assert scope["dimensionValues"] == {"channel": channels}
    total = float(frame["orders.orders"].sum())
    assert scope["checksums"]["orders.orders"] == [total, int(frame["orders.orders"].count())]
    json.dumps(scope, allow_nan=False)


def test_scope_tells_every_change_but_a_column_selection(frame: pd.DataFrame) -> None:
    assert metadata.scope_mismatch(frame) == []
    assert metadata.scope_mismatch(frame[["orders.orders"]]) == []
    assert metadata.scope_mismatch(frame.iloc[::-1]) == []  # the same rows: the same totals
    first_day = frame.index.get_level_values("dt")[0]
    changed = {
        "sliced": frame.loc[frame.index.get_level_values("dt") > first_day],
        "scaled": frame * 2,
        "combined": pd.concat([frame, frame]),
        "one value edited": frame.assign(**{"orders.orders": frame["orders.orders"].where(
            np.arange(len(frame)) != 0, -1.0)}),
    }  # fmt: skip
    for name, other in changed.items():
        assert metadata.scope_mismatch(other), name


def test_inferred_granularity_and_covered_range_follow_the_index(frame: pd.DataFrame) -> None:
    single = frame.groupby(level="dt").sum()
    single.attrs = frame.attrs
    assert metadata.infer_granularity(single) == "day"
    weekly = single.resample("W").sum()  # pandas labels weeks by their Sunday
    assert metadata.infer_granularity(weekly) == "week"
    assert metadata.covered_range(weekly) == (dt.date(2026, 3, 1), dt.date(2026, 3, 10))
    assert metadata.covered_range(single.iloc[2:5]) == (dt.date(2026, 3, 3), dt.date(2026, 3, 5))


def test_server_clock_follows_live_dates_only() -> None:
    from upstack_pandas._transport.clock import ServerClock

    local = dt.datetime(2026, 12, 1, 22, 0, tzinfo=dt.UTC)
    clock = ServerClock(local=lambda: local)
    assert not clock.known and clock.now() == local
    clock.observe(dt.datetime(2026, 11, 26, 12, 0, tzinfo=dt.UTC), from_cache=True)
    assert not clock.known  # a cached answer says nothing about the present
    clock.observe(dt.datetime(2026, 11, 26, 12, 0, tzinfo=dt.UTC), from_cache=False)
    assert clock.now() == dt.datetime(2026, 11, 26, 12, 0, tzinfo=dt.UTC)
    assert clock.today("Pacific/Auckland") == dt.date(2026, 11, 27)


def test_incomplete_rows_follow_server_now(frame: pd.DataFrame) -> None:
    meta = dict(frame.attrs["upstack"], serverNow="2026-03-09T12:00:00+00:00")
    late = frame.copy()
    late.attrs = {"upstack": meta}
    flags = metadata.incomplete(late)
    assert flags is not None
    days = flags.index.get_level_values("dt").strftime("%Y-%m-%d")
    # New York: 2026-03-09 runs to 04:00Z on the 10th, after 12:00Z on the 9th
    assert set(days[flags.to_numpy()]) == {"2026-03-09", "2026-03-10"}


@pytest.mark.parametrize("layout", ["one block", "row-major", "separate columns"])
def test_scope_checksums_are_the_series_sums_whatever_the_memory_layout(layout: str) -> None:
    # a memoised hit compares its stored scope with the cold read's: both must round the same
    rng = np.random.default_rng(7)
    data = rng.random((5_000, 3)) * 1e5
    data[::17, 1] = np.nan
    columns = ["orders.total_revenue", "orders.orders", "orders.aov"]
    if layout == "one block":
        frame = pd.DataFrame(data, columns=columns)
    elif layout == "row-major":
        frame = pd.DataFrame(np.ascontiguousarray(data), columns=columns, copy=False)
    else:
        frame = pd.concat([pd.Series(data[:, j], name=c) for j, c in enumerate(columns)], axis=1)
    got = metadata._checksums(frame, dict.fromkeys(columns))
    for c in columns:
        column = pd.Series(data[:, columns.index(c)])
        assert got[c] == [float(column.sum()), int(column.count())]
