"""``profiles=`` on the ordinary readers: one read per pixel, ``pixel`` the outermost level."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from _multi_pixel import PROFILES, multi_emulator, rc_env

import upstack_pandas as up
from tests._fake_client import RefusingClient
from upstack_pandas import metadata
from upstack_pandas.emulator.http.server import Emulator

__all__ = ["multi_emulator", "rc_env"]  # fixtures used here

IDS = ["orders.orders", "core.new_customer_roas"]  # a sum and a ratio
RANGE = ("2026-01-01", "2026-01-07")


def _single(reader: Callable[..., pd.DataFrame], profile: str, **kwargs: Any) -> pd.DataFrame:
    """The same read for one pixel through its own client (computed independently)."""
    with up.Client(profile=profile, cache=False) as client:
        return reader(client=client, **kwargs)


def test_read_upstack_over_profiles_concatenates_by_pixel(
    multi_emulator: Emulator, rc_env: Path
) -> None:
    kwargs: dict[str, Any] = {"dimensions": "channel"}
    df = up.read_upstack(IDS, *RANGE, profiles=PROFILES[:2], **kwargs)
    singles = [_single(up.read_upstack, p, measures=IDS, start=RANGE[0], end=RANGE[1], **kwargs)
               for p in PROFILES[:2]]  # fmt: skip
    pixels = multi_emulator.pixel_ids[:2]
    assert df.index.names == ["pixel", "dt", "channel"]
    assert list(df.columns) == IDS
    assert df.index.dtypes["pixel"] == df.index.dtypes["channel"]  # as read_dataset has it
    assert df.index.dtypes["dt"] == singles[0].index.dtypes["dt"]
    assert list(pd.unique(df.index.get_level_values("pixel"))) == list(pixels)
    assert len(df) == sum(len(s) for s in singles)
    for pixel, single in zip(pixels, singles, strict=True):
        got = df.xs(pixel, level="pixel")
        pd.testing.assert_frame_equal(got, single, check_freq=False)
        compare = df.upstack.compare.xs(pixel, level="pixel")
        pd.testing.assert_frame_equal(compare, single.upstack.compare, check_freq=False)

    meta = df.attrs["upstack"]
    assert "pixelId" not in meta["request"]
    assert [(p["pixel"], p["profile"]) for p in meta["pixels"]] == list(zip(pixels, PROFILES[:2], strict=True))
    orders = [s.attrs["upstack"]["measures"]["orders.orders"] for s in singles]
    total = meta["measures"]["orders.orders"]
    assert total["primarySum"] == sum(o["primarySum"] for o in orders)
    assert total["compareSum"] == sum(o["compareSum"] for o in orders)
    assert total["primarySum"] == df["orders.orders"].sum()  # the totals describe the rows
    assert total["percentDiff"] == pytest.approx(
        (total["primarySum"] - total["compareSum"]) / total["compareSum"] * 100
    )
    roas = meta["measures"]["core.new_customer_roas"]
    assert roas["primarySum"] is None and roas["primaryAvg"] is None  # no ratio across pixels
    assert roas["title"] == "New Customer ROAS"
    assert metadata.scope_mismatch(df) == []

    summary = df.upstack.summary()
    assert summary.loc["orders.orders", "primary"] == total["primarySum"]
    assert pd.isna(summary.loc["core.new_customer_roas", "primary"])  # shown unavailable


def test_one_profile_name_still_gives_the_pixel_level(
    multi_emulator: Emulator, rc_env: Path
) -> None:
    df = pd.read_upstack("orders.orders", *RANGE, profiles="pixel-3")  # type: ignore[attr-defined]
    expected = _single(up.read_upstack, "pixel-3", measures="orders.orders",
                       start=RANGE[0], end=RANGE[1])  # fmt: skip
    assert df.index.names == ["pixel", "dt"]
    assert set(df.index.get_level_values("pixel")) == {multi_emulator.pixel_ids[2]}
    pd.testing.assert_frame_equal(df.droplevel("pixel"), expected, check_freq=False)
    assert df.attrs["upstack"]["measures"]["orders.orders"]["primarySum"] == (
        expected.attrs["upstack"]["measures"]["orders.orders"]["primarySum"]
    )


READERS: dict[str, tuple[Callable[..., pd.DataFrame], dict[str, Any], list[str]]] = {
    "attribution": (up.read_attribution, {"dimension": "utm_source", "start": RANGE[0],
                    "end": RANGE[1]}, ["pixel", "utm_source"]),
    "cohorts": (up.read_cohorts, {"start": "2026-06-01", "end": "2026-08-31"},
                ["pixel", "cohort", "period"]),
    "channels": (up.read_channel_details, {"start": RANGE[0], "end": RANGE[1]}, ["pixel", "id"]),
}  # fmt: skip


@pytest.mark.parametrize("name", sorted(READERS))
def test_the_other_readers_take_profiles(
    multi_emulator: Emulator, rc_env: Path, name: str
) -> None:
    reader, kwargs, levels = READERS[name]
    df = reader(profiles=PROFILES, **kwargs)
    assert df.index.names == levels
    for profile, pixel in zip(PROFILES, multi_emulator.pixel_ids, strict=True):
        expected = _single(reader, profile, **kwargs)
        pd.testing.assert_frame_equal(df.xs(pixel, level="pixel"), expected, check_freq=False)


def test_granularity_none_gives_one_row_per_pixel_in_the_backend(rc_env: Path) -> None:
    df = up.read_upstack("orders.orders", *RANGE, granularity="none", profiles=PROFILES,
                         dtype_backend="pyarrow")  # fmt: skip
    assert df.index.name == "pixel" and len(df) == 3
    assert isinstance(df.index.dtype, pd.ArrowDtype)
    singles = [_single(up.read_upstack, p, measures="orders.orders", start=RANGE[0],
                       end=RANGE[1], granularity="none") for p in PROFILES]  # fmt: skip
    assert df["orders.orders"].tolist() == [s["orders.orders"].iloc[0] for s in singles]


def test_profiles_with_client_is_refused_before_any_request(rc_env: Path) -> None:
    with pytest.raises(up.ValidationError, match="give profiles= or client=, not both") as info:
        up.read_upstack("orders.orders", *RANGE, profiles=PROFILES, client=RefusingClient())  # type: ignore[arg-type]
    assert info.value.parameter == "profiles"
    with pytest.raises(ValueError, match="more than once"):
        up.read_cohorts(profiles=["pixel-1", "pixel-1"])
    with pytest.raises(up.ConfigurationError, match=r"profile \[store-eu\]"):
        up.read_attribution("utm_source", *RANGE, profiles=["pixel-1", "store-eu"])


def test_one_failing_pixel_raises_naming_its_profile_with_the_rest_partial(
    multi_emulator: Emulator, rc_env: Path
) -> None:
    failing = multi_emulator.pixel_ids[1]
    multi_emulator.inject("status", path="/db-mgmt/api/query", status=400, pixel_id=failing)
    try:
        with pytest.raises(up.PixelReadError) as info:
            up.read_upstack("orders.orders", "2026-02-01", "2026-02-03", profiles=PROFILES,
                            refresh=True)  # fmt: skip
    finally:
        multi_emulator.clear_faults()
    error = info.value
    assert isinstance(error, up.UpstackError)
    assert error.profiles == ["pixel-2"]
    assert isinstance(error.failures["pixel-2"], up.ValidationError)
    assert error.__cause__ is error.failures["pixel-2"]
    assert "pixel-2" in str(error) and failing in str(error)
    for pixel in multi_emulator.pixel_ids:
        assert multi_emulator.pixel_key(pixel) not in str(error)
    assert error.partial is not None
    assert list(pd.unique(error.partial.index.get_level_values("pixel"))) == [
        multi_emulator.pixel_ids[0],
        multi_emulator.pixel_ids[2],
    ]


def test_a_sliced_multi_pixel_frame_is_not_re_read_with_one_client(
    multi_emulator: Emulator, rc_env: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("UPSTACK_PROFILE", "pixel-3")  # the default client: another pixel
    df = up.read_upstack(IDS, *RANGE, profiles=PROFILES[:2])
    first = df.xs(multi_emulator.pixel_ids[0], level="pixel", drop_level=False).iloc[:3]
    with pytest.warns(up.IncompleteTotalsWarning, match="several pixels"):
        summary = first.upstack.summary()
    assert summary.loc["orders.orders", "primary"] == first["orders.orders"].sum()
    assert pd.isna(summary.loc["core.new_customer_roas", "primary"])
