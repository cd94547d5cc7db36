"""Client faults, each against the behaviour a caller relies on (issue 12).

- the base-URL corpus: every URL the client accepts dials the host it was judged by (a fake
  ``create_connection`` records the address urllib3 really connects to), and no accepted
  ``http://`` URL dials anything but loopback;
- the drip server: a loopback server that sends one body byte every 0.2 s is cut off at the
  request's deadline, and at a reader call's deadline;
- secrets in tracebacks printed with their local variables (stdlib ``capture_locals``, rich's
  ``show_locals``), for configuration errors and refused connections;
- policies that validate their fields; cache failures that degrade with one warning; a 401
  that drops the key's cached responses.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import re
import signal
import socket
import sqlite3
import threading
import time
import traceback
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import urllib3.util.connection
from _env import clean_upstack_env
from _http import always, answer, base_url, calls, reply
from pytest_httpserver import HTTPServer

import upstack_pandas as up
from upstack_pandas._transport import cache_store
from upstack_pandas._transport.client import Client
from upstack_pandas._transport.config import dialled_host
from upstack_pandas._transport.retry import RetryPolicy
from upstack_pandas._transport.watchdog import WATCHDOG, SocketGuard, Watchdog

KEY = "upstack_faulttest00000000000000000000000000q7w3"
PIXEL = "pixel-faults"
LOOPBACK = {"127.0.0.1", "::1", "localhost"}


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    clean_upstack_env(monkeypatch, tmp_path)
    monkeypatch.setenv("UPSTACK_CACHE_DIR", str(tmp_path / "cache"))
    up.set_default_client(None)


def no_sleep() -> RetryPolicy:
    return RetryPolicy(max_retries=0, sleep=lambda s: None, clock=lambda: 0.0)


# ------------------------------------------------------------------------- 1. base-URL corpus

#: URLs whose authority two parsers may read differently, or that hide a remote host.
TRICKY_URLS = [
    "http://127.0.0.1@evil.example",
    "http://evil.example@127.0.0.1",
    "http://user:pass@127.0.0.1:8080",
    "http://localhost:80@evil.example",
    "http://[::1]@evil.example",
    "http://evil.example#@127.0.0.1",
    "http://evil.example?@127.0.0.1",
    "http://127.0.0.1\\@evil.example",
    "http://evil.example\\@127.0.0.1",
    "http://evil.example\\127.0.0.1",
    "http://127.0.0.1%2f@evil.example",
    "http://127.0.0.1%00.evil.example",
    "http://127.0.0.1 @evil.example",
    "http://127.0.0.1\t.evil.example",
    "http://127.0.0.1\n.evil.example",
    "http://localhost.evil.example",
    "http://127.0.0.1.nip.io",
    "http://evil.example/127.0.0.1",
    "http://evil.example:8080/localhost",
    "http://ⓛocalhost",
    "http://１２７.０.０.１",
    "http://evil.example:99999",
    "http://",
    "http:///127.0.0.1",
    "http:evil.example",
    "https://evil.example@upstack.example",
    "https://upstack.example#frag",
    "https://upstack.example/?q=1",
    "ftp://127.0.0.1",
    "HTTP://evil.example",
]
#: URLs the client must accept, and the host each dials.
GOOD_URLS = {
    "http://127.0.0.1:8765": "127.0.0.1",
    "http://localhost:1/base": "localhost",
    "http://LOCALHOST:1": "localhost",
    "http://[::1]:9": "::1",
    "https://api.upstackdata.com": "api.upstackdata.com",
    "https://api2.upstackified.com:8443/v2": "api2.upstackified.com",
}


@pytest.fixture
def dialled(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, int]]:
    """Addresses urllib3 tries to connect to (each attempt is refused, nothing leaves)."""
    seen: list[tuple[str, int]] = []

    def record(address: tuple[str, int], *args: Any, **kwargs: Any) -> socket.socket:
        seen.append(address)
        raise ConnectionRefusedError("refused by the test")

    monkeypatch.setattr(urllib3.util.connection, "create_connection", record)
    return seen


def dial(url: str, dialled: list[tuple[str, int]]) -> str | None:
    """The host a request through a client on ``url`` dials (None when the client refuses)."""
    try:
        client = Client(KEY, PIXEL, url, cache=False, max_retries=no_sleep())
    except up.ConfigurationError as exc:
        assert KEY not in str(exc)
        return None
    dialled.clear()
    with pytest.raises(up.TransportError):
        client.get("/db-mgmt/api/measures")
    client.close()
    assert dialled, f"{url}: nothing was dialled"
    return dialled[0][0]


@pytest.mark.parametrize("url", TRICKY_URLS)
def test_tricky_base_urls_are_refused(url: str, dialled: list[tuple[str, int]]) -> None:
    assert dial(url, dialled) is None
    assert dialled == []


@pytest.mark.parametrize("url", sorted(GOOD_URLS))
def test_good_base_urls_dial_the_host_they_were_judged_by(
    url: str, dialled: list[tuple[str, int]]
) -> None:
    host = dial(url, dialled)
    assert host == GOOD_URLS[url] == dialled_host(url)


@pytest.mark.parametrize("url", TRICKY_URLS + sorted(GOOD_URLS))
def test_no_accepted_plain_http_url_dials_a_remote_host(
    url: str, dialled: list[tuple[str, int]]
) -> None:
    host = dial(url, dialled)
    if host is not None and url.lower().startswith("http://"):
        assert host in LOOPBACK


def test_the_refusal_names_the_problem() -> None:
    with pytest.raises(up.ConfigurationError, match="different URL parsers") as info:
        Client(KEY, PIXEL, "http://127.0.0.1@evil.example", cache=False)
    assert "'@'" in str(info.value)


# ------------------------------------------------------------------------ 3. the drip server


class DripServer:
    """A loopback HTTP server that answers 200 and then sends its body one byte per ``gap`` s
    (``headers=True``: its status line and headers too, after the first line's first bytes)."""

    def __init__(self, gap: float = 0.2, size: int = 400, *, headers: bool = False) -> None:
        self.gap, self.size, self.headers = gap, size, headers
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.stopped = threading.Event()
        self.requests = 0
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def _serve(self) -> None:
        self.listener.settimeout(0.1)
        while not self.stopped.is_set():
            try:
                conn, _ = self.listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return  # closed
            threading.Thread(target=self._drip, args=(conn,), daemon=True).start()

    def _drip(self, conn: socket.socket) -> None:
        with conn:
            conn.recv(65536)
            self.requests += 1
            head = (
                "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                f"Content-Length: {self.size}\r\n\r\n"
            )
            body = b"{" + b" " * (self.size - 2) + b"}"
            if self.headers:  # all of it dripped: the client waits inside http.client
                dripped, body = head.encode() + body, b""
            else:
                conn.sendall(head.encode())
                dripped = body
            try:
                conn.sendall(dripped[:5])
                for i in range(5, len(dripped)):
                    if self.stopped.is_set():
                        return
                    conn.sendall(dripped[i : i + 1])
                    time.sleep(self.gap)
            except OSError:
                return  # the client hung up: what the deadline is for

    def close(self) -> None:
        self.stopped.set()
        self.thread.join(2)
        self.listener.close()


@pytest.fixture
def drip() -> Iterator[DripServer]:
    server = DripServer()
    yield server
    server.close()


@pytest.mark.parametrize("cache", [False, True], ids=["uncached", "cached"])
@pytest.mark.parametrize("phase", ["body", "headers"])
def test_a_dripping_answer_is_cut_off_at_the_request_deadline(cache: bool, phase: str) -> None:
    # Each byte arrives well within the 5 s read timeout: only the deadline can stop it, while
    # the body streams and while http.client waits for the status line and headers alike.
    server = DripServer(headers=phase == "headers")
    client = Client(KEY, PIXEL, server.url, cache=cache, deadline=1.0, timeout=5.0)
    try:
        started = time.monotonic()
        with pytest.raises(up.TransportError, match="deadline") as info:
            client.get("/db-mgmt/api/measures")
        elapsed = time.monotonic() - started
    finally:
        client.close()
        server.close()
    assert 0.9 <= elapsed < 2.5, elapsed
    assert server.requests == 1  # a deadline is not retried
    assert "Client(deadline=" in str(info.value)
    waiting = {"body": "while the body was arriving", "headers": "for the response's headers"}
    assert waiting[phase] in str(info.value)
    assert WATCHDOG.pending == 0  # nothing is left armed


def test_a_finished_request_leaves_its_connection_alone(emulator: Any) -> None:
    # The deadline passes after the answer: the kept-alive connection is reused, not cut.
    warm = emulator.client(cache=False)
    warm.get("/db-mgmt/api/measures")  # (the emulator's first answer may take a while)
    warm.close()
    client = emulator.client(cache=False, deadline=0.5)
    try:
        client.get("/db-mgmt/api/measures")
        assert WATCHDOG.pending == 0
        time.sleep(0.7)
        assert client.get("/db-mgmt/api/measures").status == 200
        pools = client.session.get_adapter(emulator.url).poolmanager.pools
        # (keys(): the container refuses plain iteration as not thread-safe)
        opened = sum(pools[key].num_connections for key in pools.keys())  # noqa: SIM118
        assert opened == 1  # a socket shut down would have been replaced
    finally:
        client.close()


def test_the_watchdog_calls_in_time_order_and_forgets_the_cancelled() -> None:
    watchdog = Watchdog()
    called: list[str] = []
    done = threading.Event()
    now = time.monotonic()
    watchdog.watch(now + 0.15, lambda: (called.append("late"), done.set()))
    watchdog.watch(now + 0.05, lambda: called.append("early"))
    dropped = watchdog.watch(now + 0.1, lambda: called.append("cancelled"))
    watchdog.cancel(dropped)
    assert watchdog.pending == 2
    assert done.wait(2)
    assert called == ["early", "late"]
    assert watchdog.pending == 0


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs os.fork")
def test_the_watchdog_starts_afresh_in_a_forked_child() -> None:
    # The parent's watchdog is busy (a callback pending, its lock taken by the watch call's
    # thread at times); the child's must serve its own guards from an empty state.
    token = WATCHDOG.watch(time.monotonic() + 60, lambda: None)
    try:
        pid = os.fork()
        if pid == 0:  # the child: exit 0 only if its own watchdog fires in time
            fired = threading.Event()
            code = 3
            try:
                if WATCHDOG.pending == 0:
                    WATCHDOG.watch(time.monotonic() + 0.05, fired.set)
                    code = 0 if fired.wait(2) else 1
            finally:
                os._exit(code)
        deadline = time.monotonic() + 10
        done, status = os.waitpid(pid, os.WNOHANG)
        while not done and time.monotonic() < deadline:
            time.sleep(0.02)
            done, status = os.waitpid(pid, os.WNOHANG)
        if not done:  # stuck (on a lock the parent held at the fork): fail, do not hang
            os.kill(pid, signal.SIGKILL)
            os.waitpid(pid, 0)
    finally:
        WATCHDOG.cancel(token)
    assert done, "the child's watchdog hung"
    assert os.waitstatus_to_exitcode(status) == 0


def test_a_guard_shuts_its_socket_down_only_while_armed() -> None:
    watched, peer = socket.socketpair()
    kept, kept_peer = socket.socketpair()
    try:
        guard = SocketGuard(time.monotonic() + 0.1, Watchdog())
        guard.arm(watched)
        watched.settimeout(5)
        started = time.monotonic()
        assert watched.recv(1) == b""  # woken by the shutdown, not by the 5 s timeout
        assert time.monotonic() - started < 2
        assert guard.fired
        quiet = SocketGuard(time.monotonic() + 0.05, Watchdog())
        quiet.arm(kept)
        quiet.disarm()
        time.sleep(0.15)
        assert not quiet.fired
        kept_peer.sendall(b"x")
        kept.settimeout(1)
        assert kept.recv(1) == b"x"  # still open both ways
    finally:
        for sock in (watched, peer, kept, kept_peer):
            sock.close()


def test_a_reader_call_deadline_bounds_every_request_of_the_call(drip: DripServer) -> None:
    client = Client(KEY, PIXEL, drip.url, cache=False, deadline=60.0, read_deadline=0.8)
    started = time.monotonic()
    with pytest.raises(up.TransportError, match="deadline"):
        client.request("GET", "/db-mgmt/api/measures", deadline_at=client.read_deadline_at())
    assert time.monotonic() - started < 2.2
    client.close()


def test_a_deadline_already_passed_sends_nothing(drip: DripServer) -> None:
    client = Client(KEY, PIXEL, drip.url, cache=False)
    with pytest.raises(up.TransportError, match="deadline"):
        client.request("GET", "/db-mgmt/api/measures", deadline_at=time.monotonic() - 1)
    assert drip.requests == 0
    client.close()


@pytest.mark.parametrize("value", [0, -1, float("nan"), float("inf"), "10", True])
def test_deadlines_are_checked(value: Any) -> None:
    with pytest.raises((ValueError, TypeError), match="deadline"):
        Client(KEY, PIXEL, "http://127.0.0.1:1", cache=False, deadline=value)
    with pytest.raises((ValueError, TypeError), match="read_deadline"):
        Client(KEY, PIXEL, "http://127.0.0.1:1", cache=False, read_deadline=value)


def test_a_wait_longer_than_the_deadline_is_not_waited(httpserver: HTTPServer) -> None:
    sleeps: list[float] = []
    policy = RetryPolicy(max_retries=3, sleep=sleeps.append, clock=lambda: 0.0)
    always(httpserver, "GET", "/slow", reply(503, headers={"Retry-After": "30"}))
    client = Client(
        KEY, PIXEL, base_url(httpserver), cache=False, max_retries=policy, deadline=10.0
    )
    with pytest.raises(up.ServerError):
        client.get("/slow")
    assert sleeps == [] and len(calls(httpserver, "GET", "/slow")) == 1
    client.close()


# ----------------------------------------------------------------- 4. secrets in tracebacks


def verbose_traceback(error: BaseException) -> str:
    """The stdlib traceback with every frame's locals, causes and contexts included."""
    return "".join(traceback.TracebackException.from_exception(error, capture_locals=True).format())


def rich_traceback(error: BaseException) -> str:
    rich_traceback = pytest.importorskip("rich.traceback")
    from rich.console import Console

    out = io.StringIO()
    console = Console(file=out, width=200, color_system=None)
    console.print(
        rich_traceback.Traceback.from_exception(
            type(error), error, error.__traceback__, show_locals=True
        )
    )
    return out.getvalue()


def every_locals_repr(error: BaseException) -> str:
    """What an error tracker that captures frame locals would send (repr of every local)."""
    texts: list[str] = []
    seen: set[int] = set()
    todo: list[BaseException | None] = [error]
    while todo:
        current = todo.pop()
        if current is None or id(current) in seen:
            continue
        seen.add(id(current))
        tb = current.__traceback__
        while tb is not None:
            texts.extend(repr(v) for v in tb.tb_frame.f_locals.values())
            tb = tb.tb_next
        todo += [current.__cause__, current.__context__]
    return "\n".join(texts)


def set_environment(monkeypatch: pytest.MonkeyPatch, pixel: str | None, base: str | None) -> None:
    # (a helper, so the test's own frame, part of the traceback, holds no key)
    monkeypatch.setenv("UPSTACK_API_KEY", KEY)
    if pixel:
        monkeypatch.setenv("UPSTACK_PIXEL_ID", pixel)
    if base:
        monkeypatch.setenv("UPSTACK_BASE_URL", base)


@pytest.mark.parametrize(
    ("pixel", "base"),
    [(None, None), (PIXEL, "http://evil.example"), (PIXEL, "ftp://x")],
    ids=["no-pixel", "plain-http", "bad-scheme"],
)
def test_configuration_errors_from_the_environment_show_no_key_in_locals(
    monkeypatch: pytest.MonkeyPatch, pixel: str | None, base: str | None
) -> None:
    set_environment(monkeypatch, pixel, base)
    with pytest.raises(up.ConfigurationError) as info:
        Client(cache=False)
    for text in (verbose_traceback(info.value), rich_traceback(info.value)):
        assert KEY not in text
    assert KEY not in every_locals_repr(info.value)


def test_a_configuration_error_from_an_argument_shows_no_key_in_locals() -> None:
    with pytest.raises(up.ConfigurationError) as info:
        Client(KEY, PIXEL, "http://evil.example", cache=False)
    assert KEY not in verbose_traceback(info.value)
    assert KEY not in every_locals_repr(info.value)


def test_a_refused_connection_shows_no_key_in_locals() -> None:
    with socket.socket() as probe:  # a loopback port nobody listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    client = Client(KEY, PIXEL, f"http://127.0.0.1:{port}", cache=False, max_retries=no_sleep())
    with pytest.raises(up.TransportError) as info:
        client.post("/db-mgmt/api/query", {"measures": []})
    assert info.value.__cause__ is None and info.value.__context__ is None
    for text in (verbose_traceback(info.value), rich_traceback(info.value)):
        assert KEY not in text
    assert KEY not in every_locals_repr(info.value)
    client.close()


def test_repr_of_a_half_built_client_never_raises() -> None:
    half = Client.__new__(Client)
    assert repr(half).startswith("Client(api_key='<none>'")
    half.close()  # nothing to close, nothing raised


# -------------------------------------------------------------------------- 8. policies


@pytest.mark.parametrize(
    "fields",
    [
        {"max_retries": -1},
        {"max_retries": 1.5},
        {"max_retries": True},
        {"max_retries": 10**9},
        {"backoff_base": float("nan")},
        {"backoff_max": float("inf")},
        {"max_total_wait": -0.1},
        {"max_total_wait": 1e12},
        {"backoff_base": "1"},
        {"retry_statuses": frozenset({200})},
        {"retry_statuses": "503"},
        {"sleep": None},
    ],
)
def test_retry_policy_fields_are_validated(fields: dict[str, Any]) -> None:
    (name,) = fields
    with pytest.raises(up.ValidationError, match=name) as info:
        RetryPolicy(**fields)
    assert info.value.parameter == name


@pytest.mark.parametrize(
    "fields",
    [
        {"settle_days": -1},
        {"settle_days": 1.5},
        {"settle_days": True},
        {"settle_days": 10**6},
        {"recent": __import__("datetime").timedelta(seconds=-1)},
        {"settled": __import__("datetime").timedelta(days=10**5)},
        {"catalog": 3600},
        {"location": ""},
        {"location": 42},
    ],
)
def test_cache_policy_fields_are_validated(fields: dict[str, Any]) -> None:
    (name,) = fields
    with pytest.raises(up.ValidationError, match=name) as info:
        up.CachePolicy(**fields)
    assert info.value.parameter == name


# ------------------------------------------------------------------ 9. cache failures, 401

MEASURES = "/db-mgmt/api/measures"
CATALOG = {"measures": [], "dimensions": []}


@pytest.fixture
def cached_client(httpserver: HTTPServer, tmp_path: Path) -> Iterator[Client]:
    client = Client(
        KEY, PIXEL, base_url(httpserver), cache=tmp_path / "c.sqlite", max_retries=no_sleep()
    )
    yield client
    client.close()


def cached_rows(path: Path) -> int:
    with sqlite3.connect(path) as db:
        return int(db.execute("select count(*) from responses").fetchone()[0])


def test_a_full_disk_degrades_to_uncached_with_one_warning(
    httpserver: HTTPServer, cached_client: Client, monkeypatch: pytest.MonkeyPatch
) -> None:
    always(httpserver, "GET", MEASURES, reply(body=CATALOG))
    real_setitem = cache_store.SQLiteDict.__setitem__

    def full(self: Any, key: str, value: Any) -> None:
        if self.table_name == "responses":
            raise sqlite3.OperationalError("database or disk is full")
        real_setitem(self, key, value)

    monkeypatch.setattr(cache_store.SQLiteDict, "__setitem__", full)
    with pytest.warns(cache_store.CacheUnavailableWarning, match="disk is full") as record:
        for _ in range(3):
            assert cached_client.get(MEASURES).json() == CATALOG
    assert len(record) == 1
    assert len(calls(httpserver, "GET", MEASURES)) == 3  # uncached from the first failure
    monkeypatch.undo()
    assert cached_rows(Path(cached_client._cache_location or "")) == 0  # nothing half-written


def test_a_corrupt_cache_file_degrades_to_uncached_with_one_warning(
    httpserver: HTTPServer, cached_client: Client
) -> None:
    always(httpserver, "GET", MEASURES, reply(body=CATALOG))
    path = Path(cached_client._cache_location or "")
    cached_client.session.cache.responses.close()  # type: ignore[attr-defined]
    for suffix in ("", "-wal", "-shm"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)
    path.write_bytes(b"this is not a database" * 100)
    with pytest.warns(cache_store.CacheUnavailableWarning) as record:
        for _ in range(2):
            assert cached_client.get(MEASURES).json() == CATALOG
    assert len(record) == 1
    assert len(calls(httpserver, "GET", MEASURES)) == 2


def test_a_corrupt_cache_file_at_start_degrades_to_uncached(
    httpserver: HTTPServer, tmp_path: Path
) -> None:
    path = tmp_path / "broken.sqlite"
    path.write_bytes(b"garbage" * 1000)
    always(httpserver, "GET", MEASURES, reply(body=CATALOG))
    with pytest.warns(cache_store.CacheUnavailableWarning, match="uncached"):
        client = Client(KEY, PIXEL, base_url(httpserver), cache=path)
    assert client.get(MEASURES).json() == CATALOG
    client.close()


def test_a_401_drops_the_keys_cached_responses(
    httpserver: HTTPServer, cached_client: Client
) -> None:
    answer(httpserver, "GET", MEASURES, reply(body=CATALOG))
    assert cached_client.get(MEASURES).json() == CATALOG
    assert cached_client.get(MEASURES).from_cache
    path = Path(cached_client._cache_location or "")
    assert cached_rows(path) == 1
    always(httpserver, "GET", "/db-mgmt/api/filters", reply(401, {"message": "revoked"}))
    with pytest.raises(up.AuthenticationError):
        cached_client.get("/db-mgmt/api/filters")
    assert cached_rows(path) == 0  # the revoked key no longer reads the catalog from disk
    always(httpserver, "GET", MEASURES, reply(401, {"message": "revoked"}))
    with pytest.raises(up.AuthenticationError):
        cached_client.get(MEASURES)


def test_a_401_leaves_other_keys_cached_responses(httpserver: HTTPServer, tmp_path: Path) -> None:
    other_key = KEY[:-4] + "zzzz"
    shared = tmp_path / "shared.sqlite"
    always(httpserver, "GET", MEASURES, reply(body=CATALOG))
    first = Client(KEY, PIXEL, base_url(httpserver), cache=shared, max_retries=no_sleep())
    second = Client(other_key, PIXEL, base_url(httpserver), cache=shared, max_retries=no_sleep())
    first.get(MEASURES)
    second.get(MEASURES)
    assert cached_rows(shared) == 2
    httpserver.clear()
    always(httpserver, "GET", "/db-mgmt/api/filters", reply(401, {"message": "revoked"}))
    with pytest.raises(up.AuthenticationError):
        first.get("/db-mgmt/api/filters")
    assert cached_rows(shared) == 1
    assert second.get(MEASURES).from_cache
    first.close()
    second.close()


# ------------------------------------------------------- 11. the fault table of the docs

FAULT_PAGE = Path(__file__).resolve().parents[1] / "docs" / "errors-and-retries.md"


def fault_table() -> dict[str, dict[str, str]]:
    """The rows of "Every fault and what you get", by their ``check`` id."""
    text = FAULT_PAGE.read_text(encoding="utf-8")
    section = text.split("## Every fault and what you get", 1)[1].split("\n## ", 1)[0]
    rows: dict[str, dict[str, str]] = {}
    for line in section.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) != 5 or cells[0] in ("fault", "---"):
            continue
        check = cells[4].strip("`")
        rows[check] = {"gets": cells[1], "retried": cells[2], "cached": cells[3]}
    return rows


