"""``Emulator``: the API, its control endpoints and fault injection on a local threaded server.

::

    with Emulator(now="2026-11-26T12:00:00Z") as emu:
        client = emu.client()              # upstack_pandas.Client pointed at emu.url
        emu.inject("status", status=429, count=1)

The server binds ``127.0.0.1`` on a free port (``port=0``) and runs werkzeug's threaded
server in a background thread; ``start()`` returns once it accepts connections. Each pixel
gets its own engine (``Backend``), built on first use: the first pixel with ``seed`` itself,
the others with a seed derived from ``seed`` and the pixel id.

Connections are persistent (HTTP/1.1 keep-alive, decision D102): a client's pool sends its
requests on one connection. Every request has ``request_timeout`` seconds (default
:data:`REQUEST_TIMEOUT_S`) to send itself whole (line, headers and body), counted from the
connection's acceptance for the first request and from the first byte of each later one: past
that it gets a 408 and the connection is closed, so a slow or half-sent request never holds a
server thread. The same number is the connection's socket timeout (a peer silent that long
while the response is written is dropped too). A kept-alive connection waiting longer than
``idle_timeout`` (default :data:`IDLE_TIMEOUT_S`) for its next request is closed quietly. Body size,
encodings and JSON depth are limited by :mod:`upstack_pandas.emulator.http.limits`. At most
``max_connections`` (default :data:`MAX_CONNECTIONS`) connections are served at once: one more
is answered 503 with ``Retry-After: 1`` (decision D108), so a flood of connections never grows
the server's threads without bound.
"""

from __future__ import annotations

import contextlib
import dataclasses
import functools
import hashlib
import io
import logging
import os
import selectors
import shutil
import socket
import tempfile
import threading
import time
import weakref
from collections.abc import Callable, Iterable, Sequence
from datetime import UTC, date, datetime
from email.utils import format_datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeAlias, cast

from werkzeug.exceptions import InternalServerError
from werkzeug.serving import ThreadedWSGIServer, WSGIRequestHandler

from upstack_pandas._version import __version__
from upstack_pandas.emulator.engine.dashboards import DashboardStore
from upstack_pandas.emulator.engine.time import to_utc
from upstack_pandas.emulator.http.auth import ALL_SCOPES, KeyRing, KeySpec
from upstack_pandas.emulator.http.control import PREFIX, ControlApp
from upstack_pandas.emulator.http.faults import Fault, FaultInjector, FaultKind, FaultMiddleware
from upstack_pandas.emulator.http.limits import BODY_DONE_KEY, BODY_READ_KEY, RequestLimits
from upstack_pandas.emulator.http.routes import ApiApp, ApiServices
from upstack_pandas.emulator.http.validation import RequestValidator

if TYPE_CHECKING:  # pragma: no cover
    from upstack_pandas._transport.client import Client
    from upstack_pandas.emulator.engine.backend import Backend

__all__ = [
    "DEMO_PIXEL_ID",
    "IDLE_TIMEOUT_S",
    "MAX_CONNECTIONS",
    "REQUEST_TIMEOUT_S",
    "SECOND_PIXEL_ID",
    "BackendPool",
    "Emulator",
    "default_keys",
    "derive_key",
    "pixel_ids",
]

logger = logging.getLogger("upstack_pandas.emulator")

#: The demo pixel (the docs' examples use ``5f1e6a4f-...``).
DEMO_PIXEL_ID = "5f1e6a4f-2d0b-4c7e-9a51-6f1c0b2e7d01"
#: A second pixel, for isolation tests.
SECOND_PIXEL_ID = "8c2d9b7e-41f3-4a6d-b0e5-2f9a7c3d1e02"
#: Seconds a connection has to send its whole request, and its socket timeout (D72).
REQUEST_TIMEOUT_S = 10.0
#: Seconds a kept-alive connection may wait for its next request before it is closed (D102).
IDLE_TIMEOUT_S = 5.0
#: Connections served at once (D108); one more is answered 503 with ``Retry-After``.
MAX_CONNECTIONS = 64
#: Seconds a refused connection has to send its request before the 503 is written anyway.
_REFUSE_READ_S = 1.0

_TIMEOUT_BODY = b'{"message":"Request timeout: the request was not sent in time"}'
_TIMEOUT_RESPONSE = (
    b"HTTP/1.1 408 Request Timeout\r\nContent-Type: application/json\r\n"
    + f"Content-Length: {len(_TIMEOUT_BODY)}\r\nConnection: close\r\n\r\n".encode()
    + _TIMEOUT_BODY
)
_BUSY_BODY = b'{"message":"Service busy: too many connections at once; retry after 1 s"}'
_BUSY_RESPONSE = (
    b"HTTP/1.1 503 Service Unavailable\r\nContent-Type: application/json\r\nRetry-After: 1\r\n"
    + f"Content-Length: {len(_BUSY_BODY)}\r\nConnection: close\r\n\r\n".encode()
    + _BUSY_BODY
)


