"""Cost settings: one DataFrame per surface, single writes, and upserts from a spreadsheet.

The functions use the default client (looked up at call time) unless given ``client=``.
Reading needs the ``costs:read`` scope, writing ``costs:write`` (an upsert needs both: it reads
the stored lines to plan)::

    import upstack_pandas as up

    lines = up.costs.lines()                     # one row per cost line, its type in costType
    up.costs.global_product_override()           # a Series: defaultCogs, globalHandlingFee, ...
    plan = up.costs.upsert_lines(sheet, dry_run=True)   # add / update / delete per row
    up.costs.upsert_lines(sheet)                 # apply it (PartialWriteError if one fails)

A cost write recalculates the COGS-based measures, so the client's cached responses are
dropped after it (contract D95).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

import pandas as pd

from upstack_pandas import _wire as wire
from upstack_pandas._errors import NotFound, TransportError
from upstack_pandas._resources.checks import (
    check_choice,
    check_date,
    check_id,
    check_money,
    check_name,
    check_text,
    invalid,
    is_missing,
    table_records,
)
from upstack_pandas._resources.session import after_cost_change, resolve
from upstack_pandas._resources.writes import PartialWriteError, apply_plan, plan_frame
from upstack_pandas._transport.response import json_with

if TYPE_CHECKING:
    from upstack_pandas._transport.client import Client
    from upstack_pandas._transport.response import ApiResponse

__all__ = [
    "COST_TYPES",
    "PartialWriteError",
    "add_line",
    "delete_line",
    "global_product_override",
    "line_type",
    "lines",
    "set_global_product_override",
    "set_shipping_settings",
    "shipping_settings",
    "update_line",
    "upsert_lines",
]

COSTS_PATH = "/accounts/api/costs"
LINES_PATH = "/accounts/api/costs/lines"
COST_TYPES = ("order", "gateway", "shipping", "variable", "fixed")
SHIPPING_METHODS = ("shopify_charges", "fixed_rate", "shipping_profiles")
_COMMON = ("name", "currency", "effectiveStartDate", "effectiveEndDate")
#: Each cost type's line shape: (required fields, every field).
SHAPES: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "order": (("name", "type", "amount"), (*_COMMON, "type", "amount")),
    "gateway": (("name", "gateway"), (*_COMMON, "gateway", "percentRate", "fixedFee")),
    "shipping": (("name", "amount"), (*_COMMON, "amount", "countries")),
    "variable": (("name", "type"), (*_COMMON, "type", "percentRate", "category", "channel")),
    "fixed": (("name", "amount"), (*_COMMON, "amount", "frequency", "category")),
}
_LINE_TYPES = {
    "order": ("per_order", "per_line_item", "per_refund_order", "per_refund_line_item"),
    "variable": ("pct_ad_spend", "pct_revenue", "pct_gross_profit"),
}
_FREQUENCIES = ("daily", "weekly", "monthly", "yearly")
#: Columns of a lines frame that are the server's, ignored when a frame is written back.
_STORED_ONLY = ("id", "costType", "createdAt", "updatedAt")
_COLUMN_ORDER = (
    "costType", "id", "name", "type", "amount", "percentRate", "fixedFee", "gateway",
    "countries", "category", "channel", "frequency", "currency", "effectiveStartDate",
    "effectiveEndDate", "createdAt", "updatedAt",
)  # fmt: skip


# ----------------------------------------------------------------------------- checks


def check_field(cost_type: str, name: str, value: Any, where: str) -> Any:
    """One line field, checked against the cost type's shape; returns the value to send."""
    allowed = SHAPES[cost_type][1]
    if name not in allowed:
        raise invalid(
            f"{where}.{name}",
            f"is not a field of a {cost_type!r} cost line",
            f"use only {', '.join(allowed)}",
        )
    parameter = f"{where}.{name}"
    if name == "name":
        return check_name(parameter, value)
    if name in ("currency",):
        return check_text(parameter, value, max_length=10)
    if name in ("gateway", "category", "channel"):
        return check_text(parameter, value, max_length=100)
    if name in ("effectiveStartDate", "effectiveEndDate"):
        return None if value is None else check_date(parameter, value)
    if name in ("amount", "fixedFee"):
        return check_money(parameter, value)
    if name == "percentRate":
        return check_money(parameter, value, maximum=100)
    if name == "type":
        return check_choice(parameter, value, _LINE_TYPES[cost_type])
    if name == "frequency":
        return check_choice(parameter, value, _FREQUENCIES)
    if name == "countries":
        items = value.split(",") if isinstance(value, str) else value
        if not isinstance(items, Sequence) or len(items) > 250:
            raise invalid(parameter, "expected a list of up to 250 country codes", "e.g. ['US']")
        codes = [str(c).strip() for c in items]
        for code in codes:
            if len(code) != 2 or not code.isascii() or not code.isupper() or not code.isalpha():
                raise invalid(parameter, f"{code!r} is not a country code", "use e.g. 'US', 'CA'")
        return codes
    raise AssertionError(name)  # pragma: no cover - every allowed field is handled above


