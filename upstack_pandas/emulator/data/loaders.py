"""Load users' own data (``--data DIR``): orders (required), sessions and ad spend (optional).

Each table is ``<name>.parquet`` or ``<name>.csv`` in the directory; :data:`SCHEMAS` lists the
columns (the docs' table is tested against it). DuckDB reads the files (``read_csv`` with every
cell as text, then typed casts; ``read_parquet``) into the store's own connection, and the checks,
defaults and derived columns and tables are SQL: no pandas copy of the sessions, ad spend,
entities or customers is made (the orders come back as an Arrow table, in time order).
The sessions are written once, complete with ``is_new_visitor`` (:data:`SESSION_TABLE`), into
the table the store adopts as its ``session_facts``.
Missing optional columns get the documented defaults; a missing file, column or an unparsable
value raises :class:`DataLoadError` naming the file, the column, a bad value and its row.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

import duckdb
import pyarrow as pa

from upstack_pandas.emulator.data.errors import DataLoadError
from upstack_pandas.emulator.data.taxonomy import (
    _MEDIUM_CHANNEL as MEDIUM_CHANNEL,
)
from upstack_pandas.emulator.data.taxonomy import (
    _PAID_MEDIA as PAID_MEDIA,
)
from upstack_pandas.emulator.data.taxonomy import (
    _SOURCE_PLATFORM as SOURCE_PLATFORM,
)
from upstack_pandas.emulator.data.taxonomy import (
    AD_LEVELS,
    CHANNEL_PLATFORM,
    DIRECT,
    ENTITY_COLUMNS,
    HIERARCHY_COLUMNS,
    NONE,
    PLATFORM_CHANNEL,
    UNKNOWN,
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


#: Cells that read as missing in a CSV file (pandas' ``read_csv`` defaults, so files that loaded
#: before still do): an empty cell, ``NA``, ``null``, ``NaN``...
NA_STRINGS = (
    "",
    "#N/A",
    "#N/A N/A",
    "#NA",
    "-1.#IND",
    "-1.#QNAN",
    "-NaN",
    "-nan",
    "1.#IND",
    "1.#QNAN",
    "<NA>",
    "N/A",
    "NA",
    "NULL",
    "NaN",
    "None",
    "n/a",
    "nan",
    "null",
)
#: What each column type accepts, for error messages.
_EXPECTED = {
    "timestamp": "an ISO 8601 timestamp such as 2026-11-02T14:05:00Z (no offset means UTC)",
    "date": "an ISO 8601 date such as 2026-11-02",
    "money": "a plain number such as 1234.50 (no currency symbol or thousands separator)",
    "integer": "a number such as 12",
}
#: Prefix of the loader's work tables in the store's connection (dropped once the store is built).
WORK_PREFIX = "_ud_"
_SPACE = "' ' || chr(9) || chr(10) || chr(11) || chr(12) || chr(13)"


def _q(value: str) -> str:
    """A SQL string literal."""
    return "'" + value.replace("'", "''") + "'"


def _ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _find(data_dir: Path, name: str) -> Path | None:
    for suffix in (".parquet", ".csv"):
        path = data_dir / f"{name}{suffix}"
        if path.is_file():
            return path
    return None


def _reader(path: Path) -> str:
    """The DuckDB table function reading ``path`` (CSV cells all as text, typed below)."""
    if path.suffix == ".parquet":
        return f"read_parquet({_q(str(path))})"
    nulls = ", ".join(_q(s) for s in NA_STRINGS)
    return (
        f"read_csv({_q(str(path))}, header = true, all_varchar = true, delim = ',',"
        f" quote = '\"', escape = '\"', nullstr = [{nulls}], null_padding = true)"
    )


def _cast(col: Column, source_type: str, *, strict: bool) -> str:
    """The SQL turning the file's column into its schema type (``TRY_CAST`` unless strict)."""
    cast = "CAST" if strict else "TRY_CAST"
    x = _ident(col.name)
    if col.type == "timestamp":
        return f"{cast}({x} AS TIMESTAMPTZ)"
    if col.type == "date":
        if source_type == "VARCHAR":  # a date, or a timestamp whose (wall-clock) date is taken
            return f"coalesce(TRY_CAST({x} AS DATE), {cast}({cast}({x} AS TIMESTAMP) AS DATE))"
        return f"{cast}({x} AS DATE)"
    if col.type in ("money", "integer"):
        return f"{cast}({x} AS DOUBLE)"
    return f"CAST({x} AS VARCHAR)"


