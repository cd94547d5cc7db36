"""Persistent connections (decision D102): reuse, a deadline per request, the idle timeout."""

from __future__ import annotations

import socket
import time
import weakref
from collections.abc import Iterator
from typing import Any

import orjson
import pytest
import requests

from tests._drip import drip_until_answer
from upstack_pandas.emulator.http.server import Emulator

NOW = "2026-11-26T12:00:00Z"
TIMEOUT_S = 1.0  # the request deadline
IDLE_S = 1.5  # the idle timeout between requests (longer than the deadline, to tell them apart)
HEALTH = b"GET /_emulator/health HTTP/1.1\r\nHost: x\r\n\r\n"


@pytest.fixture(scope="module")
def emu() -> Iterator[Emulator]:
    with Emulator(now=NOW, request_timeout=TIMEOUT_S, idle_timeout=IDLE_S) as emu:
        yield emu


def _read_response(sock: socket.socket) -> tuple[bytes, dict[str, str], bytes]:
    """Read one response with a Content-Length: (status line, headers, body).

    Bytes past it (a pipelined next answer) stay in the socket's buffered reader.
    """
    reader = _readers.setdefault(sock, sock.makefile("rb"))
    status = reader.readline().rstrip(b"\r\n")
    assert status, "the server closed before answering"
    headers: dict[str, str] = {}
    while (line := reader.readline()) not in (b"\r\n", b""):
        name, _, value = line.decode("latin-1").partition(":")
        headers[name.strip().lower()] = value.strip()
    body = reader.read(int(headers["content-length"]))
    assert len(body) == int(headers["content-length"]), "the server closed in the body"
    return status, headers, body


_readers: weakref.WeakKeyDictionary[socket.socket, Any] = weakref.WeakKeyDictionary()


def _rest(sock: socket.socket) -> bytes:
    """What the server sends after the answers read (b"" once it closes)."""
    reader = _readers.get(sock)
    return reader.read1(65536) if reader is not None else sock.recv(65536)


def test_a_session_sends_its_requests_on_one_connection(emu: Emulator) -> None:
    before = emu.connections_accepted
    with requests.Session() as session:
        answers = [
            session.get(emu.url + "/db-mgmt/api/measures", headers=emu.headers(), timeout=30)
            for _ in range(3)
        ]
        answers.append(session.post(emu.url + "/_emulator/faults", json={"kind": "bad"}))
    assert [a.status_code for a in answers] == [200, 200, 200, 400]
    assert all("close" not in a.headers.get("Connection", "") for a in answers)
    assert answers[0].json() == answers[2].json()
    assert emu.connections_accepted - before == 1


def test_without_keep_alive_each_request_is_a_connection(emu: Emulator) -> None:
    before = emu.connections_accepted
    for _ in range(2):
        answer = requests.get(emu.url + "/_emulator/health", timeout=10)  # a session each
        assert answer.status_code == 200
    assert emu.connections_accepted - before == 2


def test_a_drip_on_the_second_request_is_cut_at_its_deadline(emu: Emulator) -> None:
    with socket.create_connection(("127.0.0.1", emu.port), timeout=10) as sock:
        sock.sendall(HEALTH)
        status, headers, body = _read_response(sock)
        assert status.startswith(b"HTTP/1.1 200") and orjson.loads(body)["pixels"]
        assert headers.get("connection") != "close"
        time.sleep(TIMEOUT_S * 1.2)  # idle past one deadline: the next request gets its own
        sock.sendall(b"POST /_emulator/faults HTTP/1.1\r\nHost: x\r\nContent-Length: 1000\r\n\r\n")
        answer, elapsed = drip_until_answer(sock, TIMEOUT_S + 3)
    assert TIMEOUT_S * 0.8 <= elapsed < TIMEOUT_S + 1, elapsed
    assert answer.startswith(b"HTTP/1.1 408"), answer[:200]
    assert b"Connection: close" in answer


def test_an_idle_connection_is_closed_quietly_after_the_idle_timeout(emu: Emulator) -> None:
    with socket.create_connection(("127.0.0.1", emu.port), timeout=10) as sock:
        sock.sendall(HEALTH)
        _read_response(sock)
        started = time.monotonic()
        rest = _rest(sock)  # blocks until the server closes
        elapsed = time.monotonic() - started
    assert rest == b"", rest[:200]  # no 408 a client would read as its next answer
    assert IDLE_S * 0.8 <= elapsed < IDLE_S + 1, elapsed


def test_pipelined_requests_are_both_answered(emu: Emulator) -> None:
    with socket.create_connection(("127.0.0.1", emu.port), timeout=10) as sock:
        sock.sendall(HEALTH + HEALTH)
        first, second = _read_response(sock), _read_response(sock)
    assert first[0].startswith(b"HTTP/1.1 200") and second[0].startswith(b"HTTP/1.1 200")
    assert orjson.loads(first[2]) == orjson.loads(second[2])


def test_a_body_refused_unread_closes_the_connection(emu: Emulator) -> None:
    """A 413 before the body is read: what follows on the socket is no request, so close."""
    request = b"POST /_emulator/faults HTTP/1.1\r\nHost: x\r\nContent-Length: 99999999\r\n\r\n{"
    with socket.create_connection(("127.0.0.1", emu.port), timeout=10) as sock:
        sock.sendall(request)
        status, headers, _ = _read_response(sock)
        assert status.startswith(b"HTTP/1.1 413")
        assert headers["connection"] == "close"
        assert _rest(sock) == b""


def test_a_doubled_slash_with_a_body_closes_the_connection(emu: Emulator) -> None:
    """404 before the body is read: the unread body must not be parsed as a request."""
    body = HEALTH  # a body that looks like a request, to be sure it is not answered
    head = f"POST //_emulator/faults HTTP/1.1\r\nHost: x\r\nContent-Length: {len(body)}\r\n\r\n"
    with socket.create_connection(("127.0.0.1", emu.port), timeout=10) as sock:
        sock.sendall(head.encode() + body)
        status, headers, _ = _read_response(sock)
        assert status.startswith(b"HTTP/1.1 404")
        assert headers["connection"] == "close"
        assert _rest(sock) == b""


def test_a_client_asking_to_close_is_closed(emu: Emulator) -> None:
    with socket.create_connection(("127.0.0.1", emu.port), timeout=10) as sock:
        sock.sendall(HEALTH.replace(b"Host: x\r\n", b"Host: x\r\nConnection: close\r\n"))
        status, headers, _ = _read_response(sock)
        assert status.startswith(b"HTTP/1.1 200") and headers["connection"] == "close"
        assert _rest(sock) == b""


def test_stop_closes_kept_alive_connections_at_once() -> None:
    with Emulator(now=NOW, idle_timeout=30) as emu:
        sock = socket.create_connection(("127.0.0.1", emu.port), timeout=10)
        sock.sendall(HEALTH)
        _read_response(sock)
    with sock:
        started = time.monotonic()
        assert _rest(sock) == b""
        assert time.monotonic() - started < 2


@pytest.mark.parametrize("bad", [0, -1, float("inf"), float("nan")])
def test_idle_timeout_must_be_positive(bad: float) -> None:
    with pytest.raises(ValueError, match="idle_timeout"):
        Emulator(idle_timeout=bad)