def check_line(
    cost_type: str, line: Mapping[str, Any], where: str, *, partial: bool
) -> dict[str, Any]:
    """A whole line (``partial``: an update, no field required but at least one)."""
    if not isinstance(line, Mapping):
        raise invalid(where, "is not a mapping", "pass the line's fields as a dict")
    out = {k: check_field(cost_type, k, v, where) for k, v in line.items()}
    if partial:
        if not out:
            raise invalid(where, "has no field to change", "give at least one field")
    else:
        missing = [f for f in SHAPES[cost_type][0] if f not in out]
        if missing:
            raise invalid(
                f"{where}.{missing[0]}",
                f"is required for a {cost_type!r} cost line",
                f"give {', '.join(SHAPES[cost_type][0])}",
            )
    start, end = out.get("effectiveStartDate"), out.get("effectiveEndDate")
    if start and end and end < start:
        raise invalid(f"{where}.effectiveEndDate", "is before effectiveStartDate", "swap them")
    return out


def _cost_type(parameter: str, value: Any) -> str:
    return check_choice(parameter, value, COST_TYPES)


# ----------------------------------------------------------------------------- reads


def _config(client: Client, type: str | None = None) -> dict[str, Any]:
    params = {"type": type} if type else None
    return _config_of(client.get(COSTS_PATH, params=params))


def _config_of(response: ApiResponse) -> dict[str, Any]:
    """The ``config`` object of a costs response (``TransportError`` when there is none)."""
    config: dict[str, Any] = json_with(response, wire.COST_CONFIG, dict)[wire.COST_CONFIG]
    return config


def _lines_frame(config: Mapping[str, Any]) -> pd.DataFrame:
    rows = [
        {"costType": cost_type, **line}
        for cost_type in COST_TYPES
        for line in wire.cost_lines(config, cost_type)
    ]
    extra = sorted({k for r in rows for k in r} - set(_COLUMN_ORDER))
    columns = [*_COLUMN_ORDER, *extra]
    frame = pd.DataFrame(rows, columns=columns)
    for name in ("createdAt", "updatedAt"):
        frame[name] = pd.to_datetime(frame[name], utc=True, format="ISO8601")
    for name in ("amount", "percentRate", "fixedFee"):
        frame[name] = pd.to_numeric(frame[name]).astype("float64")
    return frame


def lines(cost_type: str | None = None, *, client: Client | None = None) -> pd.DataFrame:
    """The stored cost lines, one row per line.

    Parameters
    ----------
    cost_type : {"order", "gateway", "shipping", "variable", "fixed"}, optional
        Only lines of this type; ``None``: every type.
    client : Client, optional
        Defaults to the default client.

    Returns
    -------
    pandas.DataFrame
        Columns ``costType``, ``id``, ``name``, then every line field (``type``, ``amount``,
        ``percentRate``, ``fixedFee``, ``gateway``, ``countries``, ``category``, ``channel``,
        ``frequency``, ``currency``, ``effectiveStartDate``, ``effectiveEndDate`` as
        ``YYYY-MM-DD`` strings) and ``createdAt``/``updatedAt`` (UTC). Fields a type does not
        have are missing values. Written back through :func:`upsert_lines` it changes nothing.

    Raises
    ------
    PermissionDenied
        The key lacks ``costs:read``.
    """
    if cost_type is not None:
        _cost_type("cost_type", cost_type)
    config = _config(resolve(client), cost_type)
    return _lines_frame(config)


