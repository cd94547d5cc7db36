"""One background thread that cuts a socket off at an instant: the deadline's hard bound.

A socket timeout bounds each read, so a server that drips its status line and headers (one
byte every few seconds) would hold a request well past its deadline: the waiting happens inside
``http.client``, where no clock is checked. :class:`SocketGuard` arms the :data:`WATCHDOG` for
the socket a request is being answered on; at the deadline the watchdog shuts that socket down,
which wakes the blocked read at once (it sees the connection end), and the guard records that it
fired, so the caller reports a deadline rather than a broken connection. Disarmed in time, the
socket is left alone.

One daemon thread serves every guard of the process (a heap of instants), started on first use:
arming and disarming cost a lock and a heap push, not a thread per request.
"""

from __future__ import annotations

import contextlib
import heapq
import itertools
import os
import socket
import threading
import time
from collections.abc import Callable

__all__ = ["WATCHDOG", "SocketGuard", "Watchdog"]


class Watchdog:
    """Calls each registered callback at its ``time.monotonic()`` instant, unless cancelled."""

    def __init__(self) -> None:
        self._reset()

    def _reset(self) -> None:
        """Start empty, with no thread (also in a forked child: the parent's thread and lock
        state do not carry over, and its sockets' deadlines are the parent's business)."""
        self._wake = threading.Condition()
        self._heap: list[tuple[float, int]] = []
        self._callbacks: dict[int, Callable[[], None]] = {}
        self._ids = itertools.count()
        self._thread: threading.Thread | None = None

    def watch(self, instant: float, callback: Callable[[], None]) -> int:
        """Call ``callback`` (in the watchdog's thread) at ``instant``; returns a token."""
        with self._wake:
            token = next(self._ids)
            self._callbacks[token] = callback
            heapq.heappush(self._heap, (instant, token))
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(
                    target=self._run, name="upstack-deadline-watchdog", daemon=True
                )
                self._thread.start()
            self._wake.notify()
        return token

    def cancel(self, token: int) -> None:
        """Forget the callback of ``token`` (nothing happens if it ran already)."""
        with self._wake:
            self._callbacks.pop(token, None)

    @property
    def pending(self) -> int:
        """How many callbacks are waiting for their instant."""
        with self._wake:
            return len(self._callbacks)

    def _run(self) -> None:
        while True:
            with self._wake:
                while self._heap and self._heap[0][1] not in self._callbacks:
                    heapq.heappop(self._heap)  # cancelled
                if not self._heap:
                    self._wake.wait()
                    continue
                instant, token = self._heap[0]
                left = instant - time.monotonic()
                if left > 0:
                    self._wake.wait(left)
                    continue
                heapq.heappop(self._heap)
                callback = self._callbacks.pop(token)
            callback()  # outside the lock: a callback may take a guard's lock


#: The process's watchdog.
WATCHDOG = Watchdog()
if hasattr(os, "register_at_fork"):  # a child must not wait on a lock its parent held
    os.register_at_fork(after_in_child=WATCHDOG._reset)


class SocketGuard:
    """Shuts down the socket it is armed with when ``instant`` passes, until disarmed.

    Parameters
    ----------
    instant : float
        The deadline, a ``time.monotonic()`` instant.
    watchdog : Watchdog, optional
        The watchdog to use (default: the process's).
    """

    def __init__(self, instant: float, watchdog: Watchdog | None = None) -> None:
        self.instant = instant
        self._watchdog = watchdog or WATCHDOG
        self._lock = threading.Lock()
        self._socket: socket.socket | None = None
        self._token: int | None = None
        #: Whether the deadline passed while armed (the socket was shut down).
        self.fired = False

    def arm(self, sock: socket.socket | None) -> None:
        """Watch ``sock`` (the connection's, once connected) from now until :meth:`disarm`."""
        if sock is None:
            return
        with self._lock:
            self._socket = sock
            if self._token is None:
                self._token = self._watchdog.watch(self.instant, self._fire)

    def disarm(self) -> None:
        """Stop watching: the socket is not touched after this returns."""
        with self._lock:
            self._socket = None
            token, self._token = self._token, None
        if token is not None:
            self._watchdog.cancel(token)

    def _fire(self) -> None:
        with self._lock:
            sock, self._token = self._socket, None
            if sock is None:
                return
            self.fired = True
            with contextlib.suppress(OSError):  # (closed already)
                sock.shutdown(socket.SHUT_RDWR)  # wakes a read blocked on it, in any thread
