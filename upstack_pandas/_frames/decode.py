"""Response bytes → columns, without holding every data point as a Python dict at once.

Analytics responses are an envelope (results, per-measure totals, paging...) around arrays of
flat data points (one per kind of :data:`~upstack_pandas._wire.DATA_KINDS`); the field names
come from :mod:`upstack_pandas._wire`, the one module that spells them. Decoding a large body to Python
dicts in one go costs about five times the body size in memory, so large bodies are decoded in
slices instead:

1. Each data-point array (:data:`~upstack_pandas._wire.DATA_ARRAY`) is located in the bytes and replaced by
   an integer placeholder; the small remaining envelope is decoded with orjson.
2. Each array is cut between two data points (``},{`` outside a string) into slices of about
   ``_CHUNK_BYTES``; each slice is decoded with orjson and reduced at once to columns: one
   ``float64`` matrix for the measure values, integer codes for repeated labels (dimension
   values, bucket timestamps), parsed timestamps for the rest.

In a body without backslashes every ``"`` opens or closes a string, so a cut made inside a
string leaves a slice with an odd number of quotes, which no JSON parser accepts. Any doubt
(escapes, whitespace between data points, a slice orjson rejects, a placeholder in an
unexpected place) falls back to decoding the whole body at once, which gives the same columns.
Small bodies take that path directly.

When the optional compiled decoder (``_cdecode``, built from ``_speedups.c`` when a compiler is
present) is importable, it takes every body first: it parses each data-point array once, straight
to the same columns, and the envelope is decoded by orjson as above. It answers ``None`` whenever
it is unsure (strings where numbers belong, rows that are not objects, duplicate keys, invalid
JSON...), and the pure path above then decodes the body, so both give the same :class:`Decoded`.
``UPSTACK_PANDAS_PURE_PYTHON=1`` in the environment turns the compiled decoder off;
:func:`active_path` says which one decodes.
"""

from __future__ import annotations

import operator
import os
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import orjson
import pandas as pd

from upstack_pandas import _wire as wire
from upstack_pandas._frames.timestamps import parse_timestamps

__all__ = ["PURE_PYTHON_ENV", "Block", "Decoded", "RowSpec", "active_path", "decode"]

try:
    from upstack_pandas._frames import _cdecode
except ImportError as _error:  # not built (no compiler when installed): the pure path decodes
    _cdecode = None  # type: ignore[assignment]
    _CDECODE_MISSING = f"extension not built: {_error}"
else:
    _CDECODE_MISSING = ""

#: Environment variable that turns the compiled decoder off (any value but "", "0").
PURE_PYTHON_ENV = "UPSTACK_PANDAS_PURE_PYTHON"

# about 512 KiB of data points per orjson call: a slice's rows (about 1.6 MB of dicts) are
# reduced to columns and freed while still in the CPU caches (2 MiB slices: 12-18 % slower)
_CHUNK_BYTES = 1 << 19
_STREAM_MIN_BYTES = 1 << 22  # bodies from 4 MiB are decoded in slices
_KINDS = wire.DATA_KINDS

_ARRAY = wire.DATA_ARRAY
_WHITESPACE = frozenset(b" \t\r\n")
_CLOSE_BRACE = ord("}")


class _Fallback(Exception):
    """The sliced path cannot be sure of the structure: decode the whole body instead."""


@dataclass(frozen=True)
class RowSpec:
    """Which keys of a data point become which kind of column.

    Parameters
    ----------
    floats
        Keys decoded into the ``float64`` value matrix, in this order (measure ids...).
    labels
        Keys whose values repeat (dimension values...): decoded into integer codes.
    times
        ISO 8601 timestamp keys (``dt``): decoded to ``datetime64[us]`` UTC.
    code_times
        Code the timestamps like labels before parsing (worth it when rows repeat each bucket,
        that is when there are dimensions).
    """

    floats: tuple[str, ...] = ()
    labels: tuple[str, ...] = ()
    times: tuple[str, ...] = ("dt",)
    code_times: bool = False

    @property
    def coded(self) -> tuple[str, ...]:
        return self.labels + (self.times if self.code_times else ())

    @property
    def parsed(self) -> tuple[str, ...]:
        return () if self.code_times else self.times


