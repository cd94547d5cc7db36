"""Register ``df.upstack`` and ``pd.read_upstack`` when ``upstack_pandas`` is imported."""

from __future__ import annotations

import pandas as pd

from upstack_pandas import accessor as _accessor  # noqa: F401  (registers df.upstack)
from upstack_pandas._readers.query import read_upstack


def _register_pd_read_upstack() -> None:
    """Make ``pd.read_upstack`` the same function as ``upstack_pandas.read_upstack``.

    An attribute that already exists on the pandas module is never replaced.
    """
    if not hasattr(pd, "read_upstack"):
        pd.read_upstack = read_upstack  # type: ignore[attr-defined]


_register_pd_read_upstack()
