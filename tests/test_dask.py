"""``upstack_pandas.dask``: a lazy frame whose partitions are fetched in the workers of a
``distributed`` cluster, equal to the pandas reader, with no key in the task graph."""

from __future__ import annotations

import itertools
import os
import pickle
import time
from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pytest
from _multi_pixel import PROFILES, multi_emulator, rc_env

import upstack_pandas as up
from upstack_pandas.emulator.http.server import Emulator

__all__ = ["multi_emulator", "rc_env"]  # fixtures used here

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
        assert b"ClusterPacer" not in blob  # the workers make their gates; none travels


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
        _wait_until_the_workers_are_idle(cluster)  # the other partitions were still running


def _running_tasks(dask_worker: distributed.Worker) -> int:
    return len(dask_worker.state.all_running_tasks)  # cancelled ones still hold a thread


def _wait_until_the_workers_are_idle(cluster: distributed.Client, timeout: float = 60.0) -> None:
    """Wait for tasks a failed compute left running: released, they still run to the end in
    the workers, and their requests (retries included) would reach the next test's faults."""
    deadline = time.monotonic() + timeout
    while any(cluster.run(_running_tasks).values()):
        assert time.monotonic() < deadline, "the workers are still running tasks"
        time.sleep(0.05)


def test_bad_arguments_are_refused_at_build_time(cluster_env: Path) -> None:
    with pytest.raises(ValueError, match="calendar months"):
        upd.read_upstack(IDS, *Q1, granularity="week", profiles="pixel-1")
    with pytest.raises(ValueError, match="more than once"):
        upd.read_upstack(IDS, *Q1, profiles=["pixel-1", "pixel-1"])
    with pytest.raises(up.ConfigurationError, match=r"profile \[nope\]"):
        upd.read_upstack(IDS, *Q1, profiles="nope")


# -- the 429 pause, shared by the workers of one pixel --------------------------------------


class _Events:
    """A scheduler's event log, as ``ClusterPacer`` uses it (``log_event``/``get_events``)."""

    def __init__(self, fail: bool = False) -> None:
        self.log: dict[str, list[tuple[float, object]]] = {}
        self.fail = fail

    def log_event(self, topic: str, msg: object) -> None:
        if self.fail:
            raise OSError("scheduler gone")
        self.log.setdefault(topic, []).append((0.0, msg))

    def get_events(self, topic: str) -> tuple[tuple[float, object], ...]:
        if self.fail:
            raise OSError("scheduler gone")
        return tuple(self.log.get(topic, ()))


class _Clock:
    def __init__(self) -> None:
        self.now = 1000.0
        self.slept: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds


def _pacer_pair(events: _Events, clock: _Clock, topic: str = "t") -> list[upd.ClusterPacer]:
    """Two workers' gates of one pixel (each with its own process gate) on one event log."""
    from upstack_pandas._transport.retry import Pacer

    return [
        upd.ClusterPacer(topic, Pacer(sleep=clock.sleep, clock=clock), events, clock=clock)
        for _ in range(2)
    ]


def test_a_hold_on_one_worker_makes_the_other_wait_and_pauses_only_add_up() -> None:
    events, clock = _Events(), _Clock()
    first, second = _pacer_pair(events, clock)
    assert second.wait() == 0 and clock.slept == []
    first.hold(3.0)
    assert events.log == {"t": [(0.0, 1003.0)]}  # the wall-clock instant, nothing else
    clock.now += 1.0
    assert second.remaining() == pytest.approx(2.0)  # it never saw the 429 itself
    assert second.wait() == pytest.approx(2.0) and clock.now == pytest.approx(1003.0)
    second.hold(1.0)  # a shorter pause later does not shorten the first one's
    first.hold(0.5)
    assert max(m for _, m in events.log["t"]) == pytest.approx(1004.0)
    assert first.wait() == pytest.approx(1.0)
    other = _pacer_pair(events, clock, topic="another pixel")[0]
    second.hold(5.0)
    assert other.wait() == 0  # pixels do not pause each other


