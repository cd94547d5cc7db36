"""The shop's product catalog and order lines, derived from an orders table.

Products and variants are generated from their own random stream (seeded by the store's
seed), so the orders, sessions and ad tables are exactly what they were before the catalog
existed. Each order gets 1-4 lines; the order's ``cogs`` is split over its lines whose
variant has a Shopify-synced cost (``synced``), so the lines' ``base_cost`` sums back to the
order's ``cogs`` to the cent. Lines of variants without a synced cost (``synced`` false)
carry no base cost: the global product override's ``defaultCogs`` prices them. The first line
of every order is a synced variant, so an unmodified shop's ``cogs`` stays what it was.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

__all__ = ["PRODUCT_COUNT", "order_lines", "products"]

PRODUCT_COUNT = 48
_UNMAPPED_EVERY = 8  # products 7, 15, 23, ... have no Shopify-synced cost
_STREAM = 0xC0575  # the catalog's own random stream, next to the store's seed

_ADJECTIVES = ["Classic", "Organic", "Everyday", "Vintage", "Linen", "Merino", "Oversized", "Slim"]
_NOUNS = ["Tee", "Shirt", "Hoodie", "Crewneck", "Beanie", "Tote Bag"]
_VENDORS = ["Northwind Apparel", "Tidal Threads", "Upstack Goods"]
_SIZES = ["S", "M", "L", "XL"]
_COLOURS = ["Black", "White", "Navy", "Sand"]


def products(seed: int) -> pd.DataFrame:
    """Return one row per variant of the synthetic catalog.

    Parameters
    ----------
    seed : int
        The store's seed; another seed gives other ids (so two pixels never share one).

    Returns
    -------
    pandas.DataFrame
        ``product_id``, ``product_title``, ``vendor``, ``variant_id``, ``sku``,
        ``variant_title`` and ``synced`` (the variant has a Shopify-synced cost), sorted
        by ``product_id`` then ``variant_id``.
    """
    rng = np.random.default_rng([seed, _STREAM])
    product_numbers = _distinct(rng, 10**6, 10**7, PRODUCT_COUNT)
    rows = []
    variant_numbers = iter(_distinct(rng, 10**7, 10**8, PRODUCT_COUNT * len(_SIZES)))
    for i, number in enumerate(product_numbers):
        noun = _NOUNS[i % len(_NOUNS)]
        title = f"{_ADJECTIVES[(i // len(_NOUNS)) % len(_ADJECTIVES)]} {noun}"
        colour = _COLOURS[i % len(_COLOURS)]
        for size in _SIZES[: 1 + int(rng.integers(0, len(_SIZES)))]:
            code = "".join(w[:3] for w in title.upper().split())
            rows.append(
                {
                    "product_id": f"prd_{number}",
                    "product_title": f"{title} ({colour})",
                    "vendor": _VENDORS[i % len(_VENDORS)],
                    "variant_id": f"var_{next(variant_numbers)}",
                    "sku": f"{code}-{colour[:3].upper()}-{size}",
                    "variant_title": f"{colour} / {size}",
                    "synced": i % _UNMAPPED_EVERY != _UNMAPPED_EVERY - 1,
                }
            )
    return pd.DataFrame(rows)


def _distinct(rng: np.random.Generator, low: int, high: int, count: int) -> np.ndarray:
    """``count`` distinct sorted integers in ``[low, high)`` (without a permutation of the range)."""
    found = np.unique(rng.integers(low, high, count))
    while len(found) < count:
        found = np.unique(np.concatenate([found, rng.integers(low, high, count - len(found))]))
    return found


def order_lines(orders: pd.DataFrame, catalog: pd.DataFrame, seed: int) -> pd.DataFrame:
    """Split every order into lines of the catalog's variants.

    Parameters
    ----------
    orders : pandas.DataFrame
        The store's orders (``order_id``, ``ts``, ``cogs``).
    catalog : pandas.DataFrame
        :func:`products`.
    seed : int
        The store's seed.

    Returns
    -------
    pandas.DataFrame
        ``order_id``, ``day`` (the order's UTC date, ``datetime64`` midnight), ``variant_id``,
        ``quantity`` (int) and ``base_cost`` (the line's synced cost, float with 2 decimals;
        0 for variants without a synced cost), in order order.
    """
    rng = np.random.default_rng([seed, _STREAM, 1])
    n = len(orders)
    count = np.minimum(1 + rng.poisson(0.55, n), 4)
    order_index = np.repeat(np.arange(n), count)
    first = np.r_[True, order_index[1:] != order_index[:-1]] if len(order_index) else np.array([])
    synced = np.flatnonzero(catalog["synced"].to_numpy(dtype=bool))
    any_variant = rng.integers(0, len(catalog), len(order_index))
    variant = np.where(first, synced[rng.integers(0, len(synced), len(order_index))], any_variant)
    quantity = 1 + rng.poisson(0.35, len(order_index))
    is_synced = catalog["synced"].to_numpy(dtype=bool)[variant]
    weight = np.where(is_synced, quantity * rng.uniform(0.5, 1.5, len(order_index)), 0.0)
    # Split each order's cogs (in cents) over its synced lines; the first line takes the rest.
    total_weight = np.bincount(order_index, weights=weight, minlength=n)[order_index]
    cogs_cents = np.round(orders["cogs"].to_numpy(dtype=np.float64) * 100).astype(np.int64)
    share = np.floor(cogs_cents[order_index] * weight / total_weight).astype(np.int64)
    share = np.where(first, 0, share)
    rest = cogs_cents - np.bincount(order_index, weights=share, minlength=n).astype(np.int64)
    share = np.where(first, rest[order_index], share)
    day = orders["ts"].dt.tz_convert("UTC").dt.tz_localize(None).dt.floor("D").to_numpy()
    return pd.DataFrame(
        {
            "order_id": orders["order_id"].to_numpy()[order_index],
            "day": day[order_index].astype("datetime64[ns]"),
            "variant_id": catalog["variant_id"].to_numpy()[variant],
            "quantity": quantity.astype(np.int64),
            "base_cost": share / 100.0,
        }
    )
