"""What a successful request returns: ``ApiResponse``, plus cheap checks on response bodies."""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import TYPE_CHECKING, Any

import orjson
from requests.structures import CaseInsensitiveDict

from upstack_pandas._endpoints import is_write
from upstack_pandas._errors import UNKNOWN_OUTCOME, TransportError, request_id_from_headers

if TYPE_CHECKING:
    import requests

__all__ = ["ApiResponse", "build_response", "fetched_at", "json_with", "looks_like_json"]

_UNPARSED: Any = object()
_JSON_START = re.compile(rb"\s*[\[{]")


def looks_like_json(content: bytes) -> bool:
    """Cheap check that a body is a whole JSON object or array (not empty, not truncated).

    Parameters
    ----------
    content : bytes

    Returns
    -------
    bool
    """
    if not content or _JSON_START.match(content) is None:
        return False
    return content[-64:].rstrip()[-1:] in (b"}", b"]")


@dataclass(frozen=True)
class ApiResponse:
    """A successful response.

    Attributes
    ----------
    status : int
    method, path : str
    content : bytes
        The raw body.
    headers : mapping of str to str
        Response headers (case-insensitive).
    from_cache : bool
        Whether the response came from the local cache.
    fetched_at : datetime
        When the server produced it (UTC; for a cache hit, the original fetch).
    request_id : str or None
        The server's request id.
    elapsed : float or None
        Seconds from sending the request to its response headers (``requests``'
        ``Response.elapsed``); None for a response read from the cache.
    """

    status: int
    method: str
    path: str
    content: bytes = field(repr=False)
    headers: Mapping[str, str] = field(repr=False)
    from_cache: bool
    fetched_at: datetime
    request_id: str | None
    elapsed: float | None = field(default=None, compare=False)
    _parsed: Any = field(default=_UNPARSED, repr=False, compare=False)
    _on_bad_body: Callable[[], None] | None = field(default=None, repr=False, compare=False)

    def __getstate__(self) -> dict[str, Any]:
        # The cache callback is process-local: leave it out so responses pickle.
        return {**self.__dict__, "_on_bad_body": None}

    def __setstate__(self, state: dict[str, Any]) -> None:
        for name, value in state.items():
            object.__setattr__(self, name, value)

    def json(self) -> Any:
        """Decode the body (once; later calls return the same object).

        Returns
        -------
        Any

        Raises
        ------
        TransportError
            When the body is not valid JSON.
        """
        if self._parsed is not _UNPARSED:
            return self._parsed
        try:
            parsed = orjson.loads(self.content)
        except orjson.JSONDecodeError:
            if self._on_bad_body is not None:
                self._on_bad_body()
            raise TransportError(
                f"the response body is not valid JSON ({len(self.content)} bytes)",
                status=self.status,
                method=self.method,
                path=self.path,
                request_id=self.request_id,
                hint="retry with refresh=True; if it persists, contact support with the request id",
            ) from None
        object.__setattr__(self, "_parsed", parsed)
        return parsed

    def unexpected(self, problem: str) -> TransportError:
        """The error for a body that is JSON but not the shape the contract promises.

        Like a body that is not JSON at all, it is dropped from the cache, so asking again
        fetches it anew: an empty frame must never stand in for an answer that did not come.

        Parameters
        ----------
        problem : str
            What was expected, e.g. ``"a JSON object with a 'results' list"``.

        Returns
        -------
        TransportError
        """
        if self._on_bad_body is not None:
            self._on_bad_body()
        hint = "retry; if it persists, contact support with the request id"
        if is_write(self.method, self.path):
            hint = f"{UNKNOWN_OUTCOME}; if it persists, contact support with the request id"
        return TransportError(
            f"the response body is not the JSON promised: {problem}",
            status=self.status,
            method=self.method,
            path=self.path,
            request_id=self.request_id,
            hint=hint,
        )


def json_with(response: ApiResponse, key: str, kind: type | tuple[type, ...] = list) -> Any:
    """Decode a body that must be a JSON object whose ``key`` holds a ``kind`` (a list...).

    Parameters
    ----------
    response : ApiResponse
    key : str
        The member the contract promises, e.g. ``"measures"``.
    kind : type or tuple of types
        Its JSON type (``list`` or ``dict``).

    Returns
    -------
    dict
        The decoded body.

    Raises
    ------
    TransportError
        When the body is not JSON, or not an object with that member.
    """
    body = response.json()
    if isinstance(body, dict) and isinstance(body.get(key), kind):
        return body
    name = "a list" if kind is list else "an object" if kind is dict else "a value"
    raise response.unexpected(f"expected a JSON object whose {key!r} is {name}")


def fetched_at(headers: Mapping[str, str], created_at: object, from_cache: bool) -> datetime:
    """When the server produced a response: its ``Date`` header, else the cache or local clock.

    Parameters
    ----------
    headers : mapping
        Response headers.
    created_at : object
        The cache's record of when it stored the response (used for hits without ``Date``).
    from_cache : bool

    Returns
    -------
    datetime
        Tz-aware, UTC.
    """
    date = headers.get("Date")
    if date:
        try:
            parsed = parsedate_to_datetime(date)
        except (TypeError, ValueError, IndexError):
            pass
        else:
            return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)
    if from_cache and isinstance(created_at, datetime):
        return created_at.astimezone(UTC)
    return datetime.now(UTC)


def build_response(
    method: str,
    path: str,
    response: requests.Response,
    on_bad_body: Callable[[], None] | None = None,
) -> ApiResponse:
    """Check a successful ``requests`` response's body and wrap it.

    Parameters
    ----------
    method, path : str
        The request.
    response : requests.Response
        A 2xx response (possibly from the cache).
    on_bad_body : callable, optional
        Called when the body turns out not to be JSON (drops a cached copy).

    Returns
    -------
    ApiResponse

    Raises
    ------
    TransportError
        For an empty body, or one that is clearly not a JSON object or array.
    """
    from_cache = bool(getattr(response, "from_cache", False))
    content = response.content or b""
    request_id = request_id_from_headers(response.headers)
    if not looks_like_json(content):
        if on_bad_body is not None:
            on_bad_body()
        what = "an empty body" if not content else f"a body that is not JSON ({len(content)} bytes)"
        raise TransportError(
            f"the server sent {what}",
            status=response.status_code,
            method=method,
            path=path,
            request_id=request_id,
            hint="retry; if it persists, contact support with the request id",
        )
    return ApiResponse(
        status=response.status_code,
        method=method,
        path=path,
        content=content,
        headers=CaseInsensitiveDict(response.headers),
        from_cache=from_cache,
        fetched_at=fetched_at(response.headers, getattr(response, "created_at", None), from_cache),
        request_id=request_id,
        elapsed=None if from_cache else _elapsed(response),
        _on_bad_body=on_bad_body,
    )


def _elapsed(response: requests.Response) -> float | None:
    """``response.elapsed`` in seconds (None when the session did not set it)."""
    elapsed = getattr(response, "elapsed", None)
    seconds = getattr(elapsed, "total_seconds", None)
    return float(seconds()) if callable(seconds) else None