def _refuse(connection: socket.socket) -> None:
    """Answer a connection over the cap with a 503 (D108), after reading what it sends.

    The request is read first (up to the end of its headers, for at most ``_REFUSE_READ_S``)
    so that closing does not reset the connection under the client before it reads the
    answer; nothing of it is served.
    """
    with contextlib.closing(connection):
        try:
            connection.settimeout(_REFUSE_READ_S)
            received = b""
            deadline = time.monotonic() + _REFUSE_READ_S
            while b"\r\n\r\n" not in received and len(received) < 65536:
                connection.settimeout(max(0.01, deadline - time.monotonic()))
                piece = connection.recv(65536)
                if not piece:
                    break
                received += piece
        except OSError:
            pass  # silent or gone: answered all the same
        with contextlib.suppress(OSError):
            connection.sendall(_BUSY_RESPONSE)
            connection.shutdown(socket.SHUT_WR)
            connection.settimeout(_REFUSE_READ_S)
            while connection.recv(65536):  # the rest of a body: read, so no reset is sent
                pass


def derive_key(name: str) -> str:
    """Return the emulator's deterministic key for ``name`` (``upstack_`` + 40 hex digits)."""
    return "upstack_" + hashlib.sha256(f"upstack-pandas-emulator:{name}".encode()).hexdigest()[:40]


def pixel_ids(count: int) -> list[str]:
    """Return ``count`` deterministic pixel ids: the demo pixel, the second one, then derived.

    Parameters
    ----------
    count : int
        How many (at least 1).

    Returns
    -------
    list of str
        UUID-shaped ids; the same ``count`` always gives the same list.
    """
    if isinstance(count, bool) or not isinstance(count, int) or count < 1:
        raise ValueError(f"the pixel count must be a positive integer, not {count!r}")
    ids = [DEMO_PIXEL_ID, SECOND_PIXEL_ID][:count]
    for i in range(len(ids), count):
        h = hashlib.sha256(f"upstack-pandas-emulator-pixel:{i}".encode()).hexdigest()
        ids.append(f"{h[:8]}-{h[8:12]}-4{h[13:16]}-a{h[17:20]}-{h[20:32]}")
    return ids


def default_keys(pixel_ids: Sequence[str]) -> list[KeySpec]:
    """Return the default keys: a full-scope ``demo`` key and restricted ones for tests.

    ``demo`` (all scopes, first pixel), ``other_pixel`` (all scopes, second pixel, when there
    is one), ``pixel3``, ``pixel4``... (all scopes, one per further pixel), ``analytics_read``, ``dashboards_read``, ``dashboards_write``, ``measures_only``
    (no scope), ``legacy_db_query``, ``legacy_attribution_query``, ``revoked`` and ``expired``.
    """
    first = (pixel_ids[0],)
    scoped: dict[str, tuple[str, ...]] = {
        "demo": ALL_SCOPES,
        "analytics_read": ("analytics:read",),
        "dashboards_read": ("dashboards:read",),
        "dashboards_write": ("dashboards:write",),
        "measures_only": (),
        "account_write": ("account:write",),
        "costs_read": ("costs:read",),
        "costs_write": ("costs:write",),
        "events_write": ("events:write",),
        "legacy_db_query": ("db_query",),
        "legacy_attribution_query": ("attribution_query",),
    }
    keys = [KeySpec(derive_key(n), first, scopes, name=n) for n, scopes in scoped.items()]
    if len(pixel_ids) > 1:
        keys.append(KeySpec(derive_key("other_pixel"), (pixel_ids[1],), name="other_pixel"))
    for i, pixel in enumerate(pixel_ids[2:], start=3):
        keys.append(KeySpec(derive_key(f"pixel{i}"), (pixel,), name=f"pixel{i}"))
    keys.append(KeySpec(derive_key("revoked"), first, name="revoked", revoked=True))
    expired_at = datetime(2020, 1, 1, tzinfo=UTC)
    keys.append(KeySpec(derive_key("expired"), first, name="expired", expires_at=expired_at))
    return keys


#: What ``data_dir=`` takes: no directory, one for every pixel, or one per pixel.
DataDirs: TypeAlias = str | os.PathLike[str] | Sequence[str | os.PathLike[str]] | None


def data_dirs_by_pixel(pixel_ids: Sequence[str], data_dir: DataDirs) -> dict[str, Path]:
    """Map each pixel to the directory it serves (decision D86).

    Parameters
    ----------
    pixel_ids : sequence of str
        The emulator's pixels, in order.
    data_dir : path or sequence of paths, optional
        ``None`` (generated data), one directory (every pixel serves the same files) or a
        list/tuple with one directory per pixel, in pixel order.

    Returns
    -------
    dict of str to pathlib.Path
        Pixel id to directory; empty for generated data.

    Raises
    ------
    ValueError
        When a list of directories does not have one per pixel.
    """
    if data_dir is None:
        return {}
    if isinstance(data_dir, (str, os.PathLike)):
        return dict.fromkeys(pixel_ids, Path(data_dir))
    dirs = [Path(d) for d in data_dir]
    if len(dirs) != len(pixel_ids):
        raise ValueError(
            f"data_dir: {len(dirs)} directories for {len(pixel_ids)} pixels; give one "
            "directory (served by every pixel) or one per pixel"
        )
    return dict(zip(pixel_ids, dirs, strict=True))


