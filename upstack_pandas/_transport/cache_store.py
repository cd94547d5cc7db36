"""requests-cache plumbing of a client's cached session: the backend, keys, files, hooks.

The transport builds its session here (``build_session``) and calls ``CacheHooks`` around each
request; ``upstack_pandas.cache`` (``info``, ``clear``) reads what this module records.

``UpstackSQLiteCache`` applies a ``CachePolicy`` when saving and replaces secret header values
(any casing) by ``REDACTED`` before anything reaches the disk. Cache keys add the pixel id and
a one-way fingerprint of the key to requests-cache's own key, so a different key or pixel never
receives another's responses, even when they share a file. Files are created 0600 in a 0700
directory.

A cache that fails at run time (disk full, a file that is corrupt, locked for good or read-only)
never breaks a request: the first failure warns once (``CacheUnavailableWarning``), and from then
on the backend answers every lookup with a miss and stores nothing, so requests go to the server
uncached. An entry is written index first, response last, so a failed write leaves no response
behind that the indexes do not know of. A 401 drops every cached response of that key
(``forget_key``): a revoked key must not keep reading from the cache.

Every response this backend stores gets a stamp: a random token in a column we add to
requests-cache's ``responses`` table (:data:`STAMP_COLUMN`), set right after the row is written.
requests-cache writes a row with ``INSERT OR REPLACE``, which leaves the column empty, so a stamp
names one version of one row: any rewrite (ours, another process's, an older library's) clears
it or replaces it, a delete or a clear removes it. :mod:`.cache_hits` reads it to tell, with one
indexed lookup and without reading the stored response, whether the copy it holds is still
the stored one.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import os
import re
import secrets
import sqlite3
import threading
import warnings
from collections.abc import Callable, Iterable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

import requests
from requests.structures import CaseInsensitiveDict
from requests_cache import CachedSession
from requests_cache.backends.sqlite import SQLiteCache, SQLiteDict
from requests_cache.cache_keys import create_key, redact_response
from requests_cache.models.response import CachedResponse

from upstack_pandas._endpoints import DROPPED_BY_WRITES, cache_class, is_read
from upstack_pandas._redact import is_secret_header, key_fingerprint
from upstack_pandas._transport.cache_policy import BODY_DIGEST_HEADER, body_digest
from upstack_pandas._transport.response import looks_like_json

if TYPE_CHECKING:
    from upstack_pandas._transport.cache_policy import CachePolicy

__all__ = [
    "STAMP_COLUMN",
    "CacheHooks",
    "CacheUnavailableWarning",
    "UpstackSQLiteCache",
    "build_session",
    "cache_file",
    "default_directory",
    "evict",
    "invalidate_dashboard_reads",
    "location_of",
]

ENV_CACHE_DIR = "UPSTACK_CACHE_DIR"
#: Header names requests-cache leaves out of keys and stored requests (it compares exactly).
IGNORED_HEADERS = ("X-API-Key", "x-api-key", "X-Api-Key", "X-API-KEY", "Authorization")
#: Column added to requests-cache's ``responses`` table: the stamp of the row's version.
STAMP_COLUMN = "upstack_stamp"
_HEX_KEY = re.compile(r"[0-9a-f]{1,64}")
logger = logging.getLogger("upstack_pandas")


def _scrub(response: CachedResponse) -> None:
    """Replace secret header values, whatever their casing, in a response about to be stored."""
    for item in (response, *response.history):
        item.request.headers = CaseInsensitiveDict(
            {k: ("REDACTED" if is_secret_header(k) else v) for k, v in item.request.headers.items()}
        )
        item.headers = CaseInsensitiveDict(
            {k: ("REDACTED" if is_secret_header(k) else v) for k, v in item.headers.items()}
        )


class CacheUnavailableWarning(RuntimeWarning):
    """The response cache failed (disk full, corrupt or read-only file): requests go uncached."""


#: What a failing cache file raises (sqlite3's errors; OSError for the file system itself).
CACHE_FAILURES = (sqlite3.Error, OSError)


class SerialSQLiteDict(SQLiteDict):  # type: ignore[misc]
    """requests-cache's ``SQLiteDict`` with every use of its connection serialised.

    requests-cache shares one connection between a cache's threads and reads from it without
    its lock. SQLite then runs each call safely, but Python's ``sqlite3`` reads a failed
    statement's error code from the connection *after* the call, and another thread's statement
    in between replaces it (SQLite documents this race for the serialized threading mode). A
    busy ``BEGIN IMMEDIATE``, which requests-cache retries, then surfaced as
    ``DatabaseError('no more rows available')`` (``SQLITE_DONE``, a concurrent read's "error")
    and failed a request (CI, ``test_cache_threads``). Here reads hold the dict's lock too, so
    one thread at a time uses a connection; the lock is shared by every table of one cache.
    """

    @contextlib.contextmanager
    def connection(self, commit: bool = False) -> Iterator[sqlite3.Connection]:
        with self._lock, super().connection(commit) as con:
            yield con

    def __iter__(self) -> Iterator[str]:
        # read whole under the lock: a generator left unfinished must not hold it
        with self.connection() as con:
            keys = [row[0] for row in con.execute(f"SELECT key FROM {self.table_name}")]
        yield from keys


class UpstackSQLiteCache(SQLiteCache):  # type: ignore[misc]
    """SQLite backend that applies a ``CachePolicy``, never stores secrets, and degrades.

    After its first failure (see the module docstring) ``broken`` is True: lookups miss and
    nothing is stored.
    """

    def __init__(self, db_path: str | Path, policy: CachePolicy, **kwargs: Any) -> None:
        super().__init__(db_path, **kwargs)
        # requests-cache's own two tables, remade serialised (see SerialSQLiteDict)
        serializer, lock = self.responses.serializer, self.responses._lock
        self.responses.close()  # type: ignore[no-untyped-call]
        self.redirects.close()  # type: ignore[no-untyped-call]
        self.responses = SerialSQLiteDict(
            db_path, table_name="responses", serializer=serializer, lock=lock, **kwargs
        )
        self.redirects = SerialSQLiteDict(
            db_path, table_name="redirects", serializer=None, lock=lock, **kwargs
        )
        self.policy = policy
        self.broken = False
        self._warned = threading.Lock()
        index = {
            "lock": self.responses._lock,
            "serializer": None,
            "wal": kwargs.get("wal", False),
            "busy_timeout": kwargs.get("busy_timeout"),
        }
        self.dashboard_keys = SerialSQLiteDict(
            str(db_path), table_name="upstack_dashboard_keys", **index
        )
        #: cache key → fingerprint of the API key that fetched it (for ``forget_key``)
        self.key_owners = SerialSQLiteDict(str(db_path), table_name="upstack_key_owners", **index)
        #: digest of a request as the client sends it → the cache key requests-cache made of it
        #: (for :mod:`.cache_hits`; only for requests whose response is stored)
        self.request_keys = SerialSQLiteDict(
            str(db_path), table_name="upstack_request_keys", **index
        )
        self._add_stamp_column()

    def _add_stamp_column(self) -> bool:
        """Add :data:`STAMP_COLUMN` to the responses table if it lacks it; whether it has it.

        A file that cannot take it (read-only, locked) keeps working without stamps: every hit
        then takes requests-cache's own path.
        """
        table = self.responses.table_name
        try:
            with self.responses.connection() as con:
                columns = {row[1] for row in con.execute(f"PRAGMA table_info({table})")}
                if STAMP_COLUMN not in columns:
                    con.execute(f"ALTER TABLE {table} ADD COLUMN {STAMP_COLUMN} TEXT")
        except sqlite3.Error as exc:
            logger.debug("response cache: no stamps (%s)", exc)
            return False
        return True

    def _stamp(self, cache_key: str) -> None:
        """Give the row just written under ``cache_key`` a new stamp (see the module docstring).

        Not in the write's transaction: until the stamp is set, and if setting it fails, the row
        has none, and a hit reads it the slow way (so a failure here is not a cache failure).
        """
        statement = f"UPDATE {self.responses.table_name} SET {STAMP_COLUMN}=? WHERE key=?"
        try:
            values = (secrets.token_hex(12), cache_key)
            with self.responses.connection() as con:
                try:
                    con.execute(statement, values)
                except sqlite3.OperationalError as exc:
                    # the table was dropped and made again (a clear in another process)
                    if STAMP_COLUMN not in str(exc) or not self._add_stamp_column():
                        raise
                    con.execute(statement, values)
        except CACHE_FAILURES as exc:
            logger.debug("response cache: a row left without a stamp (%s)", exc)

    def remember_key(self, request: str, cache_key: str) -> None:
        """Record that the request with digest ``request`` is stored under ``cache_key``, if a
        response is stored under it (a new process then finds the key without requests)."""
        if self.broken or not (_HEX_KEY.fullmatch(request) and _HEX_KEY.fullmatch(cache_key)):
            return
        table, responses = self.request_keys.table_name, self.responses.table_name
        statement = (
            f"INSERT OR REPLACE INTO {table} (key, value) SELECT ?, ? "
            f"WHERE EXISTS (SELECT 1 FROM {responses} WHERE key=?)"
        )
        try:
            with self.request_keys.connection() as con:
                con.execute(statement, (request, cache_key, cache_key))
        except CACHE_FAILURES as exc:  # only a new process's first hit is slower
            logger.debug("response cache: request key not recorded (%s)", exc)

    def key_for(self, request: str) -> str | None:
        """The cache key recorded for the request with digest ``request`` (see
        :meth:`remember_key`), or None."""
        found = self._select(request, "value", table=self.request_keys.table_name)
        return str(found[0]) if found is not None and found[0] is not None else None

    def stamp_of(self, cache_key: str) -> str | None:
        """The stamp of the response stored under ``cache_key``; None: none stored, no stamp,
        or the cache cannot tell (broken, locked, an older table): the caller asks the slow way.
        """
        found = self._select(cache_key, STAMP_COLUMN)
        return None if found is None else found[0]  # type: ignore[no-any-return]

    def stamped_response(self, cache_key: str) -> tuple[str, CachedResponse] | None:
        """The response stored under ``cache_key`` and its stamp, read together; None if it has
        no stamp (or none is stored, or the cache cannot tell)."""
        found = self._select(cache_key, f"{STAMP_COLUMN}, value")
        if found is None or found[0] is None:
            return None
        response = self.responses.deserialize(cache_key, found[1])
        if not isinstance(response, CachedResponse):
            return None
        return found[0], response

    def _select(
        self, cache_key: str, columns: str, table: str | None = None
    ) -> tuple[Any, ...] | None:
        if self.broken or _HEX_KEY.fullmatch(cache_key) is None:
            return None
        # the key in the statement, as requests-cache's own reads do (checked hex above)
        table = table or self.responses.table_name
        statement = f"SELECT {columns} FROM {table} WHERE key='{cache_key}'"
        try:
            with self.responses.connection() as con:
                row = con.execute(statement).fetchone()
        except CACHE_FAILURES:  # the slow path meets the failure again and reports it
            return None
        return tuple(row) if row is not None else None

    def fail(self, exc: BaseException, doing: str) -> None:
        """Record a cache failure: warn once, then run uncached."""
        if self._warned.acquire(blocking=False):
            warnings.warn(
                f"the response cache at {self.db_path} failed while {doing} "
                f"({type(exc).__name__}: {exc}); requests go to the server uncached from now "
                "on. Run `upstack-pandas cache clear` or delete the file to start afresh, or "
                "pass cache=False.",
                CacheUnavailableWarning,
                stacklevel=2,
            )
            logger.warning("response cache disabled after a failure while %s: %s", doing, exc)
        self.broken = True

    def get_response(self, key: str, default: Any = None) -> CachedResponse | None:
        if self.broken:
            return default  # type: ignore[no-any-return]
        try:
            return super().get_response(key, default)  # type: ignore[no-any-return]
        except CACHE_FAILURES as exc:
            self.fail(exc, "reading a response")
            return default  # type: ignore[no-any-return]

    def delete(self, *args: Any, **kwargs: Any) -> None:
        if self.broken:
            return
        try:
            super().delete(*args, **kwargs)
            if kwargs.get("expired"):  # the request keys of responses no longer stored
                table, responses = self.request_keys.table_name, self.responses.table_name
                with self.request_keys.connection() as con:
                    con.execute(
                        f"DELETE FROM {table} WHERE value NOT IN (SELECT key FROM {responses})"
                    )
        except CACHE_FAILURES as exc:
            self.fail(exc, "deleting responses")

    def save_response(
        self,
        response: requests.Response,
        cache_key: str | None = None,
        expires: datetime | None = None,
    ) -> None:
        request = response.request
        path = urlsplit(request.url or "").path
        body = request.body if isinstance(request.body, bytes) else (request.body or "").encode()
        if self.broken:
            return
        expiry = self.policy.expire_after(request.method or "GET", path, body, response.content)
        if expiry is None or expiry <= timedelta(0):
            return
        cache_key = cache_key or self.create_key(request)
        cached = CachedResponse.from_response(response, expires=datetime.now(UTC) + expiry)
        cached = redact_response(cached, self._settings.ignored_parameters)
        _scrub(cached)
        cached.headers[BODY_DIGEST_HEADER] = body_digest(response.content)
        secret = CaseInsensitiveDict(request.headers or {}).get("x-api-key") or ""
        try:
            # indexes first, the response last: a failure leaves no response they miss
            self.key_owners[cache_key] = key_fingerprint(str(secret))
            if cache_class(request.method or "GET", path) in DROPPED_BY_WRITES:
                self.dashboard_keys[cache_key] = path
            self.responses[cache_key] = cached
            if "Vary" not in cached.headers:  # a hit that varies takes requests-cache's path
                self._stamp(cache_key)
        except CACHE_FAILURES as exc:
            self.fail(exc, "storing a response")
            with contextlib.suppress(*CACHE_FAILURES):
                self.responses.bulk_delete([cache_key])  # type: ignore[no-untyped-call]

    def forget_key(self, api_key: str) -> int:
        """Drop every response fetched with ``api_key``; return how many."""
        if self.broken:
            return 0
        fingerprint = key_fingerprint(api_key)
        try:
            doomed = [k for k, owner in self.key_owners.items() if owner == fingerprint]
            if doomed:
                self.responses.bulk_delete(doomed)  # type: ignore[no-untyped-call]
                self.key_owners.bulk_delete(doomed)  # type: ignore[no-untyped-call]
                self.dashboard_keys.bulk_delete(doomed)  # type: ignore[no-untyped-call]
        except CACHE_FAILURES as exc:
            self.fail(exc, "dropping a revoked key's responses")
            return 0
        return len(doomed)

    def clear(self) -> None:
        super().clear()  # type: ignore[no-untyped-call]
        self.dashboard_keys.clear()  # type: ignore[no-untyped-call]
        self.key_owners.clear()  # type: ignore[no-untyped-call]
        self.request_keys.clear()  # type: ignore[no-untyped-call]
        self.broken = False
        self._add_stamp_column()  # the responses table was dropped and made again

    def close(self) -> None:
        super().close()  # type: ignore[no-untyped-call]
        self.dashboard_keys.close()  # type: ignore[no-untyped-call]
        self.key_owners.close()  # type: ignore[no-untyped-call]
        self.request_keys.close()  # type: ignore[no-untyped-call]


def _cache_key(request: Any, **kwargs: Any) -> str:
    """requests-cache's key, plus the pixel id and a fingerprint of the key (never the key)."""
    base = create_key(request, **kwargs)
    headers = CaseInsensitiveDict(request.headers or {})
    secret = headers.get("x-api-key") or headers.get("authorization") or ""
    pixel = headers.get("x-pixel-id") or ""
    material = f"{base}|{pixel}|{key_fingerprint(str(secret))}".encode()
    return hashlib.blake2b(material, digest_size=12).hexdigest()


def _cacheable(response: requests.Response) -> bool:
    """Store only complete JSON success responses of reads."""
    request = response.request
    method = (request.method or "").upper()
    if response.status_code != 200 or method not in ("GET", "POST"):
        return False
    if not is_read(method, urlsplit(request.url or "").path):
        return False  # writes: dashboard creates, copies, from-preset
    return looks_like_json(response.content)


def _slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9.]+", "-", text).strip("-")[:48] or "x"


