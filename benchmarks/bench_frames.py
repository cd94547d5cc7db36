"""Response-to-DataFrame conversion: the library's path vs the naive path vs the decoding floor.

Run ``python benchmarks/bench_frames.py`` (``--quick`` skips 1M cells, ``--markdown`` prints the
tables for docs/benchmarks.md). Bodies are synthetic ``/query`` responses shaped like the API's:
5 measures per data point, hourly buckets in America/New_York (so offsets change at DST),
primary rows only, with no dimensions or with two (10 x 10 values). Times are the best of
``--repeat`` runs, measured side by side in one process; memory is the peak RSS growth of a
fresh process converting one body, as a multiple of the body size.
"""

from __future__ import annotations

import argparse
import gc
import itertools
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import orjson
import pandas as pd

TZ = "America/New_York"
N_MEASURES = 5
DIMS = ("utm_source", "channel")


def make_body(cells: int, dims: Sequence[str] = (), seed: int = 0) -> tuple[bytes, list[str]]:
    """A synthetic ``/query`` body with ``cells`` measure values (about 3 % nulls)."""
    rng = np.random.default_rng(seed)
    measures = [f"core.measure_{i}" for i in range(N_MEASURES)]
    n_rows = max(1, cells // N_MEASURES)
    combos = list(itertools.product(*[[f"{d}_{j}" for j in range(10)] for d in dims]))
    buckets = pd.date_range("2020-01-01", periods=n_rows // len(combos) + 1, freq="h", tz=TZ)
    starts = [t.isoformat() for t in buckets]
    ends = [t.isoformat() for t in buckets + pd.Timedelta(hours=1)]
    values = np.round(rng.random((n_rows, N_MEASURES)) * 1000, 2)
    values[rng.random(values.shape) < 0.03] = np.nan
    rows = []
    for k, (b, combo) in enumerate(itertools.product(range(len(buckets)), combos)):
        if k == n_rows:
            break
        row: dict[str, Any] = {"dt": starts[b], "start": starts[b], "end": ends[b]}
        row.update(zip(dims, combo, strict=True))
        row.update(
            (m, None if v != v else float(v)) for m, v in zip(measures, values[k], strict=True)
        )
        rows.append(row)
    details = [
        {"measure": m, "isAverage": False, "success": True, "primarySum": 1.0} for m in measures
    ]
    result = {
        "granularity": "hour",
        "dimensions": list(dims),
        "timezone": TZ,
        "dateRange": {"start": "2020-01-01", "end": "2030-01-01"},
        "compareDateRange": None,
        "measureDetails": details,
        "data": {"primary": rows, "compare": []},
    }
    return orjson.dumps({"results": [result]}), measures


def floor(body: bytes, measures: list[str], dims: Sequence[str]) -> Any:
    return orjson.loads(body)


def naive(body: bytes, measures: list[str], dims: Sequence[str]) -> pd.DataFrame:
    records = json.loads(body)["results"][0]["data"]["primary"]
    df = pd.DataFrame(records)
    df["dt"] = pd.to_datetime(df["dt"], utc=True, format="ISO8601").dt.tz_convert(TZ)
    return df.set_index(["dt", *dims])[measures].astype("float64")


def library(body: bytes, measures: list[str], dims: Sequence[str]) -> pd.DataFrame:
    from upstack_pandas._frames import builders as frames
    from upstack_pandas._frames.decode import decode

    decoded = decode(body, frames.query_spec(measures, dims, "hour"))
    primary, _ = frames.query_frames(
        decoded, measures=measures, dimensions=dims, granularity="hour", timezone=TZ
    )
    return primary


def library_pure(body: bytes, measures: list[str], dims: Sequence[str]) -> pd.DataFrame:
    """The library's conversion on its pure-Python decode path (``UPSTACK_PANDAS_PURE_PYTHON``)."""
    from upstack_pandas._frames.decode import PURE_PYTHON_ENV

    before = os.environ.get(PURE_PYTHON_ENV)
    os.environ[PURE_PYTHON_ENV] = "1"
    try:
        return library(body, measures, dims)
    finally:
        if before is None:
            del os.environ[PURE_PYTHON_ENV]
        else:
            os.environ[PURE_PYTHON_ENV] = before


def library_compiled(body: bytes, measures: list[str], dims: Sequence[str]) -> pd.DataFrame:
    """The library's conversion on the compiled decode path (fails when it is not built)."""
    from upstack_pandas._frames import builders as frames
    from upstack_pandas._frames.decode import _decode_compiled

    decoded = _decode_compiled(body, frames.query_spec(measures, dims, "hour"))
    primary, _ = frames.query_frames(
        decoded, measures=measures, dimensions=dims, granularity="hour", timezone=TZ
    )
    return primary


def compiled_built() -> bool:
    """Whether the compiled decoder is built (and so ``library_compiled`` can run)."""
    from upstack_pandas._frames import decode

    return decode._cdecode is not None


#: ``library`` is whichever decode path is active (compiled when built); ``library_pure`` and
#: ``library_compiled`` pin one (the second only when the extension is built).
PATHS: dict[str, Callable[..., Any]] = {
    "floor": floor,
    "naive": naive,
    "library": library,
    "library_pure": library_pure,
    **({"library_compiled": library_compiled} if compiled_built() else {}),
}


def _rows(body: bytes) -> list[Any]:
    return list(orjson.loads(body)["results"][0]["data"]["primary"])


def json_normalize(body: bytes, measures: list[str], dims: Sequence[str]) -> pd.DataFrame:
    """``pd.json_normalize`` of the data points (the frame pandas' own helper gives)."""
    return pd.json_normalize(json.loads(body)["results"][0]["data"]["primary"])


def _optional_peers() -> dict[str, Callable[..., Any]]:
    """Peers from the ``bench`` extra, those installed: parse-only or columnar readers."""
    peers: dict[str, Callable[..., Any]] = {"json_normalize": json_normalize}
    try:
        import msgspec

        decoder = msgspec.json.Decoder()
        peers["msgspec"] = lambda body, measures, dims: decoder.decode(body)
    except ImportError:
        pass
    try:
        import simdjson

        parser = simdjson.Parser()
        peers["simdjson"] = lambda body, measures, dims: parser.parse(body)
    except ImportError:
        pass
    import io

    try:
        import pyarrow.json as pa_json

        peers["pyarrow.json"] = lambda body, measures, dims: pa_json.read_json(
            io.BytesIO(ndjson_view(body))
        )
    except ImportError:
        pass
    try:
        import polars as pl

        peers["polars"] = lambda body, measures, dims: pl.read_ndjson(io.BytesIO(ndjson_view(body)))
    except ImportError:
        pass
    return peers


_NDJSON: dict[int, bytes] = {}


def ndjson_view(body: bytes) -> bytes:
    """The data points of ``body`` as NDJSON (made once per body, outside the timings)."""
    key = id(body)
    if key not in _NDJSON:
        _NDJSON.clear()
        _NDJSON[key] = b"\n".join(orjson.dumps(r) for r in _rows(body))
    return _NDJSON[key]


#: Peers timed beside the library (not checked equal: they stop at parsed values or own types).
PEERS: dict[str, Callable[..., Any]] = _optional_peers()


def timings(body: bytes, measures: list[str], dims: Sequence[str], repeat: int) -> dict[str, float]:
    """Best time of each path, the paths interleaved so machine noise hits them alike."""
    paths = {**PATHS, **PEERS}
    for name in ("pyarrow.json", "polars"):
        if name in PEERS:
            ndjson_view(body)  # the NDJSON view is made outside the timings
    best = dict.fromkeys(paths, float("inf"))
    for _ in range(repeat):
        for name, fn in paths.items():
            gc.collect()
            start = time.perf_counter()
            result = fn(body, measures, dims)
            best[name] = min(best[name], time.perf_counter() - start)
            del result
    return best


def peak_memory(path: str, body_file: str) -> float:
    """Peak RSS growth of a fresh process converting one body, as a multiple of its size."""
    out = subprocess.run(
        [sys.executable, __file__, "--memory-child", path, body_file],
        check=True,
        capture_output=True,
        text=True,
    ).stdout.split()
    return float(out[0]) / float(out[1])


def _memory_child(path: str, body_file: str) -> None:
    with open(body_file, "rb") as f:
        body = f.read()
    with open(body_file + ".json") as f:
        meta = json.load(f)
    measures, dims = meta["measures"], meta["dims"]
    small, _ = make_body(1000, dims)
    PATHS[path](small, measures, dims)  # warm up lazy imports outside the measurement
    del small
    gc.collect()
    _reset_peak()
    before = _rss_now()
    result = PATHS[path](body, measures, dims)
    peak = _peak_rss()
    del result
    print(peak - before, len(body))


def _rss_now() -> int:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * resource.getpagesize()


def _reset_peak() -> None:
    """Reset the kernel's peak-RSS mark (Linux), so the peak seen is this conversion's."""
    with open("/proc/self/clear_refs", "w") as f:
        f.write("5")


def _peak_rss() -> int:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) * 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024  # pragma: no cover


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="skip 1M cells")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--no-memory", action="store_true")
    parser.add_argument("--memory-child", nargs=2, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.memory_child:
        _memory_child(*args.memory_child)
        return
    sizes = [1_000, 10_000, 100_000] + ([] if args.quick else [1_000_000])
    compiled = "library_compiled" in PATHS
    print(
        "| cells | dims | body MB | floor s | library s | pure s | compiled s | naive s "
        "| library/floor | naive/library | compiled/simdjson |"
        + ("" if args.no_memory else " peak mem library | peak mem pure | peak mem naive |")
    )
    print(
        "|---|---|---|---|---|---|---|---|---|---|---|" + ("" if args.no_memory else "---|---|---|")
    )
    for cells, with_dims in itertools.product(sizes, (False, True)):
        dims = DIMS if with_dims else ()
        body, measures = make_body(cells, dims)
        library(body, measures, dims)  # warm-up and sanity check against the naive path
        pd.testing.assert_frame_equal(
            library(body, measures, dims).sort_index(),
            naive(body, measures, dims).sort_index(),
            check_index_type=False,
        )
        repeat = args.repeat * (10 if cells <= 10_000 else 1)
        t = timings(body, measures, dims, repeat)
        vs_simdjson = (
            f"{t['library_compiled'] / t['simdjson']:.2f}x"
            if compiled and "simdjson" in t
            else "n/a"
        )
        row = (
            f"| {cells:,} | {len(dims)} | {len(body) / 1e6:.2f} | {t['floor']:.4f} | "
            f"{t['library']:.4f} | {t['library_pure']:.4f} | "
            f"{t['library_compiled']:.4f} | "
            * compiled
            + "not built | " * (not compiled)
            + f"{t['naive']:.4f} | {t['library'] / t['floor']:.2f}x | "
            f"{t['naive'] / t['library']:.2f}x | {vs_simdjson} |"
        )
        if not args.no_memory:
            with tempfile.TemporaryDirectory() as tmp:
                body_file = os.path.join(tmp, "body.json")
                with open(body_file, "wb") as f:
                    f.write(body)
                with open(body_file + ".json", "w") as f:
                    json.dump({"measures": measures, "dims": list(dims)}, f)
                row += (
                    f" {peak_memory('library', body_file):.2f}x |"
                    f" {peak_memory('library_pure', body_file):.2f}x |"
                    f" {peak_memory('naive', body_file):.2f}x |"
                )
        print(row, flush=True)


if __name__ == "__main__":
    main()