class Coder:
    """Dense integer codes for repeated values, shared by every block of one kind."""

    __slots__ = ("index",)

    def __init__(self) -> None:
        self.index: dict[Any, int] = {}

    def encode(self, values: list[Any], *, fresh: bool = False) -> np.ndarray:
        """Codes of ``values``; ``fresh`` says most values are new (skip the lookup pass)."""
        index = self.index
        if not fresh:
            try:
                return np.fromiter(map(index.__getitem__, values), np.intp, count=len(values))
            except KeyError:
                pass
            except TypeError:  # unhashable values (nested JSON): code their JSON text
                values = [
                    orjson.dumps(v).decode() if isinstance(v, list | dict) else v for v in values
                ]
                return self.encode(values)
        try:
            local, uniques = pd.factorize(np.array(values, dtype=object), use_na_sentinel=False)
        except TypeError:
            values = [orjson.dumps(v).decode() if isinstance(v, list | dict) else v for v in values]
            local, uniques = pd.factorize(np.array(values, dtype=object), use_na_sentinel=False)
        mapping = np.fromiter(
            (index.setdefault(u, len(index)) for u in uniques), np.intp, count=len(uniques)
        )
        return mapping.take(local)

    @property
    def uniques(self) -> list[Any]:
        return list(self.index)


@dataclass
class Block:
    """The columns of one data-point array (one kind of one result)."""

    n: int
    values: np.ndarray  # (n, len(spec.floats)) float64
    codes: dict[str, np.ndarray]  # coded key -> codes into coders[key].uniques
    times: dict[str, np.ndarray]  # parsed key -> datetime64[us] (UTC, NaT when unparseable)
    coders: dict[str, Coder]
    #: what the shape checks (``_wire.data_problem``) need: how the array was sent ("list",
    #: "missing", "not a list"), rows that were not objects, values neither numbers nor null
    array: str = "list"
    not_objects: int = 0
    not_numbers: int = 0

    def uniques(self, key: str) -> list[Any]:
        return self.coders[key].uniques


@dataclass
class Decoded:
    """A decoded body: the envelope, with every data-point array replaced by a Block."""

    body: Any
    spec: RowSpec
    coders: dict[str, dict[str, Coder]] = field(default_factory=dict)

    @property
    def results(self) -> list[dict[str, Any]]:
        found = self.body.get(wire.RESULTS) if isinstance(self.body, dict) else None
        return [r for r in found if isinstance(r, dict)] if isinstance(found, list) else []

    def blocks(self, kind: str) -> list[Block]:
        """Every block of ``kind`` (one of ``wire.DATA_KINDS``), in results order."""
        return [r[wire.DATA][kind] for r in self.results]


