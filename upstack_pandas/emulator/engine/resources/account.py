"""The account projection, its name and the account-level order settings of one pixel."""

from __future__ import annotations

import copy
import threading
import unicodedata
from collections.abc import Mapping
from typing import Any

from upstack_pandas.emulator.engine.api_errors import FieldError, invalid_body
from upstack_pandas.emulator.engine.resources.ids import new_uuid, timestamp

__all__ = ["DEFAULT_ORDER_SETTINGS", "EXCLUSION_FIELDS", "AccountState"]

#: Defaults when an account has no stored order settings (documented).
DEFAULT_ORDER_SETTINGS: dict[str, Any] = {
    "countPendingOrders": False,
    "countVoidedOrders": False,
    "refundDateAttribution": "refund_date",
    "exclusionFilters": [],
}
_TEXT_OPERATORS = ("equals", "not_equals", "contains", "not_contains", "starts_with")
_NUMBER_OPERATORS = ("equals", "not_equals", "greater_than", "less_than")
#: The project's ``ORDER_EXCLUSION_FIELD_CATALOG`` (undocumented beyond ``sourceName``): field
#: → operators valid for its type (decision D45).
EXCLUSION_FIELDS: dict[str, tuple[str, ...]] = {
    "sourceName": _TEXT_OPERATORS,
    "tags": _TEXT_OPERATORS,
    "discountCode": _TEXT_OPERATORS,
    "shippingCountry": _TEXT_OPERATORS,
    "financialStatus": ("equals", "not_equals"),
    "totalPrice": _NUMBER_OPERATORS,
    "lineItemCount": _NUMBER_OPERATORS,
}
_NUMERIC_FIELDS = {f for f, ops in EXCLUSION_FIELDS.items() if ops == _NUMBER_OPERATORS}
_NAME_LIMIT = 100


def _initial_projection() -> dict[str, Any]:
    """The emulated account (the values of the documented CLI sample output)."""
    return {
        "accountName": "Upstack Data",
        "createdAt": "2025-08-12T18:22:11.034Z",
        "owners": [{"email": "founder@upstackdata.com", "firstName": "Alex", "lastName": "Owner"}],
        "admins": [{"email": "ops@upstackdata.com", "firstName": "Sam", "lastName": "Admin"}],
        "subscription": {
            "plan": {
                "name": "Growth",
                "billingFrequency": "monthly",
                "displayPrice": "$49/mo",
                "discountedDisplayPrice": "$39/mo",
                "currency": "USD",
                "discount": {
                    "code": "LAUNCH20",
                    "type": "percentage",
                    "value": 20,
                    "appliesForBillingIntervals": 6,
                },
            },
            "status": "active",
            "currentPeriodEnd": "2026-06-12T00:00:00.000Z",
            "cancelAtPeriodEnd": False,
        },
    }


def name_problem(name: str) -> str | None:
    """Return why ``name`` is not a valid account name, or None when it is (decision D42)."""
    if name != name.strip():
        return "must not start or end with whitespace"
    if not 1 <= len(name) <= _NAME_LIMIT:
        return f"must be 1-{_NAME_LIMIT} characters"
    for char in name:
        # Cc: control characters; Cf: format characters (zero-width and bidi controls).
        if unicodedata.category(char) in ("Cc", "Cf") and char != "\u200d":
            return f"must not contain control, zero-width or bidi characters (U+{ord(char):04X})"
    return None