def _sql_type(col: Column) -> str:
    return {"timestamp": "TIMESTAMPTZ", "date": "DATE", "money": "DOUBLE", "integer": "DOUBLE"}.get(
        col.type, "VARCHAR"
    )


def _bad_values(
    con: duckdb.DuckDBPyConnection, reader: str, col: Column, source_type: str, fname: str
) -> DataLoadError | None:
    """The error for ``col``'s values that do not convert (None when all do)."""
    raw = _ident(col.name)
    bad = f"{raw} IS NOT NULL AND {_cast(col, source_type, strict=False)} IS NULL"
    threads = con.execute("SELECT current_setting('threads')").fetchall()[0][0]
    con.execute("SET threads = 1")  # one reader thread: row numbers in the file's order
    try:
        count, value, row = con.execute(
            f"SELECT count(*), first(CAST({raw} AS VARCHAR) ORDER BY _n), min(_n)"
            f" FROM (SELECT *, row_number() OVER () AS _n FROM {reader}) WHERE {bad}"
        ).fetchall()[0]
    finally:
        con.execute(f"SET threads = {int(threads)}")
    if not count:
        return None
    values = "1 value" if count == 1 else f"{count} values"
    return DataLoadError(
        f"{fname}: column {col.name!r} has {values} that {'is' if count == 1 else 'are'} not a"
        f" valid {col.type}, e.g. {value!r} in data row {row}; expected {_EXPECTED[col.type]}."
    )


def _load_table(con: duckdb.DuckDBPyConnection, path: Path, name: str) -> set[str]:
    """Make the view ``_ud_<name>``: the typed rows of ``path``, and ``_row``, their file order.

    A CSV file is parsed once, into the table ``_ud_<name>_rows`` under the view; a parquet file
    (cheap to read again, column by column) is read by the view itself wherever it is used, so
    its rows are written into the database once, by the store. Either way every value is
    converted, and the required columns checked, here. Returns the names of the schema columns
    the file has.
    """
    reader = _reader(path)
    try:
        described = con.execute(f"DESCRIBE SELECT * FROM {reader}").fetchall()
    except duckdb.Error as exc:  # any reader failure is a load error naming the file
        raise DataLoadError(f"{path.name}: cannot be read ({exc}).") from exc
    types = {str(row[0]): str(row[1]) for row in described}
    schema = SCHEMAS[name]
    for col in schema:
        if col.required and col.name not in types:
            required = ", ".join(c.name for c in schema if c.required)
            raise DataLoadError(
                f"{path.name}: missing required column {col.name!r} (required: {required})."
            )
    given = [c for c in schema if c.name in types]
    select = ", ".join(f"{_cast(c, types[c.name], strict=True)} AS {_ident(c.name)}" for c in given)
    view = f"{WORK_PREFIX}{name}"
    needed = [c.name for c in given if c.required]
    # One pass converting every value (a bad one fails here, not in the store) and finding the
    # required columns' first empty cells.
    check = ", ".join(
        [f"min(_row) FILTER (WHERE {_ident(c)} IS NULL)" for c in needed]
        + [f"count({_ident(c.name)})" for c in given if not c.required]
    )
    try:
        if path.suffix == ".parquet":
            numbered = reader.removesuffix(")") + ", file_row_number = true)"
            con.execute(
                f"CREATE VIEW {view} AS SELECT file_row_number AS _row, {select} FROM {numbered}"
            )
        else:  # rowid follows the file's order (DuckDB keeps insertion order)
            con.execute(f"CREATE TABLE {view}_rows AS SELECT {select} FROM {reader}")
            con.execute(f"CREATE VIEW {view} AS SELECT rowid AS _row, * FROM {view}_rows")
        empty = con.execute(f"SELECT {check} FROM {view}").fetchall()[0][: len(needed)]
    except duckdb.ConversionException as exc:
        for col in given:
            if col.type != "string":
                found = _bad_values(con, reader, col, types[col.name], path.name)
                if found is not None:
                    raise found from exc
        raise DataLoadError(f"{path.name}: cannot be read ({exc}).") from exc
    except duckdb.Error as exc:
        raise DataLoadError(f"{path.name}: cannot be read ({exc}).") from exc
    for column, row in zip(needed, empty, strict=True):
        if row is not None:
            raise DataLoadError(
                f"{path.name}: required column {column!r} is empty in data row {row + 1}."
            )
    return set(types) & {c.name for c in schema}


