"""``upstack_pandas.dask``: a lazy frame whose partitions are fetched in the workers of a
``distributed`` cluster, equal to the pandas reader, with no key in the task graph."""

from __future__ import annotations

import os
import pickle
from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pytest
from _multi_pixel import PROFILES, multi_emulator

import upstack_pandas as up
from upstack_pandas.emulator.http.server import Emulator

__all__ = ["multi_emulator"]  # fixture used here

dd = pytest.importorskip("dask.dataframe")
distributed = pytest.importorskip("distributed")
cloudpickle = pytest.importorskip("cloudpickle")

import upstack_pandas.dask as upd  # noqa: E402


def _undo_tblib_pickling() -> None:
    """Undo what importing ``distributed`` does to the whole process: tblib's exception and
    traceback reducers in ``copyreg`` (they pickle exception chains, which other tests of this
    process check do not leak). The cluster works without them (plainer remote tracebacks)."""
    import copyreg

    from tblib import pickling_support

    for cls, reducer in list(copyreg.dispatch_table.items()):
        if reducer is pickling_support.pickle_exception or (
            getattr(reducer, "func", None) is pickling_support.pickle_traceback
        ):
            del copyreg.dispatch_table[cls]


_undo_tblib_pickling()  # at collection: distributed was just imported


@pytest.fixture(autouse=True, scope="module")
def _no_tblib_after_this_module() -> Iterator[None]:
    yield
    _undo_tblib_pickling()  # distributed installs them again for the errors it serialises


IDS = ["orders.orders", "core.new_customer_roas"]
Q1 = ("2026-01-01", "2026-03-31")


@pytest.fixture(scope="module")
def cluster_env(
    multi_emulator: Emulator, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Path]:
    """The emulator's ``.upstackrc`` in ``UPSTACK_CONFIG`` (set before workers start)."""
    tmp = tmp_path_factory.mktemp("dask-env")
    rc = tmp / "upstackrc"
    rc.write_text(multi_emulator.upstackrc(), encoding="utf-8")
    rc.chmod(0o600)
    with pytest.MonkeyPatch.context() as mp:
        for name in list(os.environ):
            if name.startswith("UPSTACK_") and name != "UPSTACK_CACHE_DIR":
                mp.delenv(name)
        mp.setenv("HOME", str(tmp / "home"))
        mp.setenv("UPSTACK_CONFIG", str(rc))
        yield rc


@pytest.fixture(scope="module")
def cluster(cluster_env: Path) -> Iterator[distributed.Client]:
    """A local cluster of two worker processes (they inherit the environment above)."""
    with (
        distributed.LocalCluster(
            processes=True, n_workers=2, threads_per_worker=2, dashboard_address=":0"
        ) as local,
        distributed.Client(local) as client,
    ):
        yield client


def _reference(profile: str, start: str, end: str, **kwargs: object) -> pd.DataFrame:
    with up.Client(profile=profile, cache=False) as client:
        frame = up.read_upstack(IDS, start, end, compare=False, client=client, **kwargs)  # type: ignore[arg-type]
    frame.attrs = {}
    return frame


def test_meta_has_the_reader_dtypes_and_building_fetches_no_data(
    multi_emulator: Emulator, cluster_env: Path
) -> None:
    multi_emulator.inject("status", path="/db-mgmt/api/query", status=500)
    try:  # any data request would fail: only the catalog is read at build time
        ddf = upd.read_upstack(["orders.orders", "NC ROAS"], *Q1, dimensions="channel",
                               profiles=PROFILES[:2])  # fmt: skip
    finally:
        multi_emulator.clear_faults()
    assert ddf.npartitions == 6 and not ddf.known_divisions
    assert list(ddf.columns) == ["pixel", "channel", *IDS]
    reference = _reference("pixel-1", "2026-01-01", "2026-01-03", dimensions="channel")
    meta = ddf._meta
    assert meta.index.name == "dt" and meta.index.dtype == reference.index.dtypes["dt"]
    assert meta["channel"].dtype == reference.index.dtypes["channel"]
    assert meta["pixel"].dtype == reference.index.dtypes["channel"]
    assert (meta[IDS].dtypes == reference.dtypes).all()


def test_the_task_graph_holds_profile_names_and_no_key(
    multi_emulator: Emulator, cluster_env: Path
) -> None:
    ddf = upd.read_upstack(IDS, *Q1, profiles=PROFILES)
    graph = dict(ddf.__dask_graph__())
    for blob in (cloudpickle.dumps(graph), pickle.dumps(graph), cloudpickle.dumps(ddf)):
        assert b"pixel-2" in blob  # workers get the profile name...
        for pixel in multi_emulator.pixel_ids:
            key = multi_emulator.pixel_key(pixel)
            assert key.encode() not in blob  # ...and never the key
            assert key[len("upstack_") :].encode() not in blob


