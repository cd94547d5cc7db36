"""Fault injection and the ``/_emulator/*`` control endpoints.

These tests run their own emulator (no engine needed: faults are tried on the dashboard
routes), so injected faults never reach other tests.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import pytest
import requests
from werkzeug.test import Client as WsgiClient

from upstack_pandas.emulator.http.control import ControlApp
from upstack_pandas.emulator.http.faults import Fault, FaultInjector, FaultMiddleware
from upstack_pandas.emulator.http.server import Emulator
from upstack_pandas.emulator.http.validation import RequestValidator

VIEWS = "/accounts/api/dashboard/views"
MEASURES = "/db-mgmt/api/measures"


@pytest.fixture(scope="module")
def emu() -> Iterator[Emulator]:
    with Emulator() as emu:
        yield emu


@pytest.fixture(autouse=True)
def _clear(emu: Emulator) -> Iterator[None]:
    emu.clear_faults()
    yield
    emu.clear_faults()


def _get(emu: Emulator, path: str = VIEWS) -> requests.Response:
    return requests.get(emu.url + path, headers=emu.headers(), timeout=30)


# --- the injector -------------------------------------------------------------------------------


def test_counts_are_consumed_per_matching_request() -> None:
    injector = FaultInjector()
    injector.add(Fault("status", path="/a", count=2))
    assert injector.take("/b") == []
    assert [f.kind for f in injector.take("/a")] == ["status"]
    assert injector.active()[0].count == 1
    assert len(injector.take("/a")) == 1
    assert injector.take("/a") == [] and injector.active() == []


def test_latencies_add_up_and_one_terminal_fault_answers() -> None:
    injector = FaultInjector()
    injector.add(Fault("latency", latency_ms=10))
    injector.add(Fault("status", status=503, count=1))
    injector.add(Fault("drop", count=1))
    injector.add(Fault("latency", path="/a", latency_ms=5, count=1))
    first = injector.take("/a")
    assert [(f.kind, f.status) for f in first] == [
        ("latency", 500),
        ("status", 503),
        ("latency", 500),
    ]
    assert [f.kind for f in injector.take("/a")] == ["latency", "drop"]
    assert [f.kind for f in injector.take("/a")] == ["latency"]  # until cleared
    assert injector.clear() == 1


@pytest.mark.parametrize(
    "kwargs",
    [{"kind": "boom"}, {"kind": "status", "status": 200}, {"kind": "drop", "count": 0}],
)
def test_fault_arguments_are_checked(kwargs: dict[str, Any]) -> None:
    with pytest.raises(ValueError):
        Fault(**kwargs)


def test_middleware_sleeps_for_base_and_injected_latency() -> None:
    slept: list[float] = []
    injector = FaultInjector()
    injector.add(Fault("latency", latency_ms=250, count=1))

    def app(environ: dict[str, Any], start_response: Any) -> list[bytes]:
        start_response("200 OK", [("Content-Type", "application/json")])
        return [b"{}"]

    client = WsgiClient(FaultMiddleware(app, injector, latency_ms=100, sleep=slept.append))
    assert client.get("/x").status_code == 200
    assert client.get("/x").status_code == 200
    assert slept == [0.35, 0.1]


# --- over HTTP ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("status", "message"),
    [
        (500, "Internal server error"),
        (502, "Bad gateway"),
        (503, "Service unavailable"),
        (504, "Gateway timeout"),
    ],
)
def test_status_faults(emu: Emulator, status: int, message: str) -> None:
    emu.inject("status", status=status, count=1)
    response = _get(emu)
    assert response.status_code == status
    assert response.json() == {"message": message}
    assert response.headers["x-request-id"]
    assert "Retry-After" not in response.headers
    assert _get(emu).status_code == 200  # only the next request


def test_429_carries_retry_after(emu: Emulator) -> None:
    emu.inject("status", status=429, count=1)
    response = _get(emu)
    assert (response.status_code, response.headers["Retry-After"]) == (429, "1")
    assert response.json() == {"message": "Rate limit exceeded"}
    emu.inject("status", status=429, retry_after=7, count=1)
    assert _get(emu).headers["Retry-After"] == "7"
    emu.inject("status", status=503, retry_after=2, count=1)
    assert _get(emu).headers["Retry-After"] == "2"


def test_next_n_requests_then_normal(emu: Emulator) -> None:
    emu.inject("status", status=503, count=3)
    assert [_get(emu).status_code for _ in range(4)] == [503, 503, 503, 200]


def test_until_cleared(emu: Emulator) -> None:
    emu.inject("status", status=500)
    assert {_get(emu).status_code for _ in range(3)} == {500}
    assert emu.clear_faults() == 1
    assert _get(emu).status_code == 200


def test_per_path(emu: Emulator) -> None:
    emu.inject("status", path=MEASURES, status=503)
    assert _get(emu, VIEWS).status_code == 200
    assert _get(emu, MEASURES).status_code == 503


def test_faults_apply_before_auth(emu: Emulator) -> None:
    emu.inject("status", status=503, count=1)
    response = requests.get(emu.url + VIEWS, timeout=30)  # no key at all
    assert response.status_code == 503


def test_latency(emu: Emulator) -> None:
    emu.inject("latency", latency_ms=300, count=1)
    started = time.perf_counter()
    assert _get(emu).status_code == 200
    assert time.perf_counter() - started >= 0.3
    started = time.perf_counter()
    _get(emu)
    assert time.perf_counter() - started < 0.3


def test_dropped_connection(emu: Emulator) -> None:
    emu.inject("drop", count=1)
    with pytest.raises(requests.ConnectionError):
        _get(emu)
    assert _get(emu).status_code == 200


def test_malformed_and_empty_bodies(emu: Emulator) -> None:
    emu.inject("malformed", count=1)
    response = _get(emu)
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json"
    with pytest.raises(ValueError):
        response.json()
    emu.inject("empty", count=1)
    response = _get(emu)
    assert (response.status_code, response.content) == (200, b"")


def test_base_latency() -> None:
    with Emulator(latency_ms=200) as slow:
        started = time.perf_counter()
        requests.get(slow.url + VIEWS, headers=slow.headers(), timeout=30)
        assert time.perf_counter() - started >= 0.2
        started = time.perf_counter()
        requests.get(slow.url + "/_emulator/health", timeout=30)  # control: never delayed
        assert time.perf_counter() - started < 0.2


# --- control endpoints --------------------------------------------------------------------------


def test_control_faults_endpoints(emu: Emulator) -> None:
    url = emu.url + "/_emulator/faults"
    body = {"path": VIEWS, "kind": "status", "status": 429, "retryAfter": 3, "count": 2}
    created = requests.post(url, json=body, timeout=30)
    assert created.status_code == 200
    fault = created.json()["fault"]
    assert {k: fault[k] for k in body} == body and fault["id"]
    assert requests.get(url, timeout=30).json() == {"faults": [fault]}
    assert _get(emu).headers["Retry-After"] == "3"
    assert requests.get(url, timeout=30).json()["faults"][0]["count"] == 1
    assert requests.delete(url, timeout=30).json() == {"cleared": 1}
    assert _get(emu).status_code == 200


@pytest.mark.parametrize(
    ("body", "path"),
    [
        ({"kind": "explode"}, "kind"),
        ({"kind": "status", "status": 302}, "status"),
        ({"kind": "status", "count": 0}, "count"),
        ({"kind": "latency", "latencyMs": -1}, "latencyMs"),
        ({"kind": "drop", "extra": True}, "extra"),
        ({}, "kind"),
    ],
)
def test_control_rejects_bad_faults(emu: Emulator, body: dict[str, Any], path: str) -> None:
    response = requests.post(emu.url + "/_emulator/faults", json=body, timeout=30)
    assert response.status_code == 400
    assert path in [e["path"] for e in response.json()["errors"]]
    assert emu.injector.active() == []


def test_control_reset_clears_dashboards_and_faults() -> None:
    with Emulator() as emu:
        requests.post(
            emu.url + VIEWS,
            headers=emu.headers(),
            json={"name": "v", "configuration": {}},
            timeout=30,
        )
        emu.inject("latency", latency_ms=1)
        assert requests.post(emu.url + "/_emulator/reset", timeout=30).json() == {"reset": True}
        assert emu.injector.active() == []
        assert _get(emu).json() == {"dashboardViews": []}


def test_health(emu: Emulator) -> None:
    health = requests.get(emu.url + "/_emulator/health", timeout=30).json()
    assert health["status"] == "ok"
    assert health["pixels"] == list(emu.pixel_ids) and health["seed"] == 7


def test_control_unknown_path_and_method(emu: Emulator) -> None:
    assert requests.get(emu.url + "/_emulator/nope", timeout=30).status_code == 404
    assert requests.put(emu.url + "/_emulator/reset", timeout=30).status_code == 405


def test_control_answers_loopback_clients_only() -> None:
    app = ControlApp(FaultInjector(), reset=lambda: None, health=dict, validator=RequestValidator())
    client = WsgiClient(app)
    remote = client.get("/_emulator/health", environ_base={"REMOTE_ADDR": "10.1.2.3"})
    assert remote.status_code == 403
    local = client.get("/_emulator/health", environ_base={"REMOTE_ADDR": "::1"})
    assert local.status_code == 200
