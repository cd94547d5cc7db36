"""Where ``Emulator.client()`` caches, and ``up.cache.clear()`` giving the space back.

A notebook starts a new emulator (a new random port) on every run; the cache file name includes
the base URL, so caching those clients in the user's cache directory would leave a new file per
run. ``Emulator.client()`` therefore caches in a temporary directory of that emulator, removed by
``stop()`` (docs/emulator.md, docs/caching.md).
"""

from __future__ import annotations

import os
import time
from datetime import timedelta
from pathlib import Path

import pytest
import requests

import upstack_pandas as up
from upstack_pandas.emulator import Emulator

EMULATOR_NOW = "2026-11-26T12:00:00Z"

VIEWS = "/accounts/api/dashboard/views"  # served without building an engine (fast)


def _on_disk(location: str) -> int:
    return sum(
        os.path.getsize(location + suffix)
        for suffix in ("", "-wal", "-journal")
        if os.path.exists(location + suffix)
    )


@pytest.fixture
def user_cache_dir(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """The user's cache directory, as ``up.Client()`` would use it."""
    directory = tmp_path / "user-cache"
    directory.mkdir()
    monkeypatch.setenv("UPSTACK_CACHE_DIR", str(directory))
    return directory


def test_clients_cache_in_a_temporary_directory_removed_on_stop(user_cache_dir: Path) -> None:
    emu = Emulator(now=EMULATOR_NOW).start()
    try:
        client = emu.client()
        first = client.get(VIEWS)
        second = client.get(VIEWS)
        location = up.cache.info(client).location
        assert location is not None
        cache_dir = Path(location).parent
        # caching works: the second read is a hit, stored outside the user's directory
        assert (first.from_cache, second.from_cache) == (False, True)
        assert Path(location).is_file() and user_cache_dir not in Path(location).parents
        assert list(user_cache_dir.iterdir()) == []
        # a second client of the same emulator shares the directory
        assert Path(up.cache.info(emu.client()).location or "").parent == cache_dir
    finally:
        emu.stop()
    assert not cache_dir.exists()
    assert list(user_cache_dir.iterdir()) == []


def test_emulators_on_new_ports_leave_nothing_in_the_user_cache_dir(
    user_cache_dir: Path,
) -> None:
    ports, locations = set(), set()
    for _ in range(3):
        with Emulator(now=EMULATOR_NOW) as emu:
            client = emu.client()
            client.get(VIEWS)
            ports.add(emu.port)
            locations.add(up.cache.info(client).location)
    assert len(ports) == 3 and len(locations) == 3
    assert list(user_cache_dir.iterdir()) == []
    assert not any(Path(str(location)).exists() for location in locations)


def test_a_policy_without_location_keeps_its_settings_in_the_temporary_directory(
    user_cache_dir: Path,
) -> None:
    with Emulator(now=EMULATOR_NOW) as emu:
        client = emu.client(cache=up.CachePolicy(settle_days=5))
        client.get(VIEWS)
        assert client.cache_policy is not None and client.cache_policy.settle_days == 5
        location = up.cache.info(client).location
        assert location is not None and user_cache_dir not in Path(location).parents
    assert not Path(location).exists()


def test_an_explicit_cache_is_used_as_given_and_kept(tmp_path: Path, user_cache_dir: Path) -> None:
    target = tmp_path / "mine.sqlite"
    with Emulator(now=EMULATOR_NOW) as emu:
        kept = emu.client(cache=str(target))
        kept.get(VIEWS)
        off = emu.client(cache=False)
        off.get(VIEWS)
        assert up.cache.info(kept).location == str(target)
        assert up.cache.info(off).location is None
        own = emu.client(session=requests.Session())  # the user's session, used as is
        own.get(VIEWS)
        assert up.cache.info(own).location is None
    assert target.is_file()  # the user's own file survives stop()
    assert list(user_cache_dir.iterdir()) == []
    kept.close()


def test_clear_shrinks_the_cache_file(emulator: Emulator, tmp_path: Path) -> None:
    client = emulator.client(cache=str(tmp_path / "big.sqlite"))
    try:
        for measure in ("orders.total_revenue", "meta.cpm", "core.new_customer_roas"):
            up.read_upstack(measure, "2024-01-01", "2026-11-20", client=client)
        location = up.cache.info(client).location
        assert location is not None
        before, entries = _on_disk(location), up.cache.info(client).entries
        assert before > 500_000 and entries >= 3  # three two-year daily reads, about 1 MB
        assert up.cache.clear(client=client) == entries
        after = _on_disk(location)
        # VACUUM + WAL checkpoint: the freed pages go back to the file system
        assert after < before / 10, (before, after)
        assert up.cache.info(client).entries == 0
        # the cache still works after compaction
        again = up.read_upstack("meta.cpm", "2026-11-01", "2026-11-10", client=client)
        assert not again.attrs["upstack"]["fromCache"]
        assert up.cache.info(client).entries == 1
    finally:
        client.close()


def test_clear_expired_only_also_compacts(emulator: Emulator, tmp_path: Path) -> None:
    second = timedelta(seconds=1)
    short = up.CachePolicy(location=str(tmp_path / "short.sqlite"), settled=second, recent=second)
    client = emulator.client(cache=short)
    try:
        up.read_upstack("orders.total_revenue", "2024-01-01", "2026-11-20", client=client)
        location = up.cache.info(client).location
        assert location is not None
        before = _on_disk(location)
        time.sleep(1.1)  # past the one-second expiry
        assert up.cache.clear(expired_only=True, client=client) >= 1
        assert _on_disk(location) < before / 4
    finally:
        client.close()
