"""Emulator data at scale and the demo: time to the first answer and peak RSS, fresh processes.

``emulator load``: for each scale of the synthetic shop (``Emulator(scale=N)``,
``upstack-pandas emulator --scale N``), a fresh interpreter builds the engine and answers a
two-year daily query by channel; it reports the seconds from its start to that first answer, the
query's own time once built, and its peak RSS (``VmHWM``). ``demo``: ``upstack-pandas demo``
(the README's quickstart on an embedded emulator) in a fresh interpreter, its wall time and peak
RSS. Targets (absolute, issue 13): at scale 16 (about 1.3 million orders and 10 million
sessions) the first answer in under 15 s with under 1.5 GB peak RSS; the demo under 350 MB.
They are shown for the full run only; ``--quick`` runs scale 0.25 and skips the demo.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

from benchmarks import Check, Section, fmt_seconds

__all__ = [
    "DEMO_RSS_LIMIT_MB",
    "FIRST_ANSWER_CHILD",
    "FIRST_ANSWER_LIMIT_S",
    "RSS_LIMIT_MB",
    "TARGET_SCALE",
    "run",
]

ROOT = Path(__file__).resolve().parent.parent
TARGET_SCALE = 16.0
FIRST_ANSWER_LIMIT_S = 15.0
RSS_LIMIT_MB = 1500.0
DEMO_RSS_LIMIT_MB = 350.0

#: The end of a load child (after ``started`` and ``backend``): the two-year daily query by
#: channel answered, then 5 times more (``first``: seconds since ``started``; ``query``: the
#: median of the 5), then the peak RSS (``hwm``, bytes) and the process's CPU seconds (``cpu``).
FIRST_ANSWER_CHILD = """
body = {"granularity": "day", "dimensions": ["channel"],
        "measures": [{"measure": m} for m in ("orders.total_revenue", "orders.orders")],
        "dateRange": {"start": "2024-11-27", "end": "2026-11-25"}, "compareDateRange": None}
backend.query(body)
first = time.perf_counter() - started
times = []
for _ in range(5):
    again = time.perf_counter()
    backend.query(body)
    times.append(time.perf_counter() - again)
query = sorted(times)[2]
hwm = int(open("/proc/self/status").read().split("VmHWM:")[1].split()[0]) * 1024
import resource
usage = resource.getrusage(resource.RUSAGE_SELF)
cpu = usage.ru_utime + usage.ru_stime
"""

_LOAD_CHILD = (
    """
import json, sys, time
started = time.perf_counter()
from upstack_pandas.emulator.engine.backend import Backend
backend = Backend(seed=7, now="2026-11-26T12:00:00Z", scale=float(sys.argv[1]))
"""
    + FIRST_ANSWER_CHILD
    + """
phases = {k: v[1] for k, v in backend.store.build_seconds.items()}
print(json.dumps({"first": first, "query": query, "rss": hwm, "cpu": cpu, "phases": phases}))
"""
)

_DEMO_CHILD = """
import json, resource, subprocess, sys, time
started = time.perf_counter()
subprocess.run([sys.executable, "-m", "upstack_pandas.cli", "demo", "--out", sys.argv[1]],
               check=True, capture_output=True)
seconds = time.perf_counter() - started
usage = resource.getrusage(resource.RUSAGE_CHILDREN)
print(json.dumps({"seconds": seconds, "rss": usage.ru_maxrss * 1024,
                  "cpu": usage.ru_utime + usage.ru_stime}))
"""


def _child(code: str, *args: str) -> dict[str, Any]:
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])),
    }
    out = subprocess.run(
        [sys.executable, "-c", code, *args],
        check=True, capture_output=True, text=True, cwd=ROOT, env=env,
    ).stdout  # fmt: skip
    found: dict[str, Any] = json.loads(out.strip().splitlines()[-1])
    return found


def _phases(cpu: dict[str, float]) -> str:
    """The build's CPU by phase (``Store.build_seconds``): generation, sessions, order_facts."""
    names = {"generate": "gen", "sessions": "sessions", "order_facts": "order_facts"}
    shown = [f"{label} {cpu[key]:.1f} s" for key, label in names.items() if key in cpu]
    rest = sum(v for k, v in cpu.items() if k not in names)
    return ", ".join([*shown, f"rest {rest:.1f} s"])