class BackendPool:
    """One engine per pixel, built on first use (thread-safe, each built once).

    Parameters
    ----------
    pixel_ids : sequence of str
        The known pixels; the first gets ``seed`` itself.
    seed, now
        Passed to ``Backend``.
    data_dir : path or sequence of paths, optional
        One directory served by every pixel, or one per pixel (in pixel order; decision D86).
    factory : callable, optional
        Builds an engine from ``seed=``, ``now=``, ``data_dir=`` (default: ``Backend``).
    """

    def __init__(
        self,
        pixel_ids: Sequence[str],
        *,
        seed: int,
        now: datetime | date | str | None,
        data_dir: DataDirs,
        factory: Callable[..., Backend] | None = None,
        scale: float = 1.0,
    ) -> None:
        self.pixel_ids = tuple(pixel_ids)
        self._seed, self._now = seed, now
        self._data_dirs = data_dirs_by_pixel(self.pixel_ids, data_dir)
        self._scale = scale
        self._factory = factory
        self._built: dict[str, Backend] = {}
        self._locks = {pixel: threading.Lock() for pixel in self.pixel_ids}

    def seed_for(self, pixel_id: str) -> int:
        """Return the pixel's seed: ``seed`` for the first pixel, else derived from both."""
        if pixel_id == self.pixel_ids[0]:
            return self._seed
        digest = hashlib.sha256(f"{self._seed}:{pixel_id}".encode()).digest()
        return int.from_bytes(digest[:4], "big")

    def data_dir_for(self, pixel_id: str) -> Path | None:
        """Return the directory whose files ``pixel_id`` serves (``None``: generated data)."""
        return self._data_dirs.get(pixel_id)

    def built(self) -> list[str]:
        """Return the pixels whose engine exists."""
        return list(self._built)

    def get(self, pixel_id: str) -> Backend:
        """Return the pixel's engine, building it on first use."""
        found = self._built.get(pixel_id)
        if found is not None:
            return found
        if pixel_id not in self._locks:
            raise KeyError(f"unknown pixel {pixel_id!r}; known: {', '.join(self.pixel_ids)}")
        with self._locks[pixel_id]:
            if pixel_id not in self._built:
                factory = self._factory
                if factory is None:
                    from upstack_pandas.emulator.engine.backend import Backend

                    factory = Backend
                extra = {"scale": self._scale} if self._scale != 1.0 else {}
                self._built[pixel_id] = factory(
                    seed=self.seed_for(pixel_id),
                    now=self._now,
                    data_dir=self._data_dirs.get(pixel_id),
                    **extra,
                )
                logger.info("built the engine of pixel %s", pixel_id)
            return self._built[pixel_id]


