"""The cells of the example notebooks: ``NOTEBOOKS[name]`` is a list of ``(kind, source)``.

Edit here, then run ``python notebooks/_build.py``. Every notebook starts an embedded emulator
with a fixed clock and seed (so the numbers are the same on every run) and stops it at the end.
"""

from __future__ import annotations

from typing import Literal

Cell = tuple[Literal["md", "code"], str]

NOW = "2026-11-26T12:00:00Z"


def setup(title: str, intro: str, *, pandas: bool = True) -> list[Cell]:
    """The first cells: title, the emulator note, and starting the emulator."""
    imports = "import pandas as pd\n\n" if pandas else ""
    return [
        (
            "md",
            f"""
# {title}

{intro}

This notebook runs against an **embedded emulator** of the Upstack Data API, so it needs no
account: the emulator generates a deterministic shop (seed 7, clock fixed at {NOW[:10]} 12:00
UTC) and answers the same HTTP endpoints as the real API, on `127.0.0.1`.

With real credentials you would skip the emulator: put `UPSTACK_API_KEY` and
`UPSTACK_PIXEL_ID` in the environment (or `~/.upstackrc`) and the readers use
`up.Client()` built from them by default, or pass `client=up.Client(api_key=..., pixel_id=...)`.
""",
        ),
        (
            "code",
            f"""
{imports}import upstack_pandas as up
from upstack_pandas.emulator import Emulator

emu = Emulator(seed=7, now="{NOW}").start()
client = emu.client(cache=False)
up.set_default_client(client)  # with real credentials: nothing to do, or up.Client(...)
emu
""",
        ),
    ]


TEARDOWN: list[Cell] = [
    ("md", "## Clean up\n\nRestore the default client and stop the emulator."),
    ("code", "up.set_default_client(None)\nclient.close()\nemu.stop()\nemu"),
]

PARQUET_INTRO = """
## Parquet round trip

The metadata is part of the frame, so it survives `to_parquet`: `up.read_parquet` (or plain
`pd.read_parquet`) gives back the same values, index, time zone and `attrs`.
"""


def parquet_round_trip(frame: str) -> list[Cell]:
    """Cells writing ``frame`` to parquet in a temporary folder and reading it back."""
    return [
        ("md", PARQUET_INTRO),
        (
            "code",
            f"""
import tempfile
from pathlib import Path

with tempfile.TemporaryDirectory() as folder:
    path = Path(folder) / "{frame}.parquet"
    {frame}.upstack.to_parquet(path)
    back = up.read_parquet(path)

same = back.equals({frame}) and back.index.equals({frame}.index) and back.attrs == {frame}.attrs
print("same values, index, time zone and metadata:", same)
assert same
""",
        ),
    ]