def _mb(size: float) -> str:
    return f"{size / 2**20:.0f} MB"


def run(*, quick: bool = False, scales: list[float] | None = None) -> Section:
    """Measure the emulator's load by scale (and the demo, in the full run).

    Parameters
    ----------
    quick : bool
        Scale 0.25 only, no demo.
    scales : list of float, optional
        The scales to measure (default 1, 4 and 16; 0.25 with ``quick``).

    Returns
    -------
    Section
    """
    if scales is None:
        scales = [0.25] if quick else [1.0, 4.0, TARGET_SCALE]
    section = Section(
        title="Emulator load by scale, and the demo",
        note=(
            "Fresh interpreters (`benchmarks/bench_load.py`): the synthetic shop at each scale "
            "builds and answers a two-year daily query of 2 measures by channel (`first answer`"
            " counts from the interpreter's start, imports included; `query` is the median of the "
            "same query 5 times more; `build CPU by phase` is the store's own account, `Store.build_seconds`: the "
            "generator, the last touches plus `session_facts`, `order_facts`, the small tables and "
            "catalog; `session_facts` is written in a background thread from the moment the "
            "sessions are drawn, so its CPU is spread over the phases it overlaps, `gen` "
            "included); `upstack-pandas demo` end to end. Peak RSS from `VmHWM`; CPU is the "
            "process's user + system time (DuckDB's threads included), steadier than wall time "
            "on a loaded machine. Targets (full run)"
            f": scale {TARGET_SCALE:g} first answer ≤ {FIRST_ANSWER_LIMIT_S:g} s and peak RSS ≤ "
            f"{RSS_LIMIT_MB:g} MB; the query at scale {TARGET_SCALE:g} at most {TARGET_SCALE:g}x "
            f"its time at scale 1 (latency at most linear in the data); demo peak RSS ≤ "
            f"{DEMO_RSS_LIMIT_MB:g} MB."
        ),
        headers=[
            "what",
            "first answer / wall time",
            "query",
            "CPU",
            "build CPU by phase",
            "peak RSS",
        ],
    )
    queries: dict[float, float] = {}
    for scale in scales:
        found = _child(_LOAD_CHILD, str(scale))
        queries[scale] = found["query"]
        section.rows.append([f"emulator, scale {scale:g}", fmt_seconds(found["first"]),
                             fmt_seconds(found["query"]), fmt_seconds(found["cpu"]),
                             _phases(found["phases"]), _mb(found["rss"])])  # fmt: skip
        if scale == TARGET_SCALE:
            section.checks += [
                Check(
                    f"emulator scale {scale:g}: first answer",
                    found["first"],
                    FIRST_ANSWER_LIMIT_S,
                    unit="s",
                ),
                Check(
                    f"emulator scale {scale:g}: peak RSS (MB)",
                    found["rss"] / 2**20,
                    RSS_LIMIT_MB,
                    unit="MB",
                ),
            ]
    if 1.0 in queries and TARGET_SCALE in queries:  # linear growth at most: 16x data, 16x time
        section.checks.append(
            Check(
                f"emulator query, scale {TARGET_SCALE:g} / scale 1 (x{TARGET_SCALE:g} the data)",
                queries[TARGET_SCALE] / queries[1.0],
                TARGET_SCALE,
            )
        )
    if not quick:
        with tempfile.TemporaryDirectory() as out:
            found = _child(_DEMO_CHILD, out)
        section.rows.append(["`upstack-pandas demo`", fmt_seconds(found["seconds"]), "",
                             fmt_seconds(found["cpu"]), "", _mb(found["rss"])])  # fmt: skip
        section.checks.append(
            Check("demo: peak RSS (MB)", found["rss"] / 2**20, DEMO_RSS_LIMIT_MB, unit="MB")
        )
    return section


if __name__ == "__main__":
    print(run(quick="--quick" in sys.argv).markdown())