class _Deadlines:
    """One watchdog thread closing the connections whose request is not read in time.

    A connection is armed when accepted and released once its request has been read (by
    :class:`~upstack_pandas.emulator.http.limits.RequestLimits`) or its handler ends; one
    still armed at its deadline gets a 408 and is shut down, which unblocks its thread.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._armed: dict[socket.socket, float] = {}
        #: connections the watchdog answered (408) and cut: their handler must write nothing
        self._answered: set[socket.socket] = set()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._watch, name="upstack-emulator-deadlines")
        self._thread.daemon = True

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout=5)

    def arm(self, connection: socket.socket, seconds: float) -> None:
        with self._lock:
            self._armed[connection] = time.monotonic() + seconds

    def release(self, connection: socket.socket) -> bool:
        """Disarm ``connection``; False when the watchdog already answered it (write nothing).

        The handler's own read timeout and the watchdog can fire at the same moment: whichever
        takes the lock first answers the request, the other stays silent, so a client never
        reads two answers (D72).
        """
        with self._lock:
            self._armed.pop(connection, None)
            return connection not in self._answered

    def forget(self, connection: socket.socket) -> None:
        """The handler of ``connection`` is done: drop everything kept about it."""
        with self._lock:
            self._armed.pop(connection, None)
            self._answered.discard(connection)

    def _watch(self) -> None:
        while not self._stop.wait(0.05):
            now = time.monotonic()
            with self._lock:
                expired = [c for c, deadline in self._armed.items() if deadline <= now]
                for connection in expired:
                    del self._armed[connection]
                    self._answered.add(connection)
            for connection in expired:
                logger.warning("closed a connection whose request was not sent in time")
                with contextlib.suppress(OSError):  # the peer may be gone already
                    connection.send(_TIMEOUT_RESPONSE)
                with contextlib.suppress(OSError):
                    connection.shutdown(socket.SHUT_RDWR)


class _Handler(WSGIRequestHandler):
    """Request handler with a request deadline, logging to ``upstack_pandas.emulator``.

    The request line is logged as plain text (werkzeug's own ``log_request`` wraps it in ANSI
    colour codes whatever the destination); the status code travels in the record as
    ``http_status``, so a terminal handler may colour it (see ``upstack_pandas.cli.emulator``).
    """

    server: _Server
    #: Persistent connections (D102): werkzeug's own handler closes every one.
    protocol_version = "HTTP/1.1"
    #: Small answers on a kept-alive connection go out at once (no delayed-ACK stall).
    disable_nagle_algorithm = True

    def setup(self) -> None:
        super().setup()
        self._requests = 0
        self.server.track(self.connection)
        self.connection.settimeout(self.server.request_timeout)  # per read and write
        self.server.deadlines.arm(self.connection, self.server.request_timeout)

    def handle_one_request(self) -> None:
        """Serve one request; on a kept-alive connection, first wait for it (idle timeout).

        The first request's deadline was armed when the connection was accepted; each later
        one gets its own, armed when its first byte arrives. A connection idle for
        ``idle_timeout`` seconds between requests is closed without an answer (a 408 there
        would be read by the client as the answer to the request it sends next).
        """
        if self._requests and not self._next_request_arrived():
            self.close_connection = True
            return
        self._requests += 1
        super().handle_one_request()

    def _next_request_arrived(self) -> bool:
        self.connection.settimeout(self.server.idle_timeout)
        try:
            first = cast(io.BufferedReader, self.rfile).peek(1)  # buffered bytes count too
        except OSError:  # idle too long (TimeoutError), or the peer or stop() cut it
            return False
        if not first:  # the client closed its end
            return False
        self.connection.settimeout(self.server.request_timeout)
        self.server.deadlines.arm(self.connection, self.server.request_timeout)
        return True

    def run_wsgi(self) -> None:
        """Run the app for one request, keeping the connection open when that is safe.

        werkzeug's own ``run_wsgi`` always answers ``Connection: close`` and then reads and
        discards whatever the peer sends next, which on a kept-alive connection would swallow
        the next request. Here the connection stays open unless the client asked to close it,
        the request's body was not read whole (``BODY_DONE_KEY``, set by ``RequestLimits``),
        the app answers ``Connection: close`` (408, 413) or the app fails; only a connection
        being closed is drained, so its client sees the answer (a 413) rather than a reset.
        """
        if self.headers.get("Expect", "").lower().strip(" \t") == "100-continue":
            self.wfile.write(b"HTTP/1.1 100 Continue\r\n\r\n")
        self.environ = environ = self.make_environ()
        status_set: str | None = None
        headers_set: list[tuple[str, str]] = []
        headers_sent = False
        chunked = False

        def write(data: bytes) -> None:
            nonlocal headers_sent, chunked
            if status_set is None:
                raise AssertionError("write() before start_response")
            if not headers_sent:
                headers_sent = True
                code_text, _, message = status_set.partition(" ")
                code = int(code_text)
                self.send_response(code, message)
                names = set()
                for name, value in headers_set:
                    if name.lower() == "connection":
                        self.close_connection |= value.strip().lower() == "close"
                        continue
                    self.send_header(name, value)
                    names.add(name.lower())
                if not environ.get(BODY_DONE_KEY):
                    self.close_connection = True
                bodiless = environ["REQUEST_METHOD"] == "HEAD" or code < 200 or code in {204, 304}
                if "content-length" not in names and not bodiless:
                    chunked = True
                    self.send_header("Transfer-Encoding", "chunked")
                if self.close_connection:
                    self.send_header("Connection", "close")
                # The head and the first piece in one send: no Nagle wait between them, and
                # no head without its body when the deadline watchdog cuts the connection.
                self._headers_buffer.append(b"\r\n")
                if data and not chunked:
                    self._headers_buffer.append(data)
                    data = b""
                self.flush_headers()
            if data:
                if chunked:
                    self.wfile.write(b"%x\r\n%s\r\n" % (len(data), data))
                else:
                    self.wfile.write(data)
            self.wfile.flush()

        def start_response(
            status: str, headers: list[tuple[str, str]], exc_info: Any = None
        ) -> Callable[[bytes], None]:
            nonlocal status_set, headers_set
            if exc_info and headers_sent:
                raise exc_info[1].with_traceback(exc_info[2])
            status_set, headers_set = status, list(headers)
            return write

        def execute(app: Callable[..., Iterable[bytes]]) -> None:
            body = app(environ, start_response)
            try:
                for data in body:
                    write(data)
                if not headers_sent:
                    write(b"")
                if chunked:
                    self.wfile.write(b"0\r\n\r\n")
            finally:
                if self.close_connection:
                    self._drain()
                close = getattr(body, "close", None)
                if callable(close):
                    close()

        try:
            execute(self.server.app)
        except (ConnectionError, TimeoutError) as exc:
            self.close_connection = True
            self.connection_dropped(exc, environ)
        except Exception:
            self.close_connection = True
            logger.exception("error on request %s", self.requestline)
            if not headers_sent:
                status_set, headers_set = None, []
                with contextlib.suppress(Exception):
                    execute(InternalServerError())

    def _drain(self) -> None:
        """Read and drop what the peer still sends (bounded), as werkzeug does before a close."""
        with selectors.DefaultSelector() as selector:
            selector.register(self.connection, selectors.EVENT_READ)
            total = 0
            for _ in range(1000):
                if not selector.select(timeout=0.01):
                    break
                try:
                    data = self.rfile.read1(10_000_000)
                except OSError:  # the socket already timed out (a 408 for a slow body) or was cut
                    break
                total += len(data)
                if not data or total >= 10_000_000_000:
                    break

    def make_environ(self) -> dict[str, Any]:
        environ = super().make_environ()
        # http.server collapses leading slashes of the target; keep what the client sent.
        parts = self.requestline.split()
        if len(parts) >= 2:
            environ["RAW_URI"] = parts[1]
        environ[BODY_READ_KEY] = functools.partial(self.server.deadlines.release, self.connection)
        return environ

    def finish(self) -> None:
        self.server.deadlines.forget(self.connection)
        self.server.untrack(self.connection)
        super().finish()

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        try:
            line = f"{self.command} {self.path} {self.request_version}"
        except AttributeError:  # no path: the request line was bad
            line = self.requestline
        line = line.translate(self._control_char_table)
        logger.info(
            '%s - "%s" %s %s',
            self.address_string(),
            line,
            code,
            size,
            extra={"http_status": str(code)},
        )

    def log(self, type: str, message: str, *args: Any) -> None:
        level = logging.INFO if type == "info" else logging.WARNING
        logger.log(level, "%s - " + message, self.address_string(), *args)

    def date_time_string(self, timestamp: float | None = None) -> str:
        """The ``Date`` header: the emulator's pinned clock when it has one (decision D80)."""
        clock = getattr(self.server, "clock", None)
        if timestamp is None and clock is not None:
            return format_datetime(clock, usegmt=True)
        return super().date_time_string(timestamp)


