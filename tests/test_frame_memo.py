"""Frames decoded from responses are memoised in-process, so a cache hit skips decoding too."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd
import pytest

import upstack_pandas as up
from upstack_pandas._frames import memo as _frame_memo
from upstack_pandas._frames.memo import FrameMemo

MEASURES = ["orders.total_revenue", "core.new_customer_roas"]


def _frames(n: int) -> tuple[pd.DataFrame, pd.DataFrame, Any]:
    frame = pd.DataFrame({"x": range(n)}, dtype="float64")
    return frame, frame.iloc[:0], [{"measure": "x"}]


def test_memo_returns_independent_copies() -> None:
    memo = FrameMemo()
    memo.put("k", _frames(3))
    first = memo.get("k")
    assert first is not None
    first[0].iloc[0, 0] = 99.0
    first[2][0]["measure"] = "changed"
    second = memo.get("k")
    assert second is not None
    assert second[0]["x"].tolist() == [0.0, 1.0, 2.0]
    assert second[2] == [{"measure": "x"}]


def test_memo_is_bounded_by_entries_and_bytes() -> None:
    memo = FrameMemo(max_entries=2, max_bytes=10_000)
    for key in "abc":
        memo.put(key, _frames(10))
    assert len(memo) == 2
    assert memo.get("a") is None and memo.get("c") is not None
    memo.put("big", _frames(5_000))  # 40 kB of floats: larger than the whole memo
    assert memo.get("big") is None


def test_cache_hit_reuses_the_decoded_frame(
    emulator: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    client = emulator.client(cache=str(tmp_path / "cache.sqlite"))
    decodes: list[int] = []
    from upstack_pandas._readers import query as analytics

    real_decode = analytics.decode_response

    def counting_decode(*args: Any, **kwargs: Any) -> Any:
        decodes.append(1)
        return real_decode(*args, **kwargs)

    monkeypatch.setattr("upstack_pandas._readers.query.decode_response", counting_decode)
    assert _frame_memo.memo_of(client) is _frame_memo.memo_of(client)  # one memo per client
    assert len(_frame_memo.memo_of(client)) == 0
    kwargs: dict[str, Any] = {"client": client, "dimensions": "channel"}
    cold = up.read_upstack(MEASURES, "2025-01-01", "2025-03-31", **kwargs)
    cold.iloc[0, 0] = -1.0  # the caller's frame is theirs to change
    hit = up.read_upstack(MEASURES, "2025-01-01", "2025-03-31", **kwargs)
    assert len(decodes) == 1
    assert hit.attrs["upstack"]["fromCache"] is True
    assert cold.attrs["upstack"]["fromCache"] is False
    fresh = up.read_upstack(MEASURES, "2025-01-01", "2025-03-31", refresh=True, **kwargs)
    assert len(decodes) == 1  # a refetched body with the same bytes: the same frames (by content)
    pd.testing.assert_frame_equal(hit, fresh, check_like=False, check_flags=False)
    assert hit.iloc[0, 0] != -1.0


def test_the_memo_is_keyed_on_the_body_never_on_headers() -> None:
    """Two bodies under one request id and date (a proxy repeating headers) are two entries."""
    from datetime import UTC, datetime

    from upstack_pandas._transport.response import ApiResponse

    def response(content: bytes) -> ApiResponse:
        when = datetime(2026, 4, 1, tzinfo=UTC)
        return ApiResponse(200, "POST", "/db-mgmt/api/query", content, {}, False, when, "req_1")

    first = response(b'{"results": [{"a": 1}]}' + b" " * 600 + b'{"x": 1}')
    second = response(b'{"results": [{"a": 2}]}' + b" " * 600 + b'{"x": 1}')
    same_edges = response(b'{"results": [' + b"1" * 300 + b"]}")
    changed_middle = response(b'{"results": [' + b"1" * 150 + b"2" + b"1" * 149 + b"]}")
    assert _frame_memo.response_identity(first) != _frame_memo.response_identity(second)
    assert _frame_memo.response_identity(same_edges) != _frame_memo.response_identity(
        changed_middle
    )
    assert _frame_memo.response_identity(first) == _frame_memo.response_identity(
        response(first.content)
    )


def test_each_client_has_its_own_memo_and_cache_clear_empties_it(
    emulator: Any, tmp_path: Path
) -> None:
    client = emulator.client(cache=str(tmp_path / "cache.sqlite"))
    other = emulator.client(cache=False)
    up.read_upstack(MEASURES, "2025-01-01", "2025-01-31", client=client)
    assert len(_frame_memo.memo_of(client)) == 1
    assert len(_frame_memo.memo_of(other)) == 0  # no process-wide memo
    up.cache.clear(client=client)
    assert len(_frame_memo.memo_of(client)) == 0
