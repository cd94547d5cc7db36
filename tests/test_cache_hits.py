"""Cache hits answered without requests (``_transport.cache_hits``): the same answers as
requests-cache's own path, and never a copy the file no longer holds (issue 13, item 3)."""

from __future__ import annotations

import itertools
import os
import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import requests
import requests_cache
from _env import clean_upstack_env
from _http import always, base_url, calls, reply
from pytest_httpserver import HTTPServer
from requests_cache.backends.base import BaseStorage
from werkzeug import Request, Response

import upstack_pandas as up
from upstack_pandas._transport import cache_store
from upstack_pandas._transport.client import Client
from upstack_pandas.cache import CachePolicy

KEY = "upstack_cachehits000000000000000000000000000Qq7x"
PIXEL = "pixel-1"
QUERY = "/db-mgmt/api/query"
MEASURES = "/db-mgmt/api/measures"
BODY = {"measures": [{"measure": "orders.orders"}],
        "dateRange": {"start": "2025-01-01", "end": "2025-01-31"}}  # fmt: skip


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    clean_upstack_env(monkeypatch, tmp_path)


@pytest.fixture
def server(httpserver: HTTPServer) -> HTTPServer:
    """Every answer differs (a counter), so a test tells the server's from the cache's."""
    counter = itertools.count(1)

    def numbered(request: Request) -> Response:
        return reply(body={"answer": next(counter), "body": request.get_data().decode()})

    for method, path in (("POST", QUERY), ("GET", MEASURES)):
        always(httpserver, method, path, numbered)
    return httpserver


@pytest.fixture
def make_client(server: HTTPServer, tmp_path: Path) -> Iterator[Callable[..., Client]]:
    clients: list[Client] = []

    def make(**kwargs: Any) -> Client:
        kwargs.setdefault("cache", tmp_path / "cache.sqlite")
        client = Client(KEY, kwargs.pop("pixel", PIXEL), base_url(server), **kwargs)
        clients.append(client)
        return client

    yield make
    for client in clients:
        client.close()


@pytest.fixture
def spies(monkeypatch: pytest.MonkeyPatch) -> dict[str, int]:
    """Counts of requests-cache's own lookups and of stored responses deserialised."""
    counts = {"send": 0, "deserialize": 0}
    real_send = requests_cache.CachedSession.send
    real_deserialize = BaseStorage.deserialize

    def send(self: Any, *args: Any, **kwargs: Any) -> Any:
        counts["send"] += 1
        return real_send(self, *args, **kwargs)

    def deserialize(self: Any, *args: Any, **kwargs: Any) -> Any:
        counts["deserialize"] += 1
        return real_deserialize(self, *args, **kwargs)

    monkeypatch.setattr(requests_cache.CachedSession, "send", send)
    monkeypatch.setattr(BaseStorage, "deserialize", deserialize)
    return counts


def answer_of(response: up.ApiResponse) -> int:
    return int(response.json()["answer"])


def test_a_hit_equals_requests_caches_own_and_deserialises_nothing_after_the_first(
    server: HTTPServer, make_client: Callable[..., Client], spies: dict[str, int]
) -> None:
    client = make_client()
    cold = client.post(QUERY, BODY)
    assert spies == {"send": 1, "deserialize": 0} and not cold.from_cache
    # requests-cache's own answer of the same request, for comparison
    slow = client.session.post(f"{base_url(server)}{QUERY}", data=client._body("POST", QUERY, BODY),
                               headers=client._headers(True), timeout=client.timeout,
                               allow_redirects=False)  # fmt: skip
    assert slow.from_cache and spies["send"] == 2
    hits = [client.post(QUERY, BODY) for _ in range(3)]
    assert spies["send"] == 2  # requests-cache was not asked again
    assert spies["deserialize"] == 2  # its own hit, and the first of ours; then the kept copy
    for hit in hits:
        assert hit.from_cache and hit.status == 200
        assert hit.content == cold.content == slow.content
        assert dict(hit.headers) == dict(slow.headers)
        assert hit.fetched_at == cold.fetched_at and hit.request_id == cold.request_id
    assert hits[0] is not hits[1] and hits[0].headers is not hits[1].headers
    hits[0].json()["answer"] = "changed"  # a caller's change never reaches the next hit
    assert answer_of(client.post(QUERY, BODY)) == answer_of(cold) == 1
    assert len(calls(server, "POST", QUERY)) == 1
    info = up.cache.info(client)
    assert (info.hits, info.misses) == (4, 1)  # counted as requests-cache's hits are


