"""Dashboard views: the per-pixel store and the ``/accounts/api/dashboard/views`` routes."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any, ClassVar

import pytest
import requests

from upstack_pandas.emulator.engine.api_errors import ApiError
from upstack_pandas.emulator.engine.dashboards import (
    DashboardStore,
    preset_configuration,
    widget_count,
)
from upstack_pandas.emulator.http.server import Emulator

VIEWS = "/accounts/api/dashboard/views"
FIXTURES = Path(__file__).parents[1] / "fixtures" / "dashboards"
NOT_FOUND = {"message": "Dashboard view not found"}


def _fixture(name: str) -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads((FIXTURES / name).read_text())
    return loaded


class FakeCatalog:
    """A two-measure catalog standing in for the engine in unit tests."""

    titles: ClassVar[dict[str, str]] = {"core.new_customer_roas": "NC ROAS", "meta.cpm": "Meta CPM"}

    def measure_ids(self) -> set[str]:
        return set(self.titles)

    def catalog_entry(self, measure_id: str) -> dict[str, Any]:
        return {"id": measure_id, "shortTitle": self.titles[measure_id]}


# --- the store ----------------------------------------------------------------------------------


@pytest.fixture
def store() -> Iterator[DashboardStore]:
    store = DashboardStore()
    yield store
    store.close()


def test_store_keeps_pixels_apart(store: DashboardStore) -> None:
    view = store.create("px_a", {"name": "A", "configuration": {}})
    assert store.get("px_a", view["id"])["name"] == "A"
    for attempt in (
        lambda: store.get("px_b", view["id"]),
        lambda: store.update("px_b", view["id"], {"name": "B"}),
        lambda: store.delete("px_b", view["id"]),
        lambda: store.copy("px_b", view["id"]),
        lambda: store.get("px_a", "missing"),
    ):
        with pytest.raises(ApiError) as caught:
            attempt()
        assert (caught.value.status, caught.value.body()) == (404, NOT_FOUND)
    assert store.summaries("px_b") == []
    assert store.get("px_a", view["id"])["name"] == "A"


def test_store_orders_and_defaults(store: DashboardStore) -> None:
    first = store.create("px", {"name": "first", "configuration": {}})
    second = store.create("px", {"name": "second", "configuration": {}, "type": "pnl_view"})
    explicit = store.create("px", {"name": "early", "configuration": {}, "order": -1.5})
    assert (first["order"], second["order"], explicit["order"]) == (0, 1, -1.5)
    assert (first["type"], second["type"]) == ("view", "pnl_view")
    assert [v["name"] for v in store.summaries("px")] == ["early", "first", "second"]
    assert [v["name"] for v in store.summaries("px", "pnl_view")] == ["second"]
    assert first["createdBy"] == first["updatedBy"] == ""


def test_store_update_replaces_configuration_wholesale(store: DashboardStore) -> None:
    view = store.create("px", {"name": "v", "configuration": {"widgets": [{}], "grid": {}}})
    updated = store.update("px", view["id"], {"configuration": {"sections": []}})
    assert updated["configuration"] == {"sections": []}
    assert updated["name"] == "v" and updated["createdAt"] == view["createdAt"]


def test_store_copy(store: DashboardStore) -> None:
    view = store.create("px", {"name": "x" * 100, "configuration": {"widgets": [{"id": "w"}]}})
    copied = store.copy("px", view["id"])
    assert copied["name"] == ("Copy of " + "x" * 100)[:100]
    assert copied["configuration"] == view["configuration"] and copied["id"] != view["id"]
    assert store.copy("px", view["id"], "named")["name"] == "named"


def test_store_is_thread_safe(store: DashboardStore) -> None:
    def create(i: int) -> None:
        store.create("px", {"name": f"v{i}", "configuration": {}})

    threads = [threading.Thread(target=create, args=(i,)) for i in range(32)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    summaries = store.summaries("px")
    assert len(summaries) == 32
    assert sorted(v["order"] for v in summaries) == list(range(32))


def test_store_persists_to_sqlite(tmp_path: Path) -> None:
    path = tmp_path / "views.sqlite"
    first = DashboardStore(path)
    view = first.create("px", {"name": "kept", "configuration": {"a": 1}})
    first.close()
    second = DashboardStore(path)
    assert second.get("px", view["id"]) == view
    second.close()


def test_widget_count_counts_sections_too() -> None:
    newer = _fixture("newer_create_request.json")["configuration"]
    assert widget_count(newer) == 2
    assert widget_count({}) == 0


def test_preset_layout_is_a_12_column_kpi_grid() -> None:
    measures = [f"m{i}" for i in range(6)]
    body = {"name": "P", "measures": measures, "chartTypes": ["bar"]}
    config = preset_configuration(body, [f"T{i}" for i in range(6)], date(2026, 11, 26))
    boxes = [(w["layout"]["x"], w["layout"]["y"]) for w in config["widgets"]]
    assert boxes == [(0, 0), (3, 0), (6, 0), (9, 0), (0, 2), (3, 2)]
    assert {(w["layout"]["columns"], w["layout"]["rows"]) for w in config["widgets"]} == {(3, 2)}
    assert [w["chartType"] for w in config["widgets"]] == ["bar"] + ["sparkline"] * 5
    assert config["widgets"][1]["dataConfig"] == {
        "measures": ["m1"],
        "dimensions": [],
        "filters": [],
    }
    assert config["dateRange"] == {"start": "2026-10-27", "end": "2026-11-25"}
    assert (config["attributionModel"], config["attributionWindow"]) == ("first_click", 30)
    assert config["granularity"] == "day" and config["grid"] == {"maxWidth": 1200}


def test_from_preset_titles_and_unknown_measures(store: DashboardStore) -> None:
    body = {"name": "P", "measures": ["meta.cpm", "core.new_customer_roas"]}
    view = store.from_preset("px", body, FakeCatalog(), date(2026, 11, 26))
    assert [w["title"] for w in view["configuration"]["widgets"]] == ["Meta CPM", "NC ROAS"]
    with pytest.raises(ApiError) as caught:
        store.from_preset(
            "px", {"name": "P", "measures": ["meta.cpm", "nope"]}, FakeCatalog(), date.today()
        )
    assert caught.value.status == 400
    assert caught.value.errors == [{"path": "measures.1", "message": "unknown measure 'nope'"}]


# --- over HTTP ----------------------------------------------------------------------------------


@pytest.fixture
def api(emulator: Emulator) -> Iterator[Any]:
    """Call the session emulator as the demo key; delete the views the test created."""
    session = requests.Session()
    session.headers.update(emulator.headers())
    before = {v["id"] for v in session.get(emulator.url + VIEWS).json()["dashboardViews"]}

    def call(method: str, path: str = "", **kwargs: Any) -> requests.Response:
        return session.request(method, emulator.url + VIEWS + path, timeout=30, **kwargs)

    yield call
    for view in session.get(emulator.url + VIEWS).json()["dashboardViews"]:
        if view["id"] not in before:
            session.delete(f"{emulator.url}{VIEWS}/{view['id']}")
    session.close()


@pytest.mark.parametrize("fixture", ["older_create_request.json", "newer_create_request.json"])
def test_lifecycle_with_both_documented_shapes(api: Any, fixture: str) -> None:
    body = _fixture(fixture)
    created = api("POST", json=body)
    assert created.status_code == 200, created.text
    view = created.json()["dashboardView"]
    assert view["configuration"] == body["configuration"]  # stored and returned as sent
    assert view["type"] == body.get("type", "view") and view["order"] == body["order"]

    assert api("GET", f"/{view['id']}").json() == {"dashboardView": view}
    listed = api("GET").json()["dashboardViews"]
    summary = next(v for v in listed if v["id"] == view["id"])
    assert "configuration" not in summary and summary["widgetCount"] >= 1

    patched = api("PATCH", f"/{view['id']}", json={"name": "Renamed", "order": 5})
    assert patched.status_code == 200
    assert (patched.json()["dashboardView"]["name"], patched.json()["dashboardView"]["order"]) == (
        "Renamed",
        5,
    )
    copied = api("POST", f"/{view['id']}/copy").json()["dashboardView"]
    assert copied["name"] == "Copy of Renamed" and copied["configuration"] == view["configuration"]

    assert api("DELETE", f"/{view['id']}").json() == {"deleted": True, "id": view["id"]}
    assert api("GET", f"/{view['id']}").status_code == 404


def test_list_filters_by_type(api: Any) -> None:
    api("POST", json={"name": "pnl", "type": "pnl_view", "configuration": {}})
    api("POST", json={"name": "attr", "type": "attribution_view", "configuration": {}})
    pnl = api("GET", params={"type": "pnl_view"}).json()["dashboardViews"]
    assert "pnl" in {v["name"] for v in pnl} and {v["type"] for v in pnl} == {"pnl_view"}
    assert "attr" not in {v["name"] for v in pnl}
    names = {v["name"] for v in api("GET").json()["dashboardViews"]}
    assert {"pnl", "attr"} <= names
    bad = api("GET", params={"type": "nope"})
    assert bad.status_code == 400
    assert bad.json()["errors"][0]["path"] == "type"


@pytest.mark.parametrize(
    ("body", "path"),
    [
        ({"name": "x", "pixelId": "p"}, "pixelId"),
        ({"type": "view"}, "type"),
        ({"name": "x", "createdBy": "me"}, "createdBy"),
        ({}, ""),
        ({"name": ""}, "name"),
        ({"name": "x" * 101}, "name"),
        ({"order": "first"}, "order"),
    ],
)
def test_patch_rejects_other_fields(api: Any, body: dict[str, Any], path: str) -> None:
    view = api("POST", json={"name": "strict", "configuration": {}}).json()["dashboardView"]
    response = api("PATCH", f"/{view['id']}", json=body)
    assert response.status_code == 400
    assert response.json()["message"] == "Invalid request body"
    assert path in [e["path"] for e in response.json()["errors"]]
    assert api("GET", f"/{view['id']}").json()["dashboardView"]["name"] == "strict"


@pytest.mark.parametrize(
    ("body", "path"),
    [
        ({"configuration": {}}, "name"),
        ({"name": "x"}, "configuration"),
        ({"name": "x", "configuration": {}, "type": "board"}, "type"),
        ({"name": "x", "configuration": {"widgets": {}}}, "configuration.widgets"),
        ({"name": "x", "configuration": {}, "extra": 1}, "extra"),
    ],
)
def test_create_validation(api: Any, body: dict[str, Any], path: str) -> None:
    response = api("POST", json=body)
    assert response.status_code == 400
    assert path in [e["path"] for e in response.json()["errors"]]


def test_cross_pixel_404_is_identical_to_missing(api: Any, emulator: Emulator) -> None:
    view = api("POST", json={"name": "mine", "configuration": {}}).json()["dashboardView"]
    other = emulator.headers("other_pixel", emulator.pixel_ids[1])
    for method, suffix, body in [
        ("GET", "", None),
        ("PATCH", "", {"name": "stolen"}),
        ("DELETE", "", None),
        ("POST", "/copy", None),
    ]:
        theirs = requests.request(
            method,
            f"{emulator.url}{VIEWS}/{view['id']}{suffix}",
            headers=other,
            json=body,
            timeout=30,
        )
        missing = requests.request(
            method,
            f"{emulator.url}{VIEWS}/no-such-view{suffix}",
            headers=other,
            json=body,
            timeout=30,
        )
        assert theirs.status_code == missing.status_code == 404
        assert theirs.content == missing.content == b'{"message":"Dashboard view not found"}'
        assert theirs.headers["content-type"] == missing.headers["content-type"]
    assert api("GET", f"/{view['id']}").json()["dashboardView"]["name"] == "mine"


def test_views_are_per_pixel_in_lists(api: Any, emulator: Emulator) -> None:
    api("POST", json={"name": "only-first-pixel", "configuration": {}})
    other = emulator.headers("other_pixel", emulator.pixel_ids[1])
    listed = requests.get(emulator.url + VIEWS, headers=other, timeout=30).json()
    assert "only-first-pixel" not in {v["name"] for v in listed["dashboardViews"]}


def test_from_preset_over_http(api: Any, emulator: Emulator) -> None:
    measures = [
        "core.new_customer_roas",
        "core.new_customer_mer",
        "meta.cpm",
        "orders.total_revenue",
        "channel.spend",
    ]
    response = api("POST", "/from-preset", json={"name": "NC + Meta Pulse", "measures": measures})
    assert response.status_code == 200, response.text
    view = response.json()["dashboardView"]
    catalog = emulator.backend()
    widgets = view["configuration"]["widgets"]
    assert [w["title"] for w in widgets] == [
        catalog.catalog_entry(m)["shortTitle"] for m in measures
    ]
    assert [(w["layout"]["x"], w["layout"]["y"]) for w in widgets] == [
        (0, 0),
        (3, 0),
        (6, 0),
        (9, 0),
        (0, 2),
    ]
    assert {w["chartType"] for w in widgets} == {"sparkline"}
    assert view["configuration"]["dateRange"] == {"start": "2026-10-27", "end": "2026-11-25"}


@pytest.mark.parametrize(
    ("body", "path"),
    [
        ({"name": "P", "measures": ["core.new_customer_roas", "no.such_measure"]}, "measures.1"),
        ({"name": "P", "measures": ["meta.cpm"], "chartTypes": ["bar", "bar"]}, "chartTypes"),
        ({"name": "P", "measures": []}, "measures"),
        ({"name": "P", "measures": ["meta.cpm"], "layout": "masonry"}, "layout"),
        ({"name": "P", "measures": ["meta.cpm"], "attributionWindow": 45}, "attributionWindow"),
    ],
)
def test_from_preset_validation(api: Any, body: dict[str, Any], path: str) -> None:
    response = api("POST", "/from-preset", json=body)
    assert response.status_code == 400
    assert path in [e["path"] for e in response.json()["errors"]]


def test_views_persist_across_restarts(tmp_path: Path) -> None:
    path = tmp_path / "views.sqlite"
    with Emulator(persist=path) as emu:
        created = requests.post(
            emu.url + VIEWS,
            headers=emu.headers(),
            json={"name": "kept", "configuration": {}},
            timeout=30,
        ).json()["dashboardView"]
    with Emulator(persist=path) as emu:
        fetched = requests.get(
            f"{emu.url}{VIEWS}/{created['id']}", headers=emu.headers(), timeout=30
        )
    assert fetched.json() == {"dashboardView": created}


def test_default_order_after_huge_orders(store: DashboardStore) -> None:
    store.create("px", {"name": "big", "configuration": {}, "order": 1e20})
    after = store.create("px", {"name": "next", "configuration": {}})
    assert after["order"] == 1e20 + 1 and isinstance(after["order"], float)
    store.create("px", {"name": "neg", "configuration": {}, "order": -3.5})
    assert store.create("qx", {"name": "q", "configuration": {}, "order": 2.5})["order"] == 2.5
    assert store.create("qx", {"name": "r", "configuration": {}})["order"] == 3
