"""Argument normalisation, validation and request bodies (upstack_pandas._query.checks).

The enums and limits are also checked against the emulator's OpenAPI file, read as plain YAML.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
import yaml

import upstack_pandas as up
from upstack_pandas._query import checks as rq
from upstack_pandas._query.models import AttributionQuery, ChannelQuery, CohortQuery, Query

D = dt.date


def build(**kw: object) -> Query:
    args: dict[str, object] = {
        "measures": "orders.orders",
        "start": "2026-04-01",
        "end": "2026-04-30",
    }
    args.update(kw)
    return Query.build(args.pop("measures"), args.pop("start"), args.pop("end"), **args)  # type: ignore[arg-type]


def attribution(**kw: object) -> AttributionQuery:
    """``AttributionQuery.build`` with every argument given: these defaults, overridden by kw."""
    args: dict[str, object] = {
        "dimension": "utm_source",
        "start": None,
        "end": None,
        "model": "first_click",
        "window": 30,
        "measures": None,
        "granularity": "none",
        "compare": False,
        "filters": None,
        "timezone": None,
    }
    args.update(kw)
    return AttributionQuery.build(args.pop("dimension"), args.pop("start"), args.pop("end"), **args)  # type: ignore[arg-type]


def channel(**kw: object) -> ChannelQuery:
    """``ChannelQuery.build`` with every argument given: these defaults, overridden by kw."""
    args: dict[str, object] = {
        "measures": None,
        "start": None,
        "end": None,
        "granularity": "none",
        "level": "account",
        "compare": False,
        "filters": None,
        "timezone": None,
        "page_size": 100,
    }
    args.update(kw)
    return ChannelQuery.build(args.pop("measures"), args.pop("start"), args.pop("end"), **args)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "value",
    [
        "2026-04-01",
        D(2026, 4, 1),
        dt.datetime(2026, 4, 1),
        pd.Timestamp("2026-04-01"),
        pd.Timestamp("2026-04-01", tz="America/New_York"),
        pd.Timestamp("2026-04-01T04:00", tz="UTC"),  # midnight in New York
    ],
)
def test_dates_accept_str_date_datetime_timestamp(value: object) -> None:
    assert rq.to_date(value, "start", "America/New_York") == D(2026, 4, 1)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "value",
    [
        dt.datetime(2026, 4, 1, 15, 30),
        pd.Timestamp("2026-04-01T23:30", tz="America/New_York"),
        pd.Timestamp("2026-04-02T02:00", tz="UTC"),  # 22:00 on April 1st in New York
    ],
)
def test_a_time_of_day_is_refused_not_dropped(value: object) -> None:
    with pytest.raises(up.ValidationError, match="has a time of day") as info:
        rq.to_date(value, "end", "America/New_York")  # type: ignore[arg-type]
    assert info.value.parameter == "end"


@pytest.mark.parametrize("value", ["2026-13-01", "yesterday-ish", ""])
def test_unparseable_dates_raise(value: str) -> None:
    with pytest.raises(ValueError, match="start"):
        rq.to_date(value, "start", "UTC")


def test_date_type_errors() -> None:
    with pytest.raises(TypeError):
        rq.to_date(20260401, "start", "UTC")  # type: ignore[arg-type]


def test_default_range_is_the_last_30_days(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(rq, "today", lambda tz: D(2026, 11, 26))
    assert rq.date_range(None, None, "UTC") == (D(2026, 10, 28), D(2026, 11, 26))
    assert rq.date_range("2026-11-01", None, "UTC") == (D(2026, 11, 1), D(2026, 11, 26))
    assert rq.date_range(None, "2026-01-30", "UTC") == (D(2026, 1, 1), D(2026, 1, 30))


def test_start_after_end() -> None:
    with pytest.raises(ValueError, match="after end"):
        build(start="2026-05-01", end="2026-04-01")


def test_measure_counts() -> None:
    with pytest.raises(ValueError, match="1 to 30 measures"):
        build(measures=[])
    with pytest.raises(ValueError, match="1 to 30 measures"):
        build(measures=[f"m{i}" for i in range(31)])
    assert len(build(measures=[f"m{i}" for i in range(30)]).measures) == 30
    with pytest.raises(ValueError, match="repeated"):
        build(measures=["a", "a"])
    with pytest.raises(TypeError):
        build(measures=[1])


def test_dimension_count() -> None:
    with pytest.raises(ValueError, match="at most 5 dimensions"):
        build(dimensions=["a", "b", "c", "d", "e", "f"])
    assert build(dimensions="channel").dimensions == ("channel",)


@pytest.mark.parametrize("granularity", ["daily", "Day", None, "weeks"])
def test_granularity_enum(granularity: object) -> None:
    with pytest.raises(ValueError, match="granularity must be one of"):
        build(granularity=granularity)


def test_timezone() -> None:
    assert build(timezone=None).timezone == "UTC"
    assert build(timezone="Europe/Paris").timezone == "Europe/Paris"
    with pytest.raises(ValueError, match="unknown timezone"):
        build(timezone="Mars/Olympus")
    with pytest.raises(ValueError, match="timezone"):
        build(timezone="")


def test_compare_forms() -> None:
    assert build(compare=True).compare == (D(2026, 3, 2), D(2026, 3, 31))
    assert build(compare=False).compare is None
    assert build(compare=("2026-01-01", D(2026, 1, 31))).compare == (D(2026, 1, 1), D(2026, 1, 31))
    with pytest.raises(ValueError, match="overlaps"):
        build(compare=("2026-03-15", "2026-04-01"))
    with pytest.raises(ValueError, match="after compare end"):
        build(compare=("2026-02-01", "2026-01-01"))
    with pytest.raises(ValueError, match="a \\(start, end\\) pair or one of 'previous_period'"):
        build(compare="2026-01-01")  # a string is a compare name (issue 15); unknown ones listed
    with pytest.raises(TypeError):
        build(compare=3)  # type: ignore[arg-type]


def test_filters_validation() -> None:
    cond = {"field": "orders.customer_type", "op": "equals", "value": "new_customer"}
    assert build(filters=cond).filters == cond
    assert build(filters=[cond]).filters == {"and": [cond]}
    assert build(filters={"or": [cond, {"and": [cond]}]}).filters is not None
    with pytest.raises(ValueError, match="op must be one of"):
        build(filters={"field": "x", "op": "like", "value": 1})
    with pytest.raises(ValueError, match="must be a list"):
        build(filters={"field": "x", "op": "in", "value": "a"})
    with pytest.raises(ValueError, match="non-empty list"):
        build(filters={"and": []})
    with pytest.raises(ValueError, match="keys"):
        build(filters={"field": "x", "value": 1})


def test_query_body_matches_the_contract() -> None:
    q = build(
        measures=["core.new_customer_roas"],
        granularity="day",
        dimensions=["utm_source"],
        timezone="America/New_York",
        filters=[{"field": "f", "op": "in", "value": ["a"]}],
        order_settings={"countPendingOrders": False},
    )
    assert q.body("px") == {
        "pixelId": "px",
        "granularity": "day",
        "measures": [{"measure": "core.new_customer_roas", "pacing": False}],
        "dimensions": ["utm_source"],
        "filters": {"and": [{"field": "f", "op": "in", "value": ["a"]}]},
        "dateRange": {"start": "2026-04-01", "end": "2026-04-30"},
        "compareDateRange": {"start": "2026-03-02", "end": "2026-03-31"},
        "timezone": "America/New_York",
        "orderSettings": {"countPendingOrders": False},
    }
    assert build(compare=False).body("px")["compareDateRange"] is None


def test_other_bodies() -> None:
    a = attribution(
        start="2026-04-01",
        end="2026-04-30",
        model="last_click",
        window=7,
        measures=["attribution.revenue"],
    )
    assert a.body("px") == {
        "pixelId": "px",
        "dimension": "utm_source",
        "dateRange": {"start": "2026-04-01", "end": "2026-04-30"},
        "attributionModel": "last_click",
        "attributionWindow": 7,
        "granularity": "none",
        "timezone": "UTC",
        "measures": ["attribution.revenue"],
    }
    with pytest.raises(ValueError, match="window"):
        attribution(window=5)
    with pytest.raises(ValueError, match="model"):
        attribution(model="linear")
    c = CohortQuery.build(
        "orders.customers_cohort",
        "2026-01-01",
        "2026-06-30",
        granularity="week",
        filters=None,
        timezone="UTC",
    )
    assert c.body("px")["measures"] == ["orders.customers_cohort"]
    with pytest.raises(ValueError, match="granularity"):
        CohortQuery.build("x", None, None, granularity="day", filters=None, timezone=None)
    ch = channel(level="campaign", compare=True, page_size=50)
    assert ch.body("px", 100) == {
        "pixelId": "px",
        "granularity": "none",
        "timezone": "UTC",
        "limit": 50,
        "offset": 100,
        "dimensions": ["campaign"],
    }
    with pytest.raises(ValueError, match="page_size"):
        channel(level="ad", page_size=0)


@pytest.mark.parametrize(
    ("chunks", "expected"),
    [(None, (None, False)), ("90D", (90, False)), (30, (30, False)), ("2W", (14, False)),
     ("auto", (90, True)), (" Auto ", (90, True))],
)  # fmt: skip
def test_chunks_spans(chunks: object, expected: tuple[int | None, bool]) -> None:
    assert rq.check_window_days(chunks) == expected  # type: ignore[arg-type]


@pytest.mark.parametrize("chunks", ["12h", 0, "soon", -3])
def test_bad_chunks(chunks: object) -> None:
    with pytest.raises(ValueError, match="chunks"):
        rq.check_window_days(chunks)  # type: ignore[arg-type]


# ------------------------------------------------------------------ bodies vs the OpenAPI file


def _bodies() -> list[tuple[str, dict[str, object]]]:
    cond = {"field": "orders.customer_type", "op": "in", "value": ["new_customer"]}
    query = build(
        measures=["orders.orders", "orders.aov"],
        dimensions=["channel", "device"],
        filters={"or": [cond, {"and": [cond]}]},
        timezone="Europe/Paris",
        order_settings={"countPendingOrders": False, "countVoidedOrders": True},
    )
    out = [
        (Query.path, query.body("px")),
        (Query.path, build(compare=False, granularity="none").body("px")),
        (Query.path, build(compare=("2026-01-01", "2026-01-31"), pacing=True).body("px")),
    ]
    for compare in (False, True):
        weekly = attribution(
            start="2026-04-01",
            end="2026-04-30",
            model="any_click",
            window=90,
            measures=["attribution.revenue"],
            granularity="week",
            compare=compare,
            filters=[cond],
            timezone="UTC",
        )
        out.append((AttributionQuery.path, weekly.body("px")))
    cohort = CohortQuery.build(
        ["orders.customers_cohort"],
        "2026-01-01",
        "2026-06-30",
        granularity="year",
        filters=cond,
        timezone="UTC",
    )
    out.append((CohortQuery.path, cohort.body("px")))
    for measures in (None, ["channel.spend"]):
        details = channel(
            measures=measures,
            start="2026-04-01",
            end="2026-04-30",
            granularity="day",
            level="adset",
            compare=True,
            timezone="UTC",
            page_size=1000,
        )
        out.append((ChannelQuery.path, details.body("px", 2000)))
    return out


@pytest.mark.parametrize(("path", "body"), _bodies())
def test_bodies_match_the_openapi_file(path: str, body: dict[str, object]) -> None:
    from upstack_pandas.emulator.http.spec import operations
    from upstack_pandas.emulator.http.validation import RequestValidator

    (operation,) = [op for op in operations() if op.method == "POST" and op.path == path]
    RequestValidator().validate_body(operation, body)  # raises the API's 400 otherwise


# -------------------------------------------------- enums and limits vs the OpenAPI file

OPENAPI = Path(rq.__file__).parents[1] / "emulator" / "spec" / "openapi.yaml"


@pytest.fixture(scope="module")
def schemas() -> dict[str, Any]:
    """``components.schemas`` of the emulator's OpenAPI file, read as plain YAML."""
    spec = yaml.safe_load(OPENAPI.read_text(encoding="utf-8"))
    found: dict[str, Any] = spec["components"]["schemas"]
    return found


