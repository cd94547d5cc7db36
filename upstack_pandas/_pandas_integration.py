"""Register ``df.upstack`` and ``pd.read_upstack`` when ``upstack_pandas`` is imported."""

from __future__ import annotations

from upstack_pandas import accessor as _accessor  # noqa: F401  (registers df.upstack)
from upstack_pandas._readers.analytics import _register_pd_read_upstack

_register_pd_read_upstack()
