"""Fault injection for client tests: error statuses, latency, drops, broken bodies.

A :class:`Fault` targets one API path (``/db-mgmt/api/query``) or every path (``"*"``),
optionally only the requests of one pixel (``x-pixel-id``), for the next ``count`` matching requests or until cleared. :class:`FaultMiddleware` wraps the API
app and applies them; the control endpoints (``/_emulator/faults``) and ``Emulator.inject``
feed the same :class:`FaultInjector`.

Kinds
-----
``status``
    An error response: ``status`` (default 500) with the contract's error body; 429 carries
    ``Retry-After`` (``retryAfter``, default 1), other statuses only when ``retryAfter`` is set.
``latency``
    Waits ``latencyMs`` and then answers normally (latencies of matching faults add up).
``drop``
    Closes the connection without sending a response.
``malformed``
    A 200 whose JSON body is cut off mid-way.
``empty``
    A 200 with an empty body.

When several faults match a request, every matching ``latency`` fault applies and the first
other fault (in the order added) answers; each consumes one of its ``count``.
"""

from __future__ import annotations

import contextlib
import socket
import threading
import time
import uuid
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any, Literal, get_args

from werkzeug.http import HTTP_STATUS_CODES
from werkzeug.wrappers import Response

from upstack_pandas.emulator.engine.api_errors import ApiError
from upstack_pandas.emulator.http.wire import REQUEST_ID_HEADER, error_response, new_request_id

__all__ = ["Fault", "FaultInjector", "FaultKind", "FaultMiddleware"]

FaultKind = Literal["status", "latency", "drop", "malformed", "empty"]
_KINDS: tuple[str, ...] = get_args(FaultKind)
_MESSAGES = {
    429: "Rate limit exceeded",
    500: "Internal server error",
    502: "Bad gateway",
    503: "Service unavailable",
    504: "Gateway timeout",
}
_TRUNCATED = b'{"results": [{"granularity": "day", "data": {"primary": [{"dt": "2026-'

StartResponse = Callable[..., Any]
WSGIApp = Callable[[dict[str, Any], StartResponse], Iterable[bytes]]


@dataclass(frozen=True)
class Fault:
    """One injected fault (see the module docstring for the kinds).

    Parameters
    ----------
    kind : {"status", "latency", "drop", "malformed", "empty"}
    path : str
        An API path, or ``"*"`` for every API path (control endpoints are never faulted).
    status : int
        The status of a ``status`` fault (400–599).
    retry_after : int, optional
        ``Retry-After`` seconds (429 defaults to 1).
    latency_ms : int
        The wait of a ``latency`` fault.
    count : int, optional
        How many matching requests it affects; None = until cleared.
    pixel_id : str, optional
        Only requests whose ``x-pixel-id`` header is this pixel (default: every pixel).
    id : str
        Assigned when created; shown by ``GET /_emulator/faults``.
    """

    kind: FaultKind
    path: str = "*"
    status: int = 500
    retry_after: int | None = None
    latency_ms: int = 0
    count: int | None = None
    pixel_id: str | None = None
    id: str = field(default_factory=lambda: uuid.uuid4().hex[:12])

    def __post_init__(self) -> None:
        if self.kind not in _KINDS:
            raise ValueError(f"unknown fault kind {self.kind!r}; expected one of {_KINDS}")
        if not 400 <= self.status <= 599:
            raise ValueError(f"fault status must be 400-599, not {self.status}")
        if self.count is not None and self.count < 1:
            raise ValueError("fault count must be ≥ 1 (omit it for 'until cleared')")
        if self.latency_ms < 0 or (self.retry_after is not None and self.retry_after < 0):
            raise ValueError("latency_ms and retry_after must be ≥ 0")

    @classmethod
    def from_json(cls, body: Mapping[str, Any]) -> Fault:
        """Build a fault from a validated ``POST /_emulator/faults`` body (camelCase)."""
        return cls(
            kind=body["kind"],
            path=body.get("path", "*"),
            status=body.get("status", 500),
            retry_after=body.get("retryAfter"),
            latency_ms=body.get("latencyMs", 0),
            count=body.get("count"),
            pixel_id=body.get("pixelId"),
        )

    def to_json(self) -> dict[str, Any]:
        """Return the fault as the control endpoints show it (camelCase)."""
        return {
            "id": self.id,
            "kind": self.kind,
            "path": self.path,
            "status": self.status,
            "retryAfter": self.retry_after,
            "latencyMs": self.latency_ms,
            "count": self.count,
            "pixelId": self.pixel_id,
        }

    def matches(self, path: str, pixel_id: str | None = None) -> bool:
        """Return whether the fault applies to a request for ``path`` (and ``pixel_id``)."""
        return self.path in ("*", path) and self.pixel_id in (None, pixel_id)


