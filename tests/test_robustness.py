"""Adversarial end-to-end tests: every reader under injected faults, against the emulator.

The standard (docs/errors-and-retries.md, docs/caching.md): bad input gets a clear error before
any request is sent; 429, 502-504, dropped connections and timeouts get bounded retries; other
errors raise typed exceptions at once; broken bodies raise ``TransportError`` and are never
cached; a failure anywhere in a multi-request read (a page, a window, a model) raises and
returns nothing partial; dashboard writes are retried only when they cannot have been applied.

Every test clears the faults it injects (the ``faults`` fixture) and uses a fast retry policy, so
nothing really sleeps for long.
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
import requests

import upstack_pandas as up
from upstack_pandas import RetryPolicy
from upstack_pandas.dashboards import Dashboards
from upstack_pandas.emulator.http.server import Emulator

QUERY = "/db-mgmt/api/query"
ATTRIBUTION = "/db-mgmt/api/query-attribution"
COHORTS = "/db-mgmt/api/query-cohort-analysis"
CHANNELS = "/db-mgmt/api/query-channel-details"
MEASURES = "/db-mgmt/api/measures"
FILTERS = "/db-mgmt/api/filters"
VIEWS = "/accounts/api/dashboard/views"

FAST = RetryPolicy(max_retries=3, backoff_base=0.01, backoff_max=0.05, max_total_wait=5.0)


# ------------------------------------------------------------------------------- helpers


class Attempts:
    """Counts the requests a client's session sends (every attempt, retries included)."""

    def __init__(self, client: up.Client) -> None:
        self.calls: list[tuple[str, str]] = []
        session = client.session
        original = session.request

        def counting(method: str, url: str, *args: Any, **kwargs: Any) -> requests.Response:
            self.calls.append((method.upper(), requests.utils.urlparse(url).path))
            return original(method, url, *args, **kwargs)

        session.request = counting  # type: ignore[method-assign]

    def to(self, path: str) -> int:
        return sum(1 for _, p in self.calls if p == path)


def settle_windows() -> None:
    """Wait for the window threads of a failed chunked read (requests still in flight)."""
    for thread in threading.enumerate():
        # the pools of upstack_pandas._readers.chunks name their workers upstack_N, upstack-summary_N
        if thread.name.startswith(("upstack_", "upstack-summary_")):
            thread.join(timeout=10)


@pytest.fixture
def faults(emulator: Emulator) -> Iterator[Emulator]:
    """The session's emulator; every fault injected through it is cleared afterwards."""
    emulator.clear_faults()
    yield emulator
    settle_windows()  # so that no request of this test meets the next test's faults
    emulator.clear_faults()


@pytest.fixture
def make_client(emulator: Emulator) -> Iterator[Callable[..., up.Client]]:
    """Clients of the session's emulator with the fast retry policy, closed afterwards."""
    made: list[up.Client] = []

    def make(**kwargs: Any) -> up.Client:
        kwargs.setdefault("cache", False)
        kwargs.setdefault("max_retries", FAST)
        client = emulator.client(**kwargs)
        up.measures(client=client)  # the catalog, so that only the reader's own path is faulted
        made.append(client)
        return client

    yield make
    for client in made:
        client.close()


def strip(df: pd.DataFrame) -> pd.DataFrame:
    """The frame without its metadata (fetch time and cache flags differ between reads)."""
    out = df.copy()
    out.attrs = {}
    return out


def same(a: pd.DataFrame, b: pd.DataFrame) -> None:
    pd.testing.assert_frame_equal(strip(a), strip(b))
    meta_a, meta_b = a.attrs.get("upstack", {}), b.attrs.get("upstack", {})
    assert meta_a.get("request") == meta_b.get("request")
    assert meta_a.get("measures") == meta_b.get("measures")


@dataclass(frozen=True)
class Reader:
    """One public read call and the path it requests."""

    name: str
    path: str
    method: str
    call: Callable[[up.Client], pd.DataFrame]
    requests: int = 1  # requests to ``path`` for one fault-free read


def _views(client: up.Client) -> pd.DataFrame:
    return Dashboards(client).list().drop(columns=["createdAt", "updatedAt"], errors="ignore")


