"""Emulator-only control endpoints under ``/_emulator/`` (never on the real API).

No auth, loopback clients only (others get a 403):

- ``GET /_emulator/health`` → ``{"status": "ok", ...}``
- ``POST /_emulator/faults`` (body: the spec's ``EmulatorFault``) → ``{"fault": {...}}``
- ``GET /_emulator/faults`` → ``{"faults": [...]}``
- ``DELETE /_emulator/faults`` → ``{"cleared": n}``
- ``POST /_emulator/reset`` → ``{"reset": true}`` (dashboards, faults and the account, costs,
  products and events state of every pixel)
- ``GET /_emulator/state`` → ``{"pixels": {pixel: {...}}}``: per built pixel, the cost
  configuration, the variants with cost data, the account audit and the events received
  (``?events=N``: the latest N stored events, default 100)
"""

from __future__ import annotations

import ipaddress
from collections.abc import Callable, Iterable
from typing import Any, cast

import orjson
from werkzeug.exceptions import HTTPException
from werkzeug.routing import Map, Rule
from werkzeug.wrappers import Request, Response

from upstack_pandas.emulator.engine.api_errors import ApiError
from upstack_pandas.emulator.http.faults import Fault, FaultInjector
from upstack_pandas.emulator.http.validation import RequestValidator
from upstack_pandas.emulator.http.wire import error_response, json_response

__all__ = ["PREFIX", "ControlApp"]

PREFIX = "/_emulator/"

_ROUTES = Map(
    [
        Rule("/_emulator/health", endpoint="health", methods=["GET"]),
        Rule("/_emulator/faults", endpoint="list_faults", methods=["GET"]),
        Rule("/_emulator/faults", endpoint="add_fault", methods=["POST"]),
        Rule("/_emulator/faults", endpoint="clear_faults", methods=["DELETE"]),
        Rule("/_emulator/reset", endpoint="reset", methods=["POST"]),
        Rule("/_emulator/state", endpoint="state", methods=["GET"]),
    ]
)


def _is_loopback(address: str | None) -> bool:
    try:
        return address is not None and ipaddress.ip_address(address).is_loopback
    except ValueError:
        return False


class ControlApp:
    """WSGI app of the control endpoints.

    Parameters
    ----------
    injector : FaultInjector
        Where ``/_emulator/faults`` adds and clears faults.
    reset : callable
        Clears dashboards and faults (``POST /_emulator/reset``).
    health : callable
        Returns the health payload's extra fields (pixels, seed, ...).
    validator : RequestValidator
        Validates fault bodies against the spec's ``EmulatorFault`` schema.
    state : callable, optional
        Returns the ``GET /_emulator/state`` body for a number of events to include.
    """

    def __init__(
        self,
        injector: FaultInjector,
        *,
        reset: Callable[[], None],
        health: Callable[[], dict[str, Any]],
        validator: RequestValidator,
        state: Callable[[int], dict[str, Any]] | None = None,
    ) -> None:
        self._state = state if state is not None else (lambda _limit: {"pixels": {}})
        self._injector = injector
        self._reset = reset
        self._health = health
        self._validator = validator

    def __call__(
        self, environ: dict[str, Any], start_response: Callable[..., Any]
    ) -> Iterable[bytes]:
        request = Request(environ)
        try:
            response = self._dispatch(request)
        except ApiError as error:
            response = error_response(error)
        return response(environ, start_response)

    def _dispatch(self, request: Request) -> Response:
        if not _is_loopback(request.remote_addr):
            raise ApiError(403, "Control endpoints answer loopback clients only")
        try:
            endpoint, _ = _ROUTES.bind_to_environ(request.environ).match()
        except HTTPException as exc:
            raise ApiError(exc.code or 404, exc.name) from None
        if endpoint == "health":
            return json_response({"status": "ok", **self._health()})
        if endpoint == "list_faults":
            return json_response({"faults": [f.to_json() for f in self._injector.active()]})
        if endpoint == "clear_faults":
            return json_response({"cleared": self._injector.clear()})
        if endpoint == "reset":
            self._reset()
            return json_response({"reset": True})
        if endpoint == "state":
            raw = request.args.get("events", "100")
            if not raw.isdigit() or int(raw) > 10_000:
                raise ApiError(400, "events must be an integer between 0 and 10000")
            return json_response(self._state(int(raw)))
        data = request.get_data()
        try:
            body = orjson.loads(data) if data else None
        except orjson.JSONDecodeError:
            raise ApiError(400, "Request body is not valid JSON") from None
        self._validator.check("EmulatorFault", body)  # so body is a valid fault object
        fault = self._injector.add(Fault.from_json(cast(dict[str, Any], body)))
        return json_response({"fault": fault.to_json()})