class Outcome:
    def __init__(self, got: str, requests: int, cached: int) -> None:
        self.got, self.requests, self.cached = got, requests, cached


class Faults:
    """Provokes each fault of the table against loopback servers; counts requests and cache rows."""

    def __init__(
        self,
        httpserver: HTTPServer,
        tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch,
        recorded: Recorded,
    ) -> None:
        self.server, self.tmp, self.monkeypatch = httpserver, tmp_path, monkeypatch
        self.recorded = recorded
        self.cache = tmp_path / "faults.sqlite"

    def client(self, url: str | None = None, **kwargs: Any) -> Client:
        policy = RetryPolicy(max_retries=2, sleep=lambda s: None, clock=lambda: 0.0)
        kwargs.setdefault("cache", self.cache)
        return Client(KEY, PIXEL, url or base_url(self.server), max_retries=policy, **kwargs)

    def cached_rows(self) -> int:
        return cached_rows(self.cache) if self.cache.exists() else 0

    def run(self, call: Callable[[], object], requests: Callable[[], int]) -> Outcome:
        try:
            call()
        except up.UpstackError as exc:
            got = type(exc).__name__
        else:
            got = "answer"
        return Outcome(got, requests(), self.cached_rows())

    def http(self, status: int) -> Outcome:
        always(self.server, "GET", MEASURES, reply(status, {"message": f"status {status}"}))
        client = self.client()
        try:
            return self.run(lambda: client.get(MEASURES), lambda: len(calls(self.server)))
        finally:
            client.close()

    def check(self, name: str) -> Outcome:
        if name.startswith("http-"):
            return self.http(int(name.split("-")[1]))
        if name == "bad-argument":
            client = self.client()
            try:
                return self.run(
                    lambda: up.read_upstack(
                        "orders.orders", "05/11/2026", "2026-05-12", client=client
                    ),
                    lambda: len(calls(self.server)),
                )
            finally:
                client.close()
        if name == "bad-base-url":
            seen = dialled_addresses(self.monkeypatch)
            return self.run(lambda: self.client("http://127.0.0.1@evil.example"), lambda: len(seen))
        if name == "connection-refused":
            seen = dialled_addresses(self.monkeypatch)
            client = self.client("http://127.0.0.1:9")
            return self.run(lambda: client.get(MEASURES), lambda: len(seen))
        if name == "connection-dropped":
            from _http import drop

            always(self.server, "GET", MEASURES, drop)
            client = self.client()
            outcome = self.run(lambda: client.get(MEASURES), lambda: 0)
            client.close()
            deadline = time.monotonic() + 2  # the server logs a hang-up after it hung up
            while len(calls(self.server)) < 3 and time.monotonic() < deadline:
                time.sleep(0.01)
            outcome.requests = len(calls(self.server))
            return outcome
        if name in ("drip", "header-drip"):
            server = DripServer(headers=name == "header-drip")
            client = self.client(server.url, deadline=0.6)
            try:
                return self.run(lambda: client.get(MEASURES), lambda: server.requests)
            finally:
                client.close()
                server.close()
        if name == "not-json":
            always(self.server, "GET", MEASURES, reply(200, "<html>maintenance</html>"))
            client = self.client()
            return self.run(lambda: client.get(MEASURES), lambda: len(calls(self.server)))
        if name == "cache-broken":
            always(self.server, "GET", MEASURES, reply(body=CATALOG))
            client = self.client()
            real_setitem = cache_store.SQLiteDict.__setitem__

            def full(self: Any, key: str, value: Any) -> None:
                if self.table_name == "responses":
                    raise sqlite3.OperationalError("database or disk is full")
                real_setitem(self, key, value)

            self.monkeypatch.setattr(cache_store.SQLiteDict, "__setitem__", full)
            with pytest.warns(cache_store.CacheUnavailableWarning):
                outcome = self.run(lambda: client.get(MEASURES), lambda: len(calls(self.server)))
            self.monkeypatch.undo()
            outcome.cached = self.cached_rows()
            return outcome
        if name == "wrong-shape":
            body = mutate(self.recorded.body(QUERY), lambda b: first_rows(b).pop(3))
            always(self.server, "POST", QUERY, reply(body=body))
            client = self.replay_client()
            outcome = self.run(
                lambda: up.read_upstack(
                    "orders.orders", "2026-04-01", "2026-04-07", compare=False, client=client
                ),
                lambda: len(calls(self.server, "POST")),
            )
            outcome.cached = query_rows_cached(client)
            client.close()
            return outcome
        if name == "contradictory-pages":
            first = self.recorded.body(CHANNELS)
            answer(
                self.server, "POST", CHANNELS, reply(body=page_with(first, hasMore=False, total=99))
            )
            client = self.replay_client()
            outcome = self.run(lambda: read_pages(client), lambda: len(calls(self.server, "POST")))
            outcome.cached = query_rows_cached(client)
            client.close()
            return outcome
        raise AssertionError(f"the fault table names a check this test does not know: {name}")

    def replay_client(self) -> Client:
        for suffix in ("/db-mgmt/api/measures", "/db-mgmt/api/filters"):
            with contextlib.suppress(StopIteration):
                always(self.server, "GET", suffix, reply(body=self.recorded.body(suffix)))
        return self.client()


