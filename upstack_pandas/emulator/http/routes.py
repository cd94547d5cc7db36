"""The API routes: parse → auth → validate → call the engine or the dashboard store → JSON.

Routes are built from the operations of ``spec/openapi.yaml`` (a route cannot exist without a
documented operation) and each is one line in :data:`_HANDLERS`. Everything else lives in
the modules named in the pipeline: :mod:`.auth`, :mod:`.validation`, :mod:`.dashboards` and
the engine (``Backend``, reached through :class:`ApiServices`; only its dependency-free
``engine_errors`` is imported here: ``QueryError`` → 400).
Control endpoints and fault injection wrap this app in ``server.py``.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from werkzeug.exceptions import HTTPException, MethodNotAllowed
from werkzeug.routing import Map, MapAdapter, Rule
from werkzeug.wrappers import Request, Response

from upstack_pandas.emulator.engine.api_errors import ApiError, FieldError
from upstack_pandas.emulator.engine.dashboards import DashboardStore
from upstack_pandas.emulator.engine.errors import DataLoadError, QueryError
from upstack_pandas.emulator.engine.resources.state import PixelState
from upstack_pandas.emulator.http.auth import KeyRing, check_body_pixel
from upstack_pandas.emulator.http.limits import MAX_BODY_BYTES, parse_json_body
from upstack_pandas.emulator.http.spec import Operation, operations
from upstack_pandas.emulator.http.validation import RequestValidator
from upstack_pandas.emulator.http.wire import error_response, json_response, new_request_id

__all__ = ["MAX_BODY_BYTES", "ApiApp", "ApiServices", "Engine"]

logger = logging.getLogger("upstack_pandas.emulator")


class Engine(Protocol):
    """What the routes call on a pixel's engine (``upstack_pandas.emulator.engine.backend.Backend``)."""

    now: datetime

    def measures(self, search: str | None = None) -> dict[str, Any]: ...
    def filters(self) -> dict[str, Any]: ...
    def measure_ids(self) -> set[str]: ...
    def catalog_entry(self, measure_id: str) -> dict[str, Any]: ...
    def query(self, body: Any) -> dict[str, Any]: ...
    def attribution(self, body: Any) -> dict[str, Any]: ...
    def cohorts(self, body: Any) -> dict[str, Any]: ...
    def channel_details(self, body: Any) -> dict[str, Any]: ...
    @property
    def state(self) -> PixelState: ...


@dataclass(frozen=True)
class ApiServices:
    """What the routes need.

    Attributes
    ----------
    keys : KeyRing
        Accepted keys (hashed) and authentication.
    dashboards : DashboardStore
        The dashboard views of every pixel.
    engine : callable
        Pixel id → that pixel's engine (built lazily by the caller).
    validator : RequestValidator
        Validates bodies and query parameters against the spec.
    """

    keys: KeyRing
    dashboards: DashboardStore
    engine: Callable[[str], Engine]
    validator: RequestValidator


@dataclass(frozen=True)
class Call:
    """A parsed, authenticated, validated request, as the handlers see it."""

    pixel: str
    body: Any
    path_args: Mapping[str, str]
    query: Mapping[str, str]
    key_name: str = ""

    @property
    def view_id(self) -> str:
        """The ``dashboardViewId`` path parameter."""
        return self.path_args["dashboardViewId"]

    @property
    def variant(self) -> tuple[str, str]:
        """The ``productId`` and ``variantId`` path parameters."""
        return self.path_args["productId"], self.path_args["variantId"]

    @property
    def actor(self) -> str:
        """The audit actor of an API-key mutation (``cli:{apiKeyPk}``)."""
        return f"cli:{self.key_name or 'key'}"


def _preset(s: ApiServices, c: Call) -> dict[str, Any]:
    engine = s.engine(c.pixel)
    return s.dashboards.from_preset(c.pixel, c.body, engine, engine.now.date())


