"""One emulator, several pixels, each serving its own ``--data`` directory (decision D86)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import upstack_pandas as up
from tests._cli_emulator import printed_upstackrc
from upstack_pandas.cli import main
from upstack_pandas.emulator.http.server import BackendPool, Emulator, data_dirs_by_pixel, pixel_ids

NOW = "2026-11-26T12:00:00Z"
START, END = "2026-10-01", "2026-10-31"


def _shop(directory: Path, seed: int, n: int) -> pd.DataFrame:
    """Write a small ``orders.csv`` of ``n`` orders in October 2026 (and some outside it)."""
    rng = np.random.default_rng(seed)
    directory.mkdir()
    ts = pd.Timestamp("2026-09-25", tz="UTC") + pd.to_timedelta(
        rng.integers(0, 45 * 86_400, n), unit="s"
    )
    orders = pd.DataFrame(
        {
            "order_id": [f"{seed}-{i}" for i in range(n)],
            "customer_id": [f"c{seed}-{i % 17}" for i in range(n)],
            "ts": ts.strftime("%Y-%m-%dT%H:%M:%SZ"),
            "gross_revenue": rng.integers(1_000, 30_000, n) / 100,
            "discounts": rng.integers(0, 500, n) / 100,
            "status": rng.choice(["paid", "paid", "paid", "pending", "voided"], n),
        }
    )
    orders.to_csv(directory / "orders.csv", index=False)
    return orders


def _expected(orders: pd.DataFrame) -> tuple[float, int]:
    """Paid revenue (gross − discounts) and paid orders of October, from the CSV itself."""
    ts = pd.to_datetime(orders["ts"], utc=True)
    paid = orders[(orders["status"] == "paid") & (ts >= "2026-10-01") & (ts < "2026-11-01")]
    return round(float((paid["gross_revenue"] - paid["discounts"]).sum()), 2), len(paid)


@pytest.fixture(scope="module")
def shops(tmp_path_factory: pytest.TempPathFactory) -> tuple[list[Path], list[pd.DataFrame]]:
    root = tmp_path_factory.mktemp("shops")
    dirs = [root / "eu", root / "us"]
    return dirs, [_shop(dirs[0], 1, 400), _shop(dirs[1], 2, 250)]


@pytest.fixture(scope="module")
def two_shops(shops: tuple[list[Path], list[pd.DataFrame]]) -> Iterator[Emulator]:
    emu = Emulator(now=NOW, data_dir=shops[0]).start()
    try:
        yield emu
    finally:
        emu.stop()


def _read(emu: Emulator, key: str, pixel: str) -> tuple[float, int]:
    with up.Client(key, pixel, emu.url, cache=False) as client:
        df = up.read_upstack(["orders.total_revenue", "orders.orders"], START, END,
                             granularity="none", compare=False, client=client)  # fmt: skip
    return round(float(df["orders.total_revenue"].iloc[0]), 2), int(df["orders.orders"].iloc[0])


def test_each_pixel_answers_from_its_own_files(
    two_shops: Emulator, shops: tuple[list[Path], list[pd.DataFrame]]
) -> None:
    dirs, frames = shops
    assert two_shops.pixel_ids == tuple(pixel_ids(2))  # one pixel per directory
    assert two_shops.data_dirs == dict(zip(two_shops.pixel_ids, dirs, strict=True))
    found = [_read(two_shops, two_shops.pixel_key(p), p) for p in two_shops.pixel_ids]
    assert found == [_expected(frames[0]), _expected(frames[1])]
    assert found[0] != found[1]


def test_keys_are_not_interchangeable(two_shops: Emulator) -> None:
    first, second = two_shops.pixel_ids
    with pytest.raises(up.AuthenticationError):
        _read(two_shops, two_shops.pixel_key(first), second)
    with pytest.raises(up.AuthenticationError):
        _read(two_shops, two_shops.pixel_key(second), first)


def test_upstackrc_names_each_pixels_directory(
    two_shops: Emulator, shops: tuple[list[Path], list[pd.DataFrame]]
) -> None:
    text = two_shops.upstackrc()
    for i, (pixel, directory) in enumerate(zip(two_shops.pixel_ids, shops[0], strict=True), 1):
        key = two_shops.pixel_key(pixel)
        assert f"# data: {directory}\n[pixel-{i}]\napi_key = {key}\npixel_id = {pixel}\n" in text


def test_one_directory_is_served_by_every_pixel(tmp_path: Path) -> None:
    _shop(tmp_path / "shop", 3, 50)
    pixels = pixel_ids(3)
    assert data_dirs_by_pixel(pixels, tmp_path / "shop") == dict.fromkeys(pixels, tmp_path / "shop")
    assert data_dirs_by_pixel(pixels, None) == {}
    pool = BackendPool(pixels, seed=7, now=NOW, data_dir=str(tmp_path / "shop"))
    assert {pool.data_dir_for(p) for p in pixels} == {tmp_path / "shop"}


def test_a_list_needs_one_directory_per_pixel(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="2 directories for 3 pixels"):
        Emulator(now=NOW, data_dir=[tmp_path, tmp_path], pixels=pixel_ids(3))


def _cli(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    try:
        code = main(argv)
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else 1
    return code, capsys.readouterr().err


def test_cli_refuses_a_pixel_count_other_than_the_directories(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    code, err = _cli(["emulator", "--quiet", "--port", "0", "--pixels", "3",
                      "--data", str(tmp_path / "a"), "--data", str(tmp_path / "b")], capsys)  # fmt: skip
    assert code == 1
    assert "error: --pixels 3 with 2 --data directories" in err
    code, err = _cli(["emulator", "--quiet", "--data", str(tmp_path / "a"),
                      "--data", str(tmp_path / "nope")], capsys)  # fmt: skip
    assert code == 1 and f"--data {tmp_path / 'nope'}: not a directory" in err


def test_cli_prints_a_ready_upstackrc_for_every_data_pixel(
    shops: tuple[list[Path], list[pd.DataFrame]], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    dirs, frames = shops
    options = ["--data", str(dirs[0]), "--data", str(dirs[1]), "--now", NOW]
    with printed_upstackrc(options, 2, tmp_path, monkeypatch) as lines:
        assert f"# data: {dirs[1]}" in lines
        for profile, frame in zip(("pixel-1", "pixel-2"), frames, strict=True):
            with up.Client(profile=profile, cache=False) as client:
                df = up.read_upstack(["orders.total_revenue", "orders.orders"], START, END,
                                     granularity="none", compare=False, client=client)  # fmt: skip
            found = (round(float(df["orders.total_revenue"].iloc[0]), 2),
                     int(df["orders.orders"].iloc[0]))  # fmt: skip
            assert found == _expected(frame)
