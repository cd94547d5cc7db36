"""Server-side events of one pixel: accepted, stored (bounded) and counted."""

from __future__ import annotations

import copy
import threading
from collections import OrderedDict, deque
from collections.abc import Mapping
from typing import Any

from upstack_pandas.emulator.engine.resources.ids import new_ulid, timestamp

__all__ = ["KEPT_EVENTS", "EventLog"]

#: Events kept per pixel for inspection (older ones are dropped; the counters keep counting).
KEPT_EVENTS = 10_000
_SEEN_IDS = 100_000  # client event ids remembered for deduplication


class EventLog:
    """What ``POST /tr/api/events`` stored for one pixel (thread-safe)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._events: deque[dict[str, Any]] = deque(maxlen=KEPT_EVENTS)
        self._seen: OrderedDict[str, str] = OrderedDict()
        self.received = 0
        self.stored = 0
        self.duplicates = 0

    def ingest(self, body: Mapping[str, Any]) -> dict[str, Any]:
        """Store a validated body: a batch (``events``) or a single event (``name``)."""
        if "events" in body:
            with self._lock:
                for event in body["events"]:
                    self._store(event, "batch", event.get("eventId"))
            return {"success": True, "eventsIngested": len(body["events"])}
        with self._lock:
            event_id = self._store(body, "single", None)
        return {"success": True, "eventId": event_id}

    def _store(self, event: Mapping[str, Any], version: str, client_id: str | None) -> str:
        self.received += 1
        if client_id is not None and client_id in self._seen:
            self.duplicates += 1
            self._seen.move_to_end(client_id)
            return self._seen[client_id]
        event_id = new_ulid()
        if client_id is not None:
            self._seen[client_id] = event_id
            if len(self._seen) > _SEEN_IDS:
                self._seen.popitem(last=False)
        self._events.append(
            {
                "eventId": event_id,
                "version": version,
                "receivedAt": timestamp(),
                "event": copy.deepcopy(dict(event)),
            }
        )
        self.stored += 1
        return event_id

    def summary(self, limit: int = 100) -> dict[str, Any]:
        """Counters and the last ``limit`` stored events (newest last)."""
        with self._lock:
            kept = list(self._events)[-limit:] if limit > 0 else []
            return {
                "received": self.received,
                "stored": self.stored,
                "duplicates": self.duplicates,
                "events": copy.deepcopy(kept),
            }