_HANDLERS: dict[str, Callable[[ApiServices, Call], Any]] = {
    "runQuery": lambda s, c: s.engine(c.pixel).query(c.body),
    "runAttributionQuery": lambda s, c: s.engine(c.pixel).attribution(c.body),
    "runCohortAnalysis": lambda s, c: s.engine(c.pixel).cohorts(c.body),
    "listChannelDetails": lambda s, c: s.engine(c.pixel).channel_details(c.body),
    "listMeasures": lambda s, c: s.engine(c.pixel).measures(c.query.get("search")),
    "listFilters": lambda s, c: s.engine(c.pixel).filters(),
    "listDashboardViews": lambda s, c: {
        "dashboardViews": s.dashboards.summaries(c.pixel, c.query.get("type"))
    },
    "createDashboardView": lambda s, c: {"dashboardView": s.dashboards.create(c.pixel, c.body)},
    "getDashboardView": lambda s, c: {"dashboardView": s.dashboards.get(c.pixel, c.view_id)},
    "updateDashboardView": lambda s, c: {
        "dashboardView": s.dashboards.update(c.pixel, c.view_id, c.body)
    },
    "deleteDashboardView": lambda s, c: {
        "deleted": True,
        "id": s.dashboards.delete(c.pixel, c.view_id),
    },
    "copyDashboardView": lambda s, c: {
        "dashboardView": s.dashboards.copy(c.pixel, c.view_id, (c.body or {}).get("name"))
    },
    "createDashboardViewFromPreset": lambda s, c: {"dashboardView": _preset(s, c)},
    # account, costs, products, events: engine.resources (one module per resource)
    "getAccount": lambda s, c: _state(s, c).account.account(),
    "renameAccount": lambda s, c: _state(s, c).account.rename(c.body, c.actor),
    "getOrderSettings": lambda s, c: _state(s, c).account.order_settings(),
    "replaceOrderSettings": lambda s, c: _state(s, c).account.replace_order_settings(
        c.body, c.actor
    ),
    "getCosts": lambda s, c: _state(s, c).costs.show(c.query.get("type")),
    "updateGlobalProductOverride": lambda s, c: _state(s, c).set_global_override(c.body),
    "updateShippingSettings": lambda s, c: _state(s, c).set_shipping(c.body),
    "addCostLine": lambda s, c: _state(s, c).add_line(c.body),
    "updateCostLine": lambda s, c: _state(s, c).update_line(c.path_args["lineId"], c.body),
    "deleteCostLine": lambda s, c: _state(s, c).delete_line(
        c.path_args["lineId"], c.query["costType"]
    ),
    "searchProducts": lambda s, c: _state(s, c).products.search(
        c.query.get("q"), int(c.query.get("pageSize", 20)), c.query.get("cursor")
    ),
    "getVariantCost": lambda s, c: _state(s, c).resolved_cost(*c.variant),
    "setVariantHandlingFee": lambda s, c: _state(s, c).set_handling_fee(
        *c.variant, c.body["handlingFee"]
    ),
    "addCogLine": lambda s, c: _state(s, c).add_cog(*c.variant, c.body),
    "updateCogLine": lambda s, c: _state(s, c).update_cog(*c.variant, c.path_args["cogId"], c.body),
    "deleteCogLine": lambda s, c: _state(s, c).delete_cog(*c.variant, c.path_args["cogId"]),
    "sendEvents": lambda s, c: _state(s, c).events.ingest(c.body),
}


def _state(s: ApiServices, c: Call) -> PixelState:
    return s.engine(c.pixel).state


def _read_json(request: Request) -> Any:
    """Return the parsed JSON body, None when empty (size and encoding: ``limits.py``)."""
    return parse_json_body(request.get_data(cache=False))


class ApiApp:
    """The WSGI app of the documented API.

    Parameters
    ----------
    services : ApiServices
        Keys, dashboards, engines and the validator.
    """

    def __init__(self, services: ApiServices) -> None:
        self.services = services
        self._operations = {op.operation_id: op for op in operations()}
        missing = set(self._operations) ^ set(_HANDLERS)
        if missing:  # pragma: no cover - guards the spec and the table against drift
            raise RuntimeError(f"operations without handlers (or the reverse): {sorted(missing)}")
        self._routes = Map(
            [
                Rule(op.rule, endpoint=op.operation_id, methods=[op.method])
                for op in self._operations.values()
            ]
        )

    def __call__(
        self, environ: dict[str, Any], start_response: Callable[..., Any]
    ) -> Iterable[bytes]:
        request = Request(environ)
        request_id = new_request_id()
        try:
            response = self._dispatch(request, request_id)
        except ApiError as error:
            response = error_response(error, request_id=request_id)
        except QueryError as exc:
            errors: list[FieldError] = [
                {"path": str(e.get("path", "")), "message": str(e.get("message", ""))}
                for e in exc.errors
            ]
            bad_request = ApiError(400, exc.message, errors=errors)
            response = error_response(bad_request, request_id=request_id)
        except DataLoadError as exc:
            no_data = ApiError(500, f"The emulator's data could not be loaded: {exc}")
            response = error_response(no_data, request_id=request_id)
        except Exception:
            logger.exception("%s %s failed (%s)", request.method, request.path, request_id)
            response = error_response(ApiError(500, "Internal server error"), request_id=request_id)
        return response(environ, start_response)

    def _route(self, request: Request) -> tuple[Operation, Mapping[str, str]]:
        adapter = self._routes.bind_to_environ(request.environ)
        try:
            endpoint, args = adapter.match()
        except MethodNotAllowed:
            allow = ", ".join(self._allowed(adapter))
            raise ApiError(405, "Method not allowed", headers={"Allow": allow}) from None
        except HTTPException:
            raise ApiError(404, "Not found") from None
        return self._operations[endpoint], args

    def _allowed(self, adapter: MapAdapter) -> list[str]:
        """Return the methods of the most specific documented path matching the request."""
        paths: dict[str, str] = {}
        for method in {op.method for op in self._operations.values()}:
            try:
                endpoint, _ = adapter.match(method=method)
            except HTTPException:
                continue
            paths[method] = self._operations[endpoint].path
        exact = min(paths.values(), key=lambda path: path.count("{"))
        methods = {m for m, path in paths.items() if path == exact}
        return sorted(methods | ({"HEAD"} if "GET" in methods else set()))

    def _dispatch(self, request: Request, request_id: str) -> Response:
        operation, path_args = self._route(request)
        principal = self.services.keys.authenticate(
            request.headers.get("x-api-key"), request.headers.get("x-pixel-id"), operation.scope
        )
        body = _read_json(request) if operation.body_schema is not None else None
        if operation.pixel_in_body:
            check_body_pixel(body, principal)
        query = request.args.to_dict()
        self.services.validator.validate_query(operation, query)
        self.services.validator.validate_body(operation, body)
        call = Call(
            pixel=principal.pixel_id,
            body=body,
            path_args=path_args,
            query=query,
            key_name=principal.key_name,
        )
        result = _HANDLERS[operation.operation_id](self.services, call)
        return json_response(result, request_id=request_id)
