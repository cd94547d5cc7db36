"""An in-process memo of frames decoded from responses, so a cache hit skips decoding too.

requests-cache hands back the stored bytes in a few milliseconds, but turning a 2 MB body into a
frame costs several times that. The memo keeps the finished primary/compare frames of recent
responses, keyed by their content: the path and a digest (BLAKE2b, 160 bits) of the whole body.
The same bytes always decode to the same frames, and a different body never hits another's
entry, whatever its headers say (a server or proxy may repeat a request id or a ``Date``; the
digest costs about a millisecond per megabyte, a small part of decoding). Hits return deep
copies, so callers may mutate what they get. Bounded by entries and by bytes.

Each client keeps its own memo (:func:`memo_of`, created on first use and stored on the client);
``upstack_pandas.cache.clear(client=...)`` empties it. There is no process-wide memo.
"""

from __future__ import annotations

import copy
import hashlib
import threading
from collections import OrderedDict
from collections.abc import Hashable
from typing import TYPE_CHECKING, Any

import pandas as pd

if TYPE_CHECKING:
    from upstack_pandas._transport.client import Client
    from upstack_pandas._transport.response import ApiResponse

#: primary frame, compare frame, and the response's extras (its per-measure details...)
Frames = tuple[pd.DataFrame, pd.DataFrame, Any]


def response_identity(response: ApiResponse) -> Hashable:
    """What identifies a response's body: its path, length and a digest of every byte.

    Never a header: two responses with the same request id and date but different bodies are
    two entries.
    """
    content = response.content
    return (response.path, len(content), hashlib.blake2b(content, digest_size=20).digest())


class FrameMemo:
    """A thread-safe LRU of decoded frames.

    Parameters
    ----------
    max_entries
        How many responses' frames to keep.
    max_bytes
        Upper bound on the memory the kept frames use; a frame larger than this is not kept.
    """

    def __init__(self, max_entries: int = 32, max_bytes: int = 512 * 2**20) -> None:
        self.max_entries = max_entries
        self.max_bytes = max_bytes
        self._items: OrderedDict[Hashable, tuple[Frames, int]] = OrderedDict()
        self._bytes = 0
        self._lock = threading.Lock()

    def get(self, key: Hashable) -> Frames | None:
        """Deep copies of the frames stored under ``key``, or ``None``."""
        with self._lock:
            item = self._items.get(key)
            if item is None:
                return None
            self._items.move_to_end(key)
        return _copy(item[0])

    def put(self, key: Hashable, frames: Frames) -> None:
        """Keep deep copies of ``frames`` under ``key`` (evicting the oldest when full)."""
        size = sum(int(f.memory_usage(index=True, deep=False).sum()) for f in frames[:2])
        if size > self.max_bytes:
            return
        kept = _copy(frames)
        with self._lock:
            old = self._items.pop(key, None)
            if old is not None:
                self._bytes -= old[1]
            self._items[key] = (kept, size)
            self._bytes += size
            while self._items and (
                len(self._items) > self.max_entries or self._bytes > self.max_bytes
            ):
                _, (_, evicted) = self._items.popitem(last=False)
                self._bytes -= evicted

    def clear(self) -> None:
        """Forget every kept frame."""
        with self._lock:
            self._items.clear()
            self._bytes = 0

    def __len__(self) -> int:
        return len(self._items)


def _copy(frames: Frames) -> Frames:
    primary, compare, extras = frames
    return primary.copy(deep=True), compare.copy(deep=True), copy.deepcopy(extras)


_CREATE = threading.Lock()


def memo_of(client: Client) -> FrameMemo:
    """The client's frame memo, created on first use and kept on the client."""
    memo: FrameMemo | None = getattr(client, "_frame_memo", None)
    if memo is None:
        with _CREATE:
            memo = getattr(client, "_frame_memo", None)
            if memo is None:
                memo = FrameMemo()
                client._frame_memo = memo
    return memo
