"""What a memoised cache hit reuses (scope, the stored body digest) and that it still equals the
cold read exactly (issue 13, item 3)."""

from __future__ import annotations

import hashlib
import sqlite3
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from requests.structures import CaseInsensitiveDict
from urllib3 import HTTPResponse

import upstack_pandas as up
from upstack_pandas import metadata
from upstack_pandas._frames import memo as _frame_memo
from upstack_pandas._transport.cache_policy import BODY_DIGEST_HEADER
from upstack_pandas._transport.response import ApiResponse

MEASURES = ["orders.total_revenue", "orders.orders"]
RANGE = ("2025-01-01", "2025-03-31")


def _without_cache_flag(frame: pd.DataFrame) -> dict[str, Any]:
    meta = dict(frame.attrs["upstack"])
    meta.pop("fromCache")
    return meta


@pytest.mark.parametrize(
    "kwargs",
    [{}, {"dimensions": "channel"}, {"dimensions": "channel", "compare": "previous_period"}],
    ids=["plain", "by-channel", "by-channel-compare"],
)
def test_a_hit_equals_the_cold_read_values_dtypes_and_attrs(
    emulator: Any, tmp_path: Path, kwargs: dict[str, Any]
) -> None:
    client = emulator.client(cache=str(tmp_path / "cache.sqlite"))
    cold = up.read_upstack(MEASURES, *RANGE, client=client, progress=False, **kwargs)
    hit = up.read_upstack(MEASURES, *RANGE, client=client, progress=False, **kwargs)
    assert cold.attrs["upstack"]["fromCache"] is False
    assert hit.attrs["upstack"]["fromCache"] is True
    pd.testing.assert_frame_equal(hit, cold)
    assert _without_cache_flag(hit) == _without_cache_flag(cold)
    # the memoised scope is what the hit's own rows give
    assert hit.attrs["upstack"]["scope"] == metadata.scope_of(hit, hit.attrs["upstack"])
    assert metadata.scope_mismatch(hit) == []


def test_a_hit_with_dtypes_or_a_backend_computes_its_own_scope(
    emulator: Any, tmp_path: Path
) -> None:
    client = emulator.client(cache=str(tmp_path / "cache.sqlite"))
    plain = up.read_upstack(MEASURES, *RANGE, client=client, progress=False)
    typed = up.read_upstack(
        MEASURES, *RANGE, client=client, progress=False, dtypes={"orders.orders": "float32"}
    )
    assert typed.attrs["upstack"]["fromCache"] is True
    assert typed["orders.orders"].dtype == "float32"
    assert typed.attrs["upstack"]["scope"] == metadata.scope_of(typed, typed.attrs["upstack"])
    again = up.read_upstack(MEASURES, *RANGE, client=client, progress=False)
    pd.testing.assert_frame_equal(again, plain)  # the typed read changed nothing memoised
    assert _without_cache_flag(again) == _without_cache_flag(plain)


def test_a_narrower_range_with_the_same_body_does_not_reuse_the_wider_scope(
    emulator: Any, tmp_path: Path
) -> None:
    """The memo key has the range asked for: the scope clips the rows' days to it."""
    client = emulator.client(cache=str(tmp_path / "cache.sqlite"))
    wide = up.read_upstack(MEASURES, *RANGE, client=client, progress=False, granularity="month")
    memo = _frame_memo.memo_of(client)
    before = len(memo)
    narrow = up.read_upstack(
        MEASURES, "2025-01-05", "2025-03-31", client=client, progress=False, granularity="month"
    )
    assert len(memo) == before + 1
    assert narrow.attrs["upstack"]["scope"]["dateRange"]["start"] == "2025-01-05"
    assert wide.attrs["upstack"]["scope"]["dateRange"]["start"] == "2025-01-01"


def test_changing_a_hit_in_place_leaves_the_next_hit_as_it_was(
    emulator: Any, tmp_path: Path
) -> None:
    client = emulator.client(cache=str(tmp_path / "cache.sqlite"))
    cold = up.read_upstack(MEASURES, *RANGE, client=client, dimensions="channel", progress=False)
    expected = cold.copy(deep=True)
    hit = up.read_upstack(MEASURES, *RANGE, client=client, dimensions="channel", progress=False)
    hit.iloc[0, 0] = -1.0
    hit["orders.orders"] *= 2
    hit.attrs["upstack"]["scope"]["rows"] = 0
    hit.attrs["upstack"]["measures"].clear()
    again = up.read_upstack(MEASURES, *RANGE, client=client, dimensions="channel", progress=False)
    pd.testing.assert_frame_equal(again, expected)
    assert again.attrs["upstack"]["scope"] == cold.attrs["upstack"]["scope"]
    assert again.attrs["upstack"]["measures"] == cold.attrs["upstack"]["measures"]


