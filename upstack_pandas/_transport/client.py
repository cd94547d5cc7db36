"""Transport: the ``Client`` that holds connection settings and sends every request.

One place adds the auth headers, fills ``pixelId`` into the bodies of the operations whose row in
the endpoint table (``_endpoints``) says so, retries (see ``retry``), maps error responses to
exceptions (see ``_errors``) and talks to the cache (see ``cache``; the session itself comes
from ``session``). It imports no pandas. A ``Client`` is
safe to share between threads: a 429 seen by one thread pauses the others through a shared
pacing gate.

Deadlines: ``timeout`` bounds each socket operation; ``deadline`` bounds a whole request
(connecting, retries, waits and the body, enforced while the body streams, see ``deadline``);
``read_deadline`` bounds a whole reader call (every window and page of it). A request that runs
out of time raises ``TransportError`` and is not retried.

Secrets: the key is a ``Secret`` (its ``repr`` is the mask) in every frame of this module, and
no transport exception is chained to the ``requests``/``http.client`` exception beneath it
(those frames hold the raw request bytes, key header included): its text, redacted, is kept in
the message instead.
"""

from __future__ import annotations

import logging
import math
import random
import threading
import time
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import orjson
import requests

from upstack_pandas._endpoints import injects_pixel_id, is_read, is_write
from upstack_pandas._errors import (
    UNKNOWN_OUTCOME,
    AuthenticationError,
    ConfigurationError,
    TransportError,
    UpstackError,
    error_from_response,
    request_id_from_headers,
)
from upstack_pandas._redact import Secret, mask_key, redact, register_secret
from upstack_pandas._transport import deadline as _deadline
from upstack_pandas._transport.clock import ServerClock
from upstack_pandas._transport.config import resolve_settings
from upstack_pandas._transport.response import ApiResponse, build_response
from upstack_pandas._transport.retry import (
    FailureKind,
    Pacer,
    PacingGate,
    RetryPolicy,
    classify_exception,
    next_wait,
    parse_retry_after,
    should_retry,
)
from upstack_pandas._transport.session import open_session
from upstack_pandas._version import __version__

if TYPE_CHECKING:
    import os

    import requests_cache

    from upstack_pandas._frames.memo import FrameMemo
    from upstack_pandas._transport.cache_hits import CacheHits
    from upstack_pandas._transport.cache_policy import CachePolicy
    from upstack_pandas._transport.cache_store import CacheHooks
    from upstack_pandas.catalog import Catalog

__all__ = ["ApiResponse", "Client", "get_default_client", "set_default_client"]

logger = logging.getLogger("upstack_pandas")

USER_AGENT = f"upstack-pandas/{__version__}"
_DEFAULT_RETRY = RetryPolicy()
#: Default overall deadline of one request (retries and body included), seconds.
DEFAULT_DEADLINE = 300.0
#: Default overall deadline of one reader call (all its requests), seconds.
DEFAULT_READ_DEADLINE = 1800.0


