"""The one error type the emulator's HTTP layer turns into a response (``api_errors``).

Auth, validation, the dashboard store and the fault injector raise :class:`ApiError`; the
routes in :mod:`upstack_pandas.emulator.http.routes` serialise it as the contract's error body
``{"message", "errors"?, "requiredScope"?}``. The engine's ``QueryError`` stays its own
class (the engine imports nothing from the web layer) and is mapped to a 400 by the routes.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any, TypedDict

__all__ = ["ApiError", "FieldError", "invalid_body", "view_not_found"]


class FieldError(TypedDict):
    """One entry of a 400 body's ``errors``: a dotted path into the body and a message."""

    path: str
    message: str


class ApiError(Exception):
    """An error response: HTTP status, message and the contract's optional extras.

    Parameters
    ----------
    status : int
        HTTP status code (400, 401, 403, 404, 429, 5xx).
    message : str
        The body's ``message``.
    errors : sequence of FieldError, optional
        Per-field details; only 400 responses carry them (an empty list is still sent).
    required_scope : str, optional
        On a 403 for a missing scope, the scope the operation needs (``requiredScope``).
    headers : mapping, optional
        Extra response headers, e.g. ``Retry-After``.
    """

    def __init__(
        self,
        status: int,
        message: str,
        *,
        errors: Sequence[FieldError] | None = None,
        required_scope: str | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.errors = list(errors) if errors is not None else None
        self.required_scope = required_scope
        self.headers = dict(headers or {})

    def body(self) -> dict[str, Any]:
        """Return the JSON body of the error response."""
        body: dict[str, Any] = {"message": self.message}
        if self.errors is not None:
            body["errors"] = [dict(e) for e in self.errors]
        if self.required_scope is not None:
            body["requiredScope"] = self.required_scope
        return body

    def __repr__(self) -> str:
        return f"ApiError({self.status}, {self.message!r})"


def view_not_found() -> ApiError:
    """Return the 404 for a missing view or another pixel's view (identical bodies)."""
    return ApiError(404, "Dashboard view not found")


def invalid_body(errors: Iterable[FieldError], message: str = "Invalid request body") -> ApiError:
    """Return the 400 carrying ``errors`` (sorted by path, duplicates dropped)."""
    unique = {(e["path"], e["message"]): e for e in errors}
    return ApiError(400, message, errors=[unique[k] for k in sorted(unique)])
