"""The sliced decoder and the whole-body decoder give identical frames (hypothesis, issue 13).

Large bodies are decoded in slices cut between data points; small ones (and any body the sliced
path is unsure of) in one ``orjson.loads``. Over generated bodies (unicode dimension values,
nulls, exponents, huge and tiny floats, integers, negative zero, strings where numbers belong)
both paths must give the same frames, bit for bit.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import orjson
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from upstack_pandas._frames import builders as frames
from upstack_pandas._frames import decode as decode_module

MEASURES = ["m.a", "m.b"]
DIMS = ["channel"]


@pytest.fixture(autouse=True)
def _pure_python(monkeypatch: pytest.MonkeyPatch) -> None:
    """These tests are about the pure path's two ways (the compiled one: test_speedups.py)."""
    monkeypatch.setenv(decode_module.PURE_PYTHON_ENV, "1")


numbers = st.one_of(
    st.none(),
    st.integers(-(2**53), 2**53),
    st.floats(allow_nan=False, allow_infinity=False),
    st.sampled_from([0.0, -0.0, 1e308, -1e308, 5e-324, 1.5e-300, 2.5e10]),
    st.sampled_from(["12.5", "n/a"]),
)
labels = st.one_of(st.text(max_size=8), st.none(), st.sampled_from(["paid", "é", "日本", "🙂"]))
stamps = st.sampled_from(
    ["2026-03-08T06:00:00.000Z", "2026-03-08T07:00:00.000Z", "2026-11-01T05:00:00.000Z"]
)
row = st.fixed_dictionaries({"dt": stamps, "channel": labels, "m.a": numbers, "m.b": numbers})


def _body(rows: list[dict[str, Any]], compare: list[dict[str, Any]]) -> bytes:
    result = {
        "measureDetails": [],
        "data": {"primary": rows, "compare": compare},
    }
    return orjson.dumps({"results": [result]})


def _frames(body: bytes) -> tuple[pd.DataFrame, pd.DataFrame]:
    spec = frames.query_spec(MEASURES, DIMS, "hour")
    decoded = decode_module.decode(body, spec)
    return frames.query_frames(
        decoded, measures=MEASURES, dimensions=DIMS, granularity="hour", timezone="America/New_York"
    )


def _same(a: pd.DataFrame, b: pd.DataFrame) -> None:
    pd.testing.assert_frame_equal(a, b, check_exact=True)
    for column in a.columns:  # negative zero and NaN, bit for bit
        left, right = a[column].to_numpy(), b[column].to_numpy()
        assert np.array_equal(np.signbit(left), np.signbit(right))
        assert np.array_equal(np.isnan(left), np.isnan(right))


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(row, min_size=1, max_size=60), st.lists(row, max_size=20))
def test_sliced_and_whole_body_decoding_agree(
    rows: list[dict[str, Any]], compare: list[dict[str, Any]]
) -> None:
    body = _body(rows, compare)
    whole = _frames(body)  # small: one orjson.loads
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(decode_module, "_STREAM_MIN_BYTES", 0)  # every body takes the sliced path
        patch.setattr(decode_module, "_CHUNK_BYTES", 64)  # and is cut into many slices
        sliced = _frames(body)
    for left, right in zip(whole, sliced, strict=True):
        _same(left, right)


def test_the_sliced_path_is_taken_when_it_can_be() -> None:
    rows = [{"dt": "2026-03-08T06:00:00.000Z", "channel": f"c{i % 3}", "m.a": i, "m.b": -0.0}
            for i in range(200)]  # fmt: skip
    body = _body(rows, [])
    calls: list[int] = []
    real = decode_module._decode_sliced

    def counting(*args: Any) -> Any:
        calls.append(1)
        return real(*args)

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(decode_module, "_STREAM_MIN_BYTES", 0)
        patch.setattr(decode_module, "_CHUNK_BYTES", 64)
        patch.setattr(decode_module, "_decode_sliced", counting)
        primary, _ = _frames(body)
    assert calls == [1]
    assert primary["m.a"].sum() == sum(range(200))
    assert np.signbit(primary["m.b"].to_numpy()).all()


def test_rows_the_fast_reduction_refuses_decode_alike_in_slices() -> None:
    """Missing measures, strings for numbers and nested labels in some slices, not in others."""
    stamp = "2026-03-08T06:00:00.000Z"
    rows: list[dict[str, Any]] = []
    for i in range(240):
        row: dict[str, Any] = {"dt": stamp, "channel": f"c{i % 3}", "m.a": i}
        if i % 5:
            row["m.b"] = 1.5
        if 100 <= i < 110:
            row["m.a"] = "n/a" if i % 2 else str(i)  # "101" is read as 101.0, "n/a" as NaN
        if i == 200:
            row["channel"] = ["nested"]  # unhashable: coded by its JSON text
        rows.append(row)
    body = _body(rows, [])
    whole = _frames(body)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(decode_module, "_STREAM_MIN_BYTES", 0)
        patch.setattr(decode_module, "_CHUNK_BYTES", 256)
        sliced = _frames(body)
    for left, right in zip(whole, sliced, strict=True):
        _same(left, right)
    primary = sliced[0]
    expected_a = sum(i for i in range(240) if not (100 <= i < 110 and i % 2))
    assert primary["m.a"].sum() == expected_a
    assert primary["m.a"].isna().sum() == 5
    assert primary["m.b"].isna().sum() == 48 and primary["m.b"].sum() == 1.5 * 192
    channels = primary.index.get_level_values("channel")
    assert sorted(set(channels)) == ['["nested"]', "c0", "c1", "c2"]
