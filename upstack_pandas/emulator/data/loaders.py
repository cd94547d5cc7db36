"""Load users' own data (``--data DIR``): orders (required), sessions and ad spend (optional).

Each table is ``<name>.parquet`` or ``<name>.csv`` in the directory; :data:`SCHEMAS` lists the
columns (the docs' table is tested against it). Missing optional columns get the documented
defaults; a missing file, column or an unparsable value raises :class:`DataLoadError` naming it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

import numpy as np
import pandas as pd

from upstack_pandas.emulator.data.errors import DataLoadError
from upstack_pandas.emulator.data.taxonomy import (
    AD_LEVELS,
    DIRECT,
    ENTITY_COLUMNS,
    NONE,
    UNKNOWN,
    channel_of_platform,
    classify_channel,
    platform_of_channel,
)


@dataclass(frozen=True)
class Column:
    """One column of a user-data table: name, type, and whether/how it defaults."""

    name: str
    type: str  # string | timestamp | date | money | integer
    required: bool = False
    default: str = ""


SCHEMAS: dict[str, tuple[Column, ...]] = {
    "orders": (
        Column("order_id", "string", True),
        Column("customer_id", "string", True),
        Column("ts", "timestamp", True),
        Column("gross_revenue", "money", True),
        Column("discounts", "money", default="0"),
        Column("total_revenue", "money", default="gross_revenue - discounts"),
        Column("refunds", "money", default="0"),
        Column("net_revenue", "money", default="total_revenue - refunds"),
        Column("cogs", "money", default="0"),
        Column("shipping_cost", "money", default="0"),
        Column("payment_fees", "money", default="0"),
        Column("status", "string", default="paid (one of paid, pending, voided)"),
        Column(
            "customer_type",
            "string",
            default="new_customer for each customer's first order, else returning_customer",
        ),
        Column("country", "string", default=UNKNOWN),
        Column("device", "string", default=UNKNOWN),
    ),
    "sessions": (
        Column("customer_id", "string", True),
        Column("ts", "timestamp", True),
        Column("session_id", "string", default="row number in time order"),
        Column("utm_source", "string", default=DIRECT),
        Column("utm_medium", "string", default=NONE),
        Column("utm_campaign", "string", default=NONE),
        Column("channel", "string", default="derived from utm_source and utm_medium"),
        Column(
            "platform", "string", default="derived from channel (meta, google, tiktok or (none))"
        ),
        Column("device", "string", default=UNKNOWN),
        Column("country", "string", default=UNKNOWN),
        Column("landing_page", "string", default=UNKNOWN),
        Column("pageviews", "integer", default="1"),
    ),
    "ad_spend": (
        Column("date", "date", True),
        Column("platform", "string", True),
        Column("spend", "money", True),
        Column("account_id", "string", default="<platform>-account"),
        Column("account_name", "string", default="account_id"),
        Column("campaign_id", "string", default=NONE),
        Column("campaign_name", "string", default="campaign_id"),
        Column("adset_id", "string", default=NONE),
        Column("adset_name", "string", default="adset_id"),
        Column("ad_id", "string", default=NONE),
        Column("ad_name", "string", default="ad_id"),
        Column("impressions", "integer", default="0"),
        Column("clicks", "integer", default="0"),
        Column("conversions", "integer", default="0"),
        Column("conversion_value", "money", default="0"),
    ),
}
OPTIONAL_TABLES = ("sessions", "ad_spend")
STATUSES = ("paid", "pending", "voided")
CUSTOMER_TYPES = ("new_customer", "returning_customer")


def _find(data_dir: Path, name: str) -> Path | None:
    for suffix in (".parquet", ".csv"):
        path = data_dir / f"{name}{suffix}"
        if path.is_file():
            return path
    return None


def _read(path: Path) -> pd.DataFrame:
    try:
        if path.suffix == ".parquet":
            return pd.read_parquet(path)
        return pd.read_csv(path, dtype=str, keep_default_na=True)
    except Exception as exc:  # any reader failure is a load error naming the file
        raise DataLoadError(f"{path.name}: cannot be read ({exc}).") from exc


def _coerce(frame: pd.DataFrame, col: Column, fname: str) -> pd.Series | None:
    if col.name not in frame.columns:
        if col.required:
            required = ", ".join(c.name for c in SCHEMAS[fname.split(".")[0]] if c.required)
            raise DataLoadError(
                f"{fname}: missing required column {col.name!r} (required: {required})."
            )
        return None
    raw = frame[col.name]
    try:
        if col.type == "timestamp":
            if pd.api.types.is_datetime64_any_dtype(raw):
                values = pd.to_datetime(raw)
                values = (
                    values.dt.tz_localize("UTC")
                    if values.dt.tz is None
                    else values.dt.tz_convert("UTC")
                )
            else:
                values = pd.to_datetime(raw, utc=True, format="ISO8601")
            out: pd.Series = values.astype("datetime64[us, UTC]")
        elif col.type == "date":
            values = (
                pd.to_datetime(raw, format="ISO8601")
                if not pd.api.types.is_datetime64_any_dtype(raw)
                else raw
            )
            if getattr(values.dt, "tz", None) is not None:
                values = values.dt.tz_localize(None)
            out = values.dt.normalize().astype("datetime64[s]")
        elif col.type in ("money", "integer"):
            out = pd.to_numeric(raw, errors="raise").astype(np.float64)
        else:
            out = raw.astype("str").where(raw.notna())
    except (ValueError, TypeError) as exc:
        raise DataLoadError(
            f"{fname}: column {col.name!r} has values that are not a valid {col.type} ({exc})."
        ) from exc
    if col.required and out.isna().any():
        row = int(np.flatnonzero(out.isna().to_numpy())[0])
        raise DataLoadError(
            f"{fname}: required column {col.name!r} is empty in data row {row + 1}."
        )
    return out


def _table(data_dir: Path, name: str) -> tuple[dict[str, pd.Series | None], int] | None:
    path = _find(data_dir, name)
    if path is None:
        return None
    frame = _read(path)
    return {c.name: _coerce(frame, c, path.name) for c in SCHEMAS[name]}, len(frame)


def _fill(cols: dict[str, pd.Series | None], name: str, n: int, default: object) -> pd.Series:
    given = cols.get(name)
    fallback = pd.Series(default if isinstance(default, pd.Series) else [default] * n)
    if given is None:
        return fallback.reset_index(drop=True)
    return given.reset_index(drop=True).fillna(fallback)


def _check_values(series: pd.Series, allowed: tuple[str, ...], where: str) -> None:
    bad = sorted(set(series.dropna()) - set(allowed))
    if bad:
        raise DataLoadError(
            f"{where}: unexpected values {bad[:5]} (allowed: {', '.join(allowed)})."
        )


def _orders(cols: dict[str, pd.Series | None], n: int) -> pd.DataFrame:
    money = {
        m: _fill(cols, m, n, 0.0).round(2)
        for m in ("gross_revenue", "discounts", "refunds", "cogs", "shipping_cost", "payment_fees")
    }
    total = _fill(cols, "total_revenue", n, money["gross_revenue"] - money["discounts"]).round(2)
    net = _fill(cols, "net_revenue", n, total - money["refunds"]).round(2)
    out = pd.DataFrame(
        {
            "order_id": _fill(cols, "order_id", n, ""),
            "customer_id": _fill(cols, "customer_id", n, ""),
            "ts": _fill(cols, "ts", n, pd.NaT),
            "status": _fill(cols, "status", n, "paid"),
        }
    )
    dupes = out["order_id"].duplicated()
    if dupes.any():
        raise DataLoadError(f"orders: duplicate order_id {out['order_id'][dupes].iloc[0]!r}.")
    first = ~out.sort_values(["ts", "order_id"])["customer_id"].duplicated()
    derived = pd.Series(np.where(first.sort_index(), CUSTOMER_TYPES[0], CUSTOMER_TYPES[1]))
    out["customer_type"] = _fill(cols, "customer_type", n, derived)
    _check_values(out["status"], STATUSES, "orders.status")
    _check_values(out["customer_type"], CUSTOMER_TYPES, "orders.customer_type")
    for m in ("gross_revenue", "discounts"):
        out[m] = money[m]
    out["total_revenue"], out["refunds"], out["net_revenue"] = total, money["refunds"], net
    for m in ("cogs", "shipping_cost", "payment_fees"):
        out[m] = money[m]
    out["country"] = _fill(cols, "country", n, UNKNOWN)
    out["device"] = _fill(cols, "device", n, UNKNOWN)
    return out.sort_values(["ts", "order_id"], kind="stable").reset_index(drop=True)


def _sessions(cols: dict[str, pd.Series | None], n: int) -> pd.DataFrame:
    out = pd.DataFrame(
        {"customer_id": _fill(cols, "customer_id", n, ""), "ts": _fill(cols, "ts", n, pd.NaT)}
    )
    if cols.get("session_id") is not None:
        out["session_id"] = _fill(cols, "session_id", n, "")
    out = out.reset_index(drop=True)
    for name, default in (("utm_source", DIRECT), ("utm_medium", NONE), ("utm_campaign", NONE)):
        out[name] = _fill(cols, name, n, default)
    out["channel"] = _fill(
        cols, "channel", n, classify_channel(out["utm_source"], out["utm_medium"])
    )
    out["platform"] = _fill(cols, "platform", n, platform_of_channel(out["channel"]))
    for name in ("device", "country", "landing_page"):
        out[name] = _fill(cols, name, n, UNKNOWN)
    out["pageviews"] = _fill(cols, "pageviews", n, 1.0).astype(np.int64)
    out = out.sort_values(["ts", "customer_id"], kind="stable").reset_index(drop=True)
    if "session_id" not in out.columns:
        out.insert(0, "session_id", np.arange(1, len(out) + 1, dtype=np.int64))
    return out


def _ad_spend(cols: dict[str, pd.Series | None], n: int) -> pd.DataFrame:
    out = pd.DataFrame(
        {"date": _fill(cols, "date", n, pd.NaT), "platform": _fill(cols, "platform", n, "")}
    )
    out["channel"] = channel_of_platform(out["platform"])
    out["account_id"] = _fill(cols, "account_id", n, out["platform"] + "-account")
    out["account_name"] = _fill(cols, "account_name", n, out["account_id"])
    for level in AD_LEVELS[1:]:
        out[f"{level}_id"] = _fill(cols, f"{level}_id", n, NONE)
        out[f"{level}_name"] = _fill(cols, f"{level}_name", n, out[f"{level}_id"])
    out["spend"] = _fill(cols, "spend", n, 0.0).round(2)
    for name in ("impressions", "clicks", "conversions"):
        out[name] = _fill(cols, name, n, 0.0).astype(np.int64)
    out["conversion_value"] = _fill(cols, "conversion_value", n, 0.0).round(2)
    return out.sort_values(["date", "platform", "account_id", "ad_id"], kind="stable").reset_index(
        drop=True
    )


def entities_from_spend(ad_spend: pd.DataFrame, now: datetime) -> pd.DataFrame:
    """Derive the entity listing (accounts, campaigns, ad sets, ads) from ad spend rows.

    Parameters
    ----------
    ad_spend
        Ad spend rows with id and name columns per level.
    now
        The emulated now; an entity with spend in the 7 days up to it is ``active``.

    Returns
    -------
    pandas.DataFrame
        One row per entity (ids of ``(none)`` are skipped).
    """
    recent = ad_spend["date"] >= pd.Timestamp(now.date() - timedelta(days=6))
    frames = []
    for depth, level in enumerate(AD_LEVELS):
        keep = [f"{lv}_{k}" for lv in AD_LEVELS[: depth + 1] for k in ("id", "name")]
        rows = ad_spend[ad_spend[f"{level}_id"] != NONE]
        ent = rows.groupby([*keep, "platform"], sort=True).size().reset_index()[[*keep, "platform"]]
        live = set(rows.loc[recent[rows.index], f"{level}_id"])
        ent.insert(0, "id", ent[f"{level}_id"])
        ent.insert(1, "level", level)
        ent.insert(3, "name", ent[f"{level}_name"])
        ent["status"] = np.where(ent["id"].isin(live), "active", "paused")
        frames.append(ent)
    return pd.concat(frames, ignore_index=True).reindex(columns=list(ENTITY_COLUMNS))


def _customers(orders: pd.DataFrame, sessions: pd.DataFrame | None) -> pd.DataFrame:
    first = orders.sort_values("ts").groupby("customer_id", sort=True).first()
    out = pd.DataFrame(
        {
            "customer_id": first.index,
            "created_at": first["ts"].to_numpy(),
            "first_order_at": first["ts"].to_numpy(),
            "acquisition_channel": UNKNOWN,
            "country": first["country"].to_numpy(),
            "device": first["device"].to_numpy(),
        }
    )
    if sessions is not None and len(sessions):
        s = sessions.sort_values("ts").groupby("customer_id").first()
        seen = out["customer_id"].map(s["ts"])
        out["created_at"] = pd.concat([out["created_at"], seen], axis=1).min(axis=1)
        out["acquisition_channel"] = out["customer_id"].map(s["channel"]).fillna(UNKNOWN)
    return out


def load_user_data(
    data_dir: str | Path, now: datetime
) -> tuple[dict[str, pd.DataFrame], frozenset[str]]:
    """Load the user's tables from ``data_dir``.

    Parameters
    ----------
    data_dir
        Directory holding ``orders.(parquet|csv)`` and optionally ``sessions`` and ``ad_spend``.
    now
        The emulated now (entity status).

    Returns
    -------
    tables : dict of str to pandas.DataFrame
        ``orders``, ``sessions``, ``ad_spend``, ``entities``, ``customers``; missing optional
        tables are empty frames with the documented columns.
    available : frozenset of str
        The names of the tables actually provided (always includes ``orders``).

    Raises
    ------
    DataLoadError
        When the directory or ``orders`` is missing, or a file lacks a required column or
        holds an unparsable value.
    """
    root = Path(data_dir)
    if not root.is_dir():
        raise DataLoadError(f"data directory {str(root)!r} does not exist.")
    loaded = {name: _table(root, name) for name in ("orders", *OPTIONAL_TABLES)}
    orders_in = loaded["orders"]
    if orders_in is None:
        raise DataLoadError(
            f"{root}: orders.parquet or orders.csv is required (see docs/emulator-data.md)."
        )
    orders = _orders(*orders_in)
    sessions_in, spend_in = loaded["sessions"], loaded["ad_spend"]
    sessions = _sessions(*sessions_in) if sessions_in else _sessions({}, 0)
    ad_spend = _ad_spend(*spend_in) if spend_in else _ad_spend({}, 0)
    tables = {
        "orders": orders,
        "sessions": sessions,
        "ad_spend": ad_spend,
        "entities": entities_from_spend(ad_spend, now),
        "customers": _customers(orders, sessions if sessions_in else None),
    }
    available = frozenset(name for name, got in loaded.items() if got is not None)
    return tables, available