def _request(schemas: dict[str, Any], name: str, field: str) -> dict[str, Any]:
    found: dict[str, Any] = schemas[name]["properties"][field]
    return found


def test_enums_match_the_openapi_file(schemas: dict[str, Any]) -> None:
    assert tuple(schemas["Granularity"]["enum"]) == rq.GRANULARITIES
    assert tuple(_request(schemas, "CohortRequest", "granularity")["enum"]) == (
        rq.COHORT_GRANULARITIES
    )
    assert tuple(schemas["AttributionModel"]["enum"]) == rq.ATTRIBUTION_MODELS
    assert tuple(schemas["AttributionWindow"]["enum"]) == rq.ATTRIBUTION_WINDOWS
    assert tuple(schemas["FilterOperator"]["enum"]) == rq.OPERATORS
    grains = _request(schemas, "ChannelDetailsRequest", "dimensions")["items"]["enum"]
    assert ("account", *grains) == rq.CHANNEL_LEVELS  # account: no grain dimension


def test_limits_match_the_openapi_file(schemas: dict[str, Any]) -> None:
    for name in ("QueryRequest", "AttributionRequest", "CohortRequest", "FromPresetRequest"):
        measures = _request(schemas, name, "measures")
        assert (measures["minItems"], measures["maxItems"]) == (1, rq.MAX_MEASURES), name
    channel_measures = _request(schemas, "ChannelDetailsRequest", "measures")
    assert "minItems" not in channel_measures  # none: the entity listing
    assert channel_measures["maxItems"] == rq.MAX_MEASURES
    assert _request(schemas, "QueryRequest", "dimensions")["maxItems"] == rq.MAX_DIMENSIONS
    limit = _request(schemas, "ChannelDetailsRequest", "limit")
    assert (limit["minimum"], limit["maximum"]) == (1, rq.MAX_PAGE_SIZE)


