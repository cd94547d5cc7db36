"""Readers end to end over HTTP against the emulator, cross-checked with pandas on its tables.

Also: validation before any request, the documented example bodies, pd.read_upstack, progress.
"""

from __future__ import annotations

import inspect
from typing import Any

import numpy as np
import pandas as pd
import pytest

import upstack_pandas as up
from tests._fake_client import FakeClient, RefusingClient, fixture_bytes
from upstack_pandas import _pandas_integration as readers
from upstack_pandas._frames import builders as frames
from upstack_pandas._readers import progress as _progress
from upstack_pandas.emulator.http.server import Emulator

NY = "America/New_York"
COUNTED = ("paid",)  # the emulator's default order statuses (pending and voided do not count)


@pytest.fixture(scope="module")
def tables(emulator: Emulator) -> dict[str, pd.DataFrame]:
    return emulator.backend().tables()


@pytest.fixture(scope="module")
def orders(tables: dict[str, pd.DataFrame]) -> pd.DataFrame:
    o = tables["orders"]
    return o[o["status"].isin(COUNTED)]


def local_day(ts: pd.Series, tz: str) -> pd.Series:
    return (
        ts.dt.tz_convert(tz)
        .dt.tz_localize(None)
        .dt.normalize()
        .dt.tz_localize(tz)
        .dt.as_unit(frames.DATETIME_UNIT)
    )


# ------------------------------------------------------------------------------- read_upstack


def test_daily_values_match_pandas_across_dst(client: up.Client, orders: pd.DataFrame) -> None:
    df = up.read_upstack(
        ["Orders", "orders.total_revenue", "AOV"],
        "2026-03-01",
        "2026-03-14",
        timezone=NY,
        client=client,
    )
    assert list(df.columns) == ["orders.orders", "orders.total_revenue", "orders.aov"]
    assert df.index.name == "dt" and str(df.index.tz) == NY and len(df) == 14
    assert (df.dtypes == "float64").all()
    assert df.index[8].utcoffset() != df.index[7].utcoffset()  # clocks change on 2026-03-08
    o = orders.assign(day=local_day(orders["ts"], NY))
    o = o[(o["day"] >= df.index[0]) & (o["day"] <= df.index[-1])]
    want = o.groupby("day").agg(n=("order_id", "size"), revenue=("total_revenue", "sum"))
    np.testing.assert_array_equal(df["orders.orders"].to_numpy(), want["n"].to_numpy())
    np.testing.assert_allclose(df["orders.total_revenue"], want["revenue"], rtol=1e-9)
    np.testing.assert_allclose(df["orders.aov"], want["revenue"] / want["n"], rtol=1e-9)
    meta = df.upstack.meta("orders.orders")
    assert meta["primarySum"] == want["n"].sum() and meta["title"] == "Orders"


def test_weekly_by_device_matches_pandas(client: up.Client, orders: pd.DataFrame) -> None:
    df = up.read_upstack(
        "orders.orders",
        "2026-02-04",
        "2026-03-20",
        granularity="week",
        dimensions="device",
        timezone=NY,
        compare=False,
        client=client,
    )
    assert list(df.index.names) == ["dt", "device"]
    dts = df.index.get_level_values("dt")
    assert (dts.day_of_week == 0).all() and dts[0] == pd.Timestamp("2026-02-02", tz=NY)
    day = local_day(orders["ts"], NY)
    o = orders[
        (day >= pd.Timestamp("2026-02-04", tz=NY)) & (day <= pd.Timestamp("2026-03-20", tz=NY))
    ]
    week = local_day(o["ts"], NY).dt.tz_localize(None)
    week = (
        (week - pd.to_timedelta(week.dt.day_of_week, unit="D"))
        .dt.tz_localize(NY)
        .dt.as_unit(frames.DATETIME_UNIT)
    )
    want = o.groupby([week.rename("dt"), o["device"]]).size().astype("float64")
    got = df["orders.orders"]
    pd.testing.assert_series_equal(
        got, want.rename("orders.orders"), check_index_type=False, check_names=False
    )


def test_hourly_sessions_on_the_dst_day(client: up.Client, tables: dict[str, pd.DataFrame]) -> None:
    df = up.read_upstack(
        "sessions.sessions",
        "2026-03-08",
        "2026-03-08",
        granularity="hour",
        timezone=NY,
        compare=False,
        client=client,
    )
    assert len(df) == 23 and df.index.is_unique  # the spring-forward day has 23 hours
    s = tables["sessions"]
    hour = s["ts"].dt.floor("h").dt.tz_convert(NY).dt.as_unit(frames.DATETIME_UNIT)
    want = hour[(hour >= df.index[0]) & (hour <= df.index[-1])].value_counts().sort_index()
    np.testing.assert_array_equal(
        df["sessions.sessions"].to_numpy(), want.reindex(df.index, fill_value=0).to_numpy()
    )