class _Server(ThreadedWSGIServer):
    clock: datetime | None = None  # the pinned "now" its Date header reports
    request_timeout: float = REQUEST_TIMEOUT_S
    idle_timeout: float = IDLE_TIMEOUT_S
    deadlines: _Deadlines
    #: Connections accepted so far (a kept-alive client makes one for many requests).
    accepted: int = 0

    #: Connections served at once (D108); more are answered 503 (see :func:`_refuse`).
    max_connections: int = MAX_CONNECTIONS
    #: Connections answered 503 so far.
    refused: int = 0

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._open: set[socket.socket] = set()
        self._open_lock = threading.Lock()
        self._serving = 0  # connections with a handler thread
        self._refusing = 0  # connections being answered 503

    def process_request(self, request: Any, client_address: Any) -> None:
        """Serve ``request`` on a thread of its own, or answer 503 when at the cap (D108).

        At most :attr:`max_connections` connections are served at once; as many more are
        answered 503 with ``Retry-After: 1``, each on a short-lived thread, and beyond that
        a connection is closed at once: a flood never grows the threads without bound.
        """
        with self._open_lock:
            serve = self._serving < self.max_connections
            refuse = not serve and self._refusing < self.max_connections
            if serve:
                self._serving += 1
            elif refuse:
                self._refusing += 1
                self.refused += 1
        if serve:
            try:
                super().process_request(request, client_address)
            except BaseException:
                self._done_serving()
                raise
            return
        if not refuse:
            logger.warning("closed a connection: %d are served and as many refused", self._serving)
            self.shutdown_request(request)
            return
        logger.warning("answered 503: %d connections are served at once", self.max_connections)
        threading.Thread(target=self._refuse, args=(request,), daemon=True).start()

    def _refuse(self, connection: socket.socket) -> None:
        try:
            _refuse(connection)
        finally:
            with self._open_lock:
                self._refusing -= 1

    def process_request_thread(self, request: Any, client_address: Any) -> None:
        try:
            super().process_request_thread(request, client_address)
        finally:
            self._done_serving()

    def _done_serving(self) -> None:
        with self._open_lock:
            self._serving -= 1

    def track(self, connection: socket.socket) -> None:
        with self._open_lock:
            self._open.add(connection)
            self.accepted += 1

    def untrack(self, connection: socket.socket) -> None:
        with self._open_lock:
            self._open.discard(connection)

    def close_open_connections(self) -> None:
        """Shut down every open connection (kept-alive ones wait in their idle timeout)."""
        with self._open_lock:
            connections = list(self._open)
        for connection in connections:
            with contextlib.suppress(OSError):
                connection.shutdown(socket.SHUT_RDWR)

    def log(self, type: str, message: str, *args: Any) -> None:
        logger.log(logging.ERROR if type == "error" else logging.INFO, message, *args)