def test_the_client_enforces_the_openapi_limits(schemas: dict[str, Any]) -> None:
    most = _request(schemas, "QueryRequest", "measures")["maxItems"]
    assert len(build(measures=[f"m{i}" for i in range(most)]).measures) == most
    with pytest.raises(ValueError, match="measures"):
        build(measures=[f"m{i}" for i in range(most + 1)])
    most = _request(schemas, "QueryRequest", "dimensions")["maxItems"]
    assert len(build(dimensions=[f"d{i}" for i in range(most)]).dimensions) == most
    with pytest.raises(ValueError, match="dimensions"):
        build(dimensions=[f"d{i}" for i in range(most + 1)])
    most = _request(schemas, "ChannelDetailsRequest", "limit")["maximum"]
    assert channel(page_size=most).page_size == most
    with pytest.raises(ValueError, match="page_size"):
        channel(page_size=most + 1)


def test_dashboard_enums_and_limits_match_the_openapi_file(schemas: dict[str, Any]) -> None:
    from upstack_pandas.dashboards import bodies as dr

    assert tuple(schemas["DashboardViewType"]["enum"]) == dr.VIEW_TYPES
    assert tuple(_request(schemas, "FromPresetRequest", "layout")["enum"]) == dr.LAYOUTS
    assert schemas["DashboardViewName"]["maxLength"] == dr._MAX_NAME
    chart_types = _request(schemas, "FromPresetRequest", "chartTypes")
    assert chart_types["items"]["maxLength"] == dr._MAX_CHART_TYPE
    most = _request(schemas, "FromPresetRequest", "measures")["maxItems"]
    assert len(dr.measure_names([f"m{i}" for i in range(most)])) == most
    with pytest.raises(ValueError, match="measures"):
        dr.measure_names([f"m{i}" for i in range(most + 1)])


@pytest.mark.parametrize("reader", ["query", "cohorts"])
def test_order_settings_must_be_a_mapping_for_every_reader(reader: str) -> None:
    from upstack_pandas._query.models import CohortQuery, Query

    with pytest.raises(TypeError, match="order_settings must be a dict"):
        if reader == "query":
            Query.build("orders.orders", "2026-01-01", "2026-01-31", order_settings=[("a", 1)])  # type: ignore[arg-type]
        else:
            CohortQuery.build(
                "orders.customers_cohort", "2026-01-01", "2026-01-31",
                granularity="month", filters=None, timezone=None,
                order_settings="countPendingOrders",  # type: ignore[arg-type]
            )  # fmt: skip