def _drop(con: duckdb.DuckDBPyConnection, name: str) -> None:
    """Drop the work view ``_ud_<name>`` and the table of rows under it (a CSV file's)."""
    con.execute(f"DROP VIEW IF EXISTS {WORK_PREFIX}{name}")
    con.execute(f"DROP TABLE IF EXISTS {WORK_PREFIX}{name}_rows")


def _empty_table(con: duckdb.DuckDBPyConnection, name: str) -> set[str]:
    """The work table of an optional table the user did not provide: its required columns."""
    required = [c for c in SCHEMAS[name] if c.required]
    cols = ", ".join(f"NULL::{_sql_type(c)} AS {_ident(c.name)}" for c in required)
    con.execute(f"CREATE VIEW {WORK_PREFIX}{name} AS SELECT 0::BIGINT AS _row, {cols} WHERE false")
    return {c.name for c in required}


def _given(cols: set[str], name: str, sql_type: str) -> str:
    """The given column, or a typed NULL where the file lacks it (its default fills it)."""
    return _ident(name) if name in cols else f"NULL::{sql_type}"


def _money(cols: set[str], name: str, default: str = "0") -> str:
    """Round half to even at cents, as ``numpy.round(x, 2)`` (DuckDB's ``round`` goes away)."""
    return f"round_even(coalesce({_given(cols, name, 'DOUBLE')}, {default}) * 100, 0) / 100"


def _count(cols: set[str], name: str, default: str) -> str:
    return f"CAST(trunc(coalesce({_given(cols, name, 'DOUBLE')}, {default})) AS BIGINT)"


def _text(cols: set[str], name: str, default: str) -> str:
    return f"coalesce({_given(cols, name, 'VARCHAR')}, {default})"


def _case(expr: str, mapping: dict[str, str], otherwise: str) -> str:
    whens = " ".join(f"WHEN {_q(k)} THEN {_q(v)}" for k, v in mapping.items())
    return f"CASE {expr} {whens} ELSE {otherwise} END"


def _in(expr: str, values: tuple[str, ...] | set[str] | frozenset[str]) -> str:
    return f"{expr} IN ({', '.join(_q(v) for v in sorted(values))})"


def _classify(source: str, medium: str) -> str:
    """SQL of :func:`.taxonomy.classify_channel` over the (trimmed, lower-cased) UTM columns."""
    paid = _case(
        source,
        {s: PLATFORM_CHANNEL[p] for s, p in SOURCE_PLATFORM.items()},
        "'other_paid'",
    )
    return (
        f"CASE WHEN {_in(source, ('', DIRECT))} THEN 'direct'"
        f" WHEN {_in(medium, PAID_MEDIA)} THEN {paid}"
        f" ELSE {_case(medium, MEDIUM_CHANNEL, _q('other'))} END"
    )


