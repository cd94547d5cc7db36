"""chunks= sends no request it does not need (compare windows ride along, one window is one
request), and sends the windows concurrently by default."""

from __future__ import annotations

import threading
import time
from typing import Any

import pandas as pd
import pytest

import upstack_pandas as up
from upstack_pandas._readers.pipeline import Read

MEASURES = ["orders.orders", "orders.aov"]


def test_each_request_carries_a_primary_and_a_compare_window(
    client: up.Client, sent: list[dict[str, Any]]
) -> None:
    single = up.read_upstack(MEASURES, "2026-01-01", "2026-03-31", client=client)
    sent.clear()
    chunked = up.read_upstack(MEASURES, "2026-01-01", "2026-03-31", chunks="30D", client=client)
    windows = chunked.attrs["upstack"]["chunks"]["windows"]
    assert windows == 3
    assert len(sent) == chunked.attrs["upstack"]["chunks"]["requests"] == windows + 1
    window_bodies = [b for b in sent if b["granularity"] == "day"]
    assert all(b["compareDateRange"] is not None for b in window_bodies)
    pd.testing.assert_frame_equal(chunked, single, check_freq=False)
    pd.testing.assert_frame_equal(chunked.upstack.compare, single.upstack.compare, check_freq=False)


def test_compare_windows_left_over_are_sent_on_their_own(
    client: up.Client, sent: list[dict[str, Any]]
) -> None:
    kw: dict[str, Any] = {"compare": ("2025-01-01", "2025-06-30"), "client": client}
    single = up.read_upstack(MEASURES, "2026-01-01", "2026-01-31", **kw)
    sent.clear()
    chunked = up.read_upstack(MEASURES, "2026-01-01", "2026-01-31", chunks="16D", **kw)
    info = chunked.attrs["upstack"]["chunks"]
    assert info["windows"] == 2 and info["requests"] == len(sent) > 3
    pd.testing.assert_frame_equal(chunked, single, check_freq=False)
    pd.testing.assert_frame_equal(chunked.upstack.compare, single.upstack.compare, check_freq=False)


def test_a_range_that_fits_one_window_is_one_request(
    client: up.Client, sent: list[dict[str, Any]]
) -> None:
    single = up.read_upstack(MEASURES, "2026-01-01", "2026-01-20", client=client)
    sent.clear()
    chunked = up.read_upstack(MEASURES, "2026-01-01", "2026-01-20", chunks="30D", client=client)
    assert len(sent) == 1
    assert chunked.attrs["upstack"]["chunks"] == {"days": 30, "windows": 1, "requests": 1}
    pd.testing.assert_frame_equal(chunked, single, check_freq=False)
    assert chunked.attrs["upstack"]["measures"] == single.attrs["upstack"]["measures"]


def test_windows_run_concurrently_by_default(
    client: up.Client, monkeypatch: pytest.MonkeyPatch
) -> None:
    up.measures(client=client)
    lock, active, peak = threading.Lock(), [0], [0]
    real = Read.send

    def tracking(self: Read, path: str, body: Any) -> Any:
        with lock:
            active[0] += 1
            peak[0] = max(peak[0], active[0])
        try:
            time.sleep(0.05)  # each request in flight long enough for the others to start
            return real(self, path, body)
        finally:
            with lock:
                active[0] -= 1

    monkeypatch.setattr(Read, "send", tracking)
    chunked = up.read_upstack(MEASURES, "2026-01-01", "2026-04-30", chunks="20D", client=client)
    assert chunked.attrs["upstack"]["chunks"]["windows"] == 6
    assert peak[0] == 5  # no max_workers given: 4 windows at a time, the summary beside them
