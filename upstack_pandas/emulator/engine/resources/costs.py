"""One pixel's cost configuration: the global product override, shipping and cost lines."""

from __future__ import annotations

import copy
import threading
from collections.abc import Mapping
from typing import Any

from upstack_pandas.emulator.engine.api_errors import ApiError, FieldError, invalid_body
from upstack_pandas.emulator.engine.resources.ids import new_ulid, timestamp

__all__ = ["COST_TYPES", "PER_ORDER_TYPES", "CostState", "line_not_found"]

#: The five line-typed cost surfaces (documented).
COST_TYPES = ("order", "gateway", "shipping", "variable", "fixed")
#: The line types whose changes trigger the per-order recalculation (documented: all but
#: ``variable`` and ``fixed``, which apply at aggregate report time).
PER_ORDER_TYPES = frozenset({"order", "gateway", "shipping"})
#: ``GET /accounts/api/costs?type=`` values (the CLI's ``costs show --type``).
SHOW_TYPES = ("global_product_override", *COST_TYPES)


def line_not_found() -> ApiError:
    """The 404 of a missing cost line, another type's or another pixel's (identical bodies)."""
    return ApiError(404, "Cost line not found")


def _dates_problem(line: Mapping[str, Any], path: str) -> list[FieldError]:
    start, end = line.get("effectiveStartDate"), line.get("effectiveEndDate")
    if start is not None and end is not None and end < start:
        return [{"path": path, "message": "effectiveEndDate must not be before effectiveStartDate"}]
    return []


class CostState:
    """The cost configuration of one pixel (thread-safe; bodies already passed the schema)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._override: dict[str, Any] = {
            "defaultCogs": None,
            "globalHandlingFee": 0,
            "currency": "USD",
        }
        self._shipping: dict[str, Any] = {
            "method": "shopify_charges",
            "fixedRateAmount": None,
            "currency": "USD",
        }
        self._lines: dict[str, list[dict[str, Any]]] = {t: [] for t in COST_TYPES}

    # ----------------------------------------------------------------- reads

    def snapshot(self) -> dict[str, Any]:
        """A deep copy of the whole configuration (the ``config`` object)."""
        with self._lock:
            return self._config()

    def _config(self) -> dict[str, Any]:
        return copy.deepcopy(
            {
                "globalProductOverride": self._override,
                "shippingSettings": self._shipping,
                "lines": self._lines,
            }
        )

    def show(self, cost_type: str | None) -> dict[str, Any]:
        """Body of ``GET /accounts/api/costs`` (``?type=`` keeps one surface)."""
        config = self.snapshot()
        if cost_type is None:
            return {"config": config}
        if cost_type == "global_product_override":
            return {"config": {"globalProductOverride": config["globalProductOverride"]}}
        kept: dict[str, Any] = {"lines": {cost_type: config["lines"][cost_type]}}
        if cost_type == "shipping":
            kept["shippingSettings"] = config["shippingSettings"]
        return {"config": kept}

    # ----------------------------------------------------------------- writes

    def set_global_override(self, body: Mapping[str, Any]) -> dict[str, Any]:
        """``PUT .../global-product-override``: the supplied fields replace the stored ones."""
        with self._lock:
            self._override.update(body)
            return {"config": self._config()}

    def set_shipping(self, body: Mapping[str, Any]) -> dict[str, Any]:
        """``PUT .../shipping-settings``: ``fixedRateAmount`` is required for ``fixed_rate``."""
        if body["method"] == "fixed_rate" and body.get("fixedRateAmount") is None:
            message = "fixedRateAmount is required when method is fixed_rate"
            raise invalid_body([{"path": "fixedRateAmount", "message": message}])
        with self._lock:
            self._shipping = {
                "method": body["method"],
                "fixedRateAmount": body.get("fixedRateAmount"),
                "currency": body.get("currency", self._shipping["currency"]),
            }
            return {"config": self._config()}

    def add_line(self, body: Mapping[str, Any]) -> dict[str, Any]:
        """``POST .../costs/lines``: append the line with a new ULID."""
        line = dict(body["line"])
        errors = _dates_problem(line, "line.effectiveEndDate")
        if errors:
            raise invalid_body(errors)
        stamp = timestamp()
        with self._lock:
            self._lines[body["costType"]].append(
                {"id": new_ulid(), **line, "createdAt": stamp, "updatedAt": stamp}
            )
            return {"config": self._config()}

    def update_line(self, line_id: str, body: Mapping[str, Any]) -> dict[str, Any]:
        """``PUT .../costs/lines/{lineId}``: write only the supplied fields."""
        with self._lock:
            line = self._find(body["costType"], line_id)
            merged = {**line, **body["updates"]}
            errors = _dates_problem(merged, "updates.effectiveEndDate")
            if errors:
                raise invalid_body(errors)
            line.clear()
            line.update(merged, updatedAt=timestamp())
            return {"config": self._config()}

    def delete_line(self, line_id: str, cost_type: str) -> dict[str, Any]:
        """``DELETE .../costs/lines/{lineId}?costType=``."""
        with self._lock:
            line = self._find(cost_type, line_id)
            self._lines[cost_type].remove(line)
            return {"config": self._config()}

    def _find(self, cost_type: str, line_id: str) -> dict[str, Any]:
        for line in self._lines[cost_type]:
            if line["id"] == line_id:
                return line
        raise line_not_found()
