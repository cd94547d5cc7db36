"""``import upstack_pandas`` stays cheap: the HTTP stack loads on the first request (issue 13)."""

from __future__ import annotations

import subprocess
import sys


def _run(code: str) -> str:
    return subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout.strip()


def test_import_loads_no_http_stack() -> None:
    loaded = _run(
        "import sys, pandas, upstack_pandas as up;"
        "print(sorted(m for m in ('requests', 'urllib3', 'requests_cache', 'upstack_pandas._transport.client')"
        " if m in sys.modules))"
    )
    assert loaded == "[]"


def test_the_transport_loads_when_first_needed() -> None:
    loaded = _run(
        "import sys, upstack_pandas as up;"
        "up.Client;"
        "print('requests' in sys.modules, 'upstack_pandas._transport.client' in sys.modules)"
    )
    assert loaded == "True True"
