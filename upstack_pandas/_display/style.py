"""Styled display: ``df.upstack.style()`` and the one renderer of ``summary()``.

:func:`style` returns a pandas ``Styler`` whose cells read as the catalog says (currency in the
measure's currency, ``%``, ``x``, whole counts) while the data underneath stays numeric, so a
sortable table (or ``styler.data``) still sorts by value. :func:`summary_cells` turns a summary
into display text and a tone per row; the terminal text (:func:`summary_text`, used by
``print`` and by the demo) and the notebook HTML (:func:`summary_html`) are both drawn from it,
so they show the same values, words and verdicts.
"""

from __future__ import annotations

import html
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import pandas as pd

from upstack_pandas import metadata
from upstack_pandas._display.formatting import format_change, format_value
from upstack_pandas.catalog import known_entries

if TYPE_CHECKING:
    from pandas.io.formats.style import Styler

__all__ = [
    "TONE_COLOURS",
    "SummaryCells",
    "cell_formatter",
    "style",
    "summary_cells",
    "summary_html",
    "summary_text",
]

MISSING = "–"

#: Colour per verdict: a good change green, a bad one red, no change (or no known direction) grey.
TONE_COLOURS = {"good": "#1a7f37", "bad": "#cf222e", "neutral": "#57606a", "unknown": "inherit"}
_VERDICTS = {"good": "good", "bad": "bad", "neutral": "no change", "unknown": MISSING}


def _missing(value: Any) -> bool:
    try:
        return bool(pd.isna(value))
    except (TypeError, ValueError):
        return False


def is_count(entry: Mapping[str, Any]) -> bool:
    """Whether a measure counts things (a ``number`` that is summed): shown as a whole number."""
    return entry.get("format") in (None, "number") and not entry.get("isAverage")


def cell_formatter(entry: Mapping[str, Any]) -> Callable[[Any], str]:
    """The text of one value of the measure ``entry`` describes (its format and currency).

    Parameters
    ----------
    entry : Mapping
        The measure's metadata (``format``, ``currency``, ``isAverage``).

    Returns
    -------
    callable
        ``value -> str``; missing values (NaN, NA, None) read ``"–"``.
    """
    fmt = entry.get("format")
    currency = entry.get("currency") or "USD"
    count = is_count(entry)

    def render(value: Any) -> str:
        if _missing(value):
            return MISSING
        if count:
            return f"{round(float(value)):,}"
        return format_value(float(value), fmt, currency=currency, missing=MISSING)

    return render


def style(frame: pd.DataFrame) -> Styler:
    """A ``Styler`` that shows each measure column as its catalog format says.

    Parameters
    ----------
    frame : pandas.DataFrame
        A reader's frame (or one whose columns are measure ids of a catalog already fetched).

    Returns
    -------
    pandas.io.formats.style.Styler
        Currency in the measure's currency (``$1,234.50``, ``€12.00``), percentages
        (``12.5%``), multipliers (``2.31x``) and counts as whole numbers (``1,234``); other
        columns as pandas shows them. Only the display changes: ``styler.data`` is the frame
        itself, numbers included, so sorting it sorts by value.
    """
    entries = metadata.measure_entries(frame, known_entries)
    formatters = {column: cell_formatter(entry) for column, entry in entries.items()}
    styler = frame.style.format(formatters, na_rep=MISSING)  # type: ignore[arg-type]
    numeric = [c for c in entries if pd.api.types.is_numeric_dtype(frame[c].dtype)]
    if numeric:
        right: Any = [{"selector": "td", "props": [("text-align", "right")]}]
        styler = styler.set_table_styles(dict.fromkeys(numeric, right), overwrite=False)
    return styler.set_table_attributes('class="dataframe upstack-styled"')


# ------------------------------------------------------------------------------- summary


@dataclass(frozen=True)
class SummaryCells:
    """A summary as display text: one row per measure, and each row's tone."""

    text: pd.DataFrame  # columns: title, primary, compare, change, verdict (all str)
    tones: dict[str, str]  # measure -> "good" | "bad" | "neutral" | "unknown"


