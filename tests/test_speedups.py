"""The compiled decoder (``_cdecode``) and the pure-Python path give identical results (issue 13).

Over generated bodies (unicode and escapes in dimension values, nulls, exponents, huge and tiny
floats, integers, negative zero, missing keys, non-number values, empty arrays, whitespace) the
dispatching :func:`decode` with the compiled path on and off gives the same :class:`Decoded`
blocks, bit for bit, the same frames through the reader's frame builders, or the same error.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import numpy as np
import orjson
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import upstack_pandas
from upstack_pandas import _wire as wire
from upstack_pandas._frames import builders as frames
from upstack_pandas._frames import decode as decode_module

compiled = pytest.mark.skipif(
    decode_module._cdecode is None,
    reason="the compiled decoder is not built (no C compiler when installed)",
)

MEASURES = ["m.a", "m.b"]
DIMS = ["channel"]


def _pure(body: bytes, spec: decode_module.RowSpec) -> Any:
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv(decode_module.PURE_PYTHON_ENV, "1")
        try:
            return decode_module.decode(body, spec)
        except orjson.JSONDecodeError as exc:
            return type(exc)


def _fast(body: bytes, spec: decode_module.RowSpec) -> Any:
    try:
        return decode_module.decode(body, spec)
    except orjson.JSONDecodeError as exc:
        return type(exc)


def _same_array(a: np.ndarray, b: np.ndarray) -> None:
    assert a.dtype == b.dtype and a.shape == b.shape
    assert a.tobytes() == b.tobytes()  # NaN and negative zero, bit for bit


def _same_decoded(a: Any, b: Any) -> None:
    if isinstance(a, type) or isinstance(b, type):
        assert a == b
        return
    assert len(a.results) == len(b.results)
    for kind in wire.DATA_KINDS:
        for left, right in zip(a.blocks(kind), b.blocks(kind), strict=True):
            assert (left.n, left.array, left.not_objects, left.not_numbers) == (
                right.n,
                right.array,
                right.not_objects,
                right.not_numbers,
            )
            _same_array(left.values, right.values)
            assert left.codes.keys() == right.codes.keys()
            for key in left.codes:
                _same_array(left.codes[key], right.codes[key])
                assert _typed(left.uniques(key)) == _typed(right.uniques(key))
            assert left.times.keys() == right.times.keys()
            for key in left.times:
                _same_array(left.times[key], right.times[key])
    # the envelope, with the blocks taken out, is the same JSON
    assert _envelope(a.body) == _envelope(b.body)


def _typed(values: list[Any]) -> list[tuple[str, Any]]:
    """Values with their types (NaN, the pure path's null label, shown as "nan")."""
    return [(type(v).__name__, "nan" if v != v else v) for v in values]


def _envelope(body: Any) -> Any:
    if isinstance(body, dict):
        return {k: _envelope(v) for k, v in body.items()}
    if isinstance(body, list):
        return [_envelope(v) for v in body]
    if isinstance(body, decode_module.Block):
        return "<block>"
    return body


def _same_frames(body: bytes, dims: list[str]) -> None:
    def build() -> Any:
        spec = frames.query_spec(MEASURES, dims, "hour")
        decoded = decode_module.decode(body, spec)
        return frames.query_frames(
            decoded, measures=MEASURES, dimensions=dims, granularity="hour", timezone="UTC"
        )

    fast = build()
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv(decode_module.PURE_PYTHON_ENV, "1")
        pure = build()
    for left, right in zip(fast, pure, strict=True):
        pd.testing.assert_frame_equal(left, right, check_exact=True)
        for column in left.columns:
            _same_array(left[column].to_numpy(), right[column].to_numpy())


# ----------------------------------------------------------------------------- generated bodies

SPECIAL_NUMBERS = [  # negative zero, exponents, huge and tiny, past 64 bits, past 2**53
    "-0", "-0.0", "0", "1E2", "1e+308", "-1e-400", "1e-400", "5e-324", "0.1e-5", "1.5E3",
    "123456789012345678901234567890", "18446744073709551615", "-9223372036854775809",
    "0.30000000000000004", "2.5e10", "9007199254740993", "1.00000000000000000001",
    # the fast path's edges: 19/20 significant digits, 2**53 +- 1, 10**22 and 10**23, leading
    # fraction zeros, the largest and smallest doubles, halfway cases
    "9999999999999999999", "12345678901234567890", "0.1234567890123456789", "1234567890.123456789",
    "9007199254740992", "9007199254740991.5", "-9007199254740993e-3", "1e22", "1e23", "3e-22",
    "9007199254740993e22", "0.000000000000000000000000001234", "1.7976931348623157e308",
    "2.2250738585072014e-308", "4.9e-324", "2.5e-324", "-0e5", "0.0e-7", "123.456E+02",
    "1.0000000000000002", "0.10000000000000001", "7.2057594037927933e16",
]  # fmt: skip
number_texts = st.one_of(
    st.floats(allow_nan=False, allow_infinity=False).map(json.dumps),
    st.integers(-(2**70), 2**70).map(str),
    st.sampled_from(SPECIAL_NUMBERS),
)
texts = st.one_of(
    st.text(max_size=8),
    st.text(min_size=14, max_size=40),  # past one 16-byte step of the string scan
    st.sampled_from(["paid", "é", "日本", "🙂", 'a"b', "back\\slash", "tab\there", "\u2028", ""]),
    st.sampled_from(["a" * 15 + '"', "b" * 16 + "\\", "c" * 17 + "é", "d" * 31 + "\x1f", "e" * 32]),
)
string_texts = st.tuples(texts, st.booleans()).map(lambda t: json.dumps(t[0], ensure_ascii=t[1]))
plain_stamps = st.sampled_from(
    ['"2026-03-08T06:00:00.000Z"', '"2026-03-08T07:00:00-05:00"', '"2026-11-01T05:00:00+01:00"',
     '"2024-02-29T05:00:00Z"', '"2026-11-01T05:00:00.123456+05:30"', "null"]
)  # fmt: skip
odd_stamps = st.sampled_from(
    ['"not a time"', '"2026-02-30T00:00:00Z"', '"2026-03-08T06:00:00.1234567Z"',
     '"1850-01-01T00:00:00Z"', '"2026-03-08 06:00:00Z"', "12"]
)  # fmt: skip
odd_values = st.sampled_from(
    ["true", "false", "[]", '{"x": [1, {"y": null}]}', '"12.5"', '"n/a"', "1e400", "-1E999"]
)
measure_values = st.one_of(number_texts, number_texts, st.just("null"), odd_values)
label_values = st.one_of(string_texts, string_texts, st.just("null"), st.integers(-50, 50).map(str))
spaces = st.sampled_from(["", "", " ", "\n  "])


@st.composite
def row_texts(draw: st.DrawFn, rare: bool) -> str:
    fields = [
        ("dt", draw(st.one_of(plain_stamps, odd_stamps) if rare else plain_stamps)),
        ("channel", draw(label_values)),
        ("m.a", draw(measure_values if rare else st.one_of(number_texts, st.just("null")))),
        ("m.b", draw(st.one_of(number_texts, st.just("null")))),
        ("start", draw(string_texts)),
    ]
    kept = [f for f in fields if draw(st.integers(0, 9)) > 0]  # missing keys
    # keys no column takes that share a prefix with one that does (the key layout is matched
    # as raw bytes, quotes included)
    kept += [
        (k, draw(label_values)) for k in draw(st.lists(st.sampled_from(NEAR_KEYS), max_size=2))
    ]
    order = draw(st.permutations(kept))
    sp = draw(spaces)
    parts = [f"{_key(draw, k)}{sp}:{sp}{v}" for k, v in order]
    return "{" + f",{sp}".join(parts) + "}"


NEAR_KEYS = ["m.ab", "m.", "dtx", "d", "channel ", "chann"]


def _key(draw: st.DrawFn, key: str) -> str:
    """The key's JSON text, now and then with escapes (equal to the plain key once decoded)."""
    if draw(st.integers(0, 7)) == 0:
        return '"' + "".join(f"\\u{ord(c):04x}" for c in key) + '"'
    return json.dumps(key)


@st.composite
def bodies(draw: st.DrawFn, plain: bool = False) -> bytes:
    rare = not plain and draw(st.integers(0, 4)) == 0
    results = []
    for _ in range(draw(st.integers(1, 2))):
        kinds = []
        for kind in draw(st.permutations(list(wire.DATA_KINDS))):
            rows = draw(st.lists(row_texts(rare), max_size=25))
            if rare and draw(st.integers(0, 5)) == 0:
                rows.append(draw(st.sampled_from(["1", "null", '"x"', "[]"])))  # not an object
            sp = draw(spaces)
            kinds.append(f'"{kind}":{sp}[{sp}' + f",{sp}".join(rows) + f"{sp}]")
        results.append('{"measureDetails": [], "data": {' + ", ".join(kinds) + "}}")
    return ('{"results": [' + ", ".join(results) + '], "hasMore": false}').encode()


@compiled
@settings(max_examples=250, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(bodies(), st.booleans())
def test_compiled_and_pure_decoding_agree(body: bytes, dims: bool) -> None:
    for spec in (
        frames.query_spec(MEASURES, DIMS if dims else [], "hour"),
        decode_module.RowSpec(tuple(MEASURES), ("channel",), ("dt",), code_times=False),
    ):
        _same_decoded(_fast(body, spec), _pure(body, spec))
    if not isinstance(_pure(body, frames.query_spec(MEASURES, [], "hour")), type):
        _same_frames(body, DIMS if dims else [])


@compiled
@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(bodies(plain=True))
def test_plain_bodies_take_the_compiled_path(body: bytes) -> None:
    """Bodies within the compiled decoder's model are decoded by it, not handed back."""
    for dims in (DIMS, []):  # timestamps coded, or parsed in C
        spec = frames.query_spec(MEASURES, dims, "hour")
        decoded = decode_module._decode_compiled(body, spec)  # raises _Fallback when unsure
        _same_decoded(decoded, _pure(body, spec))


# ----------------------------------------------------------------------------- explicit cases


def _body(rows: list[Any], compare: list[Any] | None = None) -> bytes:
    return orjson.dumps({"results": [{"data": {"primary": rows, "compare": compare or []}}]})


SPEC = decode_module.RowSpec(("m.a", "m.b"), ("channel",), ("dt",), code_times=True)


@compiled
@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("-0", 0.0),
        ("-0.0", -0.0),
        ("1E2", 100.0),
        ("5e-324", 5e-324),
        ("-1e-400", -0.0),
        ("123456789012345678901234567890", 1.2345678901234568e29),
        ("18446744073709551615", 18446744073709551615.0),
        ("9007199254740993", 9007199254740992.0),
        ("0.1", 0.1),
        ("null", float("nan")),
    ],
)
def test_numbers_match_orjson_bit_for_bit(text: str, expected: float) -> None:
    body = ('{"results":[{"data":{"primary":[{"m.a":' + text + "}]}}]}").encode()
    decoded = decode_module._decode_compiled(body, SPEC)
    value = decoded.blocks("primary")[0].values[0, 0]
    assert np.float64(value).tobytes() == np.float64(expected).tobytes()
    assert np.isnan(decoded.blocks("primary")[0].values[0, 1])  # missing key -> NaN


