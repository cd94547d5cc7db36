"""The emulator's ``--data`` path at scale: time to the first answer and peak RSS, fresh processes.

``dataload``: a ``--data`` directory (the users' own files, ``docs/emulator-data.md``) holding the
synthetic shop at a scale (``Backend(seed=7, now=NOW, scale=N)``) exported once into the files'
schema, as parquet and as CSV: ``orders`` (every column), ``sessions`` (ids, UTM tags and the
other attributes; ``channel`` and ``platform`` left for the loader to derive) and ``ad_spend``.
The directories are cached under the temporary directory, keyed by scale, format and
:data:`EXPORT_VERSION`. A fresh interpreter then builds ``Backend(data_dir=DIR)`` and answers the
two-year daily query by channel of ``bench_load.py``; it reports the seconds from its start to
that first answer, the median of the query 5 times more, its peak RSS (``VmHWM``), its CPU and the build's phases
(``Store.build_seconds``: the loaders' ``load``, the store's ``tables``, ``sessions``,
``order_facts``, ``catalog``). Targets (absolute, issue 13, full run): the parquet directory at
scale 16 (about 1.3 million orders and 10 million sessions) answers first in under 15 s with
under 1.5 GB peak RSS. ``--quick`` runs scale 0.1 (about 8,000 orders) and applies none.
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
from benchmarks.bench_load import FIRST_ANSWER_CHILD

__all__ = ["EXPORT_VERSION", "FIRST_ANSWER_LIMIT_S", "NOW", "RSS_LIMIT_MB", "TARGET_SCALE", "run"]

ROOT = Path(__file__).resolve().parent.parent
NOW = "2026-11-26T12:00:00Z"
TARGET_SCALE = 16.0
FIRST_ANSWER_LIMIT_S = 15.0
RSS_LIMIT_MB = 1500.0
#: Bump when the exported files change (the cached directories of older versions are ignored).
EXPORT_VERSION = 1
#: The sessions' columns written (``channel`` and ``platform`` are derived by the loader).
SESSION_COLUMNS = (
    "customer_id",
    "ts",
    "session_id",
    "utm_source",
    "utm_medium",
    "utm_campaign",
    "device",
    "country",
    "landing_page",
    "pageviews",
)

_EXPORT_CHILD = """
import json, os, sys
from upstack_pandas.emulator.data.loaders import SCHEMAS
from upstack_pandas.emulator.engine.backend import Backend
out, fmt, scale, now = sys.argv[1], sys.argv[2], float(sys.argv[3]), sys.argv[4]
sessions = json.loads(sys.argv[5])
backend = Backend(seed=7, now=now, scale=scale)
con = backend.store._con  # the store's DuckDB connection (a benchmark's export only)
sources = {"orders": "orders", "sessions": "session_facts", "ad_spend": "ad_spend"}
option = "FORMAT parquet" if fmt == "parquet" else "FORMAT csv, HEADER true"
os.makedirs(out, exist_ok=True)
for name, table in sources.items():
    schema = {c.name: c for c in SCHEMAS[name]}
    names = sessions if name == "sessions" else [c for c in schema]
    cols = []
    for c in names:
        kind = schema[c].type
        sql = {"money": "DOUBLE", "integer": "BIGINT", "string": "VARCHAR"}.get(kind)
        cols.append(f"CAST({c} AS {sql}) AS {c}" if sql else c)
    order = " ORDER BY ts, session_id" if name == "sessions" else ""
    path = os.path.join(out, f"{name}.{fmt}")
    con.execute(f"COPY (SELECT {', '.join(cols)} FROM {table}{order}) TO '{path}' ({option})")
rows = {n: con.execute(f"SELECT count(*) FROM {t}").fetchall()[0][0] for n, t in sources.items()}
print(json.dumps(rows))
"""

_LOAD_CHILD = (
    """
import json, sys, time
started = time.perf_counter()
from upstack_pandas.emulator.data import store
from upstack_pandas.emulator.engine.backend import Backend
load_user_data, spent = store.load_user_data, {}
def timed(*args, **kwargs):  # the loaders' share of the build (Store.from_dir calls them)
    begun, cpu = time.perf_counter(), time.process_time()
    try:
        return load_user_data(*args, **kwargs)
    finally:
        spent["load"] = [time.perf_counter() - begun, time.process_time() - cpu]
store.load_user_data = timed
imported = time.perf_counter() - started
backend = Backend(now=sys.argv[2], data_dir=sys.argv[1])
built = time.perf_counter() - started
"""
    + FIRST_ANSWER_CHILD
    + """
phases = {"import": [imported, 0.0], **spent}
phases |= {k: list(v) for k, v in backend.store.build_seconds.items()}
phases["query"] = [first - built, 0.0]
print(json.dumps({"first": first, "built": built, "query": query, "rss": hwm, "cpu": cpu,
                  "phases": phases}))