def default_directory() -> Path:
    """Return the default cache directory: ``$UPSTACK_CACHE_DIR`` or the user cache dir."""
    override = os.environ.get(ENV_CACHE_DIR)
    if override:
        return Path(override).expanduser()
    import platformdirs

    return Path(platformdirs.user_cache_dir("upstack-pandas", appauthor=False))


def cache_file(policy: CachePolicy, base_url: str, pixel_id: str, api_key: str) -> Path:
    """Return the SQLite file for these credentials (the key only enters as a fingerprint).

    Parameters
    ----------
    policy : CachePolicy
    base_url, pixel_id, api_key : str

    Returns
    -------
    pathlib.Path
    """
    if policy.location is not None:
        location = Path(policy.location).expanduser()
        if location.suffix:
            return location
        directory = location
    else:
        directory = default_directory()
    parts = urlsplit(base_url)
    name = f"{_slug(parts.netloc + parts.path)}_{_slug(pixel_id)}_{key_fingerprint(api_key)[:12]}"
    return directory / f"{name}.sqlite"


def _secure(path: Path) -> None:
    """Create the cache directory (0700) and file (0600) with tight permissions."""
    directory = path.parent
    if not directory.exists():
        directory.mkdir(mode=0o700, parents=True)
        os.chmod(directory, 0o700)
    elif directory == default_directory() and os.name == "posix":
        with contextlib.suppress(OSError):
            os.chmod(directory, 0o700)
    fd = os.open(path, os.O_CREAT | os.O_RDWR, 0o600)
    os.close(fd)
    if os.name == "posix":
        os.chmod(path, 0o600)


