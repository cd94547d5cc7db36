"""The marketing taxonomy shared by the generator and the loaders: channels, platforms, ads.

A touchpoint's ``channel`` is derived from its ``utm_source``/``utm_medium``; an ad platform maps
to exactly one paid channel, which is how spend and pixel data meet on the ``channel`` and
``platform`` dimensions (``docs/emulator-data.md``). Ad spend rows and ad entities carry the
same id and name columns of the ad hierarchy (account → campaign → ad set → ad).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

#: Ad platforms with spend, and the paid channel each one feeds.
PLATFORM_CHANNEL: dict[str, str] = {
    "meta": "meta_ads",
    "google": "google_ads",
    "tiktok": "tiktok_ads",
}
#: The inverse: paid channel -> platform (other channels have platform ``(none)``).
CHANNEL_PLATFORM: dict[str, str] = {c: p for p, c in PLATFORM_CHANNEL.items()}
#: Channels the generator produces (user data may add ``other_paid`` and ``other``).
CHANNELS: tuple[str, ...] = (
    "meta_ads",
    "google_ads",
    "tiktok_ads",
    "organic_search",
    "organic_social",
    "email",
    "referral",
    "direct",
)
#: The levels of the ad hierarchy, top down.
AD_LEVELS: tuple[str, ...] = ("account", "campaign", "adset", "ad")
#: The id and name column of each level (``account_id``, ``account_name``, ...).
HIERARCHY_COLUMNS: tuple[str, ...] = tuple(f"{lv}_{k}" for lv in AD_LEVELS for k in ("id", "name"))
#: The columns of the ``entities`` table (one row per account, campaign, ad set and ad).
ENTITY_COLUMNS: tuple[str, ...] = ("id", "level", "platform", "name", *HIERARCHY_COLUMNS, "status")
DIRECT = "(direct)"
NONE = "(none)"
UNKNOWN = "(unknown)"

_PAID_MEDIA = {"cpc", "ppc", "paid", "paid_social", "paidsocial", "paid_search", "display", "cpm"}
_SOURCE_PLATFORM = {
    "facebook": "meta",
    "fb": "meta",
    "instagram": "meta",
    "ig": "meta",
    "meta": "meta",
    "google": "google",
    "youtube": "google",
    "tiktok": "tiktok",
}
_MEDIUM_CHANNEL = {
    "organic": "organic_search",
    "social": "organic_social",
    "email": "email",
    "referral": "referral",
}


def classify_channel(utm_source: pd.Series, utm_medium: pd.Series) -> pd.Series:
    """Derive the marketing channel of touchpoints from their UTM source and medium.

    Parameters
    ----------
    utm_source, utm_medium
        String series of equal length; missing values, ``""`` and ``(direct)`` mean direct.

    Returns
    -------
    pandas.Series
        ``meta_ads``/``google_ads``/``tiktok_ads`` for paid media from a known platform,
        ``other_paid`` for other paid media, ``organic_search``, ``organic_social``, ``email``,
        ``referral``, ``direct``, or ``other``.
    """
    source = utm_source.fillna("").astype(str).str.strip().str.lower()
    medium = utm_medium.fillna("").astype(str).str.strip().str.lower()
    platform = source.map(_SOURCE_PLATFORM)
    paid_channel = platform.map(PLATFORM_CHANNEL).fillna("other_paid")
    out = medium.map(_MEDIUM_CHANNEL).fillna("other").to_numpy(dtype=object)
    paid = medium.isin(_PAID_MEDIA).to_numpy()
    out[paid] = paid_channel.to_numpy(dtype=object)[paid]
    direct = source.isin(["", DIRECT]).to_numpy()
    out[direct] = "direct"
    return pd.Series(out, index=utm_source.index, dtype="str")


def platform_of_channel(channel: pd.Series) -> pd.Series:
    """Map channels to ad platforms (``(none)`` for channels without a platform).

    Parameters
    ----------
    channel
        Channel names as produced by :func:`classify_channel`.

    Returns
    -------
    pandas.Series
        ``meta``, ``google``, ``tiktok`` or ``(none)``.
    """
    return channel.map(CHANNEL_PLATFORM).fillna(NONE).astype("str")


def channel_of_platform(platform: pd.Series) -> pd.Series:
    """Map ad platforms to their paid channel (unknown platforms become ``<platform>_ads``).

    Parameters
    ----------
    platform
        Platform names (``meta``, ``google``, ``tiktok``...).

    Returns
    -------
    pandas.Series
        The paid channel of each platform.
    """
    mapped = platform.map(PLATFORM_CHANNEL)
    return mapped.fillna(platform.astype(str) + "_ads").astype("str")


def as_str_array(values: list[str] | tuple[str, ...]) -> np.ndarray:
    """Return an object array of strings, for fast fancy-indexing of category codes."""
    return np.array(values, dtype=object)
