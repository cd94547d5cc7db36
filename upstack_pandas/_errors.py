"""Exceptions raised by upstack-pandas.

::

    UpstackError                  root: catch this to catch everything below
    ├── ConfigurationError        missing or invalid credentials/settings (raised locally)
    ├── ValidationError           invalid arguments (raised locally, before any request, naming
    │                             the ``parameter``), or 400/422: the server's ``errors`` list
    ├── AuthenticationError       401: missing, invalid, revoked or expired key / pixel id
    ├── PermissionDenied          403: the key lacks a scope (``required_scope``) or pixel mismatch
    ├── NotFound                  404: no such resource, or it belongs to another pixel
    ├── RateLimited               429: ``retry_after`` seconds, when the server said
    ├── ServerError               5xx
    └── TransportError            timeouts, connection failures, bodies that are not JSON

Every error carries ``status`` (``None`` when no response arrived), ``method``, ``path``,
``message`` (the server's, when it sent one), ``request_id`` (from the ``x-request-id``,
``x-amzn-requestid`` or ``request-id`` response header), ``errors`` (the server's per-field
problems) and ``hint`` (what to do about it). The class for an HTTP status is chosen in exactly
one place, ``error_class_for_status``. No error ever contains an API key: texts pass through
``upstack_pandas._redact.redact``. Names deliberately avoid the builtins ``ConnectionError``,
``PermissionError`` and ``TimeoutError``.

``ValidationError`` is also a ``ValueError``; an argument of the wrong type raises its subclass
``ArgumentTypeError``, which is also a ``TypeError``, so code that catches the builtin exceptions
keeps working.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

from upstack_pandas._endpoints import find, is_write, required_scope
from upstack_pandas._redact import redact

__all__ = [
    "ArgumentTypeError",
    "AuthenticationError",
    "ConfigurationError",
    "FilterNotAppliedWarning",
    "IncompleteTotalsWarning",
    "MeasureUnavailableWarning",
    "NotFound",
    "PermissionDenied",
    "RateLimited",
    "ServerError",
    "TransportError",
    "UpstackError",
    "UpstackWarning",
    "ValidationError",
    "error_class_for_status",
    "error_from_response",
    "invalid_argument",
    "request_id_from_headers",
]

REQUEST_ID_HEADERS = ("x-request-id", "x-amzn-requestid", "request-id")
#: Hint for a dashboard write whose outcome is unknown (never retried automatically).
UNKNOWN_OUTCOME = (
    "the change may have been applied: list the views (dashboards.list()) before trying again"
)

_REASONS = {
    400: "Bad Request",
    401: "Unauthorized",
    403: "Forbidden",
    404: "Not Found",
    405: "Method Not Allowed",
    409: "Conflict",
    413: "Payload Too Large",
    422: "Unprocessable Entity",
    429: "Too Many Requests",
    500: "Internal Server Error",
    502: "Bad Gateway",
    503: "Service Unavailable",
    504: "Gateway Timeout",
}


class UpstackError(Exception):
    """Base class of every error raised by upstack-pandas.

    Parameters
    ----------
    message : str
        What went wrong (the server's ``message`` for HTTP errors).
    status : int, optional
        HTTP status, ``None`` when no response arrived.
    method, path : str, optional
        The request, e.g. ``"POST"`` and ``"/db-mgmt/api/query"``.
    request_id : str, optional
        The server's request id, for support tickets.
    errors : sequence of mapping, optional
        The server's per-field problems (``{"path": ..., "message": ...}``).
    hint : str, optional
        What to do about it.
    """

    def __init__(
        self,
        message: str = "",
        *,
        status: int | None = None,
        method: str | None = None,
        path: str | None = None,
        request_id: str | None = None,
        errors: Sequence[Mapping[str, Any]] = (),
        hint: str | None = None,
    ) -> None:
        self.message = redact(str(message))
        self.status = status
        self.method = method
        self.path = path
        self.request_id = request_id
        self.errors: list[dict[str, Any]] = [dict(e) for e in errors]
        self.hint = redact(hint) if hint else hint
        super().__init__(self.message)

    def __reduce__(self) -> tuple[Any, ...]:
        # Rebuild from the attributes, so pickling keeps every field (and subclass extras).
        return (_rebuild_error, (type(self), self.__dict__.copy()))

    def _headline(self) -> str:
        parts = []
        if self.method and self.path:
            parts.append(f"{self.method} {self.path}")
        if self.status is not None:
            reason = _REASONS.get(self.status, "")
            parts.append(f"{self.status} {reason}".strip())
        prefix = " → ".join(parts)
        message = self.message or "(no message)"
        return f"{prefix}: {message}" if prefix else message

    def _detail_lines(self) -> list[str]:
        return []

    def __str__(self) -> str:
        lines = [self._headline(), *self._detail_lines()]
        if self.hint:
            lines.append(f"Hint: {self.hint}")
        if self.request_id:
            lines.append(f"Request id: {self.request_id}")
        return redact("\n".join(lines))

    def __repr__(self) -> str:
        fields = [f"message={self.message!r}"]
        for name in ("status", "method", "path", "request_id"):
            value = getattr(self, name)
            if value is not None:
                fields.append(f"{name}={value!r}")
        return redact(f"{type(self).__name__}({', '.join(fields)})")


def _rebuild_error(cls: type[UpstackError], state: dict[str, Any]) -> UpstackError:
    error = cls.__new__(cls)
    Exception.__init__(error, state.get("message", ""))
    error.__dict__.update(state)
    return error


class UpstackWarning(UserWarning):
    """Base class of the warnings upstack-pandas issues: a result is usable but not whole."""


class MeasureUnavailableWarning(UpstackWarning):
    """The API could not compute a measure (``success: false``): its column is all missing.

    The message names the measure and the server's reason.
    """


class FilterNotAppliedWarning(UpstackWarning):
    """The server computed some measures without a filter condition of the request.

    A condition filters its own data source only (a ``channel.*`` filter does not filter
    orders); ``attrs["upstack"]["filtersNotApplied"]`` records what was skipped.
    """


class IncompleteTotalsWarning(UpstackWarning):
    """A summary, plot or re-aggregation cannot show a measure's total for these rows.

    The frame no longer matches the query its totals came from (sliced, filtered, resampled,
    combined or scaled) and the measure is a ratio or average whose value cannot be rebuilt
    from the rows; the message names the measure and why.
    """


class ConfigurationError(UpstackError):
    """Settings are missing or invalid (raised before any request is sent)."""


class ValidationError(UpstackError, ValueError):
    """The request is invalid: found before sending, or rejected by the server (HTTP 400/422).

    Raised locally (``status`` None) for an argument that cannot be sent, naming it in
    ``parameter`` and saying how to fix it in ``hint``; from the server, ``errors`` lists each
    field problem.
    """

    def __init__(self, message: str = "", *, parameter: str | None = None, **kwargs: Any):
        super().__init__(message, **kwargs)
        self.parameter = parameter

    def _detail_lines(self) -> list[str]:
        lines = []
        for item in self.errors:
            where = item.get("path")
            where_text = "(body)" if where in ("", None) else str(where)
            lines.append(f"  - {where_text}: {item.get('message', '')}")
        return lines


class ArgumentTypeError(ValidationError, TypeError):
    """An argument of the wrong type (raised locally, before any request)."""


def invalid_argument(
    parameter: str, message: str, *, hint: str | None = None, wrong_type: bool = False
) -> ValidationError:
    """The error for an argument that cannot be sent (raise it).

    Parameters
    ----------
    parameter : str
        The argument's name, e.g. ``"start"`` or ``"filters.and.0.value"``.
    message : str
        What is wrong, starting with the parameter's name.
    hint : str, optional
        How to fix it.
    wrong_type : bool
        The value has the wrong type: an ``ArgumentTypeError`` (also a ``TypeError``).

    Returns
    -------
    ValidationError
    """
    cls = ArgumentTypeError if wrong_type else ValidationError
    return cls(message, parameter=parameter, hint=hint)


class AuthenticationError(UpstackError):
    """The key or pixel id was missing, invalid, revoked or expired (HTTP 401)."""


class PermissionDenied(UpstackError):
    """The key is valid but may not do this (HTTP 403).

    ``required_scope`` names the scope the endpoint needs, when known.
    """

    def __init__(self, message: str = "", *, required_scope: str | None = None, **kwargs: Any):
        super().__init__(message, **kwargs)
        self.required_scope = required_scope


class NotFound(UpstackError):
    """The resource does not exist or belongs to another pixel (HTTP 404)."""


class RateLimited(UpstackError):
    """Too many requests (HTTP 429); ``retry_after`` is the server's wait in seconds, if given."""

    def __init__(self, message: str = "", *, retry_after: float | None = None, **kwargs: Any):
        super().__init__(message, **kwargs)
        self.retry_after = retry_after


class ServerError(UpstackError):
    """The server failed (HTTP 5xx)."""


class TransportError(UpstackError):
    """No usable response: timeout, connection failure, or a body that is not the JSON promised."""


_STATUS_CLASSES: dict[int, type[UpstackError]] = {
    400: ValidationError,
    422: ValidationError,
    401: AuthenticationError,
    403: PermissionDenied,
    404: NotFound,
    429: RateLimited,
}


def error_class_for_status(status: int) -> type[UpstackError]:
    """Choose the exception class for an HTTP error status (the only place that does).

    Parameters
    ----------
    status : int
        HTTP status code (>= 300).

    Returns
    -------
    type of UpstackError
        ``ServerError`` for any 5xx, the specific class for 400/401/403/404/422/429, and
        ``UpstackError`` itself for any other status.
    """
    if status >= 500:
        return ServerError
    return _STATUS_CLASSES.get(status, UpstackError)


def request_id_from_headers(headers: Mapping[str, str]) -> str | None:
    """Find the server's request id in response headers.

    Parameters
    ----------
    headers : mapping
        Response headers (any casing).

    Returns
    -------
    str or None
    """
    lowered = {str(k).lower(): v for k, v in headers.items()}
    for name in REQUEST_ID_HEADERS:
        if lowered.get(name):
            return str(lowered[name])
    return None


def _parse_error_body(content: bytes) -> dict[str, Any]:
    if not content:
        return {}
    try:
        body = json.loads(content)
    except (ValueError, UnicodeDecodeError):
        text = content[:200].decode("utf-8", "replace").strip()
        return {"message": text} if text else {}
    return body if isinstance(body, dict) else {}


def _hint_for(
    status: int,
    method: str,
    path: str,
    scope: str | None,
    scope_from_server: bool,
    dashboard_write: bool = False,
) -> str | None:
    if status in (400, 422):
        return "fix the fields listed above; the request was not applied"
    if status == 401:
        return (
            "check the API key and pixel id (Client arguments, UPSTACK_API_KEY / "
            "UPSTACK_PIXEL_ID, or ~/.upstackrc); the key may be revoked or expired"
        )
    if status == 403:
        if scope and scope_from_server:
            return f"the key lacks the `{scope}` scope; mint a key with that scope"
        if scope:
            return (
                f"this endpoint needs the `{scope}` scope: mint a key with it; or the body's "
                "pixelId differs from the x-pixel-id header"
            )
        return "the key may not do this, or the body's pixelId differs from the x-pixel-id header"
    if status == 404:
        endpoint = find(method, path)
        if endpoint is not None and endpoint.tag == "Dashboards":
            return "the view does not exist or belongs to another pixel"
        return "check the path and the ids in it"
    if status == 408:
        return (
            "the server did not receive the whole request in time, so nothing was applied; "
            "the client already retried as far as its RetryPolicy allows: check the network "
            "or proxy between you and the API"
        )
    if status == 429:
        return "slow down; the client already retried as far as its RetryPolicy allows"
    if status >= 500:
        if dashboard_write:
            return f"{UNKNOWN_OUTCOME}; if it persists, contact support with the request id"
        return "retry later; if it persists, contact support with the request id"
    return None


def error_from_response(
    status: int,
    method: str,
    path: str,
    content: bytes,
    headers: Mapping[str, str],
    *,
    retry_after: float | None = None,
) -> UpstackError:
    """Build the exception for an HTTP error response.

    Parameters
    ----------
    status : int
        HTTP status code.
    method, path : str
        The request.
    content : bytes
        Response body; the documented shape is ``{"message": str, "errors": [...]}``.
    headers : mapping
        Response headers (for the request id).
    retry_after : float, optional
        Parsed ``Retry-After`` seconds (for 429).

    Returns
    -------
    UpstackError
        An instance of the class ``error_class_for_status`` picks.
    """
    body = _parse_error_body(content)
    message = body.get("message")
    if not isinstance(message, str) or not message:
        message = _REASONS.get(status, "HTTP error")
    raw_errors = body.get("errors")
    errors = (
        [e for e in raw_errors if isinstance(e, Mapping)] if isinstance(raw_errors, list) else []
    )
    cls = error_class_for_status(status)
    scope: str | None = None
    body_scope = body.get("requiredScope")
    scope_from_server = isinstance(body_scope, str) and bool(body_scope)
    if cls is PermissionDenied:
        scope = str(body_scope) if scope_from_server else required_scope(method, path)
    common: dict[str, Any] = {
        "status": status,
        "method": method,
        "path": path,
        "request_id": request_id_from_headers(headers),
        "errors": errors,
        "hint": _hint_for(
            status,
            method,
            path,
            scope,
            scope_from_server,
            is_write(method, path),
        ),
    }
    if cls is PermissionDenied:
        return PermissionDenied(message, required_scope=scope, **common)
    if cls is RateLimited:
        return RateLimited(message, retry_after=retry_after, **common)
    return cls(message, **common)