QUICKSTART: list[Cell] = [
    *setup(
        "Quickstart",
        "The documented quickstart, the pandas way: discover measures in the catalog, query "
        "New Customer ROAS, New Customer MER and Meta CPM for the last 30 days, see what the "
        "frame knows about them, plot them, and turn them into a dashboard view.",
        pandas=False,
    ),
    ("md", "## 1. The measures catalog\n\nOne row per measure, indexed by id."),
    ("code", 'catalog = up.measures()\nprint(len(catalog), "measures")\ncatalog.head()'),
    ("md", "Search matches ids, titles and descriptions, best matches first:"),
    (
        "code",
        'columns = ["title", "shortTitle", "format", "preferredTrendDirection"]\n'
        'up.measures(search="new customer")[columns].head(8)',
    ),
    (
        "md",
        """
## 2. Query three measures

Measures are named by id or by catalog title (`"NC ROAS"`). The frame has one row per day,
a time-zone-aware `dt` index and one `float64` column per measure id.
""",
    ),
    (
        "code",
        """
df = up.read_upstack(
    ["NC ROAS", "core.new_customer_mer", "meta.cpm"], start="2026-10-28", end="2026-11-26"
)
df.tail()
""",
    ),
    ("code", "df.index.dtype, df.dtypes.to_dict()"),
    (
        "md",
        """
## 3. The metadata travels with the frame

`df.attrs["upstack"]` holds the request, when it was fetched, and per measure the catalog
entry merged with the server's totals. The accessor shows it as a table.
""",
    ),
    ("code", "df.upstack.measures"),
    ("code", 'df.upstack.meta("meta.cpm")'),
    (
        "code",
        """
meta = df.attrs["upstack"]
keys = ("endpoint", "timezone", "granularity", "dateRange", "compareDateRange", "fromCache")
{key: meta[key] for key in keys}
""",
    ),
    (
        "md",
        """
## 4. Summary: this period against the one before

The change is judged against each measure's preferred direction: a falling CPM is good news.
""",
    ),
    ("code", "df.upstack.summary()"),
    (
        "md",
        "## 5. Formatted for reading\n\nCurrency, multipliers and percentages as the catalog says:",
    ),
    ("code", "df.upstack.format().tail()"),
    (
        "md",
        """
`df.upstack.format()` turns the values into text; `df.upstack.style()` formats only the display
(a pandas `Styler`), so the numbers underneath still sort as numbers:
""",
    ),
    ("code", 'df.sort_values("meta.cpm", ascending=False).head().upstack.style()'),
    ("md", "The compare period (the 30 days before) is one call away, with the same columns:"),
    ("code", "df.upstack.compare.tail()"),
    (
        "md",
        """
## 6. Sparklines

One tile per measure: the period value, the change coloured good or bad, the compare period
drawn faintly, the minimum and maximum marked, and a hollow last point when today is not over.
""",
    ),
    ("code", "df.upstack.sparklines()  # a Figure as the cell's value: shown once"),
    (
        "md",
        """
## 7. Dimensions

With dimensions, the index gains a level per dimension; everything else is plain pandas.
""",
    ),
    (
        "code",
        """
by_source = up.read_upstack(
    ["orders.gross_revenue", "orders.orders"],
    start="2026-10-28",
    end="2026-11-26",
    granularity="week",
    dimensions=["utm_source"],
)
by_source.head(8)
""",
    ),
    (
        "code",
        """
totals = by_source.groupby(level="utm_source").sum()
totals.sort_values("orders.gross_revenue", ascending=False).head()
""",
    ),
    (
        "md",
        """
## 8. Relative dates, year over year, and pandas' own dtypes

`start=` also takes relative dates, counted in the query's timezone from the server's "today"
(here the emulator's pinned clock, 2026-11-26): `"-7D"` / `"last_7_days"` are the complete days
ending yesterday, `"last_week"` the previous Monday to Sunday, `"mtd"` the month so far.
""",
    ),
    (
        "code",
        """
for start in ["-7D", "last_week", "last_month", "mtd"]:
    week = up.read_upstack("orders.orders", start, granularity="none", compare="previous_period")
    meta = week.attrs["upstack"]
    print(f"{start:>10}: {meta['dateRange']} vs {meta['compareDateRange']}")
""",
    ),
    (
        "md",
        """
`compare="yoy"` compares with the same dates a year earlier (`"previous_period"` and
`"previous_year_same_weekday"` too). `dtype_backend=` works as in `pd.read_csv`.
""",
    ),
    (
        "code",
        """
yoy = up.read_upstack("orders.gross_revenue", "mtd", compare="yoy", dtype_backend="pyarrow")
yoy.attrs["upstack"]["compareDateRange"], yoy.dtypes.to_dict(), yoy.index.dtype
""",
    ),
    ("code", "yoy.upstack.summary()"),
    *parquet_round_trip("df"),
    (
        "md",
        """
## From a frame to a dashboard view

The quickstart's last step: a dashboard view with one sparkline tile per measure of the frame.
In Jupyter the view shows its grid, each widget with its current value and a sparkline.
""",
    ),
    ("code", 'view = df.upstack.to_dashboard("Quickstart pulse")\nprint(view)\nview'),
    ("code", "up.dashboards.delete(view)  # the emulator's views live in memory anyway"),
    *TEARDOWN,
]

