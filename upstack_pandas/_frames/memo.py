"""A memo of what a cache hit needs (decoded frames, encoded compare), in memory and on disk.

requests-cache hands back the stored bytes in a few milliseconds, but turning a 2 MB body into a
frame costs several times that. The memo keeps the finished primary/compare frames of recent
responses, keyed by their content: the path and a digest (BLAKE2b, 160 bits) of the whole body.
The same bytes always decode to the same frames, and a different body never hits another's
entry, whatever the server's headers say (a server or proxy may repeat a request id or a
``Date``). The digest costs about a millisecond per megabyte and is paid once: the cache stores
it with the response (:func:`response_identity`). Hits return copies callers may change
(shallow ones under copy-on-write, without attrs: the reader sets its own). Besides the frames
an entry may hold what else a hit needs (the reader keeps the encoded compare, the details and
the finished frame's scope). Bounded by entries and by bytes.

Each client keeps its own memo (:func:`memo_of`, created on first use and stored on the client).
When the client's cache is a SQLite file, the memo also keeps its entries beside it, in the
``<cache file>.frames/`` directory (one file per entry, 0600 in a 0700 directory, written
atomically), so a hit from the on-disk cache in a new process skips decoding too. Entries are
Python pickles, like the responses requests-cache stores in the SQLite file next to them: the
directory is trusted exactly as much as the cache file. ``upstack_pandas.cache.clear(client=...)``
empties both. Bounded by entries and by bytes in memory (sizes from ``nbytes``), by bytes on disk
(oldest files removed first).
"""

from __future__ import annotations

import contextlib
import copy
import dataclasses
import hashlib
import logging
import os
import pickle
import tempfile
import threading
from collections import OrderedDict
from collections.abc import Hashable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from upstack_pandas._transport.cache_policy import BODY_DIGEST_HEADER, body_digest

if TYPE_CHECKING:
    from upstack_pandas._transport.client import Client
    from upstack_pandas._transport.response import ApiResponse

#: primary frame, compare (a frame, or the encoded compare), then the response's extras
Frames = tuple[Any, ...]

_LOG = logging.getLogger("upstack_pandas.cache")
_SUFFIX = ".frames"
_FORMAT = 3  # bumped when what an entry holds changes: older files are then ignored


def response_identity(response: ApiResponse) -> Hashable:
    """What identifies a response's body: its path, length and a digest of every byte.

    Never a header the server sent: two responses with the same request id and date but
    different bodies are two entries. A response from the cache carries the digest computed
    when it was stored (:data:`~upstack_pandas._transport.cache_store.BODY_DIGEST_HEADER`, set
    by the cache over whatever the server sent), so a hit does not hash the body again.
    """
    content = response.content
    digest = response.headers.get(BODY_DIGEST_HEADER) if response.from_cache else None
    return (response.path, len(content), digest or body_digest(content))


def nbytes(value: Any) -> int:
    """Memory held by a memo value: array ``nbytes`` for frames (no per-cell scan), text length.

    A NumPy column of fixed-width values is its item size times its length, without building a
    Series; a MultiIndex its levels and codes (``MultiIndex.nbytes`` would build its hash
    engine: 5 ms for 2 years daily by channel).
    """
    if isinstance(value, pd.DataFrame):
        rows, columns = len(value), 0
        for i, dtype in enumerate(value.dtypes):
            if isinstance(dtype, np.dtype) and dtype.kind in "biufcmM":
                columns += dtype.itemsize * rows
            else:
                columns += int(value.iloc[:, i].array.nbytes)
        return columns + _index_nbytes(value.index)
    if isinstance(value, str | bytes):
        return len(value)
    if isinstance(value, Mapping):
        return sum(nbytes(v) for v in value.values())
    if isinstance(value, tuple | list):
        return sum(nbytes(v) for v in value)
    return 0