def dialled_addresses(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, int]]:
    seen: list[tuple[str, int]] = []

    def record(address: tuple[str, int], *args: Any, **kwargs: Any) -> socket.socket:
        seen.append(address)
        raise ConnectionRefusedError("refused by the test")

    monkeypatch.setattr(urllib3.util.connection, "create_connection", record)
    return seen


def test_the_fault_table_has_rows() -> None:
    assert len(fault_table()) >= 16


@pytest.mark.parametrize("check", sorted(fault_table()))
def test_the_fault_table(
    check: str,
    httpserver: HTTPServer,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    recorded: Recorded,
) -> None:
    row = fault_table()[check]
    outcome = Faults(httpserver, tmp_path, monkeypatch, recorded).check(check)
    expected = re.match(r"`(\w+)`", row["gets"])
    assert outcome.got == (expected.group(1) if expected else "answer"), row
    if row["retried"] == "not sent":
        assert outcome.requests == 0
    elif row["retried"] == "yes":
        assert outcome.requests > 1
    else:
        assert row["retried"] == "no" and outcome.requests == 1, (row, outcome.requests)
    assert row["cached"] == "no" and outcome.cached == 0


# ------------------------------------------- 2, 7. wrong-shape 200s and contradictory pages

QUERY = "/db-mgmt/api/query"
CHANNELS = "/db-mgmt/api/query-channel-details"