def global_product_override(*, client: Client | None = None) -> pd.Series:
    """The global product override: the fallback unit COGS and the global handling fee.

    Parameters
    ----------
    client : Client, optional
        Defaults to the default client.

    Returns
    -------
    pandas.Series
        ``defaultCogs`` (``None`` when unset), ``globalHandlingFee``, ``currency``.
    """
    config = _config(resolve(client), "global_product_override")
    return _override_series(config)


def _override_series(config: Mapping[str, Any]) -> pd.Series:
    record = wire.global_product_override(config)
    return pd.Series(record, name="globalProductOverride", dtype=object)


def shipping_settings(*, client: Client | None = None) -> pd.Series:
    """How shipping costs are computed.

    Parameters
    ----------
    client : Client, optional
        Defaults to the default client.

    Returns
    -------
    pandas.Series
        ``method`` (``shopify_charges``, ``fixed_rate`` or ``shipping_profiles``),
        ``fixedRateAmount`` and ``currency``. The ``shipping`` cost lines (the profiles) are in
        ``lines("shipping")``.
    """
    config = _config(resolve(client), "shipping")
    return _shipping_series(config)


def _shipping_series(config: Mapping[str, Any]) -> pd.Series:
    record = wire.shipping_settings(config)
    return pd.Series(record, name="shippingSettings", dtype=object)


# ----------------------------------------------------------------------------- single writes


def set_global_product_override(
    *,
    default_cogs: float | None = None,
    global_handling_fee: float | None = None,
    currency: str | None = None,
    client: Client | None = None,
) -> pd.Series:
    """Change the global product override (the fields given; the others are kept).

    Parameters
    ----------
    default_cogs : float, optional
        Unit COGS of variants with neither a manual COG line nor a synced cost (0–1e9).
    global_handling_fee : float, optional
        Per-unit handling fee added to every order line (0–1e9).
    currency : str, optional
        Up to 10 characters, e.g. ``"USD"``.
    client : Client, optional
        Defaults to the default client.

    Returns
    -------
    pandas.Series
        The stored override (as :func:`global_product_override`).

    Raises
    ------
    ValidationError
        No field given or a bad value (before any request).
    """
    body: dict[str, Any] = {}
    if default_cogs is not None:
        body["defaultCogs"] = check_money("default_cogs", default_cogs)
    if global_handling_fee is not None:
        body["globalHandlingFee"] = check_money("global_handling_fee", global_handling_fee)
    if currency is not None:
        body["currency"] = check_text("currency", currency, max_length=10)
    if not body:
        raise invalid(
            "set_global_product_override",
            "no field given",
            "pass default_cogs=, global_handling_fee= or currency=",
        )
    api = resolve(client)
    response = api.request("PUT", f"{COSTS_PATH}/global-product-override", json=body)
    after_cost_change(api)
    return _override_series(_config_of(response))


def set_shipping_settings(
    method: str,
    *,
    fixed_rate_amount: float | None = None,
    currency: str | None = None,
    client: Client | None = None,
) -> pd.Series:
    """Replace the shipping settings.

    Parameters
    ----------
    method : {"shopify_charges", "fixed_rate", "shipping_profiles"}
        ``fixed_rate`` needs ``fixed_rate_amount``.
    fixed_rate_amount : float, optional
        The shipping cost of every order under ``fixed_rate`` (0–1e9).
    currency : str, optional
        Kept when omitted.
    client : Client, optional
        Defaults to the default client.

    Returns
    -------
    pandas.Series
        The stored settings (as :func:`shipping_settings`).
    """
    body: dict[str, Any] = {"method": check_choice("method", method, SHIPPING_METHODS)}
    if fixed_rate_amount is not None:
        body["fixedRateAmount"] = check_money("fixed_rate_amount", fixed_rate_amount)
    elif method == "fixed_rate":
        raise invalid(
            "fixed_rate_amount", "is required with method='fixed_rate'", "pass fixed_rate_amount="
        )
    if currency is not None:
        body["currency"] = check_text("currency", currency, max_length=10)
    api = resolve(client)
    response = api.request("PUT", f"{COSTS_PATH}/shipping-settings", json=body)
    after_cost_change(api)
    return _shipping_series(_config_of(response))


