"""The readers: one module per endpoint, sharing one pipeline (:mod:`.pipeline`).

``query`` (``read_upstack``), ``cohorts`` (``read_cohorts``), ``attribution``
(``read_attribution``) and ``channels`` (``read_channel_details``) hold only what differs per
endpoint; ``chunks`` fetches long ranges in windows and ``progress`` draws progress bars.
"""

from __future__ import annotations

from upstack_pandas._readers.attribution import read_attribution
from upstack_pandas._readers.channels import read_channel_details
from upstack_pandas._readers.cohorts import read_cohorts
from upstack_pandas._readers.query import read_upstack

__all__ = ["read_attribution", "read_channel_details", "read_cohorts", "read_upstack"]