def _orders(con: duckdb.DuckDBPyConnection, cols: set[str]) -> None:
    """Check the orders and build ``_ud_orders_out`` (defaults, customer type, time order)."""
    raw = f"{WORK_PREFIX}orders"
    dupe = con.execute(
        f"SELECT order_id FROM {raw} GROUP BY order_id HAVING count(*) > 1"
        " ORDER BY min(_row) LIMIT 1"
    ).fetchall()
    if dupe:
        raise DataLoadError(f"orders: duplicate order_id {dupe[0][0]!r}.")
    for column, allowed in (("status", STATUSES), ("customer_type", CUSTOMER_TYPES)):
        if column in cols:
            bad = con.execute(
                f"SELECT DISTINCT {column} FROM {raw} WHERE {column} IS NOT NULL"
                f" AND NOT {_in(column, allowed)} ORDER BY 1 LIMIT 5"
            ).fetchall()
            if bad:
                raise DataLoadError(
                    f"orders.{column}: unexpected values {[b[0] for b in bad]}"
                    f" (allowed: {', '.join(allowed)})."
                )
    first = "row_number() OVER (PARTITION BY customer_id ORDER BY ts, order_id) = 1"
    derived_type = (
        f"CASE WHEN {first} THEN {_q(CUSTOMER_TYPES[0])} ELSE {_q(CUSTOMER_TYPES[1])} END"
    )
    given_total = _given(cols, "total_revenue", "DOUBLE")
    given_net = _given(cols, "net_revenue", "DOUBLE")
    con.execute(f"""
        CREATE TABLE {WORK_PREFIX}orders_out AS
        WITH m AS (
            SELECT order_id, customer_id, ts, {_text(cols, "status", _q("paid"))} AS status,
                   coalesce({_given(cols, "customer_type", "VARCHAR")}, {derived_type})
                       AS customer_type,
                   {_money(cols, "gross_revenue")} AS gross_revenue,
                   {_money(cols, "discounts")} AS discounts,
                   {given_total} AS _total, {given_net} AS _net,
                   {_money(cols, "refunds")} AS refunds,
                   {_money(cols, "cogs")} AS cogs,
                   {_money(cols, "shipping_cost")} AS shipping_cost,
                   {_money(cols, "payment_fees")} AS payment_fees,
                   {_text(cols, "country", _q(UNKNOWN))} AS country,
                   {_text(cols, "device", _q(UNKNOWN))} AS device
            FROM {raw}
        ), t AS (
            SELECT *, round_even(coalesce(_total, gross_revenue - discounts) * 100, 0) / 100
                          AS total_revenue
            FROM m
        )
        SELECT order_id, customer_id, ts, status, customer_type, gross_revenue, discounts,
               total_revenue, refunds,
               round_even(coalesce(_net, total_revenue - refunds) * 100, 0) / 100 AS net_revenue,
               cogs, shipping_cost, payment_fees, country, device
        FROM t ORDER BY ts, order_id""")


#: The sessions' table as the loader hands it over (``_ud_sessions_out``, which the store adopts as
#: its ``session_facts``): name and DuckDB type of each column, in order. ``session_id`` is the
#: file's text, or ``BIGINT`` when the loader numbers the sessions. The visitors' and sessions'
#: ids are stored uncompressed: DuckDB's string compression of millions of distinct ids cost
#: 2.1 s of the 4.2 s of writing ten million sessions (1.4 s less written plain; joins on them
#: run as fast).
SESSION_TABLE = (
    ("session_id", "VARCHAR USING COMPRESSION uncompressed"),
    ("customer_id", "VARCHAR USING COMPRESSION uncompressed"),
    ("ts", "TIMESTAMPTZ"),
    ("utm_source", "VARCHAR"),
    ("utm_medium", "VARCHAR"),
    ("utm_campaign", "VARCHAR"),
    ("channel", "VARCHAR"),
    ("platform", "VARCHAR"),
    ("device", "VARCHAR"),
    ("country", "VARCHAR"),
    ("landing_page", "VARCHAR"),
    ("pageviews", "BIGINT"),
    ("is_new_visitor", "BOOLEAN"),
)


def _session_table_sql(name: str, *, numbered: bool) -> str:
    """``CREATE TABLE name`` in the columns of :data:`SESSION_TABLE` (the store's sessions).

    Parameters
    ----------
    name
        The table's name.
    numbered
        The sessions' ids are integers (``BIGINT``) rather than text.

    Returns
    -------
    str
        The statement.
    """
    specs = [
        f"{column} {spec.replace('VARCHAR', 'BIGINT') if numbered and column == 'session_id' else spec}"
        for column, spec in SESSION_TABLE
    ]
    return f"CREATE TABLE {name} ({', '.join(specs)})"


