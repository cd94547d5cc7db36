"""The cache: freshness table, no secrets on disk, isolation, invalidation, controls, threads."""

from __future__ import annotations

import hashlib
import json
import stat
import threading
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import requests_cache
from _env import clean_upstack_env
from _http import always, answer, base_url, calls, reply
from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

import upstack_pandas as up
from upstack_pandas._transport import cache_store
from upstack_pandas._transport.client import Client
from upstack_pandas.cache import CachePolicy

KEY = "upstack_cachetest0000000000000000000000000Zq7x"
OTHER_KEY = "upstack_cachetest1111111111111111111111111Yy2w"
PIXEL = "pixel-1"
QUERY = "/db-mgmt/api/query"
VIEWS = "/accounts/api/dashboard/views"
MEASURES = "/db-mgmt/api/measures"
NOW = datetime(2026, 11, 26, 15, 0, tzinfo=UTC)


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    clean_upstack_env(monkeypatch, tmp_path)
    cache_dir = tmp_path / "cache"
    monkeypatch.setenv("UPSTACK_CACHE_DIR", str(cache_dir))
    return cache_dir


def echo(request: Request) -> Response:
    """A deterministic answer per (pixel, key, path, body)."""
    query_string = request.query_string.decode()
    path = f"{request.path}?{query_string}" if query_string else request.path
    material = "|".join(
        [request.headers.get("x-pixel-id", ""), request.headers.get("x-api-key", "")[-4:],
         path, request.get_data().decode()]
    )  # fmt: skip
    return reply(body={"echo": hashlib.sha256(material.encode()).hexdigest(), "path": path})


@pytest.fixture
def server(httpserver: HTTPServer) -> HTTPServer:
    for method, path in [
        ("GET", MEASURES),
        ("POST", QUERY),
        ("GET", VIEWS),
        ("GET", f"{VIEWS}/1"),
    ]:
        always(httpserver, method, path, echo)
    return httpserver


@pytest.fixture
def make_client(server: HTTPServer) -> Iterator[Callable[..., Client]]:
    clients: list[Client] = []

    def make(key: str = KEY, pixel: str = PIXEL, **kwargs: Any) -> Client:
        client = Client(key, pixel, base_url(server), **kwargs)
        clients.append(client)
        return client

    yield make
    for client in clients:
        client.close()


def query(end: str, tz: str | None = None, start: str = "2026-01-01") -> dict[str, Any]:
    body: dict[str, Any] = {
        "measures": [{"measure": "core.orders"}],
        "dateRange": {"start": start, "end": end},
    }
    if tz:
        body["timezone"] = tz
    return body


POLICY = CachePolicy()


@pytest.mark.parametrize(
    ("method", "path", "body", "content", "expected"),
    [
        ("GET", MEASURES, None, None, timedelta(hours=24)),
        ("GET", "/db-mgmt/api/filters", None, None, timedelta(hours=24)),
        ("GET", VIEWS, None, None, timedelta(seconds=60)),
        ("GET", f"{VIEWS}/abc", None, None, timedelta(seconds=60)),
        ("POST", QUERY, query("2026-11-22"), None, timedelta(days=7)),  # before today - 3 days
        ("POST", QUERY, query("2026-11-23"), None, timedelta(minutes=5)),  # inside settle window
        ("POST", QUERY, query("2026-11-26"), None, timedelta(minutes=5)),  # today
        ("POST", QUERY, query("2027-01-31"), None, timedelta(minutes=5)),  # future
        ("POST", QUERY, query("2025-12-31"), b'{"measureDetails":[{"hasPacing": true}]}', timedelta(minutes=5)),
        ("POST", QUERY, query("2025-12-31"), b'{"measureDetails":[{"hasPacing":false}]}', timedelta(days=7)),
        ("POST", "/db-mgmt/api/query-attribution", query("2026-10-01"), None, timedelta(days=7)),
        ("POST", "/db-mgmt/api/query-channel-details", query("2026-11-25"), None, timedelta(minutes=5)),
        ("POST", "/db-mgmt/api/query-cohort-analysis", query("2025-01-31"), None, timedelta(minutes=5)),
        ("POST", QUERY, {"measures": []}, None, timedelta(minutes=5)),  # no date range
        ("POST", VIEWS, {"name": "v"}, None, None),
        ("PATCH", f"{VIEWS}/1", {"name": "v"}, None, None),
        ("DELETE", f"{VIEWS}/1", None, None, None),
        ("GET", "/db-mgmt/api/something-new", None, None, timedelta(minutes=5)),
    ],
)  # fmt: skip
def test_expiry_table(
    method: str,
    path: str,
    body: dict[str, Any] | None,
    content: bytes | None,
    expected: timedelta | None,
) -> None:
    raw = json.dumps(body).encode() if body is not None else None
    assert POLICY.expire_after(method, f"/prefix{path}", raw, content, now=NOW) == expected