#: A change smaller than this (in percent) reads "0.0%" and is shown as no change, not good/bad.
NEUTRAL_BELOW = 0.05


def _tone(change: Any, good: Any) -> str:
    if _missing(change):
        return "unknown"
    if abs(float(change)) < NEUTRAL_BELOW:
        return "neutral"
    if isinstance(good, bool):
        return "good" if good else "bad"
    return "unknown"


def summary_cells(summary: pd.DataFrame) -> SummaryCells:
    """``df.upstack.summary()`` as display text, with a tone per measure.

    Parameters
    ----------
    summary : pandas.DataFrame
        Columns ``title``, ``format``, ``primary``, ``compare``, ``change_pct``, ``good``;
        ``summary.attrs["currencies"]`` maps measures to their currency.

    Returns
    -------
    SummaryCells
        Values as the catalog formats them, the change with its sign, and a verdict: ``good``
        or ``bad`` by the measure's preferred trend direction, ``no change`` (``±0.0%``) for a
        change that rounds to zero (under :data:`NEUTRAL_BELOW` percent), ``–`` when unknown.
    """
    currencies = summary.attrs.get("currencies", {})
    rows: dict[Any, dict[str, str]] = {}
    tones: dict[str, str] = {}
    for measure, row in summary.iterrows():
        entry = {"format": row.get("format"), "currency": currencies.get(measure)}
        render = cell_formatter({**entry, "isAverage": True})  # totals keep their decimals
        tone = _tone(row.get("change_pct"), row.get("good"))
        change = row.get("change_pct")
        rows[measure] = {
            "title": "" if _missing(row.get("title")) else str(row.get("title")),
            "primary": render(row.get("primary")),
            "compare": render(row.get("compare")),
            "change": "±0.0%"
            if tone == "neutral"
            else format_change(None if _missing(change) else change, missing=MISSING),
            "verdict": _VERDICTS[tone],
        }
        tones[str(measure)] = tone
    text = pd.DataFrame.from_dict(
        rows, orient="index", columns=["title", "primary", "compare", "change", "verdict"]
    )
    text.index.name = "measure"
    return SummaryCells(text=text, tones=tones)


def summary_text(summary: pd.DataFrame) -> str:
    """The summary as a plain-text table (what ``print(df.upstack.summary())`` shows).

    Parameters
    ----------
    summary : pandas.DataFrame
        A frame from ``df.upstack.summary()``.

    Returns
    -------
    str
        One line per measure: title, primary, compare, change, verdict.
    """
    return str(summary_cells(summary).text.to_string())


def summary_html(summary: pd.DataFrame) -> str:
    """The summary as an HTML table (its notebook display): the same cells as :func:`summary_text`.

    Parameters
    ----------
    summary : pandas.DataFrame
        A frame from ``df.upstack.summary()``.

    Returns
    -------
    str
        A ``<table>`` whose change and verdict cells are coloured by tone (good green, bad red,
        no change grey).
    """
    cells = summary_cells(summary)
    head = "".join(f"<th>{html.escape(str(h))}</th>" for h in ["measure", *cells.text.columns])
    rows = []
    for measure, row in cells.text.iterrows():
        tone = cells.tones[str(measure)]
        colour = TONE_COLOURS[tone]
        parts = [f"<th>{html.escape(str(measure))}</th>", f"<td>{html.escape(row['title'])}</td>"]
        for column in ("primary", "compare"):
            parts.append(f"<td style='text-align:right'>{html.escape(row[column])}</td>")
        for column in ("change", "verdict"):
            parts.append(
                f"<td class='upstack-{tone}' style='text-align:right;color:{colour}'>"
                f"{html.escape(row[column])}</td>"
            )
        rows.append("<tr>" + "".join(parts) + "</tr>")
    return (
        "<table class='dataframe upstack-summary'><thead><tr>"
        f"{head}</tr></thead><tbody>{''.join(rows)}</tbody></table>"
    )
