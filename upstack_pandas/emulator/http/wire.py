"""JSON on the wire: request ids, response bodies and the error response, for every layer.

Responses are encoded with ``orjson``: non-finite floats become ``null`` (the contract's
"numbers that cannot be computed are null"), NumPy scalars and dates are handled, so the
engine may hand back plain or NumPy values alike.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from typing import Any

import orjson
from werkzeug.wrappers import Response

from upstack_pandas.emulator.engine.api_errors import ApiError

__all__ = ["dumps", "error_response", "json_response", "new_request_id"]

REQUEST_ID_HEADER = "x-request-id"
_OPTIONS = orjson.OPT_SERIALIZE_NUMPY


def new_request_id() -> str:
    """Return a fresh request id (``req_`` + 32 hex digits)."""
    return f"req_{uuid.uuid4().hex}"


def _default(value: Any) -> Any:
    if type(value).__name__ in {"NAType", "NaTType"}:
        return None
    if hasattr(value, "isoformat"):
        return value.isoformat()
    if hasattr(value, "item"):
        return value.item()
    if hasattr(value, "__float__"):
        return float(value)
    raise TypeError(f"cannot encode {type(value).__name__} as JSON")


def dumps(payload: Any) -> bytes:
    """Encode ``payload`` as JSON bytes (NaN and infinities become null)."""
    return orjson.dumps(payload, default=_default, option=_OPTIONS)


def json_response(
    payload: Any,
    status: int = 200,
    *,
    request_id: str | None = None,
    headers: Mapping[str, str] | None = None,
) -> Response:
    """Return a JSON response carrying ``x-request-id`` (a new one unless given)."""
    response = Response(dumps(payload), status=status, mimetype="application/json")
    response.headers[REQUEST_ID_HEADER] = request_id or new_request_id()
    for name, value in (headers or {}).items():
        response.headers[name] = value
    return response


def error_response(error: ApiError, *, request_id: str | None = None) -> Response:
    """Return the contract's error response for ``error``."""
    return json_response(error.body(), error.status, request_id=request_id, headers=error.headers)
