"""The error hierarchy: one status→class table, context on every error, picklable, no secrets."""

from __future__ import annotations

import builtins
import json
import pickle

import pytest

import upstack_pandas as up
from upstack_pandas import _errors
from upstack_pandas._errors import (
    error_class_for_status,
    error_from_response,
    request_id_from_headers,
)
from upstack_pandas._redact import register_secret

KEY = "upstack_errors0000000000000000000000000000wxyz"

DOC_400 = {
    "message": "Invalid request body",
    "errors": [
        {"path": "measures.0.measure", "message": "Unknown measure 'core.nope'"},
        {"path": "", "message": "Unrecognized key: 'foo'"},
    ],
}


@pytest.mark.parametrize(
    ("status", "cls"),
    [
        (400, up.ValidationError),
        (422, up.ValidationError),
        (401, up.AuthenticationError),
        (403, up.PermissionDenied),
        (404, up.NotFound),
        (429, up.RateLimited),
        (500, up.ServerError),
        (502, up.ServerError),
        (503, up.ServerError),
        (504, up.ServerError),
        (409, up.UpstackError),
        (302, up.UpstackError),
    ],
)
def test_status_to_class(status: int, cls: type[up.UpstackError]) -> None:
    assert error_class_for_status(status) is cls
    error = error_from_response(status, "GET", "/x", b'{"message": "m"}', {})
    assert type(error) is cls
    assert error.status == status
    assert error.message == "m"


def test_hierarchy_has_one_root_and_shadows_no_builtin() -> None:
    names = [
        "ConfigurationError",
        "ValidationError",
        "AuthenticationError",
        "PermissionDenied",
        "NotFound",
        "RateLimited",
        "ServerError",
        "TransportError",
    ]
    for name in names:
        assert issubclass(getattr(up, name), up.UpstackError)
        assert not hasattr(builtins, name)
    assert issubclass(up.UpstackError, Exception)
    assert set(_errors.__all__) >= {*names, "UpstackError"}


def test_validation_error_lists_each_field_problem() -> None:
    error = error_from_response(
        400, "POST", "/db-mgmt/api/query", json.dumps(DOC_400).encode(), {"x-request-id": "r-1"}
    )
    assert isinstance(error, up.ValidationError)
    text = str(error)
    assert "POST /db-mgmt/api/query" in text
    assert "400" in text
    assert "Invalid request body" in text
    assert "measures.0.measure: Unknown measure 'core.nope'" in text
    assert "(body): Unrecognized key: 'foo'" in text
    assert "r-1" in text
    assert error.errors == DOC_400["errors"]
    assert error.request_id == "r-1"
    assert (error.method, error.path) == ("POST", "/db-mgmt/api/query")


@pytest.mark.parametrize("header", ["x-request-id", "X-Amzn-RequestId", "Request-Id"])
def test_request_id_headers(header: str) -> None:
    assert request_id_from_headers({header: "abc"}) == "abc"
    assert request_id_from_headers({"other": "x"}) is None


def test_permission_denied_names_scope_from_body_or_table() -> None:
    body = json.dumps({"message": "Forbidden", "requiredScope": "dashboards:write"}).encode()
    error = error_from_response(403, "POST", "/accounts/api/dashboard/views", body, {})
    assert isinstance(error, up.PermissionDenied)
    assert error.required_scope == "dashboards:write"
    assert "dashboards:write" in str(error)

    error = error_from_response(403, "POST", "/db-mgmt/api/query", b'{"message": "no"}', {})
    assert isinstance(error, up.PermissionDenied)
    assert error.required_scope == "analytics:read"
    assert "analytics:read" in str(error)


def test_rate_limited_carries_retry_after() -> None:
    error = error_from_response(429, "GET", "/x", b"{}", {}, retry_after=7.0)
    assert isinstance(error, up.RateLimited)
    assert error.retry_after == 7.0


@pytest.mark.parametrize("body", [b"", b"<html>Bad gateway</html>", b"[1, 2]", b"{broken"])
def test_error_bodies_that_are_not_the_documented_shape(body: bytes) -> None:
    error = error_from_response(502, "GET", "/x", body, {})
    assert isinstance(error, up.ServerError)
    assert error.message  # a reason phrase or the body's text, never empty
    assert error.errors == []


def test_errors_pickle_with_all_fields() -> None:
    original = error_from_response(
        400, "POST", "/db-mgmt/api/query", json.dumps(DOC_400).encode(), {"x-request-id": "r"}
    )
    for error in [
        original,
        up.RateLimited("slow", retry_after=3.0, status=429, method="GET", path="/p"),
        up.PermissionDenied("no", required_scope="analytics:read", status=403),
        up.ConfigurationError("missing"),
        up.TransportError("timeout", method="GET", path="/p"),
    ]:
        copy = pickle.loads(pickle.dumps(error))
        assert type(copy) is type(error)
        assert copy.__dict__ == error.__dict__
        assert str(copy) == str(error)


def test_errors_never_show_a_registered_key() -> None:
    register_secret(KEY)
    error = up.ServerError(f"boom with {KEY}", hint=f"key {KEY}", status=500)
    for text in (str(error), repr(error), error.message, error.hint or ""):
        assert KEY not in text
    assert "upstack_…wxyz" in str(error)


def test_repr_is_compact() -> None:
    error = up.NotFound("Dashboard view not found", status=404, method="GET", path="/v/1")
    assert repr(error) == (
        "NotFound(message='Dashboard view not found', status=404, method='GET', path='/v/1')"
    )
