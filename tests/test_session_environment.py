"""A client's own session resolves the environment's proxies once per origin (issue 13).

``requests`` reads ``HTTP(S)_PROXY``/``NO_PROXY`` on every request; the sessions the client
builds keep the first resolution for an origin. The user's proxy must still apply.
"""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator
from typing import Any

import pytest
import requests
import requests.sessions

from upstack_pandas._transport.session import open_session

KEY = "upstack_" + "0" * 40
PIXEL = "5f1e6a4f-2d0b-4c7e-9a51-6f1c0b2e7d01"


@pytest.fixture
def lookups(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Count requests' environment proxy lookups (the call made per request by default)."""
    seen: list[str] = []
    real = requests.sessions.get_environ_proxies

    def counted(url: str, no_proxy: Any = None) -> dict[str, str]:
        seen.append(url)
        return real(url, no_proxy=no_proxy)

    monkeypatch.setattr(requests.sessions, "get_environ_proxies", counted)
    return seen


@pytest.fixture
def proxy(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[bytes]]:
    """A loopback 'proxy' answering 200 ``{}``, recording each request line; set as HTTP_PROXY."""
    lines: list[bytes] = []
    listener = socket.create_server(("127.0.0.1", 0))

    def serve() -> None:
        while True:
            try:
                conn, _ = listener.accept()
            except OSError:
                return
            with conn:
                data = b""
                while b"\r\n\r\n" not in data and (chunk := conn.recv(65536)):
                    data += chunk
                lines.append(data.split(b"\r\n", 1)[0])
                conn.sendall(
                    b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                    b"Content-Length: 2\r\nConnection: close\r\n\r\n{}"
                )

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    for name in ("NO_PROXY", "no_proxy", "HTTPS_PROXY", "https_proxy", "ALL_PROXY", "all_proxy"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("HTTP_PROXY", f"http://127.0.0.1:{listener.getsockname()[1]}")
    try:
        yield lines
    finally:
        listener.close()
        thread.join(timeout=5)


@pytest.mark.parametrize("cache", [False, {"location": "tmp"}])
def test_the_environment_is_read_once_per_origin(
    cache: Any, lookups: list[str], tmp_path: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HTTP_PROXY", "http://127.0.0.1:9")
    if isinstance(cache, dict):
        cache = str(tmp_path)
    setup = open_session(cache, None, "http://127.0.0.1:1", PIXEL, KEY)
    try:
        merge = setup.session.merge_environment_settings
        first = [merge(f"http://127.0.0.1:1/p{i}", {}, None, None, None) for i in range(3)]
        assert len(lookups) == 1
        assert all(s["proxies"]["http"] == "http://127.0.0.1:9" for s in first)
        first[0]["proxies"]["http"] = "changed by a caller"  # a copy each time
        assert merge("http://127.0.0.1:1/q", {}, None, None, None)["proxies"]["http"] == (
            "http://127.0.0.1:9"
        )
        merge("http://127.0.0.1:2/p", {}, None, None, None)  # another origin: resolved anew
        assert len(lookups) == 2
        explicit = merge("http://127.0.0.1:1/p", {"http": "http://x:1"}, None, None, None)
        assert explicit["proxies"]["http"] == "http://x:1" and len(lookups) == 3
    finally:
        setup.session.close()


def test_a_callers_session_is_left_as_it_is(lookups: list[str]) -> None:
    mine = requests.Session()
    setup = open_session(False, mine, "http://127.0.0.1:1", PIXEL, KEY)
    assert setup.session is mine and "merge_environment_settings" not in vars(mine)
    for _ in range(2):
        mine.merge_environment_settings("http://127.0.0.1:1/p", {}, None, None, None)
    assert len(lookups) == 2


def test_the_users_proxy_still_carries_every_request(proxy: list[bytes]) -> None:
    setup = open_session(False, None, "http://127.0.0.1:1", PIXEL, KEY)
    with setup.session as session:
        answers = [session.get(f"http://127.0.0.1:1/p{i}", timeout=5) for i in range(2)]
    assert [a.json() for a in answers] == [{}, {}]
    assert proxy == [b"GET http://127.0.0.1:1/p0 HTTP/1.1", b"GET http://127.0.0.1:1/p1 HTTP/1.1"]