def _index_nbytes(index: pd.Index) -> int:
    if isinstance(index, pd.MultiIndex):
        levels = sum(_index_nbytes(level) for level in index.levels)
        return levels + sum(int(codes.nbytes) for codes in index.codes)
    return int(index.nbytes)


class FrameMemo:
    """A thread-safe LRU of decoded frames, optionally kept on disk too.

    Parameters
    ----------
    max_entries
        How many responses' frames to keep in memory.
    max_bytes
        Upper bound on the memory the kept frames use; a frame larger than this is not kept.
    directory
        Where to keep entries on disk (None: memory only).
    max_disk_bytes
        Upper bound on the entries on disk; the oldest files are removed first.
    """

    def __init__(
        self,
        max_entries: int = 32,
        max_bytes: int = 512 * 2**20,
        *,
        directory: str | os.PathLike[str] | None = None,
        max_disk_bytes: int = 1024 * 2**20,
    ) -> None:
        self.max_entries = max_entries
        self.max_bytes = max_bytes
        self.directory = Path(directory) if directory is not None else None
        self.max_disk_bytes = max_disk_bytes
        self._items: OrderedDict[Hashable, tuple[Frames, int]] = OrderedDict()
        self._bytes = 0
        self._lock = threading.Lock()

    def get(self, key: Hashable) -> Frames | None:
        """Copies of the frames stored under ``key`` (memory, then disk), or ``None``."""
        with self._lock:
            item = self._items.get(key)
            if item is not None:
                self._items.move_to_end(key)
        if item is not None:
            return _copy(item[0])
        loaded = self._load(key)
        if loaded is None:
            return None
        found, size = loaded
        self._keep(key, found, size)
        return _copy(found)

    def put(self, key: Hashable, frames: Frames) -> None:
        """Keep copies of ``frames`` under ``key`` (evicting the oldest when full)."""
        size = nbytes(frames)
        if size > self.max_bytes:
            return
        kept = _copy(frames)
        self._keep(key, kept, size)
        self._store(key, kept, size)

    def _keep(self, key: Hashable, frames: Frames, size: int) -> None:
        with self._lock:
            old = self._items.pop(key, None)
            if old is not None:
                self._bytes -= old[1]
            self._items[key] = (frames, size)
            self._bytes += size
            while self._items and (
                len(self._items) > self.max_entries or self._bytes > self.max_bytes
            ):
                _, (_, evicted) = self._items.popitem(last=False)
                self._bytes -= evicted

    # --------------------------------------------------------------------------- on disk

    def _path(self, key: Hashable) -> Path | None:
        if self.directory is None:
            return None
        digest = hashlib.blake2b(repr((_FORMAT, key)).encode(), digest_size=20).hexdigest()
        return self.directory / f"{digest}.pickle"

    def _load(self, key: Hashable) -> tuple[Frames, int] | None:
        path = self._path(key)
        if path is None:
            return None
        try:
            raw = path.read_bytes()
        except OSError:
            return None
        try:
            stored_key, frames, size = pickle.loads(raw)  # trusted like the cache file beside it
        except Exception:  # a truncated or foreign file: drop it, decode again
            with contextlib.suppress(OSError):
                path.unlink()
            return None
        if stored_key != key:  # a digest collision: never someone else's frames
            return None
        with contextlib.suppress(OSError):
            os.utime(path)  # recently used: evicted last
        return frames, int(size)  # the size measured when stored: no scan of the frames

    def _store(self, key: Hashable, frames: Frames, size: int) -> None:
        path = self._path(key)
        if path is None or self.directory is None or size > self.max_disk_bytes:
            return
        try:
            self.directory.mkdir(mode=0o700, parents=True, exist_ok=True)
            data = pickle.dumps((key, frames, size), protocol=pickle.HIGHEST_PROTOCOL)
            fd, tmp = tempfile.mkstemp(dir=self.directory, suffix=".tmp")  # created 0600
            try:
                with os.fdopen(fd, "wb") as f:
                    f.write(data)
                os.replace(tmp, path)
            except BaseException:
                with contextlib.suppress(OSError):
                    os.unlink(tmp)
                raise
            self._trim_disk()
        except OSError as exc:  # a full or read-only disk costs a decode next time, nothing more
            _LOG.debug("frame memo: could not write %s: %s", path.name, exc)

    def _trim_disk(self) -> None:
        assert self.directory is not None
        files = []
        for entry in os.scandir(self.directory):
            if entry.name.endswith(".pickle"):
                with contextlib.suppress(OSError):
                    stat = entry.stat()
                    files.append((stat.st_mtime, stat.st_size, entry.path))
        total = sum(size for _, size, _ in files)
        for _, size, name in sorted(files):
            if total <= self.max_disk_bytes:
                break
            with contextlib.suppress(OSError):
                os.unlink(name)
                total -= size

    def clear(self) -> None:
        """Forget every kept frame, in memory and on disk."""
        with self._lock:
            self._items.clear()
            self._bytes = 0
        if self.directory is not None and self.directory.is_dir():
            for entry in os.scandir(self.directory):
                if entry.name.endswith((".pickle", ".tmp")):
                    with contextlib.suppress(OSError):
                        os.unlink(entry.path)

    def __len__(self) -> int:
        return len(self._items)


