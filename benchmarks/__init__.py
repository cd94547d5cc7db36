"""The upstack-pandas benchmark suite.

Run ``python -m benchmarks`` (or ``python benchmarks/run.py``); ``--quick`` runs tiny sizes for
a CI smoke test. Each section module returns a :class:`Section`: a table of measurements and the
:class:`Check` objects (targets) it evaluated. Targets are ratios of figures measured side by
side in one run, since absolute times vary between machines; absolute times are shown beside
them.

Sections: response-to-frame conversion and peak memory (``run``, ``_memory``, reusing
``bench_frames``), cache hit vs cold (``bench_cache``), chunked long ranges (``bench_chunks``)
emulator latency (``bench_emulator``), and many pixels: sync and Dask (``bench_sync``).
"""

from __future__ import annotations

import gc
import math
import statistics
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Literal

__all__ = [
    "Check",
    "Section",
    "fmt_bytes",
    "fmt_seconds",
    "percentile",
    "sample",
    "summary_table",
    "verdict",
]


@dataclass(frozen=True)
class Check:
    """One target: a measured figure compared with its limit.

    Parameters
    ----------
    name : str
        What is measured, e.g. ``"library / floor, 1M cells, no dimensions"``.
    value : float
        The measured figure.
    limit : float
        The target.
    op : {"<=", ">="}
        ``"<="``: the value must be at most the limit; ``">="``: at least.
    unit : str
        How to print value and limit: ``"x"`` (a ratio), ``"%"`` (a ratio shown as a
        percentage), ``"s"`` (seconds) or ``"MB"``.
    applies : bool
        ``False`` when measured away from the target's conditions (``--quick`` sizes): shown,
        but neither PASS nor FAIL.
    """

    name: str
    value: float
    limit: float
    op: Literal["<=", ">="] = "<="
    unit: str = "x"
    applies: bool = True

    @property
    def met(self) -> bool:
        """Whether the value meets the limit (NaN never does)."""
        if math.isnan(self.value):
            return False
        return self.value <= self.limit if self.op == "<=" else self.value >= self.limit

    @property
    def failed(self) -> bool:
        """Whether this is a failing target (a check that does not apply never fails)."""
        return self.applies and not self.met

    @property
    def result(self) -> str:
        """``"PASS"``, ``"**FAIL**"`` or, when the check does not apply, ``"n/a (quick)"``."""
        return verdict(self.met) if self.applies else "n/a (quick)"

    def show(self, value: float) -> str:
        """Format ``value`` (or the limit) in this check's unit."""
        if self.unit == "%":
            return f"{value * 100:.1f} %"
        if self.unit == "s":
            return fmt_seconds(value)
        if self.unit == "MB":
            return f"{value:.0f} MB"
        return f"{value:.2f}x"


@dataclass
class Section:
    """A benchmark section's results.

    Parameters
    ----------
    title : str
        Section heading.
    note : str
        How it was measured (one paragraph of Markdown).
    headers : sequence of str
        Column headers of the detail table.
    rows : list of list of str
        Detail rows, already formatted.
    checks : list of Check
        Targets evaluated in this section.
    """

    title: str
    note: str
    headers: Sequence[str]
    rows: list[list[str]] = field(default_factory=list)
    checks: list[Check] = field(default_factory=list)

    def markdown(self) -> str:
        """The section as Markdown: heading, note and detail table."""
        lines = [f"### {self.title}", "", self.note, "", _table(self.headers, self.rows)]
        return "\n".join(lines)


def _table(headers: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    out = ["| " + " | ".join(headers) + " |", "|" + "---|" * len(headers)]
    out += ["| " + " | ".join(row) + " |" for row in rows]
    return "\n".join(out)


def summary_table(checks: Sequence[Check]) -> str:
    """Markdown table of every target with its measured value and PASS/FAIL.

    Parameters
    ----------
    checks : sequence of Check

    Returns
    -------
    str
    """
    rows = [
        [
            c.name,
            c.show(c.value),
            f"{c.op.replace('<=', '≤').replace('>=', '≥')} {c.show(c.limit)}",
            c.result,
        ]
        for c in checks
    ]
    return _table(["target", "measured", "limit", "result"], rows)


def verdict(passed: bool) -> str:
    """``"PASS"`` or ``"**FAIL**"``."""
    return "PASS" if passed else "**FAIL**"


def sample(fn: Callable[[], object], repeat: int, *, collect: bool = True) -> list[float]:
    """Wall-clock seconds of ``repeat`` calls of ``fn`` (garbage collected before each).

    Parameters
    ----------
    fn : callable
        Called without arguments; its result is dropped before the next call.
    repeat : int
        Number of calls.
    collect : bool
        Run a full garbage collection before each call (default). ``False``: the calls run
        back to back, as repeated calls in a session do. A full collection walks the whole
        heap and leaves the CPU caches cold: on the 2-core machine of ``docs/benchmarks.md``
        it adds about 0.6 ms to the call after it, more than a sub-millisecond call costs.

    Returns
    -------
    list of float
    """
    times = []
    for _ in range(repeat):
        if collect:
            gc.collect()
        start = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - start)
        del result
    return times


def percentile(values: Sequence[float], q: float) -> float:
    """The ``q``-th percentile (0-100) of ``values``, linearly interpolated.

    Parameters
    ----------
    values : sequence of float
    q : float

    Returns
    -------
    float
    """
    if len(values) == 1:
        return float(values[0])
    return float(statistics.quantiles(values, n=100, method="inclusive")[int(q) - 1])


def fmt_seconds(seconds: float) -> str:
    """Seconds as ``"12.3 ms"`` / ``"1.23 s"`` / ``"45 µs"``."""
    if seconds >= 1:
        return f"{seconds:.2f} s"
    if seconds >= 1e-3:
        return f"{_sig(seconds * 1e3)} ms"
    return f"{_sig(seconds * 1e6)} µs"


def fmt_bytes(size: float) -> str:
    """Bytes as ``"4.47 MB"`` (decimal units, like the body sizes in the issue)."""
    for unit, scale in (("GB", 1e9), ("MB", 1e6), ("kB", 1e3)):
        if size >= scale:
            return f"{_sig(size / scale)} {unit}"
    return f"{size:.0f} B"


def _sig(value: float) -> str:
    """About three significant digits, never in exponent notation."""
    return f"{value:.2f}" if value < 10 else f"{value:.1f}" if value < 100 else f"{value:.0f}"
