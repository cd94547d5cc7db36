"""The cluster side of a worker: one pixel's 429 pause shared by every worker (D93).

Whatever runs a window in a ``distributed`` worker (a partition of
``upstack_pandas.dask.read_upstack``, a window of ``sync(..., scheduler=...)``) gets its client
from ``fetch.paced_client``: the process's client of the profile (``fetch.client_for``),
whose gate :func:`share_pause` makes a :class:`ClusterPacer` once in a worker. ``distributed`` is imported only there.
"""

from __future__ import annotations

import hashlib
import logging
import math
import threading
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from upstack_pandas._transport.retry import Pacer

if TYPE_CHECKING:
    from upstack_pandas._transport.client import Client

__all__ = [
    "PACING_TOPIC_PREFIX",
    "ClusterPacer",
    "install_lock",
    "pacing_topic",
    "share_pause",
    "worker_events",
]

logger = logging.getLogger("upstack_pandas")

# -- the 429 pause, shared by the workers of a cluster (D93) -------------------------------

#: Scheduler event topics of the shared pauses: this prefix and a hash of (base URL, pixel id).
PACING_TOPIC_PREFIX = "upstack-pandas-pacing-"
install_lock = threading.Lock()


def pacing_topic(base_url: str, pixel_id: str) -> str:
    """Name the scheduler event topic of one pixel's shared 429 pause.

    Parameters
    ----------
    base_url, pixel_id : str
        The API and the pixel (a key is never part of the name).

    Returns
    -------
    str
        ``"upstack-pandas-pacing-"`` and 24 hex digits of SHA-256 of both.
    """
    digest = hashlib.sha256(f"{base_url}\n{pixel_id}".encode()).hexdigest()[:24]
    return PACING_TOPIC_PREFIX + digest


class ClusterPacer:
    """The 429 pause of one pixel, shared by every worker of a ``distributed`` cluster.

    A client's gate (``Client.pacer``; see ``upstack_pandas._transport.retry.PacingGate``):
    ``hold(delay)`` closes this worker's own gate (its threads wait at once) and logs the
    wall-clock "not before" instant as an event of the pixel's topic on the scheduler;
    ``wait()`` sleeps until the latest of this worker's instant and every instant of the
    topic. Events only append, so two workers that both see a 429 never lose one's pause. When
    the scheduler cannot be reached the gate keeps pacing this worker only (logged once).

    Parameters
    ----------
    topic : str
        The pixel's topic (:func:`pacing_topic`).
    local : Pacer
        This worker's gate of the same client.
    events : distributed.Client
        Where the topic lives: anything with ``log_event(topic, msg)`` and
        ``get_events(topic)`` (the worker's client).
    clock : callable, optional
        Wall clock in seconds (the instants travel between processes); default ``time.time``.
    """

    def __init__(
        self, topic: str, local: Pacer, events: Any, *, clock: Callable[[], float] = time.time
    ) -> None:
        self.topic = topic
        self.local = local
        self.events = events
        self.clock = clock
        self._warned = False

    def hold(self, delay: float) -> None:
        """Close the gate for ``delay`` seconds, in this worker and on the cluster.

        Parameters
        ----------
        delay : float
            Seconds (the ``Retry-After`` honoured).
        """
        self.local.hold(delay)
        try:
            self.events.log_event(self.topic, self.clock() + delay)
        except Exception as exc:  # pacing degrades to this worker, never fails a read
            self._degraded(exc)

    def remaining(self) -> float:
        """Return the seconds until both this worker's and the cluster's instants have passed."""
        shared = -math.inf
        try:
            events = self.events.get_events(self.topic)
        except Exception as exc:  # as in hold
            self._degraded(exc)
        else:
            instants = [m for _, m in events if isinstance(m, int | float)]
            shared = max(instants, default=-math.inf)
        return max(self.local.remaining(), shared - self.clock())

    def wait(self) -> float:
        """Sleep until the gate opens; return the seconds slept."""
        delay = self.remaining()
        if delay > 0:
            self.local.sleep(delay)
        return delay

    def _degraded(self, exc: Exception) -> None:
        if not self._warned:
            self._warned = True
            logger.warning(
                "429 pacing is per worker from now on: the scheduler did not answer (%s: %s)",
                type(exc).__name__,
                exc,
            )

    def __repr__(self) -> str:
        return f"ClusterPacer(topic={self.topic!r})"


def worker_events() -> Any:
    """The worker's ``distributed`` client when running in a worker, else None."""
    try:
        from distributed import get_client, get_worker
    except ImportError:  # pragma: no cover - the dask extra without distributed
        return None
    try:
        get_worker()
    except ValueError:  # not in a worker: the local scheduler, threads or sync
        return None
    try:
        return get_client()
    except Exception as exc:  # no scheduler to share with: pace (and cap) this worker only
        logger.warning(
            "429 pacing is per worker: no client of the scheduler (%s: %s)", type(exc).__name__, exc
        )
        return None


def share_pause(client: Client) -> Client:
    """Give ``client`` the cluster's shared 429 pause when this runs in a ``distributed`` worker.

    Parameters
    ----------
    client : Client
        A worker's client (``fetch.client_for``); outside a worker, or when its gate is already
        shared or is a caller's own, it is left as it is.

    Returns
    -------
    Client
        ``client``, whose ``pacer`` is a :class:`ClusterPacer` once it has run in a worker.
    """
    with install_lock:
        if type(client.pacer) is Pacer:  # not shared yet (nor a caller's own gate)
            events = worker_events()
            if events is not None:
                topic = pacing_topic(client.base_url, client.pixel_id)
                client.pacer = ClusterPacer(topic, client.pacer, events)
    return client