READERS = [
    Reader(
        "read_upstack",
        QUERY,
        "POST",
        lambda c: up.read_upstack(
            ["orders.orders", "orders.aov"],
            "2026-03-01",
            "2026-03-20",
            dimensions="device",
            client=c,
        ),
    ),
    Reader(
        "read_upstack_chunks",
        QUERY,
        "POST",
        lambda c: up.read_upstack(
            "orders.orders",
            "2026-01-01",
            "2026-02-28",
            chunks="10D",
            max_workers=3,
            progress=False,
            client=c,
        ),
        requests=7,  # 6 windows (each with its compare window) + the summary
    ),
    Reader(
        "read_attribution_models",
        ATTRIBUTION,
        "POST",
        lambda c: up.read_attribution(
            "utm_source",
            "2026-03-01",
            "2026-03-31",
            model=["first_click", "last_click"],
            progress=False,
            client=c,
        ),
        requests=2,
    ),
    Reader(
        "read_cohorts",
        COHORTS,
        "POST",
        lambda c: up.read_cohorts(
            ["orders.cohort_retention_percent", "orders.customers_cohort"],
            "2026-01-01",
            "2026-06-30",
            client=c,
        ),
    ),
    Reader(
        "read_channel_details_pages",
        CHANNELS,
        "POST",
        lambda c: up.read_channel_details(
            "channel.spend",
            "2026-03-01",
            "2026-03-07",
            level="campaign",
            page_size=4,
            progress=False,
            client=c,
        ),
        requests=0,  # several: pagination is asserted in test_readers.py (follow_pagination)
    ),
    Reader("measures", MEASURES, "GET", lambda c: up.measures("roas", client=c, refresh=True)),
    Reader("filters", FILTERS, "GET", lambda c: up.filters(client=c)),
    Reader("dashboards_list", VIEWS, "GET", _views),
]
READER_IDS = [r.name for r in READERS]


@pytest.fixture(scope="module")
def baselines(emulator: Emulator) -> dict[str, pd.DataFrame]:
    """Every reader's frame without any fault (reads through an uncached client)."""
    with emulator.client(cache=False) as client:
        return {reader.name: reader.call(client) for reader in READERS}


# ----------------------------------------------------------------- retried faults: same frame


@pytest.mark.parametrize("reader", READERS, ids=READER_IDS)
@pytest.mark.parametrize(
    ("kind", "options"),
    [
        ("status", {"status": 503}),
        ("status", {"status": 502}),
        ("status", {"status": 504}),
        ("status", {"status": 429, "retry_after": 0}),
        ("drop", {}),
    ],
    ids=["503", "502", "504", "429", "drop"],
)
def test_transient_fault_is_retried_and_gives_the_right_frame(
    faults: Emulator,
    make_client: Callable[..., up.Client],
    baselines: dict[str, pd.DataFrame],
    reader: Reader,
    kind: str,
    options: dict[str, Any],
) -> None:
    client = make_client()
    attempts = Attempts(client)
    faults.inject(kind, path=reader.path, count=1, **options)  # type: ignore[arg-type]
    df = reader.call(client)
    same(df, baselines[reader.name])
    assert not faults.injector.active(), "the fault was never hit"
    if reader.requests:
        assert attempts.to(reader.path) == reader.requests + 1  # exactly one retry


# ---------------------------------------------------------------- persistent faults: typed errors


@pytest.mark.parametrize("reader", READERS, ids=READER_IDS)
def test_persistent_500_raises_server_error_at_once(
    faults: Emulator, make_client: Callable[..., up.Client], reader: Reader
) -> None:
    client = make_client()
    attempts = Attempts(client)
    faults.inject("status", path=reader.path, status=500)
    result = None
    with pytest.raises(up.ServerError) as info:
        result = reader.call(client)
    assert result is None
    error = info.value
    assert (error.status, error.method, error.path) == (500, reader.method, reader.path)
    assert error.request_id and error.request_id in str(error)
    assert error.message == "Internal server error"
    assert f"{reader.method} {reader.path}" in str(error)
    # 500 is not a retryable status: one attempt per request in flight, no retry
    assert attempts.to(reader.path) <= max(reader.requests, 1)
    if reader.name != "read_upstack_chunks":  # windows run concurrently
        assert attempts.to(reader.path) == 1


