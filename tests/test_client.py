"""The transport against a real HTTP server on 127.0.0.1: headers, errors, retries, masking."""

from __future__ import annotations

import json
import logging
import pickle
import socket
import threading
import time
import traceback
from collections.abc import Callable, Iterator
from dataclasses import replace
from email.utils import format_datetime
from pathlib import Path
from typing import Any

import pytest
import requests
import requests_cache
from _env import clean_upstack_env
from _http import FakeClock, always, answer, base_url, calls, drop, reply
from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

import upstack_pandas as up
from upstack_pandas._transport.client import ApiResponse, Client
from upstack_pandas._transport.retry import RetryPolicy

KEY = "upstack_clienttest000000000000000000000000k9z8"
PIXEL = "pixel-123"
QUERY = "/db-mgmt/api/query"
VIEWS = "/accounts/api/dashboard/views"


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    clean_upstack_env(monkeypatch, tmp_path)
    monkeypatch.setenv("UPSTACK_CACHE_DIR", str(tmp_path / "cache"))
    up.set_default_client(None)


@pytest.fixture
def server(httpserver: HTTPServer) -> HTTPServer:
    return httpserver


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def make_client(server: HTTPServer, clock: FakeClock) -> Iterator[Callable[..., Client]]:
    clients: list[Client] = []

    def make(**kwargs: Any) -> Client:
        kwargs.setdefault("cache", False)
        retry = RetryPolicy.coerce(kwargs.pop("max_retries", RetryPolicy()))
        kwargs["max_retries"] = replace(retry, sleep=clock.sleep, clock=clock.clock)
        client = Client(KEY, PIXEL, base_url(server), **kwargs)
        clients.append(client)
        return client

    yield make
    for client in clients:
        client.close()


def test_headers_and_body(server: HTTPServer, make_client: Callable[..., Client]) -> None:
    always(
        server,
        "GET",
        "/db-mgmt/api/measures",
        reply(body={"measures": []}, headers={"x-request-id": "req-1"}),
    )
    always(server, "POST", QUERY, reply(body={"results": []}))
    client = make_client()
    response = client.get("/db-mgmt/api/measures")
    client.post(QUERY, {"measures": [{"measure": "core.orders"}]})
    get, post = calls(server)
    for recorded in (get, post):
        assert recorded.headers["x-api-key"] == KEY
        assert recorded.headers["x-pixel-id"] == PIXEL
        assert recorded.headers["user-agent"] == f"upstack-pandas/{up.__version__}"
    assert "content-type" not in get.headers
    assert post.headers["content-type"] == "application/json"
    assert isinstance(response, ApiResponse)
    assert response.json() == {"measures": []}
    assert response.request_id == "req-1"
    assert response.fetched_at.tzinfo is not None
    assert not response.from_cache
    copy = pickle.loads(pickle.dumps(response))
    assert copy == response
    assert copy.json() == {"measures": []}


def test_pixel_id_injected_into_analytics_bodies_only(
    server: HTTPServer, make_client: Callable[..., Client]
) -> None:
    for path in (QUERY, "/db-mgmt/api/query-attribution", VIEWS):
        always(server, "POST", path, reply(body={"ok": True}))
    client = make_client()
    body = {"measures": [{"measure": "core.orders"}]}
    client.post(QUERY, body)
    client.post("/db-mgmt/api/query-attribution", {"dimension": "utm_source"})
    client.post(QUERY, {"pixelId": "explicit"})
    client.post(VIEWS, {"name": "v", "configuration": {}})
    sent = [r.get_json() for r in calls(server)]
    assert sent[0] == {**body, "pixelId": PIXEL}
    assert body == {"measures": [{"measure": "core.orders"}]}  # caller's dict untouched
    assert sent[1]["pixelId"] == PIXEL
    assert sent[2]["pixelId"] == "explicit"
    assert "pixelId" not in sent[3]


DOC_ERRORS = [
    (400, up.ValidationError, {"message": "Invalid request body", "errors": [{"path": "measures.0.measure", "message": "Unknown measure"}]}),
    (401, up.AuthenticationError, {"message": "Invalid API key"}),
    (403, up.PermissionDenied, {"message": "Missing scope", "requiredScope": "analytics:read"}),
    (404, up.NotFound, {"message": "Dashboard view not found"}),
    (429, up.RateLimited, {"message": "Too many requests"}),
    (500, up.ServerError, {"message": "Internal error"}),
    (503, up.ServerError, {"message": "Unavailable"}),
]  # fmt: skip


@pytest.mark.parametrize(("status", "cls", "body"), DOC_ERRORS)
def test_status_mapped_to_exception(
    server: HTTPServer,
    make_client: Callable[..., Client],
    status: int,
    cls: type[up.UpstackError],
    body: dict[str, Any],
) -> None:
    always(server, "POST", QUERY, reply(status, body, headers={"x-request-id": "rid-7"}))
    client = make_client(max_retries=0)
    with pytest.raises(cls) as info:
        client.post(QUERY, {})
    error = info.value
    assert (error.status, error.method, error.path) == (status, "POST", QUERY)
    assert error.message == body["message"]
    assert error.request_id == "rid-7"
    if status == 400:
        assert "measures.0.measure: Unknown measure" in str(error)
    if status == 403:
        assert isinstance(error, up.PermissionDenied)
        assert error.required_scope == "analytics:read"