def _line_series(config: Mapping[str, Any], cost_type: str, line_id: str) -> pd.Series:
    frame = _lines_frame(config)
    match = frame[(frame["costType"] == cost_type) & (frame["id"] == line_id)]
    if match.empty:
        raise TransportError(
            f"the response body is not the JSON promised: no {cost_type!r} line {line_id!r} "
            "in 'config.lines'",
            hint="read up.costs.lines() to see the stored state",
        )
    row: pd.Series = match.iloc[0]
    return row


def _send_add(api: Client, cost_type: str, line: Mapping[str, Any]) -> tuple[str, dict[str, Any]]:
    before = _known_ids(api, cost_type)
    response = api.post(LINES_PATH, {"costType": cost_type, "line": dict(line)})
    config = _config_of(response)
    fresh = [
        wire.record_id(line)
        for line in wire.cost_lines(config, cost_type)
        if wire.record_id(line) not in before
    ]
    if len(fresh) != 1:
        raise response.unexpected(f"one new {cost_type!r} line in 'config.lines'")
    return str(fresh[0]), config


def _known_ids(api: Client, cost_type: str) -> set[str]:
    config = _config(api, cost_type)
    return {str(wire.record_id(x)) for x in wire.cost_lines(config, cost_type)}


def add_line(cost_type: str, line: Mapping[str, Any], *, client: Client | None = None) -> pd.Series:
    """Add one cost line.

    Parameters
    ----------
    cost_type : {"order", "gateway", "shipping", "variable", "fixed"}
    line : dict
        The line's fields (camelCase, as the API spells them); see the cost types in
        docs/resources.md for each type's required fields.
    client : Client, optional
        Defaults to the default client (needs ``costs:read`` too, to find the new id).

    Returns
    -------
    pandas.Series
        The stored line (a row of :func:`lines`), with its new ``id``.

    Raises
    ------
    ValidationError
        An unknown or missing field, or a bad value (before any request).
    """
    _cost_type("cost_type", cost_type)
    checked = check_line(cost_type, line, "line", partial=False)
    api = resolve(client)
    try:
        line_id, config = _send_add(api, cost_type, checked)
    finally:
        after_cost_change(api)
    return _line_series(config, cost_type, line_id)


def line_type(line_id: str, *, client: Client | None = None) -> str:
    """The cost type of a stored line, looked up by its id (one read of the cost lines).

    Parameters
    ----------
    line_id : str
    client : Client, optional
        Defaults to the default client (needs ``costs:read``).

    Returns
    -------
    str
        One of :data:`COST_TYPES`.

    Raises
    ------
    NotFound
        No stored line of this pixel has the id.
    ValidationError
        Lines of two types share the id (give the type).
    """
    check_id("line_id", line_id)
    return _line_type(resolve(client), line_id)


def _line_type(api: Client, line_id: str) -> str:
    config = _config(api)
    found = [
        t for t in COST_TYPES for x in wire.cost_lines(config, t) if wire.record_id(x) == line_id
    ]
    if not found:
        raise NotFound(
            f"no cost line has the id {line_id!r}",
            hint="take ids from up.costs.lines() (upstack-pandas costs show)",
        )
    if len(found) > 1:
        raise invalid(
            "cost_type",
            f"lines of {len(found)} types ({', '.join(found)}) have the id {line_id!r}",
            "give the cost type",
        )
    return found[0]


