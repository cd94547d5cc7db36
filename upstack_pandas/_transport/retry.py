"""Retry policy: small pure functions plus one shared pacing gate.

What is retried: HTTP 408, 429, 502, 503, 504, connection failures and timeouts. Writes (the
operations of kind ``write`` in ``upstack_pandas._endpoints``: creating, changing, copying or
deleting dashboard views) are retried only when they cannot have been applied: a 408 (the server
did not receive the whole request, D105), a 429, or a connection that was never established.

How long to wait: the server's ``Retry-After`` (seconds or an HTTP date) when given, otherwise
exponential backoff with full jitter, ``uniform(0, min(backoff_max, backoff_base * 2**n))``.
Both the number of retries and the total time spent waiting are capped; a ``Retry-After`` that
would exceed the remaining budget ends the retries at once.

``Pacer`` is the one piece of state: a "not before" instant shared by every thread using a
client, so a 429 seen by one thread slows all of them. Sleep and clock are injectable
(``RetryPolicy(sleep=..., clock=...)``), so tests never really sleep. ``PacingGate`` is the
interface a client's gate keeps to (``Client(pacer=...)``): a gate shared further, e.g. by the
workers of a cluster (``upstack_pandas.dask``), is another implementation of it.
"""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Literal, Protocol, runtime_checkable

import requests
from urllib3.exceptions import ConnectTimeoutError, NewConnectionError, ReadTimeoutError

from upstack_pandas._endpoints import is_write
from upstack_pandas._errors import invalid_argument
from upstack_pandas._transport.deadline import DeadlineExceeded

__all__ = [
    "FailureKind",
    "Pacer",
    "PacingGate",
    "RetryPolicy",
    "backoff_delay",
    "classify_exception",
    "next_wait",
    "parse_retry_after",
    "should_retry",
]

#: Upper bounds of the policy's fields: more retries or longer waits than these are mistakes.
MAX_RETRIES = 100
MAX_SECONDS = 86_400.0

#: ``connect``: no connection was made (refused, DNS, connect timeout), so nothing was sent;
#: ``timeout``: no answer in time; ``reset``: the connection broke after the request was sent;
#: ``deadline``: the request's overall deadline passed (never retried).
FailureKind = Literal["connect", "timeout", "reset", "deadline"]


