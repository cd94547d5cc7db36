"""The API routes over HTTP: every endpoint's success path, the error statuses, concurrency.

Responses are checked against the response schemas of ``spec/openapi.yaml``.
"""

from __future__ import annotations

from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
import requests

from upstack_pandas.emulator.http.server import Emulator
from upstack_pandas.emulator.http.spec import operations
from upstack_pandas.emulator.http.validation import RequestValidator, schema_ref

API = "/db-mgmt/api"
RANGE = {"start": "2026-11-02", "end": "2026-11-08"}


@pytest.fixture(scope="module")
def conforms() -> Any:
    validator = RequestValidator()

    def check(schema: str, payload: Any) -> None:
        assert validator.errors(schema_ref(schema), payload) == []

    return check


@pytest.fixture(scope="module")
def session(emulator: Emulator) -> Iterator[requests.Session]:
    with requests.Session() as session:
        session.headers.update(emulator.headers())
        yield session


def _post(emulator: Emulator, session: requests.Session, path: str, body: Any) -> Any:
    return session.post(f"{emulator.url}{API}/{path}", json=body, timeout=60)


# --- routing and framing ------------------------------------------------------------------------


def test_every_documented_operation_has_a_route(emulator: Emulator) -> None:
    for op in operations():
        path = op.path.replace("{dashboardViewId}", "no-such-view")
        response = requests.request(op.method, emulator.url + path, timeout=30)
        assert response.status_code == 401, (op.operation_id, response.text)  # routed, then auth


def test_unknown_path_and_method(emulator: Emulator, session: requests.Session) -> None:
    missing = session.get(emulator.url + "/db-mgmt/api/nothing", timeout=30)
    assert (missing.status_code, missing.json()) == (404, {"message": "Not found"})
    wrong = session.delete(f"{emulator.url}{API}/query", timeout=30)
    assert wrong.status_code == 405 and wrong.headers["Allow"] == "POST"
    assert wrong.json() == {"message": "Method not allowed"}


def test_every_response_carries_a_distinct_request_id(
    emulator: Emulator, session: requests.Session
) -> None:
    ids = {
        session.get(emulator.url + "/accounts/api/dashboard/views", timeout=30).headers[
            "x-request-id"
        ],
        requests.get(emulator.url + "/accounts/api/dashboard/views", timeout=30).headers[
            "x-request-id"
        ],
        session.get(emulator.url + "/nowhere", timeout=30).headers["x-request-id"],
    }
    assert len(ids) == 3 and all(i.startswith("req_") for i in ids)


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"{not json", "Request body is not valid JSON"),
        (b"", "Invalid request body"),
        (b"[1, 2]", "Invalid request body"),
        (b'"text"', "Invalid request body"),
    ],
)
def test_bodies_that_are_not_objects(
    emulator: Emulator, session: requests.Session, data: bytes, message: str
) -> None:
    response = session.post(
        f"{emulator.url}{API}/query",
        data=data,
        headers={"Content-Type": "application/json"},
        timeout=30,
    )
    assert response.status_code == 400
    assert response.json()["message"] == message
    assert [e["path"] for e in response.json()["errors"]] == [""]


def test_oversized_body(emulator: Emulator, session: requests.Session) -> None:
    body = {"pixelId": emulator.pixel_id, "padding": "x" * (1 << 20)}
    response = _post(emulator, session, "query", body)
    assert response.status_code == 413  # D70 (tests/emulator/test_hardening.py: every edge)
    assert response.json() == {"message": "Request body too large: at most 1048576 bytes (1 MiB)"}


# --- validation: 400 with per-field errors ------------------------------------------------------


def _query(pixel: str, **changes: Any) -> dict[str, Any]:
    body = {
        "pixelId": pixel,
        "granularity": "day",
        "measures": [{"measure": "orders.total_revenue"}],
        "dateRange": RANGE,
    }
    return {**body, **changes}


