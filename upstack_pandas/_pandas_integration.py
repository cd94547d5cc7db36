"""Register ``df.upstack`` and ``pd.read_upstack`` on import (owned by the readers issue)."""

from __future__ import annotations

import importlib.util

if importlib.util.find_spec("upstack_pandas.accessor") is not None:  # pragma: no branch
    from upstack_pandas import accessor as _accessor  # noqa: F401
if importlib.util.find_spec("upstack_pandas.readers") is not None:  # pragma: no branch
    from upstack_pandas.readers import _register_pd_read_upstack

    _register_pd_read_upstack()