def update_line(
    cost_type: str | None,
    line_id: str,
    updates: Mapping[str, Any],
    *,
    client: Client | None = None,
) -> pd.Series:
    """Change some fields of a cost line.

    Parameters
    ----------
    cost_type : {"order", "gateway", "shipping", "variable", "fixed"} or None
        The line's type; ``None`` looks it up by the id first (:func:`line_type`, one read).
    line_id : str
    updates : dict
        The fields to change (at least one); ``{"effectiveEndDate": None}`` reopens the line.
    client : Client, optional
        Defaults to the default client.

    Returns
    -------
    pandas.Series
        The stored line.

    Raises
    ------
    NotFound
        No line of that type has this id (for this pixel).
    """
    check_id("line_id", line_id)
    api = resolve(client)
    if cost_type is None:
        if not isinstance(updates, Mapping) or not updates:
            check_line("order", updates, "updates", partial=True)  # the same message as below
        cost_type = _line_type(api, line_id)
    _cost_type("cost_type", cost_type)
    checked = check_line(cost_type, updates, "updates", partial=True)
    try:
        response = api.request(
            "PUT", f"{LINES_PATH}/{line_id}", json={"costType": cost_type, "updates": checked}
        )
    finally:
        after_cost_change(api)
    return _line_series(_config_of(response), cost_type, line_id)


def delete_line(cost_type: str | None, line_id: str, *, client: Client | None = None) -> None:
    """Delete a cost line.

    Parameters
    ----------
    cost_type : {"order", "gateway", "shipping", "variable", "fixed"} or None
        The line's type; ``None`` looks it up by the id first (:func:`line_type`, one read).
    line_id : str
    client : Client, optional
        Defaults to the default client.

    Raises
    ------
    NotFound
        No line of that type has this id (for this pixel).
    """
    check_id("line_id", line_id)
    if cost_type is not None:
        _cost_type("cost_type", cost_type)
    api = resolve(client)
    if cost_type is None:
        cost_type = _line_type(api, line_id)
    try:
        api.request("DELETE", f"{LINES_PATH}/{line_id}", params={"costType": cost_type})
    finally:
        after_cost_change(api)


# ----------------------------------------------------------------------------- upsert


def _stored_value(row: Mapping[Any, Any], name: str) -> Any:
    value = row.get(name)
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if not isinstance(value, (list, tuple)) and is_missing(value):
        return None
    return list(value) if isinstance(value, tuple) else value


def plan_lines(
    table: pd.DataFrame | Sequence[Mapping[str, Any]],
    stored: pd.DataFrame,
    *,
    delete_missing: bool,
) -> pd.DataFrame:
    """The plan of an upsert of ``table`` onto the ``stored`` lines (checked; nothing sent)."""
    records = table_records("table", table)
    by_key = {(r["costType"], r["id"]): r for r in stored.to_dict("records")}
    rows: list[dict[str, Any]] = []
    seen: set[tuple[str, str]] = set()
    for i, record in enumerate(records):
        where = f"table[{i}]"
        if "costType" not in record:
            raise invalid(f"{where}.costType", "is required", f"use one of {', '.join(COST_TYPES)}")
        cost_type = _cost_type(f"{where}.costType", record["costType"])
        fields = {k: v for k, v in record.items() if k not in _STORED_ONLY}
        line_id = record.get("id")
        if line_id is None:
            line = check_line(cost_type, fields, where, partial=False)
            rows.append({"action": "add", "costType": cost_type, "id": None,
                         "name": line["name"], "changes": line})  # fmt: skip
            continue
        line_id = check_id(f"{where}.id", line_id)
        key = (cost_type, line_id)
        if key in seen:
            raise invalid(f"{where}.id", f"{line_id!r} appears twice", "keep one row per line")
        seen.add(key)
        current = by_key.get(key)
        if current is None:
            raise invalid(
                f"{where}.id",
                f"no stored {cost_type!r} cost line has the id {line_id!r}",
                "leave id empty to add a new line, or take ids from up.costs.lines()",
            )
        checked = {k: check_field(cost_type, k, v, where) for k, v in fields.items()}
        changes = {
            k: (_stored_value(current, k), v)
            for k, v in checked.items()
            if _stored_value(current, k) != v
        }
        merged_start = checked.get(
            "effectiveStartDate", _stored_value(current, "effectiveStartDate")
        )
        merged_end = checked.get("effectiveEndDate", _stored_value(current, "effectiveEndDate"))
        if merged_start and merged_end and merged_end < merged_start:
            raise invalid(
                f"{where}.effectiveEndDate", "is before effectiveStartDate", "fix the dates"
            )
        rows.append({"action": "update" if changes else "unchanged", "costType": cost_type,
                     "id": line_id, "name": checked.get("name", current["name"]),
                     "changes": changes})  # fmt: skip
    if delete_missing:
        types = {r["costType"] for r in rows}
        for key, current in by_key.items():
            if key[0] in types and key not in seen:
                rows.append({"action": "delete", "costType": key[0], "id": key[1],
                             "name": current["name"], "changes": {}})  # fmt: skip
    return plan_frame(rows, ("costType", "id", "name"))


