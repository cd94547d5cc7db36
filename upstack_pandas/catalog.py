"""The measures and filters catalog: search, title → id resolution, closest-id suggestions.

The catalog (``GET /db-mgmt/api/measures``) is fetched once per client and kept on it
(``client._catalog``), so resolving ``"NC ROAS"`` to ``core.new_customer_roas`` costs no request
after the first. Catalogs fetched in this process are also remembered, weakly (plus the last few
strongly), in a read-only recovery index: :func:`known_entries` looks measure ids up there when
pandas dropped a frame's attrs. That index never fetches and no read depends on it. Response
field names (``measures``, ``dimensions``, ``filters``, ``id``) come from
:mod:`upstack_pandas._wire`.
"""

from __future__ import annotations

import collections
import difflib
import threading
import weakref
from collections.abc import Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

import pandas as pd

from upstack_pandas import _wire as wire
from upstack_pandas._errors import ValidationError, invalid_argument
from upstack_pandas._frames.builders import resolve_dtype

if TYPE_CHECKING:
    from upstack_pandas._transport.client import Client

__all__ = ["Catalog", "filters", "get_catalog", "measures"]

MEASURES_PATH = "/db-mgmt/api/measures"
FILTERS_PATH = "/db-mgmt/api/filters"

MEASURE_COLUMNS = (
    "title",
    "shortTitle",
    "description",
    "category",
    "format",
    "isAverage",
    "isPercentage",
    "preferredTrendDirection",
    "currency",
    "dimensions",
    "contexts",
)
FILTER_COLUMNS = ("title", "type", "operators", "contexts", "values")


class Catalog:
    """One client's measures and dimensions, indexed for lookups."""

    def __init__(
        self, measures: Iterable[Mapping[str, Any]], dimensions: Iterable[Mapping[str, Any]] = ()
    ):
        self.entries: dict[str, dict[str, Any]] = {
            key: dict(m) for m in measures if (key := wire.entry_id(m)) is not None
        }
        self.dimensions: dict[str, dict[str, Any]] = {
            key: dict(d) for d in dimensions if (key := wire.entry_id(d)) is not None
        }
        self._by_title: dict[str, list[str]] = {}
        for mid, entry in self.entries.items():
            for key in ("title", "shortTitle"):
                title = entry.get(key)
                if isinstance(title, str) and title:
                    ids = self._by_title.setdefault(title.casefold(), [])
                    if mid not in ids:
                        ids.append(mid)

    @classmethod
    def from_json(cls, body: Any) -> Catalog:
        measures, dimensions = wire.catalog_lists(body)
        return cls(measures, dimensions)

    def get(self, measure_id: str) -> dict[str, Any] | None:
        return self.entries.get(measure_id)

    def _ids_in(self, context: str | None) -> list[str]:
        return [m for m, e in self.entries.items() if _in_context(e, context)]

    def closest(self, name: str, *, context: str | None = None, n: int = 5) -> list[str]:
        """Catalog ids closest to ``name`` (by id, title or short title)."""
        ids = self._ids_in(context)
        key = name.casefold()
        candidates: dict[str, str] = {m.casefold(): m for m in ids}
        for mid in ids:
            for field in ("title", "shortTitle"):
                title = self.entries[mid].get(field)
                if isinstance(title, str) and title.casefold() not in candidates:
                    candidates[title.casefold()] = mid
        matches = difflib.get_close_matches(key, list(candidates), n=n * 3, cutoff=0.4)
        found = list(dict.fromkeys(candidates[m] for m in matches))
        if len(found) < n:  # also offer ids that contain the name
            found += [m for m in ids if key in m.casefold() and m not in found]
        return found[:n]

    def resolve(self, names: Sequence[str], *, context: str | None = None) -> tuple[str, ...]:
        """Measure ids for ids, titles or short titles (case-insensitive); ValueError otherwise."""
        resolved: list[str] = []
        for name in names:
            mid = self._resolve_one(name, context)
            if mid in resolved:
                raise _catalog_error(f"measure {name!r} is {mid!r}, which is already asked for")
            resolved.append(mid)
        return tuple(resolved)

    def _resolve_one(self, name: str, context: str | None) -> str:
        if name in self.entries:
            mid = name
        else:
            folded = name.casefold()
            by_id = [m for m in self.entries if m.casefold() == folded]
            ids = by_id or self._by_title.get(folded, [])
            if len(ids) > 1:
                raise _catalog_error(
                    f"measure {name!r} is ambiguous: it names {', '.join(ids)}; use an id"
                )
            if not ids:
                suggestions = self.closest(name, context=context)
                hint = f"; closest catalog ids: {', '.join(suggestions)}" if suggestions else ""
                raise _catalog_error(
                    f"unknown measure {name!r}{hint} (see upstack_pandas.measures())"
                )
            mid = ids[0]
        if not _in_context(self.entries[mid], context):
            suggestions = self.closest(name, context=context)
            hint = f"; closest ids that can: {', '.join(suggestions)}" if suggestions else ""
            raise _catalog_error(
                f"measure {mid!r} cannot be used in a {context} request "
                f"(contexts: {', '.join(self.entries[mid].get('contexts') or [])}){hint}"
            )
        return mid

    def check_dimensions(self, dimensions: Sequence[str], measure_ids: Sequence[str] = ()) -> None:
        """ValueError for dimensions the catalog does not know or a measure does not support."""
        if not self.dimensions:
            return
        for dim in dimensions:
            if dim not in self.dimensions:
                close = difflib.get_close_matches(dim, list(self.dimensions), n=5, cutoff=0.4)
                hint = f"; closest: {', '.join(close)}" if close else ""
                raise _catalog_error(f"unknown dimension {dim!r}{hint}")
            for mid in measure_ids:
                supported = (self.entries.get(mid) or {}).get("dimensions")
                if isinstance(supported, list) and dim not in supported:
                    raise _catalog_error(f"measure {mid!r} does not support dimension {dim!r}")

    def frame(self, search: str | None = None) -> pd.DataFrame:
        """The catalog as a DataFrame indexed by measure id, best matches first."""
        return _frame(self.entries, MEASURE_COLUMNS, search)