def test_granularity_none_and_channel_spend(
    client: up.Client, tables: dict[str, pd.DataFrame]
) -> None:
    df = up.read_upstack(
        "channel.spend",
        "2026-05-01",
        "2026-05-31",
        granularity="none",
        dimensions="platform",
        client=client,
    )
    assert df.index.names == ["platform"]
    a = tables["ad_spend"]
    a = a[(a["date"] >= "2026-05-01") & (a["date"] <= "2026-05-31")]
    want = a.groupby("platform")["spend"].sum()
    np.testing.assert_allclose(df["channel.spend"].sort_index(), want.sort_index(), rtol=1e-9)
    meta = df.attrs["upstack"]
    assert meta["compareDateRange"] == {"start": "2026-03-31", "end": "2026-04-30"}
    spend = df.upstack.meta("channel.spend")
    assert spend["primarySum"] == pytest.approx(want.sum())
    assert spend["compareSum"] == pytest.approx(df.upstack.compare["channel.spend"].sum())


def test_compare_frame_matches_a_primary_read_of_that_period(client: up.Client) -> None:
    df = up.read_upstack(["orders.orders", "orders.aov"], "2026-04-01", "2026-04-10", client=client)
    earlier = up.read_upstack(
        ["orders.orders", "orders.aov"], "2026-03-22", "2026-03-31", compare=False, client=client
    )
    pd.testing.assert_frame_equal(df.upstack.compare, earlier, check_freq=False)


def test_empty_result_has_the_same_shape(client: up.Client) -> None:
    full = up.read_upstack(
        "orders.orders", "2026-04-01", "2026-04-02", dimensions=["device", "country"], client=client
    )
    empty = up.read_upstack(
        "orders.orders", "2020-01-01", "2020-01-02", dimensions=["device", "country"], client=client
    )
    assert empty.empty and list(empty.columns) == list(full.columns)
    assert list(empty.index.names) == list(full.index.names)
    assert list(empty.index.dtypes) == list(full.index.dtypes)
    assert (empty.dtypes == full.dtypes).all()


def test_dtypes_override(client: up.Client) -> None:
    df = up.read_upstack(
        ["orders.orders", "orders.aov"],
        "2026-04-01",
        "2026-04-03",
        dtypes={"orders.orders": "Int64"},
        client=client,
    )
    assert str(df["orders.orders"].dtype) == "Int64" and df["orders.aov"].dtype == "float64"
    assert df.attrs["upstack"]["endpoint"] == "/db-mgmt/api/query"


def test_filters_are_sent(client: up.Client, orders: pd.DataFrame) -> None:
    cond = {"field": "orders.customer_type", "op": "equals", "value": "new_customer"}
    df = up.read_upstack(
        "orders.orders", "2026-04-01", "2026-04-05", filters=[cond], timezone="UTC", client=client
    )
    day = local_day(orders["ts"], "UTC")
    o = orders[
        (orders["customer_type"] == "new_customer") & (day >= df.index[0]) & (day <= df.index[-1])
    ]
    assert df["orders.orders"].sum() == len(o)


# --------------------------------------------------------------------- the other readers


def test_attribution(client: up.Client, orders: pd.DataFrame) -> None:
    df = up.read_attribution("utm_source", "2026-04-01", "2026-04-30", client=client)
    assert df.index.name == "utm_source" and list(df.columns) == [
        "attribution.revenue",
        "attribution.orders",
    ]
    assert "(direct)" in df.index and df.index.is_unique
    day = local_day(orders["ts"], "UTC")
    o = orders[
        (day >= pd.Timestamp("2026-04-01", tz="UTC"))
        & (day <= pd.Timestamp("2026-04-30", tz="UTC"))
    ]
    # first click credits every order to exactly one value, (direct) included
    assert df["attribution.orders"].sum() == len(o)
    assert df["attribution.revenue"].sum() == pytest.approx(o["total_revenue"].sum())
    meta = df.attrs["upstack"]
    assert meta["attributionModel"] == "first_click" and meta["attributionWindow"] == 30
    assert meta["measures"]["attribution.orders"]["primarySum"] == len(o)