@pytest.mark.parametrize(
    ("tz", "expected"),
    [("UTC", timedelta(days=7)), ("America/Los_Angeles", timedelta(minutes=5)), ("Not/AZone", timedelta(days=7))],
)  # fmt: skip
def test_settle_window_uses_the_query_timezone(tz: str, expected: timedelta) -> None:
    # 02:00 UTC on the 26th is still the 25th in Los Angeles: the 22nd is inside its window.
    now = datetime(2026, 11, 26, 2, 0, tzinfo=UTC)
    body = json.dumps(query("2026-11-22", tz)).encode()
    assert POLICY.expire_after("POST", QUERY, body, now=now) == expected


def test_zero_expiry_means_not_stored(make_client: Callable[..., Client]) -> None:
    client = make_client(cache=CachePolicy(recent=timedelta(0)))
    client.post(QUERY, query("2026-12-31"))
    assert not client.post(QUERY, query("2026-12-31")).from_cache
    client.get(MEASURES)
    assert client.get(MEASURES).from_cache


def test_policy_is_configurable() -> None:
    policy = CachePolicy(settle_days=0, settled=timedelta(days=30))
    body = json.dumps(query("2026-11-25")).encode()
    assert policy.expire_after("POST", QUERY, body, now=NOW) == timedelta(days=30)
    assert "settle_days=0" in repr(policy)
    assert CachePolicy.coerce(True) == CachePolicy()
    assert CachePolicy.coerce("x.sqlite").location == "x.sqlite"
    with pytest.raises(TypeError):
        CachePolicy.coerce(3)


def test_hits_misses_from_cache_and_fetched_at(
    server: HTTPServer, make_client: Callable[..., Client]
) -> None:
    client = make_client()
    first = client.post(QUERY, query("2025-01-31"))
    second = client.post(QUERY, query("2025-01-31"))
    third = client.post(QUERY, query("2025-02-28"))  # different body: a different entry
    assert (first.from_cache, second.from_cache, third.from_cache) == (False, True, False)
    assert second.content == first.content
    assert second.fetched_at == first.fetched_at
    assert second.request_id == first.request_id
    assert len(calls(server, "POST", QUERY)) == 2
    info = up.cache.info(client)
    assert (info.hits, info.misses, info.entries) == (1, 2, 2)
    assert info.size_bytes > 0
    assert info.location and info.location.endswith(".sqlite")
    assert "hits=1" in repr(info) and "<table>" in info._repr_html_()
    fresh = client.post(QUERY, query("2025-01-31"), refresh=True)
    assert not fresh.from_cache
    assert len(calls(server, "POST", QUERY)) == 3


def test_the_key_never_reaches_the_disk_in_any_casing(
    server: HTTPServer, make_client: Callable[..., Client], clean_env: Path
) -> None:
    client = make_client()
    client.get(MEASURES)
    client.post(QUERY, query("2025-01-31"))
    client.get(VIEWS)
    session = client.session
    for casing in ("x-api-key", "X-API-KEY", "x-Api-KEY", "X-Api-Key"):
        headers = {casing: KEY, "x-pixel-id": PIXEL, "Authorization": f"Bearer {KEY}"}
        session.get(f"{base_url(server)}{MEASURES}?casing={casing}", headers=headers)
    needles = [KEY.encode(), KEY.lower().encode(), KEY.upper().encode(), KEY.encode("utf-16-le")]
    # scan while the connection is open (write-ahead log included) and after it is closed
    for _ in ("open", "closed"):
        files = list(clean_env.iterdir())
        assert any(path.name.endswith(".sqlite") for path in files)
        for path in files:
            data = path.read_bytes()
            for needle in needles:
                assert needle not in data, path
        client.close()
    stored = session.cache.responses  # type: ignore[attr-defined]
    assert len(stored) == 7