def _in_context(entry: Mapping[str, Any], context: str | None) -> bool:
    contexts = entry.get("contexts")
    return context is None or not isinstance(contexts, list) or context in contexts


# ------------------------------------------------------------------------------------ search


def score(entry: Mapping[str, Any], entry_id: str, query: str) -> int:
    """How well ``query`` matches an entry: 0 = no match; every word must match somewhere."""
    total = 0
    for word in query.casefold().split():
        best = 0
        for field, weight in (("id", 3), ("title", 3), ("shortTitle", 3), ("description", 1)):
            text = entry_id if field == "id" else entry.get(field)
            if not isinstance(text, str):
                continue
            text = text.casefold()
            if text == word:
                points = 100
            elif text.startswith(word):
                points = 60
            elif any(
                part.startswith(word) for part in text.replace(".", " ").replace("_", " ").split()
            ):
                points = 40
            elif word in text:
                points = 20
            else:
                continue
            best = max(best, points * weight)
        if not best:
            return 0
        total += best
    return total


def _frame(
    entries: Mapping[str, Mapping[str, Any]], columns: Sequence[str], search: str | None
) -> pd.DataFrame:
    ids = list(entries)
    if search is not None and search.strip():
        scores = {i: score(entries[i], i, search) for i in ids}
        ids = sorted((i for i in ids if scores[i]), key=lambda i: -scores[i])
    extra = [k for i in ids for k in entries[i] if k != "id" and k not in columns]
    names = [*columns, *dict.fromkeys(extra)]
    rows = [[entries[i].get(c) for c in names] for i in ids]
    frame = pd.DataFrame(rows, index=pd.Index(ids, name="id", dtype=_str_dtype()), columns=names)
    for column in ("isAverage", "isPercentage"):
        if column in frame and frame[column].notna().all():
            frame[column] = frame[column].astype(bool)
    return frame


def _str_dtype() -> Any:
    return resolve_dtype("dimension")


# ----------------------------------------------------------------------------------- caching

_LOCK = threading.Lock()
# Recovery index (read-only, never fetched into): the catalogs of live clients, weakly, and the
# last few even when their client is gone (a frame may outlive the client that read it).
_SEEN: weakref.WeakSet[Catalog] = weakref.WeakSet()
_RECENT: collections.deque[Catalog] = collections.deque(maxlen=4)


