"""Scripting ``pytest-httpserver`` (the suite's one double for raw HTTP) and a fake clock.

The ``httpserver`` fixture (see conftest.py: threaded, on 127.0.0.1, 404 for unscripted routes)
answers what a test scripts; these helpers build its replies and read what it received:

    answer(httpserver, "GET", "/x", reply(503, headers={"Retry-After": "2"}), reply())
    httpserver.expect_request("/y", method="GET").respond_with_response(reply(body={...}))
    calls(httpserver, "GET", "/x")  # the werkzeug requests it received, in order

End-to-end faults against the documented endpoints use the emulator's own fault injection
(``Emulator.inject``) instead; this is for what a real server must never do on purpose (replies
of any status, body or header, dropped connections, stalls) at the transport level.
"""

from __future__ import annotations

import json
import socket
import threading
from collections.abc import Callable
from typing import Any

from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

Handler = Callable[[Request], Response]


def reply(status: int = 200, body: Any = None, headers: dict[str, str] | None = None) -> Response:
    """A response: ``body`` as bytes or str verbatim, anything else as JSON (default ``{}``)."""
    if isinstance(body, bytes | str):
        data = body.encode() if isinstance(body, str) else body
    else:
        data = json.dumps({} if body is None else body).encode()
    return Response(
        data, status=status, headers={"Content-Type": "application/json", **(headers or {})}
    )


def drop(request: Request) -> Response:
    """Close the connection without answering (werkzeug treats ConnectionError as a hang-up)."""
    sock = request.environ.get("werkzeug.socket")
    if isinstance(sock, socket.socket):
        sock.shutdown(socket.SHUT_RDWR)
    raise ConnectionAbortedError("connection dropped on purpose")


def _logged(server: HTTPServer, handler: Handler) -> Handler:
    # pytest-httpserver logs a request once its handler returned; log a dropped one too.
    def run(request: Request) -> Response:
        try:
            return handler(request)
        except ConnectionError:
            server.log.append((request, None))  # type: ignore[arg-type]
            raise

    return run


def answer(server: HTTPServer, method: str, path: str, *replies: Response | Handler) -> None:
    """Answer the next requests to ``method path`` with these replies (or handlers), in order."""
    for item in replies:
        handler = server.expect_oneshot_request(path, method=method)
        if isinstance(item, Response):
            handler.respond_with_response(item)
        else:
            handler.respond_with_handler(_logged(server, item))


def always(server: HTTPServer, method: str, path: str, item: Response | Handler) -> None:
    """Answer every request to ``method path`` (after any one-shot replies) with ``item``.

    A later ``always`` for the same route wins over an earlier one (pytest-httpserver tries its
    permanent handlers in order, so the new one goes first).
    """
    handler = server.expect_request(path, method=method)
    if isinstance(item, Response):
        handler.respond_with_response(item)
    else:
        handler.respond_with_handler(_logged(server, item))
    server.handlers.insert(0, server.handlers.pop())


def calls(server: HTTPServer, method: str | None = None, path: str | None = None) -> list[Request]:
    """The requests the server received, optionally only those of one method and path."""
    return [
        request
        for request, _ in server.log
        if (method is None or request.method == method.upper())
        and (path is None or request.path == path)
    ]


def base_url(server: HTTPServer) -> str:
    """The server's base URL, without a trailing slash."""
    return server.url_for("/").rstrip("/")


class FakeClock:
    """A monotonic clock and sleep that never really sleep; records every sleep."""

    def __init__(self) -> None:
        self.now = 1000.0
        self.sleeps: list[float] = []
        self._lock = threading.Lock()

    def clock(self) -> float:
        with self._lock:
            return self.now

    def sleep(self, seconds: float) -> None:
        with self._lock:
            self.sleeps.append(seconds)
            self.now += seconds