def test_attribution_several_models_and_granular(client: up.Client) -> None:
    df = up.read_attribution(
        "channel",
        "2026-04-01",
        "2026-04-03",
        model=["first_click", "last_click"],
        granularity="day",
        measures="attribution.orders",
        client=client,
    )
    assert list(df.index.names) == ["attribution_model", "dt", "channel"]
    totals = df.groupby(level="attribution_model")["attribution.orders"].sum()
    assert totals["first_click"] == totals["last_click"]
    assert df.attrs["upstack"]["attributionModels"] == ["first_click", "last_click"]


def test_cohorts(client: up.Client, orders: pd.DataFrame) -> None:
    df = up.read_cohorts(
        ["orders.customers_cohort", "orders.cohort_retention_percent"],
        "2026-06-01",
        "2026-09-30",
        client=client,
    )
    assert list(df.index.names) == ["cohort", "period"]
    assert df.index.get_level_values("period").dtype == "int64"
    cohorts = df.index.get_level_values("cohort")
    assert str(cohorts.tz) == "UTC" and (cohorts.day == 1).all()
    assert (df.xs(0, level="period")["orders.cohort_retention_percent"] == 100.0).all()
    # independently: a customer's cohort is the month of their first counted order
    month = orders["ts"].dt.strftime("%Y-%m-01")
    first = orders.assign(month=month).groupby("customer_id")["month"].min()
    sizes = df.attrs["upstack"]["cohortSizes"]
    assert sizes == {
        k: float(v) for k, v in first.value_counts().items() if "2026-06-01" <= k <= "2026-09-01"
    }
    for key, size in sizes.items():
        assert size == df.loc[(pd.Timestamp(key, tz="UTC"), 0), "orders.customers_cohort"]
    members = first[first == "2026-06-01"].index
    july = orders[orders["customer_id"].isin(members) & (month == "2026-07-01")][
        "customer_id"
    ].nunique()
    june = df.loc[pd.Timestamp("2026-06-01", tz="UTC")]
    assert june.loc[1, "orders.customers_cohort"] == july
    assert june.loc[1, "orders.cohort_retention_percent"] == pytest.approx(
        july / sizes["2026-06-01"] * 100
    )
    matrix = df.upstack.cohort_matrix("orders.cohort_retention_percent")
    assert matrix.shape[0] == 4 and list(matrix.columns[:2]) == [0, 1]
    assert np.isnan(matrix.iloc[-1, -1])  # future cells are absent


