"""The client a resource function uses, and what a cost-changing write must drop from its cache."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from upstack_pandas._transport.client import Client

__all__ = ["after_cost_change", "resolve"]


def resolve(client: Client | None) -> Client:
    """``client``, or the default client (looked up at call time) when it is None."""
    from upstack_pandas._transport.client import get_default_client

    return client if client is not None else get_default_client()


def after_cost_change(client: Client) -> None:
    """Drop the client's cached responses and memoised frames after a cost or product write.

    Every COGS-based measure (``orders.cogs``, ``orders.cm1``...) of any cached analytics result
    may have changed (the API recalculates them), so a later read must not answer from before
    the change (contract D95).
    """
    from upstack_pandas.cache import clear

    clear(client=client)