class _Builder:
    """Accumulates the columns of one array, slice by slice."""

    def __init__(self, spec: RowSpec, coders: dict[str, Coder]) -> None:
        self.spec = spec
        self.coders = coders
        self.values: list[np.ndarray] = []
        self.codes: dict[str, list[np.ndarray]] = {k: [] for k in spec.coded}
        self.times: dict[str, list[np.ndarray]] = {k: [] for k in spec.parsed}
        self.n = 0
        self.not_numbers = 0
        floats = spec.floats
        self._getter: Callable[[Any], Any] | None = operator.itemgetter(*floats) if floats else None
        # each row's measure values as one record of float64 fields, which numpy fills straight
        # from the getter's tuple (an (n, width) float64 matrix once viewed); one value: a scalar
        self._record = (
            np.dtype([(f"f{i}", np.float64) for i in range(len(floats))])
            if len(floats) > 1
            else np.dtype(np.float64)
        )
        self._label_getters = {key: operator.itemgetter(key) for key in spec.labels}

    def add(self, rows: list[Any]) -> None:
        if not rows:
            return
        spec = self.spec
        self.values.append(self._floats(rows))
        for key in spec.labels:
            self.codes[key].append(self._label_codes(rows, key))
        if spec.code_times:
            for key in spec.times:
                self.codes[key].append(self.coders[key].encode(_column(rows, key), fresh=True))
        for key in spec.parsed:
            self.times[key].append(parse_timestamps(_column(rows, key)))
        self.n += len(rows)

    def _label_codes(self, rows: list[Any], key: str) -> np.ndarray:
        """Codes of one label key: every value already coded is looked up without a list."""
        coder = self.coders[key]
        try:
            return np.fromiter(
                map(coder.index.__getitem__, map(self._label_getters[key], rows)),
                np.intp,
                count=len(rows),
            )
        except (KeyError, TypeError):  # a new value, a missing key, unhashable values...
            return coder.encode(_column(rows, key))  # ... as the general path codes them

    def _floats(self, rows: list[Any]) -> np.ndarray:
        width, getter = len(self.spec.floats), self._getter
        if getter is None:
            return np.empty((len(rows), 0), dtype=np.float64)
        try:  # the common case: every row has every measure, each a number or null
            records = np.fromiter(map(getter, rows), self._record, count=len(rows))
            return records.view(np.float64).reshape(len(rows), width)
        except (KeyError, TypeError, ValueError):
            pass  # a missing measure, a row that is no object, a value that is not a number
        return self._floats_general(rows, getter)

    def _floats_general(self, rows: list[Any], getter: Callable[[Any], Any]) -> np.ndarray:
        width = len(self.spec.floats)
        try:
            cells: list[Any] = list(map(getter, rows))
        except (KeyError, TypeError):
            if not all(isinstance(r, dict) for r in rows):
                raise _Fallback from None
            cells = [tuple(r.get(k) for k in self.spec.floats) for r in rows]
            if width == 1:
                cells = [c[0] for c in cells]
        try:
            array = np.array(cells, dtype=np.float64)
        except (TypeError, ValueError):  # strings or other non-numbers: coerce cell by cell
            rows_of = cells if width > 1 else [(c,) for c in cells]
            array = np.array([[_number(v) for v in row] for row in rows_of], dtype=np.float64)
            self.not_numbers += sum(
                1 for row in rows_of for v in row if v is not None and not _is_number(v)
            )
        return array.reshape(len(rows), width)

    def finish(self) -> Block:
        spec = self.spec
        if self.values:
            values = self.values[0] if len(self.values) == 1 else np.concatenate(self.values)
        else:
            values = np.empty((0, len(spec.floats)), dtype=np.float64)
        return Block(
            n=self.n,
            values=values,
            codes={k: _concat(v, np.intp) for k, v in self.codes.items()},
            times={k: _concat(v, "M8[us]") for k, v in self.times.items()},
            coders=self.coders,
            not_numbers=self.not_numbers,
        )


def _concat(parts: list[np.ndarray], dtype: Any) -> np.ndarray:
    if not parts:
        return np.empty(0, dtype=dtype)
    return parts[0] if len(parts) == 1 else np.concatenate(parts)


def _column(rows: list[Any], key: str) -> list[Any]:
    try:
        return list(map(operator.itemgetter(key), rows))
    except KeyError:
        return [r.get(key) for r in rows]
    except TypeError:
        raise _Fallback from None


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _number(value: Any) -> float:
    try:
        return float(value)
    except (TypeError, ValueError):
        return float("nan")


def decode(content: bytes, spec: RowSpec) -> Decoded:
    """Decode a response body into its envelope and columnar data blocks.

    Parameters
    ----------
    content
        The raw response body.
    spec
        Which data-point keys become which columns.

    Returns
    -------
    Decoded
        Each result's data arrays (``wire.DATA_KINDS``) are :class:`Block` objects (empty when
        the body has none); everything else is the decoded JSON as is.
    """
    if _compiled_enabled():
        try:
            return _decode_compiled(content, spec)
        except (_Fallback, orjson.JSONDecodeError):
            pass
    if len(content) >= _STREAM_MIN_BYTES and b"\\" not in content:
        try:
            return _decode_sliced(content, spec)
        except (_Fallback, orjson.JSONDecodeError):
            pass
    decoded = Decoded(orjson.loads(content), spec, _new_coders(spec))
    _attach_blocks(decoded, lambda value, kind: _block_from_rows(value, decoded, kind))
    return decoded