class Recorded:
    """Bodies the emulator really sends for a reader call (the corpus mutates them)."""

    def __init__(self, emulator: Any) -> None:
        self.client = emulator.client(cache=False)
        self.bodies: list[tuple[str, bytes]] = []
        real = self.client.session.request

        def record(method: str, url: str, *args: Any, **kwargs: Any) -> Any:
            response = real(method, url, *args, **kwargs)
            self.bodies.append((url, response.content))
            return response

        self.client.session.request = record  # type: ignore[method-assign]

    def body(self, suffix: str) -> bytes:
        return next(b for url, b in self.bodies if url.endswith(suffix))


@pytest.fixture(scope="module")
def recorded(emulator: Any) -> Iterator[Recorded]:
    found = Recorded(emulator)
    up.read_upstack("orders.orders", "2026-04-01", "2026-04-07", compare=False, client=found.client)
    up.read_channel_details(
        ["channel.spend"],
        "2026-04-01",
        "2026-04-07",
        level="campaign",
        page_size=3,
        compare=False,
        client=found.client,
    )
    yield found
    found.client.close()


def mutate(body: bytes, change: Callable[[dict[str, Any]], Any]) -> bytes:
    parsed = json.loads(body)
    change(parsed)
    return json.dumps(parsed).encode()


