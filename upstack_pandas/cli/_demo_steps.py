"""The steps of ``upstack-pandas demo``: the documented quickstart, printed as it goes.

Each step prints a numbered section: :func:`fetch` runs the ones that send requests, in order,
and :func:`write_outputs` writes the files from what they brought. The caller provides the
client and selects the Agg backend before calling.
"""

from __future__ import annotations

import html
import textwrap
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import pandas as pd

    from upstack_pandas._transport.client import Client
    from upstack_pandas.dashboards.view import DashboardView

__all__ = ["COHORT_MEASURE", "DASHBOARD_NAME", "MEASURES", "Fetched", "fetch", "write_outputs"]

#: The quickstart's measures (overview page of the API docs).
MEASURES = ("core.new_customer_roas", "core.new_customer_mer", "meta.cpm")
COHORT_MEASURE = "orders.cohort_retention_percent"
DASHBOARD_NAME = "upstack-pandas demo: NC ROAS, NC MER, CPM"
DAYS = 30
COHORT_MONTHS = 12
SHOWN_PERIODS = 7  # cohort matrix columns printed (all of them are in the files)
SAVE: dict[str, Any] = {"dpi": 120, "metadata": {"Software": None}}


def _say(text: str = "", indent: int = 0) -> None:
    print(textwrap.indent(text, " " * indent) if indent else text)


def _table(obj: Any, **kwargs: Any) -> str:
    to_string = getattr(obj, "to_string", None)
    return str(to_string(**kwargs)) if callable(to_string) else str(obj)


def catalog(client: Client) -> pd.DataFrame:
    """List the measures catalog and print its size and the quickstart's measures.

    Parameters
    ----------
    client : Client

    Returns
    -------
    pandas.DataFrame
        The catalog, indexed by measure id.
    """
    from upstack_pandas.catalog import measures

    found = measures(client=client)
    counts = found.index.to_series().str.split(".").str[0].value_counts()
    top = ", ".join(f"{name} {count}" for name, count in counts.head(6).items())
    _say(f"1. Measures catalog: {len(found)} measures ({top}, ...). The quickstart's three:")
    columns = [c for c in ("title", "format", "preferredTrendDirection") if c in found.columns]
    _say(_table(found.loc[list(MEASURES), columns]), 3)
    return found


def query(client: Client, today: date) -> pd.DataFrame:
    """Query the quickstart's measures by day for the last 30 days and print the summary.

    Parameters
    ----------
    client : Client
    today : datetime.date
        The last day of the range.

    Returns
    -------
    pandas.DataFrame
        The frame from ``read_upstack``.
    """
    from upstack_pandas._readers import read_upstack

    start = today - timedelta(days=DAYS - 1)
    df = read_upstack(list(MEASURES), start, today, client=client)
    meta = df.attrs.get("upstack", {})
    _say(
        f"\n2. Query: {len(MEASURES)} measures by day, {start} to {today} "
        f"({meta.get('timezone', 'UTC')}), compared with the {DAYS} days before: "
        f"{len(df)} rows. Summary:"
    )
    from upstack_pandas._display.style import summary_text

    _say(summary_text(df.upstack.summary()), 3)  # the renderer print() and the notebook use
    return df


def dashboard(client: Client, today: date, *, live: bool) -> DashboardView | None:
    """Build a dashboard view of the quickstart's measures (from-preset) and print its widgets.

    Parameters
    ----------
    client : Client
    today : datetime.date
        The last day of the view's date range.
    live : bool
        On the real API a key without ``dashboards:write`` skips the step instead of failing.

    Returns
    -------
    DashboardView or None
        The new view; ``None`` when skipped.
    """
    from upstack_pandas._errors import PermissionDenied
    from upstack_pandas.dashboards import Dashboards

    start = today - timedelta(days=DAYS - 1)
    try:
        view = Dashboards(client).build(DASHBOARD_NAME, list(MEASURES), start=start, end=today)
    except PermissionDenied as exc:
        if not live:
            raise
        _say(f"\n3. Dashboard view: skipped, the key cannot write dashboards ({exc.message}).")
        return None
    widgets = view.widgets
    _say(f'\n3. Dashboard view "{view.name}" (id {view.id}), {len(widgets)} widgets:')
    columns = ("title", "chartType", "measures", "x", "y", "columns", "rows")
    _say(_table(widgets[[c for c in columns if c in widgets.columns]], index=False), 3)
    if live:
        _say(f"   To see it, {view.open_hint}; remove it with up.dashboards.delete({view.id!r}).")
    else:
        _say(
            "   (An emulator view: the app cannot open it; dashboard.html draws it with its numbers.)"
        )
    return view


