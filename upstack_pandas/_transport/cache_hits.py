"""Cache hits of the client's own SQLite cache, answered without going through requests.

requests-cache answers a hit in 1-2 ms whatever the size of the response: ``requests`` prepares
the request (merging session settings, reading ``~/.netrc``), requests-cache builds the key
(normalising the URL and the JSON body), decides what to do, reads the whole row, unpickles and
restructures the stored response. For a small query that is most of a hit, through the readers
too. :class:`CacheHits` answers those hits itself:

1. The cache key: the one requests-cache made the last time this exact request was sent (method,
   URL, parameters, body, the headers but the key, the key's fingerprint, ``verify``, the
   timeout), remembered in memory and, when its response is stored, in the cache file
   (``upstack_request_keys``, by a digest of the request), so a new process finds it too. A
   request never seen goes through requests-cache, which makes its key.
2. The row's stamp (see :mod:`.cache_store`): one indexed lookup of a short text column, not the
   stored response. A row without a stamp (none stored, written by another library, one that
   ``Vary``'s) is requests-cache's to answer.
3. A copy kept in memory under that stamp is the stored response, as it was read (a stamp names
   one version of one row: any rewrite or delete changes or removes it). The hit is a fresh
   :class:`ApiResponse` around the same bytes, nothing deserialised. Otherwise the response and
   its stamp are read together, checked as requests-cache checks a hit (status 200, not expired,
   no ``Vary``), and kept (small bodies only, bounded by entries and bytes).

Expiry is checked on every hit against the stored response's own expiry time, as requests-cache
does. Anything else goes to requests-cache unchanged: ``refresh=True``, writes, a session that
is not the client's own, a cache that failed, settings changed on the session (e.g.
``session.cache_disabled()``). A hit answered here does not wait at the pacing gate: it sends
nothing.
"""

from __future__ import annotations

import dataclasses
import hashlib
import threading
from collections import OrderedDict
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, cast

import attrs
from requests.structures import CaseInsensitiveDict

from upstack_pandas._redact import is_secret_header, key_fingerprint
from upstack_pandas._transport.response import ApiResponse, build_response, looks_like_json

if TYPE_CHECKING:
    from requests_cache import CachedSession
    from requests_cache.models.response import CachedResponse

    from upstack_pandas._transport.cache_store import CacheHooks, UpstackSQLiteCache

__all__ = ["CacheHits", "Request"]

#: Bumped when what identifies a request changes (older rows of the file are then not found).
_FORMAT = 1
#: How many requests' keys a client remembers.
_MAX_KEYS = 4096


@dataclasses.dataclass(frozen=True)
class _Kept:
    """A stored response as read under ``stamp``, ready to hand out again."""

    stamp: str
    expires: datetime
    response: ApiResponse
    size: int


