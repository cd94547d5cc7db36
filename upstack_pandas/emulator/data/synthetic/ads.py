"""Ad entities (account → campaign → ad set → ad) and daily ad spend of the synthetic shop."""

from __future__ import annotations

import numpy as np
import pandas as pd

from upstack_pandas.emulator.data.synthetic.common import US_PER_DAY, cents
from upstack_pandas.emulator.data.taxonomy import ENTITY_COLUMNS, PLATFORM_CHANNEL

_ACCOUNTS = [
    (
        "meta",
        "act_1001",
        "Meta – Main",
        ["Prospecting – Broad", "Advantage+ Shopping", "Retargeting – 30d", "Catalog – DPA"],
    ),
    (
        "meta",
        "act_1002",
        "Meta – Creative Lab",
        ["UGC Testing", "Lookalike 1%", "Creator Whitelisting"],
    ),
    (
        "google",
        "123-456-7890",
        "Google Ads",
        ["Search – Brand", "Search – Non-brand", "Performance Max", "Shopping – All Products"],
    ),
    (
        "tiktok",
        "7001000001",
        "TikTok Ads",
        ["Spark Ads – UGC", "Prospecting – Interests", "Retargeting – Viewers"],
    ),
]
_BUDGET = {"meta": 520.0, "google": 360.0, "tiktok": 160.0}
_CPM = {"meta": 11.0, "google": 28.0, "tiktok": 7.0}
_CTR = {"meta": 0.012, "google": 0.045, "tiktok": 0.009}
_CVR = {"meta": 0.025, "google": 0.035, "tiktok": 0.015}


def ads(
    rng: np.random.Generator, days: np.ndarray, demand: np.ndarray, now_us: int
) -> tuple[pd.DataFrame, pd.DataFrame, dict[str, tuple[list[str], np.ndarray]]]:
    """Ad entities (account → campaign → adset → ad) and their daily spend rows."""
    rows: list[dict[str, str]] = []
    ads: list[dict[str, str]] = []
    counter = {"campaign": 0, "adset": 0, "ad": 0}

    def next_id(level: str, platform: str) -> str:
        counter[level] += 1
        return f"{level}_{platform}_{counter[level]:04d}"

    for platform, acc_id, acc_name, campaigns in _ACCOUNTS:  # ~150 entities, not per order
        base = {"platform": platform, "account_id": acc_id, "account_name": acc_name}
        rows.append({"id": acc_id, "level": "account", "name": acc_name, **base})
        for cmp_name in campaigns:
            cmp = {**base, "campaign_id": next_id("campaign", platform), "campaign_name": cmp_name}
            rows.append({"id": cmp["campaign_id"], "level": "campaign", "name": cmp_name, **cmp})
            for j in range(int(rng.integers(2, 4))):
                adset = {
                    **cmp,
                    "adset_id": next_id("adset", platform),
                    "adset_name": f"{cmp_name} / Ad set {j + 1}",
                }
                rows.append(
                    {
                        "id": adset["adset_id"],
                        "level": "adset",
                        "name": adset["adset_name"],
                        **adset,
                    }
                )
                for k in range(int(rng.integers(2, 4))):
                    ad = {
                        **adset,
                        "ad_id": next_id("ad", platform),
                        "ad_name": f"{adset['adset_name']} / Ad {k + 1}",
                    }
                    rows.append({"id": ad["ad_id"], "level": "ad", "name": ad["ad_name"], **ad})
                    ads.append(ad)
    n_ads, n_days = len(ads), len(days)
    start = np.where(rng.random(n_ads) < 0.3, rng.integers(0, int(n_days * 0.6), n_ads), 0)
    stops = rng.random(n_ads) < 0.25
    end = np.where(
        stops, start + 30 + (rng.random(n_ads) * (n_days - start - 31)).astype(np.int64), n_days - 1
    )
    active = (np.arange(n_days)[None, :] >= start[:, None]) & (
        np.arange(n_days)[None, :] <= end[:, None]
    )
    weight = rng.lognormal(0.0, 0.5, n_ads)
    ad_platform = np.array([a["platform"] for a in ads], dtype=object)
    spend = np.zeros((n_ads, n_days))
    for p, budget in _BUDGET.items():  # one iteration per platform
        sel = ad_platform == p
        w = weight[sel, None] * active[sel]
        spend[sel] = budget * demand[None, :] * w / np.maximum(w.sum(axis=0, keepdims=True), 1e-9)
    spend *= rng.lognormal(0.0, 0.2, spend.shape)
    spend[:, -1] *= (now_us % US_PER_DAY) / US_PER_DAY  # today so far
    spend = cents(spend)
    ad_i, day_i = np.nonzero(active & (spend > 0))
    s = spend[ad_i, day_i]
    plat = ad_platform[ad_i]
    cpm = np.array([_CPM[p] for p in plat]) * rng.lognormal(0.0, 0.15, len(s))
    impressions = np.round(s / cpm * 1000).astype(np.int64)
    clicks = rng.binomial(
        impressions, np.array([_CTR[p] for p in plat]) * rng.lognormal(0, 0.1, len(s))
    )
    conversions = rng.binomial(clicks, np.array([_CVR[p] for p in plat]))
    ad_frame = pd.DataFrame(ads)
    ad_spend = ad_frame.iloc[ad_i].reset_index(drop=True)
    ad_spend.insert(0, "date", days[day_i].astype("datetime64[D]").astype("datetime64[s]"))
    ad_spend.insert(2, "channel", pd.Series(plat).map(PLATFORM_CHANNEL).to_numpy(dtype=object))
    ad_spend["spend"] = s
    ad_spend["impressions"] = impressions
    ad_spend["clicks"] = clicks.astype(np.int64)
    ad_spend["conversions"] = conversions.astype(np.int64)
    ad_spend["conversion_value"] = cents(conversions * 72.0 * rng.lognormal(0.0, 0.12, len(s)))
    entities = _entity_status(pd.DataFrame(rows), ad_frame, end == n_days - 1)
    picks: dict[str, tuple[list[str], np.ndarray]] = {}
    for p in _BUDGET:
        cmp_spend = ad_spend[ad_spend["platform"] == p].groupby("campaign_name")["spend"].sum()
        picks[p] = (list(cmp_spend.index), (cmp_spend / cmp_spend.sum()).to_numpy())
    return entities, ad_spend, picks


def _entity_status(
    entities: pd.DataFrame, ads: pd.DataFrame, ad_active: np.ndarray
) -> pd.DataFrame:
    """An ad is active when it runs today; a parent is active when any child ad is."""
    live = ads[ad_active]
    alive = (
        set(live["ad_id"])
        | set(live["adset_id"])
        | set(live["campaign_id"])
        | set(live["account_id"])
    )
    entities["status"] = np.where(entities["id"].isin(alive), "active", "paused")
    return entities.reindex(columns=list(ENTITY_COLUMNS))