def build_session(policy: CachePolicy, base_url: str, pixel_id: str, api_key: str) -> CachedSession:
    """Build the cached session a ``Client`` uses.

    Parameters
    ----------
    policy : CachePolicy
    base_url, pixel_id, api_key : str

    Returns
    -------
    requests_cache.CachedSession
    """
    path = cache_file(policy, base_url, pixel_id, api_key)
    _secure(path)
    # WAL lets readers and a writer work at once (several clients, threads or processes may share
    # one file); busy_timeout makes a writer wait for another instead of failing "locked".
    backend = UpstackSQLiteCache(path, policy=policy, wal=True, busy_timeout=30_000)
    return CachedSession(
        backend=backend,
        expire_after=-1,  # the backend sets each response's expiry from the policy
        allowable_methods=("GET", "POST"),
        allowable_codes=(200,),
        ignored_parameters=IGNORED_HEADERS,
        match_headers=False,
        filter_fn=_cacheable,
        key_fn=_cache_key,
    )


def location_of(session: requests.Session) -> str | None:
    """Return where a cached session stores responses (a file path, or the backend's name)."""
    backend = getattr(session, "cache", None)
    if backend is None:
        return None
    try:
        return str(backend.db_path)
    except (AttributeError, NotImplementedError):
        return f"{type(backend).__name__}({getattr(backend, 'cache_name', '')})"


