"""Peak memory of one response-to-frame conversion, measured in a fresh process.

The parent writes the body to a file and starts ``python -m benchmarks._memory PATH FILE``.
The child imports everything, reads the body, warms the path up on a tiny body (lazy imports
and first-call caches stay out of the figure), collects garbage and only then takes its
baseline: the peak-RSS mark is reset (``/proc/self/clear_refs``, Linux) and the current RSS
read. It converts the body once, keeps the result alive, and reports the peak RSS (``VmHWM``)
minus the baseline. Without ``clear_refs`` the previous peak is the baseline (an upper bound
of the growth, never an underestimate); without ``/proc`` ``resource.getrusage`` is used.
"""

from __future__ import annotations

import gc
import json
import os
import resource
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

__all__ = ["MemoryResult", "measure", "write_body"]

ROOT = Path(__file__).resolve().parent.parent


@dataclass(frozen=True)
class MemoryResult:
    """Peak RSS growth of one conversion.

    Attributes
    ----------
    growth : int
        Peak RSS minus the baseline, in bytes.
    body : int
        Body size in bytes.
    method : str
        ``"clear_refs"`` (exact peak), ``"hwm"`` or ``"rusage"`` (see the module docstring).
    """

    growth: int
    body: int
    method: str

    @property
    def ratio(self) -> float:
        """Growth as a multiple of the body size."""
        return self.growth / self.body


def write_body(directory: str | os.PathLike[str], body: bytes, measures: list[str],
               dims: tuple[str, ...] | list[str]) -> str:  # fmt: skip
    """Write a body and its description for the child; return the body file's path.

    Parameters
    ----------
    directory : path
        Where to write (a temporary directory).
    body : bytes
        The response body.
    measures, dims : list of str
        The measure ids and dimension names of the body.

    Returns
    -------
    str
    """
    body_file = os.path.join(directory, f"body-{len(body)}-{len(dims)}.json")
    Path(body_file).write_bytes(body)
    Path(body_file + ".meta").write_text(json.dumps({"measures": measures, "dims": list(dims)}))
    return body_file


def measure(path: str, body_file: str) -> MemoryResult:
    """Convert ``body_file`` with ``path`` in a fresh process and return its peak growth.

    Parameters
    ----------
    path : {"library", "naive", "floor"}
        A conversion of ``benchmarks.bench_frames.PATHS``.
    body_file : str
        A file written by :func:`write_body`.

    Returns
    -------
    MemoryResult
    """
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])),
    }
    out = subprocess.run(
        [sys.executable, "-m", "benchmarks._memory", path, body_file],
        check=True, capture_output=True, text=True, cwd=ROOT, env=env,
    ).stdout  # fmt: skip
    found = json.loads(out.strip().splitlines()[-1])
    return MemoryResult(found["growth"], found["body"], found["method"])


def _status_kib(field: str) -> int | None:
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith(field + ":"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return None


def _reset_peak() -> bool:
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
    except OSError:
        return False
    return True


def _rusage_peak() -> int:
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return int(peak if sys.platform == "darwin" else peak * 1024)


def _child(path: str, body_file: str) -> dict[str, Any]:
    from benchmarks import bench_frames

    convert = bench_frames.PATHS[path]
    body = Path(body_file).read_bytes()
    meta = json.loads(Path(body_file + ".meta").read_text())
    measures, dims = meta["measures"], tuple(meta["dims"])
    tiny, _ = bench_frames.make_body(1_000, dims)
    convert(tiny, measures, dims)  # warm-up: lazy imports, first-call caches
    del tiny
    gc.collect()
    if _status_kib("VmHWM") is None:
        before, method = _rusage_peak(), "rusage"
    else:
        method = "clear_refs" if _reset_peak() else "hwm"
        before = _status_kib("VmRSS" if method == "clear_refs" else "VmHWM") or 0
    result = convert(body, measures, dims)
    peak = _rusage_peak() if method == "rusage" else _status_kib("VmHWM") or 0
    del result
    return {"growth": max(0, peak - before), "body": len(body), "method": method}


if __name__ == "__main__":
    print(json.dumps(_child(sys.argv[1], sys.argv[2])))
