"""Render the images of docs/plotting.md and of the README into docs/img/ from the emulator.

Run ``python docs/_gen/render_images.py``. Every frame comes from a real reader call against the
emulator (fixed seed and clock, so the images are reproducible), exactly as a user would get it.
The README's two pictures (``readme_*.png``) use the README quickstart's own clock, measures and
dates, so the sparklines are those of the frame the quickstart prints.
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
#: The README quickstart's clock, measures and range (tests/test_readme.py runs that code).
README_NOW = "2026-11-26T12:00:00Z"
README_MEASURES = ["core.new_customer_roas", "NC MER", "meta.cpm"]
README_RANGE = ("2026-10-28", "2026-11-26")
README_IMAGES = ("readme_sparklines", "readme_cohort_heatmap")


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
    render_readme()
    for name in ("sparklines", "cohort_heatmap", "attribution_chart", *README_IMAGES):
        print(OUT / f"{name}.png")


def render_readme() -> None:
    """Save the README's first-screen pictures: the quickstart's sparklines, a cohort heatmap."""
    with Emulator(now=README_NOW) as emu:
        client = emu.client(cache=False)
        df = up.read_upstack(README_MEASURES, *README_RANGE, client=client)
        df.upstack.sparklines().savefig(OUT / "readme_sparklines.png", **SAVE)
        cohorts = up.read_cohorts(
            "orders.cohort_retention_percent", "2026-03-01", "2026-11-26", client=client
        )
        fig, ax = plt.subplots(figsize=(8.4, 4.2))
        up.cohort_heatmap(cohorts, ax=ax)
        fig.savefig(OUT / "readme_cohort_heatmap.png", bbox_inches="tight", **SAVE)
    plt.close("all")


if __name__ == "__main__":
    main()