@compiled
def test_labels_with_escapes_unicode_and_nulls_share_codes() -> None:
    body = (
        '{"results":[{"data":{"primary":['
        '{"channel":"caf\\u00e9","m.a":1},{"channel":"café","m.a":2},'
        '{"channel":"\\ud83d\\ude42 \\"q\\" \\\\","m.a":3},{"m.a":4},{"channel":null,"m.a":5}'
        "]}}]}"
    ).encode()
    block = decode_module._decode_compiled(body, SPEC).blocks("primary")[0]
    assert block.codes["channel"].tolist() == [0, 0, 1, 2, 2]
    assert _typed(block.uniques("channel")) == _typed(["café", '🙂 "q" \\', float("nan")])
    _same_decoded(decode_module._decode_compiled(body, SPEC), _pure(body, SPEC))
    assert block.values[:, 0].tolist() == [1, 2, 3, 4, 5]
    # the compare array is missing: an empty block flagged "missing", as the pure path says
    assert decode_module._decode_compiled(body, SPEC).blocks("compare")[0].array == "missing"


@compiled
@pytest.mark.parametrize(
    "rows",
    [
        '[{"m.a":"12.5"}]',  # a string where a number belongs: counted in not_numbers
        '[{"m.a":true}]',
        '[1,{"m.a":1}]',  # a row that is not an object
        '[{"m.a":1,"m.a":2}]',  # duplicate key: orjson keeps the last
        '[{"channel":1.5}]',  # a float label (equal to other spellings)
        '[{"channel":"\\ud800"}]',  # lone surrogate: orjson rejects the body
        '[{"m.a":1e400}]',  # infinite: orjson rejects the body
        '[{"m.a":1},]',  # trailing comma
    ],
)
def test_unsure_bodies_fall_back_to_the_pure_path(rows: str) -> None:
    body = ('{"results":[{"data":{"primary":' + rows + "}}]}").encode()
    with pytest.raises(decode_module._Fallback):
        decode_module._decode_compiled(body, SPEC)
    _same_decoded(_fast(body, SPEC), _pure(body, SPEC))


