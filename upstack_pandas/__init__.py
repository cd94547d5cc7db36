"""upstack-pandas: the pandas way to work with the Upstack Data API.

Importing the package is cheap: it registers ``pd.read_upstack`` and the ``df.upstack``
accessor, and loads everything else only when used: the HTTP stack (requests, urllib3,
requests-cache and the transport) on the first request, matplotlib and tqdm with the first plot
or progress bar, the emulator's DuckDB when an emulator starts. ``benchmarks/bench_import.py``
measures what the import adds to ``import pandas``.
"""

from __future__ import annotations

import importlib
import logging
from typing import TYPE_CHECKING, Any

from upstack_pandas._version import __version__ as _installed_version

__version__: str = _installed_version
"""The version of upstack-pandas, ``"MAJOR.MINOR.PATCH"``."""

logging.getLogger("upstack_pandas").addHandler(logging.NullHandler())

# public name -> module that defines it (loaded on first access)
_LAZY: dict[str, str] = {
    # transport and configuration
    "Client": "upstack_pandas._transport.client",
    "get_default_client": "upstack_pandas._transport.client",
    "set_default_client": "upstack_pandas._transport.client",
    "RetryPolicy": "upstack_pandas._transport.retry",
    "CachePolicy": "upstack_pandas.cache",
    # errors
    "UpstackError": "upstack_pandas._errors",
    "ConfigurationError": "upstack_pandas._errors",
    "ValidationError": "upstack_pandas._errors",
    "AuthenticationError": "upstack_pandas._errors",
    "PermissionDenied": "upstack_pandas._errors",
    "NotFound": "upstack_pandas._errors",
    "RateLimited": "upstack_pandas._errors",
    "ServerError": "upstack_pandas._errors",
    "TransportError": "upstack_pandas._errors",
    "UpstackWarning": "upstack_pandas._errors",
    "MeasureUnavailableWarning": "upstack_pandas._errors",
    "FilterNotAppliedWarning": "upstack_pandas._errors",
    "IncompleteTotalsWarning": "upstack_pandas._errors",
    # catalog and readers
    "measures": "upstack_pandas.catalog",
    "filters": "upstack_pandas.catalog",
    "read_upstack": "upstack_pandas._readers",
    "read_attribution": "upstack_pandas._readers",
    "read_cohorts": "upstack_pandas._readers",
    "read_channel_details": "upstack_pandas._readers",
    "read_parquet": "upstack_pandas.metadata",
    # profiles and datasets
    "profiles": "upstack_pandas._profiles",
    "sync": "upstack_pandas.datasets",
    "read_dataset": "upstack_pandas.datasets",
    # plots
    "sparklines": "upstack_pandas.plotting",
    "cohort_heatmap": "upstack_pandas.plotting",
    "attribution_chart": "upstack_pandas.plotting",
    # dashboards
    "DashboardView": "upstack_pandas.dashboards",
    # account, costs, products
    "OrderSettings": "upstack_pandas.account",
    "PartialWriteError": "upstack_pandas._resources.writes",
    # bug reports
    "show_versions": "upstack_pandas._versions",
    "PixelReadError": "upstack_pandas._readers.pixels",
}
_SUBMODULES = {"account", "cache", "costs", "dashboards", "events", "products"}

__all__ = [  # pinned by tests/test_exports.py
    "AuthenticationError",
    "CachePolicy",
    "Client",
    "ConfigurationError",
    "DashboardView",
    "FilterNotAppliedWarning",
    "IncompleteTotalsWarning",
    "MeasureUnavailableWarning",
    "NotFound",
    "OrderSettings",
    "PartialWriteError",
    "PermissionDenied",
    "PixelReadError",
    "RateLimited",
    "RetryPolicy",
    "ServerError",
    "TransportError",
    "UpstackError",
    "UpstackWarning",
    "ValidationError",
    "__version__",
    "account",
    "attribution_chart",
    "cache",
    "cohort_heatmap",
    "costs",
    "dashboards",
    "events",
    "filters",
    "get_default_client",
    "measures",
    "products",
    "profiles",
    "read_attribution",
    "read_channel_details",
    "read_cohorts",
    "read_dataset",
    "read_parquet",
    "read_upstack",
    "set_default_client",
    "show_versions",
    "sparklines",
    "sync",
]


def __getattr__(name: str) -> Any:
    if name in _SUBMODULES:
        return importlib.import_module(f"upstack_pandas.{name}")
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'upstack_pandas' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return __all__


if TYPE_CHECKING:  # pragma: no cover - for type checkers and IDEs only
    from upstack_pandas import account as account
    from upstack_pandas import cache as cache
    from upstack_pandas import costs as costs
    from upstack_pandas import dashboards as dashboards
    from upstack_pandas import events as events
    from upstack_pandas import products as products
    from upstack_pandas._errors import AuthenticationError as AuthenticationError
    from upstack_pandas._errors import ConfigurationError as ConfigurationError
    from upstack_pandas._errors import FilterNotAppliedWarning as FilterNotAppliedWarning
    from upstack_pandas._errors import IncompleteTotalsWarning as IncompleteTotalsWarning
    from upstack_pandas._errors import MeasureUnavailableWarning as MeasureUnavailableWarning
    from upstack_pandas._errors import NotFound as NotFound
    from upstack_pandas._errors import PermissionDenied as PermissionDenied
    from upstack_pandas._errors import RateLimited as RateLimited
    from upstack_pandas._errors import ServerError as ServerError
    from upstack_pandas._errors import TransportError as TransportError
    from upstack_pandas._errors import UpstackError as UpstackError
    from upstack_pandas._errors import UpstackWarning as UpstackWarning
    from upstack_pandas._errors import ValidationError as ValidationError
    from upstack_pandas._profiles import profiles as profiles
    from upstack_pandas._readers import read_attribution as read_attribution
    from upstack_pandas._readers import read_channel_details as read_channel_details
    from upstack_pandas._readers import read_cohorts as read_cohorts
    from upstack_pandas._readers import read_upstack as read_upstack
    from upstack_pandas._readers.pixels import PixelReadError as PixelReadError
    from upstack_pandas._resources.writes import PartialWriteError as PartialWriteError
    from upstack_pandas._transport.client import Client as Client
    from upstack_pandas._transport.client import get_default_client as get_default_client
    from upstack_pandas._transport.client import set_default_client as set_default_client
    from upstack_pandas._transport.retry import RetryPolicy as RetryPolicy
    from upstack_pandas._versions import show_versions as show_versions
    from upstack_pandas.account import OrderSettings as OrderSettings
    from upstack_pandas.cache import CachePolicy as CachePolicy
    from upstack_pandas.catalog import filters as filters
    from upstack_pandas.catalog import measures as measures
    from upstack_pandas.dashboards import DashboardView as DashboardView
    from upstack_pandas.datasets import read_dataset as read_dataset
    from upstack_pandas.datasets import sync as sync
    from upstack_pandas.metadata import read_parquet as read_parquet
    from upstack_pandas.plotting import attribution_chart as attribution_chart
    from upstack_pandas.plotting import cohort_heatmap as cohort_heatmap
    from upstack_pandas.plotting import sparklines as sparklines

# pandas integration: registers the df.upstack accessor and pd.read_upstack (never overwriting an
# existing attribute). pandas is a core dependency, so this costs nothing extra.
from upstack_pandas import _pandas_integration  # noqa: E402,F401