@pytest.mark.parametrize("reader", READERS, ids=READER_IDS)
def test_persistent_503_raises_after_bounded_retries(
    faults: Emulator, make_client: Callable[..., up.Client], reader: Reader
) -> None:
    policy = RetryPolicy(max_retries=2, backoff_base=0.01, backoff_max=0.02, max_total_wait=5)
    client = make_client(max_retries=policy)
    attempts = Attempts(client)
    faults.inject("status", path=reader.path, status=503)
    started = time.perf_counter()
    with pytest.raises(up.ServerError) as info:
        reader.call(client)
    assert time.perf_counter() - started < 5
    assert (info.value.status, info.value.path) == (503, reader.path)
    assert info.value.request_id
    if reader.name != "read_upstack_chunks":
        assert attempts.to(reader.path) == 3  # the first attempt and two retries


def test_persistent_429_raises_rate_limited_with_retry_after(
    faults: Emulator, make_client: Callable[..., up.Client]
) -> None:
    policy = RetryPolicy(max_retries=2, backoff_base=0.01, max_total_wait=5)
    client = make_client(max_retries=policy)
    attempts = Attempts(client)
    faults.inject("status", path=QUERY, status=429, retry_after=0)
    with pytest.raises(up.RateLimited) as info:
        READERS[0].call(client)
    assert info.value.retry_after == 0
    assert info.value.status == 429 and info.value.request_id
    assert attempts.to(QUERY) == 3


@pytest.mark.parametrize("status", [400, 401, 403, 404, 409, 500, 501])
def test_other_statuses_are_not_retried(
    faults: Emulator, make_client: Callable[..., up.Client], status: int
) -> None:
    client = make_client()
    attempts = Attempts(client)
    faults.inject("status", path=QUERY, status=status)
    with pytest.raises(up.UpstackError) as info:
        READERS[0].call(client)
    assert info.value.status == status
    assert type(info.value) is up.UpstackError or status in (400, 401, 403, 404, 500, 501)
    assert attempts.to(QUERY) == 1


# ------------------------------------------------------------------------------- Retry-After
# (parsing: test_retry.py; honoured, over budget, on 503, 429 shared pause: test_client.py;
# per reader after a 429: test_transient_fault_is_retried_and_gives_the_right_frame above)


def test_retry_after_one_second_really_waits(
    faults: Emulator, make_client: Callable[..., up.Client], baselines: dict[str, pd.DataFrame]
) -> None:
    client = make_client()
    faults.inject("status", path=QUERY, status=429, retry_after=1, count=1)
    started = time.perf_counter()
    same(READERS[0].call(client), baselines["read_upstack"])
    assert 1.0 <= time.perf_counter() - started < 4


# --------------------------------------------------------------------- broken bodies with 200


@pytest.mark.parametrize("reader", READERS, ids=READER_IDS)
@pytest.mark.parametrize("kind", ["malformed", "empty"])
def test_broken_body_raises_transport_error_is_not_cached_and_next_call_works(
    faults: Emulator,
    make_client: Callable[..., up.Client],
    baselines: dict[str, pd.DataFrame],
    tmp_path: Path,
    reader: Reader,
    kind: str,
) -> None:
    client = make_client(cache=str(tmp_path / "cache"))
    before = up.cache.info(client).entries
    attempts = Attempts(client)
    faults.inject(kind, path=reader.path, count=1)  # type: ignore[arg-type]
    result = None
    with pytest.raises(up.TransportError) as info:
        result = reader.call(client)
    assert result is None
    error = info.value
    assert (error.status, error.method, error.path) == (200, reader.method, reader.path)
    assert error.request_id
    assert ("empty body" if kind == "empty" else "not JSON") in str(error)
    assert attempts.to(reader.path) <= max(reader.requests, 1)  # not retried
    # nothing of the broken response was stored, so the next call asks the server again
    assert up.cache.info(client).entries <= before + max(reader.requests - 1, 0)
    df = reader.call(client)
    same(df, baselines[reader.name])
    if reader.name not in ("dashboards_list",):
        meta = df.attrs.get("upstack")
        assert meta is None or meta["fromCache"] is False