def _sessions(con: duckdb.DuckDBPyConnection, cols: set[str]) -> None:
    """Build the table ``_ud_sessions_out`` (:data:`SESSION_TABLE`): defaults, channel and
    platform, ids, and ``is_new_visitor``.

    Each visitor's first session (by ``ts``, then ``session_id``) is found first, from the
    three columns that decide it, as the file rows ``_ud_visitor_firsts`` (one window over ten
    million sessions: 2 s; an aggregate of ``(ts, session_id)`` keys took 3 to 8 s), and the
    sessions are then written once, flagged by those rows. With the file's ``session_id`` they
    keep the file's order. Without, the rows are sorted by time into a work table first (ties
    keep the file's order) and numbered in that order, so a visitor's first session is the
    first of its earliest ``ts`` in the file.
    """
    source = f"lower(trim(utm_source, {_SPACE}))"
    medium = f"lower(trim(utm_medium, {_SPACE}))"
    order = "ts, customer_id, _row"  # ties keep the file's order
    given = "session_id" in cols
    raw = f"{WORK_PREFIX}sessions"
    tie = "coalesce(session_id, '')" if given else "_row"
    con.execute(f"""
        CREATE TABLE {WORK_PREFIX}visitor_firsts AS SELECT _row FROM {raw}
        QUALIFY row_number() OVER (PARTITION BY customer_id ORDER BY ts, {tie}) = 1""")
    kind, sort = ("VIEW", "") if given else ("TABLE", f" ORDER BY {order}")
    con.execute(f"""
        CREATE {kind} {WORK_PREFIX}sessions_full AS
        WITH b AS (
            SELECT _row, customer_id, ts,
                   {_given(cols, "session_id", "VARCHAR")} AS session_id,
                   {_text(cols, "utm_source", _q(DIRECT))} AS utm_source,
                   {_text(cols, "utm_medium", _q(NONE))} AS utm_medium,
                   {_text(cols, "utm_campaign", _q(NONE))} AS utm_campaign,
                   {_given(cols, "channel", "VARCHAR")} AS _channel,
                   {_given(cols, "platform", "VARCHAR")} AS _platform,
                   {_text(cols, "device", _q(UNKNOWN))} AS device,
                   {_text(cols, "country", _q(UNKNOWN))} AS country,
                   {_text(cols, "landing_page", _q(UNKNOWN))} AS landing_page,
                   {_count(cols, "pageviews", "1")} AS pageviews
            FROM {raw}
        ), c AS (
            SELECT *, coalesce(_channel, {_classify(source, medium)}) AS channel FROM b
        )
        SELECT _row, {"coalesce(session_id, '') AS session_id, " if given else ""}
               customer_id, ts, utm_source, utm_medium, utm_campaign, channel,
               coalesce(_platform, {_case("channel", CHANNEL_PLATFORM, _q(NONE))}) AS platform,
               device, country, landing_page, pageviews
        FROM c{sort}""")
    # The sorted rows went in in order (DuckDB keeps insertion order): the row number is the
    # rowid, so the one sort serves both (a window over the same order sorted them twice).
    out = f"{WORK_PREFIX}sessions_out"
    con.execute(_session_table_sql(out, numbered=not given))
    names = [name for name, _ in SESSION_TABLE if name not in ("session_id", "is_new_visitor")]
    numbered = "session_id" if given else "CAST(rowid + 1 AS BIGINT)"
    con.execute(f"""
        INSERT INTO {out} SELECT {numbered}, {", ".join(names)},
               _row IN (SELECT _row FROM {WORK_PREFIX}visitor_firsts)
        FROM {WORK_PREFIX}sessions_full""")
    con.execute(f"DROP {kind} {WORK_PREFIX}sessions_full")
    con.execute(f"DROP TABLE {WORK_PREFIX}visitor_firsts")