ATTRIBUTION: list[Cell] = [
    *setup(
        "Attribution",
        "Which sources get credit for the orders? `read_attribution` answers per dimension "
        "value, for one attribution model or several side by side.",
    ),
    (
        "md",
        """
## First click, last 30 days

`"last_30_days"` (or `"-30D"`) is the 30 complete days ending yesterday, in the query's
timezone; "today" is the server's date (here the emulator's pinned clock), so the range is
2026-10-27 to 2026-11-25 on every run. A touchpoint counts when it happened within the attribution window (30 days) before the order.
`first_click` credits the earliest; orders without a touchpoint go to `(direct)`.
""",
    ),
    (
        "code",
        """
first = up.read_attribution(
    "utm_source", "last_30_days", model="first_click", window=30
)
first.sort_values("attribution.revenue", ascending=False)
""",
    ),
    ("md", "Formatted as the catalog says (sort first: formatted values are text):"),
    ("code", 'first.sort_values("attribution.orders", ascending=False).upstack.format().head()'),
    (
        "code",
        'meta = first.attrs["upstack"]\n'
        '{key: meta.get(key) for key in ("endpoint", "attributionModel", "attributionWindow", '
        '"dateRange")}',
    ),
    (
        "md",
        """
## Three models side by side

With several models the frame gains an outer `attribution_model` level, and the chart groups
the bars of each source.
""",
    ),
    (
        "code",
        """
models = up.read_attribution(
    "utm_source", "last_30_days", model=["first_click", "last_click", "any_click"]
)
models.head()
""",
    ),
    ("code", 'ax = up.attribution_chart(models, "attribution.revenue")'),
    (
        "md",
        """
`any_click` credits every source touched in the window with the full order, so its total is
larger than the revenue; `first_click` and `last_click` share out the same total.
""",
    ),
    (
        "code",
        'models.groupby(level="attribution_model")[["attribution.revenue", "attribution.orders"]].sum()',
    ),
    (
        "md",
        """
## The attribution window

A shorter window finds fewer touchpoints, so more orders fall to `(direct)`:
""",
    ),
    (
        "code",
        """
def direct_orders(window):
    frame = up.read_attribution("utm_source", "last_30_days", window=window)
    return frame.loc["(direct)", "attribution.orders"]


direct = {window: direct_orders(window) for window in (1, 7, 30, 90)}
pd.Series(direct, name="orders credited to (direct)").rename_axis("window (days)")
""",
    ),
    (
        "md",
        """
## Week by week

With a granularity the index is `(dt, utm_source)`; `unstack` gives one column per source.
""",
    ),
    (
        "code",
        """
weekly = up.read_attribution(
    "utm_source", "2026-09-01", "2026-11-26", model="last_click", granularity="week"
)
weekly["attribution.revenue"].unstack("utm_source").round(0).tail()
""",
    ),
    *parquet_round_trip("models"),
    *TEARDOWN,
]

COHORTS: list[Cell] = [
    *setup(
        "Cohorts",
        "Customers grouped by the month of their first order, followed month by month: "
        "retention, lifetime value and contribution margin per customer.",
    ),
    (
        "md",
        """
## A monthly cohort query

The frame is long: one row per (cohort, months since the first order), one column per measure.
Future cells are absent (the December 2025 cohort has 11 months of history, November 2026's
only one).
""",
    ),
    (
        "code",
        """
cohorts = up.read_cohorts(
    ["orders.cohort_retention_percent", "orders.ltv_cohort_net_revenue", "orders.customers_cohort"],
    "2025-12-01",
    "2026-11-26",
    granularity="month",
)
cohorts.head(8)
""",
    ),
    ("md", "Cohort sizes are in the metadata, keyed by cohort start:"),
    (
        "code",
        'pd.Series(cohorts.attrs["upstack"]["cohortSizes"], name="customers").astype(int).head()',
    ),
    ("md", "## The matrix\n\n`cohort_matrix` pivots one measure to cohort rows × period columns:"),
    (
        "code",
        'retention = cohorts.upstack.cohort_matrix("orders.cohort_retention_percent")\nretention.round(1)',
    ),
    (
        "md",
        """
## Heatmaps

Rows are labelled with the cohort size, future cells are masked, and every cell shows its
formatted value.
""",
    ),
    ("code", 'ax = up.cohort_heatmap(cohorts, "orders.cohort_retention_percent")'),
    ("code", 'ax = up.cohort_heatmap(cohorts, "orders.ltv_cohort_net_revenue", cmap="magma")'),
    (
        "md",
        """
## Plain pandas from here

The average retention curve, weighting each cohort by its size:
""",
    ),
    (
        "code",
        """
sizes = pd.Series(cohorts.attrs["upstack"]["cohortSizes"])
sizes.index = retention.index
weights = retention.notna().mul(sizes, axis=0)
curve = (retention.fillna(0) * weights).sum() / weights.sum()
ax = curve.plot(marker="o", title="Retention by months since first order (size-weighted)")
ax.set_xlabel("months since first order")
ax.set_ylabel("% of the cohort ordering")
curve.round(1)
""",
    ),
    (
        "md",
        """
## Cohorts of one market

Filters narrow the orders counted. Customers order from one country, so filtering on the order
country splits the cohorts by market: lifetime net revenue per customer, US against the rest.
""",
    ),
    (
        "code",
        """
def ltv_curve(op):
    market = up.read_cohorts(
        "orders.ltv_cohort_net_revenue",
        "2025-12-01",
        "2026-11-26",
        granularity="month",
        filters={"field": "orders.country", "op": op, "value": "US"},
    )
    return market.upstack.cohort_matrix().mean()


ltv = pd.DataFrame({"US": ltv_curve("equals"), "rest of the world": ltv_curve("not_equals")})
ax = ltv.plot(marker="o", title="Net revenue per customer, months since first order")
ltv.round(2).head(7)
""",
    ),
    *parquet_round_trip("cohorts"),
    *TEARDOWN,
]