class Client:
    """Connection settings and transport for the Upstack Data API.

    Parameters
    ----------
    api_key, pixel_id, base_url : str, optional
        Override the environment (``UPSTACK_API_KEY``, ``UPSTACK_PIXEL_ID``,
        ``UPSTACK_BASE_URL``) and the config file (``~/.upstackrc``).
    profile : str, optional
        A section of the config file (``"store-eu"``; see :func:`upstack_pandas.profiles`);
        its values win over the environment variables. Default: ``$UPSTACK_PROFILE``, else
        ``[default]``.
    timeout : float or (float, float)
        Seconds to wait for a connection and for each read (or a ``(connect, read)`` pair);
        positive and finite.
    deadline : float, default 300
        Seconds one request may take in all: connecting, every retry and wait, and receiving
        the whole body (checked while it streams, so a server that sends a byte at a time is
        cut off). Past it the request raises ``TransportError`` and is not retried.
    read_deadline : float, default 1800
        Seconds one reader call (``read_upstack``...) may take in all, every window and page
        included; each of its requests also keeps to ``deadline``.
    max_retries : int or RetryPolicy
        Retries after the first attempt, or a full policy (which also says how to sleep and
        read the clock between attempts: ``RetryPolicy(sleep=..., clock=...)``).
    cache : bool, str, path, CachePolicy or requests_cache.CachedSession, optional
        ``True`` (default): SQLite cache in the user cache directory; ``False``/``None``: no
        cache; a path: a cache directory (no suffix) or file (``.sqlite``); a ``CachePolicy``;
        or your own ``CachedSession``.
    session : requests.Session, optional
        Your own session (a ``CachedSession`` included), used as is; it wins over ``cache``.
    progress : bool, optional
        Progress bars for multi-request reads: always (``True``), never (``False``), or by
        default (``None``) per ``UPSTACK_PANDAS_PROGRESS=1|0``, else only in interactive
        sessions. A reader's ``progress=`` argument wins; ``client.progress`` may be changed.
    pacer : object with ``wait()`` and ``hold(delay)``, optional
        The gate every attempt waits at and a 429 closes: the client calls ``wait()`` (sleep
        until the gate opens, return the seconds slept) before every attempt and
        ``hold(delay)`` (every caller of ``wait`` waits until ``delay`` seconds from now) on a
        429. Default: a gate shared by the threads of this client, on the policy's ``sleep``
        and ``clock``. ``client.pacer`` may be
        replaced (``upstack_pandas.dask`` shares one between the workers of a cluster).

    Raises
    ------
    ConfigurationError
        When credentials are missing or invalid.
    """

    def __init__(
        self,
        api_key: str | None = None,
        pixel_id: str | None = None,
        base_url: str | None = None,
        *,
        profile: str | None = None,
        timeout: float = 30.0,
        deadline: float = DEFAULT_DEADLINE,
        read_deadline: float = DEFAULT_READ_DEADLINE,
        max_retries: int | RetryPolicy = _DEFAULT_RETRY,
        cache: bool
        | str
        | os.PathLike[str]
        | CachePolicy
        | requests_cache.CachedSession
        | None = True,
        session: requests.Session | None = None,
        progress: bool | None = None,
        pacer: PacingGate | None = None,
    ) -> None:
        # From here on no frame holds the key as a plain str (tracebacks that print locals).
        api_key = Secret(api_key) if isinstance(api_key, str) else api_key
        problem: ConfigurationError | None = None
        try:
            settings = resolve_settings(api_key, pixel_id, base_url, profile=profile)
        except ConfigurationError as exc:
            problem = exc
        if problem is not None:
            # without the frames below (they held the settings being read)
            raise problem.with_traceback(None) from None
        #: The config-file profile this client was built from (None: not chosen by name).
        self.profile: str | None = profile
        self._api_key = settings.api_key
        register_secret(self._api_key)
        self.pixel_id: str = settings.pixel_id
        self.base_url: str = settings.base_url
        self.timeout = _check_timeout(timeout)
        self.deadline = _check_seconds(deadline, "deadline")
        self.read_deadline = _check_seconds(read_deadline, "read_deadline")
        self.retry: RetryPolicy = RetryPolicy.coerce(max_retries)
        if pacer is not None and not isinstance(pacer, PacingGate):
            raise TypeError(f"pacer must have wait() and hold(delay), not {pacer!r}")
        #: the gate of the shared 429 pause (every attempt waits at it)
        self.pacer: PacingGate = (
            pacer if pacer is not None else Pacer(sleep=self.retry.sleep, clock=self.retry.clock)
        )
        self._rng = random.Random()
        setup = open_session(cache, session, self.base_url, self.pixel_id, self._api_key)
        self.session: requests.Session = setup.session
        self._owns_session = setup.owned
        self.cache_policy: CachePolicy | None = setup.policy
        self._cache_hooks: CacheHooks | None = setup.hooks
        self._cache_hits: CacheHits | None = setup.hits
        self.progress: bool | None = progress
        # per-client state of the layers above, filled on first use: the catalog
        # (upstack_pandas.catalog.get_catalog) and decoded frames (_frames.memo.memo_of)
        self._catalog: Catalog | None = None
        self._frame_memo: FrameMemo | None = None
        #: the server's clock from live responses' ``Date`` (default date ranges use it)
        self.clock: ServerClock = ServerClock()

    @property
    def api_key_masked(self) -> str:
        """The API key as it may be shown: ``upstack_…a1b2``."""
        return mask_key(getattr(self, "_api_key", None))

    def read_deadline_at(self) -> float:
        """The instant (``time.monotonic()``) by which a reader call starting now must finish.

        Returns
        -------
        float
            Pass it as ``deadline_at=`` to each request the reader call sends.
        """
        return time.monotonic() + self.read_deadline

    @property
    def _cache_location(self) -> str | None:
        hooks = getattr(self, "_cache_hooks", None)
        return hooks.location if hooks else None

    def __repr__(self) -> str:
        # getattr: a half-built client (its __init__ raised) must still have a repr
        cache = self._cache_location or "off"
        pixel = getattr(self, "pixel_id", None)
        base = getattr(self, "base_url", None)
        retry = getattr(self, "retry", None)
        return redact(
            f"Client(api_key={self.api_key_masked!r}, pixel_id={pixel!r}, "
            f"base_url={base!r}, cache={cache!r}, retry={retry!r})"
        )

    def __getstate__(self) -> None:
        raise TypeError("a Client holds credentials and connections and cannot be pickled")

    # -- requests -------------------------------------------------------------------------

    def _headers(self, has_body: bool) -> dict[str, str]:
        # "X-API-Key" casing matches requests-cache's default list of headers it never stores.
        headers = {
            "X-API-Key": self._api_key,
            "x-pixel-id": self.pixel_id,
            "User-Agent": USER_AGENT,
            "Accept": "application/json",
        }
        if has_body:
            headers["Content-Type"] = "application/json"
        return headers

    def _body(self, method: str, path: str, payload: Any) -> bytes | None:
        if payload is None:
            return None
        if (
            isinstance(payload, Mapping)
            and injects_pixel_id(method, path)
            and payload.get("pixelId") is None
        ):
            payload = {**payload, "pixelId": self.pixel_id}
        try:
            return orjson.dumps(payload, option=orjson.OPT_SERIALIZE_NUMPY)
        except TypeError as exc:
            raise TypeError(
                f"request body for {method} {path} is not JSON-serialisable: {exc}"
            ) from None

    def request(
        self,
        method: str,
        path: str,
        *,
        json: Any = None,
        params: Mapping[str, Any] | None = None,
        refresh: bool = False,
        deadline_at: float | None = None,
    ) -> ApiResponse:
        """Send a request and return the successful response.

        Parameters
        ----------
        method : str
            HTTP method.
        path : str
            Path below the base URL, e.g. ``/db-mgmt/api/query``.
        json : Any, optional
            Request body; the bodies of operations that carry ``pixelId`` (the analytics
            queries) get it filled in when absent (the
            caller's object is not changed).
        params : mapping, optional
            Query parameters.
        refresh : bool
            Skip the cache for this request and store the fresh response.
        deadline_at : float, optional
            A ``time.monotonic()`` instant the request must finish by (a reader call passes
            ``read_deadline_at()``); the sooner of it and ``Client.deadline`` from now applies.

        Returns
        -------
        ApiResponse

        Raises
        ------
        UpstackError
            The subclass of ``UpstackError`` matching the failure; ``TransportError`` when the
            deadline passes.
        """
        method = method.upper()
        path = path if path.startswith("/") else f"/{path}"
        instant = time.monotonic() + self.deadline
        if deadline_at is not None:
            instant = min(instant, deadline_at)
        body = self._body(method, path, json)
        headers = self._headers(body is not None)
        hits = self._cache_hits
        if hits is not None and hits.session is not self.session:
            hits = None  # the session was replaced: its own caching applies
        known = None
        if hits is not None and is_read(method, path):
            known = hits.identify(
                method, f"{self.base_url}{path}", body, headers, params, self.timeout
            )
            hit = hits.lookup(known, method, path) if known is not None and not refresh else None
            if hit is not None:  # the stored response, read without requests (cache_hits)
                self.clock.observe(hit.fetched_at, from_cache=True)
                return hit
        hooks = self._cache_hooks
        extra = hooks.before_request(method, path, headers, refresh) if hooks else {}
        try:
            response = self._send(method, path, body, headers, params, extra, instant)
            if hits is not None and known is not None:
                hits.learn(known, getattr(response, "cache_key", None))
        except AuthenticationError:
            if hooks:
                hooks.forget_key(self._api_key)  # a revoked key must not keep reading
            raise
        finally:
            if hooks and is_write(method, path):
                hooks.invalidate_dashboards()
        return self._wrap(method, path, response)

    def _send(
        self,
        method: str,
        path: str,
        body: bytes | None,
        headers: dict[str, str],
        params: Mapping[str, Any] | None,
        extra: dict[str, Any],
        instant: float,
    ) -> requests.Response:
        url = f"{self.base_url}{path}"
        retries, waited = 0, 0.0
        while True:
            waited += self.pacer.wait()
            problem: UpstackError | None = None
            failure: FailureKind | None = None
            try:
                with _deadline.until(instant):
                    if _deadline.remaining(instant) <= 0:
                        raise _deadline.DeadlineExceeded("the deadline passed between attempts")
                    response = self.session.request(
                        method,
                        url,
                        data=body,
                        headers=headers,
                        params=params,
                        timeout=self.timeout,
                        allow_redirects=False,
                        **extra,
                    )
                    if not _deadline.is_enforced(self.session, url):
                        _ = response.content  # a caller's session: checked once it is read
                        if _deadline.remaining(instant) <= 0:
                            raise _deadline.DeadlineExceeded("the deadline passed")
            except requests.RequestException as exc:
                failure = classify_exception(exc)
                text = redact(str(exc))
                # never chained to exc: its frames (http.client's) hold the raw request bytes
                del exc
                if failure == "deadline":
                    problem = self._deadline_error(method, path, text)
                    delay = None
                else:
                    delay = self._plan(method, path, retries, waited, instant, failure=failure)
                if delay is None and problem is None:
                    hint = "check the network and the base URL (retries follow Client.retry)"
                    if is_write(method, path) and failure != "connect":
                        hint = f"{UNKNOWN_OUTCOME}; {hint}"
                    problem = TransportError(
                        f"{failure or 'request'} failure: {text}",
                        method=method,
                        path=path,
                        hint=hint,
                    )
            else:
                status = response.status_code
                if 200 <= status < 300:
                    return response
                retry_after = parse_retry_after(response.headers.get("Retry-After"))
                delay = self._plan(
                    method, path, retries, waited, instant, status=status, retry_after=retry_after
                )
                if delay is None:
                    raise error_from_response(
                        status,
                        method,
                        path,
                        response.content,
                        response.headers,
                        retry_after=retry_after,
                    )
                self._log_retry(method, path, f"HTTP {status}", delay, retries, response.headers)
                if status == 429:
                    self.pacer.hold(delay)  # every thread of this client waits, not only this one
                    delay = self.pacer.wait()
                else:
                    self.retry.sleep(delay)
                waited += delay
                retries += 1
                continue
            if problem is not None:
                raise problem
            assert delay is not None
            self._log_retry(method, path, failure or "error", delay, retries)
            self.retry.sleep(delay)
            waited += delay
            retries += 1

    def _deadline_error(self, method: str, path: str, text: str) -> TransportError:
        hint = (
            "the server is too slow or the answer too large: narrow the request, or raise "
            "Client(deadline=..., read_deadline=...)"
        )
        if is_write(method, path):
            hint = f"{UNKNOWN_OUTCOME}; {hint}"
        return TransportError(
            f"the request did not finish within its deadline ({text})",
            method=method,
            path=path,
            hint=hint,
        )

    def _plan(
        self,
        method: str,
        path: str,
        retries: int,
        waited: float,
        instant: float,
        *,
        status: int | None = None,
        failure: FailureKind | None = None,
        retry_after: float | None = None,
    ) -> float | None:
        if status is None and failure is None:
            return None
        if not should_retry(
            self.retry, method, path, retries_done=retries, status=status, failure=failure
        ):
            return None
        delay = next_wait(
            self.retry, retries_done=retries, waited=waited, retry_after=retry_after, rng=self._rng
        )
        if delay is not None and delay >= _deadline.remaining(instant):
            return None  # the wait alone would outlast the deadline
        return delay

    def _log_retry(
        self,
        method: str,
        path: str,
        reason: str,
        delay: float,
        retries: int,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        request_id = request_id_from_headers(headers) if headers is not None else None
        logger.info(
            "retrying %s %s after %s in %.2f s (retry %d of %d; pixel %s, key %s%s)",
            method,
            path,
            reason,
            delay,
            retries + 1,
            self.retry.max_retries,
            self.pixel_id,
            self.api_key_masked,
            f", request id {request_id}" if request_id else "",
        )

    def _wrap(self, method: str, path: str, response: requests.Response) -> ApiResponse:
        hooks = self._cache_hooks
        on_bad_body = hooks.after_response(method, path, response) if hooks else None
        built = build_response(method, path, response, on_bad_body)
        self.clock.observe(built.fetched_at, from_cache=built.from_cache)
        return built

    def get(
        self, path: str, *, params: Mapping[str, Any] | None = None, refresh: bool = False
    ) -> ApiResponse:
        """Send a GET request; see ``request``."""
        return self.request("GET", path, params=params, refresh=refresh)

    def post(
        self,
        path: str,
        json: Any,
        *,
        refresh: bool = False,
        deadline_at: float | None = None,
    ) -> ApiResponse:
        """Send a POST request with a JSON body; see ``request``."""
        return self.request("POST", path, json=json, refresh=refresh, deadline_at=deadline_at)

    def patch(self, path: str, json: Any) -> ApiResponse:
        """Send a PATCH request with a JSON body; see ``request``."""
        return self.request("PATCH", path, json=json)

    def delete(self, path: str) -> ApiResponse:
        """Send a DELETE request; see ``request``."""
        return self.request("DELETE", path)

    def close(self) -> None:
        """Close the session, if this client created it."""
        if getattr(self, "_owns_session", False):
            self.session.close()

    def __enter__(self) -> Client:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


def _check_timeout(timeout: Any) -> float | tuple[float, float]:
    """A positive, finite number of seconds, or a ``(connect, read)`` pair of them."""
    parts = timeout if isinstance(timeout, tuple) and len(timeout) == 2 else (timeout,)
    for part in parts:
        if isinstance(part, bool) or not isinstance(part, int | float):
            raise TypeError(
                f"timeout must be a number of seconds or a (connect, read) pair of them, "
                f"not {timeout!r}"
            )
        if not 0 < part < math.inf:
            raise ValueError(
                f"timeout must be positive and finite (seconds), not {timeout!r}; "
                "a request must not wait forever"
            )
    return timeout  # type: ignore[no-any-return]


def _check_seconds(value: Any, name: str) -> float:
    """A positive, finite number of seconds."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise TypeError(f"{name} must be a number of seconds, not {value!r}")
    if not 0 < value < math.inf:
        raise ValueError(f"{name} must be positive and finite (seconds), not {value!r}")
    return float(value)


_default_lock = threading.Lock()
_default_client: Client | None = None


def get_default_client() -> Client:
    """Return the module-level default client, building it from the environment on first use.

    Returns
    -------
    Client

    Raises
    ------
    ConfigurationError
        When no credentials are configured; set them, or call ``set_default_client``.
    """
    global _default_client
    with _default_lock:
        if _default_client is None:
            _default_client = Client()
        return _default_client


def set_default_client(client: Client | None) -> None:
    """Replace the default client (``None``: build it again from the environment on next use).

    Parameters
    ----------
    client : Client or None
    """
    global _default_client
    if client is not None and not isinstance(client, Client):
        raise TypeError(f"expected a Client or None, not {type(client).__name__}")
    with _default_lock:
        _default_client = client
