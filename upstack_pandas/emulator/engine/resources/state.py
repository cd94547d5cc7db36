"""``PixelState``: the account, costs, products and events of one pixel, and their effects.

The HTTP routes call these methods with bodies that passed the spec; cost mutations that the
documentation says trigger the per-order recalculation rewrite the store's ``cogs`` and
``shipping_cost`` before they answer, so the next analytics query sees them (decision D53).
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any

from upstack_pandas.emulator.data.store import Store
from upstack_pandas.emulator.engine.resources.account import AccountState
from upstack_pandas.emulator.engine.resources.costs import PER_ORDER_TYPES, CostState
from upstack_pandas.emulator.engine.resources.events import EventLog
from upstack_pandas.emulator.engine.resources.pricing import Pricing
from upstack_pandas.emulator.engine.resources.products import ProductState

__all__ = ["PixelState"]


class PixelState:
    """Everything the account, costs, products and events endpoints keep for one pixel.

    Parameters
    ----------
    store : Store
        The pixel's data store (its catalog, order lines and base costs).
    now : datetime
        The server's clock (resolved costs are those of its UTC date).
    """

    def __init__(self, store: Store, now: datetime) -> None:
        self.store = store
        self.today = now.date().isoformat()
        self.account = AccountState()
        self.costs = CostState()
        self.products = ProductState(store.catalog)
        self.events = EventLog()
        self.pricing = Pricing(store, self.costs, self.products)
        self._changed = False
        # One cost mutation and its recalculation at a time: a recalculation always reads
        # the configuration its own mutation left, so the last write is never a stale one.
        self._writes = threading.RLock()

    def _apply(
        self, change: Callable[[], dict[str, Any]], recalculate: bool = True
    ) -> dict[str, Any]:
        with self._writes:
            result = change()
            if recalculate:
                self.pricing.recalculate()
                self._changed = True
            return result

    def restore(self) -> None:
        """Put the store's per-order costs back to the generated or loaded ones."""
        with self._writes:
            if self._changed:
                base = self.store.base_costs
                self.store.set_order_costs(base["cogs"], base["shipping_cost"])
                self._changed = False

    # ----------------------------------------------------------------- costs

    def set_global_override(self, body: Mapping[str, Any]) -> dict[str, Any]:
        """``PUT /accounts/api/costs/global-product-override``."""
        return self._apply(lambda: self.costs.set_global_override(body))

    def set_shipping(self, body: Mapping[str, Any]) -> dict[str, Any]:
        """``PUT /accounts/api/costs/shipping-settings``."""
        return self._apply(lambda: self.costs.set_shipping(body))

    def add_line(self, body: Mapping[str, Any]) -> dict[str, Any]:
        """``POST /accounts/api/costs/lines``."""
        return self._apply(lambda: self.costs.add_line(body), body["costType"] in PER_ORDER_TYPES)

    def update_line(self, line_id: str, body: Mapping[str, Any]) -> dict[str, Any]:
        """``PUT /accounts/api/costs/lines/{lineId}``."""
        return self._apply(
            lambda: self.costs.update_line(line_id, body), body["costType"] in PER_ORDER_TYPES
        )

    def delete_line(self, line_id: str, cost_type: str) -> dict[str, Any]:
        """``DELETE /accounts/api/costs/lines/{lineId}?costType=``."""
        return self._apply(
            lambda: self.costs.delete_line(line_id, cost_type), cost_type in PER_ORDER_TYPES
        )

    # ----------------------------------------------------------------- products

    def resolved_cost(self, product_id: str, variant_id: str) -> dict[str, Any]:
        """``GET /accounts/api/products/{productId}/{variantId}/cost``."""
        return self.pricing.resolved_cost(product_id, variant_id, self.today)

    def set_handling_fee(self, product_id: str, variant_id: str, fee: float) -> dict[str, Any]:
        """``PUT .../handling-fee``."""
        return self._apply(lambda: self.products.set_handling_fee(product_id, variant_id, fee))

    def add_cog(self, product_id: str, variant_id: str, body: Mapping[str, Any]) -> dict[str, Any]:
        """``POST .../cogs``."""
        return self._apply(lambda: self.products.add_cog(product_id, variant_id, body))

    def update_cog(
        self, product_id: str, variant_id: str, cog_id: str, body: Mapping[str, Any]
    ) -> dict[str, Any]:
        """``PUT .../cogs/{cogId}``."""
        return self._apply(lambda: self.products.update_cog(product_id, variant_id, cog_id, body))

    def delete_cog(self, product_id: str, variant_id: str, cog_id: str) -> dict[str, Any]:
        """``DELETE .../cogs/{cogId}``."""
        return self._apply(lambda: self.products.delete_cog(product_id, variant_id, cog_id))
