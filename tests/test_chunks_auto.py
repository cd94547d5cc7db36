"""chunks="auto" (D107): windows only when the client's own round trips predict they are faster.

The cost model (``_readers.chunk_plan``) is pure and tested with numbers; the reader tests seed
a fresh client's history with the round trips of a slow server or of a fast one, so the
decision does not depend on this machine's speed, and check what was sent and what came back.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from typing import Any

import pandas as pd
import pytest

import upstack_pandas as up
from upstack_pandas._readers.chunk_plan import MIN_SAVING, QueryCosts, costs_of
from upstack_pandas.emulator.http.server import Emulator

MEASURES = ["orders.orders", "orders.aov"]
START, END = "2025-01-06", "2026-01-04"  # 364 days: 5 windows of 90 days, 4 at a time
CELLS = 364 * 2 * 2  # days x measures, compare period included


# ---- the model, with numbers ------------------------------------------------------------------


def test_no_history_keeps_the_windows_asked_for() -> None:
    advice = QueryCosts().advise(cells=10_000, requests=8, workers=4)
    assert advice.split and advice.reason == "not measured yet"
    assert advice.single is None and advice.windows is None


def test_one_size_of_request_cannot_separate_fixed_cost_from_work() -> None:
    costs = QueryCosts()
    for elapsed in (0.2, 0.3, 0.25):
        costs.observe(elapsed, 1000)
    costs.observe(0.5, 1500)  # less than twice the smallest: still one size
    assert costs.fit() is None
    assert costs.advise(10_000, 8, 4).reason == "not measured yet"


def test_fit_is_the_line_through_the_fastest_small_and_the_fastest_large_request() -> None:
    costs = QueryCosts()
    costs.observe(0.012, 100)  # fixed 0.01 + 100 cells at 20 us
    costs.observe(0.050, 100)  # a slow outlier of the same size is ignored
    costs.observe(0.030, 1100)  # 0.01 + 1100 * 20 us... minus nothing: the fastest large one
    costs.observe(0.090, 1100)
    fixed, rate = costs.fit()  # type: ignore[misc]
    assert rate == pytest.approx((0.030 - 0.012) / 1000)
    assert fixed == pytest.approx(0.012 - rate * 100)


@pytest.mark.parametrize("fixed", [0.05, 0.2])
def test_latency_does_not_pay_for_windows(fixed: float) -> None:
    costs = QueryCosts()
    costs.observe(fixed + 100e-6, 100)  # 1 us per cell: the server's work is small
    costs.observe(fixed + 10_000e-6, 10_000)
    advice = costs.advise(cells=20_000, requests=8, workers=4)
    assert not advice.split and advice.reason == "measured: one request is faster"
    assert advice.single == pytest.approx(fixed + 0.02)
    assert advice.windows == pytest.approx(2 * (fixed + 0.02 / 8))


def test_a_server_whose_work_dominates_gets_windows() -> None:
    costs = QueryCosts()
    costs.observe(0.05 + 0.001 * 100, 100)  # 50 ms fixed, 1 ms per cell
    costs.observe(0.05 + 0.001 * 1000, 1000)
    advice = costs.advise(cells=8000, requests=8, workers=4)
    assert advice.split and advice.reason == "measured: windows are faster"
    assert advice.single == pytest.approx(8.05)
    assert advice.windows == pytest.approx(2 * (0.05 + 1.0))
    assert advice.single - advice.windows >= MIN_SAVING * advice.single


def test_a_small_saving_is_not_worth_the_requests() -> None:
    costs = QueryCosts()
    costs.observe(0.010 + 1e-6 * 100, 100)
    costs.observe(0.010 + 1e-6 * 10_000, 10_000)
    # single 10 + 8 = 18 ms, windows 2 x (10 + 1) = 22 ms: one request
    assert not costs.advise(cells=8000, requests=8, workers=4).split
    # 16 workers: windows 1 x 11 ms, saving 7 ms < 2 fixed costs (20 ms): still one request
    assert not costs.advise(cells=8000, requests=8, workers=16).split


@pytest.mark.parametrize("elapsed", [None, -1.0, math.nan, math.inf])
def test_unmeasured_round_trips_are_not_recorded(elapsed: float | None) -> None:
    costs = QueryCosts()
    costs.observe(elapsed, 100)
    costs.observe(0.01, 0)  # no cells: nothing to learn
    costs.observe(0.01, 100)
    costs.observe(0.02, 1000)
    assert costs.fit() == pytest.approx((0.01 - (0.01 / 900) * 100, 0.01 / 900))


def test_the_history_keeps_the_latest_round_trips_only() -> None:
    costs = QueryCosts(history=2)
    costs.observe(0.001, 100)  # pushed out by the next two
    costs.observe(0.5, 100)
    costs.observe(1.4, 1000)
    fixed, rate = costs.fit()  # type: ignore[misc]
    assert rate == pytest.approx(0.9 / 900) and fixed == pytest.approx(0.5 - 0.1)


# ---- the reader -------------------------------------------------------------------------------


@pytest.fixture
def fresh(emulator: Emulator) -> Iterator[up.Client]:
    """An uncached client with no round trips measured yet."""
    client = emulator.client(cache=False)
    up.measures(client=client)
    yield client
    client.close()


def _seed(client: up.Client, fixed: float, per_cell: float) -> None:
    costs = costs_of(client)
    assert costs is not None
    for cells in (100, 100_000):  # around the real reads' sizes: the fit uses these two
        costs.observe(fixed + per_cell * cells, cells)


def _read(client: up.Client, **kw: Any) -> pd.DataFrame:
    return up.read_upstack(MEASURES, START, END, client=client, progress=False, **kw)


def test_a_fast_server_is_read_in_one_request(fresh: up.Client, sent: list[Any]) -> None:
    single = _read(fresh)
    _seed(fresh, fixed=0.2, per_cell=1e-6)  # far away, little work per cell
    sent.clear()
    auto = _read(fresh, chunks="auto")
    assert len(sent) == 1 and sent[0]["granularity"] == "day"
    info = auto.attrs["upstack"]["chunks"]
    assert info == {"days": 90, "windows": 1, "requests": 1,
                    "auto": "measured: one request is faster"}  # fmt: skip
    pd.testing.assert_frame_equal(auto, single, check_freq=False)
    pd.testing.assert_frame_equal(auto.upstack.compare, single.upstack.compare, check_freq=False)


def test_a_slow_server_is_read_in_windows(fresh: up.Client, sent: list[Any]) -> None:
    single = _read(fresh)
    _seed(fresh, fixed=0.05, per_cell=0.01)  # the server's work dominates
    sent.clear()
    auto = _read(fresh, chunks="auto")
    info = auto.attrs["upstack"]["chunks"]
    assert info == {"days": 90, "windows": 5, "requests": 6,
                    "auto": "measured: windows are faster"}  # fmt: skip
    assert len(sent) == 6
    pd.testing.assert_frame_equal(auto, single, check_freq=False)
    pd.testing.assert_frame_equal(auto.upstack.compare, single.upstack.compare, check_freq=False)


def test_with_nothing_measured_the_windows_are_used(emulator: Emulator, sent: list[Any]) -> None:
    with emulator.client(cache=False) as client:
        auto = _read(client, chunks="auto")
    assert auto.attrs["upstack"]["chunks"]["auto"] == "not measured yet"
    assert auto.attrs["upstack"]["chunks"]["requests"] == len(sent) == 6


def test_a_range_of_one_window_is_one_plain_request(
    fresh: up.Client, sent: list[Any]
) -> None:
    _seed(fresh, fixed=0.05, per_cell=0.01)  # windows would pay, but there is only one
    first = up.read_upstack(MEASURES, "2025-01-06", "2025-03-30", client=fresh, chunks="auto")
    again = up.read_upstack(MEASURES, "2025-01-06", "2025-03-30", client=fresh, chunks="auto")
    assert len(sent) == 2 and all(b["granularity"] == "day" for b in sent)
    assert first.attrs["upstack"]["chunks"] == {
        "days": 90, "windows": 1, "requests": 1, "auto": "the range fits one window"
    }  # fmt: skip
    plain = up.read_upstack(MEASURES, "2025-01-06", "2025-03-30", client=fresh)
    pd.testing.assert_frame_equal(first, plain, check_freq=False)
    pd.testing.assert_frame_equal(again, plain, check_freq=False)


def test_every_query_round_trip_is_measured_with_its_cells(fresh: up.Client) -> None:
    _read(fresh)
    costs = costs_of(fresh)
    assert costs is not None
    samples = list(costs._samples)
    assert len(samples) == 1
    elapsed, cells = samples[0]
    assert cells == CELLS and 0 < elapsed < 60
    _read(fresh, chunks="90D")  # 5 windows and the summary, each with its own cells
    cells_seen = sorted(c for _, c in list(costs._samples)[1:])
    assert sum(cells_seen[:-1]) == CELLS and cells_seen[-1] == CELLS  # the summary: every day


def test_a_cache_hit_is_not_a_round_trip(emulator: Emulator, tmp_path: Any) -> None:
    body = {"granularity": "day", "measures": [{"measure": "orders.orders"}],
            "dateRange": {"start": START, "end": END}, "compareDateRange": None}  # fmt: skip
    with emulator.client(cache=str(tmp_path / "cache.sqlite")) as client:
        response = client.post("/db-mgmt/api/query", body)
        again = client.post("/db-mgmt/api/query", body)
    assert not response.from_cache and response.elapsed is not None and response.elapsed > 0
    assert again.from_cache and again.elapsed is None


@pytest.mark.parametrize("value", ["automatic", "", "90 days please"])
def test_other_words_are_refused_with_the_accepted_forms(value: str, client: up.Client) -> None:
    with pytest.raises(up.ValidationError, match="chunks") as info:
        _read(client, chunks=value)
    assert "chunks='auto'" in str(info.value)