def test_file_and_directory_permissions(
    make_client: Callable[..., Client], clean_env: Path
) -> None:
    client = make_client()
    client.get(MEASURES)
    assert stat.S_IMODE(clean_env.stat().st_mode) == 0o700
    (path,) = clean_env.glob("*.sqlite")
    files = list(clean_env.iterdir())  # the database and its write-ahead log files
    assert path in files
    for file in files:
        assert stat.S_IMODE(file.stat().st_mode) == 0o600, file.name
        assert KEY not in file.name


def test_pixels_and_keys_are_isolated(
    server: HTTPServer, make_client: Callable[..., Client], tmp_path: Path
) -> None:
    a = make_client()
    b = make_client(pixel="pixel-2")
    c = make_client(key=OTHER_KEY)
    for client in (a, b, c):
        assert not client.get(MEASURES).from_cache
    assert len({client._cache_location for client in (a, b, c)}) == 3
    # even when they share one explicit file
    shared = tmp_path / "shared.sqlite"
    d = make_client(cache=shared)
    e = make_client(pixel="pixel-2", cache=str(shared))
    f = make_client(key=OTHER_KEY, cache=CachePolicy(location=shared))
    bodies = [client.get(MEASURES) for client in (d, e, f)]
    assert not any(r.from_cache for r in bodies)
    assert len({r.json()["echo"] for r in bodies}) == 3
    assert d.get(MEASURES).from_cache


def test_errors_and_broken_bodies_are_not_cached(
    server: HTTPServer, make_client: Callable[..., Client]
) -> None:
    client = make_client(max_retries=0)
    answer(server, "GET", MEASURES, reply(500, {"message": "boom"}), reply(400, {"message": "bad"}))
    answer(server, "GET", MEASURES, reply(body=b'{"measures": ['), reply(body=b'{"a": [1,}'))
    with pytest.raises(up.ServerError):
        client.get(MEASURES)
    with pytest.raises(up.ValidationError):
        client.get(MEASURES)
    with pytest.raises(up.TransportError):
        client.get(MEASURES)
    looks_fine = client.get(MEASURES)  # passes the cheap check, stored, fails to decode...
    with pytest.raises(up.TransportError):
        looks_fine.json()
    good = client.get(MEASURES)  # ...and was evicted
    assert not good.from_cache and "echo" in good.json()
    assert client.get(MEASURES).from_cache


def test_dashboard_writes_are_not_cached_and_invalidate_reads(
    server: HTTPServer, make_client: Callable[..., Client]
) -> None:
    always(server, "POST", VIEWS, reply(body={"dashboardView": {"id": "1"}}))
    always(server, "PATCH", f"{VIEWS}/1", reply(body={"dashboardView": {"id": "1"}}))
    always(server, "DELETE", f"{VIEWS}/1", reply(body={"deleted": True, "id": "1"}))
    client = make_client()
    other = make_client()  # same file, another client object: invalidation goes through the file
    for write in (
        lambda: client.post(VIEWS, {"name": "v", "configuration": {}}),
        lambda: client.patch(f"{VIEWS}/1", {"name": "w"}),
        lambda: client.delete(f"{VIEWS}/1"),
    ):
        other.get(VIEWS)
        other.get(f"{VIEWS}/1")
        assert other.get(VIEWS).from_cache and other.get(f"{VIEWS}/1").from_cache
        write()
        assert not other.get(VIEWS).from_cache
        assert not other.get(f"{VIEWS}/1").from_cache
    client.post(VIEWS, {"name": "v", "configuration": {}})
    client.post(VIEWS, {"name": "v", "configuration": {}})
    assert len(calls(server, "POST", VIEWS)) == 3  # never answered from the cache


