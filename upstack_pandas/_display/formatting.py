"""Format measure values the way the catalog says: currency, percentage, multiplier, number.

One place decides how a value reads, so ``df.upstack.format()``, summaries and plots agree.
"""

from __future__ import annotations

import math
from typing import Literal

MeasureFormat = Literal["number", "currency", "percentage", "multiplier"]

_CURRENCY_SYMBOLS = {"USD": "$", "EUR": "€", "GBP": "£", "JPY": "¥", "CAD": "CA$", "AUD": "A$"}


def _is_missing(value: object) -> bool:
    if value is None:
        return True
    try:
        return math.isnan(float(value))  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return False


def format_value(
    value: object,
    fmt: str | None,
    *,
    currency: str | None = "USD",
    compact: bool = False,
    missing: str = "–",
) -> str:
    """Render one measure value as text according to its catalog format.

    Parameters
    ----------
    value
        The number to render; ``None`` and NaN render as ``missing``.
    fmt
        The catalog ``format``: ``"currency"``, ``"percentage"`` (values on a 0–100 scale),
        ``"multiplier"`` or ``"number"``. Unknown formats render as numbers.
    currency
        ISO currency code for ``"currency"`` values.
    compact
        Abbreviate large numbers (``12.3k``, ``4.5M``), for small plot tiles.
    missing
        Text for a missing value.

    Returns
    -------
    str
        e.g. ``"$1,234.50"``, ``"12.5%"``, ``"2.31x"``, ``"1,234"``.
    """
    if _is_missing(value):
        return missing
    number = float(value)  # type: ignore[arg-type]
    if fmt == "percentage":
        return f"{number:.1f}%"
    if fmt == "multiplier":
        return f"{number:.2f}x"
    if fmt == "currency":
        symbol = _CURRENCY_SYMBOLS.get((currency or "USD").upper(), f"{currency} ")
        sign = "-" if number < 0 else ""
        body = _compact(abs(number), 1) if compact else f"{abs(number):,.2f}"
        return f"{sign}{symbol}{body}"
    if compact:
        return _compact(number, 1)
    if number.is_integer():
        return f"{number:,.0f}"
    return f"{number:,.2f}"


def format_change(percent: object, *, missing: str = "–") -> str:
    """Render a percent change with its sign, e.g. ``"+12.3%"`` or ``"-4.0%"``."""
    if _is_missing(percent):
        return missing
    return f"{float(percent):+.1f}%"  # type: ignore[arg-type]


def _compact(number: float, digits: int) -> str:
    magnitude = abs(number)
    for threshold, suffix in ((1e9, "B"), (1e6, "M"), (1e3, "k")):
        if magnitude >= threshold:
            return f"{number / threshold:.{digits}f}{suffix}"
    if float(number).is_integer():
        return f"{number:,.0f}"
    return f"{number:,.2f}"


def is_good_change(percent: object, preferred_trend_direction: str | None) -> bool | None:
    """Whether a change is good given the measure's preferred trend direction.

    A rising ROAS is good (``"up"``); a falling CPM is good (``"down"``). Returns ``None`` when
    the change is missing or zero, or the direction is unknown.
    """
    if _is_missing(percent) or float(percent) == 0:  # type: ignore[arg-type]
        return None
    if preferred_trend_direction == "up":
        return float(percent) > 0  # type: ignore[arg-type]
    if preferred_trend_direction == "down":
        return float(percent) < 0  # type: ignore[arg-type]
    return None