def test_without_the_scheduler_the_gate_paces_this_worker_and_warns_once(
    caplog: pytest.LogCaptureFixture,
) -> None:
    clock = _Clock()
    first, _ = _pacer_pair(_Events(fail=True), clock)
    with caplog.at_level("WARNING", logger="upstack_pandas"):
        first.hold(2.0)
        assert first.wait() == pytest.approx(2.0)  # this worker's own gate still holds
        first.hold(1.0)
    warnings = [r for r in caplog.records if "per worker" in r.getMessage()]
    assert len(warnings) == 1 and "OSError: scheduler gone" in warnings[0].getMessage()


def test_the_topic_names_the_pixel_by_a_hash() -> None:
    topic = upd.pacing_topic("http://127.0.0.1:1", "pixel-abc")
    assert topic.startswith("upstack-pandas-pacing-") and "pixel-abc" not in topic
    assert len(topic) == len("upstack-pandas-pacing-") + 24
    assert topic != upd.pacing_topic("http://127.0.0.1:2", "pixel-abc")
    assert topic == upd.pacing_topic("http://127.0.0.1:1", "pixel-abc")


def test_a_client_sends_its_429_pauses_to_the_gate_it_was_given(
    multi_emulator: Emulator, cluster_env: Path
) -> None:
    from upstack_pandas._transport.retry import Pacer, RetryPolicy

    clock, events = _Clock(), _Events()
    policy = RetryPolicy(sleep=clock.sleep, clock=clock)
    gate = upd.ClusterPacer("t", Pacer(sleep=clock.sleep, clock=clock), events, clock=clock)
    with pytest.raises(TypeError, match=r"wait\(\) and hold\(delay\)"):
        up.Client(profile="pixel-1", cache=False, pacer=object())  # type: ignore[arg-type]
    multi_emulator.inject("status", path="/db-mgmt/api/query", status=429, retry_after=2,
                          count=1, pixel_id=multi_emulator.pixel_ids[0])  # fmt: skip
    try:
        with up.Client(profile="pixel-1", cache=False, max_retries=policy, pacer=gate) as client:
            assert client.pacer is gate
            frame = up.read_upstack(IDS, "2026-01-01", "2026-01-03", compare=False, client=client)
    finally:
        multi_emulator.clear_faults()
    assert len(frame) == 3
    assert [m for _, m in events.log["t"]] == [pytest.approx(1002.0)]
    assert clock.slept == [pytest.approx(2.0)]  # the retry waited out the shared pause


SPAN = ("2024-01-01", "2025-12-31")


def _forget_worker_clients() -> None:  # runs in each worker: the next task builds new clients
    from upstack_pandas.datasets import fetch

    for client in fetch._clients.values():
        client.close()
    fetch._clients.clear()


