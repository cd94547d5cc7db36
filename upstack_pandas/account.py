"""The account of the API key: read and rename it; read and replace its order settings.

The functions use the default client (``upstack_pandas.get_default_client``, looked up at call
time) unless given ``client=``. Arguments are checked before any request is sent::

    import upstack_pandas as up

    up.account.get().name                      # "Upstack Data"
    settings = up.account.order_settings()     # an OrderSettings
    new = settings.replace(count_pending_orders=False)
    up.account.diff_order_settings(settings, new)   # what would change, one row per field
    up.account.replace_order_settings(new)

Reading needs the ``account:read`` scope, renaming and replacing ``account:write``.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from copy import deepcopy
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import pandas as pd

from upstack_pandas import _wire as wire
from upstack_pandas._resources.checks import check_bool, check_choice, check_name, invalid
from upstack_pandas._transport.response import json_with

if TYPE_CHECKING:
    from upstack_pandas._transport.client import Client
    from upstack_pandas._transport.response import ApiResponse

__all__ = [
    "Account",
    "OrderSettings",
    "diff_order_settings",
    "get",
    "order_settings",
    "rename",
    "replace_order_settings",
]

ACCOUNT_PATH = "/accounts/api/account"
ORDER_SETTINGS_PATH = "/accounts/api/account/settings/order"
REFUND_DATE_ATTRIBUTIONS = ("refund_date", "order_date")
_MAX_FILTERS = 50
_MAX_GROUPS = 50
_MAX_CONDITIONS = 50


def _client(client: Client | None) -> Client:
    from upstack_pandas._transport.client import get_default_client

    return client if client is not None else get_default_client()


def _timestamp(value: Any) -> pd.Timestamp | None:
    if not isinstance(value, str) or not value:
        return None
    stamp = pd.Timestamp(value)
    return stamp.tz_localize("UTC") if stamp.tzinfo is None else stamp.tz_convert("UTC")


@dataclass(frozen=True)
class Account:
    """The account that owns the API key (the API's public projection of it).

    Attributes
    ----------
    name : str
        ``accountName``.
    created_at : pandas.Timestamp or None
        When the account was created (UTC).
    owners, admins : tuple of dict
        People (``email``, ``firstName``, ``lastName``).
    subscription : dict or None
        The subscription summary (``plan``, ``status``, ...), when the account has one.
    """

    name: str
    created_at: pd.Timestamp | None
    owners: tuple[dict[str, Any], ...] = ()
    admins: tuple[dict[str, Any], ...] = ()
    subscription: dict[str, Any] | None = field(default=None, compare=False)

    @classmethod
    def from_record(cls, record: Mapping[str, Any]) -> Account:
        """Build from the API's ``account`` object.

        Parameters
        ----------
        record : mapping
            The ``account`` member of a response.

        Returns
        -------
        Account
        """
        found = wire.account(record)
        return cls(
            name=found.name,
            created_at=_timestamp(found.created_at),
            owners=tuple(found.owners),
            admins=tuple(found.admins),
            subscription=deepcopy(found.subscription),
        )

    def people(self) -> pd.DataFrame:
        """Owners and admins as one frame.

        Returns
        -------
        pandas.DataFrame
            Columns ``role`` (``owner``/``admin``), ``email``, ``firstName``, ``lastName``.
        """
        rows = [{"role": "owner", **p} for p in self.owners]
        rows += [{"role": "admin", **p} for p in self.admins]
        return pd.DataFrame(rows, columns=["role", *wire.PERSON_FIELDS])


@dataclass(frozen=True)
class OrderSettings:
    """The account's order settings: which orders count, and the exclusion filters.

    They are the defaults of every analytics body that carries no ``order_settings``.

    Attributes
    ----------
    count_pending_orders : bool
        ``countPendingOrders``.
    count_voided_orders : bool
        ``countVoidedOrders``.
    refund_date_attribution : {"refund_date", "order_date"}
        ``refundDateAttribution``.
    exclusion_filters : tuple of dict
        ``exclusionFilters`` as the API spells them (``name``, ``enabled``,
        ``conditionGroups``; stored ones also carry ``id``, ``createdAt``, ``updatedAt``).
    """

    count_pending_orders: bool = False
    count_voided_orders: bool = False
    refund_date_attribution: str = "refund_date"
    exclusion_filters: tuple[dict[str, Any], ...] = ()

    def __post_init__(self) -> None:
        check_bool("count_pending_orders", self.count_pending_orders)
        check_bool("count_voided_orders", self.count_voided_orders)
        check_choice(
            "refund_date_attribution", self.refund_date_attribution, REFUND_DATE_ATTRIBUTIONS
        )
        object.__setattr__(self, "exclusion_filters", _check_filters(self.exclusion_filters))

    @classmethod
    def from_body(cls, body: Mapping[str, Any]) -> OrderSettings:
        """Build from an ``orderSettings`` object (the API's camelCase fields).

        Parameters
        ----------
        body : mapping
            ``countPendingOrders``, ``countVoidedOrders``, ``refundDateAttribution``,
            ``exclusionFilters``; omitted fields take their documented defaults.

        Returns
        -------
        OrderSettings

        Raises
        ------
        ValidationError
            An unknown field or a bad value, named.
        """
        if not isinstance(body, Mapping):
            raise invalid("settings", "expected a mapping", "pass a dict or an OrderSettings")
        known = {
            "countPendingOrders", "countVoidedOrders", "refundDateAttribution", "exclusionFilters"
        }  # fmt: skip
        unknown = sorted(set(body) - known)
        if unknown:
            raise invalid(
                f"settings.{unknown[0]}",
                "is not an order settings field",
                f"use only {', '.join(sorted(known))}",
            )
        return cls(
            count_pending_orders=body.get("countPendingOrders", False),
            count_voided_orders=body.get("countVoidedOrders", False),
            refund_date_attribution=body.get("refundDateAttribution", "refund_date"),
            exclusion_filters=tuple(body.get("exclusionFilters") or ()),
        )

    def to_body(self) -> dict[str, Any]:
        """The API's camelCase object (the ``PUT`` body, or an analytics ``orderSettings``).

        Stored-only fields (``createdAt``, ``updatedAt``) are left out of the filters; their
        ``id``\\s are kept, so a replace updates existing filters in place.

        Returns
        -------
        dict
        """
        return {
            "countPendingOrders": self.count_pending_orders,
            "countVoidedOrders": self.count_voided_orders,
            "refundDateAttribution": self.refund_date_attribution,
            "exclusionFilters": [_input_filter(f) for f in self.exclusion_filters],
        }

    def replace(self, **changes: Any) -> OrderSettings:
        """A copy with some fields changed (checked like the constructor).

        Parameters
        ----------
        **changes
            Attribute names and their new values.

        Returns
        -------
        OrderSettings
        """
        return dataclasses.replace(self, **changes)


def _input_filter(stored: Mapping[str, Any]) -> dict[str, Any]:
    """A stored filter as an input filter: without ``createdAt``/``updatedAt``."""
    out = {k: deepcopy(v) for k, v in stored.items() if k not in ("createdAt", "updatedAt")}
    return out


def _check_filters(filters: Any) -> tuple[dict[str, Any], ...]:
    if isinstance(filters, (str, bytes, Mapping)) or not hasattr(filters, "__iter__"):
        raise invalid("exclusion_filters", "expected a list of filters", "pass a list of dicts")
    items = [deepcopy(f) for f in filters]
    if len(items) > _MAX_FILTERS:
        raise invalid(
            "exclusion_filters",
            f"{len(items)} filters (at most {_MAX_FILTERS})",
            "keep 50 or fewer",
        )
    for i, item in enumerate(items):
        where = f"exclusion_filters[{i}]"
        if not isinstance(item, dict):
            raise invalid(where, "is not a mapping", "write each filter as a dict")
        if "name" not in item:
            raise invalid(f"{where}.name", "is required", "give each filter a name")
        check_name(f"{where}.name", item["name"])
        if "enabled" in item:
            check_bool(f"{where}.enabled", item["enabled"])
        groups = item.get("conditionGroups")
        if not isinstance(groups, list) or not 1 <= len(groups) <= _MAX_GROUPS:
            raise invalid(
                f"{where}.conditionGroups",
                "must be a list of 1–50 condition groups",
                "add at least one group with conditions",
            )
        for j, group in enumerate(groups):
            gwhere = f"{where}.conditionGroups[{j}]"
            if not isinstance(group, dict):
                raise invalid(gwhere, "is not a mapping", "write each group as a dict")
            if "logic" in group:
                check_choice(f"{gwhere}.logic", group["logic"], ("and", "or"))
            conditions = group.get("conditions")
            if not isinstance(conditions, list) or not 1 <= len(conditions) <= _MAX_CONDITIONS:
                raise invalid(
                    f"{gwhere}.conditions",
                    "must be a list of 1–50 conditions",
                    "add conditions with field, operator and value",
                )
            for k, condition in enumerate(conditions):
                cwhere = f"{gwhere}.conditions[{k}]"
                if not isinstance(condition, dict):
                    raise invalid(cwhere, "is not a mapping", "write each condition as a dict")
                for name in ("field", "operator", "value"):
                    if not isinstance(condition.get(name), str):
                        raise invalid(
                            f"{cwhere}.{name}",
                            "is required and must be a string",
                            "e.g. {'field': 'sourceName', 'operator': 'equals', 'value': 'pos'}",
                        )
    return tuple(items)


def get(*, client: Client | None = None) -> Account:
    """The account that owns the API key.

    Parameters
    ----------
    client : Client, optional
        Defaults to the default client.

    Returns
    -------
    Account

    Raises
    ------
    PermissionDenied
        The key lacks ``account:read``.
    """
    body = json_with(_client(client).get(ACCOUNT_PATH), wire.ACCOUNT, dict)
    return Account.from_record(body[wire.ACCOUNT])


def rename(name: str, *, client: Client | None = None) -> Account:
    """Rename the account.

    Parameters
    ----------
    name : str
        1–100 characters, no leading or trailing whitespace, no control characters.
    client : Client, optional
        Defaults to the default client.

    Returns
    -------
    Account
        The account after the change.

    Raises
    ------
    ValidationError
        A bad name (before any request is sent).
    PermissionDenied
        The key lacks ``account:write``.
    """
    check_name("name", name)
    response = _client(client).patch(ACCOUNT_PATH, {"accountName": name})
    return Account.from_record(json_with(response, wire.ACCOUNT, dict)[wire.ACCOUNT])


def order_settings(*, client: Client | None = None) -> OrderSettings:
    """The account's order settings.

    Parameters
    ----------
    client : Client, optional
        Defaults to the default client.

    Returns
    -------
    OrderSettings

    Raises
    ------
    PermissionDenied
        The key lacks ``account:read``.
    """
    return _settings_from_response(_client(client).get(ORDER_SETTINGS_PATH))


def _settings_from_response(response: ApiResponse) -> OrderSettings:
    record = json_with(response, wire.ORDER_SETTINGS, dict)[wire.ORDER_SETTINGS]
    return OrderSettings(**wire.order_settings(record))


def as_order_settings(parameter: str, value: OrderSettings | Mapping[str, Any]) -> OrderSettings:
    """An ``OrderSettings`` from itself or its camelCase mapping (checked)."""
    if isinstance(value, OrderSettings):
        return value
    if isinstance(value, Mapping):
        return OrderSettings.from_body(value)
    raise invalid(
        parameter,
        f"expected an OrderSettings or a dict, got {type(value).__name__}",
        "pass up.account.OrderSettings(...) or {'countPendingOrders': True, ...}",
    )


def replace_order_settings(
    settings: OrderSettings | Mapping[str, Any], *, client: Client | None = None
) -> OrderSettings:
    """Replace the account's order settings (the whole object: omitted fields take defaults).

    Parameters
    ----------
    settings : OrderSettings or dict
        The new settings; a dict uses the API's camelCase fields. Checked before sending.
    client : Client, optional
        Defaults to the default client.

    Returns
    -------
    OrderSettings
        The stored settings (filters with their ids).

    Raises
    ------
    ValidationError
        A bad field (before any request), or the API's 400 (e.g. an unknown condition field).
    PermissionDenied
        The key lacks ``account:write``.
    """
    checked = as_order_settings("settings", settings)
    response = _client(client).request("PUT", ORDER_SETTINGS_PATH, json=checked.to_body())
    return _settings_from_response(response)


def diff_order_settings(
    current: OrderSettings | Mapping[str, Any], new: OrderSettings | Mapping[str, Any]
) -> pd.DataFrame:
    """What replacing ``current`` with ``new`` would change, one row per changed field.

    Parameters
    ----------
    current, new : OrderSettings or dict

    Returns
    -------
    pandas.DataFrame
        Columns ``field`` (the API's name; an exclusion filter is
        ``exclusionFilters[<name>]``), ``current`` and ``new`` (``None`` where absent).
        Empty when nothing changes.
    """
    before = as_order_settings("current", current).to_body()
    after = as_order_settings("new", new).to_body()
    rows: list[dict[str, Any]] = []
    for name in ("countPendingOrders", "countVoidedOrders", "refundDateAttribution"):
        if before[name] != after[name]:
            rows.append({"field": name, "current": before[name], "new": after[name]})
    old_filters = {f["name"]: f for f in before["exclusionFilters"]}
    new_filters = {f["name"]: f for f in after["exclusionFilters"]}
    for name in [*old_filters, *(n for n in new_filters if n not in old_filters)]:
        old, fresh = old_filters.get(name), new_filters.get(name)
        if _comparable(old) != _comparable(fresh):
            rows.append({"field": f"exclusionFilters[{name}]", "current": old, "new": fresh})
    return pd.DataFrame(rows, columns=["field", "current", "new"], dtype=object)


def _comparable(value: Any) -> Any:
    """A filter without its ids (a replace that keeps the content is no change)."""
    if isinstance(value, dict):
        return {k: _comparable(v) for k, v in value.items() if k != "id"}
    if isinstance(value, list):
        return [_comparable(v) for v in value]
    return value