def test_a_good_response_after_a_broken_one_is_cached(
    faults: Emulator, make_client: Callable[..., up.Client], tmp_path: Path
) -> None:
    client = make_client(cache=str(tmp_path / "cache"))
    faults.inject("malformed", path=QUERY, count=1)
    with pytest.raises(up.TransportError):
        READERS[0].call(client)
    fresh = READERS[0].call(client)
    hit = READERS[0].call(client)
    assert fresh.attrs["upstack"]["fromCache"] is False
    assert hit.attrs["upstack"]["fromCache"] is True
    same(hit, fresh)


def _mangle_once(client: up.Client, path: str, body: bytes) -> None:
    """Replace the body of the next 200 response for ``path`` (as a broken proxy would)."""
    left = [1]

    def hook(response: requests.Response, *args: Any, **kwargs: Any) -> None:
        if left[0] and requests.utils.urlparse(response.url).path == path:
            left[0] = 0
            response._content = body

    client.session.hooks["response"].append(hook)


@pytest.mark.parametrize("reader", READERS, ids=READER_IDS)
@pytest.mark.parametrize("body", [b"{}", b"[]", b'{"results": null, "measures": {}}'])
def test_json_of_the_wrong_shape_is_a_transport_error_not_an_empty_frame(
    make_client: Callable[..., up.Client],
    baselines: dict[str, pd.DataFrame],
    tmp_path: Path,
    reader: Reader,
    body: bytes,
) -> None:
    client = make_client(cache=str(tmp_path / "cache"))
    _mangle_once(client, reader.path, body)
    result = None
    with pytest.raises(up.TransportError, match="not the JSON promised") as info:
        result = reader.call(client)
    assert result is None
    assert (info.value.status, info.value.path) == (200, reader.path)
    assert info.value.request_id
    # the stored copy was dropped: the next call asks the server again and gets the real answer
    df = reader.call(client)
    same(df, baselines[reader.name])
    meta = df.attrs.get("upstack")
    assert meta is None or meta["fromCache"] is False


def test_a_dashboard_write_answered_with_the_wrong_shape_may_have_been_applied(
    views: up.Client,
) -> None:
    _mangle_once(views, VIEWS, b'{"dashboardView": {"name": "no id"}}')
    with pytest.raises(up.TransportError) as info:
        Dashboards(views).create("robust-shape", CONFIG)
    assert "'id'" in str(info.value) and "may have been applied" in str(info.value)
    assert _named(views, "robust-shape") == 1  # it was: the view exists


# ------------------------------------------------------------------ dropped connections, timeouts


def test_persistent_drop_raises_transport_error_after_bounded_retries(
    faults: Emulator, make_client: Callable[..., up.Client]
) -> None:
    client = make_client(max_retries=RetryPolicy(max_retries=2, backoff_base=0.01))
    attempts = Attempts(client)
    faults.inject("drop", path=COHORTS)
    with pytest.raises(up.TransportError) as info:
        READERS[3].call(client)
    assert info.value.status is None
    assert (info.value.method, info.value.path) == ("POST", COHORTS)
    assert attempts.to(COHORTS) == 3


def test_timeout_is_retried_then_raises_transport_error_bounded(
    faults: Emulator, make_client: Callable[..., up.Client]
) -> None:
    client = make_client(timeout=0.2, max_retries=RetryPolicy(max_retries=2, backoff_base=0.01))
    attempts = Attempts(client)
    faults.inject("latency", path=QUERY, latency_ms=700)
    started = time.perf_counter()
    with pytest.raises(up.TransportError) as info:
        READERS[0].call(client)
    elapsed = time.perf_counter() - started
    assert attempts.to(QUERY) == 3
    assert elapsed < 2.0, elapsed  # 3 x 0.2 s plus small waits
    assert "timeout" in str(info.value).lower() or "timed out" in str(info.value).lower()
    assert info.value.path == QUERY and info.value.status is None


def test_one_timeout_then_success(
    faults: Emulator, make_client: Callable[..., up.Client], baselines: dict[str, pd.DataFrame]
) -> None:
    client = make_client(timeout=0.3)
    faults.inject("latency", path=ATTRIBUTION, latency_ms=800, count=1)
    same(READERS[2].call(client), baselines["read_attribution_models"])


# ---------------------------------------------------- multi-request reads: nothing partial