@pytest.mark.parametrize(
    ("changes", "paths"),
    [
        ({"measures": [{"measure": "orders.total_revenue"}] * 31}, ["measures"]),
        ({"measures": []}, ["measures"]),
        ({"measures": [{"measure": "orders.total_revenue", "pace": True}]}, ["measures.0.pace"]),
        ({"dimensions": ["channel"] * 6}, ["dimensions"]),
        ({"granularity": "fortnight"}, ["granularity"]),
        ({"dateRange": {"start": "2026-02-30", "end": "2026-03-02"}}, ["dateRange.start"]),
        ({"timezone": "Mars/Olympus_Mons"}, ["timezone"]),
        ({"filters": {"field": "orders.customer_type", "op": "is", "value": "x"}}, ["filters.op"]),
        ({"filters": {"and": [{"field": "f", "op": "in", "value": "x"}]}}, ["filters.and.0.value"]),
        ({"compareDateRange": "last period"}, ["compareDateRange"]),
        ({"limit": 5}, ["limit"]),
    ],
)
def test_query_validation_names_each_field(
    emulator: Emulator, session: requests.Session, changes: dict[str, Any], paths: list[str]
) -> None:
    response = _post(emulator, session, "query", _query(emulator.pixel_id, **changes))
    assert response.status_code == 400, response.text
    body = response.json()
    assert body["message"] == "Invalid request body"
    assert [e["path"] for e in body["errors"]] == paths
    assert all(e["message"] for e in body["errors"])


@pytest.mark.parametrize(
    ("path", "changes", "error_path"),
    [
        ("query", {"dateRange": {"start": "2026-11-08", "end": "2026-11-02"}}, "dateRange.start"),
        (
            "query",
            {"granularity": "second", "dateRange": {"start": "2026-01-01", "end": "2026-12-31"}},
            "granularity",
        ),
        (
            "query",
            {"compareDateRange": {"start": "2026-11-01", "end": "2026-11-03"}},
            "compareDateRange",
        ),
        ("query", {"measures": [{"measure": "core.no_such_measure"}]}, "measures.0.measure"),
        ("query", {"dimensions": ["no_such_dimension"]}, "dimensions.0"),
    ],
)
def test_engine_rules_are_400_naming_the_field(
    emulator: Emulator,
    session: requests.Session,
    path: str,
    changes: dict[str, Any],
    error_path: str,
) -> None:
    response = _post(emulator, session, path, _query(emulator.pixel_id, **changes))
    assert response.status_code == 400, response.text
    assert response.json()["message"]
    assert [e["path"] for e in response.json()["errors"]] == [error_path]


def test_channel_details_allows_one_grain(emulator: Emulator, session: requests.Session) -> None:
    body = {"pixelId": emulator.pixel_id, "granularity": "day", "dimensions": ["campaign", "ad"]}
    response = _post(emulator, session, "query-channel-details", body)
    assert response.status_code == 400
    assert [e["path"] for e in response.json()["errors"]] == ["dimensions"]


def test_missing_required_fields_are_each_named(
    emulator: Emulator, session: requests.Session
) -> None:
    response = _post(emulator, session, "query", {"pixelId": emulator.pixel_id})
    assert [e["path"] for e in response.json()["errors"]] == [
        "dateRange",
        "granularity",
        "measures",
    ]