class CacheHits:
    """Answers hits of one client's own cached session (see the module docstring).

    Parameters
    ----------
    session : requests_cache.CachedSession
        The client's session; its backend is an ``UpstackSQLiteCache``.
    hooks : CacheHooks
        The client's cache hooks: a hit answered here is counted and registered as theirs.
    max_entries, max_bytes : int
        Bounds of the responses kept in memory (bodies larger than ``max_body`` are read from
        the file on every hit, without requests).
    max_body : int
        Largest body kept in memory.
    """

    def __init__(
        self,
        session: CachedSession,
        hooks: CacheHooks,
        *,
        max_entries: int = 64,
        max_bytes: int = 32 * 2**20,
        max_body: int = 4 * 2**20,
    ) -> None:
        self.session = session
        self.backend = cast("UpstackSQLiteCache", session.cache)
        self.hooks = hooks
        self.max_entries = max_entries
        self.max_bytes = max_bytes
        self.max_body = max_body
        self._settings = attrs.evolve(session.settings)  # a copy: compared on every lookup
        self._keys: OrderedDict[tuple[Any, ...], str] = OrderedDict()
        self._kept: OrderedDict[str, _Kept] = OrderedDict()
        self._bytes = 0
        self._lock = threading.Lock()
        #: how many stored responses were deserialised here (the rest were kept copies)
        self.deserialised = 0

    def identify(
        self,
        method: str,
        url: str,
        body: bytes | None,
        headers: Mapping[str, str],
        params: Mapping[str, Any] | None,
        timeout: Any,
    ) -> Request | None:
        """What identifies a request for :meth:`lookup` and :meth:`learn`; None when it cannot
        be answered here (unhashable parameters, settings changed on the session).

        Parameters
        ----------
        method, url : str
            The request (``url`` is the base URL and the path).
        body : bytes or None
            The request body as sent.
        headers : mapping
            The request headers as sent.
        params : mapping or None
            The query parameters.
        timeout : float or tuple
            The client's timeout (requests-cache's key function sees it).

        Returns
        -------
        Request or None
        """
        if not self._settings_unchanged():
            return None
        plain = tuple((k, v) for k, v in headers.items() if not is_secret_header(k))
        secret = next((str(v) for k, v in headers.items() if is_secret_header(k)), "")
        ident = (_FORMAT, method, url, body, tuple((params or {}).items()), plain,
                 key_fingerprint(secret), bool(self.session.verify), timeout)  # fmt: skip
        try:
            hash(ident)
        except TypeError:  # unhashable parameters: requests-cache's path
            return None
        return Request(ident)

    def lookup(self, request: Request, method: str, path: str) -> ApiResponse | None:
        """The stored response for ``request`` if requests-cache would answer it from the cache;
        None to let requests-cache decide (a miss, an expired entry, anything unusual).

        Parameters
        ----------
        request : Request
            From :meth:`identify`.
        method, path : str
            The request's method and path (for the :class:`ApiResponse`).

        Returns
        -------
        ApiResponse or None
        """
        if self.backend.broken or not self._settings_unchanged():
            return None
        with self._lock:
            key = self._keys.get(request.ident)
        if key is None:
            key = self.backend.key_for(request.digest)  # sent by an earlier process
            if key is None:
                return None
            self._remember(request, key)
        with self._lock:
            kept = self._kept.get(key)
            if kept is not None:
                self._kept.move_to_end(key)
        if kept is not None and self.backend.stamp_of(key) != kept.stamp:
            kept = None  # rewritten, deleted or cleared since: read it again
        if kept is None:
            kept = self._read(key, method, path)
            if kept is None:
                return None
        if datetime.now(UTC) >= kept.expires:
            return None  # requests-cache fetches it again
        on_bad_body = self.hooks.record(method, path, key, from_cache=True)
        return dataclasses.replace(
            kept.response, headers=CaseInsensitiveDict(kept.response.headers),
            _on_bad_body=on_bad_body,
        )  # fmt: skip

    def learn(self, request: Request, cache_key: str | None) -> None:
        """After requests-cache answered ``request``: remember the key it used (in memory, and
        in the cache file when a response is stored under it).

        Parameters
        ----------
        request : Request
            From :meth:`identify`.
        cache_key : str or None
            The response's ``cache_key``.
        """
        if not isinstance(cache_key, str) or not self._settings_unchanged():
            return
        with self._lock:
            known = self._keys.get(request.ident) == cache_key
        if not known:
            self._remember(request, cache_key)
            self.backend.remember_key(request.digest, cache_key)

    def clear(self) -> None:
        """Forget the copies kept in memory (the stamps make them unusable anyway)."""
        with self._lock:
            self._kept.clear()
            self._bytes = 0

    # ------------------------------------------------------------------------------ parts

    def _settings_unchanged(self) -> bool:
        """Whether the session still has the settings it was built with (no
        ``cache_disabled()``, no ``only_if_cached``... set on it since)."""
        return bool(self.session.settings == self._settings)

    def _remember(self, request: Request, key: str) -> None:
        with self._lock:
            self._keys[request.ident] = key
            self._keys.move_to_end(request.ident)
            if len(self._keys) > _MAX_KEYS:
                self._keys.popitem(last=False)

    def _read(self, key: str, method: str, path: str) -> _Kept | None:
        found = self.backend.stamped_response(key)
        if found is None:
            return None
        stamp, cached = found
        self.deserialised += 1
        if not _servable(cached) or cached.expires is None:
            return None
        response = build_response(method, path, cached)
        kept = _Kept(stamp, cached.expires, response, len(response.content))
        if kept.size <= self.max_body:
            with self._lock:
                old = self._kept.pop(key, None)
                self._bytes += kept.size - (old.size if old is not None else 0)
                self._kept[key] = kept
                while self._kept and (
                    len(self._kept) > self.max_entries or self._bytes > self.max_bytes
                ):
                    _, evicted = self._kept.popitem(last=False)
                    self._bytes -= evicted.size
        return kept


class Request:
    """A request as :class:`CacheHits` knows it: its identity, and a digest of it for the file.

    Parameters
    ----------
    ident : tuple
        Everything that makes the cache key (never the API key itself: its fingerprint).
    """

    __slots__ = ("_digest", "ident")

    def __init__(self, ident: tuple[Any, ...]) -> None:
        self.ident = ident
        self._digest: str | None = None

    @property
    def digest(self) -> str:
        """A hex digest of the identity (the ``upstack_request_keys`` key in the file)."""
        if self._digest is None:
            self._digest = hashlib.blake2b(repr(self.ident).encode(), digest_size=16).hexdigest()
        return self._digest


def _servable(cached: CachedResponse) -> bool:
    """What requests-cache's own checks would let through as a hit of our session."""
    return (
        cached.status_code == 200
        and not cached.is_expired
        and "Vary" not in cached.headers
        and looks_like_json(cached.content or b"")  # else the slow path raises and evicts it
    )