DASHBOARDS: list[Cell] = [
    *setup(
        "Dashboards",
        "Dashboard views from Python: build one from measures, look at its widgets and "
        "layout, list, rename, edit, copy and delete views, and make one from a frame.",
        pandas=False,
    ),
    ("md", "The emulator starts with no views:"),
    ("code", "up.dashboards.list()"),
    (
        "md",
        """
## Build a view from measures

`build` uses the API's `from-preset` endpoint: one tile per measure (titles are resolved
through the catalog), four per row on a 12-column grid. In Jupyter the view shows its grid with
each widget's current value and sparkline.
""",
    ),
    (
        "code",
        """
view = up.dashboards.build("NC + Meta pulse", ["NC ROAS", "core.new_customer_mer", "meta.cpm"])
view
""",
    ),
    ("code", "view.widgets"),
    (
        "code",
        """
mix = up.dashboards.build(
    "Revenue mix",
    ["orders.gross_revenue", "orders.orders", "orders.aov", "meta.spend", "meta.cpm"],
    chart_types=["bar", "bar", "sparkline", "bar", "sparkline"],
    granularity="week",
)
mix
""",
    ),
    ("md", "## List, get, update, copy"),
    ("code", 'up.dashboards.list()[["name", "type", "order", "widgetCount", "createdAt"]]'),
    ("code", "same = up.dashboards.get(view.id)\nsame.name, same.measures"),
    (
        "code",
        """
renamed = up.dashboards.update(view, name="NC + Meta pulse (weekly review)")
configuration = renamed.configuration
configuration["widgets"] = configuration["widgets"][:2]  # drop the CPM tile
trimmed = up.dashboards.update(renamed, configuration=configuration)
trimmed.widgets[["title", "chartType", "x", "y"]]
""",
    ),
    ("code", "copy = up.dashboards.copy(trimmed)\ncopy.name, copy.id != trimmed.id"),
    (
        "md",
        """
## From a frame

`df.upstack.to_dashboard` builds a view of the frame's measures, with its granularity and date
range, and its dimensions set on every widget.
""",
    ),
    (
        "code",
        """
by_channel = up.read_upstack(
    ["orders.new_customer_revenue", "core.new_customer_cpa"],
    start="2026-10-28",
    end="2026-11-26",
    granularity="week",
    dimensions=["channel"],
)
from_frame = by_channel.upstack.to_dashboard("New customers by channel")
from_frame.widgets[["title", "measures", "dimensions"]]
""",
    ),
    ("md", "## Clean up the views"),
    (
        "code",
        """
for view_id in up.dashboards.list().index:
    up.dashboards.delete(view_id)
up.dashboards.list()
""",
    ),
    *TEARDOWN,
]

NOTEBOOKS: dict[str, list[Cell]] = {
    "quickstart": QUICKSTART,
    "attribution": ATTRIBUTION,
    "cohorts": COHORTS,
    "dashboards": DASHBOARDS,
}