def test_a_different_request_or_pixel_is_never_answered_from_another_entry(
    server: HTTPServer, make_client: Callable[..., Client]
) -> None:
    client = make_client()
    first = client.post(QUERY, BODY)
    assert client.post(QUERY, BODY).from_cache
    for changed in (
        {**BODY, "dateRange": {"start": "2025-01-01", "end": "2025-01-30"}},
        {**BODY, "timezone": "Europe/Paris"},
        {**BODY, "measures": [{"measure": "orders.total_revenue"}]},
        {**BODY, "filters": [{"field": "orders.customer_type", "op": "equals", "value": "x"}]},
    ):
        other = client.post(QUERY, changed)
        assert not other.from_cache and answer_of(other) != answer_of(first)
    other_pixel = make_client(pixel="pixel-2")  # the same file, another pixel
    assert not other_pixel.post(QUERY, BODY).from_cache
    assert other_pixel.post(QUERY, BODY).from_cache
    assert answer_of(client.post(QUERY, BODY)) == answer_of(first)
    assert len(calls(server, "POST", QUERY)) == 6


def test_an_expired_entry_is_fetched_again(
    server: HTTPServer, make_client: Callable[..., Client]
) -> None:
    client = make_client(cache=CachePolicy(recent=timedelta(seconds=1), location=None))
    first = client.post(QUERY, {"measures": []})  # no date range: "recent"
    assert answer_of(client.post(QUERY, {"measures": []})) == answer_of(first)  # a kept copy
    time.sleep(1.1)
    again = client.post(QUERY, {"measures": []})
    assert not again.from_cache and answer_of(again) == answer_of(first) + 1


def test_clear_refresh_and_a_disabled_session_go_to_the_server(
    server: HTTPServer, make_client: Callable[..., Client]
) -> None:
    client = make_client()
    client.post(QUERY, BODY)
    assert client.post(QUERY, BODY).from_cache
    up.cache.clear(client=client)
    assert answer_of(client.post(QUERY, BODY)) == 2  # from the server after clear()
    fresh = client.post(QUERY, BODY, refresh=True)
    assert not fresh.from_cache and answer_of(fresh) == 3
    assert answer_of(client.post(QUERY, BODY)) == 3  # the refreshed entry, read again
    with client.session.cache_disabled():  # type: ignore[attr-defined]
        assert answer_of(client.post(QUERY, BODY)) == 4
    assert answer_of(client.post(QUERY, BODY)) == 3


def _other_process(server: HTTPServer, cache: Path, code: str) -> None:
    """Run ``code`` with a ``client`` on the same cache file in a new interpreter."""
    script = (
        "import upstack_pandas as up\n"
        f"client = up.Client({KEY!r}, {PIXEL!r}, {base_url(server)!r}, cache={str(cache)!r})\n"
        f"body = {BODY!r}\n{code}\n"
    )
    env = {**os.environ, "PYTHONPATH": str(Path(up.__file__).resolve().parent.parent)}
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, env=env)
    assert out.returncode == 0, out.stderr


def test_another_processs_rewrite_or_delete_is_seen_at_once(
    server: HTTPServer, make_client: Callable[..., Client], tmp_path: Path
) -> None:
    cache = tmp_path / "cache.sqlite"
    client = make_client(cache=cache)
    client.post(QUERY, BODY)
    assert answer_of(client.post(QUERY, BODY)) == 1  # a kept copy from now on
    _other_process(
        server, cache, f"assert not client.post({QUERY!r}, body, refresh=True).from_cache"
    )
    rewritten = client.post(QUERY, BODY)  # the other process's answer, not the kept copy
    assert rewritten.from_cache and answer_of(rewritten) == 2
    with sqlite3.connect(cache) as db:  # a delete by anyone else
        db.execute("DELETE FROM responses")
    again = client.post(QUERY, BODY)
    assert not again.from_cache and answer_of(again) == 3