def _fault_after(
    client: up.Client, emulator: Emulator, path: str, after: int, **fault: Any
) -> None:
    """Inject ``fault`` once ``after`` responses for ``path`` have arrived."""
    seen = [0]

    def hook(response: requests.Response, *args: Any, **kwargs: Any) -> None:
        if requests.utils.urlparse(response.url).path == path:
            seen[0] += 1
            if seen[0] == after:
                emulator.inject(path=path, **fault)

    client.session.hooks["response"].append(hook)


@pytest.mark.parametrize(
    ("fault", "error"),
    [
        ({"kind": "status", "status": 500}, up.ServerError),
        ({"kind": "malformed"}, up.TransportError),
        ({"kind": "drop"}, up.TransportError),
        ({"kind": "status", "status": 403}, up.PermissionDenied),
    ],
    ids=["500", "malformed", "drop", "403"],
)
def test_a_failure_on_page_two_raises_and_returns_nothing(
    faults: Emulator, make_client: Callable[..., up.Client], fault: dict[str, Any], error: type
) -> None:
    client = make_client(max_retries=RetryPolicy(max_retries=1, backoff_base=0.01))
    attempts = Attempts(client)
    _fault_after(client, faults, CHANNELS, 1, **fault)
    result = None
    with pytest.raises(error):
        result = READERS[4].call(client)
    assert result is None
    assert attempts.to(CHANNELS) >= 2


def test_a_transient_failure_on_page_two_is_retried(
    faults: Emulator, make_client: Callable[..., up.Client], baselines: dict[str, pd.DataFrame]
) -> None:
    client = make_client()
    _fault_after(client, faults, CHANNELS, 1, kind="status", status=503, count=1)
    same(READERS[4].call(client), baselines["read_channel_details_pages"])


@pytest.mark.parametrize(
    ("fault", "error"),
    [
        ({"kind": "status", "status": 500}, up.ServerError),
        ({"kind": "empty"}, up.TransportError),
        ({"kind": "status", "status": 503}, up.ServerError),
    ],
    ids=["500", "empty", "503-persistent"],
)
def test_a_failure_in_one_window_raises_and_returns_nothing(
    faults: Emulator, make_client: Callable[..., up.Client], fault: dict[str, Any], error: type
) -> None:
    client = make_client(max_retries=RetryPolicy(max_retries=1, backoff_base=0.01))
    kind = fault.pop("kind")
    count = None if fault.get("status") == 503 else 1
    _fault_after(client, faults, QUERY, 2, kind=kind, count=count, **fault)
    result = None
    with pytest.raises(error):
        result = READERS[1].call(client)
    assert result is None
    settle_windows()
    faults.clear_faults()
    READERS[1].call(client)  # the client is still usable


def test_a_failure_on_the_second_model_returns_nothing(
    faults: Emulator, make_client: Callable[..., up.Client]
) -> None:
    client = make_client()
    _fault_after(client, faults, ATTRIBUTION, 1, kind="status", status=500)
    result = None
    with pytest.raises(up.ServerError):
        result = READERS[2].call(client)
    assert result is None


# ----------------------------------------------------------------------------- dashboard writes


@pytest.fixture
def views(make_client: Callable[..., up.Client]) -> Iterator[up.Client]:
    """A client for dashboard writes; views it leaves behind are deleted."""
    client = make_client()
    before = set(Dashboards(client).list().index)
    yield client
    for view_id in set(Dashboards(client).list().index) - before:
        Dashboards(client).delete(view_id)


def _named(client: up.Client, name: str) -> int:
    listed = Dashboards(client).list()
    return int((listed["name"] == name).sum()) if len(listed) else 0


CONFIG = {"widgets": [{"id": "w1", "chartType": "sparkline", "measures": ["orders.orders"]}]}


def test_create_under_a_dropped_connection_is_not_retried(
    faults: Emulator, views: up.Client
) -> None:
    attempts = Attempts(views)
    faults.inject("drop", path=VIEWS, count=1)
    with pytest.raises(up.TransportError) as info:
        Dashboards(views).create("robust-drop", CONFIG)
    assert attempts.calls.count(("POST", VIEWS)) == 1
    assert "may have been applied" in str(info.value)
    assert _named(views, "robust-drop") == 0  # the emulator dropped it before storing