def get_catalog(client: Client, *, refresh: bool = False) -> Catalog:
    """The client's catalog, fetched on first use (or when ``refresh``) and kept on the client."""
    cached: Catalog | None = getattr(client, "_catalog", None)
    if cached is not None and not refresh:
        return cached
    from upstack_pandas._transport.response import json_with  # the transport loads on first use

    body = json_with(client.get(MEASURES_PATH, refresh=refresh), wire.CATALOG_MEASURES)
    catalog = Catalog.from_json(body)
    with _LOCK:
        client._catalog = catalog
        _SEEN.add(catalog)
        _RECENT.append(catalog)
    return catalog


def cached_catalogs() -> list[Catalog]:
    """Catalogs fetched in this process: the last few, then those of live clients (no fetch)."""
    with _LOCK:
        found = list(_RECENT)
        return found + [c for c in _SEEN if all(c is not f for f in found)]


def known_entries(ids: Iterable[str]) -> dict[str, dict[str, Any]]:
    """Catalog entries for those ``ids`` that are measure ids, from catalogs already fetched.

    Never sends a request: with no catalog fetched yet in this process the result is empty.
    """
    catalogs = cached_catalogs()
    found: dict[str, dict[str, Any]] = {}
    for mid in ids:
        for catalog in reversed(catalogs):
            if (entry := catalog.get(mid)) is not None:
                found[mid] = entry
                break
    return found


def _catalog_error(message: str) -> ValidationError:
    """A measure or dimension the catalog does not allow: found before any request."""
    return invalid_argument(
        "dimensions" if "dimension" in message else "measures",
        message,
        hint="see upstack_pandas.measures() for the ids, titles and their dimensions",
    )


def resolve_client(client: Client | None) -> Client:
    """``client``, or the default client when it is None (``ValidationError`` for a non-client)."""
    if client is None:
        from upstack_pandas._transport.client import (
            get_default_client,  # loads requests: on first use
        )

        return get_default_client()
    if not callable(getattr(client, "post", None)):
        raise invalid_argument(
            "client",
            f"client must be an upstack_pandas.Client, not {type(client).__name__}",
            hint="pass client=up.Client(...), or leave it out for the default client",
            wrong_type=True,
        )
    return client


def measures(
    search: str | None = None, *, client: Client | None = None, refresh: bool = False
) -> pd.DataFrame:
    """The measures catalog as a DataFrame indexed by measure id.

    Parameters
    ----------
    search
        Words to look for in each measure's id, title, short title and description
        (case-insensitive; every word must match). Best matches come first: exact ids and
        titles, then prefixes, word starts, substrings, and description matches last.
    client
        The client to use; the default client when omitted.
    refresh
        Fetch the catalog again instead of using the copy kept for this client.

    Returns
    -------
    pandas.DataFrame
        Columns ``title``, ``shortTitle``, ``description``, ``category``, ``format``,
        ``isAverage``, ``isPercentage``, ``preferredTrendDirection``, ``currency``,
        ``dimensions`` (supported dimension ids) and ``contexts``, plus any further fields the
        API sends.

    Examples
    --------
    >>> import upstack_pandas as up
    >>> up.measures("roas").head()  # doctest: +SKIP
    """
    return get_catalog(resolve_client(client), refresh=refresh).frame(search)


def filters(
    search: str | None = None, *, client: Client | None = None, refresh: bool = False
) -> pd.DataFrame:
    """The filter fields as a DataFrame indexed by field id (``orders.customer_type``...).

    Parameters
    ----------
    search
        Words to look for in the field id, title and values, best matches first (see
        :func:`measures`).
    client
        The client to use; the default client when omitted.
    refresh
        Bypass the HTTP cache.

    Returns
    -------
    pandas.DataFrame
        Columns ``title``, ``type``, ``operators``, ``contexts`` and ``values``.
    """
    from upstack_pandas._transport.response import json_with

    body = json_with(resolve_client(client).get(FILTERS_PATH, refresh=refresh), wire.FILTERS)
    items = wire.filter_list(body)
    entries = {key: f for f in items if (key := wire.entry_id(f)) is not None}
    return _frame(entries, FILTER_COLUMNS, search)