def test_the_cache_stores_each_body_with_its_digest(emulator: Any, tmp_path: Path) -> None:
    client = emulator.client(cache=str(tmp_path / "cache.sqlite"))
    body = {
        "granularity": "day",
        "measures": [{"measure": m} for m in MEASURES],
        "dateRange": {"start": RANGE[0], "end": RANGE[1]},
    }
    cold = client.post("/db-mgmt/api/query", body)
    hit = client.post("/db-mgmt/api/query", body)
    assert hit.from_cache and not cold.from_cache
    digest = hashlib.blake2b(hit.content, digest_size=20).hexdigest()
    assert hit.headers[BODY_DIGEST_HEADER] == digest
    assert _frame_memo.response_identity(hit) == _frame_memo.response_identity(cold)
    with sqlite3.connect(tmp_path / "cache.sqlite") as db:  # the stored entry has it too
        blobs = [bytes(row[0]) for row in db.execute("SELECT value FROM responses")]
    assert any(digest.encode() in blob for blob in blobs)


def _response(content: bytes, headers: dict[str, str], from_cache: bool) -> ApiResponse:
    when = datetime(2026, 4, 1, tzinfo=UTC)
    return ApiResponse(
        200, "POST", "/db-mgmt/api/query", content, CaseInsensitiveDict(headers), from_cache,
        when, "req_1",
    )  # fmt: skip


def test_a_digest_header_counts_only_on_a_response_from_the_cache() -> None:
    """The server cannot name another body's frames: its responses are always hashed; the
    cache sets the header itself, over any value the server sent (checked above)."""
    content = b'{"results": []}'
    real = hashlib.blake2b(content, digest_size=20).hexdigest()
    forged = {BODY_DIGEST_HEADER.lower(): "0" * 40}
    assert _frame_memo.response_identity(_response(content, forged, False))[2] == real
    assert _frame_memo.response_identity(_response(content, {}, True))[2] == real
    stored = {BODY_DIGEST_HEADER: real}
    assert _frame_memo.response_identity(_response(content, stored, True))[2] == real


def test_a_server_sent_digest_header_is_replaced_when_stored(tmp_path: Path) -> None:
    import requests

    from upstack_pandas._transport.cache_policy import CachePolicy
    from upstack_pandas._transport.cache_store import UpstackSQLiteCache

    cache = UpstackSQLiteCache(str(tmp_path / "c.sqlite"), CachePolicy())
    response = requests.Response()
    response.status_code = 200
    response._content = b'{"results": []}'
    response.headers = CaseInsensitiveDict(
        {"Content-Type": "application/json", "x-upstack-body-digest": "0" * 40}
    )
    response.url = "http://127.0.0.1/db-mgmt/api/catalog"
    response.request = requests.Request("GET", response.url).prepare()
    response.reason = "OK"
    response.encoding = "utf-8"
    response.elapsed = timedelta(0)
    response.raw = HTTPResponse(
        body=b"", headers=dict(response.headers), status=200, request_url=response.url
    )
    cache.save_response(response, cache_key="k")
    stored = cache.get_response("k")
    cache.close()
    assert stored is not None
    real = hashlib.blake2b(response.content, digest_size=20).hexdigest()
    assert stored.headers[BODY_DIGEST_HEADER] == real


def test_disk_entries_keep_their_size_and_old_formats_are_ignored(tmp_path: Path) -> None:
    frame = pd.DataFrame({"x": [1.0, 2.0, 3.0]})
    memo = _frame_memo.FrameMemo(directory=tmp_path / "frames")
    memo.put("k", (frame, None, {}))
    fresh = _frame_memo.FrameMemo(directory=tmp_path / "frames")
    found = fresh.get("k")
    assert found is not None
    pd.testing.assert_frame_equal(found[0], frame)
    assert fresh._bytes == _frame_memo.nbytes((frame, None, {}))
    path = fresh._path("k")
    assert path is not None and path.name.endswith(".pickle")


def _rewrite_stored_first_value(client: Any, value: float) -> None:
    """Rewrite the stored /query response with its first primary value changed, as another
    process or library would (a plain requests-cache write: no stamp)."""
    import orjson

    from upstack_pandas._transport.cache_policy import body_digest

    backend = client.session.cache
    for key in list(backend.responses):
        stored = backend.responses[key]
        if stored.request.method != "POST":
            continue
        body = orjson.loads(stored.content)
        body["results"][0]["data"]["primary"][0]["orders.orders"] = value
        stored._content = orjson.dumps(body)
        stored.headers[BODY_DIGEST_HEADER] = body_digest(stored._content)
        backend.responses[key] = stored


def test_a_rewritten_or_deleted_entry_is_never_answered_from_the_memo(
    emulator: Any, tmp_path: Path
) -> None:
    cache = tmp_path / "cache.sqlite"
    client = emulator.client(cache=str(cache))
    read = lambda: up.read_upstack("orders.orders", *RANGE, client=client, progress=False)  # noqa: E731
    cold = read()
    assert read().attrs["upstack"]["fromCache"] is True
    _rewrite_stored_first_value(client, 123456.0)
    rewritten = read()
    assert rewritten.attrs["upstack"]["fromCache"] is True
    assert rewritten["orders.orders"].iloc[0] == 123456.0  # the stored body's, not the memo's
    pd.testing.assert_series_equal(
        rewritten["orders.orders"].iloc[1:], cold["orders.orders"].iloc[1:]
    )
    with sqlite3.connect(cache) as db:
        db.execute("DELETE FROM responses")
    fresh = read()
    assert fresh.attrs["upstack"]["fromCache"] is False
    pd.testing.assert_frame_equal(fresh, cold)