@pytest.mark.parametrize(
    ("path", "body", "paths"),
    [
        (
            "query-attribution",
            {
                "dimension": "utm_source",
                "dateRange": RANGE,
                "attributionModel": "first_click",
                "attributionWindow": 45,
            },
            ["attributionWindow"],
        ),
        (
            "query-attribution",
            {
                "dimension": "utm_source",
                "dateRange": RANGE,
                "attributionModel": "linear",
                "attributionWindow": 30,
            },
            ["attributionModel"],
        ),
        (
            "query-cohort-analysis",
            {"granularity": "day", "measures": ["orders.customers_cohort"], "dateRange": RANGE},
            ["granularity"],
        ),
        (
            "query-cohort-analysis",
            {"granularity": "week", "measures": ["orders.total_revenue"], "dateRange": RANGE},
            ["measures.0"],
        ),
        (
            "query-channel-details",
            {"granularity": "day", "measures": [{"measure": "channel.spend"}]},
            ["dateRange"],
        ),
        ("query-channel-details", {"granularity": "day", "compareDateRange": RANGE}, ["measures"]),
        ("query-channel-details", {"granularity": "day", "limit": 1001}, ["limit"]),
        ("query-channel-details", {"granularity": "day", "offset": -1}, ["offset"]),
    ],
)
def test_other_analytics_validation(
    emulator: Emulator, session: requests.Session, path: str, body: dict[str, Any], paths: list[str]
) -> None:
    response = _post(emulator, session, path, {"pixelId": emulator.pixel_id, **body})
    assert response.status_code == 400, response.text
    assert [e["path"] for e in response.json()["errors"]] == paths


# --- success paths ------------------------------------------------------------------------------


def test_measures_and_search(emulator: Emulator, session: requests.Session, conforms: Any) -> None:
    everything = session.get(f"{emulator.url}{API}/measures", timeout=60).json()
    conforms("MeasuresResponse", everything)
    ids = {m["id"] for m in everything["measures"]}
    assert {
        "core.new_customer_roas",
        "core.new_customer_mer",
        "meta.cpm",
        "orders.total_revenue",
        "channel.spend",
    } <= ids
    found = session.get(
        f"{emulator.url}{API}/measures", params={"search": "ROAS"}, timeout=60
    ).json()
    assert found["measures"] and {m["id"] for m in found["measures"]} < ids
    assert "core.new_customer_roas" in {m["id"] for m in found["measures"]}


def test_filters(emulator: Emulator, session: requests.Session, conforms: Any) -> None:
    filters = session.get(f"{emulator.url}{API}/filters", timeout=60).json()
    conforms("FiltersResponse", filters)
    assert "orders.customer_type" in {f["id"] for f in filters["filters"]}


def test_query(emulator: Emulator, session: requests.Session, conforms: Any) -> None:
    body = _query(
        emulator.pixel_id,
        measures=[{"measure": "orders.total_revenue"}, {"measure": "core.new_customer_roas"}],
        timezone="America/New_York",
    )
    response = _post(emulator, session, "query", body)
    assert response.status_code == 200, response.text
    payload = response.json()
    conforms("QueryResponse", payload)
    result = payload["results"][0]
    assert len(result["data"]["primary"]) == 7  # every bucket, no dimensions
    assert result["data"]["primary"][0]["dt"] == "2026-11-02T00:00:00-05:00"
    assert [d["measure"] for d in result["measureDetails"]] == [
        "orders.total_revenue",
        "core.new_customer_roas",
    ]
    assert result["compareDateRange"] == {"start": "2026-10-26", "end": "2026-11-01"}


def test_query_by_dimension(emulator: Emulator, session: requests.Session, conforms: Any) -> None:
    body = _query(emulator.pixel_id, dimensions=["channel"], compareDateRange=None)
    payload = _post(emulator, session, "query", body).json()
    conforms("QueryResponse", payload)
    rows = payload["results"][0]["data"]["primary"]
    assert rows and all("channel" in row for row in rows)
    assert payload["results"][0]["compareDateRange"] is None


def test_attribution(emulator: Emulator, session: requests.Session, conforms: Any) -> None:
    body = {
        "pixelId": emulator.pixel_id,
        "dimension": "utm_source",
        "dateRange": {"start": "2026-10-01", "end": "2026-10-31"},
        "attributionModel": "first_click",
        "attributionWindow": 30,
    }
    response = _post(emulator, session, "query-attribution", body)
    assert response.status_code == 200, response.text
    conforms("AttributionResponse", response.json())
    results = response.json()["results"]
    assert len(results) > 1
    assert all(r["dimensionFilters"][0][0]["dimension"] == "utm_source" for r in results)


