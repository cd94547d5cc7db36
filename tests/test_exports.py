"""The public surface is curated: this test pins it (add names here on purpose, not by accident)."""

from __future__ import annotations

import subprocess
import sys

import pandas as pd

import upstack_pandas as up

EXPECTED = {
    "AuthenticationError", "CachePolicy", "Client", "ConfigurationError", "DashboardView",
    "NotFound", "PermissionDenied", "RateLimited", "RetryPolicy", "ServerError",
    "TransportError", "UpstackError", "ValidationError", "__version__", "attribution_chart",
    "cache", "cohort_heatmap", "dashboards", "filters", "get_default_client", "measures",
    "read_attribution", "read_channel_details", "read_cohorts", "read_parquet", "read_upstack",
    "set_default_client", "show_versions", "sparklines", "UpstackWarning", "MeasureUnavailableWarning",
    "FilterNotAppliedWarning", "IncompleteTotalsWarning",
    # issue 14: the account, costs, products and events surfaces
    "OrderSettings", "PartialWriteError", "PixelReadError", "account", "costs", "events", "products",
    "profiles", "read_dataset", "sync",
}  # fmt: skip


def test_all_is_pinned() -> None:
    assert set(up.__all__) == EXPECTED
    assert len(up.__all__) == len(EXPECTED)


def test_every_public_name_resolves() -> None:
    for name in up.__all__:
        assert getattr(up, name) is not None, name


def test_errors_form_one_hierarchy() -> None:
    for name in ("ConfigurationError", "ValidationError", "AuthenticationError",
                 "PermissionDenied", "NotFound", "RateLimited", "ServerError", "TransportError",
                 "PartialWriteError", "PixelReadError"):  # fmt: skip
        assert issubclass(getattr(up, name), up.UpstackError), name


def test_import_is_light_and_registers_pandas_integration() -> None:
    code = (
        "import sys, pandas as pd, upstack_pandas as up;"
        "heavy = [m for m in ('matplotlib', 'duckdb', 'tqdm', 'werkzeug') if m in sys.modules];"
        "print(heavy, hasattr(pd, 'read_upstack'), hasattr(pd.DataFrame, 'upstack'))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[] True True"


def test_pd_read_upstack_is_the_library_function() -> None:
    assert pd.read_upstack is up.read_upstack  # type: ignore[attr-defined]
    assert up.__version__.count(".") == 2