@dataclass(frozen=True)
class RetryPolicy:
    """How often and how long to retry.

    Every field is checked when the policy is made (``ValidationError`` naming the field):
    whole retries from 0 to 100, finite seconds from 0 to 86,400, statuses from 400 to 599.

    Parameters
    ----------
    max_retries : int
        Retries after the first attempt (0 disables retrying).
    backoff_base : float
        Seconds; the jitter window for retry ``n`` is ``backoff_base * 2**n``.
    backoff_max : float
        Upper bound of one backoff window, seconds.
    max_total_wait : float
        Upper bound of the time spent waiting for one request, seconds; a ``Retry-After`` that
        does not fit the remaining budget raises at once.
    retry_statuses : frozenset of int
        HTTP statuses that are retried (writes only retry 408 and 429: those say the request
        was not applied).
    sleep : callable, optional
        ``sleep(seconds)`` used for every wait between attempts; default ``time.sleep``. Pass
        your own to run retries on a simulated clock (tests, notebooks replaying failures).
    clock : callable, optional
        Monotonic clock in seconds that measures the shared 429 pause; default
        ``time.monotonic``. Pass it together with ``sleep`` (a ``sleep`` that advances it).

    Examples
    --------
    A policy that never really sleeps, recording the waits instead:

    >>> waits = []
    >>> policy = RetryPolicy(max_retries=2, sleep=waits.append, clock=lambda: 0.0)
    >>> policy.max_retries
    2
    """

    max_retries: int = 4
    backoff_base: float = 0.5
    backoff_max: float = 20.0
    max_total_wait: float = 60.0
    retry_statuses: frozenset[int] = frozenset({408, 429, 502, 503, 504})
    sleep: Callable[[float], None] = field(default=time.sleep, compare=False)
    clock: Callable[[], float] = field(default=time.monotonic, compare=False)

    def __post_init__(self) -> None:
        retries = self.max_retries
        if isinstance(retries, bool) or not isinstance(retries, int):
            raise invalid_argument(
                "max_retries",
                f"max_retries must be a whole number, not {retries!r}",
                hint=f"pass 0 to {MAX_RETRIES}",
                wrong_type=True,
            )
        if not 0 <= retries <= MAX_RETRIES:
            raise invalid_argument(
                "max_retries",
                f"max_retries must be from 0 to {MAX_RETRIES}; got {retries}",
                hint="0 disables retrying",
            )
        for name in ("backoff_base", "backoff_max", "max_total_wait"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int | float):
                raise invalid_argument(
                    name, f"{name} must be a number of seconds, not {value!r}", wrong_type=True
                )
            if not 0 <= value <= MAX_SECONDS:  # False for NaN too
                raise invalid_argument(
                    name,
                    f"{name} must be from 0 to {MAX_SECONDS:g} seconds; got {value!r}",
                    hint="a finite, non-negative number of seconds",
                )
        statuses = self.retry_statuses
        if isinstance(statuses, str | bytes) or not all(
            isinstance(code, int) and not isinstance(code, bool) and 400 <= code <= 599
            for code in statuses
        ):
            raise invalid_argument(
                "retry_statuses",
                f"retry_statuses must be HTTP error statuses (400-599); got {statuses!r}",
                hint="e.g. frozenset({408, 429, 502, 503, 504})",
            )
        object.__setattr__(self, "retry_statuses", frozenset(statuses))
        for name in ("sleep", "clock"):
            if not callable(getattr(self, name)):
                raise invalid_argument(
                    name, f"{name} must be callable, not {getattr(self, name)!r}", wrong_type=True
                )

    @classmethod
    def coerce(cls, value: int | RetryPolicy) -> RetryPolicy:
        """Accept a policy or a number of retries.

        Parameters
        ----------
        value : int or RetryPolicy

        Returns
        -------
        RetryPolicy
        """
        if isinstance(value, RetryPolicy):
            return value
        if isinstance(value, bool) or not isinstance(value, int):
            raise invalid_argument(
                "max_retries",
                f"max_retries must be an int or a RetryPolicy, not {value!r}",
                wrong_type=True,
            )
        return cls(max_retries=value)

    def __repr__(self) -> str:
        statuses = ", ".join(str(s) for s in sorted(self.retry_statuses))
        return (
            f"RetryPolicy(max_retries={self.max_retries}, backoff_base={self.backoff_base}, "
            f"backoff_max={self.backoff_max}, max_total_wait={self.max_total_wait}, "
            f"retry_statuses={{{statuses}}})"
        )


def should_retry(
    policy: RetryPolicy,
    method: str,
    path: str,
    *,
    retries_done: int,
    status: int | None = None,
    failure: FailureKind | None = None,
) -> bool:
    """Decide whether a failed attempt is retried.

    Parameters
    ----------
    policy : RetryPolicy
    method, path : str
        The request.
    retries_done : int
        Retries already made for this request.
    status : int, optional
        HTTP status of the failed attempt.
    failure : {"connect", "timeout", "reset"}, optional
        Kind of transport failure, when no response arrived.

    Returns
    -------
    bool
    """
    if retries_done >= policy.max_retries:
        return False
    if failure == "deadline":
        return False
    if is_write(method, path):
        # Only when the write cannot have been applied: a 408 says the server never had the
        # whole request (D105), a 429 that it refused it.
        if status is not None:
            return status in (408, 429) and status in policy.retry_statuses
        return failure == "connect"
    if status is not None:
        return status in policy.retry_statuses
    return failure is not None


def backoff_delay(policy: RetryPolicy, retries_done: int, rng: random.Random) -> float:
    """Exponential backoff with full jitter.

    Parameters
    ----------
    policy : RetryPolicy
    retries_done : int
        Retries already made (0 for the first retry).
    rng : random.Random

    Returns
    -------
    float
        Seconds, uniform in ``[0, min(backoff_max, backoff_base * 2**retries_done)]``.
    """
    window = min(policy.backoff_max, policy.backoff_base * (2 ** min(retries_done, 32)))
    return rng.uniform(0.0, window)


