"""A local emulator of the Upstack Data API, computing every answer with DuckDB.

``Backend`` is the computational core (synthetic or user data, catalog, compilers; no HTTP);
``Emulator`` (from :mod:`upstack_pandas.emulator.http.server`) serves it over HTTP.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from upstack_pandas.emulator.engine.backend import Backend, QueryError

if TYPE_CHECKING:  # pragma: no cover
    from upstack_pandas.emulator.http.server import Emulator as Emulator

__all__ = ["Backend", "Emulator", "QueryError"]


def __getattr__(name: str) -> Any:
    if name == "Emulator":
        return importlib.import_module("upstack_pandas.emulator.http.server").Emulator
    raise AttributeError(f"module 'upstack_pandas.emulator' has no attribute {name!r}")