def _new_coders(spec: RowSpec) -> dict[str, dict[str, Coder]]:
    return {kind: {key: Coder() for key in spec.coded} for kind in _KINDS}


def _block_from_rows(value: Any, decoded: Decoded, kind: str) -> Block:
    builder = _Builder(decoded.spec, decoded.coders[kind])
    if isinstance(value, list):
        builder.add([row for row in value if isinstance(row, dict)])
    block = builder.finish()
    if not isinstance(value, list):
        block.array = "missing" if value is None else "not a list"
    else:
        block.not_objects = sum(1 for row in value if not isinstance(row, dict))
    return block


def _attach_blocks(decoded: Decoded, make: Callable[[Any, str], Block]) -> None:
    for result in decoded.results:
        data = wire.result_data(result)
        for kind in _KINDS:
            data[kind] = make(data.get(kind), kind)


def _decode_sliced(content: bytes, spec: RowSpec) -> Decoded:
    view = memoryview(content)
    coders = _new_coders(spec)
    envelope: list[bytes | memoryview] = []
    blocks: list[Block] = []
    pos = 0
    while (match := _ARRAY.search(content, pos)) is not None:
        kind = match.group(1).decode()
        start = match.end()
        builder = _Builder(spec, coders[kind])
        if content[start : start + 1] == b"]":
            end = start + 1
        elif content[start : start + 1] == b"{":
            rows_end, end = _array_end(content, start)
            for lo, hi in _slices(content, start, rows_end):
                builder.add(orjson.loads(b"".join((b"[", view[lo:hi], b"]"))))
        else:
            raise _Fallback
        envelope += [view[pos : match.start()], wire.array_placeholder(kind, len(blocks))]
        blocks.append(builder.finish())
        pos = end
    envelope.append(view[pos:])
    decoded = Decoded(orjson.loads(b"".join(envelope)), spec, coders)
    used: set[int] = set()

    def take(value: Any, kind: str) -> Block:
        if isinstance(value, int) and not isinstance(value, bool) and 0 <= value < len(blocks):
            used.add(value)
            return blocks[value]
        if value is None:
            return _missing_block(spec, coders[kind])
        raise _Fallback

    _attach_blocks(decoded, take)
    if len(used) != len(blocks):
        raise _Fallback
    return decoded


def _missing_block(spec: RowSpec, coders: dict[str, Coder]) -> Block:
    """The empty block of a result that sent no data-point array of a kind."""
    block = _Builder(spec, coders).finish()
    block.array = "missing"
    return block


def _array_end(content: bytes, start: int) -> tuple[int, int]:
    """(end of the last data point, end of the array) for the array whose rows start at start.

    The first ``]`` after the rows (a rare byte in flat data points, so found at memchr speed):
    if it sits inside a string or a nested value, the rows text is not valid JSON on its own and
    orjson says so (the caller then decodes the whole body).
    """
    end = content.find(b"]", start)
    last = end
    while last > start and content[last - 1] in _WHITESPACE:
        last -= 1
    if end < 0 or content[last - 1] != _CLOSE_BRACE:
        raise _Fallback
    return last, end + 1


def _slices(content: bytes, start: int, end: int) -> Iterable[tuple[int, int]]:
    """Cut the rows text [start, end) into runs of whole data points of about _CHUNK_BYTES.

    Cuts are made at ``},{``; one inside a string leaves an odd number of quotes in the slice,
    which orjson rejects, so a wrong cut can never decode silently.
    """
    cur = start
    while end - cur > _CHUNK_BYTES:
        cut = content.find(b"},{", cur + _CHUNK_BYTES, end)
        if cut < 0:
            break
        yield cur, cut + 1
        cur = cut + 2
    yield cur, end


# ------------------------------------------------------------------------- compiled decoding

#: Placeholder values for the compiled path's arrays in the envelope: far above any index, and an
#: envelope whose own text holds the digits is decoded by the pure path (no literal can pass for
#: one; the arrays are parsed in C, so only the envelope's text needs the check).
_MARK = 7_340_032_019_000_000_000
_MARK_DIGITS = str(_MARK)[:12].encode()