def parse_retry_after(value: str | None, now: datetime | None = None) -> float | None:
    """Parse a ``Retry-After`` header: delay seconds or an HTTP date.

    Parameters
    ----------
    value : str or None
        The header value.
    now : datetime, optional
        Current time (tz-aware) for HTTP dates; default the system clock.

    Returns
    -------
    float or None
        Seconds to wait (never negative), or ``None`` when absent or unparseable.
    """
    if value is None or not value.strip():
        return None
    text = value.strip()
    try:
        seconds = float(text)
    except ValueError:
        pass
    else:
        return max(0.0, seconds) if seconds == seconds else None  # NaN check
    try:
        when = parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    current = now or datetime.now(UTC)
    return max(0.0, (when - current).total_seconds())


def next_wait(
    policy: RetryPolicy,
    *,
    retries_done: int,
    waited: float,
    retry_after: float | None,
    rng: random.Random,
) -> float | None:
    """Compute the wait before the next retry, or ``None`` when the total budget is spent.

    Parameters
    ----------
    policy : RetryPolicy
    retries_done : int
        Retries already made.
    waited : float
        Seconds already spent waiting for this request.
    retry_after : float or None
        The server's ``Retry-After``, honoured when given.
    rng : random.Random

    Returns
    -------
    float or None
    """
    delay = retry_after if retry_after is not None else backoff_delay(policy, retries_done, rng)
    if waited + delay > policy.max_total_wait:
        return None
    return delay


def classify_exception(exc: requests.RequestException) -> FailureKind | None:
    """Tell what kind of transport failure a requests exception is.

    Parameters
    ----------
    exc : requests.RequestException

    Returns
    -------
    {"connect", "timeout", "reset", "deadline"} or None
        ``None`` for failures that retrying cannot fix (TLS errors, invalid URLs...).
    """
    if isinstance(exc, DeadlineExceeded):
        return "deadline"
    if isinstance(exc, requests.exceptions.ConnectTimeout):
        return "connect"
    if isinstance(exc, requests.exceptions.Timeout):
        return "timeout"
    if isinstance(exc, requests.exceptions.SSLError):
        return None
    if isinstance(
        exc, requests.exceptions.ChunkedEncodingError | requests.exceptions.ContentDecodingError
    ):
        return "reset"
    if isinstance(exc, requests.exceptions.ConnectionError):
        reason = exc.args[0] if exc.args else None
        reason = getattr(reason, "reason", reason)
        if isinstance(reason, NewConnectionError | ConnectTimeoutError):
            return "connect"
        if isinstance(reason, ReadTimeoutError):
            return "timeout"
        return "reset"
    return None


@runtime_checkable
class PacingGate(Protocol):
    """What a client's pacing gate does: every attempt waits at it, a 429 closes it.

    The client calls ``wait()`` before every attempt and ``hold(delay)`` when a response is
    429 (``delay``: the ``Retry-After`` it honours), then ``wait()`` again. :class:`Pacer` is
    the gate of one process; ``upstack_pandas.dask`` shares one between the workers of a
    cluster.
    """

    def hold(self, delay: float) -> None:
        """Make every caller of ``wait`` wait until ``delay`` seconds from now."""

    def wait(self) -> float:
        """Sleep until the gate opens; return the seconds slept."""


class Pacer:
    """A "not before" instant shared by all threads of one client.

    Every attempt first calls ``wait()``; a rate-limited attempt calls ``hold(delay)`` so that
    every thread, not only the one that saw the 429, waits.

    Parameters
    ----------
    sleep : callable, optional
        ``sleep(seconds)``; default ``time.sleep``.
    clock : callable, optional
        Monotonic clock in seconds; default ``time.monotonic``.
    """

    def __init__(
        self,
        *,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.sleep = sleep
        self.clock = clock
        self._lock = threading.Lock()
        self._not_before = float("-inf")

    def hold(self, delay: float) -> None:
        """Make every caller of ``wait`` wait until ``delay`` seconds from now.

        Parameters
        ----------
        delay : float
            Seconds.
        """
        with self._lock:
            self._not_before = max(self._not_before, self.clock() + delay)

    def remaining(self) -> float:
        """Return the seconds left until the shared "not before" instant (0 when passed)."""
        with self._lock:
            return max(0.0, self._not_before - self.clock())

    def wait(self) -> float:
        """Sleep until the shared "not before" instant; return the seconds slept."""
        delay = self.remaining()
        if delay > 0:
            self.sleep(delay)
        return delay