def check_foreign_session(session: requests.Session) -> None:
    """Warn when a user's CachedSession would store the API key."""
    backend = getattr(session, "cache", None)
    if isinstance(backend, UpstackSQLiteCache):
        return
    ignored = set(getattr(getattr(session, "settings", None), "ignored_parameters", None) or ())
    if "X-API-Key" not in ignored:
        logger.warning(
            "your CachedSession does not list 'X-API-Key' in ignored_parameters, so it would "
            "store the API key with each response; pass ignored_parameters=['X-API-Key'] "
            "(requests-cache's default does)"
        )


def evict(session: requests.Session, cache_key: str) -> None:
    """Drop one cached response (e.g. one whose body turned out not to be JSON)."""
    backend = getattr(session, "cache", None)
    if backend is None or getattr(backend, "broken", False):
        return
    try:
        backend.responses.bulk_delete([cache_key])
    except CACHE_FAILURES as exc:
        if isinstance(backend, UpstackSQLiteCache):
            backend.fail(exc, "dropping a response")


def invalidate_dashboard_reads(session: requests.Session, keys: Iterable[str] = ()) -> None:
    """Drop cached dashboard reads after a dashboard write."""
    backend = getattr(session, "cache", None)
    if backend is None:
        return
    if getattr(backend, "broken", False):
        return
    doomed = set(keys)
    try:
        if isinstance(backend, UpstackSQLiteCache):
            doomed |= set(backend.dashboard_keys.keys())
            backend.dashboard_keys.bulk_delete(list(doomed))  # type: ignore[no-untyped-call]
        if doomed:
            backend.responses.bulk_delete(list(doomed))
    except CACHE_FAILURES as exc:
        if isinstance(backend, UpstackSQLiteCache):
            backend.fail(exc, "dropping dashboard reads")


