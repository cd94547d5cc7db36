"""Server-side events from a DataFrame: one row per event, validated, batched, one result per row.

The function uses the default client (looked up at call time) unless given ``client=``; it
needs the ``events:write`` scope::

    import upstack_pandas as up

    frame = pd.DataFrame({"name": ["purchase"], "email": ["jane@example.com"], "value": [99.9]})
    result = up.events.send(frame)        # accepted, eventId, reason, batch per row

Columns
    ``name`` (required), ``eventId``, ``timestamp`` (tz-aware), ``email``, ``userId``,
    ``phone`` (a string or a list of strings), ``firstName``, ``lastName`` (single version
    only), ``ipAddress``, ``pageUrl``, ``pageReferrer``, ``pageTitle``, ``fbc``, ``fbp``,
    ``gclid``, ``ttclid``, ``msclkid``, ``value``, ``currency``, ``items`` (a list of flat
    dicts), ``data`` (a dict merged into the event's data) and any other column: a custom
    property (a primitive or a list of primitives). Empty cells are left out.

Versions (contract D96)
    The documentation shows two bodies for ``POST /tr/api/events``: a batch
    (``{"events": [...]}``, up to 100 events, optional client ``eventId``) and a single event.
    ``version="auto"`` uses the batch unless a row needs a single-only field (``firstName``,
    ``lastName``); the batch is preferred because its event ids make retries idempotent.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import math
import re
import uuid
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

import orjson
import pandas as pd

from upstack_pandas import _wire as wire
from upstack_pandas._errors import (
    AuthenticationError,
    PermissionDenied,
    UpstackError,
    ValidationError,
)
from upstack_pandas._resources.checks import invalid, table_records
from upstack_pandas._resources.session import resolve
from upstack_pandas._resources.writes import outcome_unknown
from upstack_pandas._transport.response import json_with

if TYPE_CHECKING:
    from upstack_pandas._transport.client import Client

__all__ = ["MAX_BATCH", "RESULT_COLUMNS", "VERSIONS", "send", "validate"]

EVENTS_PATH = "/tr/api/events"
VERSIONS = ("auto", "batch", "single")
MAX_BATCH = 100
#: Bodies stay below this many bytes (the API takes up to 1 MiB).
MAX_BODY_BYTES = 900_000
RESULT_COLUMNS = ("accepted", "eventId", "reason", "batch")
_NAME = re.compile(r"^[a-zA-Z][a-zA-Z0-9_]*$")
_EVENT_ID = re.compile(r"^[A-Za-z0-9_.:-]{1,100}$")
_IDENTITIES = {"email": ("emails", 320), "userId": ("userIds", 200), "phone": ("phones", 50)}
_SINGLE_ONLY = {"firstName": 100, "lastName": 100}
_PAGE = {"pageUrl": ("url", 2000), "pageReferrer": ("referrer", 2000), "pageTitle": ("title", 500)}
_CLICK = ("fbc", "fbp", "gclid", "ttclid", "msclkid")
_BATCH_ONLY = ("eventId", "timestamp", "ipAddress", *_PAGE, *_CLICK)
_RESERVED = {
    "name",
    "value",
    "currency",
    "items",
    "data",
    *_IDENTITIES,
    *_SINGLE_ONLY,
    *_BATCH_ONLY,
}
_MAX_PROPERTIES = 200
_MAX_ARRAY = 500
_MAX_STRING = 10_000


class _RowProblem(Exception):
    """A row that cannot be sent; the message is the reason."""


def _choose_version(records: Sequence[Mapping[str, Any]], version: str) -> str:
    if version not in VERSIONS:
        raise invalid("version", f"{version!r} is not one of {', '.join(VERSIONS)}", "pick one")
    if version != "auto":
        return version
    uses_single_only = any(k in r for r in records for k in _SINGLE_ONLY)
    return "single" if uses_single_only else "batch"


def _text(column: str, value: Any, max_length: int) -> str:
    if not isinstance(value, str) or not value or len(value) > max_length:
        raise _RowProblem(f"{column}: expected text of 1–{max_length} characters, got {value!r}")
    return value


def _number(column: str, value: Any) -> float | int:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise _RowProblem(f"{column}: expected a finite number, got {value!r}")
    return value


def _timestamp(value: Any) -> str:
    if isinstance(value, str):
        try:
            stamp = pd.Timestamp(value)
        except ValueError:
            raise _RowProblem(f"timestamp: {value!r} is not a date-time") from None
    elif isinstance(value, (pd.Timestamp, dt.datetime)):
        stamp = pd.Timestamp(value)
    else:
        raise _RowProblem(f"timestamp: expected a date-time, got {value!r}")
    if stamp.tzinfo is None:
        raise _RowProblem("timestamp: has no time zone (give UTC, e.g. '2026-11-20T10:00:00Z')")
    utc = stamp.tz_convert("UTC")
    text = utc.strftime("%Y-%m-%dT%H:%M:%S")
    if utc.microsecond:
        text += f".{utc.microsecond:06d}"
    return f"{text}Z"


def _primitive(column: str, value: Any) -> Any:
    if value is None or isinstance(value, bool):
        return value
    if isinstance(value, (int, float)):
        return _number(column, value)
    if isinstance(value, str):
        if len(value) > _MAX_STRING:
            raise _RowProblem(f"{column}: longer than {_MAX_STRING} characters")
        return value
    if isinstance(value, (pd.Timestamp, dt.datetime)):
        return _timestamp(value)
    raise _RowProblem(f"{column}: {type(value).__name__} is not a string, number or bool")


def _property(column: str, value: Any) -> Any:
    if isinstance(value, (list, tuple)):
        if len(value) > _MAX_ARRAY:
            raise _RowProblem(f"{column}: more than {_MAX_ARRAY} values")
        return [_primitive(column, v) for v in value]
    if isinstance(value, Mapping):
        raise _RowProblem(f"{column}: nested objects are not allowed (only 'items' holds objects)")
    return _primitive(column, value)


def _items(value: Any) -> list[dict[str, Any]]:
    if not isinstance(value, (list, tuple)) or len(value) > _MAX_ARRAY:
        raise _RowProblem(f"items: expected a list of up to {_MAX_ARRAY} dicts")
    out = []
    for j, item in enumerate(value):
        if not isinstance(item, Mapping) or len(item) > 50:
            raise _RowProblem(f"items[{j}]: expected a flat dict of up to 50 fields")
        out.append({str(k): _primitive(f"items[{j}].{k}", v) for k, v in item.items()})
    return out


def _identity_list(column: str, value: Any, max_length: int) -> list[str]:
    values = [value] if isinstance(value, str) else value
    if not isinstance(values, (list, tuple)) or not 1 <= len(values) <= 20:
        raise _RowProblem(f"{column}: expected a string or a list of 1–20 strings")
    return [_text(column, v, max_length) for v in values]


def _properties(record: Mapping[str, Any]) -> dict[str, Any]:
    data: dict[str, Any] = {}
    extra = record.get("data")
    if extra is not None:
        if not isinstance(extra, Mapping):
            raise _RowProblem("data: expected a dict of properties")
        for key, value in extra.items():
            data[str(key)] = _items(value) if key == "items" else _property(f"data.{key}", value)
    for key, value in record.items():
        if key not in _RESERVED:
            data[key] = _property(key, value)
    if "items" in record:
        data["items"] = _items(record["items"])
    if len(data) > _MAX_PROPERTIES:
        raise _RowProblem(f"more than {_MAX_PROPERTIES} properties")
    return data


def _name(record: Mapping[str, Any]) -> str:
    if "name" not in record:
        raise _RowProblem("name: is required")
    name = record["name"]
    if not isinstance(name, str) or not _NAME.match(name) or len(name) > 100:
        raise _RowProblem(
            f"name: {name!r} must start with a letter and use only letters, digits and _"
        )
    return name


def _batch_event(record: Mapping[str, Any]) -> dict[str, Any]:
    """A batch event from a row (its ``eventId`` always set)."""
    for column in _SINGLE_ONLY:
        if column in record:
            raise _RowProblem(f"{column}: only the single version takes it (version='single')")
    event: dict[str, Any] = {"name": _name(record)}
    event_id = record.get("eventId")
    if event_id is None:
        event_id = f"up-{uuid.uuid4().hex}"
    elif not isinstance(event_id, str) or not _EVENT_ID.match(event_id):
        raise _RowProblem(f"eventId: {event_id!r} must be 1–100 of A-Z a-z 0-9 _ . : -")
    event["eventId"] = event_id
    if "timestamp" in record:
        event["timestamp"] = _timestamp(record["timestamp"])
    user = {
        key: _identity_list(column, record[column], limit)
        for column, (key, limit) in _IDENTITIES.items()
        if column in record
    }
    if user:
        event["user"] = user
    if "ipAddress" in record:
        try:
            event["ipAddress"] = str(ipaddress.ip_address(str(record["ipAddress"])))
        except ValueError:
            raise _RowProblem(f"ipAddress: {record['ipAddress']!r} is not an IP address") from None
    page = {
        key: _text(column, record[column], limit)
        for column, (key, limit) in _PAGE.items()
        if column in record
    }
    if page:
        event["page"] = page
    click = {c: _text(c, record[c], 500) for c in _CLICK if c in record}
    if click:
        event["click"] = click
    data = _properties(record)
    if "value" in record:
        data["value"] = _number("value", record["value"])
    if "currency" in record:
        data["currency"] = _text("currency", record["currency"], 10)
    if data:
        event["data"] = data
    return event


def _single_event(record: Mapping[str, Any]) -> dict[str, Any]:
    for column in _BATCH_ONLY:
        if column in record:
            raise _RowProblem(f"{column}: only the batch version takes it (version='batch')")
    event: dict[str, Any] = {"name": _name(record)}
    user: dict[str, Any] = {}
    for column, (_, limit) in _IDENTITIES.items():
        if column in record:
            if not isinstance(record[column], str):
                raise _RowProblem(f"{column}: the single version takes one string")
            user[column] = _text(column, record[column], limit)
    for column, limit in _SINGLE_ONLY.items():
        if column in record:
            user[column] = _text(column, record[column], limit)
    if user:
        event["user"] = user
    if "value" in record:
        event["value"] = _number("value", record["value"])
    if "currency" in record:
        event["currency"] = _text("currency", record["currency"], 10)
    properties = _properties(record)
    if properties:
        event["properties"] = properties
    return event


def _prepare(
    events: pd.DataFrame | Sequence[Mapping[str, Any]], version: str
) -> tuple[pd.Index, str, list[dict[str, Any] | None], pd.DataFrame]:
    records = table_records("events", events)
    index = events.index if isinstance(events, pd.DataFrame) else pd.RangeIndex(len(records))
    chosen = _choose_version(records, version)
    build = _batch_event if chosen == "batch" else _single_event
    bodies: list[dict[str, Any] | None] = []
    result = pd.DataFrame(
        {
            "accepted": pd.Series([False] * len(records), dtype=bool),
            "eventId": pd.Series([None] * len(records), dtype=object),
            "reason": pd.Series([None] * len(records), dtype=object),
            "batch": pd.Series([pd.NA] * len(records), dtype="Int64"),
        }
    )
    seen: set[str] = set()
    for i, record in enumerate(records):
        try:
            body = build(record)
            event_id = body.get("eventId")
            if event_id is not None:
                if event_id in seen:
                    raise _RowProblem(f"eventId: {event_id!r} is used by an earlier row")
                seen.add(event_id)
                result.at[i, "eventId"] = event_id
            if len(orjson.dumps(body)) > MAX_BODY_BYTES:
                raise _RowProblem("the event is larger than the API's 1 MiB body limit")
        except _RowProblem as problem:
            bodies.append(None)
            result.at[i, "reason"] = str(problem)
            continue
        bodies.append(body)
    return index, chosen, bodies, result


def validate(
    events: pd.DataFrame | Sequence[Mapping[str, Any]], *, version: str = "auto"
) -> pd.DataFrame:
    """Check events as :func:`send` would, without sending anything.

    Parameters
    ----------
    events : DataFrame or list of dict
        One row per event (see the module's column list).
    version : {"auto", "batch", "single"}
        The body version (``auto``: see the module docstring).

    Returns
    -------
    pandas.DataFrame
        Indexed like ``events``: ``valid`` (bool), ``eventId`` (a batch row's own id, or an
        example of the generated kind: ``send`` generates fresh ones) and ``reason`` (why a row
        is invalid).
    """
    index, _, _, result = _prepare(events, version)
    frame = pd.DataFrame(
        {"valid": result["reason"].isna(), "eventId": result["eventId"], "reason": result["reason"]}
    )
    frame.index = index
    return frame


def _batches(
    bodies: Sequence[tuple[int, dict[str, Any]]], size: int
) -> list[list[tuple[int, dict[str, Any]]]]:
    out: list[list[tuple[int, dict[str, Any]]]] = []
    current: list[tuple[int, dict[str, Any]]] = []
    current_bytes = 12
    for position, body in bodies:
        length = len(orjson.dumps(body)) + 1
        if current and (len(current) >= size or current_bytes + length > MAX_BODY_BYTES):
            out.append(current)
            current, current_bytes = [], 12
        current.append((position, body))
        current_bytes += length
    if current:
        out.append(current)
    return out


_EVENT_PATH = re.compile(r"^events\.(\d+)")


def _send_batch(
    api: Client,
    batch: list[tuple[int, dict[str, Any]]],
    number: int,
    result: pd.DataFrame,
    retries: int,
) -> None:
    pending = list(batch)
    attempts = 0
    while pending:
        try:
            response = api.post(EVENTS_PATH, {"events": [body for _, body in pending]})
            json_with(response, wire.SUCCESS, bool)
        except ValidationError as error:
            entries = [wire.error_entry(e) for e in error.errors]
            named = {int(m.group(1)) for path, _ in entries if (m := _EVENT_PATH.match(path))}
            named = {i for i in named if i < len(pending)}
            if not named:  # the API refused the whole batch without naming an event
                for position, _ in pending:
                    result.at[position, "reason"] = f"refused: {error.message}"
                    result.at[position, "batch"] = number
                return
            for i in sorted(named):
                position = pending[i][0]
                messages = [
                    message
                    for path, message in entries
                    if (m := _EVENT_PATH.match(path)) and int(m.group(1)) == i
                ]
                result.at[position, "reason"] = "; ".join(m for m in messages if m) or error.message
                result.at[position, "batch"] = number
            pending = [p for i, p in enumerate(pending) if i not in named]
            continue  # the others were not queued (a batch is validated whole): send them again
        except (PermissionDenied, AuthenticationError):
            raise  # the key, not the rows: no row could be sent
        except UpstackError as error:
            if outcome_unknown(error) and attempts < retries:
                attempts += 1  # every event carries an eventId: a resend is stored once
                continue
            for position, _ in pending:
                result.at[position, "reason"] = (
                    f"unknown outcome (resend the same rows; their eventIds make it safe): "
                    f"{error.message}"
                    if outcome_unknown(error)
                    else f"refused: {error.message}"
                )
                result.at[position, "batch"] = number
            return
        for position, _ in pending:
            result.at[position, "accepted"] = True
            result.at[position, "batch"] = number
        return


def send(
    events: pd.DataFrame | Sequence[Mapping[str, Any]],
    *,
    version: str = "auto",
    batch_size: int = MAX_BATCH,
    on_invalid: str = "raise",
    retries: int = 2,
    client: Client | None = None,
) -> pd.DataFrame:
    """Send server-side events, one row per event, and say what happened to each.

    Parameters
    ----------
    events : DataFrame or list of dict
        One row per event (see the module's column list).
    version : {"auto", "batch", "single"}
        The body version. ``auto``: batch, unless a row has ``firstName`` or ``lastName``
        (single-only fields). Batch rows without an ``eventId`` get a generated one.
    batch_size : int
        Events per batch request (1–100); batches are also kept under 1 MiB.
    on_invalid : {"raise", "skip"}
        What an invalid row does: ``raise`` a ``ValidationError`` naming it before anything is
        sent, or ``skip`` it (its result row says why) and send the others.
    retries : int
        Resends of a batch whose outcome is unknown (a 5xx or a lost response); safe because
        every batch event carries an ``eventId`` the API deduplicates. Single events are never
        resent (the API gives each call a new event id).
    client : Client, optional
        Defaults to the default client; needs ``events:write``.

    Returns
    -------
    pandas.DataFrame
        Indexed like ``events``: ``accepted`` (bool), ``eventId`` (the batch id sent, or the
        id the API gave a single event), ``reason`` (why not accepted: invalid, refused by the
        API with its message, or an unknown outcome) and ``batch`` (the request number,
        missing for rows not sent).

    Raises
    ------
    ValidationError
        A bad argument, or (``on_invalid="raise"``) an invalid row, before any request.
    PermissionDenied, AuthenticationError
        The key lacks ``events:write`` or is not valid (raised, not reported per row).
    """
    if (
        isinstance(batch_size, bool)
        or not isinstance(batch_size, int)
        or not (1 <= batch_size <= MAX_BATCH)
    ):
        raise invalid("batch_size", f"{batch_size!r} is outside 1–100", "use 1 to 100")
    if on_invalid not in ("raise", "skip"):
        raise invalid("on_invalid", f"{on_invalid!r} is not 'raise' or 'skip'", "pick one")
    if isinstance(retries, bool) or not isinstance(retries, int) or not 0 <= retries <= 10:
        raise invalid("retries", f"{retries!r} is outside 0–10", "use 0 to 10")
    index, chosen, bodies, result = _prepare(events, version)
    bad = result["reason"].notna()
    if on_invalid == "raise" and bad.any():
        first = int(bad.to_numpy().nonzero()[0][0])
        raise invalid(
            f"events[{index[first]!r}]",
            str(result.at[first, "reason"]),
            f"{int(bad.sum())} invalid row(s); fix them, or pass on_invalid='skip' "
            "(up.events.validate shows every reason)",
        )
    api = resolve(client)
    ready = [(i, b) for i, b in enumerate(bodies) if b is not None]
    if chosen == "batch":
        for number, batch in enumerate(_batches(ready, batch_size)):
            _send_batch(api, batch, number, result, retries)
    else:
        for number, (position, body) in enumerate(ready):
            try:
                response = api.post(EVENTS_PATH, body)
                accepted, stored_id = wire.event_answer(json_with(response, wire.SUCCESS, bool))
            except (PermissionDenied, AuthenticationError):
                raise
            except UpstackError as error:
                result.at[position, "reason"] = (
                    f"unknown outcome (not resent: single events are not deduplicated): "
                    f"{error.message}"
                    if outcome_unknown(error)
                    else f"refused: {error.message}"
                )
                result.at[position, "batch"] = number
                continue
            result.at[position, "accepted"] = accepted
            result.at[position, "eventId"] = stored_id
            result.at[position, "batch"] = number
    result.index = index
    return result
