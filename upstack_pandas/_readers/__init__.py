"""The readers: one module per endpoint, sharing one pipeline (:mod:`.pipeline`).

``query`` (``read_upstack``), ``cohorts`` (``read_cohorts``), ``attribution``
(``read_attribution``) and ``channels`` (``read_channel_details``) hold only what differs per
endpoint; ``chunks`` fetches long ranges in windows and ``progress`` draws progress bars.

Adding a read endpoint, client side: its request model in :mod:`upstack_pandas._query.models`;
any response field it reads that no reader read before in :mod:`upstack_pandas._wire`;
its ``RowSpec`` and frame builder in :mod:`upstack_pandas._frames.builders`; one module here
whose reader runs :class:`.pipeline.Read` (taking ``dtypes=`` and ``dtype_backend=``, checked
with :func:`upstack_pandas._frames.backends.check_dtype_backend` before any request, and handing
both to :meth:`.pipeline.Read.finish`); its public name in ``upstack_pandas/__init__.py``
and below; its tests and its row in ``docs/reading.md``.
"""

from __future__ import annotations

from upstack_pandas._readers.attribution import read_attribution
from upstack_pandas._readers.channels import read_channel_details
from upstack_pandas._readers.cohorts import read_cohorts
from upstack_pandas._readers.query import read_upstack

__all__ = ["read_attribution", "read_channel_details", "read_cohorts", "read_upstack"]