def _compiled_enabled() -> bool:
    return _cdecode is not None and os.environ.get(PURE_PYTHON_ENV, "") in ("", "0")


def active_path() -> tuple[bool, str]:
    """Which decoder decodes response bodies: ``(True, "compiled")`` or ``(False, reason)``."""
    if _cdecode is None:
        return False, _CDECODE_MISSING
    if not _compiled_enabled():
        return False, f"{PURE_PYTHON_ENV}={os.environ.get(PURE_PYTHON_ENV)}"
    return True, "compiled"


def _decode_compiled(content: bytes, spec: RowSpec) -> Decoded:
    assert _cdecode is not None
    if not isinstance(content, bytes):  # the C scanning relies on the NUL ending a bytes object
        raise _Fallback
    coded_keys = spec.coded  # labels (and timestamps when coded): codes + uniques
    floats, coded, parsed = (
        tuple(k.encode() for k in keys) for keys in (spec.floats, coded_keys, spec.parsed)
    )
    keys = floats + coded + parsed
    if len(set(keys)) != len(keys):
        raise _Fallback
    coders = _new_coders(spec)
    envelope: list[bytes | memoryview] = []
    blocks: list[tuple[str, Block]] = []
    view = memoryview(content)
    pos = 0
    while (match := _ARRAY.search(content, pos)) is not None:
        start = match.start()
        # an escaped quote (inside a string), or whitespace JSON does not allow: pure path
        if (start and content[start - 1] == 0x5C) or any(b in b"\x0b\x0c" for b in match.group(0)):
            raise _Fallback
        kind = match.group(1).decode()
        bracket = content.rindex(b"[", start, match.end())
        out = _cdecode.decode_array(content, bracket, floats, coded, parsed)
        if out is None:
            raise _Fallback
        end, n, values, codes, uniques, stamps = out
        block = Block(
            n=n,
            values=np.frombuffer(values, dtype=np.float64).reshape(n, len(floats)),
            codes={},
            times={
                key: np.frombuffer(raw, dtype=np.int64).view("M8[us]")
                for key, raw in zip(spec.parsed, stamps, strict=True)
            },
            coders=coders[kind],
        )
        for key, local, found in zip(coded_keys, codes, uniques, strict=True):
            block.codes[key] = _shared_codes(coders[kind][key].index, local, found)
        envelope += [view[pos:start], wire.array_placeholder(kind, _MARK + len(blocks))]
        blocks.append((kind, block))
        pos = end
    envelope.append(view[pos:])
    text = b"".join(envelope)
    if text.count(_MARK_DIGITS) != len(blocks):  # a literal that could pass for a placeholder
        raise _Fallback
    decoded = Decoded(orjson.loads(text), spec, coders)
    used: set[int] = set()

    def take(value: Any, kind: str) -> Block:
        if isinstance(value, int) and not isinstance(value, bool):
            index = value - _MARK
            if 0 <= index < len(blocks) and index not in used and blocks[index][0] == kind:
                used.add(index)
                return blocks[index][1]
            raise _Fallback
        if value is None:
            return _missing_block(spec, coders[kind])
        raise _Fallback

    _attach_blocks(decoded, take)
    if len(used) != len(blocks):
        raise _Fallback
    return decoded


def _shared_codes(index: dict[Any, int], local: bytearray, found: list[Any]) -> np.ndarray:
    """Codes into the kind's shared uniques of one block's codes into its own ``found``.

    The C uniques are distinct values in first-appearance order, so into an empty index (the
    first block of a kind, the usual case) they enter with their own codes and the block's codes
    stay as they are; later blocks' codes are mapped.
    """
    codes = np.frombuffer(local, dtype=np.intp)
    # the pure path's pd.factorize turns None into a new float NaN per block
    found = [float("nan") if u is None else u for u in found]
    if not index:
        index.update(zip(found, range(len(found)), strict=True))
        if len(index) == len(found):
            return codes
        index.clear()  # pragma: no cover - equal uniques: cannot come from the C coders
    mapping = np.fromiter(
        (index.setdefault(u, len(index)) for u in found), np.intp, count=len(found)
    )
    return mapping.take(codes)
