"""A tiny threaded HTTP server on 127.0.0.1 for transport tests.

Scriptable: queue replies per route (consumed in order), set a standing reply, or route to a
function. Every request is recorded (method, path with query, headers, body).

    with TestServer() as server:
        server.queue("POST", "/db-mgmt/api/query", Reply(429, headers={"Retry-After": "2"}), Reply())
        server.always("GET", "/db-mgmt/api/measures", Reply(body={"measures": []}))
        ... server.url ... server.requests[0].headers["x-api-key"]
"""

from __future__ import annotations

import itertools
import json
import threading
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass
class Reply:
    """One scripted response. ``body`` may be bytes, str, or anything JSON-serialisable."""

    status: int = 200
    body: Any = field(default_factory=dict)
    headers: dict[str, str] = field(default_factory=dict)
    drop: bool = False  # close the connection without answering

    def encoded(self) -> bytes:
        if isinstance(self.body, bytes):
            return self.body
        if isinstance(self.body, str):
            return self.body.encode()
        return json.dumps(self.body).encode()


@dataclass
class Recorded:
    """A request as the server saw it."""

    method: str
    path: str
    headers: dict[str, str]  # lower-cased names
    raw_header_names: list[str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


Handler = Callable[[Recorded], Reply]


class _QuietServer(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request: Any, client_address: Any) -> None:
        import sys

        if not isinstance(sys.exc_info()[1], ConnectionError):  # clients that hung up are fine
            super().handle_error(request, client_address)


class TestServer:
    """Threaded HTTP/1.1 server with scripted replies; use as a context manager."""

    __test__ = False  # not a pytest test class

    def __init__(self) -> None:
        self.requests: list[Recorded] = []
        self._queued: dict[tuple[str, str], deque[Reply]] = {}
        self._standing: dict[tuple[str, str], Reply | Handler] = {}
        self._lock = threading.Lock()
        self._ids = itertools.count(1)
        self.fallback = Reply(404, {"message": "no such route in the test server"})
        self._httpd = _QuietServer(("127.0.0.1", 0), self._handler_class())
        self._thread = threading.Thread(
            target=self._httpd.serve_forever, kwargs={"poll_interval": 0.01}, daemon=True
        )

    @property
    def url(self) -> str:
        host, port = self._httpd.server_address[:2]
        return f"http://{host!s}:{port}"

    def queue(self, method: str, path: str, *replies: Reply) -> None:
        """Answer the next requests to this route with these replies, in order."""
        with self._lock:
            self._queued.setdefault((method.upper(), path), deque()).extend(replies)

    def always(self, method: str, path: str, reply: Reply | Handler) -> None:
        """Answer this route with ``reply`` (or ``reply(request)``) once its queue is empty."""
        with self._lock:
            self._standing[(method.upper(), path)] = reply

    def calls(self, method: str | None = None, path: str | None = None) -> list[Recorded]:
        """Recorded requests, optionally filtered by method and path (without query)."""
        with self._lock:
            return [
                r
                for r in self.requests
                if (method is None or r.method == method.upper())
                and (path is None or r.path.split("?", 1)[0] == path)
            ]

    def _reply_for(self, request: Recorded) -> Reply:
        key = (request.method, request.path.split("?", 1)[0])
        with self._lock:
            self.requests.append(request)
            queued = self._queued.get(key)
            if queued:
                return queued.popleft()
            standing = self._standing.get(key, self.fallback)
        return standing(request) if callable(standing) else standing

    def _handler_class(self) -> type[BaseHTTPRequestHandler]:
        server = self

        class _Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            disable_nagle_algorithm = True  # headers and body are two writes: avoid 40 ms stalls

            def _handle(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                recorded = Recorded(
                    method=self.command,
                    path=self.path,
                    headers={k.lower(): v for k, v in self.headers.items()},
                    raw_header_names=list(self.headers.keys()),
                    body=body,
                )
                reply = server._reply_for(recorded)
                if reply.drop:
                    self.close_connection = True
                    return
                payload = reply.encoded()
                headers = {
                    "Content-Type": "application/json",
                    "x-request-id": f"req-{next(server._ids)}",
                    **reply.headers,
                }
                self.send_response(reply.status)
                for name, value in headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            do_GET = do_POST = do_PATCH = do_DELETE = do_PUT = _handle

            def log_message(self, format: str, *args: Any) -> None:
                pass

        return _Handler

    def __enter__(self) -> TestServer:
        self._thread.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()
        self._thread.join(timeout=5)


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
