"""up.products against the emulator over HTTP: search (every page), resolved costs, handling fee,
COG lines and their upsert, and a COG change moving ``orders.cm1`` by the amount computed in pandas.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pandas as pd
import pytest
from pytest_httpserver import HTTPServer

import upstack_pandas as up
from upstack_pandas.emulator.http.server import SECOND_PIXEL_ID, Emulator

APRIL = ("2026-04-01", "2026-04-30")
# raw/products-*.md: the documented request bodies, verbatim.
COG_EXAMPLE = {"cost": 5, "effectiveStartDate": "2026-01-01", "description": "Q1 batch"}
HANDLING_EXAMPLE = {"handlingFee": 1}


@pytest.fixture(autouse=True)
def fresh(emulator: Emulator) -> Iterator[None]:
    emulator.reset_state()
    yield
    emulator.clear_faults()
    emulator.reset_state()


@pytest.fixture
def offline(httpserver: HTTPServer) -> Iterator[up.Client]:
    client = up.Client(
        api_key="upstack_offline_0123456789", pixel_id="px", base_url=httpserver.url_for(""),
        cache=False,
    )  # fmt: skip
    yield client
    assert httpserver.log == [], "a request was sent"
    client.close()


@pytest.fixture(scope="module")
def catalog(emulator: Emulator) -> pd.DataFrame:
    """The emulator's products table (one row per variant), read directly."""
    products: pd.DataFrame = emulator.backend().cost_tables()["products"]
    return products


def keyed(emulator: Emulator, key: str, **kwargs: Any) -> up.Client:
    return emulator.client(api_key=emulator.keys[key], cache=False, **kwargs)


def test_search_follows_the_cursor_to_the_end(client: up.Client, catalog: pd.DataFrame) -> None:
    every = up.products.search(client=client)
    paged = up.products.search(page_size=7, client=client)  # 48 products: 7 pages
    assert paged.equals(every)
    assert len(every) == len(catalog)
    assert set(every["variantId"]) == set(catalog["variant_id"])
    assert every.columns.tolist() == list(up.products.VARIANT_COLUMNS)
    assert every["handlingFee"].dtype == "float64" and every["cogLines"].dtype == "int64"
    assert every["productId"].is_monotonic_increasing  # products come sorted by id


def test_search_page_walks_the_same_pages_as_search(client: up.Client) -> None:
    every = up.products.search(client=client)
    pages, cursor, requests = [], None, 0
    while True:
        page, cursor = up.products.search_page(page_size=7, cursor=cursor, client=client)
        pages.append(page)
        requests += 1
        if cursor is None:
            break
    assert requests == 7  # 48 products, 7 per page
    assert pages[0]["productId"].nunique() == 7
    assert pd.concat(pages, ignore_index=True).equals(every)
    assert pages[-1].columns.tolist() == list(up.products.VARIANT_COLUMNS)


def test_search_page_refuses_a_bad_cursor(client: up.Client, offline: up.Client) -> None:
    with pytest.raises(up.ValidationError, match="cursor"):
        up.products.search_page(cursor="", client=offline)
    with pytest.raises(up.ValidationError, match="cursor"):  # the API's 400 names it
        up.products.search_page(cursor="not-a-cursor-we-issued", client=client)


def test_search_filters_case_insensitively(client: up.Client) -> None:
    every = up.products.search(client=client)
    word = every["productTitle"].iloc[0].split()[0]
    found = up.products.search(word.upper(), page_size=3, client=client)
    expected = every[
        every["productId"].isin(
            every.loc[
                every["productTitle"].str.contains(word, case=False)
                | every["variantTitle"].str.contains(word, case=False)
                | every["sku"].str.contains(word, case=False),
                "productId",
            ]
        )
    ].reset_index(drop=True)
    pd.testing.assert_frame_equal(found, expected)
    assert up.products.search("no such product at all", client=client).empty