def _copy(frames: Frames) -> Frames:
    """Copies the caller may change: frames without their attrs (the reader sets its own).

    Under copy-on-write (pandas 3, or 2.2 with the option on) a shallow copy is enough: a
    change to either side copies the data it changes then. Otherwise the data is copied.
    """
    deep = not _copy_on_write()
    copies = []
    for item in frames:
        if isinstance(item, pd.DataFrame):
            item = item.copy(deep=deep)
            item.attrs = {}
        else:
            item = _fresh(item)
        copies.append(item)
    return tuple(copies)


_ATOMS = (str, int, float, bool, type(None))


def _fresh(value: Any) -> Any:
    """A deep copy of ``value``, cheap for what the memo holds (dicts and lists of JSON
    values, the details' dataclasses of them); anything else goes through ``copy.deepcopy``."""
    if isinstance(value, _ATOMS):
        return value
    if type(value) is dict:
        return {k: _fresh(v) for k, v in value.items()}
    if type(value) is list:
        return [_fresh(v) for v in value]
    if type(value) is tuple:
        return tuple(_fresh(v) for v in value)
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        twin = copy.copy(value)
        for f in dataclasses.fields(value):
            object.__setattr__(twin, f.name, _fresh(getattr(value, f.name)))
        return twin
    return copy.deepcopy(value)


_PANDAS_3 = int(pd.__version__.split(".")[0]) >= 3


def _copy_on_write() -> bool:
    return _PANDAS_3 or pd.options.mode.copy_on_write is True


def disk_directory(client: Client) -> Path | None:
    """Where ``client``'s memo keeps entries on disk: beside the SQLite cache file the client
    made (``Client(cache=...)``), if any; never beside a session of the user's own."""
    session = getattr(client, "session", None)
    if session is None or getattr(session, "cache", None) is None:
        return None
    from upstack_pandas._transport.cache_store import UpstackSQLiteCache, location_of

    if not isinstance(session.cache, UpstackSQLiteCache):
        return None

    location = location_of(session)
    if location is None or not os.path.isfile(location):
        return None
    return Path(location + _SUFFIX)


_CREATE = threading.Lock()


def memo_of(client: Client) -> FrameMemo:
    """The client's frame memo, created on first use and kept on the client."""
    memo: FrameMemo | None = getattr(client, "_frame_memo", None)
    if memo is None:
        with _CREATE:
            memo = getattr(client, "_frame_memo", None)
            if memo is None:
                memo = FrameMemo(directory=disk_directory(client))
                client._frame_memo = memo
    return memo
