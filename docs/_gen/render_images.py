"""Render the images of docs/plotting.md into docs/img/ from the embedded emulator.

Run ``python docs/_gen/render_images.py``. Every frame comes from a real reader call against the
emulator (fixed seed and clock, so the images are reproducible), exactly as a user would get it.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt

import upstack_pandas as up
from upstack_pandas.emulator import Emulator

OUT = Path(__file__).resolve().parents[1] / "img"
SAVE: dict[str, Any] = {"dpi": 120, "metadata": {"Software": None}}  # no version: stable bytes
NOW = "2026-11-26T15:00:00Z"  # mid-day: the last day of the range is partial (pacing)
SPARKLINE_MEASURES = [
    "core.new_customer_roas",
    "core.new_customer_mer",
    "meta.cpm",
    "orders.total_revenue",
    "orders.orders",
    "core.new_customer_cpa",
    "sessions.conversion_rate",
    "channel.spend",
]


def main() -> None:
    """Read the three frames from the emulator and save one PNG per plot."""
    OUT.mkdir(exist_ok=True)
    with Emulator(now=NOW) as emu:
        client = emu.client(cache=False)
        query = up.read_upstack(SPARKLINE_MEASURES, "2026-10-28", "2026-11-26", client=client)
        up.sparklines(query).savefig(OUT / "sparklines.png", **SAVE)
        cohorts = up.read_cohorts(
            "orders.cohort_retention_percent", "2025-12-01", "2026-11-26", client=client
        )
        up.cohort_heatmap(cohorts).figure.savefig(OUT / "cohort_heatmap.png", **SAVE)
        attribution = up.read_attribution(
            "utm_source",
            "2026-10-28",
            "2026-11-26",
            model=["first_click", "last_click", "any_click"],
            client=client,
        )
        ax = up.attribution_chart(attribution, "attribution.revenue", top=8)
        ax.figure.savefig(OUT / "attribution_chart.png", **SAVE)
    plt.close("all")
    for name in ("sparklines", "cohort_heatmap", "attribution_chart"):
        print(OUT / f"{name}.png")


if __name__ == "__main__":
    main()