def test_compute_on_a_cluster_equals_the_pandas_read(
    multi_emulator: Emulator, cluster: distributed.Client
) -> None:
    ddf = upd.read_upstack(IDS, *Q1, dimensions="channel", profiles=PROFILES)
    got = ddf.compute()
    assert isinstance(got, pd.DataFrame)
    pd.testing.assert_frame_equal(got.iloc[:0], ddf._meta)  # dtypes as promised
    for name, pixel in zip(PROFILES, multi_emulator.pixel_ids, strict=True):
        part = got[got["pixel"] == pixel].drop(columns="pixel").set_index("channel", append=True)
        expected = _reference(name, *Q1, dimensions="channel")
        pd.testing.assert_frame_equal(part, expected, check_freq=False)
    # the workers resolved the profiles themselves
    seen = cluster.run(lambda: sorted(str(k[0]) for k in __import__(
        "upstack_pandas.datasets.fetch", fromlist=["_clients"])._clients))  # fmt: skip
    assert set().union(*map(set, seen.values())) == set(PROFILES)


def test_one_pixel_has_known_divisions(
    multi_emulator: Emulator, cluster: distributed.Client
) -> None:
    ddf = upd.read_upstack(IDS, "2026-01-15", "2026-03-10", profiles="pixel-3")
    assert ddf.known_divisions
    assert ddf.divisions[:3] == tuple(
        pd.Timestamp(d, tz="UTC") for d in ("2026-01-15", "2026-02-01", "2026-03-01")
    )
    assert ddf.divisions[3] == pd.Timestamp("2026-03-10 23:59:59.999999", tz="UTC")
    feb = ddf.loc["2026-02-01":"2026-02-28"].compute()
    expected = _reference("pixel-3", "2026-02-01", "2026-02-28")
    pd.testing.assert_frame_equal(feb.drop(columns="pixel"), expected, check_freq=False)


def test_sync_on_a_cluster_equals_a_local_sync(
    multi_emulator: Emulator, cluster: distributed.Client, tmp_path: Path
) -> None:
    remote = upd.sync(tmp_path / "remote", IDS, *Q1, dimensions="channel", profiles=PROFILES,
                      as_of="2026-11-26", scheduler=cluster)  # fmt: skip
    assert remote.ok and remote.fetched == 9
    local = up.sync(tmp_path / "local", IDS, *Q1, dimensions="channel", profiles=PROFILES,
                    as_of="2026-11-26")  # fmt: skip
    assert local.ok
    pd.testing.assert_frame_equal(
        up.read_dataset(tmp_path / "remote"), up.read_dataset(tmp_path / "local")
    )
    again = upd.sync(
        tmp_path / "remote", IDS, *Q1, dimensions="channel", profiles=PROFILES, as_of="2026-11-26"
    )  # the current distributed client, found by itself
    assert again.fetched == 0 and again.skipped == 9
    with (
        up.Client(profile="pixel-1", cache=False) as client,
        pytest.raises(ValueError, match="a remote scheduler needs profiles="),
    ):
        up.sync(tmp_path / "x", IDS, *Q1, client=client, scheduler=cluster)


def test_an_error_sent_back_by_a_worker_carries_no_key(
    multi_emulator: Emulator, cluster_env: Path
) -> None:
    from tblib import pickling_support

    from upstack_pandas.dask import PartitionSpec, read_partition
    from upstack_pandas.datasets.plan import DatasetRequest, Window

    second = multi_emulator.pixel_ids[1]
    spec = PartitionSpec(
        "pixel-2", DatasetRequest(("orders.orders",), "day"),
        Window(second, "2026-01", __import__("datetime").date(2026, 1, 1),
               __import__("datetime").date(2026, 1, 31)),
    )  # fmt: skip
    multi_emulator.inject("drop", path="/db-mgmt/api/query", pixel_id=second)
    pickling_support.install()  # as distributed does: chains and tracebacks get pickled
    try:
        with pytest.raises(up.TransportError) as info:
            read_partition(spec)
        blob = pickle.dumps(info.value) + cloudpickle.dumps(info.value)
    finally:
        _undo_tblib_pickling()
        multi_emulator.clear_faults()
    assert info.value.__cause__ is None and info.value.__context__ is None
    assert multi_emulator.pixel_key(second).encode() not in blob
    assert "failure" in str(pickle.loads(pickle.dumps(info.value)))


def test_a_failing_partition_fails_the_compute(
    multi_emulator: Emulator, cluster: distributed.Client
) -> None:
    ddf = upd.read_upstack(IDS, *Q1, profiles=PROFILES[:2])
    multi_emulator.inject("status", path="/db-mgmt/api/query", status=500,
                          pixel_id=multi_emulator.pixel_ids[1])  # fmt: skip
    try:
        with pytest.raises(up.ServerError):
            ddf.compute()
    finally:
        multi_emulator.clear_faults()


def test_bad_arguments_are_refused_at_build_time(cluster_env: Path) -> None:
    with pytest.raises(ValueError, match="calendar months"):
        upd.read_upstack(IDS, *Q1, granularity="week", profiles="pixel-1")
    with pytest.raises(ValueError, match="more than once"):
        upd.read_upstack(IDS, *Q1, profiles=["pixel-1", "pixel-1"])
    with pytest.raises(up.ConfigurationError, match=r"profile \[nope\]"):
        upd.read_upstack(IDS, *Q1, profiles="nope")
