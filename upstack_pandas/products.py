"""Products: search the catalog as a DataFrame, resolved variant costs, handling fees, COGS.

The functions use the default client (looked up at call time) unless given ``client=``.
Reads need the ``costs:read`` scope, writes ``costs:write``::

    import upstack_pandas as up

    variants = up.products.search("tee")          # one row per variant, every page
    up.products.variant_costs(variants)           # the resolved unit cost of each
    up.products.upsert_cogs(sheet, dry_run=True)  # add / update / delete per COG line

A product write recalculates the COGS-based measures, so the client's cached responses are
dropped after it (contract D95).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

import pandas as pd

from upstack_pandas import _wire as wire
from upstack_pandas._readers.progress import Progress, progress_enabled
from upstack_pandas._resources.checks import (
    check_date,
    check_id,
    check_money,
    check_text,
    invalid,
    is_missing,
    table_records,
)
from upstack_pandas._resources.session import after_cost_change, resolve
from upstack_pandas._resources.writes import PartialWriteError, apply_plan, plan_frame
from upstack_pandas._transport.response import json_with

if TYPE_CHECKING:
    from upstack_pandas._transport.client import Client
    from upstack_pandas._transport.response import ApiResponse

__all__ = [
    "PartialWriteError",
    "add_cog_line",
    "cog_lines",
    "delete_cog_line",
    "search",
    "search_page",
    "set_handling_fee",
    "update_cog_line",
    "upsert_cogs",
    "variant_costs",
]

PRODUCTS_PATH = "/accounts/api/products"
VARIANT_COLUMNS = (
    "productId", "productTitle", "vendor", "variantId", "sku", "variantTitle", "handlingFee",
    "cogLines",
)  # fmt: skip
COG_COLUMNS = (
    "productId", "variantId", "id", "cost", "effectiveStartDate", "effectiveEndDate",
    "description",
)  # fmt: skip
COST_COLUMNS = (
    "productId", "variantId", "effectiveCost", "handlingFee", "currency", "source",
    "activeCogLineId",
)  # fmt: skip
_MAX_PAGE = 100


def _variant_path(product_id: str, variant_id: str, parameter: str = "") -> str:
    check_id(f"{parameter}product_id", product_id)
    check_id(f"{parameter}variant_id", variant_id)
    return f"{PRODUCTS_PATH}/{product_id}/{variant_id}"


# ----------------------------------------------------------------------------- reads


def _search_products(
    api: Client, query: str | None, page_size: int, progress: bool | None
) -> list[dict[str, Any]]:
    _check_search(query, page_size)
    products: list[dict[str, Any]] = []
    cursor: str | None = None
    seen: set[str] = set()
    enabled = progress_enabled(progress, getattr(api, "progress", None))
    with Progress(None, desc="products", enabled=enabled) as bar:
        while True:
            response, page = _fetch_page(api, query, page_size, cursor)
            products.extend(page.items)
            bar.update(len(page.items))
            cursor = page.next_cursor
            if cursor is None:
                return products
            if cursor in seen:  # a server that repeats itself must not loop forever
                raise response.unexpected("a 'nextCursor' not seen before")
            seen.add(cursor)


def _check_search(query: Any, page_size: Any) -> None:
    if query is not None and not isinstance(query, str):
        raise invalid("query", f"expected a string, got {type(query).__name__}", "pass text")
    if (
        isinstance(page_size, bool)
        or not isinstance(page_size, int)
        or not (1 <= page_size <= _MAX_PAGE)
    ):
        raise invalid("page_size", f"{page_size!r} is outside 1–100", "use 1 to 100")


def _fetch_page(
    api: Client, query: str | None, page_size: int, cursor: str | None
) -> tuple[ApiResponse, wire.CursorPage]:
    """One page of a product search (the page at ``cursor``; ``None``: the first)."""
    params: dict[str, Any] = {"pageSize": page_size}
    if query:
        params["q"] = query
    if cursor:
        params["cursor"] = cursor
    response = api.get(f"{PRODUCTS_PATH}/search", params=params)
    return response, wire.cursor_page(json_with(response, wire.ITEMS, list))


def search(
    query: str | None = None,
    *,
    page_size: int = 100,
    progress: bool | None = None,
    client: Client | None = None,
) -> pd.DataFrame:
    """Search the product catalog, following the cursor to the last page.

    Parameters
    ----------
    query : str, optional
        A case-insensitive substring of the product title, or of a variant's title or SKU;
        ``None`` lists every product.
    page_size : int
        Products per request (1–100).
    progress : bool, optional
        Show a progress bar (default: as the client's ``progress`` setting decides).
    client : Client, optional
        Defaults to the default client.

    Returns
    -------
    pandas.DataFrame
        One row per variant (a matching product comes with all its variants): ``productId``,
        ``productTitle``, ``vendor``, ``variantId``, ``sku``, ``variantTitle``,
        ``handlingFee`` (float) and ``cogLines`` (how many manual COG lines it has; see
        :func:`cog_lines`).

    Raises
    ------
    PermissionDenied
        The key lacks ``costs:read``.
    """
    products = _search_products(resolve(client), query, page_size, progress)
    return _variants_frame(products)


def search_page(
    query: str | None = None,
    *,
    cursor: str | None = None,
    page_size: int = 100,
    client: Client | None = None,
) -> tuple[pd.DataFrame, str | None]:
    """One page of a product search, and the cursor of the next page.

    Parameters
    ----------
    query : str, optional
        As for :func:`search`.
    cursor : str, optional
        The ``next_cursor`` of the page before; ``None``: the first page.
    page_size : int
        Products on the page (1–100).
    client : Client, optional
        Defaults to the default client.

    Returns
    -------
    frame : pandas.DataFrame
        The page's variants, with the columns of :func:`search`.
    next_cursor : str or None
        Pass it as ``cursor=`` for the next page; ``None`` after the last page.

    Raises
    ------
    ValidationError
        A bad argument (before any request), or a cursor the API does not know (its 400).
    PermissionDenied
        The key lacks ``costs:read``.
    """
    _check_search(query, page_size)
    if cursor is not None and (not isinstance(cursor, str) or not cursor):
        raise invalid("cursor", f"{cursor!r} is not a cursor", "pass the next_cursor of a page")
    _, page = _fetch_page(resolve(client), query, page_size, cursor)
    return _variants_frame(page.items), page.next_cursor


def _variants_frame(products: Sequence[Mapping[str, Any]]) -> pd.DataFrame:
    """Search results (product objects) as the frame of :func:`search`, one row per variant."""
    rows = [_variant_row(v) for p in products for v in wire.product_variants(p)]
    frame = pd.DataFrame(rows, columns=list(VARIANT_COLUMNS))
    frame["handlingFee"] = pd.to_numeric(frame["handlingFee"]).astype("float64")
    frame["cogLines"] = frame["cogLines"].astype("int64")
    return frame


def _variant_row(variant: wire.VariantRecord) -> dict[str, Any]:
    return {
        "productId": variant.product_id,
        "productTitle": variant.product_title,
        "vendor": variant.vendor,
        "variantId": variant.variant_id,
        "sku": variant.sku,
        "variantTitle": variant.title,
        "handlingFee": variant.handling_fee,
        "cogLines": len(variant.cog_lines),
    }


def _cog_row(variant: wire.VariantRecord, line: wire.CogRecord) -> dict[str, Any]:
    return {
        "productId": variant.product_id,
        "variantId": variant.variant_id,
        "id": line.id,
        "cost": line.cost,
        "effectiveStartDate": line.start,
        "effectiveEndDate": line.end,
        "description": line.description,
    }


def _cog_rows(variant: wire.VariantRecord) -> list[dict[str, Any]]:
    return [_cog_row(variant, line) for line in variant.cog_lines]


def _cog_frame(rows: Sequence[Mapping[str, Any]]) -> pd.DataFrame:
    frame = pd.DataFrame(list(rows), columns=list(COG_COLUMNS))
    frame["cost"] = pd.to_numeric(frame["cost"]).astype("float64")
    return frame


def cog_lines(
    query: str | None = None,
    *,
    progress: bool | None = None,
    client: Client | None = None,
) -> pd.DataFrame:
    """The manual COG lines of the products a search finds, one row per line.

    Parameters
    ----------
    query : str, optional
        As for :func:`search`; ``None``: every product.
    progress : bool, optional
        Show a progress bar.
    client : Client, optional
        Defaults to the default client.

    Returns
    -------
    pandas.DataFrame
        ``productId``, ``variantId``, ``id``, ``cost`` (float), ``effectiveStartDate``,
        ``effectiveEndDate`` (``YYYY-MM-DD`` strings; missing when open) and ``description``.
        Written back through :func:`upsert_cogs` it changes nothing.
    """
    products = _search_products(resolve(client), query, _MAX_PAGE, progress)
    rows = [r for p in products for v in wire.product_variants(p) for r in _cog_rows(v)]
    return _cog_frame(rows)


def _variant_pairs(variants: Any) -> list[tuple[str, str]]:
    if isinstance(variants, pd.DataFrame):
        missing = [c for c in ("productId", "variantId") if c not in variants.columns]
        if missing:
            raise invalid(
                "variants",
                f"has no {missing[0]!r} column",
                "pass up.products.search(...) or a frame with productId and variantId",
            )
        pairs = list(zip(variants["productId"], variants["variantId"], strict=True))
    elif isinstance(variants, Sequence) and not isinstance(variants, str):
        pairs = []
        for i, item in enumerate(variants):
            if not isinstance(item, Sequence) or isinstance(item, str) or len(item) != 2:
                raise invalid(
                    f"variants[{i}]", "is not a (product_id, variant_id) pair", "pass pairs"
                )
            pairs.append((item[0], item[1]))
    else:
        raise invalid(
            "variants", "expected a DataFrame or a list of pairs", "pass up.products.search()"
        )
    for i, (product_id, variant_id) in enumerate(pairs):
        check_id(f"variants[{i}].productId", product_id)
        check_id(f"variants[{i}].variantId", variant_id)
    return [(str(p), str(v)) for p, v in pairs]


def variant_costs(
    variants: pd.DataFrame | Sequence[tuple[str, str]],
    *,
    progress: bool | None = None,
    client: Client | None = None,
) -> pd.DataFrame:
    """The resolved unit cost of many variants, one row each (one request per variant).

    Parameters
    ----------
    variants : DataFrame or list of (product_id, variant_id)
        A frame with ``productId`` and ``variantId`` columns (e.g. from :func:`search`).
    progress : bool, optional
        Show a progress bar.
    client : Client, optional
        Defaults to the default client.

    Returns
    -------
    pandas.DataFrame
        ``productId``, ``variantId``, ``effectiveCost`` (handling excluded), ``handlingFee``
        (the variant's plus the global one), ``currency``, ``source`` (``cog_line``,
        ``shopify``, ``global_override`` or ``default``) and ``activeCogLineId``, in the
        order given.

    Raises
    ------
    NotFound
        A variant that does not exist for this pixel (the frame is not returned half-filled).
    """
    pairs = _variant_pairs(variants)
    api = resolve(client)
    rows = []
    enabled = progress_enabled(progress, getattr(api, "progress", None))
    with Progress(len(pairs), desc="variant costs", enabled=enabled) as bar:
        for product_id, variant_id in pairs:
            response = api.get(f"{_variant_path(product_id, variant_id)}/cost")
            cost = wire.product_cost(
                json_with(response, wire.PRODUCT_COST, dict)[wire.PRODUCT_COST]
            )
            rows.append(
                {
                    "productId": product_id,
                    "variantId": variant_id,
                    "effectiveCost": cost.effective_cost,
                    "handlingFee": cost.handling_fee,
                    "currency": cost.currency,
                    "source": cost.source,
                    "activeCogLineId": cost.active_cog_line_id,
                }
            )
            bar.update()
    frame = pd.DataFrame(rows, columns=list(COST_COLUMNS))
    for name in ("effectiveCost", "handlingFee"):
        frame[name] = pd.to_numeric(frame[name]).astype("float64")
    return frame


# ----------------------------------------------------------------------------- writes


def _variant_of(response: Any, product_id: str | None = None) -> wire.VariantRecord:
    """The ``variant`` of a product write's response (``TransportError`` when there is none)."""
    record = json_with(response, wire.VARIANT, dict)[wire.VARIANT]
    found = wire.variant(record)
    if found.product_id is None and product_id is not None:
        found = dataclasses.replace(found, product_id=product_id)
    return found


def _variant_series(response: Any) -> pd.Series:
    variant = _variant_of(response)
    row = _variant_row(variant)
    del row["productTitle"], row["vendor"]  # a variant answer does not carry its product's
    return pd.Series(row, name=variant.variant_id, dtype=object)


def set_handling_fee(
    product_id: str, variant_id: str, fee: float, *, client: Client | None = None
) -> pd.Series:
    """Set a variant's per-unit handling fee (added to the global one).

    Parameters
    ----------
    product_id, variant_id : str
    fee : float
        0–1e9.
    client : Client, optional
        Defaults to the default client.

    Returns
    -------
    pandas.Series
        The variant: ``productId``, ``variantId``, ``sku``, ``variantTitle``,
        ``handlingFee``, ``cogLines``.
    """
    path = f"{_variant_path(product_id, variant_id)}/handling-fee"
    body = {"handlingFee": check_money("fee", fee)}
    api = resolve(client)
    try:
        response = api.request("PUT", path, json=body)
    finally:
        after_cost_change(api)
    return _variant_series(response)


def _cog_body(fields: Mapping[str, Any], where: str, *, partial: bool) -> dict[str, Any]:
    allowed = ("cost", "effectiveStartDate", "effectiveEndDate", "description")
    body: dict[str, Any] = {}
    for name, value in fields.items():
        parameter = f"{where}{name}"
        if name not in allowed:
            raise invalid(parameter, "is not a COG line field", f"use only {', '.join(allowed)}")
        if name == "cost":
            body[name] = check_money(parameter, value)
        elif name == "description":
            body[name] = check_text(parameter, value, max_length=500, min_length=0)
        else:
            body[name] = None if value is None else check_date(parameter, value)
    if partial and not body:
        raise invalid(where.rstrip(".") or "updates", "has no field to change", "give one field")
    if not partial:
        for name in ("cost", "effectiveStartDate"):
            if body.get(name) is None:
                raise invalid(f"{where}{name}", "is required", "give cost and effectiveStartDate")
    start, end = body.get("effectiveStartDate"), body.get("effectiveEndDate")
    if start and end and end < start:
        raise invalid(f"{where}effectiveEndDate", "is before effectiveStartDate", "fix the dates")
    return body


def _new_cog_id(
    before: set[str], response: Any, product_id: str | None = None
) -> tuple[str, dict[str, Any]]:
    """The id and the frame row of the one COG line a write added (not in ``before``)."""
    variant = _variant_of(response, product_id)
    fresh = [c for c in variant.cog_lines if c.id not in before]
    if len(fresh) != 1:
        raise response.unexpected("one new line in 'variant.manualCostHistory'")
    return str(fresh[0].id), _cog_row(variant, fresh[0])


def _history_ids(api: Client, product_id: str, variant_id: str) -> set[str]:
    """The ids of a variant's COG lines, by searching for its product."""
    for product in _search_products(api, None, _MAX_PAGE, False):
        for variant in wire.product_variants(product):
            if (variant.product_id, variant.variant_id) == (product_id, variant_id):
                return {str(c.id) for c in variant.cog_lines}
    return set()


def add_cog_line(
    product_id: str,
    variant_id: str,
    cost: float,
    start: Any,
    end: Any = None,
    description: str | None = None,
    *,
    client: Client | None = None,
) -> pd.Series:
    """Add a manual COG line to a variant's cost history.

    Parameters
    ----------
    product_id, variant_id : str
    cost : float
        Unit cost, 0–1e9.
    start, end : str, date or Timestamp
        First and last day it applies (inclusive); ``end=None`` leaves it open.
    description : str, optional
        Up to 500 characters.
    client : Client, optional
        Defaults to the default client.

    Returns
    -------
    pandas.Series
        The new line: ``productId``, ``variantId``, ``id``, ``cost``, ``effectiveStartDate``,
        ``effectiveEndDate``, ``description``.
    """
    path = f"{_variant_path(product_id, variant_id)}/cogs"
    fields: dict[str, Any] = {"cost": cost, "effectiveStartDate": start}
    if end is not None:
        fields["effectiveEndDate"] = end
    if description is not None:
        fields["description"] = description
    body = _cog_body(fields, "", partial=False)
    api = resolve(client)
    try:
        before = _history_ids(api, product_id, variant_id)
        response = api.post(path, body)
    finally:
        after_cost_change(api)
    _, row = _new_cog_id(before, response, product_id)
    return pd.Series(row)


def update_cog_line(
    product_id: str,
    variant_id: str,
    cog_id: str,
    *,
    client: Client | None = None,
    **updates: Any,
) -> pd.Series:
    """Change a COG line (``cost=``, ``effectiveStartDate=``, ``effectiveEndDate=``, ``description=``).

    Parameters
    ----------
    product_id, variant_id, cog_id : str
    client : Client, optional
        Defaults to the default client.
    **updates
        At least one field; ``effectiveEndDate=None`` reopens the line.

    Returns
    -------
    pandas.Series
        The line after the change (as :func:`add_cog_line`).
    """
    check_id("cog_id", cog_id)
    path = f"{_variant_path(product_id, variant_id)}/cogs/{cog_id}"
    body = _cog_body(updates, "", partial=True)
    api = resolve(client)
    try:
        response = api.request("PUT", path, json=body)
    finally:
        after_cost_change(api)
    for row in _cog_rows(_variant_of(response, product_id)):
        if row["id"] == cog_id:
            return pd.Series(row)
    raise response.unexpected(f"the COG line {cog_id!r} in 'variant.manualCostHistory'")


def delete_cog_line(
    product_id: str, variant_id: str, cog_id: str, *, client: Client | None = None
) -> None:
    """Delete a COG line.

    Parameters
    ----------
    product_id, variant_id, cog_id : str
    client : Client, optional
        Defaults to the default client.

    Raises
    ------
    NotFound
        The product, variant or line does not exist for this pixel.
    """
    check_id("cog_id", cog_id)
    path = f"{_variant_path(product_id, variant_id)}/cogs/{cog_id}"
    api = resolve(client)
    try:
        api.delete(path)
    finally:
        after_cost_change(api)


def _stored(value: Any) -> Any:
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return None if is_missing(value) else value


def plan_cogs(
    table: pd.DataFrame | Sequence[Mapping[str, Any]],
    stored: pd.DataFrame,
    *,
    delete_missing: bool,
) -> pd.DataFrame:
    """The plan of an upsert of ``table`` onto the ``stored`` COG lines (checked; nothing sent).

    A row with an ``id`` updates that line; a row without one updates the stored line of the
    same variant with the same ``effectiveStartDate`` when there is exactly one, else adds.
    """
    records = table_records("table", table)
    by_id = {r["id"]: r for r in stored.to_dict("records")}
    rows: list[dict[str, Any]] = []
    seen: set[str] = set()
    for i, record in enumerate(records):
        where = f"table[{i}]."
        for name in ("productId", "variantId"):
            if name not in record:
                raise invalid(f"{where}{name}", "is required", "give productId and variantId")
            check_id(f"{where}{name}", record[name])
        product_id, variant_id = str(record["productId"]), str(record["variantId"])
        fields = {k: v for k, v in record.items() if k not in ("productId", "variantId", "id")}
        cog_id = record.get("id")
        if cog_id is None:
            body = _cog_body(fields, where, partial=False)
            same = [
                r for r in by_id.values()
                if (r["productId"], r["variantId"]) == (product_id, variant_id)
                and r["effectiveStartDate"] == body["effectiveStartDate"]
                and r["id"] not in seen
            ]  # fmt: skip
            if len(same) == 1:
                cog_id = same[0]["id"]
            else:
                rows.append({"action": "add", "productId": product_id, "variantId": variant_id,
                             "id": None, "effectiveStartDate": body["effectiveStartDate"],
                             "changes": body})  # fmt: skip
                continue
        cog_id = check_id(f"{where}id", cog_id)
        current = by_id.get(cog_id)
        if current is None or (current["productId"], current["variantId"]) != (
            product_id,
            variant_id,
        ):
            raise invalid(
                f"{where}id",
                f"no stored COG line of variant {variant_id!r} has the id {cog_id!r}",
                "leave id empty to add a line, or take ids from up.products.cog_lines()",
            )
        if cog_id in seen:
            raise invalid(f"{where}id", f"{cog_id!r} appears twice", "keep one row per line")
        seen.add(cog_id)
        body = _cog_body(fields, where, partial=False) if fields else {}
        changes = {
            k: (_stored(current.get(k)), v) for k, v in body.items() if _stored(current.get(k)) != v
        }
        rows.append({"action": "update" if changes else "unchanged", "productId": product_id,
                     "variantId": variant_id, "id": cog_id,
                     "effectiveStartDate": body.get("effectiveStartDate",
                                                    current["effectiveStartDate"]),
                     "changes": changes})  # fmt: skip
    if delete_missing:
        variants = {(r["productId"], r["variantId"]) for r in rows}
        for cog_id, current in by_id.items():
            key = (current["productId"], current["variantId"])
            if key in variants and cog_id not in seen:
                rows.append({"action": "delete", "productId": key[0], "variantId": key[1],
                             "id": cog_id, "effectiveStartDate": current["effectiveStartDate"],
                             "changes": {}})  # fmt: skip
    return plan_frame(rows, ("productId", "variantId", "id", "effectiveStartDate"))


def _precheck_cogs(table: pd.DataFrame | Sequence[Mapping[str, Any]]) -> None:
    for i, record in enumerate(table_records("table", table)):
        where = f"table[{i}]."
        for name in ("productId", "variantId"):
            if name not in record:
                raise invalid(f"{where}{name}", "is required", "give productId and variantId")
            check_id(f"{where}{name}", record[name])
        fields = {k: v for k, v in record.items() if k not in ("productId", "variantId", "id")}
        if "id" in record:
            check_id(f"{where}id", record["id"])
            if fields:
                _cog_body(fields, where, partial=True)
        else:
            _cog_body(fields, where, partial=False)


def upsert_cogs(
    table: pd.DataFrame | Sequence[Mapping[str, Any]],
    *,
    delete_missing: bool = False,
    dry_run: bool = False,
    client: Client | None = None,
) -> pd.DataFrame:
    """Make the variants' manual COG lines match a table (a spreadsheet the analyst keeps).

    Each row is one COG line: ``productId``, ``variantId``, ``cost``, ``effectiveStartDate``
    (required), ``effectiveEndDate`` and ``description`` (optional), ``id`` (optional). A row
    updates the line with its ``id``, or else the variant's one line with the same start date;
    otherwise it adds a line. Only differing fields are sent.

    Parameters
    ----------
    table : DataFrame or list of dict
        One row per COG line.
    delete_missing : bool
        Also delete the stored lines of the variants present in ``table`` that no row names.
    dry_run : bool
        Return the plan (status ``planned``) and send nothing.
    client : Client, optional
        Defaults to the default client; needs ``costs:read`` (to plan) and ``costs:write``.

    Returns
    -------
    pandas.DataFrame
        The plan: ``action`` (``add``, ``update``, ``delete``, ``unchanged``), ``productId``,
        ``variantId``, ``id`` (an added line's new id once applied), ``effectiveStartDate``,
        ``changes`` and ``status`` (``planned``, ``applied``, ``unchanged``).

    Raises
    ------
    ValidationError
        Any bad row (named ``table[<i>].<field>``), before anything is sent.
    PartialWriteError
        A request failed midway; ``.applied``, ``.failed``, ``.pending`` say exactly which rows
        took effect (see ``up.costs.upsert_lines``).
    """
    _precheck_cogs(table)  # every row's shape, before the read that planning needs
    api = resolve(client)
    stored = cog_lines(client=api, progress=False)
    plan = plan_cogs(table, stored, delete_missing=delete_missing)
    if dry_run:
        plan["status"] = ["unchanged" if a == "unchanged" else "planned" for a in plan["action"]]
        return plan
    known = {
        (p, v): set(group["id"])
        for (p, v), group in stored.groupby(["productId", "variantId"], sort=False)
    }

    def send(row: pd.Series) -> dict[str, Any] | None:
        base = _variant_path(row["productId"], row["variantId"])
        if row["action"] == "add":
            key = (row["productId"], row["variantId"])
            response = api.post(f"{base}/cogs", row["changes"])
            new_id, _ = _new_cog_id(known.setdefault(key, set()), response)
            known[key].add(new_id)
            return {"id": new_id}
        if row["action"] == "update":
            updates = {k: new for k, (_, new) in row["changes"].items()}
            api.request("PUT", f"{base}/cogs/{row['id']}", json=updates)
        else:
            api.delete(f"{base}/cogs/{row['id']}")
        return None

    try:
        return apply_plan(plan, send, what="upsert_cogs")
    finally:
        after_cost_change(api)
