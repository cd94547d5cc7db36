"""Touchpoints and sessions of the synthetic shop (see :mod:`._generate` for the model)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa

from upstack_pandas.emulator.data.synthetic.common import (
    COUNTRIES,
    DEVICES,
    US_PER_DAY,
    US_PER_HOUR,
    dense_unique,
    fixed_width_strings,
    id_bytes,
    time_order,
    times,
)
from upstack_pandas.emulator.data.taxonomy import CHANNEL_PLATFORM, CHANNELS

_CH = {name: i for i, name in enumerate(CHANNELS)}
ACQ_P = np.array([0.30, 0.21, 0.10, 0.14, 0.06, 0.04, 0.05, 0.10])
_MID_P = np.array([0.14, 0.12, 0.04, 0.16, 0.05, 0.15, 0.04, 0.30])
_LAST_P = np.array([0.12, 0.12, 0.03, 0.16, 0.03, 0.18, 0.04, 0.32])
_REPEAT_P = np.array([0.08, 0.08, 0.02, 0.10, 0.03, 0.34, 0.03, 0.32])
_ANON_P = np.array([0.26, 0.18, 0.12, 0.18, 0.08, 0.03, 0.05, 0.10])

_SOURCES: dict[str, tuple[list[str], list[float], str]] = {
    "meta_ads": (["facebook", "instagram"], [0.7, 0.3], "paid_social"),
    "google_ads": (["google"], [1.0], "cpc"),
    "tiktok_ads": (["tiktok"], [1.0], "paid_social"),
    "organic_search": (["google", "bing", "duckduckgo"], [0.85, 0.1, 0.05], "organic"),
    "organic_social": (
        ["instagram", "facebook", "tiktok", "pinterest"],
        [0.4, 0.25, 0.25, 0.1],
        "social",
    ),
    "email": (["klaviyo"], [1.0], "email"),
    "referral": (["blog.example.com", "reddit.com", "youtube.com"], [0.5, 0.3, 0.2], "referral"),
    "direct": (["(direct)"], [1.0], "(none)"),
}
_EMAIL_CAMPAIGNS = (
    ["welcome_flow", "abandoned_cart", "weekly_newsletter", "winback", "vip_early_access"],
    [0.2, 0.3, 0.3, 0.1, 0.1],
)
_PAGES = (
    [
        "/",
        "/collections/new-arrivals",
        "/collections/sale",
        "/products/classic-tee",
        "/products/everyday-hoodie",
        "/products/canvas-tote",
        "/blogs/style-guide",
    ],
    [0.3, 0.15, 0.12, 0.14, 0.12, 0.1, 0.07],
)


def touches(
    rng: np.random.Generator,
    o_cust: np.ndarray,
    o_ts: np.ndarray,
    o_new: np.ndarray,
    acq: np.ndarray,
    device: np.ndarray,
) -> dict[str, np.ndarray]:
    """Touchpoints before every order: when, which channel, which device."""
    k = np.where(
        o_new, 1 + np.minimum(rng.poisson(1.7, len(o_ts)), 7), 1 + rng.poisson(0.5, len(o_ts))
    )
    idx = np.repeat(np.arange(len(o_ts)), k)
    pos = np.arange(len(idx)) - np.repeat(np.cumsum(k) - k, k)
    first, last = pos == 0, pos == np.repeat(k, k) - 1
    new, order_ts = o_new[idx], o_ts[idx]
    n = len(idx)
    last_ts = order_ts - rng.integers(60_000_000, 45 * 60_000_000, n)
    lag = np.where(
        new,
        np.minimum(rng.exponential(8.0, n), 75.0) * US_PER_DAY + US_PER_HOUR,
        rng.uniform(1.0, 96.0, n) * US_PER_HOUR,
    ).astype(np.int64)
    first_ts = np.repeat((order_ts - lag)[first], k)
    ts = np.where(
        last, last_ts, np.where(first, first_ts, first_ts + rng.random(n) * (last_ts - first_ts))
    )
    cust_acq = acq[o_cust[idx]]
    channel = np.where(new, rng.choice(8, n, p=_MID_P), rng.choice(8, n, p=_REPEAT_P))
    last_new = last & new & ~first
    channel[last_new] = np.where(
        rng.random(int(last_new.sum())) < 0.5,
        cust_acq[last_new],
        rng.choice(8, int(last_new.sum()), p=_LAST_P),
    )
    channel = np.where(first & new, cust_acq, channel)
    dev = np.where(rng.random(n) < 0.85, device[o_cust[idx]], rng.choice(3, n, p=DEVICES[1]))
    created = np.full(int(o_cust.max()) + 1 if len(o_cust) else 0, np.iinfo(np.int64).max)
    np.minimum.at(created, o_cust[idx], ts.astype(np.int64))
    return {
        "ts": ts.astype(np.int64),
        "cust": o_cust[idx],
        "channel": channel,
        "device": dev,
        "is_last": last,
        "created": created,
    }


def anonymous_sessions(
    rng: np.random.Generator,
    days: np.ndarray,
    demand: np.ndarray,
    now_us: int,
    created: np.ndarray,
    n_cust: int,
) -> dict[str, np.ndarray]:
    """Non-converting traffic: anonymous visitors, and some browsing by existing customers."""
    ts = times(rng, np.repeat(days, rng.poisson(300.0 * demand)))
    ts = ts[ts <= now_us]
    n = len(ts)
    visitor = n_cust + rng.integers(0, max(n * 2 // 3, 1), n)  # ids after the customers' ids
    known = rng.integers(0, max(n_cust, 1), n)
    use_known = rng.random(n) < 0.1
    use_known &= created[known] <= ts if n_cust else np.zeros(n, bool)
    cust = np.where(use_known, known, visitor)
    return {
        "ts": ts,
        "cust": cust,
        "channel": rng.choice(8, n, p=_ANON_P),
        "device": rng.choice(3, n, p=DEVICES[1]),
    }


def sessions_frame(
    rng: np.random.Generator,
    touches: dict[str, np.ndarray],
    anon: dict[str, np.ndarray],
    country: np.ndarray,
    campaign_pick: dict[str, tuple[list[str], np.ndarray]],
) -> pa.Table:
    """Every session (touchpoints and anonymous traffic) in time order, as an Arrow table.

    The ``ts``, ``cust``, ``channel`` and ``device`` arrays are taken out of ``touches`` and
    ``anon`` (freed as soon as they are merged: at scale 16 each is 80 MB); the columns are
    built one at a time, with one-byte codes where they fit, so the peak stays a few arrays.
    """
    n_touch, n_anon = len(touches["ts"]), len(anon["ts"])
    ts = np.concatenate([touches.pop("ts"), anon.pop("ts")])
    cust = np.concatenate([touches.pop("cust"), anon.pop("cust")])
    channel = np.concatenate([touches.pop("channel"), anon.pop("channel")]).astype(np.int8)
    device = np.concatenate([touches.pop("device"), anon.pop("device")]).astype(np.int8)
    engaged = np.concatenate([np.ones(n_touch, bool), rng.random(n_anon) >= 0.45])
    order = time_order(ts, cust)  # by ts, then visitor
    ts = ts[order]
    cust = cust[order]
    channel = channel[order]
    device = device[order]
    engaged = engaged[order]
    del order
    n = len(ts)
    sources = sorted({o for opts, _, _ in _SOURCES.values() for o in opts})
    media = sorted({med for _, _, med in _SOURCES.values()})
    campaigns = [
        "(none)",
        *_EMAIL_CAMPAIGNS[0],
        *(c for names, _ in campaign_pick.values() for c in names),
    ]
    source, medium, campaign = (np.zeros(n, dtype=np.int8) for _ in range(3))
    for name, code in _CH.items():  # one iteration per channel
        mask = channel == code
        opts, probs, med = _SOURCES[name]
        source[mask] = np.array([sources.index(o) for o in opts])[
            rng.choice(len(opts), int(mask.sum()), p=probs)
        ]
        medium[mask] = media.index(med)
        picks = campaign_pick.get(
            CHANNEL_PLATFORM.get(name, ""), _EMAIL_CAMPAIGNS if name == "email" else None
        )
        if picks is not None:
            names, weights = picks
            codes = np.array([campaigns.index(c) for c in names])
            campaign[mask] = codes[rng.choice(len(names), int(mask.sum()), p=weights)]
    del mask
    known = cust < len(country)
    cust_country = np.where(
        known,
        country[np.minimum(cust, len(country) - 1)],
        rng.choice(len(COUNTRIES[0]), n, p=COUNTRIES[1]),
    ).astype(np.int8)
    del known
    platforms = [CHANNEL_PLATFORM.get(c, "(none)") for c in CHANNELS]
    n_pages = len(_PAGES[0])
    columns: dict[str, pa.Array] = {"session_id": pa.array(np.arange(1, n + 1, dtype=np.int64))}
    # each visitor's first session by (ts, session_id): rows are in that order already
    visitors, first_seen, visitor_codes = dense_unique(cust)
    del cust
    is_new_visitor = np.zeros(n, dtype=bool)
    is_new_visitor[first_seen] = True
    del first_seen
    columns["customer_id"] = _customer_ids(visitors, visitor_codes, len(country))
    del visitors, visitor_codes
    columns["ts"] = pa.array(ts, type=pa.int64()).view(pa.timestamp("us", tz="UTC"))
    columns["utm_source"] = _dictionary(sources, source)
    columns["utm_medium"] = _dictionary(media, medium)
    columns["utm_campaign"] = _dictionary(campaigns, campaign)
    columns["channel"] = _dictionary(list(CHANNELS), channel)
    columns["platform"] = _dictionary(platforms, channel)
    columns["device"] = _dictionary(DEVICES[0], device)
    columns["country"] = _dictionary(COUNTRIES[0], cust_country)
    del source, medium, campaign, channel, device, cust_country
    columns["landing_page"] = _dictionary(_PAGES[0], rng.choice(n_pages, n, p=_PAGES[1]))
    columns["pageviews"] = pa.array(np.where(engaged, 2 + rng.poisson(3.0, n), 1).astype(np.int64))
    columns["is_new_visitor"] = pa.array(is_new_visitor)
    return pa.table(columns)


def _dictionary(names: list[str] | pd.Series, codes: np.ndarray) -> pa.DictionaryArray:
    """``names[codes]`` as an Arrow dictionary array: a one-byte code per cell, no string copies."""
    return pa.DictionaryArray.from_arrays(  # codes are in range by construction: no check
        pa.array(np.asarray(codes, dtype=np.int8)),
        pa.array(list(names), type=pa.string()),
        safe=False,
    )


def _customer_ids(unique: np.ndarray, codes: np.ndarray, n_cust: int) -> pa.DictionaryArray:
    """``C0000042`` for customers, ``V0000042`` for anonymous visitors (``unique[codes]``)."""
    names = id_bytes("C", unique, 7)
    if len(names):
        names.view(np.uint8).reshape(len(names), -1)[unique >= n_cust, 0] = ord("V")
    return pa.DictionaryArray.from_arrays(
        pa.array(codes.astype(np.int32)), fixed_width_strings(names), safe=False
    )