def first_rows(body: dict[str, Any]) -> list[Any]:
    rows: list[Any] = body["results"][0]["data"]["primary"]
    return rows


WRONG_SHAPES: dict[str, tuple[Callable[[dict[str, Any]], Any], str]] = {
    "empty results": (lambda b: b.update(results=[]), "got no results"),
    "results not a list": (lambda b: b.update(results={"a": 1}), "'results' list"),
    "duplicated result": (lambda b: b["results"].append(b["results"][0]), "got 2 results"),
    "no data": (lambda b: b["results"][0].pop("data"), "primary is missing"),
    "no data.primary": (lambda b: b["results"][0]["data"].pop("primary"), "primary is missing"),
    "data.primary not a list": (
        lambda b: b["results"][0]["data"].update(primary={"dt": 1}),
        "not a list",
    ),
    "rows that are not objects": (
        lambda b: b["results"][0]["data"].update(primary=[1, 2, 3, 4, 5, 6, 7]),
        "not objects",
    ),
    "rows without dt": (lambda b: [r.pop("dt") for r in first_rows(b)], "without a readable 'dt'"),
    "a dt that is not a time": (
        lambda b: first_rows(b)[2].update(dt="soon"),
        "without a readable 'dt'",
    ),
    "string values": (
        lambda b: first_rows(b)[0].update({"orders.orders": "12"}),
        "neither numbers nor null",
    ),
    "a missing bucket": (lambda b: first_rows(b).pop(3), "expected 7"),
    "a repeated bucket": (
        lambda b: first_rows(b).__setitem__(3, dict(first_rows(b)[2])),
        "repeats 1 buckets",
    ),
}