def test_cohorts(emulator: Emulator, session: requests.Session, conforms: Any) -> None:
    body = {
        "pixelId": emulator.pixel_id,
        "granularity": "month",
        "measures": ["orders.cohort_retention_percent", "orders.customers_cohort"],
        "dateRange": {"start": "2026-01-01", "end": "2026-03-31"},
    }
    response = _post(emulator, session, "query-cohort-analysis", body)
    assert response.status_code == 200, response.text
    conforms("QueryResponse", response.json())
    rows = response.json()["results"][0]["data"]["primary"]
    assert {row["period"] for row in rows if row["period"] == 0} == {0}
    assert all(
        row["orders.cohort_retention_percent"] == 100.0 for row in rows if row["period"] == 0
    )


def test_channel_details_paginates(
    emulator: Emulator, session: requests.Session, conforms: Any
) -> None:
    body = {
        "pixelId": emulator.pixel_id,
        "granularity": "none",
        "dimensions": ["campaign"],
        "measures": [{"measure": "channel.spend"}],
        "dateRange": RANGE,
        "limit": 2,
    }
    first = _post(emulator, session, "query-channel-details", body).json()
    conforms("ChannelDetailsResponse", first)
    assert first["pagination"]["limit"] == 2 and len(first["results"]) == 2
    assert first["pagination"]["hasMore"] and first["pagination"]["total"] > 2
    second = _post(emulator, session, "query-channel-details", {**body, "offset": 2}).json()
    ids = [r["basicDetails"]["id"] for r in first["results"] + second["results"]]
    assert ids == sorted(ids) and len(set(ids)) == 4
    listing = {"pixelId": emulator.pixel_id, "granularity": "day"}
    conforms(
        "ChannelDetailsResponse", _post(emulator, session, "query-channel-details", listing).json()
    )


# --- concurrency and the Python API -------------------------------------------------------------


def test_sixteen_parallel_requests(emulator: Emulator) -> None:
    body = _query(emulator.pixel_id, dimensions=["channel"])
    paths = ["query", "measures", "filters", "views"] * 4

    def call(kind: str) -> tuple[int, bytes]:
        with requests.Session() as s:
            s.headers.update(emulator.headers())
            if kind == "query":
                response = s.post(f"{emulator.url}{API}/query", json=body, timeout=60)
            elif kind == "views":
                response = s.get(emulator.url + "/accounts/api/dashboard/views", timeout=60)
            else:
                response = s.get(f"{emulator.url}{API}/{kind}", timeout=60)
            return response.status_code, response.content

    with ThreadPoolExecutor(max_workers=16) as pool:
        answers = list(pool.map(call, paths))
    assert {status for status, _ in answers} == {200}
    assert (
        len(
            {
                content
                for (status, content), kind in zip(answers, paths, strict=True)
                if kind == "query"
            }
        )
        == 1
    )


def test_emulator_client_smoke(emulator: Emulator) -> None:
    client = emulator.client(cache=False)
    try:
        response = client.get(f"{API}/measures")
        assert response.status == 200 and response.request_id
        assert client.base_url == emulator.url and client.pixel_id == emulator.pixel_id
    finally:
        client.close()


def test_backends_are_per_pixel_and_deterministic(emulator: Emulator) -> None:
    assert emulator.backend() is emulator.backend(emulator.pixel_id)
    assert emulator._pool.seed_for(emulator.pixel_id) == 7
    seeds = {emulator._pool.seed_for(p) for p in emulator.pixel_ids}
    assert len(seeds) == len(emulator.pixel_ids)
    with pytest.raises(KeyError):
        emulator.backend("px_unknown")


def test_lifecycle_and_repr() -> None:
    emu = Emulator(port=0)
    assert "stopped" in repr(emu) and emu.api_key not in repr(emu)
    with emu:
        assert emu.running and emu.url.startswith("http://127.0.0.1:")
        with pytest.raises(RuntimeError):
            emu.start()
    assert not emu.running
    emu.stop()  # idempotent
