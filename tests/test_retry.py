"""Retry policy as pure functions, and the shared pacing gate (fake clock, no real sleeping)."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import pytest
import requests
from urllib3.exceptions import MaxRetryError, NewConnectionError, ProtocolError, ReadTimeoutError

from upstack_pandas._transport.retry import (
    Pacer,
    RetryPolicy,
    backoff_delay,
    classify_exception,
    next_wait,
    parse_retry_after,
    should_retry,
)

POLICY = RetryPolicy(max_retries=3, backoff_base=1.0, backoff_max=5.0, max_total_wait=10.0)
QUERY = ("POST", "/db-mgmt/api/query")
VIEWS = ("POST", "/accounts/api/dashboard/views")


@pytest.mark.parametrize(
    ("request_", "status", "failure", "expected"),
    [
        (QUERY, 408, None, True),  # D105: the server never had the whole request
        (QUERY, 429, None, True),
        (QUERY, 502, None, True),
        (QUERY, 503, None, True),
        (QUERY, 504, None, True),
        (QUERY, 500, None, False),
        (QUERY, 400, None, False),
        (QUERY, 401, None, False),
        (QUERY, 404, None, False),
        (QUERY, None, "connect", True),
        (QUERY, None, "timeout", True),
        (QUERY, None, "reset", True),
        (("GET", "/accounts/api/dashboard/views"), 503, None, True),  # a read
        (VIEWS, 408, None, True),  # a write the server never received whole: not applied
        (VIEWS, 429, None, True),
        (("PATCH", "/accounts/api/dashboard/views/1"), 408, None, True),
        (VIEWS, 503, None, False),
        (VIEWS, 502, None, False),
        (VIEWS, None, "connect", True),
        (VIEWS, None, "timeout", False),
        (VIEWS, None, "reset", False),
        (("PATCH", "/accounts/api/dashboard/views/1"), 504, None, False),
        (("DELETE", "/accounts/api/dashboard/views/1"), 429, None, True),
    ],
)
def test_should_retry(
    request_: tuple[str, str], status: int | None, failure: str | None, expected: bool
) -> None:
    method, path = request_
    assert (
        should_retry(POLICY, method, path, retries_done=0, status=status, failure=failure)  # type: ignore[arg-type]
        is expected
    )


def test_a_status_left_out_of_the_policy_is_not_retried_for_reads_or_writes() -> None:
    policy = RetryPolicy(retry_statuses=frozenset({503}))
    for method, path in (QUERY, VIEWS):
        assert not should_retry(policy, method, path, retries_done=0, status=408)
        assert not should_retry(policy, method, path, retries_done=0, status=429)
    assert should_retry(policy, *QUERY, retries_done=0, status=503)


def test_attempt_cap() -> None:
    assert should_retry(POLICY, *QUERY, retries_done=2, status=503)
    assert not should_retry(POLICY, *QUERY, retries_done=3, status=503)
    assert not should_retry(RetryPolicy(max_retries=0), *QUERY, retries_done=0, status=503)


def test_backoff_is_full_jitter_within_a_capped_window() -> None:
    rng = random.Random(7)
    for retries_done, window in [(0, 1.0), (1, 2.0), (2, 4.0), (3, 5.0), (40, 5.0)]:
        delays = [backoff_delay(POLICY, retries_done, rng) for _ in range(300)]
        assert all(0.0 <= d <= window for d in delays)
        assert max(delays) > 0.8 * window  # spread over the whole window...
        assert min(delays) < 0.2 * window  # ...down to zero (full jitter)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("3", 3.0),
        ("0.5", 0.5),
        (" 10 ", 10.0),
        ("-4", 0.0),
        ("", None),
        (None, None),
        ("soon", None),
    ],
)
def test_parse_retry_after_seconds(value: str | None, expected: float | None) -> None:
    assert parse_retry_after(value) == expected


def test_parse_retry_after_http_date() -> None:
    now = datetime(2026, 11, 26, 12, 0, 0, tzinfo=UTC)
    later = format_datetime(now + timedelta(seconds=42), usegmt=True)
    earlier = format_datetime(now - timedelta(seconds=42), usegmt=True)
    assert parse_retry_after(later, now) == 42.0
    assert parse_retry_after(earlier, now) == 0.0


def test_next_wait_honours_retry_after_and_total_budget() -> None:
    rng = random.Random(1)
    assert next_wait(POLICY, retries_done=0, waited=0.0, retry_after=4.0, rng=rng) == 4.0
    assert next_wait(POLICY, retries_done=0, waited=7.0, retry_after=4.0, rng=rng) is None
    backoff = next_wait(POLICY, retries_done=1, waited=0.0, retry_after=None, rng=rng)
    assert backoff is not None and 0.0 <= backoff <= 2.0
    assert next_wait(POLICY, retries_done=0, waited=0.0, retry_after=11.0, rng=rng) is None


def test_policy_coercion_and_validation() -> None:
    assert RetryPolicy.coerce(2) == RetryPolicy(max_retries=2)
    assert RetryPolicy.coerce(POLICY) is POLICY
    with pytest.raises(TypeError):
        RetryPolicy.coerce(True)
    with pytest.raises(ValueError):
        RetryPolicy(max_retries=-1)
    assert "retry_statuses={408, 429, 502, 503, 504}" in repr(RetryPolicy())


class Clock:
    def __init__(self) -> None:
        self.now = 100.0
        self.sleeps: list[float] = []

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


def test_pacer_makes_every_caller_wait_until_not_before() -> None:
    clock = Clock()
    pacer = Pacer(sleep=clock.sleep, clock=lambda: clock.now)
    assert pacer.wait() == 0.0
    pacer.hold(5.0)
    pacer.hold(2.0)  # a shorter hold never shortens the gate
    assert pacer.remaining() == 5.0
    assert pacer.wait() == 5.0
    assert pacer.wait() == 0.0
    assert clock.sleeps == [5.0]


def _connection_error(reason: Exception) -> requests.ConnectionError:
    return requests.ConnectionError(MaxRetryError(None, "/x", reason))  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("exc", "kind"),
    [
        (requests.exceptions.ConnectTimeout(), "connect"),
        (requests.exceptions.ReadTimeout(), "timeout"),
        (_connection_error(NewConnectionError(None, "refused")), "connect"),  # type: ignore[arg-type]
        (_connection_error(ReadTimeoutError(None, "/x", "slow")), "timeout"),  # type: ignore[arg-type]
        (requests.ConnectionError(ProtocolError("Connection aborted.")), "reset"),
        (requests.exceptions.ChunkedEncodingError(), "reset"),
        (requests.exceptions.SSLError(), None),
        (requests.exceptions.InvalidURL(), None),
    ],
)
def test_classify_exception(exc: requests.RequestException, kind: str | None) -> None:
    assert classify_exception(exc) == kind
