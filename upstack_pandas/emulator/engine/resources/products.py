"""One pixel's products and variants: search, handling fees and manual COG lines."""

from __future__ import annotations

import base64
import binascii
import copy
import threading
from collections.abc import Mapping
from datetime import date
from typing import Any

import pandas as pd

from upstack_pandas.emulator.engine.api_errors import ApiError, FieldError, invalid_body
from upstack_pandas.emulator.engine.resources.ids import new_ulid

__all__ = ["ProductState", "active_cog_line", "variant_not_found"]

_CURSOR_PREFIX = "after:"


def variant_not_found() -> ApiError:
    """The 404 of a missing product or variant, or another pixel's (identical bodies)."""
    return ApiError(404, "Product variant not found")


def cog_not_found() -> ApiError:
    """The 404 of a missing COG line (or another variant's, or another pixel's)."""
    return ApiError(404, "COG line not found")


def _encode_cursor(product_id: str) -> str:
    return base64.urlsafe_b64encode(f"{_CURSOR_PREFIX}{product_id}".encode()).decode().rstrip("=")


def _decode_cursor(cursor: str) -> str:
    try:
        text = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
    except (binascii.Error, UnicodeDecodeError, ValueError):
        text = ""
    if not text.startswith(_CURSOR_PREFIX):
        message = "not a cursor of this API; pass a previous response's nextCursor"
        raise invalid_body([{"path": "cursor", "message": message}], "Invalid query parameters")
    return text.removeprefix(_CURSOR_PREFIX)


def active_cog_line(history: list[dict[str, Any]], day: str) -> dict[str, Any] | None:
    """Return the COG line applying on ``day`` (ISO date): the latest start, then the latest added."""
    active = None
    for line in history:  # kept sorted by start date, then creation
        end = line.get("effectiveEndDate")
        if line["effectiveStartDate"] <= day and (end is None or day <= end):
            active = line
    return active