def test_retry_after_is_honoured(
    server: HTTPServer, make_client: Callable[..., Client], clock: FakeClock
) -> None:
    answer(server, "POST", QUERY, reply(429, headers={"Retry-After": "3"}), reply(503), reply())
    client = make_client()
    assert client.post(QUERY, {}).status == 200
    assert len(calls(server)) == 3
    assert clock.sleeps[0] == 3.0
    assert 0.0 <= clock.sleeps[1] <= client.retry.backoff_base * 2


def test_retry_after_http_date(
    server: HTTPServer, make_client: Callable[..., Client], clock: FakeClock
) -> None:
    from datetime import UTC, datetime, timedelta

    when = format_datetime(datetime.now(UTC) + timedelta(seconds=30), usegmt=True)
    answer(server, "GET", "/x", reply(503, headers={"Retry-After": when}), reply())
    make_client().get("/x")
    assert 25.0 <= clock.sleeps[0] <= 30.0


def test_attempt_cap(
    server: HTTPServer, make_client: Callable[..., Client], clock: FakeClock
) -> None:
    always(server, "GET", "/x", reply(502, {"message": "bad gateway"}))
    with pytest.raises(up.ServerError):
        make_client(max_retries=2).get("/x")
    assert len(calls(server)) == 3
    assert len(clock.sleeps) == 2


def test_total_wait_cap(
    server: HTTPServer, make_client: Callable[..., Client], clock: FakeClock
) -> None:
    always(server, "GET", "/x", reply(429, headers={"Retry-After": "100"}))
    client = make_client(max_retries=RetryPolicy(max_retries=5, max_total_wait=60))
    with pytest.raises(up.RateLimited) as info:
        client.get("/x")
    assert info.value.retry_after == 100.0
    assert len(calls(server)) == 1
    assert clock.sleeps == []

    always(server, "GET", "/y", reply(429, headers={"Retry-After": "25"}))
    with pytest.raises(up.RateLimited):
        client.get("/y")
    assert clock.sleeps == [25.0, 25.0]  # the third wait would pass 60 s
    assert sum(clock.sleeps) <= 60


def test_dashboard_writes_retry_only_when_not_applied(
    server: HTTPServer, make_client: Callable[..., Client], clock: FakeClock
) -> None:
    always(server, "POST", VIEWS, reply(503, {"message": "unavailable"}))
    client = make_client()
    with pytest.raises(up.ServerError):
        client.post(VIEWS, {"name": "v"})
    assert len(calls(server, "POST", VIEWS)) == 1
    answer(server, "PATCH", f"{VIEWS}/1", reply(429, headers={"Retry-After": "1"}), reply(body={}))
    client.patch(f"{VIEWS}/1", {"name": "w"})
    assert len(calls(server, "PATCH")) == 2
    answer(server, "DELETE", f"{VIEWS}/2", drop, reply(body={"deleted": True}))
    with pytest.raises(up.TransportError):
        client.delete(f"{VIEWS}/2")  # the connection broke after sending: may have been applied
    until = time.monotonic() + 2  # the server logs a hang-up just after hanging up
    while not calls(server, "DELETE") and time.monotonic() < until:
        time.sleep(0.01)
    time.sleep(0.2)  # a retry, had there been one, would have arrived by now
    assert len(calls(server, "DELETE")) == 1


def test_reads_retry_dropped_connections(
    server: HTTPServer, make_client: Callable[..., Client]
) -> None:
    answer(server, "GET", "/x", drop, reply(body={"ok": 1}))
    assert make_client().get("/x").json() == {"ok": 1}


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_connection_refused_is_retried_even_for_writes(clock: FakeClock) -> None:
    retry = RetryPolicy(max_retries=2, sleep=clock.sleep, clock=clock.clock)
    client = Client(
        KEY, PIXEL, f"http://127.0.0.1:{_closed_port()}", cache=False, max_retries=retry
    )
    with client, pytest.raises(up.TransportError) as info:
        client.post(VIEWS, {"name": "v"})
    assert len(clock.sleeps) == 2
    assert "connect" in str(info.value)


def test_timeout(server: HTTPServer, make_client: Callable[..., Client]) -> None:
    release = threading.Event()

    def slow(_: Request) -> Response:
        release.wait(5)
        return reply()

    always(server, "GET", "/slow", slow)
    try:
        with pytest.raises(up.TransportError, match="timeout"):
            make_client(timeout=0.05, max_retries=0).get("/slow")
    finally:
        release.set()


@pytest.mark.parametrize("body", [b"", b"<html>oops</html>", b'{"results": ['])
def test_empty_and_malformed_bodies(
    server: HTTPServer, make_client: Callable[..., Client], body: bytes
) -> None:
    always(server, "GET", "/x", reply(body=body))
    with pytest.raises(up.TransportError) as info:
        make_client().get("/x")
    assert info.value.status == 200