"""
)


def _env() -> dict[str, str]:
    return {
        **os.environ,
        "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])),
    }


def _child(code: str, *args: str) -> dict[str, Any]:
    out = subprocess.run(
        [sys.executable, "-c", code, *args],
        check=True, capture_output=True, text=True, cwd=ROOT, env=_env(),
    ).stdout  # fmt: skip
    found: dict[str, Any] = json.loads(out.strip().splitlines()[-1])
    return found


def data_dir(scale: float, fmt: str = "parquet", *, root: str | None = None) -> Path:
    """The ``--data`` directory of the synthetic shop at ``scale`` in ``fmt``, exported once.

    Parameters
    ----------
    scale : float
        Scale of the synthetic shop exported (16: about 1.3 million orders, 10 million sessions).
    fmt : {"parquet", "csv"}
        The files' format.
    root : str, optional
        Where the cached directories live (default: ``upstack-bench-data`` in the temporary
        directory).

    Returns
    -------
    pathlib.Path
        A directory with ``orders``, ``sessions`` and ``ad_spend`` files (and ``rows.json``, the
        rows of each, written last: a directory without it is exported again).
    """
    base = Path(root or os.path.join(tempfile.gettempdir(), "upstack-bench-data"))
    directory = base / f"v{EXPORT_VERSION}-scale-{scale:g}-{fmt}"
    done = directory / "rows.json"
    if not done.is_file():
        files = directory / "files"
        rows = _child(_EXPORT_CHILD, str(files), fmt, str(scale), NOW, json.dumps(SESSION_COLUMNS))
        done.write_text(json.dumps(rows))
    return directory / "files"


def _phases(phases: dict[str, list[float]]) -> str:
    """The build's wall time by phase (``Store.build_seconds``): load, sessions, order_facts."""
    names = {
        "import": "import",
        "load": "load",
        "tables": "tables",
        "sessions": "sessions",
        "order_facts": "facts",
        "query": "first query",
    }
    shown = [f"{label} {phases[key][0]:.1f} s" for key, label in names.items() if key in phases]
    rest = sum(v[0] for k, v in phases.items() if k not in names)
    return ", ".join([*shown, f"rest {rest:.1f} s"])


def _size(directory: Path) -> str:
    return f"{sum(p.stat().st_size for p in directory.iterdir()) / 2**20:.0f} MB"


def run(*, quick: bool = False, cases: list[tuple[float, str]] | None = None) -> Section:
    """Measure the ``--data`` load of exported synthetic shops in fresh interpreters.

    Parameters
    ----------
    quick : bool
        Scale 0.1 only (parquet and CSV), no targets.
    cases : list of (float, str), optional
        The (scale, format) pairs to measure (default: scale 16 parquet and CSV, scale 1 CSV;
        scale 0.1 parquet and CSV with ``quick``).

    Returns
    -------
    Section
    """
    if cases is None:
        cases = (
            [(0.1, "parquet"), (0.1, "csv")]
            if quick
            else [(1.0, "csv"), (TARGET_SCALE, "parquet"), (TARGET_SCALE, "csv")]
        )
    section = Section(
        title="Emulator `--data` load at scale",
        note=(
            "Fresh interpreters (`benchmarks/bench_data_load.py`): the synthetic shop at a scale "
            "exported once (cached) as a `--data` directory of `orders`, `sessions` (channel and "
            "platform left to the loader) and `ad_spend` files; `Backend(data_dir=...)` loads it "
            "and answers the two-year daily query by channel of the load section (`first answer` "
            "counts from the interpreter's start, imports included; `query` is the median of the "
            "same query 5 times more; `build by phase` is the wall time of `Store.build_seconds`: the loaders' "
            "`load` (DuckDB reads, checks, defaults), `tables` (ad spend, entities, customers), "
            "`sessions` (`session_facts`), `facts` (`order_facts`)). Peak RSS from `VmHWM`; CPU "
            "is the process's user + system time. Targets (full run): scale "
            f"{TARGET_SCALE:g} parquet first answer ≤ {FIRST_ANSWER_LIMIT_S:g} s and peak RSS ≤ "
            f"{RSS_LIMIT_MB:g} MB."
        ),
        headers=[
            "shop",
            "files",
            "first answer",
            "query",
            "CPU",
            "build by phase",
            "peak RSS",
        ],
    )
    for scale, fmt in cases:
        directory = data_dir(scale, fmt)
        rows = json.loads((directory.parent / "rows.json").read_text())
        found = _child(_LOAD_CHILD, str(directory), NOW)
        shop = f"scale {scale:g}: {rows['orders']:,} orders, {rows['sessions']:,} sessions"
        section.rows.append([shop, f"{fmt}, {_size(directory)}", fmt_seconds(found["first"]),
                             fmt_seconds(found["query"]), fmt_seconds(found["cpu"]),
                             _phases(found["phases"]), f"{found['rss'] / 2**20:.0f} MB"])  # fmt: skip
        if scale == TARGET_SCALE and fmt == "parquet":
            label = f"--data scale {scale:g} parquet"
            section.checks += [
                Check(f"{label}: first answer", found["first"], FIRST_ANSWER_LIMIT_S, unit="s"),
                Check(f"{label}: peak RSS (MB)", found["rss"] / 2**20, RSS_LIMIT_MB, unit="MB"),
            ]
    return section


if __name__ == "__main__":
    print(run(quick="--quick" in sys.argv).markdown())
