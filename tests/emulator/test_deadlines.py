"""The request deadline answers a slow request once: the watchdog or the handler, never both.

A request whose body stops arriving meets two timers at about the same moment: the server's
deadline watchdog (which sends its 408 and cuts the connection) and the handler's own socket
read timeout (which makes the app answer 408). On a loaded machine the watchdog can wake late,
so both used to answer and the client read two documents. Whichever claims the connection first
answers; the other stays silent (decision D72).
"""

from __future__ import annotations

import io
import socket
import time
from typing import Any

import pytest

from upstack_pandas.emulator.http import server
from upstack_pandas.emulator.http.limits import BODY_READ_KEY, RequestLimits


def _answered_by_watchdog(deadlines: Any, connection: socket.socket) -> None:
    deadlines.arm(connection, 0.0)
    for _ in range(200):  # the watchdog polls every 50 ms
        with deadlines._lock:
            if connection not in deadlines._armed:
                return
        time.sleep(0.01)
    raise AssertionError("the watchdog never expired the connection")


def test_release_says_whether_the_watchdog_has_already_answered() -> None:
    deadlines = server._Deadlines()
    deadlines.start()
    ours, theirs = socket.socketpair()
    try:
        deadlines.arm(ours, 60.0)
        assert deadlines.release(ours) is True  # read in time: the handler answers
        _answered_by_watchdog(deadlines, ours)
        assert theirs.recv(4096).startswith(b"HTTP/1.1 408")  # the watchdog's one answer
        assert deadlines.release(ours) is False  # so the handler must write nothing
        deadlines.forget(ours)
        assert deadlines.release(ours) is True  # nothing kept once the handler is done
    finally:
        deadlines.stop()
        ours.close()
        theirs.close()


class _TimedOutBody(io.RawIOBase):
    def read(self, size: int = -1) -> bytes:
        raise TimeoutError("timed out")


@pytest.mark.parametrize("watchdog_answered", [False, True])
def test_the_app_answers_a_timed_out_body_only_if_the_watchdog_has_not(
    watchdog_answered: bool,
) -> None:
    calls: list[str] = []
    started: list[str] = []

    def app(environ: dict[str, Any], start_response: Any) -> list[bytes]:
        calls.append("app")
        return []

    environ = {
        "REQUEST_METHOD": "POST",
        "PATH_INFO": "/db-mgmt/api/query",
        "RAW_URI": "/db-mgmt/api/query",
        "CONTENT_LENGTH": "100",
        "CONTENT_TYPE": "application/json",
        "wsgi.input": _TimedOutBody(),
        BODY_READ_KEY: lambda: not watchdog_answered,
    }
    limits = RequestLimits(app)
    if watchdog_answered:
        with pytest.raises(ConnectionAbortedError):  # the server then writes nothing
            limits(environ, lambda status, headers, exc_info=None: started.append(status))
        assert started == []
    else:
        body = b"".join(
            limits(environ, lambda status, headers, exc_info=None: started.append(status))
        )
        assert started and started[0].startswith("408")
        assert b"did not arrive in time" in body
    assert calls == []


def test_draining_a_socket_that_timed_out_stops_quietly() -> None:
    # after the handler's own 408 for a slow body the socket has timed out; when the rest of
    # the body arrives just then, the drain before the close must not crash (CI, pandas 2.2)
    ours, theirs = socket.socketpair()
    ours.settimeout(0.05)
    with ours, theirs, ours.makefile("rb") as rfile:
        with pytest.raises(TimeoutError):
            rfile.read1(1)
        theirs.sendall(b"the rest of the body")
        handler = type("Handler", (), {"connection": ours, "rfile": rfile})()
        server._Handler._drain(handler)  # type: ignore[arg-type]