@compiled
def test_a_literal_that_looks_like_a_placeholder_is_not_taken_for_one() -> None:
    mark = decode_module._MARK
    body = orjson.dumps(
        {"results": [{"data": {"primary": [{"m.a": 1}]}}, {"data": {"primary": mark}}]}
    )
    with pytest.raises(decode_module._Fallback):
        decode_module._decode_compiled(body, SPEC)
    decoded = _fast(body, SPEC)
    assert [b.array for b in decoded.blocks("primary")] == ["list", "not a list"]


@compiled
def test_arrays_outside_results_data_fall_back() -> None:
    body = orjson.dumps({"results": [{"data": {"primary": []}, "meta": {"compare": [{"m.a": 1}]}}]})
    with pytest.raises(decode_module._Fallback):
        decode_module._decode_compiled(body, SPEC)
    _same_decoded(_fast(body, SPEC), _pure(body, SPEC))


@compiled
def test_a_large_body_is_decoded_by_the_compiled_path() -> None:
    rows = [
        {"dt": f"2026-03-{1 + i % 28:02d}T06:00:00.000Z", "channel": f"c{i % 7}",
         "m.a": i * 0.25, "m.b": None if i % 5 else -0.0, "start": "x"}
        for i in range(20_000)
    ]  # fmt: skip
    body = _body(rows, rows[:100])
    decoded = decode_module._decode_compiled(body, SPEC)
    _same_decoded(decoded, _pure(body, SPEC))
    assert decoded.blocks("primary")[0].n == 20_000


