"""What ``import upstack_pandas`` adds to ``import pandas``, in fresh interpreters.

Each run starts a new interpreter that imports pandas, then upstack_pandas, timing both with
``time.perf_counter`` inside the child (interpreter start-up stays out of the figures). Runs are
repeated and the medians kept. The child also reports which heavy modules the import loaded:
requests, urllib3 and requests-cache load on the first request, not at import.

Targets: the median added time ≤ 60 ms (absolute: the issue's target, shown for the full run),
and added / ``import pandas`` ≤ 0.25 (a ratio of two figures from the same runs, so it holds on a
slower or busier machine and is what ``--quick`` checks).
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

from benchmarks import Check, Section, fmt_seconds

__all__ = ["ADDED_LIMIT_S", "HEAVY", "RATIO_LIMIT", "measure_once", "run"]

ROOT = Path(__file__).resolve().parent.parent
ADDED_LIMIT_S = 0.060
RATIO_LIMIT = 0.25
#: Modules ``import upstack_pandas`` must not load (each loads on first use).
HEAVY = ("requests", "urllib3", "requests_cache", "duckdb", "matplotlib", "tqdm", "werkzeug")

_CHILD = (
    "import sys, time, json\n"
    "t0 = time.perf_counter()\n"
    "import pandas\n"
    "t1 = time.perf_counter()\n"
    "import upstack_pandas\n"
    "t2 = time.perf_counter()\n"
    "heavy = [m for m in {heavy!r} if m in sys.modules]\n"
    "print(json.dumps({{'pandas': t1 - t0, 'added': t2 - t1, 'heavy': heavy}}))\n"
)


def measure_once(pycache: str | None = None) -> dict[str, object]:
    """One fresh interpreter: seconds for ``import pandas``, seconds added, heavy modules loaded.

    Parameters
    ----------
    pycache : str, optional
        A bytecode cache folder (``PYTHONPYCACHEPREFIX``) shared by the runs, written even when
        the environment says ``PYTHONDONTWRITEBYTECODE``: an installed package has its bytecode,
        and without it every run would time compiling the package's sources (which pandas,
        installed from a wheel with its ``.pyc`` files, never pays).

    Returns
    -------
    dict
        ``{"pandas": float, "added": float, "heavy": list of str}``.
    """
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])),
    }
    if pycache is not None:
        env.pop("PYTHONDONTWRITEBYTECODE", None)
        env["PYTHONPYCACHEPREFIX"] = pycache
    out = subprocess.run(
        [sys.executable, "-c", _CHILD.format(heavy=HEAVY)],
        check=True, capture_output=True, text=True, cwd=ROOT, env=env,
    ).stdout  # fmt: skip
    found: dict[str, object] = json.loads(out.strip().splitlines()[-1])
    return found


def run(*, quick: bool = False) -> Section:
    """Time the import in fresh interpreters and check the targets.

    Parameters
    ----------
    quick : bool
        5 interpreters instead of 15.

    Returns
    -------
    Section
    """
    with tempfile.TemporaryDirectory(prefix="upstack-bench-pycache-") as pycache:
        measure_once(pycache)  # compiles both packages' bytecode once, as installing does
        runs = [measure_once(pycache) for _ in range(5 if quick else 15)]
    pandas_s = statistics.median(float(r["pandas"]) for r in runs)  # type: ignore[arg-type]
    added_s = statistics.median(float(r["added"]) for r in runs)  # type: ignore[arg-type]
    heavy = sorted({m for r in runs for m in r["heavy"]})  # type: ignore[attr-defined]
    section = Section(
        title="Import time",
        note=(
            f"{len(runs)} fresh interpreters, each timing `import pandas` then "
            "`import upstack_pandas` (`benchmarks/bench_import.py`), with both packages' "
            "bytecode compiled once beforehand (as installing does); medians. Heavy modules "
            f"loaded by the import (must be none of {', '.join(HEAVY)}): "
            f"{', '.join(heavy) or 'none'}. Targets: added ≤ {ADDED_LIMIT_S * 1e3:.0f} ms "
            f"(absolute, full run only) and added / `import pandas` ≤ {RATIO_LIMIT:g}x."
        ),
        headers=["import pandas", "import upstack_pandas (added)", "added / pandas", "heavy"],
        rows=[
            [
                fmt_seconds(pandas_s),
                fmt_seconds(added_s),
                f"{added_s / pandas_s:.2f}x",
                ", ".join(heavy) or "none",
            ]
        ],
    )
    section.checks += [
        Check(
            "import, added to `import pandas`", added_s, ADDED_LIMIT_S, unit="s", applies=not quick
        ),
        Check("import, added / `import pandas`", added_s / pandas_s, RATIO_LIMIT),
        Check("import, heavy modules loaded", float(len(heavy)), 0.0),
    ]
    return section


if __name__ == "__main__":
    print(run(quick="--quick" in sys.argv).markdown())