class AccountState:
    """One pixel's account: the projection and the order settings (thread-safe)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._projection = _initial_projection()
        self._settings: dict[str, Any] = copy.deepcopy(DEFAULT_ORDER_SETTINGS)
        #: ``accountUpdated`` events the real service would emit (decision D47).
        self.audit: list[dict[str, Any]] = []

    def account(self) -> dict[str, Any]:
        """Body of ``GET /accounts/api/account``."""
        with self._lock:
            return {"account": copy.deepcopy(self._projection)}

    def rename(self, body: Mapping[str, Any], actor: str) -> dict[str, Any]:
        """Body of ``PATCH /accounts/api/account`` (``body`` passed the schema)."""
        name = body["accountName"]
        problem = name_problem(name)
        if problem is not None:
            raise invalid_body([{"path": "accountName", "message": problem}])
        with self._lock:
            self._projection["accountName"] = name
            self.audit.append(
                {"type": "accountUpdated", "actor": actor, "change": {"kind": "name"}}
            )
            return {"account": copy.deepcopy(self._projection)}

    def order_settings(self) -> dict[str, Any]:
        """Body of ``GET /accounts/api/account/settings/order`` (always complete)."""
        with self._lock:
            return {"orderSettings": copy.deepcopy(self._settings)}

    def counting_flags(self) -> dict[str, bool]:
        """The account's ``countPendingOrders`` and ``countVoidedOrders`` (query defaults)."""
        with self._lock:
            return {
                "countPendingOrders": bool(self._settings["countPendingOrders"]),
                "countVoidedOrders": bool(self._settings["countVoidedOrders"]),
            }

    def replace_order_settings(self, body: Mapping[str, Any], actor: str) -> dict[str, Any]:
        """Body of ``PUT /accounts/api/account/settings/order``: whole-object replace."""
        errors: list[FieldError] = []
        with self._lock:
            existing = {f["id"]: f for f in self._settings["exclusionFilters"]}
            groups = {g["id"] for f in existing.values() for g in f["conditionGroups"]}
            conditions = {
                c["id"]
                for f in existing.values()
                for g in f["conditionGroups"]
                for c in g["conditions"]
            }
            stamp = timestamp()
            filters = []
            for i, given in enumerate(body.get("exclusionFilters", [])):
                path = f"exclusionFilters.{i}"
                filter_id = given.get("id")
                if filter_id is not None and filter_id not in existing:
                    errors.append(
                        {"path": f"{path}.id", "message": "no exclusion filter has this id"}
                    )
                new_groups = []
                for j, group in enumerate(given["conditionGroups"]):
                    gpath = f"{path}.conditionGroups.{j}"
                    if group.get("id") is not None and group["id"] not in groups:
                        errors.append(
                            {"path": f"{gpath}.id", "message": "no condition group has this id"}
                        )
                    new_conditions = []
                    for k, condition in enumerate(group["conditions"]):
                        cpath = f"{gpath}.conditions.{k}"
                        errors.extend(_condition_problems(condition, cpath, conditions))
                        new_conditions.append(
                            {
                                "id": condition.get("id") or new_uuid(),
                                "field": condition["field"],
                                "operator": condition["operator"],
                                "value": condition["value"],
                            }
                        )
                    new_groups.append(
                        {
                            "id": group.get("id") or new_uuid(),
                            "logic": group.get("logic", "and"),
                            "conditions": new_conditions,
                        }
                    )
                old = existing.get(filter_id) if filter_id is not None else None
                filters.append(
                    {
                        "id": filter_id or new_uuid(),
                        "name": given["name"],
                        "enabled": given.get("enabled", True),
                        "conditionGroups": new_groups,
                        "createdAt": old["createdAt"] if old is not None else stamp,
                        "updatedAt": stamp,
                    }
                )
            ids = [f["id"] for f in filters]
            for i, filter_id in enumerate(ids):
                if filter_id in ids[:i]:
                    errors.append(
                        {"path": f"exclusionFilters.{i}.id", "message": "the same id twice"}
                    )
            if errors:
                raise invalid_body(errors)
            self._settings = {
                "countPendingOrders": body.get("countPendingOrders", False),
                "countVoidedOrders": body.get("countVoidedOrders", False),
                "refundDateAttribution": body.get("refundDateAttribution", "refund_date"),
                "exclusionFilters": filters,
            }
            self.audit.append(
                {"type": "accountUpdated", "actor": actor, "change": {"kind": "orderSettings"}}
            )
            return {"orderSettings": copy.deepcopy(self._settings)}


def _condition_problems(
    condition: Mapping[str, Any], path: str, known_ids: set[str]
) -> list[FieldError]:
    problems: list[FieldError] = []
    if condition.get("id") is not None and condition["id"] not in known_ids:
        problems.append({"path": f"{path}.id", "message": "no condition has this id"})
    field, operator = condition["field"], condition["operator"]
    allowed = EXCLUSION_FIELDS.get(field)
    if allowed is None:
        known = ", ".join(sorted(EXCLUSION_FIELDS))
        problems.append({"path": f"{path}.field", "message": f"unknown field; one of {known}"})
    elif operator not in allowed:
        problems.append(
            {
                "path": f"{path}.operator",
                "message": f"'{operator}' is not valid for {field}; use one of {', '.join(allowed)}",
            }
        )
    elif field in _NUMERIC_FIELDS:
        try:
            float(condition["value"])
        except ValueError:
            problems.append({"path": f"{path}.value", "message": f"{field} needs a number"})
    return problems