class ProductState:
    """The catalog of one pixel plus the cost data the API writes (thread-safe).

    Parameters
    ----------
    catalog : pandas.DataFrame
        One row per variant (``upstack_pandas.emulator.data.synthetic.catalog.products``).
    """

    def __init__(self, catalog: pd.DataFrame) -> None:
        self._lock = threading.Lock()
        self.catalog = catalog
        self._variants: dict[str, dict[str, Any]] = {}
        self._products: dict[str, dict[str, Any]] = {}
        for row in catalog.itertuples(index=False):
            product = self._products.setdefault(
                str(row.product_id),
                {"id": row.product_id, "title": row.product_title, "vendor": row.vendor},
            )
            product.setdefault("variantIds", []).append(row.variant_id)
            self._variants[str(row.variant_id)] = {
                "id": row.variant_id,
                "productId": row.product_id,
                "sku": row.sku,
                "title": row.variant_title,
                "handlingFee": 0,
                "manualCostHistory": [],
            }
        self._search_text = {
            pid: " ".join(
                [str(p["title"])]
                + [
                    f"{self._variants[v]['title']} {self._variants[v]['sku']}"
                    for v in p["variantIds"]
                ]
            ).casefold()
            for pid, p in self._products.items()
        }

    # ----------------------------------------------------------------- reads

    def _product_body(self, product_id: str) -> dict[str, Any]:
        product = self._products[product_id]
        return {
            "id": product["id"],
            "title": product["title"],
            "vendor": product["vendor"],
            "variants": [copy.deepcopy(self._variants[v]) for v in product["variantIds"]],
        }

    def search(self, q: str | None, page_size: int, cursor: str | None) -> dict[str, Any]:
        """Body of ``GET /accounts/api/products/search`` (products sorted by id)."""
        after = _decode_cursor(cursor) if cursor is not None else None
        needle = (q or "").strip().casefold()
        with self._lock:
            matching = [
                pid
                for pid in sorted(self._products)
                if (after is None or pid > after) and needle in self._search_text[pid]
            ]
            page = matching[:page_size]
            items = [self._product_body(pid) for pid in page]
        more = len(matching) > page_size
        return {"items": items, "nextCursor": _encode_cursor(page[-1]) if more else None}

    def _variant(self, product_id: str, variant_id: str) -> dict[str, Any]:
        variant = self._variants.get(variant_id)
        if variant is None or variant["productId"] != product_id:
            raise variant_not_found()
        return variant

    def variant(self, product_id: str, variant_id: str) -> dict[str, Any]:
        """A deep copy of one variant; 404 if it is not that product's."""
        with self._lock:
            return copy.deepcopy(self._variant(product_id, variant_id))

    def snapshot(self) -> dict[str, dict[str, Any]]:
        """Variant id → (handling fee, COG history) of the variants with cost data."""
        with self._lock:
            return {
                vid: {
                    "handlingFee": v["handlingFee"],
                    "manualCostHistory": copy.deepcopy(v["manualCostHistory"]),
                }
                for vid, v in self._variants.items()
                if v["handlingFee"] or v["manualCostHistory"]
            }

    # ----------------------------------------------------------------- writes

    def set_handling_fee(self, product_id: str, variant_id: str, fee: float) -> dict[str, Any]:
        """``PUT .../handling-fee``."""
        with self._lock:
            variant = self._variant(product_id, variant_id)
            variant["handlingFee"] = fee
            return {"variant": copy.deepcopy(variant)}

    def add_cog(self, product_id: str, variant_id: str, body: Mapping[str, Any]) -> dict[str, Any]:
        """``POST .../cogs``: a new COG line with a ULID, history kept chronological."""
        line = {
            "id": new_ulid(),
            "cost": body["cost"],
            "effectiveStartDate": body["effectiveStartDate"],
            "effectiveEndDate": body.get("effectiveEndDate"),
            "description": body.get("description", ""),
        }
        _check_dates(line, "effectiveEndDate")
        with self._lock:
            variant = self._variant(product_id, variant_id)
            variant["manualCostHistory"].append(line)
            variant["manualCostHistory"].sort(key=lambda c: c["effectiveStartDate"])
            return {"variant": copy.deepcopy(variant)}

    def update_cog(
        self, product_id: str, variant_id: str, cog_id: str, body: Mapping[str, Any]
    ) -> dict[str, Any]:
        """``PUT .../cogs/{cogId}``: write only the supplied fields."""
        with self._lock:
            variant = self._variant(product_id, variant_id)
            line = self._cog(variant, cog_id)
            merged = {**line, **body}
            _check_dates(merged, "effectiveEndDate")
            line.update(merged)
            variant["manualCostHistory"].sort(key=lambda c: c["effectiveStartDate"])
            return {"variant": copy.deepcopy(variant)}

    def delete_cog(self, product_id: str, variant_id: str, cog_id: str) -> dict[str, Any]:
        """``DELETE .../cogs/{cogId}``."""
        with self._lock:
            variant = self._variant(product_id, variant_id)
            variant["manualCostHistory"].remove(self._cog(variant, cog_id))
            return {"variant": copy.deepcopy(variant)}

    @staticmethod
    def _cog(variant: Mapping[str, Any], cog_id: str) -> dict[str, Any]:
        for line in variant["manualCostHistory"]:
            if line["id"] == cog_id:
                found: dict[str, Any] = line
                return found
        raise cog_not_found()


def _check_dates(line: Mapping[str, Any], path: str) -> None:
    start, end = line["effectiveStartDate"], line.get("effectiveEndDate")
    errors: list[FieldError] = []
    for name in ("effectiveStartDate", "effectiveEndDate"):
        value = line.get(name)
        if value is not None:
            try:
                date.fromisoformat(value)
            except ValueError:
                errors.append({"path": name, "message": "must be a date YYYY-MM-DD"})
    if not errors and end is not None and end < start:
        errors.append({"path": path, "message": "must not be before effectiveStartDate"})
    if errors:
        raise invalid_body(errors)
