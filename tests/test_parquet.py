"""Parquet round trip: frame, index, timezone and attrs["upstack"] (compare included)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

import upstack_pandas as up
from tests._fake_client import fake_query_client
from upstack_pandas._frames import builders as frames


def _frames() -> dict[str, pd.DataFrame]:
    client = fake_query_client()
    return {
        "plain": up.read_upstack(
            "orders.orders", "2026-03-01", "2026-03-12", timezone="America/New_York", client=client
        ),
        "dims": up.read_upstack(
            ["orders.orders", "orders.aov"],
            "2026-03-01",
            "2026-03-12",
            dimensions="channel",
            timezone="Europe/Paris",
            client=client,
        ),
        "none": up.read_upstack(
            "orders.orders",
            "2026-03-01",
            "2026-03-12",
            granularity="none",
            dimensions="channel",
            compare=False,
            client=client,
        ),
        "empty": up.read_upstack(
            "orders.orders", "2026-03-01", "2026-03-01", dimensions="channel", client=client
        ).iloc[:0],
    }


@pytest.mark.parametrize("name", ["plain", "dims", "none", "empty"])
@pytest.mark.parametrize("writer", ["pandas", "accessor"])
def test_round_trip(tmp_path: Path, name: str, writer: str) -> None:
    frame = _frames()[name]
    path = tmp_path / "frame.parquet"
    if writer == "pandas":
        frame.to_parquet(path)
    else:
        frame.upstack.to_parquet(path)
    for reader in (pd.read_parquet, up.read_parquet):
        back = reader(path)
        # pandas 2 infers an empty object level's type differently after the trip
        exact = len(frame) > 0 or frames.PANDAS_3
        pd.testing.assert_frame_equal(back, frame, check_index_type=exact)
        assert list(back.index.names) == list(frame.index.names)
        assert back.attrs == frame.attrs
        if isinstance(frame.index, pd.DatetimeIndex):
            assert back.index.tz == frame.index.tz
        if frame.attrs["upstack"]["compare"] is not None:
            pd.testing.assert_frame_equal(back.upstack.compare, frame.upstack.compare)


def test_cohort_frame_round_trip(tmp_path: Path) -> None:
    frame = pd.DataFrame(
        {"orders.customers_cohort": [10.0, 4.0, 12.0]},
        index=pd.MultiIndex.from_arrays(
            [
                pd.DatetimeIndex(["2026-01-01", "2026-01-01", "2026-02-01"]).tz_localize("UTC"),
                [0, 1, 0],
            ],
            names=["cohort", "period"],
        ),
    )
    frame.attrs["upstack"] = {"version": 1, "cohortSizes": {"2026-01-01": 10.0}}
    frame.upstack.to_parquet(tmp_path / "c.parquet")
    back = up.read_parquet(tmp_path / "c.parquet")
    pd.testing.assert_frame_equal(back, frame)
    assert back.attrs == frame.attrs


def test_newer_metadata_version_is_refused(tmp_path: Path) -> None:
    frame = pd.DataFrame({"a": [1.0]})
    frame.attrs["upstack"] = {"version": 99}
    frame.to_parquet(tmp_path / "f.parquet")
    with pytest.raises(ValueError, match="upgrade"):
        up.read_parquet(tmp_path / "f.parquet")
    assert pd.read_parquet(tmp_path / "f.parquet").attrs["upstack"]["version"] == 99
