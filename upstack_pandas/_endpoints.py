"""The endpoint table: everything the client side knows about each documented operation.

One row per operation of the project's wire contract (``emulator/spec/openapi.yaml``): its
method, path template, operation id, the scope a key needs, its kind, whether the client fills
``pixelId`` into the body, its cache class and its tag. Transport, errors, retries and the cache
ask this table (``find``) instead of looking for substrings in the path, so a new endpoint gets
its policies by adding one row here (``tests/test_endpoints.py`` checks the table against the
spec, in both directions).

Kinds
    ``read``: an analytics query or a dashboard read (safe to retry, cacheable);
    ``catalog``: the measures and filters catalog (a read, cached long);
    ``write``: creates, changes or deletes something (retried only when it cannot have been
    applied, never cached; any write drops the cached ``dashboard-read`` and ``resource-read``
    responses).

Cache classes (which ``CachePolicy`` field decides freshness)
    ``catalog``: ``CachePolicy.catalog``;
    ``analytics-range``: ``settled`` or ``recent`` depending on the body's ``dateRange``;
    ``recent``: ``CachePolicy.recent`` (results that grow as time passes, e.g. cohorts);
    ``dashboard-read``: ``CachePolicy.dashboards`` (dropped by any write);
    ``resource-read``: ``CachePolicy.recent`` (account, order settings, costs, products: dropped
    by any write, so a read after a change never answers from before it);
    ``never``: not cached.

A request to a path the table does not know is a plain ``GET`` read (``recent``) or an uncached,
ordinary request; it needs no scope the client knows of.

This module is pure data: it imports only the standard library.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

__all__ = [
    "DROPPED_BY_WRITES",
    "ENDPOINTS",
    "CacheClass",
    "Endpoint",
    "Kind",
    "by_operation",
    "cache_class",
    "find",
    "injects_pixel_id",
    "is_read",
    "is_write",
    "required_scope",
]

Kind = Literal["read", "write", "catalog"]
CacheClass = Literal[
    "catalog", "analytics-range", "recent", "dashboard-read", "resource-read", "never"
]

#: Cache classes whose cached responses any documented write drops.
DROPPED_BY_WRITES: frozenset[str] = frozenset({"dashboard-read", "resource-read"})


@dataclass(frozen=True)
class Endpoint:
    """One documented operation.

    Attributes
    ----------
    operation : str
        The spec's ``operationId``, e.g. ``"runQuery"``.
    method : str
        Upper-case HTTP method.
    path : str
        Path template; ``{name}`` stands for one path segment (an id).
    scope : str or None
        The scope a key needs (``x-required-scope``); ``None``: any active key.
    kind : {"read", "write", "catalog"}
        See the module docstring.
    pixel_id_in_body : bool
        The client fills ``pixelId`` into the JSON body when the caller left it out.
    cache_class : {"catalog", "analytics-range", "recent", "dashboard-read", "resource-read", "never"}
        Which ``CachePolicy`` field decides how long a response stays fresh.
    tag : str
        The spec's tag (``Analytics``, ``Catalog``, ``Dashboards``, ``Account``, ``Costs``,
        ``Products``, ``Events``), for messages.
    """

    operation: str
    method: str
    path: str
    scope: str | None
    kind: Kind
    pixel_id_in_body: bool
    cache_class: CacheClass
    tag: str

    @property
    def segments(self) -> tuple[str, ...]:
        """The template split at ``/`` (without the leading empty segment)."""
        return tuple(self.path.strip("/").split("/"))

    def matches(self, method: str, path: str) -> bool:
        """Tell whether a concrete request (ids filled in) is this operation.

        Parameters
        ----------
        method : str
            HTTP method, any case.
        path : str
            Request path; a query string, a trailing slash and a prefix before the documented
            path (a base URL with a path of its own) are tolerated.

        Returns
        -------
        bool
        """
        return method.upper() == self.method and _segments_match(
            self.segments, _request_segments(path)
        )


def _request_segments(path: str) -> tuple[str, ...]:
    return tuple(path.split("?", 1)[0].split("#", 1)[0].strip("/").split("/"))


def _segments_match(template: tuple[str, ...], actual: tuple[str, ...]) -> bool:
    if len(actual) < len(template):
        return False
    tail = actual[len(actual) - len(template) :]
    for want, got in zip(template, tail, strict=True):
        if want.startswith("{") and want.endswith("}"):
            if not got:
                return False
        elif want != got:
            return False
    return True


def _literal_count(endpoint: Endpoint) -> int:
    return sum(not s.startswith("{") for s in endpoint.segments)


_ANALYTICS = "analytics:read"
_DASH_READ = "dashboards:read"
_DASH_WRITE = "dashboards:write"
_VIEWS = "/accounts/api/dashboard/views"
_ACCOUNT_READ, _ACCOUNT_WRITE = "account:read", "account:write"
_COSTS_READ, _COSTS_WRITE = "costs:read", "costs:write"
_ACCOUNT = "/accounts/api/account"
_COSTS = "/accounts/api/costs"
_VARIANT = "/accounts/api/products/{productId}/{variantId}"

#: Every documented operation, in the order of the spec.
ENDPOINTS: tuple[Endpoint, ...] = (
    Endpoint("runQuery", "POST", "/db-mgmt/api/query", _ANALYTICS, "read", True, "analytics-range", "Analytics"),
    Endpoint("runAttributionQuery", "POST", "/db-mgmt/api/query-attribution", _ANALYTICS, "read", True, "analytics-range", "Analytics"),
    Endpoint("runCohortAnalysis", "POST", "/db-mgmt/api/query-cohort-analysis", _ANALYTICS, "read", True, "recent", "Analytics"),
    Endpoint("listChannelDetails", "POST", "/db-mgmt/api/query-channel-details", _ANALYTICS, "read", True, "analytics-range", "Analytics"),
    Endpoint("listMeasures", "GET", "/db-mgmt/api/measures", None, "catalog", False, "catalog", "Catalog"),
    Endpoint("listFilters", "GET", "/db-mgmt/api/filters", _ANALYTICS, "catalog", False, "catalog", "Catalog"),
    Endpoint("listDashboardViews", "GET", _VIEWS, _DASH_READ, "read", False, "dashboard-read", "Dashboards"),
    Endpoint("createDashboardView", "POST", _VIEWS, _DASH_WRITE, "write", False, "never", "Dashboards"),
    Endpoint("getDashboardView", "GET", f"{_VIEWS}/{{dashboardViewId}}", _DASH_READ, "read", False, "dashboard-read", "Dashboards"),
    Endpoint("updateDashboardView", "PATCH", f"{_VIEWS}/{{dashboardViewId}}", _DASH_WRITE, "write", False, "never", "Dashboards"),
    Endpoint("deleteDashboardView", "DELETE", f"{_VIEWS}/{{dashboardViewId}}", _DASH_WRITE, "write", False, "never", "Dashboards"),
    Endpoint("copyDashboardView", "POST", f"{_VIEWS}/{{dashboardViewId}}/copy", _DASH_WRITE, "write", False, "never", "Dashboards"),
    Endpoint("createDashboardViewFromPreset", "POST", f"{_VIEWS}/from-preset", _DASH_WRITE, "write", False, "never", "Dashboards"),
    Endpoint("getAccount", "GET", _ACCOUNT, _ACCOUNT_READ, "read", False, "resource-read", "Account"),
    Endpoint("renameAccount", "PATCH", _ACCOUNT, _ACCOUNT_WRITE, "write", False, "never", "Account"),
    Endpoint("getOrderSettings", "GET", f"{_ACCOUNT}/settings/order", _ACCOUNT_READ, "read", False, "resource-read", "Account"),
    Endpoint("replaceOrderSettings", "PUT", f"{_ACCOUNT}/settings/order", _ACCOUNT_WRITE, "write", False, "never", "Account"),
    Endpoint("getCosts", "GET", _COSTS, _COSTS_READ, "read", False, "resource-read", "Costs"),
    Endpoint("updateGlobalProductOverride", "PUT", f"{_COSTS}/global-product-override", _COSTS_WRITE, "write", False, "never", "Costs"),
    Endpoint("updateShippingSettings", "PUT", f"{_COSTS}/shipping-settings", _COSTS_WRITE, "write", False, "never", "Costs"),
    Endpoint("addCostLine", "POST", f"{_COSTS}/lines", _COSTS_WRITE, "write", False, "never", "Costs"),
    Endpoint("updateCostLine", "PUT", f"{_COSTS}/lines/{{lineId}}", _COSTS_WRITE, "write", False, "never", "Costs"),
    Endpoint("deleteCostLine", "DELETE", f"{_COSTS}/lines/{{lineId}}", _COSTS_WRITE, "write", False, "never", "Costs"),
    Endpoint("searchProducts", "GET", "/accounts/api/products/search", _COSTS_READ, "read", False, "resource-read", "Products"),
    Endpoint("getVariantCost", "GET", f"{_VARIANT}/cost", _COSTS_READ, "read", False, "resource-read", "Products"),
    Endpoint("setVariantHandlingFee", "PUT", f"{_VARIANT}/handling-fee", _COSTS_WRITE, "write", False, "never", "Products"),
    Endpoint("addCogLine", "POST", f"{_VARIANT}/cogs", _COSTS_WRITE, "write", False, "never", "Products"),
    Endpoint("updateCogLine", "PUT", f"{_VARIANT}/cogs/{{cogId}}", _COSTS_WRITE, "write", False, "never", "Products"),
    Endpoint("deleteCogLine", "DELETE", f"{_VARIANT}/cogs/{{cogId}}", _COSTS_WRITE, "write", False, "never", "Products"),
    Endpoint("sendEvents", "POST", "/tr/api/events", "events:write", "write", False, "never", "Events"),
)  # fmt: skip

# Most literal segments first, so ``/views/from-preset`` wins over ``/views/{id}``.
_BY_SPECIFICITY = tuple(sorted(ENDPOINTS, key=lambda e: (-len(e.segments), -_literal_count(e))))
_BY_OPERATION = {e.operation: e for e in ENDPOINTS}
_FOUND: dict[tuple[str, str], Endpoint | None] = {}
_FOUND_MAX = 4096


def find(method: str, path: str) -> Endpoint | None:
    """Return the documented operation a concrete request is, or ``None`` for an unknown one.

    Parameters
    ----------
    method : str
        HTTP method, any case.
    path : str
        Request path with ids filled in, e.g. ``/accounts/api/dashboard/views/v_12``.

    Returns
    -------
    Endpoint or None
    """
    asked = (method, path)
    if asked in _FOUND:  # asked several times per request: remembered (a pure lookup)
        return _FOUND[asked]
    found = next((e for e in _BY_SPECIFICITY if e.matches(method, path)), None)
    if len(_FOUND) < _FOUND_MAX:  # paths with ids vary without end: the first ones only
        _FOUND[asked] = found
    return found


def by_operation(operation: str) -> Endpoint:
    """Return the row of an ``operationId``.

    Parameters
    ----------
    operation : str
        E.g. ``"runQuery"``.

    Returns
    -------
    Endpoint

    Raises
    ------
    KeyError
        When no documented operation has that id.
    """
    return _BY_OPERATION[operation]


def required_scope(method: str, path: str) -> str | None:
    """Return the scope a request needs (``None``: any key, or an unknown endpoint).

    Parameters
    ----------
    method, path : str

    Returns
    -------
    str or None
    """
    endpoint = find(method, path)
    return endpoint.scope if endpoint else None


def injects_pixel_id(method: str, path: str) -> bool:
    """Tell whether the client fills ``pixelId`` into this request's JSON body.

    Parameters
    ----------
    method, path : str

    Returns
    -------
    bool
    """
    endpoint = find(method, path)
    return endpoint is not None and endpoint.pixel_id_in_body


def is_write(method: str, path: str) -> bool:
    """Tell whether a request creates, changes or deletes something (a documented write).

    Parameters
    ----------
    method, path : str

    Returns
    -------
    bool
    """
    endpoint = find(method, path)
    return endpoint is not None and endpoint.kind == "write"


def cache_class(method: str, path: str) -> CacheClass:
    """Return the cache class of a request; unknown ``GET``\\s are ``recent``, others ``never``.

    Parameters
    ----------
    method, path : str

    Returns
    -------
    {"catalog", "analytics-range", "recent", "dashboard-read", "resource-read", "never"}
    """
    endpoint = find(method, path)
    if endpoint is not None:
        return endpoint.cache_class
    return "recent" if method.upper() == "GET" else "never"


def is_read(method: str, path: str) -> bool:
    """Tell whether a request only reads (so its response may be cached and counted as a lookup).

    Parameters
    ----------
    method, path : str

    Returns
    -------
    bool
    """
    return cache_class(method, path) != "never"
