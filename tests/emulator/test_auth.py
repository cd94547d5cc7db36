"""Auth, scopes and pixel isolation: ``upstack_pandas.emulator.http.auth`` and over HTTP."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import requests

from upstack_pandas.emulator.engine.api_errors import ApiError
from upstack_pandas.emulator.http.auth import KeyRing, KeySpec, check_body_pixel, expand_scopes

VIEWS = "/accounts/api/dashboard/views"
PIXEL = "px_1"


def _ring(**kwargs: Any) -> KeyRing:
    spec = KeySpec("upstack_" + "a" * 40, (PIXEL,), ("analytics:read",), name="k", **kwargs)
    return KeyRing([spec])


def _status(ring: KeyRing, key: str | None, pixel: str | None, scope: str | None) -> ApiError:
    with pytest.raises(ApiError) as caught:
        ring.authenticate(key, pixel, scope)
    return caught.value


# --- unit ---------------------------------------------------------------------------------------


def test_scope_expansion() -> None:
    assert expand_scopes(["db_query"]) == {"analytics:read"}
    assert expand_scopes(["attribution_query"]) == {"analytics:read"}
    assert expand_scopes(["dashboards:write"]) == {"dashboards:read", "dashboards:write"}
    assert expand_scopes(["dashboards:read"]) == {"dashboards:read"}
    assert expand_scopes([]) == frozenset()


def test_keys_are_kept_hashed_only() -> None:
    raw = "upstack_" + "a" * 40
    ring = _ring()
    stored = ring._keys[0]
    assert stored.digest == hashlib.sha256(raw.encode()).digest()
    assert raw not in repr(vars(stored)) and raw not in repr(ring._keys)
    assert raw not in repr(KeySpec(raw, (PIXEL,)))


def test_authenticate_returns_the_principal() -> None:
    principal = _ring().authenticate("upstack_" + "a" * 40, PIXEL, "analytics:read")
    assert (principal.key_name, principal.pixel_id) == ("k", PIXEL)
    assert principal.scopes == {"analytics:read"}


@pytest.mark.parametrize(
    ("key", "pixel", "message"),
    [
        (None, PIXEL, "Missing x-api-key header"),
        ("", PIXEL, "Missing x-api-key header"),
        ("upstack_" + "b" * 40, PIXEL, "Invalid API key"),
        ("upstack_" + "a" * 40, None, "Missing x-pixel-id header"),
        ("upstack_" + "a" * 40, "px_other", "API key is not valid for this pixel"),
    ],
)
def test_401s(key: str | None, pixel: str | None, message: str) -> None:
    error = _status(_ring(), key, pixel, None)
    assert (error.status, error.body()) == (401, {"message": message})


def test_revoked_and_expired_keys_are_401() -> None:
    key = "upstack_" + "a" * 40
    assert _status(_ring(revoked=True), key, PIXEL, None).message == "API key has been revoked"
    past = datetime.now(UTC) - timedelta(seconds=1)
    assert _status(_ring(expires_at=past), key, PIXEL, None).message == "API key has expired"
    future = datetime.now(UTC) + timedelta(days=1)
    assert _ring(expires_at=future).authenticate(key, PIXEL, None).pixel_id == PIXEL


def test_expiry_follows_the_clock() -> None:
    at = datetime(2030, 1, 1, tzinfo=UTC)
    spec = KeySpec("upstack_k", (PIXEL,), name="k", expires_at=at)
    assert KeyRing([spec], clock=lambda: at - timedelta(seconds=1)).authenticate(
        "upstack_k", PIXEL, None
    )
    with pytest.raises(ApiError, match="expired"):
        KeyRing([spec], clock=lambda: at).authenticate("upstack_k", PIXEL, None)


def test_missing_scope_is_403_naming_it() -> None:
    error = _status(_ring(), "upstack_" + "a" * 40, PIXEL, "dashboards:read")
    assert error.status == 403
    assert error.body() == {
        "message": "API key lacks the required scope: dashboards:read",
        "requiredScope": "dashboards:read",
    }


def test_keyspec_rejects_a_string_of_pixels_and_naive_expiry() -> None:
    with pytest.raises(TypeError):
        KeySpec("upstack_k", "px_1")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="timezone-aware"):
        KeySpec("upstack_k", (PIXEL,), expires_at=datetime(2030, 1, 1))


def test_body_pixel_must_match_the_header() -> None:
    principal = _ring().authenticate("upstack_" + "a" * 40, PIXEL, None)
    check_body_pixel({"pixelId": PIXEL}, principal)
    check_body_pixel({"pixelId": 5}, principal)  # a type error is the validator's business
    check_body_pixel(None, principal)
    with pytest.raises(ApiError) as caught:
        check_body_pixel({"pixelId": "px_other"}, principal)
    assert caught.value.status == 403


# --- over HTTP ----------------------------------------------------------------------------------


def _get(emulator: Any, path: str, headers: dict[str, str]) -> requests.Response:
    return requests.get(emulator.url + path, headers=headers, timeout=30)


@pytest.mark.parametrize(
    ("headers", "message"),
    [
        ({}, "Missing x-api-key header"),
        ({"x-api-key": "upstack_nope"}, "Invalid API key"),
        ({"x-api-key": "revoked"}, "API key has been revoked"),
        ({"x-api-key": "expired"}, "API key has expired"),
        ({"x-api-key": "demo", "x-pixel-id": None}, "Missing x-pixel-id header"),
        ({"x-api-key": "demo", "x-pixel-id": "second"}, "API key is not valid for this pixel"),
    ],
)
@pytest.mark.parametrize("path", [VIEWS, "/db-mgmt/api/measures"])
def test_http_401_variants(emulator: Any, path: str, headers: dict[str, Any], message: str) -> None:
    sent: dict[str, str] = {}
    if "x-api-key" in headers:
        key = headers["x-api-key"]
        sent["x-api-key"] = emulator.keys.get(key, key)
        pixel = headers.get("x-pixel-id", "first")
        if pixel is not None:
            sent["x-pixel-id"] = emulator.pixel_ids[1 if pixel == "second" else 0]
    response = _get(emulator, path, sent)
    assert response.status_code == 401
    assert response.json() == {"message": message}
    assert response.headers["x-request-id"]


@pytest.mark.parametrize(
    ("key", "method", "path", "scope"),
    [
        ("measures_only", "GET", VIEWS, "dashboards:read"),
        ("analytics_read", "GET", VIEWS, "dashboards:read"),
        ("dashboards_read", "POST", VIEWS, "dashboards:write"),
        ("dashboards_read", "POST", VIEWS + "/from-preset", "dashboards:write"),
        ("dashboards_read", "DELETE", VIEWS + "/any", "dashboards:write"),
        ("dashboards_read", "PATCH", VIEWS + "/any", "dashboards:write"),
        ("dashboards_read", "POST", VIEWS + "/any/copy", "dashboards:write"),
        ("dashboards_write", "GET", "/db-mgmt/api/filters", "analytics:read"),
        ("dashboards_write", "POST", "/db-mgmt/api/query", "analytics:read"),
        ("measures_only", "POST", "/db-mgmt/api/query-attribution", "analytics:read"),
        ("measures_only", "POST", "/db-mgmt/api/query-cohort-analysis", "analytics:read"),
        ("measures_only", "POST", "/db-mgmt/api/query-channel-details", "analytics:read"),
    ],
)
def test_http_403_names_the_missing_scope(
    emulator: Any, key: str, method: str, path: str, scope: str
) -> None:
    response = requests.request(
        method, emulator.url + path, headers=emulator.headers(key), json={}, timeout=30
    )
    assert response.status_code == 403
    assert response.json() == {
        "message": f"API key lacks the required scope: {scope}",
        "requiredScope": scope,
    }


def test_dashboards_write_implies_read(emulator: Any) -> None:
    assert _get(emulator, VIEWS, emulator.headers("dashboards_write")).status_code == 200
    assert _get(emulator, VIEWS, emulator.headers("dashboards_read")).status_code == 200


@pytest.mark.parametrize("key", ["legacy_db_query", "legacy_attribution_query", "analytics_read"])
def test_legacy_scopes_expand_to_analytics_read(emulator: Any, key: str) -> None:
    response = _get(emulator, "/db-mgmt/api/filters", emulator.headers(key))
    assert response.status_code == 200, response.text
    assert response.json()["filters"]


def test_measures_catalog_is_ungated(emulator: Any) -> None:
    response = _get(emulator, "/db-mgmt/api/measures", emulator.headers("measures_only"))
    assert response.status_code == 200, response.text
    assert len(response.json()["measures"]) >= 40


@pytest.mark.parametrize(
    "path",
    [
        "/db-mgmt/api/query",
        "/db-mgmt/api/query-attribution",
        "/db-mgmt/api/query-cohort-analysis",
        "/db-mgmt/api/query-channel-details",
    ],
)
def test_body_pixel_mismatch_is_403(emulator: Any, path: str) -> None:
    body = {"pixelId": emulator.pixel_ids[1], "granularity": "day"}
    response = requests.post(emulator.url + path, headers=emulator.headers(), json=body, timeout=30)
    assert response.status_code == 403
    assert response.json() == {
        "message": "pixelId in the body does not match the x-pixel-id header"
    }


def test_each_pixel_only_answers_its_own_keys(emulator: Any) -> None:
    second = emulator.headers("other_pixel", emulator.pixel_ids[1])
    assert _get(emulator, VIEWS, second).status_code == 200
    crossed = {**second, "x-pixel-id": emulator.pixel_id}
    assert _get(emulator, VIEWS, crossed).status_code == 401
