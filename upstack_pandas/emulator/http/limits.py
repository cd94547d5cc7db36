"""Request limits at the edge of the emulator: size, encoding, paths, JSON depth, deadlines.

:class:`RequestLimits` wraps the whole WSGI app (API and control endpoints alike) and, before
anything else sees the request:

- refuses a path with an empty segment (``//``) with the 404 every unknown route gets;
- refuses a ``Content-Length`` that is not a number, a ``Transfer-Encoding`` other than
  ``chunked`` and both headers at once with a 400;
- reads the body while counting: a declared length over :data:`MAX_BODY_BYTES` is a 413 before
  a byte is read, a chunked body is read in pieces and refused with a 413 as soon as it passes
  the limit (never more than the limit plus one piece is held); a broken chunk is a 400; a body
  that stops arriving is a 408 (the socket timeout of ``server.py``);
- refuses a body with a ``Content-Encoding`` other than ``identity`` or a ``Content-Type``
  that is not JSON in UTF-8 with a 415 (no ``Content-Type`` at all is read as JSON);
- turns an exception that escapes the app into the contract's 500 body.

The body, once read, replaces ``wsgi.input`` (with its exact ``CONTENT_LENGTH``), and the
server's read deadline is released (``environ[BODY_READ_KEY]``) and ``environ[BODY_DONE_KEY]``
says the connection may carry a next request; a request refused before its body was read
leaves it unset, so that connection is closed after the answer. :func:`parse_json_body`
parses it and refuses JSON nested deeper than :data:`MAX_JSON_DEPTH` (the engine, the
validator and the response encoder all recurse over documents). The decisions are D70-D76 of
``docs/contract.md``.
"""

from __future__ import annotations

import io
import logging
from collections.abc import Callable, Iterable
from typing import Any

import orjson

from upstack_pandas.emulator.engine.api_errors import ApiError, invalid_body
from upstack_pandas.emulator.http.wire import error_response, new_request_id

__all__ = [
    "BODY_DONE_KEY",
    "BODY_READ_KEY",
    "MAX_BODY_BYTES",
    "MAX_JSON_DEPTH",
    "RequestLimits",
    "json_depth",
    "parse_json_body",
]

logger = logging.getLogger("upstack_pandas.emulator")

#: Largest accepted request body, in bytes (D70).
MAX_BODY_BYTES = 1 << 20
#: Deepest accepted JSON nesting (objects and arrays; a scalar body is depth 0) (D71).
MAX_JSON_DEPTH = 64
#: ``environ`` key of the server's callback: "the request has been read" (stops its deadline).
BODY_READ_KEY = "upstack.emulator.request_read"
#: Set to ``True`` once the whole body was read: only then may the connection stay open (D102).
BODY_DONE_KEY = "upstack.emulator.body_done"

_PIECE = 64 * 1024
_JSON_TYPES = ("application/json",)
_UTF8 = {"utf-8", "utf8"}

StartResponse = Callable[..., Any]
WSGIApp = Callable[[dict[str, Any], StartResponse], Iterable[bytes]]


def json_depth(value: Any) -> int:
    """Return how deeply ``value`` nests objects and arrays (iteratively: no recursion limit)."""
    deepest = 0
    stack: list[tuple[Any, int]] = [(value, 0)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, dict):
            children: Iterable[Any] = item.values()
        elif isinstance(item, list):
            children = item
        else:
            continue
        depth += 1
        deepest = max(deepest, depth)
        stack.extend((child, depth) for child in children)
    return deepest


def parse_json_body(data: bytes) -> Any:
    """Return the parsed JSON ``data`` (None when blank); a 400 when invalid or too deep.

    Parameters
    ----------
    data : bytes
        The request body, already limited to :data:`MAX_BODY_BYTES`.

    Raises
    ------
    ApiError
        400 ``Request body is not valid JSON`` (not UTF-8, a byte order mark, ``NaN``, a
        number out of the double range, ...) or ``Request body is nested too deeply``.
    """
    if not data.strip():
        return None
    try:
        body = orjson.loads(data)
    except orjson.JSONDecodeError as exc:
        message = "Request body is not valid JSON"
        raise invalid_body([{"path": "", "message": str(exc)}], message) from None
    if json_depth(body) > MAX_JSON_DEPTH:
        detail = f"must not nest objects and arrays more than {MAX_JSON_DEPTH} levels deep"
        raise invalid_body([{"path": "", "message": detail}], "Request body is nested too deeply")
    return body


def _declared_length(environ: dict[str, Any]) -> int | None:
    raw = str(environ.get("CONTENT_LENGTH") or "").strip()
    if not raw:
        return None
    if not raw.isdigit():
        raise invalid_body(
            [{"path": "", "message": "Content-Length must be a non-negative integer"}],
            "Invalid request headers",
        )
    return int(raw)


def _transfer_codings(environ: dict[str, Any]) -> list[str]:
    raw = str(environ.get("HTTP_TRANSFER_ENCODING") or "")
    return [part.strip().lower() for part in raw.split(",") if part.strip()]


def _too_large() -> ApiError:
    return ApiError(413, f"Request body too large: at most {MAX_BODY_BYTES} bytes (1 MiB)")