class FaultInjector:
    """The active faults, shared by the middleware, the control endpoints and the Python API.

    Thread-safe: counts are consumed under a lock, so ``count=3`` affects exactly three
    requests however many arrive at once.
    """

    def __init__(self) -> None:
        self._faults: list[Fault] = []
        self._lock = threading.Lock()

    def add(self, fault: Fault) -> Fault:
        """Activate ``fault`` and return it."""
        with self._lock:
            self._faults.append(fault)
        return fault

    def clear(self) -> int:
        """Remove every fault; return how many were active."""
        with self._lock:
            count, self._faults = len(self._faults), []
        return count

    def active(self) -> list[Fault]:
        """Return the active faults (``count`` = what is left of it)."""
        with self._lock:
            return list(self._faults)

    def take(self, path: str, pixel_id: str | None = None) -> list[Fault]:
        """Return the faults a request for ``path`` (of ``pixel_id``) gets, consuming counts."""
        chosen: list[Fault] = []
        with self._lock:
            terminal_taken = False
            kept: list[Fault] = []
            for fault in self._faults:
                applies = fault.matches(path, pixel_id) and (
                    fault.kind == "latency" or not terminal_taken
                )
                if applies:
                    chosen.append(fault)
                    terminal_taken = terminal_taken or fault.kind != "latency"
                    if fault.count is not None:
                        if fault.count == 1:
                            continue
                        fault = replace(fault, count=fault.count - 1)
                kept.append(fault)
            self._faults = kept
        return chosen


class FaultMiddleware:
    """WSGI middleware applying the injector's faults (and a base latency) to an API app.

    Parameters
    ----------
    app : WSGI application
        The API app.
    injector : FaultInjector
    latency_ms : int
        Latency added to every request (``Emulator(latency_ms=...)``).
    sleep : callable
        ``time.sleep`` (replaceable in tests).
    """

    def __init__(
        self,
        app: WSGIApp,
        injector: FaultInjector,
        *,
        latency_ms: int = 0,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.app = app
        self.injector = injector
        self.latency_ms = latency_ms
        self._sleep = sleep

    def __call__(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        faults = self.injector.take(environ.get("PATH_INFO", ""), environ.get("HTTP_X_PIXEL_ID"))
        delay = self.latency_ms + sum(f.latency_ms for f in faults if f.kind == "latency")
        if delay:
            self._sleep(delay / 1000)
        fault = next((f for f in faults if f.kind != "latency"), None)
        if fault is None:
            return self.app(environ, start_response)
        if fault.kind == "drop":
            _drop(environ)
        return _fault_response(fault)(environ, start_response)


def _drop(environ: Mapping[str, Any]) -> None:
    """Close the client's connection and abort the request without a response."""
    sock = environ.get("werkzeug.socket")
    if isinstance(sock, socket.socket):
        with contextlib.suppress(OSError):  # the client may already have left
            sock.shutdown(socket.SHUT_RDWR)
    # werkzeug's request handler treats ConnectionError as "client went away": no response.
    raise ConnectionAbortedError("connection dropped by an injected fault")


def _fault_response(fault: Fault) -> Response:
    if fault.kind == "status":
        retry_after = fault.retry_after
        if retry_after is None and fault.status == 429:
            retry_after = 1
        message = _MESSAGES.get(fault.status) or HTTP_STATUS_CODES.get(fault.status, "Error")
        headers = {"Retry-After": str(retry_after)} if retry_after is not None else {}
        return error_response(ApiError(fault.status, message, headers=headers))
    body = _TRUNCATED if fault.kind == "malformed" else b""
    response = Response(body, status=200, mimetype="application/json")
    response.headers[REQUEST_ID_HEADER] = new_request_id()
    return response
