"""The frame memo beside the on-disk cache: a hit in a new process skips decoding (issue 13)."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from pathlib import Path
from typing import Any

import pandas as pd

import upstack_pandas as up
from upstack_pandas._frames.memo import FrameMemo, memo_of, nbytes

MEASURES = ["orders.total_revenue", "orders.orders"]


def _child(emulator: Any, cache: Path, body: str) -> str:
    code = (
        "import sys, pickle\n"
        "import upstack_pandas as up\n"
        "from upstack_pandas._readers import query\n"
        "decodes = []\n"
        "real = query.decode_query\n"
        "query.decode_query = lambda *a, **k: (decodes.append(1), real(*a, **k))[1]\n"
        f"client = up.Client(cache={str(cache)!r})\n"
        f"{body}\n"
    )
    env = {
        **os.environ,
        "PYTHONPATH": str(Path(up.__file__).resolve().parent.parent),
        "UPSTACK_API_KEY": emulator.api_key,
        "UPSTACK_PIXEL_ID": emulator.pixel_id,
        "UPSTACK_BASE_URL": emulator.url,
    }
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env)
    assert out.returncode == 0, out.stderr
    return out.stdout.strip()


READ = (
    "df = up.read_upstack(['orders.total_revenue', 'orders.orders'], '2025-01-01', '2025-02-28',"
    " dimensions='channel', client=client, progress=False)\n"
)


def test_a_hit_in_a_new_process_reuses_the_frames_kept_beside_the_cache(
    emulator: Any, tmp_path: Path
) -> None:
    cache = tmp_path / "cache.sqlite"
    first = _child(emulator, cache, READ + "print(len(decodes), df.attrs['upstack']['fromCache'])")
    assert first == "1 False"
    files = list((tmp_path / "cache.sqlite.frames").glob("*.pickle"))
    assert len(files) == 1
    assert stat.S_IMODE(files[0].stat().st_mode) == 0o600
    second = _child(emulator, cache, READ + "print(len(decodes), df.attrs['upstack']['fromCache'])")
    assert second == "0 True"  # from the on-disk cache, and not decoded again

    client = emulator.client(cache=str(cache))
    hit = up.read_upstack(MEASURES, "2025-01-01", "2025-02-28", dimensions="channel",
                          client=client, progress=False)  # fmt: skip
    fresh = up.read_upstack(MEASURES, "2025-01-01", "2025-02-28", dimensions="channel",
                            client=client, progress=False, refresh=True)  # fmt: skip
    assert hit.attrs["upstack"]["fromCache"] is True
    pd.testing.assert_frame_equal(hit, fresh)
    pd.testing.assert_frame_equal(hit.upstack.compare, fresh.upstack.compare)
    assert up.cache.clear(client=client) > 0
    assert list((tmp_path / "cache.sqlite.frames").glob("*")) == []


def test_cache_clear_in_a_new_process_removes_the_kept_frames(
    emulator: Any, tmp_path: Path
) -> None:
    cache = tmp_path / "cache.sqlite"
    _child(emulator, cache, READ)
    assert list((tmp_path / "cache.sqlite.frames").glob("*.pickle"))
    _child(emulator, cache, "up.cache.clear(client=client)")
    assert list((tmp_path / "cache.sqlite.frames").glob("*.pickle")) == []


def test_a_damaged_file_is_dropped_and_the_body_decoded_again(
    emulator: Any, tmp_path: Path
) -> None:
    cache = tmp_path / "cache.sqlite"
    _child(emulator, cache, READ)
    (kept,) = (tmp_path / "cache.sqlite.frames").glob("*.pickle")
    kept.write_bytes(kept.read_bytes()[:100])
    out = _child(emulator, cache, READ + "print(len(decodes), len(df))")
    decodes, rows = out.split()
    assert decodes == "1" and int(rows) > 0


def test_memo_without_a_cache_file_stays_in_memory(emulator: Any) -> None:
    client = emulator.client(cache=False)
    assert memo_of(client).directory is None


def test_disk_entries_are_bounded(tmp_path: Path) -> None:
    frame = pd.DataFrame({"x": range(1000)}, dtype="float64")  # 8 kB of floats
    memo = FrameMemo(directory=tmp_path / "frames", max_disk_bytes=30_000)
    for key in "abcdefgh":
        memo.put(key, (frame, None, {}))
    kept = sum(f.stat().st_size for f in (tmp_path / "frames").glob("*.pickle"))
    assert 0 < kept <= 30_000
    fresh = FrameMemo(directory=tmp_path / "frames", max_disk_bytes=30_000)
    assert fresh.get("h") is not None and fresh.get("a") is None


def test_sizes_come_from_nbytes() -> None:
    frame = pd.DataFrame({"x": range(10), "y": range(10)}, dtype="float64")
    assert nbytes(frame) == 160 + frame.index.nbytes
    assert nbytes((frame, {"encoding": "e", "data": "abcd"}, None)) == nbytes(frame) + 5


def test_sizes_of_a_multiindex_frame_come_from_levels_and_codes() -> None:
    dt = pd.date_range("2026-01-01", periods=4, tz="UTC", name="dt")
    index = pd.MultiIndex.from_product([dt, ["a", "b", "c"]], names=["dt", "channel"])
    frame = pd.DataFrame({"x": range(12), "y": range(12)}, index=index, dtype="float64")
    levels = dt.nbytes + frame.index.levels[1].nbytes
    codes = sum(c.nbytes for c in frame.index.codes)
    assert nbytes(frame) == 2 * 12 * 8 + levels + codes
    assert "_engine" not in frame.index._cache  # no hash table built just to size the frame