def _precheck_lines(table: pd.DataFrame | Sequence[Mapping[str, Any]]) -> None:
    for i, record in enumerate(table_records("table", table)):
        where = f"table[{i}]"
        if "costType" not in record:
            raise invalid(f"{where}.costType", "is required", f"use one of {', '.join(COST_TYPES)}")
        cost_type = _cost_type(f"{where}.costType", record["costType"])
        fields = {k: v for k, v in record.items() if k not in _STORED_ONLY}
        if "id" in record:
            check_id(f"{where}.id", record["id"])
            for name, value in fields.items():
                check_field(cost_type, name, value, where)
        else:
            check_line(cost_type, fields, where, partial=False)


def upsert_lines(
    table: pd.DataFrame | Sequence[Mapping[str, Any]],
    *,
    delete_missing: bool = False,
    dry_run: bool = False,
    client: Client | None = None,
) -> pd.DataFrame:
    """Make the stored cost lines match a table (a spreadsheet the analyst keeps).

    Each row is one line: ``costType`` (required), ``id`` (empty: add a new line; set: update
    that line, sending only the fields that differ), and the line's fields. An empty cell keeps
    the stored value. Read-only columns of :func:`lines` (``createdAt``, ``updatedAt``) are
    ignored, so ``upsert_lines(lines())`` changes nothing.

    Parameters
    ----------
    table : DataFrame or list of dict
        One row per line.
    delete_missing : bool
        Also delete stored lines of the cost types present in ``table`` that no row names.
    dry_run : bool
        Return the plan (status ``planned``) and send nothing.
    client : Client, optional
        Defaults to the default client; needs ``costs:read`` (to plan) and ``costs:write``.

    Returns
    -------
    pandas.DataFrame
        The plan, one row per line: ``action`` (``add``, ``update``, ``delete``,
        ``unchanged``), ``costType``, ``id`` (an added line's new id once applied), ``name``,
        ``changes`` (an update's ``{field: (stored, new)}``; an add's fields) and ``status``
        (``planned``, ``applied`` or ``unchanged``).

    Raises
    ------
    ValidationError
        Any bad row (named ``table[<i>].<field>``), before anything is sent.
    PartialWriteError
        A request failed midway: ``.applied`` are the rows that took effect, ``.failed`` the
        row that failed (``status`` ``failed``, or ``unknown`` when its outcome is not known),
        ``.pending`` the rows never sent. Requests go in plan order: adds and updates in table
        order, then deletes.
    """
    _precheck_lines(table)  # every row's shape, before the read that planning needs
    api = resolve(client)
    plan = plan_lines(table, _lines_frame(_config(api)), delete_missing=delete_missing)
    if dry_run:
        plan["status"] = ["unchanged" if a == "unchanged" else "planned" for a in plan["action"]]
        return plan

    def send(row: pd.Series) -> dict[str, Any] | None:
        cost_type, action = row["costType"], row["action"]
        if action == "add":
            new_id, _ = _send_add(api, cost_type, row["changes"])
            return {"id": new_id}
        if action == "update":
            updates = {k: new for k, (_, new) in row["changes"].items()}
            api.request(
                "PUT", f"{LINES_PATH}/{row['id']}", json={"costType": cost_type, "updates": updates}
            )
        else:
            api.request("DELETE", f"{LINES_PATH}/{row['id']}", params={"costType": cost_type})
        return None

    try:
        return apply_plan(plan, send, what="upsert_lines")
    finally:
        after_cost_change(api)
