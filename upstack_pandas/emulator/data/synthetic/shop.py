"""Deterministic synthetic shop data: customers, touchpoints, orders, ad spend and entities.

Everything is vectorised numpy (no Python loop per order or session); the same ``seed`` and
``now`` give identical tables. Timestamps are UTC microseconds until the frames are built.
The model (documented in ``docs/emulator-data.md``):

* daily demand = trend × weekly × yearly seasonality × promotions (Black Friday week, December);
* new customers per day ~ Poisson(demand); each has 1–8 touchpoints before the first order
  (the first one in its acquisition channel, the last minutes before the order);
* about 38 % of customers come back, with gamma-distributed gaps between orders and a few
  touchpoints (email, direct, retargeting) shortly before each repeat order;
* anonymous, non-converting sessions fill the traffic; some belong to existing customers;
* ad spend per day × ad follows demand and is split among the platform's active ads, with
  impressions, clicks and platform-reported conversions drawn from per-platform rates.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, datetime, timedelta

import numpy as np
import pandas as pd
import pyarrow as pa

from upstack_pandas.emulator.data.synthetic.ads import ads
from upstack_pandas.emulator.data.synthetic.common import (
    COUNTRIES,
    DEVICES,
    US_PER_DAY,
    cents,
    group_cumsum,
    ids,
    strings,
    time_order,
    times,
    utc_index,
)
from upstack_pandas.emulator.data.synthetic.traffic import (
    ACQ_P,
    anonymous_sessions,
    sessions_frame,
    touches,
)
from upstack_pandas.emulator.data.taxonomy import CHANNELS, as_str_array

SPAN_DAYS = 1096  # three years of history up to "now"
_WEEKLY = np.array([1.06, 1.03, 1.0, 0.99, 0.97, 0.92, 1.03])  # Monday .. Sunday


def generate(seed: int, now: datetime, scale: float = 1.0) -> dict[str, pd.DataFrame | pa.Table]:
    """Generate the synthetic store's raw tables.

    Parameters
    ----------
    seed
        Seed of the random generator; same ``seed``, ``now`` and ``scale`` give identical tables.
    now
        Timezone-aware "now"; data covers the ``SPAN_DAYS`` UTC days up to it, nothing after.
    scale
        Multiplies the demand: customers, orders, sessions and ad spend grow in proportion
        (``1``: about 83 thousand orders and 620 thousand sessions; ``16``: about 1.3 million
        orders and 10 million sessions).

    Returns
    -------
    dict of str to pandas.DataFrame or pyarrow.Table
        ``orders``, ``sessions`` (an Arrow table of dictionary-encoded strings: no Python
        string per cell), ``ad_spend``, ``entities`` and ``customers``.
    """
    tables = dict(generate_tables(seed, now, scale=scale))
    return {name: tables[name] for name in TABLE_NAMES}


#: The tables :func:`generate` returns, in its order.
TABLE_NAMES = ("orders", "sessions", "ad_spend", "entities", "customers")


def generate_tables(
    seed: int, now: datetime, scale: float = 1.0
) -> Iterator[tuple[str, pd.DataFrame | pa.Table]]:
    """The tables of :func:`generate`, each handed over as soon as it is drawn.

    ``ad_spend`` and ``entities`` first, then ``sessions``, ``orders`` and ``customers``: a
    consumer may store the sessions while the orders are drawn (the same tables as
    :func:`generate`'s, whatever the consumer does between them).

    Parameters
    ----------
    seed, now, scale
        As for :func:`generate` (``scale`` is checked before anything is drawn).

    Returns
    -------
    iterator of (str, pandas.DataFrame or pyarrow.Table)
        ``(name, table)`` pairs.
    """
    if not scale > 0:
        raise ValueError(f"scale must be positive; got {scale!r}")
    return _tables(seed, now, scale)


def _tables(
    seed: int, now: datetime, scale: float
) -> Iterator[tuple[str, pd.DataFrame | pa.Table]]:
    """:func:`generate_tables`' tables, drawn from one random stream in a fixed order."""
    rng = np.random.default_rng(seed)
    now_us = int(pd.Timestamp(now).tz_convert("UTC").value // 1000)
    last_day = now_us // US_PER_DAY
    days = np.arange(last_day - SPAN_DAYS + 1, last_day + 1)
    demand = _demand(days) * scale
    entities, ad_spend, campaign_pick = ads(rng, days, demand, now_us)
    yield "ad_spend", ad_spend
    yield "entities", entities
    del ad_spend, entities

    # customers and their first orders
    n_new = rng.poisson(36.0 * demand)
    first_ts = times(rng, np.repeat(days, n_new))
    first_ts = np.sort(first_ts[first_ts <= now_us])
    n_cust = len(first_ts)
    acq = rng.choice(len(CHANNELS), n_cust, p=ACQ_P)
    country = rng.choice(len(COUNTRIES[0]), n_cust, p=COUNTRIES[1])
    device = rng.choice(len(DEVICES[0]), n_cust, p=DEVICES[1])

    # repeat orders: gaps of at least a day, re-timed within their day
    n_rep = np.where(rng.random(n_cust) < 0.38, rng.geometric(0.55, n_cust), 0)
    rep_cust = np.repeat(np.arange(n_cust), n_rep)
    gaps = US_PER_DAY + rng.gamma(1.4, 42.0, len(rep_cust)) * US_PER_DAY
    rep_ts = times(
        rng, (first_ts[rep_cust] + group_cumsum(gaps, n_rep)).astype(np.int64) // US_PER_DAY
    )
    keep = rep_ts <= now_us
    o_cust = np.concatenate([np.arange(n_cust), rep_cust[keep]])
    o_ts = np.concatenate([first_ts, rep_ts[keep]])
    o_new = np.concatenate([np.ones(n_cust, bool), np.zeros(int(keep.sum()), bool)])
    order = time_order(o_ts, o_cust)
    o_cust, o_ts, o_new = o_cust[order], o_ts[order], o_new[order]

    touch = touches(rng, o_cust, o_ts, o_new, acq, device)
    anon = anonymous_sessions(rng, days, demand, now_us, touch["created"], n_cust)
    last_touch_device = touch["device"][touch["is_last"]]  # one per order, in order order
    created = touch["created"]
    yield "sessions", sessions_frame(rng, touch, anon, country, campaign_pick)  # takes their arrays
    del touch, anon
    yield "orders", _orders_frame(rng, o_cust, o_ts, o_new, country, last_touch_device, now_us)
    yield (
        "customers",
        pd.DataFrame(
            {
                "customer_id": ids("C", np.arange(n_cust), 7),
                "created_at": utc_index(created),
                "first_order_at": utc_index(first_ts),
                "acquisition_channel": as_str_array(CHANNELS)[acq],
                "country": as_str_array(COUNTRIES[0])[country],
                "device": as_str_array(DEVICES[0])[device],
            }
        ),
    )


def _demand(days: np.ndarray) -> np.ndarray:
    """Relative demand per day: trend × weekly × yearly × promotions (1.0 ≈ an average day)."""
    dates = days.astype("datetime64[D]")
    doy = (dates - dates.astype("datetime64[Y]")).astype(np.int64)
    weekly = _WEEKLY[(days + 3) % 7]
    yearly = 1.0 + 0.15 * np.cos(2 * np.pi * (doy - 345) / 365.25)
    trend = 0.85 + 0.3 * (days - days[0]) / 365.25
    return np.asarray(trend * weekly * yearly * _promo(days), dtype=np.float64)


def _promo(days: np.ndarray) -> np.ndarray:
    """Promotion multipliers: Black Friday to Cyber Monday, the lull before, December, January."""
    promo = np.ones(len(days))
    if len(days) == 0:
        return promo
    first, last = (
        int(str(d)[:4]) for d in np.array([days.min(), days.max()]).astype("datetime64[D]")
    )
    for year in range(first, last + 1):  # one iteration per calendar year
        nov1 = date(year, 11, 1)
        bf = (nov1 + timedelta(days=(3 - nov1.weekday()) % 7 + 22) - date(1970, 1, 1)).days
        promo[(days >= bf) & (days <= bf + 3)] *= 2.6
        promo[(days >= bf - 7) & (days < bf)] *= 0.9
        dec1 = (date(year, 12, 1) - date(1970, 1, 1)).days
        promo[(days > bf + 3) & (days >= dec1) & (days < dec1 + 18)] *= 1.15
        jan1 = (date(year, 1, 1) - date(1970, 1, 1)).days
        promo[(days >= jan1) & (days < jan1 + 10)] *= 0.85
    return promo


def _orders_frame(
    rng: np.random.Generator,
    o_cust: np.ndarray,
    o_ts: np.ndarray,
    o_new: np.ndarray,
    country: np.ndarray,
    device: np.ndarray,
    now_us: int,
) -> pd.DataFrame:
    n = len(o_ts)
    items = 1 + rng.poisson(0.7, n)
    gross = cents(rng.gamma(4.0 * items, 11.0) * np.where(o_new, 1.0, 1.08))
    promo = _promo(o_ts // US_PER_DAY)
    disc_rate = np.where(
        rng.random(n) < np.where(promo > 1.5, 0.8, 0.28), rng.uniform(0.1, 0.25, n), 0.0
    )
    discounts = cents(gross * disc_rate)
    total = np.round(gross - discounts, 2)
    age = now_us - o_ts
    u = rng.random(n)
    pending = u < np.where(age < 2 * US_PER_DAY, 0.25, 0.01)
    voided = ~pending & (u > 0.985)
    status = np.where(pending, "pending", np.where(voided, "voided", "paid")).astype(object)
    refunded = (status == "paid") & (age > 3 * US_PER_DAY) & (rng.random(n) < 0.07)
    refund_share = np.where(rng.random(n) < 0.3, 1.0, rng.uniform(0.2, 0.6, n))
    refunds = np.where(refunded, cents(total * refund_share), 0.0)
    return pd.DataFrame(
        {
            "order_id": ids("#", np.arange(100_001, 100_001 + n), 6),
            "customer_id": ids("C", o_cust, 7),
            "ts": utc_index(o_ts),
            "status": strings(["paid", "pending", "voided"], np.where(pending, 1, voided * 2)),
            "customer_type": strings(["new_customer", "returning_customer"], ~o_new),
            "gross_revenue": gross,
            "discounts": discounts,
            "total_revenue": total,
            "refunds": refunds,
            "net_revenue": np.round(total - refunds, 2),
            "cogs": cents(gross * rng.uniform(0.28, 0.38, n)),
            "shipping_cost": cents(4.5 + 1.2 * items + rng.uniform(0.0, 2.0, n)),
            "payment_fees": np.where(status == "voided", 0.0, cents(total * 0.029 + 0.30)),
            "country": strings(COUNTRIES[0], country[o_cust]),
            "device": strings(DEVICES[0], device),
        }
    )


__all__ = ["SPAN_DAYS", "TABLE_NAMES", "generate", "generate_tables"]