@pytest.fixture
def replay(httpserver: HTTPServer, recorded: Recorded, tmp_path: Path) -> Iterator[Client]:
    """A cached client on a loopback server that serves the emulator's real catalog."""
    for suffix in ("/db-mgmt/api/measures", "/db-mgmt/api/filters"):
        with contextlib.suppress(StopIteration):
            always(httpserver, "GET", suffix, reply(body=recorded.body(suffix)))
    client = Client(
        KEY, PIXEL, base_url(httpserver), cache=tmp_path / "shape.sqlite", max_retries=no_sleep()
    )
    yield client
    client.close()


def query_rows_cached(client: Client) -> int:
    path = Path(client._cache_location or "")
    with sqlite3.connect(path) as db:
        keys = [k for (k,) in db.execute("select key from upstack_key_owners")]
    responses = client.session.cache.responses  # type: ignore[attr-defined]
    return sum(1 for k in keys if k in responses and QUERY in (responses[k].url or ""))


@pytest.mark.parametrize("case", sorted(WRONG_SHAPES))
def test_a_wrong_shape_200_raises_and_is_not_cached(
    case: str, httpserver: HTTPServer, recorded: Recorded, replay: Client
) -> None:
    change, needle = WRONG_SHAPES[case]
    bad = mutate(recorded.body(QUERY), change)
    always(httpserver, "POST", QUERY, reply(body=bad))
    for _ in range(2):
        with pytest.raises(up.TransportError, match="not the JSON promised") as info:
            up.read_upstack(
                "orders.orders", "2026-04-01", "2026-04-07", compare=False, client=replay
            )
        assert needle in str(info.value), str(info.value)
        assert query_rows_cached(replay) == 0
    assert len(calls(httpserver, "POST", QUERY)) == 2  # asked again: nothing was cached


