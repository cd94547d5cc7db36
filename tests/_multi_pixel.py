"""A three-pixel emulator (one key and one ``.upstackrc`` profile per pixel) for sync, Dask
and profile tests, and the environment that points a process (and its children) at it."""

from __future__ import annotations

import atexit
import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from upstack_pandas.emulator.http.server import Emulator, pixel_ids

PROFILES = ["pixel-1", "pixel-2", "pixel-3"]
EMULATOR_NOW = "2026-11-26T12:00:00Z"  # as tests/conftest.py
EMULATOR_SEED = 7


_shared: list[Emulator] = []


def _stop_shared() -> None:
    for emu in _shared:
        emu.stop()


@pytest.fixture(scope="module")
def multi_emulator() -> Iterator[Emulator]:
    """An emulator of three pixels, each with its own key and data.

    One per test process, shared by the modules that use it (building three pixels' data
    takes seconds); tests clear the faults they inject.
    """
    if not _shared:
        _shared.append(Emulator(seed=EMULATOR_SEED, now=EMULATOR_NOW, pixels=pixel_ids(3)).start())
        atexit.register(_stop_shared)
    yield _shared[0]
    _shared[0].clear_faults()


@pytest.fixture
def rc_env(multi_emulator: Emulator, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """``UPSTACK_CONFIG`` at a fresh ``.upstackrc`` of ``multi_emulator``; no other settings."""
    for name in list(os.environ):
        if name.startswith("UPSTACK_") and name != "UPSTACK_CACHE_DIR":
            monkeypatch.delenv(name)
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    rc = tmp_path / "upstackrc"
    rc.write_text(multi_emulator.upstackrc(), encoding="utf-8")
    rc.chmod(0o600)
    monkeypatch.setenv("UPSTACK_CONFIG", str(rc))
    return rc