def test_clear_all_and_expired_only(make_client: Callable[..., Client]) -> None:
    client = make_client()
    client.get(MEASURES)
    client.post(QUERY, query("2026-12-31"))
    assert up.cache.info(client).entries == 2
    backend = client.session.cache  # type: ignore[attr-defined]
    for key in list(backend.responses):  # age the query result past its expiry
        stored = backend.responses[key]
        if stored.request.method == "POST":
            stored.expires = datetime.now(UTC) - timedelta(seconds=1)
            backend.responses[key] = stored
    assert up.cache.clear(expired_only=True, client=client) == 1
    assert up.cache.info(client).entries == 1
    assert up.cache.clear(client=client) == 1
    assert up.cache.info(client).entries == 0
    assert not client.get(MEASURES).from_cache


def test_pacing_responses_get_the_short_expiry(
    server: HTTPServer, make_client: Callable[..., Client]
) -> None:
    always(
        server, "POST", QUERY, reply(body={"results": [{"measureDetails": [{"hasPacing": True}]}]})
    )
    client = make_client()
    client.post(QUERY, query("2020-01-31"))
    (stored,) = [client.session.cache.responses[k] for k in client.session.cache.responses]  # type: ignore[attr-defined]
    left = stored.expires - datetime.now(UTC)
    assert timedelta(minutes=4) < left <= timedelta(minutes=5)


def test_cache_off_and_default_location(
    make_client: Callable[..., Client], clean_env: Path
) -> None:
    off = make_client(cache=False)
    assert not off.get(MEASURES).from_cache and not off.get(MEASURES).from_cache
    info = up.cache.info(off)
    assert info.location is None and "off" in repr(info)
    assert up.cache.clear(client=off) == 0
    on = make_client()
    assert Path(up.cache.info(on).location or "").parent == clean_env
    assert up.cache.default_directory() == clean_env
    directory = clean_env.parent / "custom"
    custom = make_client(cache=directory)
    assert Path(custom._cache_location or "").parent == directory


def test_unusable_cache_location_is_a_configuration_error(
    make_client: Callable[..., Client], tmp_path: Path
) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("not a directory")
    with pytest.raises(up.ConfigurationError, match="cache=False"):
        make_client(cache=blocker / "sub" / "cache.sqlite")


def test_foreign_cached_session_warns_when_it_would_store_the_key(
    make_client: Callable[..., Client], caplog: pytest.LogCaptureFixture
) -> None:
    risky = requests_cache.CachedSession(backend="memory", ignored_parameters=[])
    make_client(session=risky)
    assert "ignored_parameters" in caplog.text
    risky.close()


def test_threads_share_the_cache_safely(
    server: HTTPServer, make_client: Callable[..., Client]
) -> None:
    clients = [make_client(), make_client(pixel="pixel-2")]
    work = [
        (clients[(t + i) % 2], query(f"2025-0{1 + (i * 7 + t) % 6}-2{i % 3}"), i % 4 == 0)
        for t in range(8)
        for i in range(50)
    ]
    expected = {}
    for client, body, _ in work:  # the answers of an uncached client of the same server
        ref = Client(KEY, client.pixel_id, base_url(server), cache=False)
        expected[(client.pixel_id, json.dumps(body))] = ref.post(QUERY, body).json()["echo"]
        ref.close()
    failures: list[str] = []

    def run(thread: int) -> None:
        for client, body, also_get in work[thread * 50 : (thread + 1) * 50]:
            got = client.post(QUERY, body).json()["echo"]
            if got != expected[(client.pixel_id, json.dumps(body))]:
                failures.append(f"{client.pixel_id} {body}")
            if also_get:
                client.get(MEASURES).json()

    threads = [threading.Thread(target=run, args=(t,)) for t in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert not failures
    assert sum(up.cache.info(c).hits for c in clients) > 0
    assert cache_store.location_of(clients[0].session) != cache_store.location_of(
        clients[1].session
    )
