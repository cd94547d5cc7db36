"""The overall deadline of a request: one instant that connecting, waiting and the body share.

``timeout`` bounds each socket operation, so a server that sends one byte every few seconds
would hold a call forever. A ``Client`` therefore also gives every request (and every reader
call) a deadline, a ``time.monotonic()`` instant. ``DeadlineAdapter``, mounted on the sessions a
client builds, enforces it while the response streams in: it shortens each socket timeout to
the time left and reads the body in pieces as they arrive (``read1``), checking the clock
between pieces; past the deadline the connection is dropped and ``DeadlineExceeded`` raised.
The status line and headers are read inside ``http.client``, where no clock is checked: the
adapter's connections arm a :class:`~.watchdog.SocketGuard` when they start waiting for the
response, which shuts their socket down at the deadline (a server dripping its headers is cut
off there too), until the body is read.

The instant travels in a context variable that the client sets around each send (``until``),
so requests-cache and requests need not know about it.
"""

from __future__ import annotations

import contextlib
import contextvars
import time
from collections.abc import Iterator
from typing import Any

import requests
from requests.adapters import HTTPAdapter
from urllib3 import PoolManager
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool
from urllib3.exceptions import DecodeError, ProtocolError, ReadTimeoutError

from upstack_pandas._transport.watchdog import SocketGuard

__all__ = [
    "DeadlineAdapter",
    "DeadlineExceeded",
    "current",
    "is_enforced",
    "remaining",
    "until",
]

_until: contextvars.ContextVar[float | None] = contextvars.ContextVar(
    "upstack_pandas_deadline", default=None
)
_PIECE = 64 * 1024
#: The guard of the request being sent in this context (set by ``DeadlineAdapter.send``).
_guard: contextvars.ContextVar[SocketGuard | None] = contextvars.ContextVar(
    "upstack_pandas_socket_guard", default=None
)


class DeadlineExceeded(requests.exceptions.Timeout):
    """The request's overall deadline passed (while connecting, waiting or reading the body)."""


@contextlib.contextmanager
def until(instant: float | None) -> Iterator[None]:
    """Make ``instant`` (``time.monotonic()`` seconds) the deadline of requests sent inside."""
    token = _until.set(instant)
    try:
        yield
    finally:
        _until.reset(token)


def current() -> float | None:
    """The deadline in force (a ``time.monotonic()`` instant), or None."""
    return _until.get()


def remaining(instant: float | None) -> float:
    """Seconds left until ``instant`` (``inf`` for None; never negative)."""
    if instant is None:
        return float("inf")
    return max(0.0, instant - time.monotonic())


def is_enforced(session: requests.Session, url: str) -> bool:
    """Whether ``session`` sends ``url`` through a ``DeadlineAdapter`` (the client's own do)."""
    try:
        return isinstance(session.get_adapter(url), DeadlineAdapter)
    except requests.exceptions.InvalidSchema:
        return False


def _shorten(timeout: Any, left: float) -> Any:
    """A requests timeout no longer than ``left`` seconds per socket operation."""
    if isinstance(timeout, tuple):
        return tuple(left if part is None else min(part, left) for part in timeout)
    return left if timeout is None else min(timeout, left)


class _ArmsTheGuard:
    """Arms the request's guard (if any) with the socket before waiting for the response."""

    sock: Any

    def getresponse(self, *args: Any, **kwargs: Any) -> Any:
        guard = _guard.get()
        if guard is not None:
            guard.arm(self.sock)
        return super().getresponse(*args, **kwargs)  # type: ignore[misc]


class _GuardedHTTPConnection(_ArmsTheGuard, HTTPConnection):
    """urllib3's HTTP connection, arming the guard (:class:`_ArmsTheGuard`)."""


class _GuardedHTTPSConnection(_ArmsTheGuard, HTTPSConnection):
    """urllib3's HTTPS connection, arming the guard (:class:`_ArmsTheGuard`)."""


class _GuardedHTTPPool(HTTPConnectionPool):
    ConnectionCls = _GuardedHTTPConnection


class _GuardedHTTPSPool(HTTPSConnectionPool):
    ConnectionCls = _GuardedHTTPSConnection


_GUARDED_POOLS = {"http": _GuardedHTTPPool, "https": _GuardedHTTPSPool}


def _guarded(manager: PoolManager) -> PoolManager:
    """``manager`` with the guarded pools, if it uses urllib3's own (a SOCKS proxy's are kept)."""
    pools = manager.pool_classes_by_scheme
    if pools.get("http") is HTTPConnectionPool and pools.get("https") is HTTPSConnectionPool:
        manager.pool_classes_by_scheme = _GUARDED_POOLS  # type: ignore[assignment]
    return manager


class DeadlineAdapter(HTTPAdapter):
    """An ``HTTPAdapter`` that enforces the deadline in force until the body has arrived."""

    def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
        super().init_poolmanager(*args, **kwargs)
        _guarded(self.poolmanager)

    def proxy_manager_for(self, proxy: str, **proxy_kwargs: Any) -> PoolManager:
        return _guarded(super().proxy_manager_for(proxy, **proxy_kwargs))

    def send(  # type: ignore[override]
        self,
        request: requests.PreparedRequest,
        stream: bool = False,
        timeout: Any = None,
        verify: bool | str = True,
        cert: Any = None,
        proxies: Any = None,
    ) -> requests.Response:
        instant = _until.get()
        if instant is None:
            return super().send(request, stream, timeout, verify, cert, proxies)
        left = remaining(instant)
        if left <= 0:
            raise DeadlineExceeded("the deadline passed before the request was sent")
        guard = SocketGuard(instant)
        token = _guard.set(guard)
        try:
            try:
                response = super().send(
                    request, True, _shorten(timeout, left), verify, cert, proxies
                )
            except Exception:
                if guard.fired:
                    raise DeadlineExceeded(
                        "the deadline passed while waiting for the response's headers"
                    ) from None
                raise
            if not stream:
                _read_body(response, instant, guard)
            return response
        finally:
            guard.disarm()
            _guard.reset(token)


def _read_body(response: requests.Response, instant: float, guard: SocketGuard) -> None:
    """Read the whole body piece by piece, giving up at ``instant`` (or when ``guard`` fires)."""
    raw = response.raw
    pieces: list[bytes] = []

    def passed() -> DeadlineExceeded:
        return DeadlineExceeded(
            f"the deadline passed while the body was arriving ({sum(map(len, pieces))} bytes so far)"
        )

    try:
        while True:
            if time.monotonic() >= instant:
                raise passed()
            piece = raw.read1(_PIECE, decode_content=True)
            if not piece:
                break
            pieces.append(piece)
        if guard.fired:  # cut off: what arrived may be short
            raise passed()
    except DeadlineExceeded:
        raw.close()  # drop the connection: the rest of the body is not wanted
        raise
    except ReadTimeoutError:
        raw.close()
        if guard.fired:
            raise passed() from None
        raise requests.exceptions.ReadTimeout("the body stopped arriving (read timeout)") from None
    except DecodeError as exc:
        raw.close()
        if guard.fired:
            raise passed() from None
        raise requests.exceptions.ContentDecodingError(
            f"the body cannot be decoded: {exc}"
        ) from None
    except (ProtocolError, OSError) as exc:
        raw.close()
        if guard.fired:
            raise passed() from None
        raise requests.exceptions.ChunkedEncodingError(f"the body broke off: {exc}") from None
    response._content = b"".join(pieces)
    response._content_consumed = True  # type: ignore[attr-defined]
    raw.release_conn()