def test_body_that_only_looks_like_json(
    server: HTTPServer, make_client: Callable[..., Client]
) -> None:
    always(server, "GET", "/x", reply(body=b'{"a": [1,}'))
    response = make_client().get("/x")
    with pytest.raises(up.TransportError, match="not valid JSON"):
        response.json()


def test_redirects_are_not_followed(server: HTTPServer, make_client: Callable[..., Client]) -> None:
    always(server, "GET", "/x", reply(302, b"", headers={"Location": "http://127.0.0.1:1/steal"}))
    with pytest.raises(up.UpstackError) as info:
        make_client().get("/x")
    assert info.value.status == 302


def test_the_key_never_shows(
    server: HTTPServer, make_client: Callable[..., Client], caplog: pytest.LogCaptureFixture
) -> None:
    answer(server, "GET", "/x", reply(503), reply(401, {"message": f"bad key {KEY}"}))
    client = make_client()
    texts = [repr(client), client.api_key_masked]
    with caplog.at_level(logging.DEBUG), pytest.raises(up.AuthenticationError) as info:
        client.get("/x")
    texts += [str(info.value), repr(info.value), "".join(traceback.format_exception(info.value))]
    texts.append(caplog.text)
    refused = Client(KEY, PIXEL, f"http://127.0.0.1:{_closed_port()}", cache=False, max_retries=0)
    with refused, pytest.raises(up.TransportError) as transport:
        refused.get("/x")
    texts += [str(transport.value), "".join(traceback.format_exception(transport.value))]
    assert "retrying GET /x after HTTP 503" in caplog.text
    assert "upstack_…k9z8" in caplog.text
    for text in texts:
        assert KEY not in text
    with pytest.raises(TypeError):
        pickle.dumps(client)


def test_a_429_slows_the_other_threads(server: HTTPServer) -> None:
    clock = FakeClock()
    a_sleeping, b_done = threading.Event(), threading.Event()
    sleeps: dict[str, list[float]] = {}

    def sleep(seconds: float) -> None:
        name = threading.current_thread().name
        sleeps.setdefault(name, []).append(seconds)
        if name == "A":
            a_sleeping.set()
            b_done.wait(5)
        clock.sleep(seconds)

    answer(server, "GET", "/a", reply(429, headers={"Retry-After": "5"}), reply())
    always(server, "GET", "/b", reply())
    retry = RetryPolicy(sleep=sleep, clock=clock.clock)
    with Client(KEY, PIXEL, base_url(server), cache=False, max_retries=retry) as client:
        thread_a = threading.Thread(target=client.get, args=("/a",), name="A")
        thread_a.start()
        assert a_sleeping.wait(5)

        def run_b() -> None:
            client.get("/b")
            b_done.set()

        thread_b = threading.Thread(target=run_b, name="B")
        thread_b.start()
        thread_b.join(5)
        thread_a.join(5)
    assert sleeps["A"] == [5.0]
    assert sleeps["B"] == [5.0]  # B never saw a 429, yet waited for the shared gate


def test_users_sessions_are_accepted(server: HTTPServer) -> None:
    always(server, "GET", "/db-mgmt/api/measures", reply(body={"measures": [1]}))
    plain = requests.Session()
    with Client(KEY, PIXEL, base_url(server), session=plain) as client:
        assert client.get("/db-mgmt/api/measures").json() == {"measures": [1]}
        assert not client.get("/db-mgmt/api/measures").from_cache
    assert plain.adapters  # not closed by the client: it is the user's
    plain.close()

    cached = requests_cache.CachedSession(backend="memory")
    for kwargs in ({"session": cached}, {"cache": cached}):
        with Client(KEY, PIXEL, base_url(server), **kwargs) as client:  # type: ignore[arg-type]
            client.get("/db-mgmt/api/measures")
            assert client.get("/db-mgmt/api/measures").from_cache
    stored = [cached.cache.responses[k] for k in cached.cache.responses]
    assert stored and all(KEY not in json.dumps(dict(r.request.headers)) for r in stored)
    cached.close()


def test_default_client(monkeypatch: pytest.MonkeyPatch, server: HTTPServer) -> None:
    with pytest.raises(up.ConfigurationError):
        up.get_default_client()
    monkeypatch.setenv("UPSTACK_API_KEY", KEY)
    monkeypatch.setenv("UPSTACK_PIXEL_ID", PIXEL)
    monkeypatch.setenv("UPSTACK_BASE_URL", base_url(server))
    seen: list[Client] = []
    threads = [
        threading.Thread(target=lambda: seen.append(up.get_default_client())) for _ in range(8)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len({id(c) for c in seen}) == 1
    default = seen[0]
    assert default.pixel_id == PIXEL and default.base_url == base_url(server)
    other = Client(KEY, "other", base_url(server), cache=False)
    up.set_default_client(other)
    assert up.get_default_client() is other
    up.set_default_client(None)
    assert up.get_default_client() is not other
    other.close()
    default.close()
    up.set_default_client(None)