class Emulator:
    """A local Upstack Data API on ``127.0.0.1``, for tests, notebooks and the demo.

    Parameters
    ----------
    seed : int
        Seed of the generated data (same seed and ``now`` → identical data).
    now : datetime, date or str, optional
        The server's clock (default: now); data runs up to it.
    data_dir : path or sequence of paths, optional
        Serve your own data (see ``docs/emulator-data.md``) instead of generated data: one
        directory served by every pixel, or a list with one directory per pixel, in pixel order
        (then ``pixels`` defaults to as many pixels as directories; decision D86).
    port : int
        Port to bind; 0 picks a free one.
    host : str
        Address to bind (default loopback).
    keys : sequence of KeySpec, optional
        Accepted keys (default :func:`default_keys`); ``api_key`` is the one named ``demo``,
        else the first.
    pixels : sequence of str, optional
        Known pixels (default: the demo pixel and a second one); ``pixel_id`` is the first.
    latency_ms : int
        Latency added to every API request.
    persist : path, optional
        SQLite file keeping dashboard views across restarts (default: in memory).
    request_timeout : float
        Seconds a connection has to send its whole request, and its socket timeout
        (default :data:`REQUEST_TIMEOUT_S`); a slower request gets a 408 and is closed.
    scale : float
        Size of the generated shop relative to the default (``16``: about 1.3 million orders
        and 10 million sessions); ignored with ``data_dir``.
    idle_timeout : float
        Seconds a kept-alive connection may wait for its next request (default
        :data:`IDLE_TIMEOUT_S`); then it is closed without an answer (decision D102).
    max_connections : int
        Connections served at once (default :data:`MAX_CONNECTIONS`); one more is answered
        503 with ``Retry-After: 1``, which clients retry (decision D108).
    """

    def __init__(
        self,
        *,
        seed: int = 7,
        now: datetime | date | str | None = None,
        data_dir: DataDirs = None,
        port: int = 0,
        host: str = "127.0.0.1",
        keys: Iterable[KeySpec] | None = None,
        pixels: Sequence[str] | None = None,
        latency_ms: int = 0,
        persist: str | os.PathLike[str] | None = None,
        request_timeout: float = REQUEST_TIMEOUT_S,
        scale: float = 1.0,
        idle_timeout: float = IDLE_TIMEOUT_S,
        max_connections: int = MAX_CONNECTIONS,
    ) -> None:
        if isinstance(max_connections, bool) or not isinstance(max_connections, int):
            raise TypeError(f"max_connections must be an int, not {max_connections!r}")
        if max_connections < 1:
            raise ValueError(f"max_connections must be at least 1, not {max_connections!r}")
        self.max_connections = max_connections
        if not scale > 0:
            raise ValueError(f"scale must be positive; got {scale!r}")
        if not 0 < request_timeout < float("inf"):
            raise ValueError(f"request_timeout must be a positive number, not {request_timeout!r}")
        if not 0 < idle_timeout < float("inf"):
            raise ValueError(f"idle_timeout must be a positive number, not {idle_timeout!r}")
        self.request_timeout = float(request_timeout)
        self.idle_timeout = float(idle_timeout)
        given = list(keys) if keys is not None else None
        per_pixel: list[Path] | None = None
        if data_dir is not None and not isinstance(data_dir, (str, os.PathLike)):
            per_pixel = [Path(d) for d in data_dir]  # one directory per pixel
            data_dir = per_pixel
        if pixels is None:
            if given:
                pixels = [p for k in given for p in k.pixel_ids]
            elif per_pixel is not None:
                pixels = pixel_ids(len(per_pixel))
            else:
                pixels = [DEMO_PIXEL_ID, SECOND_PIXEL_ID]
        self.pixel_ids: tuple[str, ...] = tuple(dict.fromkeys(pixels))
        if not self.pixel_ids:
            raise ValueError("the emulator needs at least one pixel")
        self.key_specs: tuple[KeySpec, ...] = tuple(
            given if given is not None else default_keys(self.pixel_ids)
        )
        if not self.key_specs:
            raise ValueError("the emulator needs at least one key")
        #: Raw keys by name (``emu.keys["analytics_read"]``); unnamed keys are ``key<i>``.
        self.keys: dict[str, str] = {
            spec.name or f"key{i}": spec.key for i, spec in enumerate(self.key_specs)
        }
        self.api_key: str = self.keys.get("demo", self.key_specs[0].key)
        self.pixel_id: str = self.pixel_ids[0]
        self.seed, self.now, self.data_dir = seed, now, data_dir
        self.host, self.latency_ms, self.persist = host, latency_ms, persist
        self._port = port
        self.injector = FaultInjector()
        self.scale = scale
        self._pool = BackendPool(self.pixel_ids, seed=seed, now=now, data_dir=data_dir, scale=scale)
        #: The directory each pixel serves (empty with generated data).
        self.data_dirs: dict[str, Path] = {
            p: d for p in self.pixel_ids if (d := self._pool.data_dir_for(p)) is not None
        }
        self._dashboards: DashboardStore | None = None
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None
        self._cache_dir: tuple[str, weakref.finalize[Any, Any]] | None = None  # see client()
        self._cached_clients: weakref.WeakSet[Client] = weakref.WeakSet()

    # ----------------------------------------------------------------- lifecycle

    @property
    def port(self) -> int:
        """The bound port (the requested one before ``start``)."""
        return self._server.port if self._server is not None else self._port

    @property
    def url(self) -> str:
        """Base URL, e.g. ``http://127.0.0.1:54321``."""
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}"

    @property
    def connections_accepted(self) -> int:
        """How many connections the server has accepted (0 before ``start``)."""
        return self._server.accepted if self._server is not None else 0

    @property
    def running(self) -> bool:
        """Whether the server is serving."""
        return self._thread is not None and self._thread.is_alive()

    def _wsgi(self, dashboards: DashboardStore) -> Callable[..., Iterable[bytes]]:
        validator = RequestValidator()
        services = ApiServices(
            keys=KeyRing(self.key_specs),
            dashboards=dashboards,
            engine=self._pool.get,
            validator=validator,
        )
        api = FaultMiddleware(ApiApp(services), self.injector, latency_ms=self.latency_ms)
        control = ControlApp(
            self.injector,
            reset=self.reset,
            health=self._health,
            validator=validator,
            state=self.state_summary,
        )

        def app(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
            if environ.get("PATH_INFO", "").startswith(PREFIX):
                return control(environ, start_response)
            return api(environ, start_response)

        return RequestLimits(app)

    def start(self) -> Emulator:
        """Bind, start serving in a background thread and return once ready.

        Raises
        ------
        OSError
            The address is in use or cannot be bound.
        """
        if self._server is not None:
            raise RuntimeError(f"the emulator is already running at {self.url}")
        family = socket.AF_INET6 if ":" in self.host else socket.AF_INET
        # Bind here (a clean OSError when busy); the server works on a duplicate of the socket.
        with socket.create_server((self.host, self._port), family=family) as listener:
            dashboards = DashboardStore(self.persist)
            try:
                server = _Server(
                    self.host,
                    listener.getsockname()[1],
                    self._wsgi(dashboards),
                    handler=_Handler,
                    fd=listener.fileno(),
                )
            except BaseException:
                dashboards.close()
                raise
        server.clock = None if self.now is None else to_utc(self.now)
        server.request_timeout = self.request_timeout
        server.idle_timeout = self.idle_timeout
        server.max_connections = self.max_connections
        server.deadlines = _Deadlines()
        server.deadlines.start()
        self._dashboards = dashboards
        ready = threading.Event()

        def serve() -> None:
            ready.set()
            server.serve_forever(poll_interval=0.05)

        self._server = server
        self._thread = threading.Thread(
            target=serve, name=f"upstack-emulator:{server.port}", daemon=True
        )
        self._thread.start()
        ready.wait(timeout=10)
        logger.info("emulator serving at %s", self.url)
        return self

    def stop(self) -> None:
        """Stop serving; close the socket, the dashboard store and the clients' cache (idempotent).

        Clients made by :meth:`client` with the emulator's temporary cache are closed and
        the cache directory is removed.
        """
        server, thread, self._server, self._thread = self._server, self._thread, None, None
        if server is not None:
            server.shutdown()
            server.server_close()
            server.close_open_connections()
            server.deadlines.stop()
        if thread is not None:
            thread.join(timeout=10)
        if self._dashboards is not None:
            self._dashboards.close()
            self._dashboards = None
        self._remove_client_cache()

    def __enter__(self) -> Emulator:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    def __repr__(self) -> str:
        state = self.url if self.running else "stopped"
        return f"Emulator({state}, pixel_id={self.pixel_id!r}, seed={self.seed}, now={self.now!r})"

    # ----------------------------------------------------------------- helpers

    def client(self, **kwargs: Any) -> Client:
        """Return an ``upstack_pandas.Client`` for this emulator (kwargs override or add).

        Parameters
        ----------
        **kwargs
            Passed to ``Client``. Without ``cache`` (or with ``cache=True``, or a
            ``CachePolicy`` without ``location``) the client caches in a temporary directory
            of this emulator, removed by :meth:`stop`: a notebook's emulators, each on a new
            port, leave no cache files in the user's cache directory. Any other ``cache``
            (``False``, a path, a session) is used as given.

        Returns
        -------
        Client
        """
        from upstack_pandas._transport.cache_policy import CachePolicy
        from upstack_pandas._transport.client import Client

        kwargs.setdefault("api_key", self.api_key)
        kwargs.setdefault("pixel_id", self.pixel_id)
        kwargs.setdefault("base_url", self.url)
        cache = kwargs.get("cache", True)
        temporary = "session" not in kwargs and (
            cache is True or (isinstance(cache, CachePolicy) and cache.location is None)
        )
        if temporary:
            policy = cache if isinstance(cache, CachePolicy) else CachePolicy()
            kwargs["cache"] = dataclasses.replace(policy, location=self._client_cache_dir())
        client = Client(**kwargs)
        if temporary:
            self._cached_clients.add(client)
        return client

    def _client_cache_dir(self) -> str:
        """The clients' temporary cache directory, made on first use.

        Removed by ``stop()``, or when the emulator is garbage-collected or the interpreter
        exits without ``stop()``.
        """
        if self._cache_dir is None:
            directory = tempfile.mkdtemp(prefix="upstack-emulator-cache-")
            cleanup = weakref.finalize(self, shutil.rmtree, directory, ignore_errors=True)
            self._cache_dir = (directory, cleanup)
        return self._cache_dir[0]

    def _remove_client_cache(self) -> None:
        for client in list(self._cached_clients):
            client.close()
        self._cached_clients.clear()
        made, self._cache_dir = self._cache_dir, None
        if made is not None:
            made[1]()  # rmtree, once

    def pixel_key(self, pixel_id: str) -> str:
        """Return a usable key of ``pixel_id``: the first active one with ``analytics:read``.

        Raises
        ------
        KeyError
            When no active key may read that pixel.
        """
        from upstack_pandas.emulator.http.auth import expand_scopes

        for spec in self.key_specs:
            if (
                pixel_id in spec.pixel_ids
                and not spec.revoked
                and spec.expires_at is None
                and "analytics:read" in expand_scopes(spec.scopes)
            ):
                return spec.key
        raise KeyError(f"no active key with analytics:read for pixel {pixel_id!r}")

    def upstackrc(self, prefix: str = "pixel-") -> str:
        """Return a ready ``.upstackrc``: ``[default]`` with the URL, one profile per pixel.

        Profiles are ``[pixel-1]``, ``[pixel-2]``... in pixel order, each with the pixel's key
        (:meth:`pixel_key`) and id; ``Client(profile="pixel-2")`` then reads the second pixel.
        The text holds raw emulator keys: write it to a file only you can read (``chmod 600``).
        """
        lines = [
            f"# upstack-pandas emulator at {self.url}: one profile per pixel",
            "[default]",
            f"base_url = {self.url}",
        ]
        for i, pixel in enumerate(self.pixel_ids, start=1):
            lines.append("")
            if pixel in self.data_dirs:
                lines.append(f"# data: {self.data_dirs[pixel]}")
            lines += [
                f"[{prefix}{i}]",
                f"api_key = {self.pixel_key(pixel)}",
                f"pixel_id = {pixel}",
            ]
        return "\n".join(lines) + "\n"

    def headers(self, key: str = "demo", pixel_id: str | None = None) -> dict[str, str]:
        """Return auth headers for the named key (``emu.keys``) and pixel (default first)."""
        return {"x-api-key": self.keys[key], "x-pixel-id": pixel_id or self.pixel_id}

    def backend(self, pixel_id: str | None = None) -> Backend:
        """Return the pixel's engine (default: ``pixel_id``), building it on first use."""
        return self._pool.get(pixel_id or self.pixel_id)

    def inject(
        self,
        kind: FaultKind | Fault = "status",
        *,
        path: str = "*",
        status: int = 500,
        retry_after: int | None = None,
        latency_ms: int = 0,
        count: int | None = None,
        pixel_id: str | None = None,
    ) -> Fault:
        """Inject a fault (see :mod:`upstack_pandas.emulator.http.faults`) and return it.

        ``pixel_id`` limits it to the requests of one pixel (default: every pixel).
        """
        fault = (
            kind
            if isinstance(kind, Fault)
            else Fault(kind, path, status, retry_after, latency_ms, count, pixel_id)
        )
        return self.injector.add(fault)

    def clear_faults(self) -> int:
        """Remove every injected fault; return how many were active."""
        return self.injector.clear()

    def reset(self) -> None:
        """Delete every dashboard view, clear faults and :meth:`reset_state` (data is kept)."""
        if self._dashboards is not None:
            self._dashboards.reset()
        self.injector.clear()
        self.reset_state()

    def reset_state(self) -> None:
        """Forget every account, cost, product and event change of every pixel.

        The orders' costs go back to the generated (or loaded) ones; dashboards are kept.
        """
        for pixel in self._pool.built():
            self._pool.get(pixel).reset_state()

    def state_summary(self, events: int = 100) -> dict[str, Any]:
        """Return the ``GET /_emulator/state`` body (see ``emulator/http/control.py``)."""
        pixels: dict[str, Any] = {}
        for pixel in self._pool.built():
            state = self._pool.get(pixel).state
            pixels[pixel] = {
                "costs": state.costs.snapshot(),
                "variants": state.products.snapshot(),
                "accountAudit": list(state.account.audit),
                "events": state.events.summary(events),
            }
        return {"pixels": pixels}

    def _health(self) -> dict[str, Any]:
        return {
            "version": __version__,
            "pixels": list(self.pixel_ids),
            "seed": self.seed,
            "now": None if self.now is None else str(self.now),
            "enginesBuilt": self._pool.built(),
        }