@pytest.mark.parametrize("status", [502, 503, 504])
def test_create_under_a_5xx_is_not_retried(faults: Emulator, views: up.Client, status: int) -> None:
    attempts = Attempts(views)
    faults.inject("status", path=VIEWS, status=status, count=1)
    with pytest.raises(up.ServerError) as info:
        Dashboards(views).create("robust-5xx", CONFIG)
    assert attempts.calls.count(("POST", VIEWS)) == 1
    assert "may have been applied" in str(info.value)


def test_create_under_a_timeout_is_not_retried(
    faults: Emulator, make_client: Callable[..., up.Client], views: up.Client
) -> None:
    client = make_client(timeout=0.2)
    attempts = Attempts(client)
    faults.inject("latency", path=VIEWS, latency_ms=600, count=1)
    try:
        with pytest.raises(up.TransportError):
            Dashboards(client).create("robust-timeout", CONFIG)
        assert attempts.calls.count(("POST", VIEWS)) == 1
    finally:
        time.sleep(0.5)  # the emulator finishes the write it was given; the fixture deletes it


def test_create_under_429_is_retried_once_and_applied_once(
    faults: Emulator, views: up.Client
) -> None:
    attempts = Attempts(views)
    faults.inject("status", path=VIEWS, status=429, retry_after=0, count=2)
    view = Dashboards(views).create("robust-429", CONFIG)
    assert view.name == "robust-429"
    assert attempts.calls.count(("POST", VIEWS)) == 3
    assert _named(views, "robust-429") == 1


def test_update_copy_delete_and_build_under_429_are_retried(
    faults: Emulator, views: up.Client
) -> None:
    view = Dashboards(views).create("robust-writes", CONFIG)
    path = f"{VIEWS}/{view.id}"
    faults.inject("status", path=path, status=429, retry_after=0, count=1)
    assert Dashboards(views).update(view, name="robust-writes-2").name == "robust-writes-2"
    faults.inject("status", path=f"{path}/copy", status=429, retry_after=0, count=1)
    copy = Dashboards(views).copy(view)
    faults.inject("status", path=f"{VIEWS}/from-preset", status=429, retry_after=0, count=1)
    built = Dashboards(views).build("robust-built", ["orders.orders"])
    faults.inject("status", path=f"{VIEWS}/{copy.id}", status=429, retry_after=0, count=1)
    Dashboards(views).delete(copy)
    assert not faults.injector.active()
    assert _named(views, "robust-built") == 1
    assert copy.id not in Dashboards(views).list().index
    Dashboards(views).delete(built)


@pytest.mark.parametrize("method", ["update", "delete", "build", "copy"])
def test_other_writes_under_a_dropped_connection_are_not_retried(
    faults: Emulator, views: up.Client, method: str
) -> None:
    view = Dashboards(views).create("robust-drop-writes", CONFIG)
    attempts = Attempts(views)
    calls: dict[str, tuple[Callable[[], Any], str]] = {
        "update": (lambda: Dashboards(views).update(view, name="x"), f"{VIEWS}/{view.id}"),
        "delete": (lambda: Dashboards(views).delete(view), f"{VIEWS}/{view.id}"),
        "build": (lambda: Dashboards(views).build("y", ["orders.orders"]), f"{VIEWS}/from-preset"),
        "copy": (lambda: Dashboards(views).copy(view), f"{VIEWS}/{view.id}/copy"),
    }
    call, path = calls[method]
    faults.inject("drop", path=path, count=1)
    with pytest.raises(up.TransportError):
        call()
    assert attempts.to(path) == 1


def test_a_write_that_cannot_connect_is_retried(emulator: Emulator) -> None:
    # a closed port: nothing was sent, so even a write is safe to retry
    client = up.Client(
        emulator.api_key,
        emulator.pixel_id,
        f"http://127.0.0.1:{closed_port()}",
        cache=False,
        max_retries=RetryPolicy(max_retries=2, backoff_base=0.01),
    )
    attempts = Attempts(client)
    with pytest.raises(up.TransportError) as info:
        Dashboards(client).create("never", CONFIG)
    assert attempts.calls.count(("POST", VIEWS)) == 3
    assert "may have been applied" not in str(info.value)
    client.close()


def test_dashboard_reads_are_retried_after_drop(faults: Emulator, views: up.Client) -> None:
    view = Dashboards(views).create("robust-read", CONFIG)
    faults.inject("drop", path=f"{VIEWS}/{view.id}", count=1)
    assert Dashboards(views).get(view).id == view.id


