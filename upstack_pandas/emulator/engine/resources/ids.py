"""Server-generated ids: ULIDs (cost lines, COG lines, events) and timestamps."""

from __future__ import annotations

import os
import threading
import time
import uuid
from datetime import UTC, datetime

__all__ = ["new_ulid", "new_uuid", "timestamp"]

_CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
_lock = threading.Lock()
_last = [0, 0]  # last (milliseconds, randomness): ids of one millisecond stay sorted


def new_ulid() -> str:
    """Return a new ULID (26 Crockford base-32 characters, sortable by creation time)."""
    with _lock:
        millis = time.time_ns() // 1_000_000
        if millis <= _last[0]:
            millis, randomness = _last[0], _last[1] + 1
        else:
            randomness = int.from_bytes(os.urandom(10), "big") >> 1
        _last[0], _last[1] = millis, randomness
    value = (millis << 80) | (randomness & ((1 << 80) - 1))
    return "".join(_CROCKFORD[(value >> shift) & 31] for shift in range(125, -1, -5))


def new_uuid() -> str:
    """Return a new UUID4 string."""
    return str(uuid.uuid4())


def timestamp() -> str:
    """Return the current UTC time as ISO 8601 with milliseconds (``...T12:00:00.000Z``)."""
    now = datetime.now(UTC)
    return now.strftime("%Y-%m-%dT%H:%M:%S.") + f"{now.microsecond // 1000:03d}Z"