def _ad_spend(con: duckdb.DuckDBPyConnection, cols: set[str]) -> None:
    """Build ``_ud_ad_spend_out``: channel, ids and names of the hierarchy, counts, order."""
    account = _text(cols, "account_id", "platform || '-account'")
    ids = [f"{account} AS account_id"]
    ids += [f"{_text(cols, f'{lv}_id', _q(NONE))} AS {lv}_id" for lv in AD_LEVELS[1:]]
    names = [f"{_given(cols, f'{lv}_name', 'VARCHAR')} AS {lv}_name" for lv in AD_LEVELS]
    hierarchy = ", ".join(f"{lv}_id, coalesce({lv}_name, {lv}_id) AS {lv}_name" for lv in AD_LEVELS)
    con.execute(f"""
        CREATE TABLE {WORK_PREFIX}ad_spend_out AS
        WITH b AS (
            SELECT _row, date, platform, {", ".join(ids)}, {", ".join(names)},
                   {_money(cols, "spend")} AS spend,
                   {_count(cols, "impressions", "0")} AS impressions,
                   {_count(cols, "clicks", "0")} AS clicks,
                   {_count(cols, "conversions", "0")} AS conversions,
                   {_money(cols, "conversion_value")} AS conversion_value
            FROM {WORK_PREFIX}ad_spend
        )
        SELECT date, platform,
               {_case("platform", PLATFORM_CHANNEL, "platform || '_ads'")} AS channel,
               {hierarchy}, spend, impressions, clicks, conversions, conversion_value
        FROM b ORDER BY date, platform, account_id, ad_id, _row""")


def entities_sql(ad_spend: str, now: datetime) -> str:
    """The SQL deriving the entity listing (accounts, campaigns, ad sets, ads) from ad spend.

    Parameters
    ----------
    ad_spend
        The table or view of ad spend rows (id and name columns per level).
    now
        The emulated now; an entity with spend in the 7 days up to it is ``active``.

    Returns
    -------
    str
        A query with the columns of :data:`.taxonomy.ENTITY_COLUMNS`: one row per entity (ids
        of ``(none)`` are skipped), level by level, each in the order of its ids and names.
    """
    cutoff = _q((now.date() - timedelta(days=6)).isoformat())
    parts = []
    for depth, level in enumerate(AD_LEVELS):
        keep = [f"{lv}_{k}" for lv in AD_LEVELS[: depth + 1] for k in ("id", "name")]
        hierarchy = ", ".join(
            c if c in keep else f"NULL::VARCHAR AS {c}" for c in HIERARCHY_COLUMNS
        )
        live = (
            f"SELECT {level}_id FROM {ad_spend} WHERE {level}_id <> {_q(NONE)}"
            f" AND date >= DATE {cutoff}"
        )
        parts.append(f"""
            SELECT {depth} AS _depth, {level}_id AS id, {_q(level)} AS level, platform,
                   {level}_name AS name, {hierarchy},
                   CASE WHEN {level}_id IN ({live}) THEN 'active' ELSE 'paused' END AS status
            FROM (SELECT DISTINCT {", ".join(keep)}, platform FROM {ad_spend}
                  WHERE {level}_id <> {_q(NONE)})""")
    order = ", ".join(["_depth", *HIERARCHY_COLUMNS, "platform"])
    return f"SELECT {', '.join(ENTITY_COLUMNS)} FROM ({' UNION ALL '.join(parts)}) ORDER BY {order}"


def _customers_sql(orders: str, sessions: str | None) -> str:
    """Each customer's first order (and first session, when there are sessions), by id.

    ``sessions`` has ``is_new_visitor`` (:func:`_sessions`): each visitor's one first session.
    """
    firsts = f"""
        SELECT customer_id, min(ts) AS first_order_at,
               arg_min(country, (ts, order_id)) AS country,
               arg_min(device, (ts, order_id)) AS device
        FROM {orders} GROUP BY customer_id"""
    if sessions is None:
        return f"""
            SELECT customer_id, first_order_at AS created_at, first_order_at,
                   {_q(UNKNOWN)} AS acquisition_channel, country, device
            FROM ({firsts}) ORDER BY customer_id"""
    return f"""
        SELECT o.customer_id, least(o.first_order_at, coalesce(s.seen, o.first_order_at))
                   AS created_at,
               o.first_order_at, coalesce(s.channel, {_q(UNKNOWN)}) AS acquisition_channel,
               o.country, o.device
        FROM ({firsts}) o
        LEFT JOIN (SELECT customer_id, ts AS seen, channel FROM {sessions}
                   WHERE is_new_visitor) s USING (customer_id)
        ORDER BY o.customer_id"""


