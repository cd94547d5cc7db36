"""A sync interrupted at any point leaves a readable dataset that the next run completes:
the rerun's dataset equals a clean sync's."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pandas as pd
import pytest
from _multi_pixel import PROFILES, multi_emulator, rc_env

import upstack_pandas as up
from upstack_pandas.datasets import manifest as manifest_module
from upstack_pandas.emulator.http.server import Emulator

__all__ = ["multi_emulator", "rc_env"]  # fixtures used here

IDS = ["orders.orders", "core.new_customer_roas"]
ARGS = (IDS, "2026-01-01", "2026-04-30")
KWARGS = {"dimensions": "channel", "profiles": PROFILES[:2], "as_of": "2026-11-26"}


def _parquet(root: Path) -> pd.DataFrame:
    frame = pd.read_parquet(root).astype({"pixel": str, "period": str})
    return frame.sort_values(["pixel", "dt", "channel"]).reset_index(drop=True)


def _manifests(root: Path) -> dict[str, object]:
    out = {}
    for path in sorted((root / "_upstack" / "manifest").glob("*.json")):
        data = json.loads(path.read_text())
        for entry in data["windows"].values():
            entry.pop("fetchedAt")
        out[path.name] = data
    return out


@pytest.fixture
def clean(multi_emulator: Emulator, rc_env: Path, tmp_path: Path) -> Path:
    root = tmp_path / "clean"
    assert up.sync(root, *ARGS, **KWARGS).ok  # type: ignore[arg-type]
    return root


def _assert_same_dataset(root: Path, clean: Path) -> None:
    pd.testing.assert_frame_equal(_parquet(root), _parquet(clean))
    assert _manifests(root) == _manifests(clean)
    pd.testing.assert_frame_equal(up.read_dataset(root), up.read_dataset(clean))
    assert not list(root.rglob("*.tmp")) and not (root / "_upstack" / "lock").exists()


def test_interrupt_between_partition_write_and_manifest_update(
    clean: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = tmp_path / "crashed"
    original = manifest_module.PixelManifest.record
    calls: list[int] = []

    def record(self: manifest_module.PixelManifest, *args: object, **kwargs: object) -> None:
        calls.append(1)
        if len(calls) == 3:  # the third partition is on disk, its manifest entry is not
            raise KeyboardInterrupt
        original(self, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(manifest_module.PixelManifest, "record", record)
    with pytest.raises(KeyboardInterrupt):
        up.sync(root, *ARGS, **KWARGS, max_workers=2)  # type: ignore[arg-type]
    monkeypatch.setattr(manifest_module.PixelManifest, "record", original)
    assert not (root / "_upstack" / "lock").exists()  # released on the way out
    recorded = sum(len(json.loads(p.read_text())["windows"])
                   for p in (root / "_upstack" / "manifest").glob("*.json"))  # fmt: skip
    assert recorded == 2
    assert len(list(root.rglob("data.parquet"))) >= 3  # more files than the manifest knows
    assert len(_parquet(root))  # what is there reads, whole partitions only

    again = up.sync(root, *ARGS, **KWARGS)  # type: ignore[arg-type]
    assert again.ok and again.fetched == 8 - 2 and again.skipped == 2
    _assert_same_dataset(root, clean)


_KILLER = textwrap.dedent(
    """
    import os, sys
    import upstack_pandas as up
    from upstack_pandas.datasets import manifest, writer

    where, root = sys.argv[1], sys.argv[2]
    count = [0]
    if where == "after-write":
        original = manifest.PixelManifest.record
        def record(self, *args, **kwargs):
            count[0] += 1
            if count[0] == 3:
                os._exit(9)  # like kill -9: no cleanup, the lock file stays
            original(self, *args, **kwargs)
        manifest.PixelManifest.record = record
    else:
        real_replace = os.replace
        def replace(src, dst):
            if str(dst).endswith("data.parquet"):
                count[0] += 1
                if count[0] == 3:
                    os._exit(9)  # the temporary file is written, the rename never happens
            real_replace(src, dst)
        writer.os.replace = replace
    up.sync(root, ["orders.orders", "core.new_customer_roas"], "2026-01-01", "2026-04-30",
            dimensions="channel", profiles=["pixel-1", "pixel-2"], as_of="2026-11-26",
            scheduler="sync")
    """
)


@pytest.mark.parametrize("where", ["after-write", "before-rename"])
def test_killed_process_then_rerun_equals_a_clean_sync(
    clean: Path, tmp_path: Path, where: str
) -> None:
    root = tmp_path / "killed"
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    proc = subprocess.run([sys.executable, "-c", _KILLER, where, str(root)], env=env,
                          capture_output=True, text=True, timeout=300)  # fmt: skip
    assert proc.returncode == 9, proc.stderr
    assert (root / "_upstack" / "lock").exists()  # left behind by the dead process
    if where == "before-rename":
        assert len(list(root.rglob(".data.parquet.*.tmp"))) == 1
    assert len(_parquet(root)) > 0  # pandas ignores the hidden temporary file

    again = up.sync(root, *ARGS, **KWARGS)  # type: ignore[arg-type]  # takes over the stale lock
    assert again.ok and again.skipped == 2
    _assert_same_dataset(root, clean)
