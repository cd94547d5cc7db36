"""up.events against the emulator over HTTP: validation before sending, batching within the
documented limits, both body versions, idempotent resends and the per-row result frame.

What the emulator stored is read from its control endpoint (``Emulator.state_summary``).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pandas as pd
import pytest
from pytest_httpserver import HTTPServer

import upstack_pandas as up
from upstack_pandas.emulator.http.server import Emulator

# raw/events-*.md: the two documented request bodies, as rows of a frame.
SINGLE_ROW: dict[str, Any] = {  # the single-event page's example
    "name": "purchase", "email": "jane@example.com", "userId": "cust_889", "value": 99.9,
    "currency": "USD", "orderId": "10421",
    "items": [{"id": "SKU1", "name": "Tee", "price": 49.95, "quantity": 2}],
}  # fmt: skip
BATCH_ROW: dict[str, Any] = {  # the batch page's example
    "name": "purchase", "email": ["jane@example.com"], "userId": ["cust_889"],
    "ipAddress": "203.0.113.5", "pageUrl": "https://shop.com/checkout", "fbc": "fb.1.abc",
    "gclid": "xyz", "orderId": "10421", "value": 99.9, "currency": "USD",
    "items": [{"id": "SKU1", "name": "Tee", "price": 49.95, "quantity": 2}],
}  # fmt: skip


@pytest.fixture(autouse=True)
def fresh(emulator: Emulator) -> Iterator[None]:
    emulator.reset_state()
    yield
    emulator.clear_faults()
    emulator.reset_state()


@pytest.fixture
def offline(httpserver: HTTPServer) -> Iterator[up.Client]:
    client = up.Client(
        api_key="upstack_offline_0123456789", pixel_id="px", base_url=httpserver.url_for(""),
        cache=False,
    )  # fmt: skip
    yield client
    assert httpserver.log == [], "a request was sent"
    client.close()


def stored(emulator: Emulator) -> dict[str, Any]:
    state: dict[str, Any] = emulator.state_summary(events=1000)["pixels"][emulator.pixel_id][
        "events"
    ]
    return state


def test_the_documented_batch_body(emulator: Emulator, client: up.Client) -> None:
    result = up.events.send(pd.DataFrame([BATCH_ROW]), client=client)
    assert result.columns.tolist() == list(up.events.RESULT_COLUMNS)
    assert result["accepted"].tolist() == [True]
    event = stored(emulator)["events"][0]
    assert event["version"] == "batch"
    body = event["event"]
    assert body["user"] == {"emails": ["jane@example.com"], "userIds": ["cust_889"]}
    assert body["page"] == {"url": "https://shop.com/checkout"}
    assert body["click"] == {"fbc": "fb.1.abc", "gclid": "xyz"}
    assert body["data"] == {"orderId": "10421", "value": 99.9, "currency": "USD",
                            "items": BATCH_ROW["items"]}  # fmt: skip
    assert body["eventId"] == result.loc[0, "eventId"]


def test_the_documented_single_body(emulator: Emulator, client: up.Client) -> None:
    result = up.events.send([SINGLE_ROW], version="single", client=client)
    assert result["accepted"].tolist() == [True]
    event = stored(emulator)["events"][0]
    assert event["version"] == "single"
    assert event["event"]["user"] == {"email": "jane@example.com", "userId": "cust_889"}
    assert event["event"]["properties"] == {"orderId": "10421", "items": SINGLE_ROW["items"]}
    assert result.loc[0, "eventId"]  # the id the API gave it


def test_auto_chooses_single_only_for_single_only_fields(
    emulator: Emulator, client: up.Client
) -> None:
    up.events.send([{"name": "signup", "email": "a@b.co"}], client=client)
    up.events.send([{"name": "signup", "email": "a@b.co", "firstName": "Ann"}], client=client)
    versions = [e["version"] for e in stored(emulator)["events"]]
    assert sorted(versions) == ["batch", "single"]


def test_rows_are_batched_within_the_limit(emulator: Emulator, client: up.Client) -> None:
    frame = pd.DataFrame({"name": "page_view", "eventId": [f"pv-{i}" for i in range(250)],
                          "pageUrl": "https://shop.com/", "timestamp": pd.Timestamp("2026-11-20T10:00Z")})  # fmt: skip
    frame.index = pd.Index([f"row{i}" for i in range(250)])
    result = up.events.send(frame, client=client)
    assert result.index.equals(frame.index)
    assert result["accepted"].all()
    assert result["batch"].tolist() == [0] * 100 + [1] * 100 + [2] * 50
    assert stored(emulator)["stored"] == 250
    assert stored(emulator)["events"][0]["event"]["timestamp"] == "2026-11-20T10:00:00Z"
    small = up.events.send(
        frame.head(5).assign(eventId=[f"x{i}" for i in range(5)]), batch_size=2, client=client
    )
    assert small["batch"].tolist() == [0, 0, 1, 1, 2]


@pytest.mark.parametrize(
    ("row", "reason"),
    [
        ({"email": "a@b.co"}, "name: is required"),
        ({"name": "9lives"}, "name:"),
        ({"name": "x", "timestamp": "2026-11-20T10:00:00"}, "time zone"),
        ({"name": "x", "timestamp": "yesterday"}, "timestamp"),
        ({"name": "x", "eventId": "has space"}, "eventId"),
        ({"name": "x", "ipAddress": "999.1.1.1"}, "ipAddress"),
        ({"name": "x", "value": "ten"}, "value"),
        ({"name": "x", "nested": {"a": 1}}, "nested"),
        ({"name": "x", "email": [f"{i}@b.co" for i in range(21)]}, "email"),
    ],
)
def test_invalid_rows_raise_before_sending(
    offline: up.Client, row: dict[str, Any], reason: str
) -> None:
    with pytest.raises(up.ValidationError, match=reason):
        up.events.send([{"name": "ok"}, row], client=offline)
    checked = up.events.validate([{"name": "ok"}, row])
    assert checked["valid"].tolist() == [True, False]
    assert reason in checked.loc[1, "reason"]


def test_skip_sends_the_valid_rows_and_reports_the_others(
    emulator: Emulator, client: up.Client
) -> None:
    frame = pd.DataFrame({"name": ["purchase", "bad name", "purchase"], "eventId": ["a", "b", "a"]})
    result = up.events.send(frame, on_invalid="skip", client=client)
    assert result["accepted"].tolist() == [True, False, False]
    assert "name:" in result.loc[1, "reason"]
    assert "used by an earlier row" in result.loc[2, "reason"]
    assert result["batch"].isna().tolist() == [False, True, True]
    assert stored(emulator)["stored"] == 1


def test_version_rules_are_checked(offline: up.Client) -> None:
    with pytest.raises(up.ValidationError, match="version"):
        up.events.send([{"name": "x"}], version="v3", client=offline)
    with pytest.raises(up.ValidationError, match="batch version"):
        up.events.send([{"name": "x", "eventId": "e1"}], version="single", client=offline)
    with pytest.raises(up.ValidationError, match="single version"):
        up.events.send([{"name": "x", "firstName": "A"}], version="batch", client=offline)
    with pytest.raises(up.ValidationError, match="batch_size"):
        up.events.send([{"name": "x"}], batch_size=101, client=offline)


def test_a_lost_batch_is_resent_once_and_stored_once(emulator: Emulator, client: up.Client) -> None:
    emulator.inject("status", path="/tr/api/events", status=500, count=1)
    result = up.events.send([{"name": "purchase", "eventId": "order-1"}], client=client)
    assert result["accepted"].tolist() == [True]
    again = up.events.send([{"name": "purchase", "eventId": "order-1"}], client=client)
    assert again["accepted"].tolist() == [True]  # acknowledged, deduplicated by the API
    state = stored(emulator)
    assert state["stored"] == 1 and state["duplicates"] == 1


def test_an_unknown_outcome_is_reported_per_row(emulator: Emulator, client: up.Client) -> None:
    emulator.inject("status", path="/tr/api/events", status=500)
    result = up.events.send([{"name": "a"}, {"name": "b"}], retries=1, client=client)
    assert result["accepted"].tolist() == [False, False]
    assert all("unknown outcome" in r for r in result["reason"])
    single = up.events.send([{"name": "a", "firstName": "A"}], client=client)
    assert "not resent" in single.loc[0, "reason"]


def test_missing_scope_raises_permission_denied(emulator: Emulator) -> None:
    limited = emulator.client(api_key=emulator.keys["costs_write"], cache=False)
    with limited, pytest.raises(up.PermissionDenied) as caught:
        up.events.send([{"name": "purchase"}], client=limited)
    assert caught.value.required_scope == "events:write"
