"""A client stand-in that answers from fixture bodies, records what was sent, never touches HTTP.

Used by the reader, catalog and frame tests that need no emulator: the documented example
bodies, hand-made bodies, and the "no request before validation" checks.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from upstack_pandas._transport.response import ApiResponse

FIXTURES = Path(__file__).parent / "fixtures" / "analytics"
CATALOG_BODY = (FIXTURES / "catalog.json").read_bytes()


def fixture_bytes(name: str) -> bytes:
    return (FIXTURES / name).read_bytes()


def response(path: str, content: bytes, method: str = "POST") -> ApiResponse:
    return ApiResponse(
        status=200,
        method=method,
        path=path,
        content=content,
        headers={},
        from_cache=False,
        fetched_at=datetime(2026, 11, 26, 11, 0, tzinfo=UTC),
        request_id="req_test",
    )


Answer = bytes | Callable[[Mapping[str, Any]], bytes]


class FakeClient:
    """Answers ``post(path)`` with ``routes[path]`` (bytes, or a function of the body)."""

    def __init__(self, routes: Mapping[str, Answer] | None = None, catalog: bytes = CATALOG_BODY):
        self.pixel_id = "pixel_test"
        self.base_url = "http://fake.invalid"
        self.routes = dict(routes or {})
        self.catalog = catalog
        self.sent: list[tuple[str, str, Any]] = []
        # the per-client state a real Client keeps (see upstack_pandas._transport.client)
        self.progress: bool | None = None
        self._catalog: Any = None
        self._frame_memo: Any = None

    def get(self, path: str, *, params: Any = None, refresh: bool = False) -> ApiResponse:
        self.sent.append(("GET", path, params))
        if path == "/db-mgmt/api/measures":
            return response(path, self.catalog, "GET")
        return response(path, self._answer(path, {}), "GET")

    def post(self, path: str, json: Any, *, refresh: bool = False) -> ApiResponse:
        self.sent.append(("POST", path, json))
        return response(path, self._answer(path, json))

    def _answer(self, path: str, body: Mapping[str, Any]) -> bytes:
        answer = self.routes[path]
        return answer(body) if callable(answer) else answer

    @property
    def posts(self) -> list[Any]:
        return [body for method, _, body in self.sent if method == "POST"]


class RefusingClient(FakeClient):
    """Fails the test on any request at all (proves validation happens before sending)."""

    def get(self, path: str, *, params: Any = None, refresh: bool = False) -> ApiResponse:
        raise AssertionError(f"unexpected GET {path}")

    def post(self, path: str, json: Any, *, refresh: bool = False) -> ApiResponse:
        raise AssertionError(f"unexpected POST {path}")


def body_bytes(obj: Any) -> bytes:
    return json.dumps(obj).encode()


def query_responder(request: Mapping[str, Any]) -> bytes:
    """A plausible ``/query`` response for any request: daily values 1, 2, 3... per measure."""
    import pandas as pd

    tz = request.get("timezone", "UTC")
    measures = [m["measure"] for m in request["measures"]]
    dims = request.get("dimensions", [])

    def points(range_: Mapping[str, str] | None, offset: float) -> list[dict[str, Any]]:
        if not range_:
            return []
        days = pd.date_range(range_["start"], range_["end"], freq="D", tz=tz)
        out = []
        for i, day in enumerate(days):
            for j, value in enumerate(["a", "b"] if dims else [None]):
                row: dict[str, Any] = {
                    "dt": day.isoformat(),
                    "start": day.isoformat(),
                    "end": (day + pd.Timedelta(days=1)).isoformat(),
                }
                for d in dims:
                    row[d] = value
                for k, m in enumerate(measures):
                    row[m] = offset + i + j + k
                out.append(row)
        return out

    primary = points(request["dateRange"], 1.0)
    compare = points(request.get("compareDateRange"), 0.5)
    details = []
    for m in measures:
        p_sum = sum(r[m] for r in primary)
        c_sum = sum(r[m] for r in compare) if compare else None
        details.append(
            {
                "measure": m,
                "isAverage": m == "orders.aov",
                "isPercentage": False,
                "success": True,
                "calculatedAverage": False,
                "primarySum": p_sum,
                "compareSum": c_sum,
                "primaryAvg": p_sum / max(len(primary), 1),
                "compareAvg": c_sum / len(compare) if compare else None,
                "percentDiff": (p_sum - c_sum) / abs(c_sum) * 100 if c_sum else None,
                "hasPacing": False,
                "preferredTrendDirection": "up",
            }
        )
    result = {
        "granularity": request["granularity"],
        "dimensions": dims,
        "timezone": tz,
        "dateRange": request["dateRange"],
        "compareDateRange": request.get("compareDateRange"),
        "measureDetails": details,
        "data": {"primary": primary, "compare": compare},
    }
    return json.dumps({"results": [result]}).encode()


def fake_query_client() -> FakeClient:
    return FakeClient({"/db-mgmt/api/query": query_responder})