def test_channel_details_follow_pagination(
    client: up.Client, tables: dict[str, pd.DataFrame], monkeypatch: pytest.MonkeyPatch
) -> None:
    posts = count_requests(client, monkeypatch)
    df = up.read_channel_details(level="campaign", page_size=5, client=client, progress=False)
    entities = tables["entities"]
    want = entities[entities["level"] == "campaign"]
    assert sorted(df.index) == sorted(want["id"]) and df.index.name == "id"
    assert len(posts) == -(-len(want) // 5)
    assert (
        list(df.columns[:3]) == ["name", "level", "platform"] and (df["level"] == "campaign").all()
    )
    assert df["name"].dtype == frames.resolve_dtype("entity")
    assert df.attrs["upstack"]["pages"] == len(posts)


def test_channel_details_with_measures(client: up.Client, tables: dict[str, pd.DataFrame]) -> None:
    df = up.read_channel_details(
        "channel.spend",
        "2026-04-01",
        "2026-04-03",
        level="campaign",
        granularity="day",
        client=client,
    )
    assert list(df.index.names) == ["id", "dt"]
    a = tables["ad_spend"]
    a = a[(a["date"] >= "2026-04-01") & (a["date"] <= "2026-04-03")]
    want = a.groupby("campaign_id")["spend"].sum()
    got = df["channel.spend"].groupby(level="id").sum()
    np.testing.assert_allclose(got.reindex(want.index), want, rtol=1e-9)
    flat = up.read_channel_details(
        "channel.spend", "2026-04-01", "2026-04-03", level="campaign", client=client
    )
    np.testing.assert_allclose(flat["channel.spend"].reindex(want.index), want, rtol=1e-9)


def test_malformed_body_raises_transport_error(emulator: Emulator, client: up.Client) -> None:
    up.measures(client=client)
    emulator.inject("malformed", path="/db-mgmt/api/query", count=10)
    try:
        with pytest.raises(up.UpstackError):
            up.read_upstack("orders.orders", "2026-04-01", "2026-04-02", client=client)
    finally:
        emulator.clear_faults()


# ----------------------------------------------------------------- validation before requests


def count_requests(client: up.Client, monkeypatch: pytest.MonkeyPatch) -> list[Any]:
    sent: list[Any] = []
    original = client.session.request

    def counting(method: str, url: str, *args: Any, **kwargs: Any) -> Any:
        sent.append((method, url))
        return original(method, url, *args, **kwargs)

    monkeypatch.setattr(client.session, "request", counting)
    return sent


@pytest.mark.parametrize(
    ("kwargs", "error"),
    [
        ({"measures": "NC ROASS"}, "closest catalog ids: core.new_customer_roas"),
        ({"measures": "orders.cohort_retention_percent"}, "cannot be used in a query"),
        ({"dimensions": "utm_sorce"}, "unknown dimension"),
        ({"dimensions": "campaign"}, "does not support dimension"),
    ],
)
def test_catalog_errors_before_any_query(
    client: up.Client, monkeypatch: pytest.MonkeyPatch, kwargs: dict[str, Any], error: str
) -> None:
    up.measures(client=client)  # the catalog is fetched (and kept) first
    sent = count_requests(client, monkeypatch)
    args = {"measures": "orders.orders", "start": "2026-04-01", "end": "2026-04-02", **kwargs}
    with pytest.raises(ValueError, match=error):
        up.read_upstack(
            args.pop("measures"), args.pop("start"), args.pop("end"), client=client, **args
        )
    assert sent == []


@pytest.mark.parametrize(
    "call",
    [
        lambda c: up.read_upstack([], client=c),
        lambda c: up.read_upstack([f"m{i}" for i in range(31)], client=c),
        lambda c: up.read_upstack("x", dimensions=list("abcdef"), client=c),
        lambda c: up.read_upstack("x", granularity="fortnight", client=c),
        lambda c: up.read_upstack("x", "2026-04-02", "2026-04-01", client=c),
        lambda c: up.read_upstack("x", "not a date", client=c),
        lambda c: up.read_upstack(
            "x", "2026-04-01", "2026-04-30", compare=("2026-04-15", "2026-05-15"), client=c
        ),
        lambda c: up.read_upstack("x", timezone="Nowhere/City", client=c),
        lambda c: up.read_upstack("x", chunks="soon", client=c),
        lambda c: up.read_upstack("x", max_workers=0, client=c),
        lambda c: up.read_attribution(model="linear", client=c),
        lambda c: up.read_attribution(window=2, client=c),
        lambda c: up.read_cohorts(granularity="day", client=c),
        lambda c: up.read_channel_details(level="keyword", client=c),
        lambda c: up.read_channel_details(page_size=5000, client=c),
    ],
)
def test_argument_errors_send_nothing(call: Any) -> None:
    with pytest.raises((ValueError, TypeError)):
        call(RefusingClient())


def test_unknown_dtypes_column_sends_no_query() -> None:
    client = FakeClient()
    with pytest.raises(ValueError, match="dtypes"):
        up.read_upstack("orders.orders", dtypes={"orders.aov": "Int64"}, client=client)
    assert client.posts == []


# --------------------------------------------------------------- documented example bodies


def example_client() -> FakeClient:
    return FakeClient(
        {
            "/db-mgmt/api/query": fixture_bytes(
                "cohort_response.json"
            ),  # documented as the same shape
            "/db-mgmt/api/query-attribution": fixture_bytes("attribution_response.json"),
            "/db-mgmt/api/query-cohort-analysis": fixture_bytes("cohort_response.json"),
            "/db-mgmt/api/query-channel-details": fixture_bytes("channel_details_response.json"),
        }
    )


def test_every_reader_accepts_the_documented_example_bodies() -> None:
    c = example_client()
    q = up.read_upstack(
        ["orders.orders", "orders.aov"], "2026-04-01", "2026-04-30", dimensions="channel", client=c
    )
    assert len(q) == 1 and q.isna().all().all() and q.index.get_level_values("dt").isna().all()
    assert len(q.upstack.compare) == 1
    a = up.read_attribution("utm_source", "2026-04-01", "2026-04-30", client=c)
    assert len(a) == 1 and a.index.name == "utm_source" and a.index[0] == "<string>"
    co = up.read_cohorts(
        "orders.ltv_cohort_gross_revenue", "2026-04-01", "2026-04-30", granularity="week", client=c
    )
    assert list(co.index.names) == ["cohort", "period"] and len(co) == 1
    ch = up.read_channel_details(client=c)
    assert ch.index.name == "id" and len(ch) == 1
    assert len([b for b in c.posts if "offset" in b]) == 1  # pagination total reached at once
    for df in (q, a, co, ch):
        assert df.attrs["upstack"]["version"] == 1


# ------------------------------------------------------------------ pandas integration, progress


def test_pd_read_upstack_is_the_same_function(monkeypatch: pytest.MonkeyPatch) -> None:
    assert pd.read_upstack is up.read_upstack  # type: ignore[attr-defined]
    assert inspect.signature(pd.read_upstack) == inspect.signature(up.read_upstack)  # type: ignore[attr-defined]
    assert "Parameters" in (pd.read_upstack.__doc__ or "")  # type: ignore[attr-defined]
    sentinel = object()
    monkeypatch.setattr(pd, "read_upstack", sentinel, raising=False)
    readers._register_pd_read_upstack()
    assert pd.read_upstack is sentinel  # type: ignore[attr-defined]


READERS = (up.read_upstack, up.read_attribution, up.read_cohorts, up.read_channel_details)
#: parameters whose description every reader that takes them shares word for word
SHARED = ("start, end", "filters", "compare", "timezone", "dtypes", "client", "refresh", "progress")


def _parameters(doc: str) -> dict[str, str]:
    """numpydoc ``Parameters`` entries: name -> description (the header's type line dropped)."""
    lines = inspect.cleandoc(doc).splitlines()
    start = lines.index("Parameters") + 2
    entries: dict[str, list[str]] = {}
    name = ""
    for line in lines[start:]:
        if line and not line.startswith(" "):
            if " : " not in line:
                break
            name = line.split(" : ")[0]
            entries[name] = []
        elif name and line.strip():
            entries[name].append(line.strip())
    return {k: " ".join(v) for k, v in entries.items()}


def test_reader_docstrings_are_written_in_the_function() -> None:
    for reader in READERS:
        source = inspect.getsource(reader)
        assert '"""' in source.split(") -> pd.DataFrame:", 1)[1][:20], reader.__name__
        params = _parameters(reader.__doc__ or "")
        assert list(params) == [
            "start, end" if p == "start" else p
            for p in inspect.signature(reader).parameters
            if p != "end"
        ], reader.__name__
        assert "Raises" in (reader.__doc__ or "") and "Returns" in (reader.__doc__ or "")


def test_shared_parameter_descriptions_are_identical() -> None:
    described = {reader.__name__: _parameters(reader.__doc__ or "") for reader in READERS}
    for name in SHARED:
        texts = {r: params[name] for r, params in described.items() if name in params}
        assert len(texts) >= 3, name
        if name == "start, end":  # a reader may add a sentence about what the range selects
            first = min(texts.values(), key=len)
            assert all(text.startswith(first) for text in texts.values()), texts
        else:
            assert len(set(texts.values())) == 1, texts


def test_progress_setting_order(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(_progress.ENV_VAR, raising=False)
    assert _progress.progress_enabled(None) is False  # pytest is not interactive
    monkeypatch.setenv(_progress.ENV_VAR, "1")
    assert _progress.progress_enabled(None) is True
    assert _progress.progress_enabled(None, client_setting=False) is False  # the client wins
    assert _progress.progress_enabled(True, client_setting=False) is True  # the argument wins
    monkeypatch.setenv(_progress.ENV_VAR, "0")
    assert _progress.progress_enabled(None, client_setting=True) is True


def test_client_progress_setting_shows_the_bar(
    emulator: Emulator, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(_progress, "DELAY_SECONDS", 0)  # these pages are quick; show them anyway
    quiet = emulator.client(cache=False)
    assert quiet.progress is None
    up.read_channel_details(level="adset", page_size=10, client=quiet)
    assert "channel details" not in capsys.readouterr().err
    loud = emulator.client(cache=False, progress=True)
    up.read_channel_details(level="adset", page_size=10, client=loud)
    assert "channel details" in capsys.readouterr().err
    loud.progress = False
    up.read_channel_details(level="adset", page_size=10, client=loud)
    assert "channel details" not in capsys.readouterr().err


def test_progress_bar_runs(
    client: up.Client, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(_progress, "DELAY_SECONDS", 0)
    df = up.read_channel_details(level="adset", page_size=10, progress=True, client=client)
    assert len(df) > 10
    assert "channel details" in capsys.readouterr().err
