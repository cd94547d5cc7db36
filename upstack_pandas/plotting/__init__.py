"""Plots of Upstack frames: sparkline tiles, cohort heatmaps and attribution charts.

Every function takes data (and optionally an ``ax=`` or ``fig=`` to draw into), returns what it
drew, never calls ``plt.show()`` and never fetches data. Importing this package does not import
matplotlib: the drawing modules import it inside the functions.
"""

from __future__ import annotations

from upstack_pandas.plotting.attribution import attribution_chart
from upstack_pandas.plotting.heatmap import cohort_heatmap
from upstack_pandas.plotting.tiles import sparklines

__all__ = ["attribution_chart", "cohort_heatmap", "sparklines"]