def test_search_shows_a_progress_bar_when_asked(
    client: up.Client, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    from upstack_pandas._readers import progress as _progress

    monkeypatch.setattr(_progress, "DELAY_SECONDS", 0)  # quick pages: show the bar anyway
    up.products.search(page_size=20, progress=True, client=client)
    assert "products" in capsys.readouterr().err


def test_variant_costs_for_many_variants(client: up.Client) -> None:
    variants = up.products.search(client=client).head(5)
    first = variants.iloc[0]
    up.products.add_cog_line(
        first["productId"], first["variantId"], 4.25, "2026-01-01", client=client
    )
    costs = up.products.variant_costs(variants, client=client)
    assert costs.columns.tolist() == list(up.products.COST_COLUMNS)
    assert costs["variantId"].tolist() == variants["variantId"].tolist()
    assert costs.loc[0, "source"] == "cog_line" and costs.loc[0, "effectiveCost"] == 4.25
    assert costs.loc[0, "activeCogLineId"] is not None
    assert costs["effectiveCost"].dtype == "float64"
    pairs = list(zip(variants["productId"], variants["variantId"], strict=True))
    assert up.products.variant_costs(pairs, client=client).equals(costs)


def test_documented_bodies_are_accepted(client: up.Client) -> None:
    variant = up.products.search(client=client).iloc[0]
    pid, vid = variant["productId"], variant["variantId"]
    fee = up.products.set_handling_fee(pid, vid, HANDLING_EXAMPLE["handlingFee"], client=client)
    assert fee["handlingFee"] == 1
    line = up.products.add_cog_line(
        pid, vid, COG_EXAMPLE["cost"], COG_EXAMPLE["effectiveStartDate"],
        description=COG_EXAMPLE["description"], client=client,
    )  # fmt: skip
    assert line["cost"] == 5 and line["description"] == "Q1 batch" and line["id"]
    updated = up.products.update_cog_line(
        pid, vid, line["id"], effectiveEndDate="2026-03-31", client=client
    )
    assert updated["effectiveEndDate"] == "2026-03-31"
    history = up.products.cog_lines(client=client)
    assert history["id"].tolist() == [line["id"]]
    up.products.delete_cog_line(pid, vid, line["id"], client=client)
    assert up.products.cog_lines(client=client).empty


@pytest.mark.parametrize(
    ("call", "named"),
    [
        (lambda c: up.products.search(page_size=0, client=c), "page_size"),
        (lambda c: up.products.search(page_size=101, client=c), "page_size"),
        (lambda c: up.products.set_handling_fee("p", "v", -1, client=c), "fee"),
        (lambda c: up.products.set_handling_fee("", "v", 1, client=c), "product_id"),
        (
            lambda c: up.products.add_cog_line("p", "v", 1, "01/02/2026", client=c),
            "effectiveStartDate",
        ),
        (
            lambda c: up.products.add_cog_line("p", "v", 1, "2026-02-01", "2026-01-01", client=c),
            "effectiveEndDate",
        ),
        (
            lambda c: up.products.add_cog_line(
                "p", "v", 1, "2026-02-01", description="x" * 501, client=c
            ),
            "description",
        ),
        (lambda c: up.products.update_cog_line("p", "v", "c", client=c), "updates"),
        (lambda c: up.products.variant_costs([("p",)], client=c), "variants"),
        (lambda c: up.products.upsert_cogs([{"productId": "p", "cost": 1}], client=c), "variantId"),
    ],
)
def test_bad_arguments_are_refused_before_sending(
    offline: up.Client, call: Any, named: str
) -> None:
    with pytest.raises(up.ValidationError, match=named):
        call(offline)


@pytest.mark.parametrize(
    ("key", "call", "scope"),
    [
        ("costs_write", lambda c: up.products.search(client=c), "costs:read"),
        ("costs_write", lambda c: up.products.variant_costs([("p", "v")], client=c), "costs:read"),
        (
            "costs_read",
            lambda c: up.products.set_handling_fee("p", "v", 1, client=c),
            "costs:write",
        ),
        (
            "costs_read",
            lambda c: up.products.delete_cog_line("p", "v", "c", client=c),
            "costs:write",
        ),
    ],
)
def test_missing_scope_names_it(emulator: Emulator, key: str, call: Any, scope: str) -> None:
    with keyed(emulator, key) as limited, pytest.raises(up.PermissionDenied) as caught:
        call(limited)
    assert caught.value.required_scope == scope


def test_another_pixels_variant_is_not_found(emulator: Emulator, client: up.Client) -> None:
    variant = up.products.search(client=client).iloc[0]
    with keyed(emulator, "other_pixel", pixel_id=SECOND_PIXEL_ID) as other:
        with pytest.raises(up.NotFound):
            up.products.variant_costs([(variant["productId"], variant["variantId"])], client=other)
        with pytest.raises(up.NotFound):
            up.products.set_handling_fee(
                variant["productId"], variant["variantId"], 2, client=other
            )
        assert variant["variantId"] not in set(up.products.search(client=other)["variantId"])


def test_upsert_cogs_plans_applies_and_round_trips(emulator: Emulator, client: up.Client) -> None:
    variants = up.products.search(client=client).head(2)
    a, b = variants.iloc[0], variants.iloc[1]
    sheet = pd.DataFrame(
        [
            {"productId": a["productId"], "variantId": a["variantId"], "cost": 5.0, "effectiveStartDate": "2026-01-01"},
            {"productId": a["productId"], "variantId": a["variantId"], "cost": 6.0, "effectiveStartDate": pd.Timestamp("2026-06-01"), "effectiveEndDate": "2026-06-30"},
            {"productId": b["productId"], "variantId": b["variantId"], "cost": 2.5, "effectiveStartDate": "2026-03-01", "description": "spring"},
        ]
    )  # fmt: skip
    before = emulator.state_summary()
    plan = up.products.upsert_cogs(sheet, dry_run=True, client=client)
    assert plan["action"].tolist() == ["add", "add", "add"]
    assert plan["status"].tolist() == ["planned"] * 3
    assert plan["effectiveStartDate"].tolist() == ["2026-01-01", "2026-06-01", "2026-03-01"]
    assert emulator.state_summary() == before
    done = up.products.upsert_cogs(sheet, client=client)
    assert done["status"].tolist() == ["applied"] * 3 and done["id"].notna().all()
    stored = up.products.cog_lines(client=client)
    assert sorted(stored["cost"]) == [2.5, 5.0, 6.0]
    assert up.products.upsert_cogs(stored, client=client)["action"].tolist() == ["unchanged"] * 3
    # same start date without an id: an update of that line; delete_missing drops the June one
    edit = sheet.iloc[[0, 2]].assign(cost=[5.5, 2.5])
    plan = up.products.upsert_cogs(edit, delete_missing=True, dry_run=True, client=client)
    assert plan["action"].tolist() == ["update", "unchanged", "delete"]
    assert plan.loc[0, "changes"] == {"cost": (5, 5.5)}
    up.products.upsert_cogs(edit, delete_missing=True, client=client)
    assert sorted(up.products.cog_lines(client=client)["cost"]) == [2.5, 5.5]


def test_upsert_cogs_partial_failure(emulator: Emulator, client: up.Client) -> None:
    variants = up.products.search(client=client).head(3)
    sheet = pd.DataFrame(
        {"productId": variants["productId"], "variantId": variants["variantId"],
         "cost": [1.0, 2.0, 3.0], "effectiveStartDate": "2026-01-01"}
    )  # fmt: skip
    second = variants.iloc[1]
    emulator.inject(
        "status",
        path=f"/accounts/api/products/{second['productId']}/{second['variantId']}/cogs",
        status=500,
    )
    with pytest.raises(up.PartialWriteError) as caught:
        up.products.upsert_cogs(sheet, client=client)
    assert caught.value.applied["variantId"].tolist() == [variants.iloc[0]["variantId"]]
    assert caught.value.failed["status"].tolist() == ["unknown"]
    assert caught.value.pending["variantId"].tolist() == [variants.iloc[2]["variantId"]]
    emulator.clear_faults()
    assert up.products.cog_lines(client=client)["variantId"].tolist() == [
        variants.iloc[0]["variantId"]
    ]


def test_a_cog_line_moves_cm1_by_the_amount_computed_in_pandas(
    emulator: Emulator, client: up.Client
) -> None:
    backend = emulator.backend()
    orders = backend.tables()["orders"]
    tables = backend.cost_tables()
    day = orders["ts"].dt.tz_convert("UTC").dt.strftime("%Y-%m-%d")
    paid = orders[(orders["status"] == "paid") & day.between(*APRIL)]
    lines = tables["lines"].merge(tables["products"], on="variant_id")
    lines = lines[lines["order_id"].isin(paid["order_id"]) & lines["synced"]]
    lines = lines.assign(day=lines["day"].dt.strftime("%Y-%m-%d"))
    variant_id = lines["variant_id"].value_counts().index[0]
    product_id = lines.loc[lines["variant_id"] == variant_id, "product_id"].iloc[0]
    hit = lines[(lines["variant_id"] == variant_id) & (lines["day"] <= "2026-04-15")]
    change = round(float((5 * hit["quantity"] - hit["base_cost"]).sum()), 2)
    assert change != 0
    kwargs: dict[str, Any] = {"granularity": "none", "compare": False, "client": client}
    before = up.read_upstack("orders.cm1", *APRIL, **kwargs)["orders.cm1"].iloc[0]
    sheet = [{"productId": product_id, "variantId": variant_id, "cost": 5,
              "effectiveStartDate": "2026-04-01", "effectiveEndDate": "2026-04-15"}]  # fmt: skip
    up.products.upsert_cogs(sheet, client=client)
    after = up.read_upstack("orders.cm1", *APRIL, **kwargs)["orders.cm1"].iloc[0]
    assert after == pytest.approx(before - change, abs=0.011)