def test_the_environment_variable_selects_the_pure_path(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(decode_module.PURE_PYTHON_ENV, "1")
    assert decode_module.active_path() == (
        False,
        "UPSTACK_PANDAS_PURE_PYTHON=1"
        if decode_module._cdecode is not None
        else decode_module._CDECODE_MISSING,
    )
    calls: list[int] = []
    monkeypatch.setattr(decode_module, "_decode_compiled", lambda *a: calls.append(1))
    decoded = decode_module.decode(_body([{"m.a": 1}]), SPEC)
    assert calls == []
    assert decoded.blocks("primary")[0].values[0, 0] == 1.0
    monkeypatch.setenv(decode_module.PURE_PYTHON_ENV, "0")
    assert decode_module.active_path()[0] is (decode_module._cdecode is not None)


def test_the_c_source_spells_no_field_name() -> None:
    """Every key comes from Python (``_wire`` and the RowSpec): the C code names none."""
    source = (Path(decode_module.__file__).parent / "_speedups.c").read_text(encoding="utf-8")
    names = [
        value
        for name, value in vars(wire).items()
        if name.isupper() and isinstance(value, str) and len(value) > 1
    ] + ["dt", "primary", "compare", "results", "data"]
    strings = re.findall(r'"((?:[^"\\\n]|\\.)*)"', source)
    assert not [s for s in strings if s in names]


@compiled
def test_rows_that_change_key_layout_midway_decode_like_the_pure_path() -> None:
    """The key layout learnt from earlier rows never maps a different key to a column."""
    rows = (
        '{"dt":"2026-03-08T06:00:00Z","channel":"a","m.a":1,"m.b":2},'
        '{"dt":"2026-03-08T07:00:00Z","channel":"b","m.a":3,"m.b":4},'
        '{"m.b":5,"m.a":6,"channel":"a","dt":"2026-03-08T08:00:00Z"},'  # reordered
        '{"dtx":"x","channel":"c","m.ab":7,"m.b":8},'  # near keys where the known ones were
        '{"d\\u0074":"2026-03-08T09:00:00Z","ch\\u0061nnel":"a","m.a":9,"m.b":10},'  # escaped
        '{"dt":"2026-03-08T10:00:00Z","channel":"a","m.a":11}'  # shorter
    )
    body = ('{"results":[{"data":{"primary":[' + rows + "]}}]}").encode()
    for spec in (SPEC, decode_module.RowSpec(("m.a", "m.b"), ("channel",), ("dt",))):
        decoded = decode_module._decode_compiled(body, spec)
        _same_decoded(decoded, _pure(body, spec))
        block = decoded.blocks("primary")[0]
        np.testing.assert_array_equal(
            block.values,
            [[1, 2], [3, 4], [6, 5], [np.nan, 8], [9, 10], [11, np.nan]],
        )
        assert [block.uniques("channel")[c] for c in block.codes["channel"]] == [
            "a", "b", "a", "c", "a", "a"
        ]  # fmt: skip


@compiled
def test_a_label_next_to_the_same_or_a_near_one_gets_its_own_code() -> None:
    """A label equal to the previous plain one is matched before it is scanned: never a prefix,
    an extension, or the same text spelled with escapes taken for it wrongly."""
    sent = ['"paid"', '"paid"', '"paidx"', '"pai"', '"pa\\u0069d"', '"paid"', "null", "3",
            '"paid"', '"paid\\""', '"paid"', '"p\\u00e9"', '"pé"', '"pé"', '"paid"']  # fmt: skip
    rows = ",".join(f'{{"channel":{v},"m.a":{i}}}' for i, v in enumerate(sent))
    body = ('{"results":[{"data":{"primary":[' + rows + "]}}]}").encode()
    values = [json.loads(v) for v in sent]
    first: dict[Any, int] = {}
    for v in values:
        first.setdefault(("s", v) if isinstance(v, str) else v, len(first))
    expected = [first[("s", v) if isinstance(v, str) else v] for v in values]
    block = decode_module._decode_compiled(body, SPEC).blocks("primary")[0]
    assert block.codes["channel"].tolist() == expected
    assert [block.uniques("channel")[c] for c in block.codes["channel"]][:6] == [
        "paid", "paid", "paidx", "pai", "paid", "paid"
    ]  # fmt: skip
    _same_decoded(decode_module._decode_compiled(body, SPEC), _pure(body, SPEC))


@compiled
@pytest.mark.parametrize("kind", [bytearray, memoryview])
def test_a_body_that_is_not_bytes_is_decoded_by_the_pure_path(kind: type) -> None:
    """The C scanning relies on the NUL that ends a bytes object: other buffers are handed back."""
    body = _body([{"dt": "2026-03-08T06:00:00Z", "channel": "a", "m.a": 1.5}])
    with pytest.raises(decode_module._Fallback):
        decode_module._decode_compiled(kind(body), SPEC)
    _same_decoded(decode_module.decode(kind(body), SPEC), _pure(body, SPEC))


@compiled
@pytest.mark.parametrize(
    "text", ['"x', '"' + "a" * 40, "1.", "-", "1e", "1e+", "nul", "0.5", "-12", "[1"]
)
def test_a_body_cut_short_anywhere_is_an_error_on_both_paths(text: str) -> None:
    """A truncated body ends at its NUL: the C decoder hands it back, orjson rejects it."""
    body = ('{"results":[{"data":{"primary":[{"channel":"a","m.a":' + text).encode()
    with pytest.raises(decode_module._Fallback):
        decode_module._decode_compiled(body, SPEC)
    assert _fast(body, SPEC) is orjson.JSONDecodeError
    assert _pure(body, SPEC) is orjson.JSONDecodeError


# ----------------------------------------------------------------------------- show_versions


def test_show_versions_prints_versions_and_the_decode_path(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv(decode_module.PURE_PYTHON_ENV, raising=False)
    upstack_pandas.show_versions()
    out = capsys.readouterr().out
    for name in ("upstack-pandas", "python", "platform", "pandas", "numpy", "pyarrow",
                 "requests", "requests-cache", "orjson", "duckdb", "decode path"):  # fmt: skip
        assert re.search(rf"^{re.escape(name)}\s*: \S", out, re.M), name
    assert upstack_pandas.__version__ in out
    assert re.search(r"^pandas\s*: " + re.escape(pd.__version__) + "$", out, re.M)
    expected = "compiled" if decode_module._cdecode is not None else "pure Python (extension"
    assert re.search(r"^decode path\s*: " + re.escape(expected), out, re.M)

    monkeypatch.setenv(decode_module.PURE_PYTHON_ENV, "1")
    info = json.loads(_json(capsys))
    assert info["pandas"] == pd.__version__
    assert info["decode path"].startswith("pure Python (")


def _json(capsys: pytest.CaptureFixture[str]) -> str:
    upstack_pandas.show_versions(as_json=True)
    return capsys.readouterr().out