def closed_port() -> int:
    """A loopback port nothing listens on."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


# ------------------------------------------------------------ bad input: clear, before sending


class NoRequests:
    """A session that fails the test if anything is sent."""

    def __init__(self, client: up.Client) -> None:
        def refuse(*args: Any, **kwargs: Any) -> Any:
            raise AssertionError(f"a request was sent: {args[:2]}")

        client.session.request = refuse  # type: ignore[method-assign]


@pytest.mark.parametrize(
    ("call", "needle"),
    [
        (lambda c: up.read_upstack([], client=c), "measure"),
        (lambda c: up.read_upstack("orders.orders", "2026-05-01", "2026-04-01", client=c), "start"),
        (lambda c: up.read_upstack("orders.orders", "2026-13-01", client=c), "2026-13-01"),
        (
            lambda c: up.read_upstack("orders.orders", granularity="fortnight", client=c),
            "granularity",
        ),
        (lambda c: up.read_upstack("orders.nope", client=c), "closest"),
        (lambda c: up.read_upstack("orders.orders", chunks="soon", client=c), "chunks"),
        (lambda c: up.read_upstack("orders.orders", max_workers=0, client=c), "max_workers"),
        (lambda c: up.read_upstack("orders.orders", dimensions=["a"] * 6, client=c), "dimension"),
        (lambda c: up.read_attribution(model="middle_click", client=c), "middle_click"),
        (lambda c: up.read_attribution(window=5, client=c), "window"),
        (lambda c: up.read_cohorts(granularity="day", client=c), "granularity"),
        (lambda c: up.read_channel_details(level="galaxy", client=c), "level"),
        (lambda c: up.read_channel_details(page_size=0, client=c), "page_size"),
        (lambda c: Dashboards(c).create("", CONFIG), "name"),
        (lambda c: Dashboards(c).update("some-id"), "at least one"),
        (lambda c: Dashboards(c).build("n", ["orders.nope"]), "closest"),
    ],
)
def test_bad_input_is_refused_before_any_request(
    make_client: Callable[..., up.Client], call: Callable[[up.Client], Any], needle: str
) -> None:
    client = make_client()
    NoRequests(client)
    with pytest.raises((ValueError, TypeError)) as info:
        call(client)
    assert needle.lower() in str(info.value).lower(), str(info.value)


@pytest.mark.parametrize(
    ("api_key", "pixel_id"),
    [
        ("{key}\u200b", None),  # a zero-width space pasted with the key
        ("{key}\u2013x", None),  # an en dash
        ("{key}\x00", None),
        (None, "{pixel}\u2013"),
        (None, "pixel\x01id"),
        (None, "pixel\u00a0id"),  # a no-break space
    ],
    ids=["key-zwsp", "key-dash", "key-nul", "pixel-dash", "pixel-control", "pixel-nbsp"],
)
def test_unsendable_credentials_are_a_configuration_error(
    emulator: Emulator, api_key: str | None, pixel_id: str | None
) -> None:
    key = (api_key or "{key}").format(key=emulator.api_key)
    pixel = (pixel_id or "{pixel}").format(pixel=emulator.pixel_id)
    with pytest.raises(up.ConfigurationError) as info:
        emulator.client(api_key=key, pixel_id=pixel, cache=False)
    text = f"{info.value} {info.value!r} {info.value.args}"
    assert "api_key" in text.lower() or "pixel" in text.lower()
    assert emulator.api_key not in text


@pytest.mark.parametrize(
    ("timeout", "error"),
    [
        (0, ValueError),
        (-1, ValueError),
        (float("nan"), ValueError),
        (float("inf"), ValueError),
        (None, TypeError),
        ("30", TypeError),
        (True, TypeError),
        ((1.0, 0), ValueError),
    ],
)
def test_an_unusable_timeout_is_refused_by_the_client(
    emulator: Emulator, timeout: Any, error: type[Exception]
) -> None:
    with pytest.raises(error, match="timeout"):
        emulator.client(cache=False, timeout=timeout)


def test_a_connect_read_timeout_pair_is_accepted(emulator: Emulator) -> None:
    with emulator.client(cache=False, timeout=(2, 5.5)) as client:
        assert len(up.measures(client=client)) > 10