_stats: dict[str, list[int]] = {}
_stats_lock = threading.Lock()


def lookups(location: str) -> tuple[int, int]:
    """Return (hits, misses) counted in this process for a cache location."""
    with _stats_lock:
        hits, misses = _stats.get(location, (0, 0))
    return hits, misses


class CacheHooks:
    """What a ``Client`` does around a cached session (its own or the user's).

    Parameters
    ----------
    session : requests_cache.CachedSession
    """

    def __init__(self, session: requests.Session) -> None:
        self.session = session
        self.location = location_of(session)
        self._dashboard_keys: set[str] = set()
        self._lock = threading.Lock()
        check_foreign_session(session)

    def before_request(
        self, method: str, path: str, headers: dict[str, str], refresh: bool
    ) -> dict[str, Any]:
        """Keep writes out of the cache; turn ``refresh`` into a forced refresh."""
        if not is_read(method, path):
            headers["Cache-Control"] = "no-store"
            return {}
        return {"force_refresh": True} if refresh else {}

    def after_response(
        self, method: str, path: str, response: requests.Response
    ) -> Callable[[], None] | None:
        """Count the lookup, remember dashboard reads; return a callback that evicts the entry."""
        cache_key = getattr(response, "cache_key", None) or None
        return self.record(
            method, path, cache_key, from_cache=bool(getattr(response, "from_cache", False))
        )

    def record(
        self, method: str, path: str, cache_key: str | None, *, from_cache: bool
    ) -> Callable[[], None] | None:
        """:meth:`after_response` for a response known by its cache key (a hit answered by
        :mod:`.cache_hits`, which never builds a ``requests`` response)."""
        if cache_key and cache_class(method, path) in DROPPED_BY_WRITES:
            with self._lock:
                self._dashboard_keys.add(cache_key)
        if self.location is not None and is_read(method, path):
            with _stats_lock:
                counts = _stats.setdefault(self.location, [0, 0])
                counts[0 if from_cache else 1] += 1
        if cache_key is None:
            return None
        return lambda: evict(self.session, cache_key)

    def forget_key(self, api_key: str) -> None:
        """Drop the cached responses of a key the server refused (401).

        Only the client's own cache knows which key fetched what; a caller's ``CachedSession``
        is left alone.
        """
        backend = getattr(self.session, "cache", None)
        if isinstance(backend, UpstackSQLiteCache):
            dropped = backend.forget_key(api_key)
            if dropped:
                logger.info("dropped %d cached responses of a key the server refused", dropped)

    def invalidate_dashboards(self) -> None:
        """Drop cached dashboard reads (after any dashboard write)."""
        with self._lock:
            keys, self._dashboard_keys = self._dashboard_keys, set()
        invalidate_dashboard_reads(self.session, keys)