def _month_start(day: date, months_back: int) -> date:
    index = day.year * 12 + day.month - 1 - months_back
    return date(index // 12, index % 12 + 1, 1)


def _size(sizes: dict[str, int], cohort: Any) -> str:
    size = sizes.get(f"{cohort:%Y-%m-%d}")
    return "?" if size is None else f"{size:,}"


def cohorts(client: Client, today: date) -> pd.DataFrame:
    """Query monthly retention cohorts of the last 12 months and print the start of the matrix.

    Parameters
    ----------
    client : Client
    today : datetime.date
        The last day of the range.

    Returns
    -------
    pandas.DataFrame
        The long frame from ``read_cohorts``.
    """
    from upstack_pandas._display.formatting import format_value
    from upstack_pandas._readers import read_cohorts

    first = _month_start(today, COHORT_MONTHS - 1)
    df = read_cohorts(COHORT_MEASURE, first, today, granularity="month", client=client)
    meta = df.attrs.get("upstack", {})
    sizes = {key: int(size) for key, size in (meta.get("cohortSizes") or {}).items()}
    fmt = meta.get("measures", {}).get(COHORT_MEASURE, {}).get("format", "percentage")
    matrix = df.upstack.cohort_matrix(COHORT_MEASURE)
    shown = matrix.iloc[:, :SHOWN_PERIODS].apply(
        lambda column: column.map(lambda v: format_value(v, fmt, missing=""))
    )
    shown.index = [f"{c:%Y-%m} ({_size(sizes, c)})" for c in matrix.index]
    shown.index.name = "cohort (customers)"
    shown.columns = [f"m{p}" for p in shown.columns]
    _say(
        f"\n4. Monthly cohorts since {first:%B %Y}: {len(matrix)} cohorts, "
        f"{sum(sizes.values()):,} customers. Retention by month since the first order "
        f"(first {min(SHOWN_PERIODS, matrix.shape[1])} of {matrix.shape[1]} months):"
    )
    _say(_table(shown), 3)
    return df


def _dashboard_page(view: DashboardView) -> str:
    """The view's page: its widgets' values and sparklines, which it fetches."""
    title = html.escape(view.name)
    return (
        f"<!doctype html>\n<html><head><meta charset='utf-8'><title>{title}</title></head>"
        f"<body>{view._repr_html_()}</body></html>\n"
    )


def write_files(
    out: Path, df: pd.DataFrame, cohort_df: pd.DataFrame, page: str | None
) -> dict[str, Path]:
    """Write the parquet files, the two PNGs and the dashboard page into ``out``.

    Parameters
    ----------
    out : pathlib.Path
        An existing folder.
    df, cohort_df : pandas.DataFrame
        The query and cohort frames.
    page : str or None
        The dashboard view's HTML page (None: no view was made).

    Returns
    -------
    dict of str to pathlib.Path
        What each file holds → its path, in the order written.
    """
    import matplotlib.pyplot as plt

    from upstack_pandas.plotting import cohort_heatmap, sparklines

    files = {
        "the query, with its metadata": out / "query.parquet",
        "the cohorts, with their metadata": out / "cohorts.parquet",
        "sparkline tiles of the query": out / "sparklines.png",
        "retention heatmap of the cohorts": out / "cohort_heatmap.png",
    }
    paths = list(files.values())
    df.upstack.to_parquet(paths[0])
    cohort_df.upstack.to_parquet(paths[1])
    figure = sparklines(df)
    figure.savefig(paths[2], **SAVE)
    plt.close(figure)
    heatmap = cohort_heatmap(cohort_df, COHORT_MEASURE).get_figure(root=True)
    assert heatmap is not None  # an Axes the function drew always belongs to a figure
    heatmap.savefig(paths[3], **SAVE)
    plt.close(heatmap)
    if page is not None:
        key = "the dashboard view: each widget's value and sparkline"
        files[key] = out / "dashboard.html"
        files[key].write_text(page, encoding="utf-8")
    return files


def check_round_trip(df: pd.DataFrame, path: Path) -> None:
    """Read a parquet file back and print whether the frame and its metadata survived.

    Parameters
    ----------
    df : pandas.DataFrame
        The frame that was written.
    path : pathlib.Path
        The parquet file.
    """
    from upstack_pandas.metadata import read_parquet

    back = read_parquet(path)
    same = back.equals(df) and back.index.equals(df.index) and back.attrs == df.attrs
    verdict = "same values, index, time zone and metadata" if same else "DIFFERS from the query"
    _say(f"\n5. {path.name} read back with up.read_parquet: {verdict}.\n")


@dataclass(frozen=True)
class Fetched:
    """What the quickstart's requests brought: the query, the cohorts and the dashboard page."""

    query: pd.DataFrame
    cohorts: pd.DataFrame
    #: The dashboard view's HTML page, its numbers fetched (None: no view was made).
    dashboard_page: str | None


def fetch(client: Client, today: date, *, live: bool) -> Fetched:
    """Run the steps that talk to the API (catalog, query, dashboard, cohorts), printing.

    The dashboard view's page is rendered here too: its widgets' numbers are fetched.

    Parameters
    ----------
    client : Client
    today : datetime.date
        The server's today: the last day of every range.
    live : bool
        Whether ``client`` talks to the real API.

    Returns
    -------
    Fetched
    """
    catalog(client)
    df = query(client, today)
    view = dashboard(client, today, live=live)
    cohort_df = cohorts(client, today)
    return Fetched(df, cohort_df, None if view is None else _dashboard_page(view))


def write_outputs(fetched: Fetched, out: Path) -> dict[str, Path]:
    """Write the files and check the query's parquet round trip (no request is sent).

    Run after the embedded emulator has stopped, so that its data's memory is free for the
    plots (the demo's peak memory is the larger of the two, not their sum).

    Parameters
    ----------
    fetched : Fetched
        What :func:`fetch` returned.
    out : pathlib.Path
        An existing folder for the files.

    Returns
    -------
    dict of str to pathlib.Path
        What each file holds → its path.
    """
    files = write_files(out, fetched.query, fetched.cohorts, fetched.dashboard_page)
    check_round_trip(fetched.query, files["the query, with its metadata"])
    return files