def _orders_table(con: duckdb.DuckDBPyConnection) -> pa.Table:
    """The loaded orders as an Arrow table, in time order (the store writes ``order_facts`` from
    it): text, UTC microseconds, DOUBLE money. No pandas copy: the store keeps none."""
    return con.sql(f"SELECT * FROM {WORK_PREFIX}orders_out").to_arrow_table()


def load_user_data(
    data_dir: str | Path, now: datetime, con: duckdb.DuckDBPyConnection
) -> tuple[dict[str, pa.Table | duckdb.DuckDBPyRelation], frozenset[str]]:
    """Load the user's tables from ``data_dir`` into the DuckDB connection ``con``.

    The files are read by DuckDB (``read_csv``/``read_parquet``), checked and completed in SQL;
    the work tables are named ``_ud_*`` (:data:`WORK_PREFIX`) and may be dropped once the
    relations returned have been copied.

    Parameters
    ----------
    data_dir
        Directory holding ``orders.(parquet|csv)`` and optionally ``sessions`` and ``ad_spend``.
    now
        The emulated now (entity status).
    con
        The store's connection, with ``TimeZone`` set to UTC (naive timestamps are UTC).

    Returns
    -------
    tables : dict of str to pyarrow.Table or duckdb.DuckDBPyRelation
        ``orders`` (an Arrow table, in time order), and ``sessions``, ``ad_spend``,
        ``entities``, ``customers`` as relations of ``con``; missing optional tables are empty,
        with the documented columns.
    available : frozenset of str
        The names of the tables actually provided (always includes ``orders``).

    Raises
    ------
    DataLoadError
        When the directory or ``orders`` is missing, or a file cannot be read, lacks a required
        column, or holds an unparsable value (the message names the file, the column, a bad
        value and its data row).
    """
    root = Path(data_dir)
    if not root.is_dir():
        raise DataLoadError(f"data directory {str(root)!r} does not exist.")
    paths = {name: _find(root, name) for name in ("orders", *OPTIONAL_TABLES)}
    if paths["orders"] is None:
        raise DataLoadError(
            f"{root}: orders.parquet or orders.csv is required (see docs/emulator-data.md)."
        )
    columns: dict[str, set[str]] = {}
    for name, path in paths.items():
        if path is None:
            columns[name] = _empty_table(con, name)
        else:
            columns[name] = _load_table(con, path, name)
    _orders(con, columns["orders"])
    _drop(con, "orders")
    _sessions(con, columns["sessions"])
    _drop(con, "sessions")
    _ad_spend(con, columns["ad_spend"])
    _drop(con, "ad_spend")
    orders_out, sessions_out = f"{WORK_PREFIX}orders_out", f"{WORK_PREFIX}sessions_out"
    con.execute(
        f"CREATE VIEW {WORK_PREFIX}entities AS {entities_sql(f'{WORK_PREFIX}ad_spend_out', now)}"
    )
    # A table: its aggregate over the sessions runs once, on every thread (the store copies the
    # small tables on one).
    customers = _customers_sql(orders_out, sessions_out if paths["sessions"] else None)
    con.execute(f"CREATE TABLE {WORK_PREFIX}customers AS {customers}")
    tables: dict[str, pa.Table | duckdb.DuckDBPyRelation] = {
        "orders": _orders_table(con),
        "sessions": con.table(sessions_out),
        "ad_spend": con.table(f"{WORK_PREFIX}ad_spend_out"),
        "entities": con.view(f"{WORK_PREFIX}entities"),
        "customers": con.table(f"{WORK_PREFIX}customers"),
    }
    available = frozenset(name for name, path in paths.items() if path is not None)
    return tables, available