def test_the_unchanged_recorded_body_is_read_and_cached(
    httpserver: HTTPServer, recorded: Recorded, replay: Client
) -> None:
    always(httpserver, "POST", QUERY, reply(body=recorded.body(QUERY)))
    frame = up.read_upstack(
        "orders.orders", "2026-04-01", "2026-04-07", compare=False, client=replay
    )
    assert len(frame) == 7 and query_rows_cached(replay) == 1


def page_with(body: bytes, **pagination: Any) -> bytes:
    return mutate(body, lambda b: b.setdefault("pagination", {}).update(pagination))


def read_pages(client: Client) -> Any:
    return up.read_channel_details(
        ["channel.spend"],
        "2026-04-01",
        "2026-04-07",
        level="campaign",
        page_size=3,
        compare=False,
        client=client,
    )


@pytest.mark.parametrize(
    ("pages", "needle"),
    [
        (
            lambda b: [page_with(mutate(b, lambda x: x.update(results=[])), hasMore=True)],
            "empty page",
        ),
        (
            lambda b: [
                page_with(b, hasMore=True, total=100),
                page_with(b, hasMore=True, total=100),
            ],
            "appears twice",
        ),
        (lambda b: [page_with(b, hasMore=False, total=99)], "pagination.total says 99"),
        (
            lambda b: [page_with(b, hasMore=True, total=40), page_with(b, hasMore=True, total=41)],
            "total changed",
        ),
    ],
    ids=["empty-with-hasMore", "repeated-page", "totals-do-not-add-up", "total-changes"],
)
def test_contradictory_pages_raise(
    pages: Callable[[bytes], list[bytes]],
    needle: str,
    httpserver: HTTPServer,
    recorded: Recorded,
    replay: Client,
) -> None:
    first = recorded.body(CHANNELS)
    assert json.loads(first)["results"], "the recorded page has entities"
    answer(httpserver, "POST", CHANNELS, *(reply(body=p) for p in pages(first)))
    with pytest.raises(up.TransportError, match="contradict") as info:
        read_pages(replay)
    assert needle in str(info.value), str(info.value)


