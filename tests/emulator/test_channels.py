"""``Backend.channel_details``: entity listing, pagination, filters and measures against pandas."""

from __future__ import annotations

from typing import Any

import pandas as pd
import pytest

from upstack_pandas.emulator.engine.backend import Backend, QueryError

NOVEMBER = {"start": "2026-11-01", "end": "2026-11-25"}


def details(backend: Backend, **body: Any) -> dict[str, Any]:
    request: dict[str, Any] = {"pixelId": "pixel", "granularity": "none"}
    request.update(body)
    response: dict[str, Any] = backend.channel_details(request)
    return response


def test_account_grain_listing(backend: Backend, tables: dict[str, pd.DataFrame]) -> None:
    response = details(backend)
    accounts = tables["entities"].query("level == 'account'").sort_values("id")
    assert [r["basicDetails"]["id"] for r in response["results"]] == list(accounts["id"])
    first = response["results"][0]
    assert set(first["basicDetails"]) == {"id", "name", "level", "platform", "accountId", "status"}
    assert first["data"] == {"primary": [], "compare": []} and "measureDetails" not in first
    assert response["pagination"] == {
        "limit": 100,
        "offset": 0,
        "total": len(accounts),
        "hasMore": False,
    }


def test_pagination_walks_every_campaign_once(
    backend: Backend, tables: dict[str, pd.DataFrame]
) -> None:
    campaigns = sorted(tables["entities"].query("level == 'campaign'")["id"])
    seen: list[str] = []
    offset = 0
    while True:
        page = details(backend, dimensions=["campaign"], limit=4, offset=offset)
        seen += [r["basicDetails"]["id"] for r in page["results"]]
        assert page["pagination"]["total"] == len(campaigns)
        offset += 4
        if not page["pagination"]["hasMore"]:
            break
    assert seen == campaigns
    beyond = details(backend, dimensions=["campaign"], offset=10_000)
    assert beyond["results"] == [] and beyond["pagination"]["hasMore"] is False


def test_filters_scope_the_listing(backend: Backend, tables: dict[str, pd.DataFrame]) -> None:
    meta = details(
        backend,
        dimensions=["ad"],
        filters={"field": "channel.resource_source", "op": "equals", "value": "meta"},
    )
    ads = tables["entities"].query("level == 'ad' and platform == 'meta'")
    assert meta["pagination"]["total"] == len(ads)
    assert {r["basicDetails"]["platform"] for r in meta["results"]} == {"meta"}
    assert all({"campaignId", "adsetId"} <= set(r["basicDetails"]) for r in meta["results"])
    one = details(
        backend,
        dimensions=["adset"],
        filters={"and": [{"field": "channel.account", "op": "equals", "value": "act_1002"}]},
    )
    assert {r["basicDetails"]["accountId"] for r in one["results"]} == {"act_1002"}


def test_campaign_measures_match_pandas(backend: Backend, tables: dict[str, pd.DataFrame]) -> None:
    response = details(
        backend,
        dimensions=["campaign"],
        granularity="week",
        dateRange=NOVEMBER,
        measures=[
            {"measure": "channel.spend"},
            {"measure": "channel.roas"},
            {"measure": "channel.ctr"},
        ],
        compareDateRange={"start": "2026-10-01", "end": "2026-10-25"},
    )
    spend = tables["ad_spend"]
    nov = spend[(spend["date"] >= "2026-11-01") & (spend["date"] <= "2026-11-25")]
    by_campaign = nov.groupby("campaign_id")[
        ["spend", "conversion_value", "clicks", "impressions"]
    ].sum()
    for result in response["results"]:
        cid = result["basicDetails"]["id"]
        got = {d["measure"]: d for d in result["measureDetails"]}
        expected = by_campaign.loc[cid] if cid in by_campaign.index else None
        if expected is None:
            assert (
                got["channel.spend"]["primarySum"] == 0
                and got["channel.roas"]["primarySum"] is None
            )
            continue
        assert got["channel.spend"]["primarySum"] == pytest.approx(expected["spend"], abs=1e-6)
        assert got["channel.roas"]["primarySum"] == pytest.approx(
            expected["conversion_value"] / expected["spend"]
        )
        assert got["channel.ctr"]["primarySum"] == pytest.approx(
            expected["clicks"] / expected["impressions"] * 100
        )
        weeks = result["data"]["primary"]
        assert [w["dt"][:10] for w in weeks] == [
            "2026-10-26",
            "2026-11-02",
            "2026-11-09",
            "2026-11-16",
            "2026-11-23",
        ]
        assert sum(w["channel.spend"] for w in weeks) == pytest.approx(expected["spend"], abs=1e-6)
        assert len(result["data"]["compare"]) == 4


@pytest.mark.parametrize(
    ("body", "path"),
    [
        ({"dimensions": ["campaign", "ad"]}, "dimensions"),
        ({"measures": [{"measure": "channel.spend"}]}, "dateRange"),
        ({"compareDateRange": NOVEMBER}, "compareDateRange"),
        (
            {"measures": [{"measure": "orders.total_revenue"}], "dateRange": NOVEMBER},
            "measures.0.measure",
        ),
        ({"filters": {"field": "orders.country", "op": "equals", "value": "US"}}, "filters.field"),
        ({"limit": 0}, "limit"),
    ],
)
def test_semantic_errors(backend: Backend, body: dict[str, Any], path: str) -> None:
    with pytest.raises(QueryError) as err:
        details(backend, **body)
    assert err.value.errors[0]["path"] == path


def test_repeated_grain_is_one_grain(backend: Backend) -> None:
    assert (
        details(backend, dimensions=["ad", "ad"])["pagination"]
        == details(backend, dimensions=["ad"])["pagination"]
    )


def test_without_ad_spend_the_listing_is_empty(userdata_backend: Backend) -> None:
    response = details(
        userdata_backend,
        dimensions=["campaign"],
        dateRange=NOVEMBER,
        measures=[{"measure": "channel.spend"}],
    )
    assert response == {
        "results": [],
        "pagination": {"limit": 100, "offset": 0, "total": 0, "hasMore": False},
    }
