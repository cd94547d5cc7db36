"""``POST /tr/api/events`` over HTTP: both documented bodies, limits, idempotency, storage."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from upstack_pandas.emulator.http.server import Emulator

EVENTS = "/tr/api/events"
# raw/events-send-a-server-side-event.md and raw/events-send-server-side-events.md, verbatim.
SINGLE = {
    "name": "purchase",
    "user": {"email": "jane@example.com", "userId": "cust_889"},
    "value": 99.9,
    "currency": "USD",
    "properties": {
        "orderId": "10421",
        "items": [{"id": "SKU1", "name": "Tee", "price": 49.95, "quantity": 2}],
    },
}
BATCH_EVENT = {
    "name": "purchase",
    "user": {"emails": ["jane@example.com"], "userIds": ["cust_889"]},
    "ipAddress": "203.0.113.5",
    "page": {"url": "https://shop.com/checkout"},
    "click": {"fbc": "fb.1.abc", "gclid": "xyz"},
    "data": {
        "orderId": "10421",
        "value": 99.9,
        "currency": "USD",
        "items": [{"id": "SKU1", "name": "Tee", "price": 49.95, "quantity": 2}],
    },
}


def _paths(response: Any) -> list[str]:
    return [e["path"] for e in response.json()["errors"]]


def _stored(emulator: Emulator, pixel: str | None = None) -> dict[str, Any]:
    summary = emulator.state_summary(events=1000)["pixels"]
    found: dict[str, Any] = summary.get(pixel or emulator.pixel_id, {}).get(
        "events", {"received": 0}
    )
    return found


def test_single_event(api: Any, emulator: Emulator, resource_validator: Any) -> None:
    first = api.ok("POST", EVENTS, json=SINGLE)
    resource_validator("EventsResponse", first)
    second = api.ok("POST", EVENTS, json=SINGLE)
    assert first["success"] is True and set(first) == {"success", "eventId"}
    assert len(first["eventId"]) == 26 and first["eventId"] != second["eventId"]  # new each call
    stored = _stored(emulator)
    assert (stored["received"], stored["stored"]) == (2, 2)
    assert stored["events"][0]["event"] == SINGLE and stored["events"][0]["version"] == "single"


def test_batch(api: Any, emulator: Emulator) -> None:
    body = {"events": [BATCH_EVENT, {**BATCH_EVENT, "name": "add_to_cart"}]}
    assert api.ok("POST", EVENTS, json=body) == {"success": True, "eventsIngested": 2}
    stored = _stored(emulator)
    assert [e["event"]["name"] for e in stored["events"]] == ["purchase", "add_to_cart"]
    assert {e["version"] for e in stored["events"]} == {"batch"}


def test_documented_batch_example(api: Any) -> None:
    assert api.ok("POST", EVENTS, json={"events": [BATCH_EVENT]}) == {
        "success": True,
        "eventsIngested": 1,
    }


def test_batch_limits(api: Any, emulator: Emulator) -> None:
    assert api.ok("POST", EVENTS, json={"events": [BATCH_EVENT] * 100})["eventsIngested"] == 100
    for events in ([], [BATCH_EVENT] * 101):
        response = api("POST", EVENTS, json={"events": events})
        assert response.status_code == 400 and _paths(response) == ["events"]
    assert _stored(emulator)["received"] == 100


def test_event_ids_make_retries_idempotent(api: Any, emulator: Emulator) -> None:
    body = {
        "events": [{**BATCH_EVENT, "eventId": "order-10421"}, {"name": "lead", "eventId": "l-1"}]
    }
    assert api.ok("POST", EVENTS, json=body)["eventsIngested"] == 2
    assert api.ok("POST", EVENTS, json=body)["eventsIngested"] == 2  # acknowledged again
    stored = _stored(emulator)
    assert (stored["received"], stored["stored"], stored["duplicates"]) == (4, 2, 2)
    # Another pixel has its own ids.
    other = {"key": "other_pixel", "pixel": emulator.pixel_ids[1]}
    api.ok("POST", EVENTS, json=body, **other)
    assert _stored(emulator, emulator.pixel_ids[1])["stored"] == 2


@pytest.mark.parametrize(
    ("body", "path"),
    [
        ({**SINGLE, "name": "1purchase"}, "name"),
        ({**SINGLE, "name": "x" * 101}, "name"),
        ({**SINGLE, "currency": "DOLLARS-US-X"}, "currency"),
        ({**SINGLE, "properties": {"nested": {"a": 1}}}, "properties.nested"),
        ({**SINGLE, "user": {"email": "a@b.c", "ssn": "1"}}, "user.ssn"),
        ({"events": [{**BATCH_EVENT, "ipAddress": "999.1.1.1"}]}, "events.0.ipAddress"),
        ({"events": [{**BATCH_EVENT, "timestamp": "yesterday"}]}, "events.0.timestamp"),
        ({"events": [BATCH_EVENT, {"user": {}}]}, "events.1.name"),
        (
            {"events": [{**BATCH_EVENT, "data": {"items": [{"deep": {"x": 1}}]}}]},
            "events.0.data.items.0.deep",
        ),
    ],
)
def test_invalid_events_are_400_and_nothing_is_queued(
    api: Any, emulator: Emulator, body: Any, path: str
) -> None:
    response = api("POST", EVENTS, json=copy.deepcopy(body))
    assert response.status_code == 400, response.text
    assert path in _paths(response), response.text
    assert _stored(emulator)["received"] == 0


def test_a_body_mixing_both_versions_is_400(api: Any) -> None:
    response = api("POST", EVENTS, json={**SINGLE, "events": [BATCH_EVENT]})
    assert response.status_code == 400


def test_missing_scope_is_403(api: Any) -> None:
    for key in ("analytics_read", "costs_write", "measures_only"):
        response = api("POST", EVENTS, key=key, json=SINGLE)
        assert response.status_code == 403
        assert response.json()["requiredScope"] == "events:write"


def test_another_pixel_cannot_be_targeted(api: Any, emulator: Emulator) -> None:
    # One key, one pixel: the demo key sending to the second pixel is a 401 (D06).
    response = api("POST", EVENTS, pixel=emulator.pixel_ids[1], json=SINGLE)
    assert response.status_code == 401
    assert _stored(emulator, emulator.pixel_ids[1])["received"] == 0