def _read_body(environ: dict[str, Any]) -> bytes:
    """Read the request body without ever holding more than the limit plus one piece."""
    codings = _transfer_codings(environ)
    declared = _declared_length(environ)
    if codings:
        if codings != ["chunked"]:
            raise invalid_body(
                [{"path": "", "message": "only Transfer-Encoding: chunked is supported"}],
                "Invalid request headers",
            )
        if declared is not None:
            raise invalid_body(
                [{"path": "", "message": "send Content-Length or chunked, not both"}],
                "Invalid request headers",
            )
    elif declared is None or declared == 0:
        return b""  # HTTP/1.1: without either header a request has no body
    elif declared > MAX_BODY_BYTES:
        raise _too_large()
    stream = environ["wsgi.input"]
    remaining = MAX_BODY_BYTES + 1 if declared is None else declared
    pieces: list[bytes] = []
    size = 0
    try:
        while remaining > 0:
            piece = stream.read(min(_PIECE, remaining))
            if not piece:
                break
            pieces.append(piece)
            size += len(piece)
            remaining -= len(piece)
    except TimeoutError:
        raise ApiError(408, "Request timeout: the body did not arrive in time") from None
    except (OSError, ValueError) as exc:  # werkzeug's DechunkedInput: a broken chunk header
        raise invalid_body(
            [{"path": "", "message": f"the chunked body is malformed: {exc}"}],
            "Invalid request body",
        ) from None
    if size > MAX_BODY_BYTES:
        raise _too_large()
    if declared is not None and size < declared:
        raise invalid_body(
            [{"path": "", "message": f"the body ended after {size} of {declared} bytes"}],
            "Invalid request body",
        )
    return b"".join(pieces)


def _check_encoding(environ: dict[str, Any]) -> None:
    """415 unless the body is identity-encoded JSON in UTF-8 (no Content-Type: JSON)."""
    encoding = str(environ.get("HTTP_CONTENT_ENCODING") or "").strip().lower()
    if encoding not in {"", "identity"}:
        raise ApiError(415, "Unsupported Content-Encoding: send the JSON body uncompressed")
    raw_type = str(environ.get("CONTENT_TYPE") or "").strip()
    if not raw_type:
        return
    media, *params = (part.strip() for part in raw_type.split(";"))
    media = media.lower()
    is_json = media in _JSON_TYPES or (media.startswith("application/") and media.endswith("+json"))
    charset = next(
        (
            value.strip().strip('"').lower()
            for name, _, value in (p.partition("=") for p in params)
            if name.strip().lower() == "charset"
        ),
        "utf-8",
    )
    if not is_json or charset not in _UTF8:
        raise ApiError(415, "Unsupported Content-Type: send application/json (UTF-8)")


def _has_empty_segment(environ: dict[str, Any]) -> bool:
    raw = str(environ.get("RAW_URI") or environ.get("REQUEST_URI") or "")
    if "://" in raw:  # an absolute-form target: look at its path only
        raw = "/" + raw.split("://", 1)[1].partition("/")[2]
    path = raw.split("?", 1)[0]
    return "//" in path or "//" in str(environ.get("PATH_INFO", ""))


class RequestLimits:
    """WSGI middleware enforcing the request limits (see the module docstring).

    Parameters
    ----------
    app : WSGI application
        The emulator's dispatching app (API and control endpoints).
    """

    def __init__(self, app: WSGIApp) -> None:
        self.app = app

    def __call__(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        try:
            if _has_empty_segment(environ):
                raise ApiError(404, "Not found")
            body = _read_body(environ)
            if body:
                _check_encoding(environ)
        except ApiError as error:
            if not self._release(environ):  # the deadline watchdog has answered (its 408)
                raise ConnectionAbortedError("the request deadline answered first") from None
            headers = {"Connection": "close"} if error.status in {408, 413} else {}
            error.headers = {**error.headers, **headers}
            return error_response(error, request_id=new_request_id())(environ, start_response)
        if not self._release(environ):  # read whole just as the deadline answered: cut
            raise ConnectionAbortedError("the request deadline answered first")
        environ[BODY_DONE_KEY] = True  # the connection may carry another request (D102)
        environ["wsgi.input"] = io.BytesIO(body)
        environ["CONTENT_LENGTH"] = str(len(body))
        environ.pop("HTTP_TRANSFER_ENCODING", None)
        environ["wsgi.input_terminated"] = False
        try:
            return self.app(environ, start_response)
        except ConnectionError:
            raise  # a dropped connection (werkzeug answers nothing): not a server error
        except Exception:
            method, path = environ.get("REQUEST_METHOD"), environ.get("PATH_INFO")
            request_id = new_request_id()
            logger.exception("%s %s failed (%s)", method, path, request_id)
            failure = ApiError(500, "Internal server error")
            return error_response(failure, request_id=request_id)(environ, start_response)

    @staticmethod
    def _release(environ: dict[str, Any]) -> bool:
        """Tell the server the request was read; False when its deadline already answered."""
        release = environ.get(BODY_READ_KEY)
        return bool(release()) if callable(release) else True