def test_a_new_process_finds_the_key_in_the_file_and_reads_no_request(
    server: HTTPServer, make_client: Callable[..., Client], tmp_path: Path
) -> None:
    cache = tmp_path / "cache.sqlite"
    _other_process(server, cache, f"client.post({QUERY!r}, body)")
    client = make_client(cache=cache)
    seen: list[int] = []
    real_send = client.session.send
    client.session.send = lambda *a, **k: (seen.append(1), real_send(*a, **k))[1]  # type: ignore[method-assign]
    hit = client.post(QUERY, BODY)
    assert hit.from_cache and answer_of(hit) == 1 and seen == []
    assert len(calls(server, "POST", QUERY)) == 1


def test_rows_without_a_stamp_take_requests_caches_path(
    server: HTTPServer, make_client: Callable[..., Client], spies: dict[str, int], tmp_path: Path
) -> None:
    cache = tmp_path / "cache.sqlite"
    client = make_client(cache=cache)
    client.post(QUERY, BODY)
    backend = client.session.cache  # type: ignore[attr-defined]
    (key,) = list(backend.responses)
    backend.responses[key] = backend.responses[key]  # written as plain requests-cache writes
    with sqlite3.connect(cache) as db:
        assert db.execute("SELECT upstack_stamp FROM responses").fetchall() == [(None,)]
    sent = spies["send"]
    hit = client.post(QUERY, BODY)
    assert hit.from_cache and answer_of(hit) == 1 and spies["send"] == sent + 1


def test_the_stamp_column_comes_back_after_a_foreign_clear(
    server: HTTPServer, make_client: Callable[..., Client], tmp_path: Path
) -> None:
    cache = tmp_path / "cache.sqlite"
    client = make_client(cache=cache)
    client.post(QUERY, BODY)
    backend = client.session.cache  # type: ignore[attr-defined]
    requests_cache.backends.sqlite.SQLiteCache.clear(backend)  # drops and makes the table again
    with sqlite3.connect(cache) as db:
        columns = [row[1] for row in db.execute("PRAGMA table_info(responses)")]
    assert cache_store.STAMP_COLUMN not in columns
    assert not client.post(QUERY, BODY).from_cache  # stored, the column added back, stamped
    with sqlite3.connect(cache) as db:
        (stamp,) = db.execute("SELECT upstack_stamp FROM responses").fetchone()
    assert isinstance(stamp, str) and len(stamp) == 24
    assert answer_of(client.post(QUERY, BODY)) == 2


def test_a_response_that_varies_is_not_stamped(
    httpserver: HTTPServer, make_client: Callable[..., Client], tmp_path: Path
) -> None:
    always(httpserver, "GET", "/db-mgmt/api/filters",
           reply(body={"filters": []}, headers={"Vary": "Accept-Language"}))  # fmt: skip
    client = make_client()
    client.get("/db-mgmt/api/filters")
    with sqlite3.connect(tmp_path / "cache.sqlite") as db:
        assert db.execute("SELECT upstack_stamp FROM responses").fetchall() == [(None,)]


def test_only_the_clients_own_sqlite_cache_is_answered_here(
    make_client: Callable[..., Client],
) -> None:
    assert make_client(cache=False)._cache_hits is None
    mine = requests_cache.CachedSession(backend="memory")
    assert make_client(cache=mine)._cache_hits is None
    assert make_client()._cache_hits is not None


def test_a_stamp_that_cannot_be_written_leaves_the_response_cached(
    server: HTTPServer,
    make_client: Callable[..., Client],
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> None:
    def locked(_: int) -> str:
        raise sqlite3.OperationalError("database is locked")

    client = make_client()
    monkeypatch.setattr(cache_store.secrets, "token_hex", locked)
    client.post(QUERY, BODY)  # no CacheUnavailableWarning (warnings are errors here)
    with sqlite3.connect(tmp_path / "cache.sqlite") as db:
        assert db.execute("SELECT upstack_stamp FROM responses").fetchall() == [(None,)]
    hit = client.post(QUERY, BODY)  # requests-cache's path
    assert hit.from_cache and answer_of(hit) == 1
    assert not client.session.cache.broken  # type: ignore[attr-defined]


def test_a_replaced_session_is_not_answered_from_the_old_cache(
    server: HTTPServer, make_client: Callable[..., Client]
) -> None:
    client = make_client()
    client.post(QUERY, BODY)
    assert client.post(QUERY, BODY).from_cache
    old = client.session
    client.session = requests.Session()
    fresh = client.post(QUERY, BODY)
    assert not fresh.from_cache and answer_of(fresh) == 2
    old.close()
