"""Argument checks of the resource modules: each raises ``ValidationError`` naming the parameter.

They run before any request is sent, so a bad argument never reaches the API.
"""

from __future__ import annotations

import datetime as dt
import math
import unicodedata
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from upstack_pandas._errors import ValidationError

__all__ = [
    "MONEY_MAX",
    "check_bool",
    "check_choice",
    "check_date",
    "check_id",
    "check_money",
    "check_name",
    "check_text",
    "is_missing",
    "table_records",
]

MONEY_MAX = 1_000_000_000


def invalid(parameter: str, problem: str, fix: str) -> ValidationError:
    """The error for a bad argument: ``parameter`` named, with what to do about it."""
    return ValidationError(f"{parameter}: {problem}", hint=fix)


def is_missing(value: Any) -> bool:
    """Tell whether a spreadsheet cell is empty (None, NaN, NaT, pd.NA)."""
    if value is None:
        return True
    if isinstance(value, (list, tuple, dict)):
        return False
    try:
        return bool(pd.isna(value))
    except (TypeError, ValueError):
        return False


def check_text(parameter: str, value: Any, *, max_length: int, min_length: int = 1) -> str:
    """A string of ``min_length``–``max_length`` code points."""
    if not isinstance(value, str):
        raise invalid(parameter, f"expected a string, got {type(value).__name__}", "pass text")
    if not min_length <= len(value) <= max_length:
        raise invalid(
            parameter,
            f"length {len(value)} is outside {min_length}–{max_length} characters",
            f"use {min_length} to {max_length} characters",
        )
    return value


def check_name(parameter: str, value: Any, *, max_length: int = 100) -> str:
    """A display name: 1–``max_length`` code points, no surrounding space, no control characters."""
    text = check_text(parameter, value, max_length=max_length)
    if text != text.strip():
        raise invalid(parameter, "has leading or trailing whitespace", "strip the value first")
    for char in text:
        if unicodedata.category(char) in ("Cc", "Cf") and char != "\u200d":
            raise invalid(
                parameter,
                f"contains the control or format character U+{ord(char):04X}",
                "remove control characters, zero-width and bidi marks",
            )
    return text


def check_choice(parameter: str, value: Any, choices: Iterable[str]) -> str:
    """One of ``choices``."""
    options = tuple(choices)
    if not isinstance(value, str) or value not in options:
        raise invalid(parameter, f"{value!r} is not one of {', '.join(options)}", "pick one")
    return value


def check_bool(parameter: str, value: Any) -> bool:
    """A bool (numpy bools accepted)."""
    if isinstance(value, bool) or type(value).__name__ == "bool_":
        return bool(value)
    raise invalid(parameter, f"expected True or False, got {value!r}", "pass a bool")


def check_money(parameter: str, value: Any, *, maximum: float = MONEY_MAX) -> float | int:
    """A finite number between 0 and ``maximum``."""
    if isinstance(value, bool) or (
        not isinstance(value, (int, float)) and not hasattr(value, "__float__")
    ):
        raise invalid(parameter, f"expected a number, got {value!r}", "pass a number")
    number = float(value)
    if not math.isfinite(number) or not 0 <= number <= maximum:
        raise invalid(parameter, f"{value!r} is outside 0–{maximum:g}", f"use 0 to {maximum:g}")
    return int(number) if number.is_integer() else number


def check_date(parameter: str, value: Any) -> str:
    """A calendar day as ``YYYY-MM-DD`` (from a string, ``date``, ``datetime`` or Timestamp)."""
    if isinstance(value, pd.Timestamp | dt.datetime):
        return value.date().isoformat()
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, str) and len(value.strip()) == 10:
        try:
            return dt.date.fromisoformat(value.strip()).isoformat()
        except ValueError:
            pass
    raise invalid(parameter, f"{value!r} is not a date", "write dates as YYYY-MM-DD")


def check_id(parameter: str, value: Any) -> str:
    """A non-empty id without ``/`` (it goes into a URL path)."""
    if not isinstance(value, str) or not value.strip() or "/" in value or "?" in value:
        raise invalid(parameter, f"{value!r} is not an id", "pass the id as a non-empty string")
    return value


def table_records(parameter: str, table: Any) -> list[dict[str, Any]]:
    """The rows of a DataFrame, or a sequence of mappings, as dicts (empty cells dropped)."""
    if isinstance(table, pd.DataFrame):
        rows: Sequence[Mapping[str, Any]] = table.to_dict("records")  # type: ignore[assignment]
    elif isinstance(table, Sequence) and not isinstance(table, (str, bytes)):
        rows = table
        for i, row in enumerate(rows):
            if not isinstance(row, Mapping):
                raise invalid(
                    f"{parameter}[{i}]", "is not a mapping", "pass a DataFrame or a list of dicts"
                )
    else:
        raise invalid(
            parameter,
            f"expected a DataFrame or a list of dicts, got {type(table).__name__}",
            "pass a DataFrame (one row per item) or a list of dicts",
        )
    return [{str(k): _plain(v) for k, v in row.items() if not is_missing(v)} for row in rows]


def _plain(value: Any) -> Any:
    """numpy scalars to Python ones (for JSON)."""
    if isinstance(value, np.generic) and not isinstance(value, np.datetime64 | np.timedelta64):
        return value.item()
    return value
