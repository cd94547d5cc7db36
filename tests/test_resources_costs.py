"""up.costs against the emulator over HTTP: frames per surface, writes, upserts, partial failures,
and a cost change moving ``orders.cm1`` in a later ``up.read_upstack`` (through the cache).

Expected numbers are recomputed with plain pandas from the emulator's raw tables
(``Backend.tables()``, ``Backend.cost_tables()``, read before any change).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from pytest_httpserver import HTTPServer

import upstack_pandas as up
from upstack_pandas.emulator.http.server import SECOND_PIXEL_ID, Emulator

APRIL = ("2026-04-01", "2026-04-30")
# raw/costs-*.md: the documented request bodies, verbatim.
OVERRIDE_EXAMPLE = {"defaultCogs": 5, "globalHandlingFee": 1.5, "currency": "USD"}
SHIPPING_EXAMPLE = {"method": "fixed_rate", "fixedRateAmount": 7.5, "currency": "USD"}
LINE_EXAMPLE: dict[str, Any] = {
    "costType": "variable",
    "line": {
        "name": "Google Ads — % of spend",
        "type": "pct_ad_spend",
        "percentRate": 2,
        "category": "marketing",
        "channel": "online",
        "currency": "USD",
    },
}
UPDATE_EXAMPLE: dict[str, Any] = {"costType": "variable", "updates": {"percentRate": 2.5}}
SHEET = pd.DataFrame(
    [
        {"costType": "fixed", "name": "Rent", "amount": 1200.0, "frequency": "monthly"},
        {"costType": "fixed", "name": "Software", "amount": 300.0, "frequency": "monthly"},
        {"costType": "order", "name": "Packaging", "type": "per_order", "amount": 0.8},
        {"costType": "shipping", "name": "EU", "amount": 6.0, "countries": "DE,FR"},
    ]
)


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


def keyed(emulator: Emulator, key: str, **kwargs: Any) -> up.Client:
    return emulator.client(api_key=emulator.keys[key], cache=False, **kwargs)


# ----------------------------------------------------------------------------- surfaces


def test_initial_surfaces(client: up.Client) -> None:
    lines = up.costs.lines(client=client)
    assert lines.empty
    assert lines.columns[:3].tolist() == ["costType", "id", "name"]
    override = up.costs.global_product_override(client=client)
    assert override.to_dict() == {"defaultCogs": None, "globalHandlingFee": 0, "currency": "USD"}
    shipping = up.costs.shipping_settings(client=client)
    assert shipping["method"] == "shopify_charges"


def test_documented_bodies_are_accepted(client: up.Client) -> None:
    override = up.costs.set_global_product_override(
        default_cogs=OVERRIDE_EXAMPLE["defaultCogs"],
        global_handling_fee=OVERRIDE_EXAMPLE["globalHandlingFee"],
        currency=OVERRIDE_EXAMPLE["currency"],
        client=client,
    )
    assert override.to_dict() == OVERRIDE_EXAMPLE
    shipping = up.costs.set_shipping_settings(
        SHIPPING_EXAMPLE["method"],
        fixed_rate_amount=SHIPPING_EXAMPLE["fixedRateAmount"],
        currency=SHIPPING_EXAMPLE["currency"],
        client=client,
    )
    assert shipping.to_dict() == SHIPPING_EXAMPLE
    line = up.costs.add_line(LINE_EXAMPLE["costType"], LINE_EXAMPLE["line"], client=client)
    assert line["costType"] == "variable" and line["name"] == "Google Ads — % of spend"
    assert line["percentRate"] == 2 and isinstance(line["createdAt"], pd.Timestamp)
    updated = up.costs.update_line(
        UPDATE_EXAMPLE["costType"], line["id"], UPDATE_EXAMPLE["updates"], client=client
    )
    assert updated["percentRate"] == 2.5 and updated["id"] == line["id"]
    frame = up.costs.lines("variable", client=client)
    assert frame["id"].tolist() == [line["id"]]
    up.costs.delete_line("variable", line["id"], client=client)
    assert up.costs.lines(client=client).empty


def test_lines_frame_has_every_type_with_its_type_column(client: up.Client) -> None:
    up.costs.upsert_lines(SHEET, client=client)
    lines = up.costs.lines(client=client)
    assert sorted(lines["costType"]) == ["fixed", "fixed", "order", "shipping"]
    assert lines["amount"].dtype == "float64"
    assert lines.loc[lines["name"] == "EU", "countries"].iloc[0] == ["DE", "FR"]
    assert str(lines["createdAt"].dt.tz) == "UTC"
    assert up.costs.lines("order", client=client)["name"].tolist() == ["Packaging"]


# ----------------------------------------------------------------------------- checks


@pytest.mark.parametrize(
    ("call", "named"),
    [
        (lambda c: up.costs.add_line("salary", {"name": "x"}, client=c), "cost_type"),
        (lambda c: up.costs.add_line("fixed", {"name": "Rent"}, client=c), "line.amount"),
        (
            lambda c: up.costs.add_line("fixed", {"name": "R", "amount": -1}, client=c),
            "line.amount",
        ),
        (
            lambda c: up.costs.add_line(
                "fixed", {"name": "R", "amount": 1, "gateway": "x"}, client=c
            ),
            "line.gateway",
        ),
        (
            lambda c: up.costs.add_line(
                "order", {"name": "R", "type": "per_day", "amount": 1}, client=c
            ),
            "line.type",
        ),
        (
            lambda c: up.costs.add_line(
                "fixed",
                {
                    "name": "R",
                    "amount": 1,
                    "effectiveStartDate": "2026-02-01",
                    "effectiveEndDate": "2026-01-01",
                },
                client=c,
            ),
            "effectiveEndDate",
        ),
        (
            lambda c: up.costs.add_line(
                "shipping", {"name": "R", "amount": 1, "countries": ["usa"]}, client=c
            ),
            "countries",
        ),
        (lambda c: up.costs.update_line("fixed", "L1", {}, client=c), "updates"),
        (lambda c: up.costs.update_line("fixed", "a/b", {"amount": 1}, client=c), "line_id"),
        (lambda c: up.costs.set_global_product_override(client=c), "no field"),
        (lambda c: up.costs.set_shipping_settings("fixed_rate", client=c), "fixed_rate_amount"),
        (lambda c: up.costs.set_shipping_settings("by_weight", client=c), "method"),
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
        ("costs_write", lambda c: up.costs.lines(client=c), "costs:read"),
        (
            "costs_read",
            lambda c: up.costs.set_global_product_override(default_cogs=1, client=c),
            "costs:write",
        ),
        (
            "costs_read",
            lambda c: up.costs.set_shipping_settings("shopify_charges", client=c),
            "costs:write",
        ),
        ("costs_read", lambda c: up.costs.delete_line("fixed", "L1", client=c), "costs:write"),
        ("account_write", lambda c: up.costs.upsert_lines(SHEET, client=c), "costs:read"),
    ],
)
def test_missing_scope_names_it(emulator: Emulator, key: str, call: Any, scope: str) -> None:
    with keyed(emulator, key) as limited, pytest.raises(up.PermissionDenied) as caught:
        call(limited)
    assert caught.value.required_scope == scope


def test_another_pixels_line_is_not_found(emulator: Emulator, client: up.Client) -> None:
    line = up.costs.add_line("fixed", {"name": "Rent", "amount": 10}, client=client)
    with keyed(emulator, "other_pixel", pixel_id=SECOND_PIXEL_ID) as other:
        with pytest.raises(up.NotFound):
            up.costs.update_line("fixed", line["id"], {"amount": 11}, client=other)
        with pytest.raises(up.NotFound):
            up.costs.delete_line("fixed", line["id"], client=other)
        assert up.costs.lines(client=other).empty
    assert up.costs.lines(client=client)["amount"].tolist() == [10.0]


def test_update_and_delete_find_the_type_from_the_id(emulator: Emulator, client: up.Client) -> None:
    fixed = up.costs.add_line("fixed", {"name": "Rent", "amount": 10}, client=client)
    ship = up.costs.add_line("shipping", {"name": "EU", "amount": 4}, client=client)
    assert up.costs.line_type(ship["id"], client=client) == "shipping"
    stored = up.costs.update_line(None, ship["id"], {"amount": 6}, client=client)
    assert (stored["costType"], stored["amount"]) == ("shipping", 6.0)
    lines = up.costs.lines(client=client).set_index("id")
    assert lines.loc[fixed["id"], "amount"] == 10.0 and lines.loc[ship["id"], "amount"] == 6.0
    up.costs.delete_line(None, fixed["id"], client=client)
    assert up.costs.lines(client=client)["id"].tolist() == [ship["id"]]
    with pytest.raises(up.NotFound, match="no cost line has the id"):
        up.costs.delete_line(None, fixed["id"], client=client)
    other = keyed(emulator, "other_pixel", pixel_id=SECOND_PIXEL_ID)
    with other, pytest.raises(up.NotFound):  # another pixel's id is not found by the lookup
        up.costs.update_line(None, ship["id"], {"amount": 7}, client=other)
    assert up.costs.lines(client=client)["amount"].tolist() == [6.0]


def test_an_id_shared_by_two_types_needs_the_type(httpserver: HTTPServer) -> None:
    line = {"id": "L1", "name": "Twice", "amount": 1}
    config = {"config": {"lines": {"fixed": [line], "shipping": [line]}}}
    httpserver.expect_request("/accounts/api/costs", method="GET").respond_with_json(config)
    client = up.Client(
        api_key="upstack_offline_0123456789", pixel_id="px", base_url=httpserver.url_for(""),
        cache=False,
    )  # fmt: skip
    with client, pytest.raises(up.ValidationError, match=r"2 types \(shipping, fixed\)") as caught:
        up.costs.delete_line(None, "L1", client=client)
    assert "cost_type" in str(caught.value)
    assert [r.method for r, _ in httpserver.log] == ["GET"]  # nothing deleted


# ----------------------------------------------------------------------------- upsert


def test_dry_run_plans_without_sending(emulator: Emulator, client: up.Client) -> None:
    before = emulator.state_summary()
    plan = up.costs.upsert_lines(SHEET, dry_run=True, client=client)
    assert plan.columns.tolist() == ["action", "costType", "id", "name", "changes", "status"]
    assert plan["action"].tolist() == ["add"] * 4
    assert plan["status"].tolist() == ["planned"] * 4
    assert plan.loc[3, "changes"]["countries"] == ["DE", "FR"]
    assert up.costs.lines(client=client).empty
    assert emulator.state_summary() == before


def test_upsert_adds_updates_deletes_and_round_trips(client: up.Client) -> None:
    applied = up.costs.upsert_lines(SHEET, client=client)
    assert applied["status"].tolist() == ["applied"] * 4
    assert applied["id"].notna().all()
    stored = up.costs.lines(client=client)
    # the stored frame written back changes nothing
    again = up.costs.upsert_lines(stored, client=client)
    assert again["action"].tolist() == ["unchanged"] * 4
    # edit the sheet: one amount changes, Software is dropped, a new line comes
    sheet = stored[stored["name"] != "Software"].copy()
    sheet.loc[sheet["name"] == "Rent", "amount"] = 1500.0
    sheet = pd.concat(
        [sheet, pd.DataFrame([{"costType": "fixed", "name": "Insurance", "amount": 90.0}])],
        ignore_index=True,
    )
    plan = up.costs.upsert_lines(sheet, delete_missing=True, dry_run=True, client=client)
    actions = dict(zip(plan["name"], plan["action"], strict=True))
    assert actions == {"Rent": "update", "Packaging": "unchanged", "EU": "unchanged",
                       "Insurance": "add", "Software": "delete"}  # fmt: skip
    assert plan.loc[plan["name"] == "Rent", "changes"].iloc[0] == {"amount": (1200, 1500)}
    result = up.costs.upsert_lines(sheet, delete_missing=True, client=client)
    assert set(result["status"]) == {"applied", "unchanged"}
    after = up.costs.lines(client=client).set_index("name")
    assert sorted(after.index) == ["EU", "Insurance", "Packaging", "Rent"]
    assert after.loc["Rent", "amount"] == 1500.0


def test_upsert_refuses_a_bad_sheet_before_sending(client: up.Client, emulator: Emulator) -> None:
    before = emulator.state_summary()
    bad = pd.concat([SHEET, pd.DataFrame([{"costType": "fixed", "name": "Broken"}])])
    with pytest.raises(up.ValidationError, match=r"table\[4\]\.amount"):
        up.costs.upsert_lines(bad, client=client)
    with pytest.raises(up.ValidationError, match="no stored"):
        up.costs.upsert_lines([{"costType": "fixed", "id": "nope", "amount": 1}], client=client)
    assert emulator.state_summary() == before


@pytest.mark.parametrize(("status", "outcome"), [(500, "unknown"), (400, "failed")])
def test_a_failure_midway_reports_exactly_what_was_applied(
    emulator: Emulator, client: up.Client, status: int, outcome: str
) -> None:
    up.costs.upsert_lines(SHEET, client=client)
    stored = up.costs.lines(client=client).sort_values("name", ignore_index=True)
    sheet = stored.copy()
    sheet["amount"] = sheet["amount"] + 1  # four updates, in this order
    third = sheet.loc[2, "id"]
    emulator.inject("status", path=f"/accounts/api/costs/lines/{third}", status=status)
    with pytest.raises(up.PartialWriteError) as caught:
        up.costs.upsert_lines(sheet, client=client)
    error = caught.value
    assert error.applied["id"].tolist() == sheet.loc[:1, "id"].tolist()
    assert error.applied["status"].tolist() == ["applied", "applied"]
    assert error.failed["id"].tolist() == [third]
    assert error.failed["status"].tolist() == [outcome]
    assert error.pending["id"].tolist() == [sheet.loc[3, "id"]]
    assert isinstance(error.cause, up.UpstackError) and error.status == status
    emulator.clear_faults()
    now = up.costs.lines(client=client).set_index("id")["amount"]
    for i, row in sheet.iterrows():
        expected = row["amount"] if i < 2 else row["amount"] - 1
        assert now[row["id"]] == expected, row["name"]


# ----------------------------------------------------------------------------- the numbers


def _april_units(emulator: Emulator) -> int:
    backend = emulator.backend()
    orders = backend.tables()["orders"]
    lines = backend.cost_tables()["lines"]
    day = orders["ts"].dt.tz_convert("UTC").dt.strftime("%Y-%m-%d")
    paid = orders[(orders["status"] == "paid") & day.between(*APRIL)]
    return int(lines.loc[lines["order_id"].isin(paid["order_id"]), "quantity"].sum())


def test_a_handling_fee_moves_cm1_in_a_later_read(emulator: Emulator, tmp_path: Path) -> None:
    units = _april_units(emulator)
    with emulator.client(cache=str(tmp_path)) as cached:
        kwargs: dict[str, Any] = {"granularity": "none", "compare": False, "client": cached}
        before = up.read_upstack(["orders.cm1", "orders.cogs"], *APRIL, **kwargs)
        assert up.read_upstack(["orders.cm1", "orders.cogs"], *APRIL, **kwargs).equals(before)
        up.costs.set_global_product_override(global_handling_fee=0.75, client=cached)
        after = up.read_upstack(["orders.cm1", "orders.cogs"], *APRIL, **kwargs)
    change = 0.75 * units
    assert change > 0
    assert after["orders.cogs"].iloc[0] == pytest.approx(
        before["orders.cogs"].iloc[0] + change, abs=0.011
    )
    assert after["orders.cm1"].iloc[0] == pytest.approx(
        before["orders.cm1"].iloc[0] - change, abs=0.011
    )


def test_a_bad_sheet_is_refused_before_any_request(offline: up.Client) -> None:
    with pytest.raises(up.ValidationError, match=r"table\[1\]\.costType"):
        up.costs.upsert_lines(
            [{"costType": "fixed", "name": "A", "amount": 1}, {"name": "B"}], client=offline
        )
    with pytest.raises(up.ValidationError, match=r"table\[0\]\.amount"):
        up.costs.upsert_lines([{"costType": "fixed", "id": "L1", "amount": "ten"}], client=offline)