# ----------------------------------------------- 6. the relative-dates seam (_query.dates)


def test_relative_starts_go_to_the_dates_module_and_stay_validation_errors(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import datetime as dt
    import types

    from upstack_pandas._query import checks

    fake = types.ModuleType("upstack_pandas._query.dates")
    fake.ACCEPTED_DATE_FORMS = "'YYYY-MM-DD' or a fake form"  # type: ignore[attr-defined]
    seen: list[Any] = []

    def resolve_range(start: str, end: Any, **kwargs: Any) -> tuple[dt.date, dt.date]:
        seen.append((start, end))
        if start == "-0D":
            raise ValueError("start: '-0D' is not a relative form; accepted: ...")
        return dt.date(2026, 4, 1), dt.date(2026, 4, 7)

    fake.is_relative = lambda value: isinstance(value, str) and value.startswith("-")  # type: ignore[attr-defined]
    fake.resolve_range = resolve_range  # type: ignore[attr-defined]
    fake.is_compare_keyword = lambda value: value == "yoy"  # type: ignore[attr-defined]
    fake.compare_range = lambda c, r, name: (dt.date(1899, 4, 1), dt.date(1899, 4, 7))  # type: ignore[attr-defined]
    monkeypatch.setattr(checks, "dates", fake)  # checks imports it plainly: patch its name
    assert checks.date_range("-7D", None, "UTC") == (dt.date(2026, 4, 1), dt.date(2026, 4, 7))
    assert seen == [("-7D", None)]
    with pytest.raises(up.ValidationError, match="not a relative form") as info:
        checks.date_range("-0D", None, "UTC")
    assert info.value.parameter == "start"
    with pytest.raises(up.ValidationError, match=r"cannot read.*a fake form"):  # still strict
        checks.date_range("05/11/2026", None, "UTC")
    with pytest.raises(up.ValidationError, match="outside the dates"):
        checks.compare_range("yoy", (dt.date(1900, 4, 1), dt.date(1900, 4, 7)), "UTC")


def test_a_reader_call_gives_all_its_requests_one_deadline(
    emulator: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    client = emulator.client(cache=False, read_deadline=42.0)
    sent: list[float | None] = []
    real_post = client.post

    def post(path: str, json: Any, **kwargs: Any) -> Any:
        sent.append(kwargs.get("deadline_at"))
        return real_post(path, json, **kwargs)

    monkeypatch.setattr(client, "post", post)
    started = time.monotonic()
    frame = up.read_upstack(
        "orders.orders", "2026-04-01", "2026-04-07", compare=False, chunks="3D", client=client
    )
    assert len(frame) == 7
    assert len(sent) >= 2 and len(set(sent)) == 1  # every window: the same instant
    (instant,) = set(sent)
    assert instant is not None and started + 41 < instant <= time.monotonic() + 42
    client.close()
