"""The COGS recalculation: cost configuration → every order's ``cogs`` and ``shipping_cost``.

Per order line (``Store.lines``; decisions D52-D56, D59, D60):

* unit cost = the variant's active manual COG line on the order's UTC date, else the line's
  Shopify-synced cost (``base_cost``, the generated or loaded ``cogs``), else the global
  override's ``defaultCogs`` (a per-unit amount; 0 while unset);
* plus ``quantity × (variant handlingFee + globalHandlingFee)``.

An order's ``cogs`` is the sum of its lines. Its ``shipping_cost`` follows the shipping
method: ``shopify_charges`` keeps the captured charge, ``fixed_rate`` is ``fixedRateAmount``
per order, ``shipping_profiles`` is the sum of the active shipping cost lines whose
``countries`` contain the order's country (all countries when omitted), the captured charge
where none applies. Order, gateway, variable and fixed lines change no emulated measure.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from upstack_pandas.emulator.data.store import Store
from upstack_pandas.emulator.engine.resources.costs import CostState
from upstack_pandas.emulator.engine.resources.products import ProductState, active_cog_line

__all__ = ["Pricing"]


def _active(line: dict[str, Any], days: np.ndarray) -> np.ndarray:
    mask = np.ones(len(days), dtype=bool)
    start, end = line.get("effectiveStartDate"), line.get("effectiveEndDate")
    if start is not None:
        mask &= days >= np.datetime64(start, "ns")
    if end is not None:
        mask &= days <= np.datetime64(end, "ns")
    return mask


class Pricing:
    """Recompute the store's per-order costs from one pixel's cost state and products.

    Parameters
    ----------
    store : Store
        The pixel's data store (its ``lines``, ``catalog`` and ``base_costs``).
    costs : CostState
    products : ProductState
    """

    def __init__(self, store: Store, costs: CostState, products: ProductState) -> None:
        self.store, self.costs, self.products = store, costs, products
        lines = store.lines
        orders = store.tables["orders"]
        position = pd.Series(np.arange(len(orders)), index=orders["order_id"].to_numpy())
        self._order_of_line = position.reindex(lines["order_id"].to_numpy()).to_numpy()
        synced = store.catalog.set_index("variant_id")["synced"]
        self._synced = synced.reindex(lines["variant_id"].to_numpy()).fillna(False).to_numpy(bool)
        self._days = lines["day"].to_numpy(dtype="datetime64[ns]")
        self._quantity = lines["quantity"].to_numpy(dtype=np.float64)
        self._base = lines["base_cost"].to_numpy(dtype=np.float64)
        self._lines_of = {
            str(v): np.asarray(idx) for v, idx in lines.groupby("variant_id").indices.items()
        }
        self._order_days = (
            orders["ts"].dt.tz_convert("UTC").dt.tz_localize(None).dt.floor("D").to_numpy()
        ).astype("datetime64[ns]")
        self._countries = orders["country"].astype(str).to_numpy()

    def line_costs(self) -> np.ndarray:
        """Return every order line's cost (COGS plus handling) under the current configuration."""
        config = self.costs.snapshot()
        override = config["globalProductOverride"]
        default = float(override.get("defaultCogs") or 0)
        global_fee = float(override.get("globalHandlingFee") or 0)
        cost = np.where(self._synced, self._base, self._quantity * default)
        fee = np.full(len(cost), global_fee)
        for variant_id, data in self.products.snapshot().items():
            idx = self._lines_of.get(variant_id)
            if idx is None:
                continue
            fee[idx] += float(data["handlingFee"])
            for line in data["manualCostHistory"]:  # chronological: later lines win
                hit = idx[_active(line, self._days[idx])]
                cost[hit] = self._quantity[hit] * float(line["cost"])
        return np.asarray(cost + self._quantity * fee, dtype=np.float64)

    def order_costs(self) -> tuple[pd.Series, pd.Series]:
        """Return every order's ``cogs`` and ``shipping_cost`` (aligned with the orders table)."""
        n = len(self.store.tables["orders"])
        cogs = np.bincount(self._order_of_line, weights=self.line_costs(), minlength=n)
        config = self.costs.snapshot()
        shipping = self.store.base_costs["shipping_cost"].to_numpy(dtype=np.float64).copy()
        settings = config["shippingSettings"]
        if settings["method"] == "fixed_rate":
            shipping[:] = float(settings["fixedRateAmount"] or 0)
        elif settings["method"] == "shipping_profiles":
            profile = np.zeros(n)
            matched = np.zeros(n, dtype=bool)
            for line in config["lines"]["shipping"]:
                hit = _active(line, self._order_days)
                if line.get("countries"):
                    hit &= np.isin(self._countries, line["countries"])
                profile[hit] += float(line.get("amount", 0))
                matched |= hit
            shipping = np.where(matched, profile, shipping)
        return pd.Series(np.round(cogs, 2)), pd.Series(np.round(shipping, 2))

    def recalculate(self) -> None:
        """Write the recomputed ``cogs`` and ``shipping_cost`` into the store."""
        cogs, shipping = self.order_costs()
        self.store.set_order_costs(cogs, shipping)

    def resolved_cost(self, product_id: str, variant_id: str, today: str) -> dict[str, Any]:
        """Body of ``GET .../{productId}/{variantId}/cost`` at the date ``today``."""
        variant = self.products.variant(product_id, variant_id)
        override = self.costs.snapshot()["globalProductOverride"]
        active = active_cog_line(variant["manualCostHistory"], today)
        idx = self._lines_of.get(variant_id, np.array([], dtype=np.int64))
        synced = bool(
            self.store.catalog.loc[self.store.catalog["variant_id"] == variant_id, "synced"].iloc[0]
        )
        if active is not None:
            source, cost = "cog_line", float(active["cost"])
        elif synced:
            latest = idx[np.argmax(self._days[idx])] if len(idx) else None
            unit = self._base[latest] / self._quantity[latest] if latest is not None else 0.0
            source, cost = "shopify", round(float(unit), 2)
        elif override.get("defaultCogs") is not None:
            source, cost = "global_override", float(override["defaultCogs"])
        else:
            source, cost = "default", 0.0
        fee = float(variant["handlingFee"]) + float(override.get("globalHandlingFee") or 0)
        return {
            "productCost": {
                "effectiveCost": cost,
                "handlingFee": fee,
                "currency": override.get("currency") or "USD",
                "source": source,
                "activeCogLine": active,
            }
        }