@pytest.mark.parametrize("work", ["read", "sync"])
def test_a_429_seen_by_one_worker_pauses_every_worker_of_that_pixel(
    multi_emulator: Emulator,
    cluster: distributed.Client,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    work: str,
) -> None:
    # the dask reader's partitions and sync(..., scheduler=cluster)'s windows alike
    _wait_until_the_workers_are_idle(cluster)  # no request of an earlier test still on its way
    cluster.run(_forget_worker_clients)  # no gate left from an earlier test
    pixel = multi_emulator.pixel_ids[0]
    expected = _reference("pixel-1", *SPAN)
    arrivals: list[tuple[float, str, str | None]] = []  # (monotonic, path, pixel) per API request
    take = multi_emulator.injector.take

    def recording_take(path: str, pixel_id: str | None = None) -> list[object]:
        arrivals.append((time.monotonic(), path, pixel_id))
        return take(path, pixel_id)  # type: ignore[return-value]

    monkeypatch.setattr(multi_emulator.injector, "take", recording_take)
    pause, latency = 2, 0.25  # each request takes a while: the other worker is busy at the 429
    ddf = upd.read_upstack(IDS, *SPAN, profiles="pixel-1")  # 24 partitions
    multi_emulator.inject("latency", path="/db-mgmt/api/query", latency_ms=int(latency * 1000),
                          pixel_id=pixel)  # fmt: skip
    multi_emulator.inject("status", path="/db-mgmt/api/query", status=429, retry_after=pause,
                          count=1, pixel_id=pixel)  # fmt: skip
    try:
        if work == "read":
            got = ddf.compute().drop(columns="pixel")
        else:
            done = up.sync(tmp_path / "d", IDS, *SPAN, profiles="pixel-1", as_of="2026-11-26",
                           scheduler=cluster)  # fmt: skip
            assert done.ok and done.fetched == 24
            got = up.read_dataset(tmp_path / "d").droplevel("pixel")
    finally:
        multi_emulator.clear_faults()
    pd.testing.assert_frame_equal(got, expected, check_freq=False, check_index_type=False)
    queries = [(t, p) for t, path, p in arrivals if path == "/db-mgmt/api/query" and p == pixel]
    assert len(queries) == 24 + 1  # every month once, and the one answered 429 again
    t429 = queries[0][0]  # the fault took the first one (the 429 leaves `latency` later)
    # requests already on their way when the 429 arrived may still come (up to `grace` later,
    # generous for a loaded machine); after that none until the pause is over, from any worker
    grace = latency + 0.5
    mine = [t - t429 for t, _, p in arrivals if p == pixel]
    during = [round(t, 2) for t in mine if grace < t < latency + pause - 0.05]
    assert during == []
    assert len([t for t in mine if t >= latency + pause - 0.05]) >= 24 - 4
    # every worker's client of pixel-1 shares the pause; the scheduler's topic names no key
    topic = upd.pacing_topic(multi_emulator.url, pixel)
    gates = cluster.run(lambda: sorted({repr(c.pacer) for c in __import__(
        "upstack_pandas.datasets.fetch", fromlist=["_clients"])._clients.values()}))  # fmt: skip
    assert all(f"ClusterPacer(topic={topic!r})" in found for found in gates.values())
    logged = cluster.get_events(topic)
    assert len(logged) >= 1 and all(isinstance(m, float) for _, m in logged)
    everything = pickle.dumps(cluster.get_events())
    for name in multi_emulator.pixel_ids:
        assert multi_emulator.pixel_key(name).encode() not in everything


def test_max_in_flight_caps_one_pixels_requests_across_the_workers(
    multi_emulator: Emulator, cluster: distributed.Client, monkeypatch: pytest.MonkeyPatch
) -> None:
    pixel = multi_emulator.pixel_ids[1]
    span = ("2025-01-01", "2025-06-30")
    expected = _reference("pixel-2", *span)
    with pytest.raises(ValueError, match="max_in_flight must be a whole number of at least 1"):
        upd.read_upstack(IDS, *span, profiles="pixel-2", max_in_flight=0)
    arrivals: list[float] = []
    take = multi_emulator.injector.take

    def recording_take(path: str, pixel_id: str | None = None) -> list[object]:
        if path == "/db-mgmt/api/query" and pixel_id == pixel:
            arrivals.append(time.monotonic())
        return take(path, pixel_id)  # type: ignore[return-value]

    monkeypatch.setattr(multi_emulator.injector, "take", recording_take)
    latency = 0.3
    multi_emulator.inject("latency", path="/db-mgmt/api/query", latency_ms=int(latency * 1000),
                          pixel_id=pixel)  # fmt: skip
    try:
        got = upd.read_upstack(IDS, *span, profiles="pixel-2", max_in_flight=1).compute()
    finally:
        multi_emulator.clear_faults()
    pd.testing.assert_frame_equal(got.drop(columns="pixel"), expected, check_freq=False)
    assert len(arrivals) == 6
    gaps = [b - a for a, b in itertools.pairwise(arrivals)]
    assert min(gaps) >= latency - 0.02  # one at a time, though 4 threads were free


def test_a_worker_without_a_scheduler_client_keeps_its_own_gate(
    rc_env: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    from upstack_pandas._transport.retry import Pacer

    def no_client() -> object:
        raise OSError("no scheduler")

    monkeypatch.setattr(distributed, "get_worker", lambda: object())  # as if in a worker
    monkeypatch.setattr(distributed, "get_client", no_client)
    with caplog.at_level("WARNING", logger="upstack_pandas"):
        client = upd.paced_client("pixel-3")
    assert type(client.pacer) is Pacer  # pacing this process only, and the read goes on
    assert any("no client of the scheduler (OSError: no scheduler)" in r.getMessage()
               for r in caplog.records)  # fmt: skip
