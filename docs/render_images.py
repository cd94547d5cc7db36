"""Render the images of docs/plotting.md into docs/img/ (reproducible: fixed seed, Agg).

Run ``python docs/render_images.py``. The frames are built by hand in the shapes of
docs/contract.md ("Frame shapes"), with the ``attrs["upstack"]`` metadata the readers attach.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")

import numpy as np
import pandas as pd

import upstack_pandas as up

OUT = Path(__file__).resolve().parent / "img"
SAVE: dict[str, Any] = {"dpi": 120, "metadata": {"Software": None}}  # no version: stable bytes

CATALOG: dict[str, dict[str, Any]] = {
    "core.new_customer_roas": {"title": "New Customer ROAS", "shortTitle": "NC ROAS",
        "format": "multiplier", "isAverage": True, "preferredTrendDirection": "up"},
    "core.new_customer_mer": {"title": "New Customer MER", "shortTitle": "NC MER",
        "format": "multiplier", "isAverage": True, "preferredTrendDirection": "up"},
    "meta.cpm": {"title": "Meta CPM", "shortTitle": "CPM", "format": "currency",
        "isAverage": True, "preferredTrendDirection": "down"},
    "core.gross_revenue": {"title": "Gross Revenue", "shortTitle": "Revenue",
        "format": "currency", "isAverage": False, "preferredTrendDirection": "up"},
    "core.orders": {"title": "Orders", "shortTitle": "Orders", "format": "number",
        "isAverage": False, "preferredTrendDirection": "up"},
    "core.cac": {"title": "Customer Acquisition Cost", "shortTitle": "CAC",
        "format": "currency", "isAverage": True, "preferredTrendDirection": "down"},
    "core.conversion_rate": {"title": "Conversion Rate", "shortTitle": "Conv. rate",
        "format": "percentage", "isAverage": True, "isPercentage": True,
        "preferredTrendDirection": "up"},
    "core.ad_spend": {"title": "Ad Spend", "shortTitle": "Spend", "format": "currency",
        "isAverage": False, "preferredTrendDirection": "up"},
}  # fmt: skip
BASE = {"core.new_customer_roas": 2.1, "core.new_customer_mer": 3.4, "meta.cpm": 11.5,
        "core.gross_revenue": 8200.0, "core.orders": 96.0, "core.cac": 42.0,
        "core.conversion_rate": 2.6, "core.ad_spend": 2900.0}  # fmt: skip
TREND = {"core.new_customer_roas": 0.12, "core.new_customer_mer": -0.06, "meta.cpm": -0.08,
         "core.gross_revenue": 0.15, "core.orders": 0.1, "core.cac": 0.07,
         "core.conversion_rate": 0.0, "core.ad_spend": 0.04}  # fmt: skip


def _series(rng: np.random.Generator, measure: str, days: int, growth: float) -> np.ndarray:
    weekly = 1 + 0.08 * np.sin(np.arange(days) * 2 * np.pi / 7)
    drift = 1 + growth * np.linspace(0, 1, days)
    values = BASE[measure] * weekly * drift * rng.normal(1, 0.05, days)
    return np.round(values) if CATALOG[measure]["format"] == "number" else values


def sparkline_frames() -> tuple[pd.DataFrame, pd.DataFrame]:
    """A 30-day query of eight measures whose last day is partial, and its compare frame."""
    rng = np.random.default_rng(7)
    primary = pd.date_range("2026-04-01", periods=30, freq="D", tz="America/New_York", name="dt")
    previous = pd.date_range("2026-03-02", periods=30, freq="D", tz="America/New_York", name="dt")
    df = pd.DataFrame({m: _series(rng, m, 30, TREND[m]) for m in CATALOG}, index=primary)
    compare = pd.DataFrame({m: _series(rng, m, 30, 0.0) for m in CATALOG}, index=previous)
    additive = [m for m, info in CATALOG.items() if not info["isAverage"]]
    df.loc[df.index[-1], additive] *= 0.45  # the day is not over yet: totals are partial
    measures = {}
    for measure, info in CATALOG.items():
        now, then = df[measure], compare[measure]
        average = info["isAverage"]
        head, base = (now.mean(), then.mean()) if average else (now.sum(), then.sum())
        period = {"Sum": (now.sum(), then.sum()), "Avg": (now.mean(), then.mean())}
        if not average:  # additive: the average is the total per bucket
            period["Avg"] = (now.sum() / len(now), then.sum() / len(then))
        else:  # ratios: the period value is the average (the ratio of sums, approximately)
            period["Sum"] = period["Avg"]
        measures[measure] = {
            **info,
            "currency": "USD",
            "primarySum": period["Sum"][0],
            "compareSum": period["Sum"][1],
            "primaryAvg": period["Avg"][0],
            "compareAvg": period["Avg"][1],
            "percentDiff": (head - base) / abs(base) * 100,
            "hasPacing": True,
            "success": True,
        }
    df.attrs["upstack"] = {
        "version": 1, "endpoint": "/db-mgmt/api/query", "timezone": "America/New_York",
        "granularity": "day", "dimensions": [], "measures": measures,
        "dateRange": {"start": "2026-04-01", "end": "2026-04-30"},
        "compareDateRange": {"start": "2026-03-02", "end": "2026-03-31"},
    }  # fmt: skip
    return df, compare


def cohort_frame() -> pd.DataFrame:
    """Twelve monthly cohorts of retention, as read_cohorts returns them (future cells absent)."""
    rng = np.random.default_rng(11)
    cohorts = pd.date_range("2025-05-01", periods=12, freq="MS", tz="UTC")
    rows, sizes = [], {}
    for age, cohort in enumerate(reversed(cohorts)):
        size = int(rng.integers(600, 1400))
        sizes[cohort.strftime("%Y-%m-%d")] = size
        for period in range(age + 1):
            retention = 100.0 if period == 0 else 31 * np.exp(-0.18 * (period - 1))
            rows.append((cohort, period, retention * rng.normal(1, 0.06) if period else 100.0))
    df = pd.DataFrame(rows, columns=["cohort", "period", "orders.cohort_retention_percent"])
    df = df.set_index(["cohort", "period"]).sort_index()
    df.attrs["upstack"] = {
        "version": 1, "endpoint": "/db-mgmt/api/query-cohort-analysis", "granularity": "month",
        "measures": {"orders.cohort_retention_percent": {"title": "Cohort Retention",
            "shortTitle": "Retention", "format": "percentage", "isPercentage": True,
            "isAverage": True, "preferredTrendDirection": "up"}},
        "cohortSizes": sizes,
    }  # fmt: skip
    return df


def attribution_frame() -> pd.DataFrame:
    """Attributed revenue by utm_source under three models."""
    sources = ["google", "meta", "tiktok", "(direct)", "email", "klaviyo", "pinterest",
               "bing", "youtube", "affiliate", "reddit", "snapchat"]  # fmt: skip
    base = np.array([41, 36, 12, 18, 9, 8, 5, 3.5, 3, 2.2, 1.1, 0.6]) * 1000
    tilt = {"first_click": [1.15, 1.2, 1.3, 0.7, 0.6, 0.5, 1.2, 1, 1.3, 0.8, 1.1, 1.2],
            "last_click": [1.0, 0.85, 0.7, 1.2, 1.5, 1.6, 0.8, 1.1, 0.6, 1.3, 0.9, 0.8],
            "any_click": [1.5, 1.45, 1.5, 1.0, 1.6, 1.7, 1.4, 1.3, 1.5, 1.4, 1.3, 1.3]}  # fmt: skip
    index = pd.MultiIndex.from_product([list(tilt), sources], names=["attribution_model",
                                                                     "utm_source"])  # fmt: skip
    values = np.concatenate([base * np.array(t) for t in tilt.values()])
    df = pd.DataFrame({"attribution.revenue": values}, index=index)
    df.attrs["upstack"] = {
        "version": 1, "endpoint": "/db-mgmt/api/query-attribution", "dimensions": ["utm_source"],
        "attributionModels": list(tilt), "attributionWindow": 30,
        "measures": {"attribution.revenue": {"title": "Attributed Revenue",
            "shortTitle": "Revenue", "format": "currency", "currency": "USD",
            "isAverage": False, "preferredTrendDirection": "up"}},
    }  # fmt: skip
    return df


def main() -> None:
    import matplotlib.pyplot as plt

    OUT.mkdir(exist_ok=True)
    df, compare = sparkline_frames()
    up.sparklines(df, compare_data=compare).savefig(OUT / "sparklines.png", **SAVE)
    up.cohort_heatmap(cohort_frame()).figure.savefig(OUT / "cohort_heatmap.png", **SAVE)
    ax = up.attribution_chart(attribution_frame(), top=8)
    ax.figure.savefig(OUT / "attribution_chart.png", **SAVE)
    plt.close("all")
    for name in ("sparklines", "cohort_heatmap", "attribution_chart"):
        print(OUT / f"{name}.png")


if __name__ == "__main__":
    main()
