"""Which ``requests.Session`` a ``Client`` sends with, from its ``cache=`` and ``session=``.

A plain session, a requests-cache session built from a ``CachePolicy`` (see ``cache_store``),
or the caller's own session used as is (a ``CachedSession`` included). Like ``client``, this
module imports no pandas, and requests-cache only when a cache is asked for (so ``cache_store``
is imported inside ``open_session``: an import-time saving, not a hidden cycle, since
``cache_store`` never imports the client or this module).
"""

from __future__ import annotations

import sqlite3
import sys
import warnings
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, cast

import requests

from upstack_pandas._errors import ConfigurationError
from upstack_pandas._transport.cache_policy import CachePolicy
from upstack_pandas._transport.deadline import DeadlineAdapter

if TYPE_CHECKING:
    import requests_cache
    from requests.sessions import _Settings

    from upstack_pandas._transport.cache_hits import CacheHits
    from upstack_pandas._transport.cache_store import CacheHooks

__all__ = ["SessionSetup", "is_cached_session", "open_session"]


@dataclass(frozen=True)
class SessionSetup:
    """The session a client sends with, and what it knows about it.

    Attributes
    ----------
    session : requests.Session
    owned : bool
        The client built it, so ``Client.close`` closes it.
    policy : CachePolicy or None
        The policy the session was built from (None for a plain or a caller's session).
    hooks : CacheHooks or None
        The cache hooks, when the session caches (ours or the caller's).
    hits : CacheHits or None
        What answers cache hits without requests, when the session is one the client built on
        its own SQLite cache.
    """

    session: requests.Session
    owned: bool
    policy: CachePolicy | None
    hooks: CacheHooks | None
    hits: CacheHits | None = None


def is_cached_session(obj: object) -> bool:
    """Whether ``obj`` is a requests-cache session (without importing requests-cache)."""
    module = sys.modules.get("requests_cache")
    return module is not None and isinstance(obj, module.CacheMixin)


def open_session(
    cache: Any,
    session: requests.Session | None,
    base_url: str,
    pixel_id: str,
    api_key: str,
) -> SessionSetup:
    """The session for a ``Client(cache=..., session=...)``; see ``Client`` for the values.

    Raises
    ------
    ConfigurationError
        When the cache file cannot be opened.
    """
    policy = None
    owned = session is None
    if session is None:
        if cache is None or cache is False:
            session = _pooled(requests.Session())
        elif is_cached_session(cache):
            session, owned = cast(requests.Session, cache), False
        else:
            from upstack_pandas._transport import cache_store

            policy = CachePolicy.coerce(cache)
            try:
                session = _pooled(cache_store.build_session(policy, base_url, pixel_id, api_key))
            except sqlite3.Error as exc:
                # the file is there but broken (corrupt, locked, read-only): run uncached
                warnings.warn(
                    f"cannot use the response cache ({type(exc).__name__}: {exc}); requests go "
                    "to the server uncached. Delete the cache file (`upstack-pandas cache "
                    "clear`) to start afresh, or pass cache=False.",
                    cache_store.CacheUnavailableWarning,
                    stacklevel=3,
                )
                session, policy = _pooled(requests.Session()), None
            except OSError as exc:
                raise ConfigurationError(
                    f"cannot open the response cache: {exc}",
                    hint="pass cache=False, or a writable directory via cache= or UPSTACK_CACHE_DIR",
                ) from None
    hooks = hits = None
    if is_cached_session(session):
        from upstack_pandas._transport.cache_store import CacheHooks, UpstackSQLiteCache

        hooks = CacheHooks(session)
        if policy is not None and isinstance(getattr(session, "cache", None), UpstackSQLiteCache):
            from upstack_pandas._transport.cache_hits import CacheHits

            hits = CacheHits(cast("requests_cache.CachedSession", session), hooks)
    return SessionSetup(session, owned, policy, hooks, hits)


def _pooled(session: requests.Session) -> requests.Session:
    """Mount connection pools that the client's threads share (up to 32 connections a host).

    The adapter enforces each request's overall deadline while its body streams.
    """
    adapter = DeadlineAdapter(pool_connections=4, pool_maxsize=32)
    session.mount("https://", adapter)
    session.mount("http://", adapter)
    _settle_environment(session)
    return session


def _settle_environment(session: requests.Session) -> None:
    """Resolve the environment's proxies and CA bundle once per origin, not per request.

    With ``trust_env`` (the default), ``requests`` reads ``HTTP(S)_PROXY``, ``NO_PROXY`` and
    ``REQUESTS_CA_BUNDLE``/``CURL_CA_BUNDLE`` from the environment on every request (about a
    fifth of a cache hit). A session the client owns talks to one origin, so the first
    resolution for an origin and a set of arguments is kept: a user's proxy still applies,
    read when the first request to that origin is sent. Only sessions the client builds get
    this; a caller's session is used as given.
    """
    merge = session.merge_environment_settings
    settled: dict[tuple[Any, ...], _Settings] = {}

    def merge_environment_settings(
        url: Any, proxies: Any, stream: Any, verify: Any, cert: Any
    ) -> _Settings:
        text = url.decode() if isinstance(url, bytes) else str(url or "")
        origin = text.split("/", 3)[:3]  # scheme, "", host[:port]
        try:
            key = (*origin, tuple(sorted((proxies or {}).items())), stream, verify, cert)
            hash(key)
        except TypeError:  # unhashable arguments: resolve as requests does
            return merge(url, proxies, stream, verify, cert)
        found = settled.get(key)
        if found is None:
            found = settled[key] = merge(url, proxies, stream, verify, cert)
        fresh = found.copy()
        fresh["proxies"] = dict(found["proxies"])
        return fresh

    session.merge_environment_settings = merge_environment_settings  # type: ignore[method-assign]
