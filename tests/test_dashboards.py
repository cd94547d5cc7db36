"""Dashboard views: parsing both documented shapes, widgets, HTML, validation, and the API."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from upstack_pandas.dashboards import Dashboards, DashboardView
from upstack_pandas.dashboards.bodies import (
    frame_build_kwargs,
    frame_dimensions,
    preset_body,
    view_path,
    views_frame,
)

FIXTURES = Path(__file__).parent / "fixtures" / "dashboards"
DOCUMENTED_VIEWS = ["older_view_response.json", "newer_view_response.json"]
VIEW_ID = "5f1e6a4f-2b7c-4d8e-9a10-3c4d5e6f7a8b"


def load(name: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((FIXTURES / name).read_text())
    return data


@pytest.fixture
def kpi_view() -> DashboardView:
    return DashboardView.from_dict(load("kpi_grid_view_response.json"))


class _Response:
    def __init__(self, body: Any) -> None:
        self._body = body

    def json(self) -> Any:
        return self._body


class RecordingClient:
    """Stands in for ``Client``: records each call and answers with a canned view."""

    def __init__(self, body: Any = None) -> None:
        self.calls: list[tuple[str, str, dict[str, Any]]] = []
        self.body = body if body is not None else load("kpi_grid_view_response.json")

    def _record(self, method: str, path: str, **kwargs: Any) -> _Response:
        self.calls.append((method, path, kwargs))
        return _Response(self.body)

    def get(self, path: str, **kwargs: Any) -> _Response:
        return self._record("GET", path, **kwargs)

    def post(self, path: str, **kwargs: Any) -> _Response:
        return self._record("POST", path, **kwargs)

    def patch(self, path: str, **kwargs: Any) -> _Response:
        return self._record("PATCH", path, **kwargs)

    def delete(self, path: str, **kwargs: Any) -> _Response:
        return self._record("DELETE", path, **kwargs)


@pytest.fixture
def recorder() -> RecordingClient:
    return RecordingClient()


@pytest.fixture
def views(recorder: RecordingClient) -> Dashboards:
    return Dashboards(recorder)  # type: ignore[arg-type]


# --- loading both documented shapes ------------------------------------------------------------


@pytest.mark.parametrize("name", DOCUMENTED_VIEWS)
def test_documented_placeholder_bodies_load(name: str) -> None:
    view = DashboardView.from_dict(load(name))
    assert view.id == "<string>"
    assert view.name == "<string>"
    assert view.pixel_id == "<string>"
    assert view.order == 123
    assert view.created_at == pd.Timestamp("2023-11-07T05:31:56Z")
    assert view.created_at is not None and str(view.created_at.tz) == "UTC"
    assert view.configuration["dateRange"] == {"start": "2026-04-01", "end": "2026-04-30"}


def test_older_shape_keeps_type_chart_type_and_view_filters() -> None:
    view = DashboardView.from_dict(load("older_view_response.json"))
    assert view.type == "view"
    assert view.configuration["attributionModel"] == "first_click"
    assert view.configuration["viewFilters"] == [{}]
    widgets = view.widgets
    assert widgets["chartType"].tolist() == ["bar"]
    assert widgets["section"].tolist() == [None]
    assert widgets.loc[0, ["x", "y", "columns", "rows"]].tolist() == [5, 1, 6, 2]


def test_newer_shape_reads_sections_and_has_no_chart_type() -> None:
    view = DashboardView.from_dict(load("newer_view_response.json"))
    assert view.type is None
    widgets = view.widgets
    assert len(widgets) == 2  # one top-level, one in the section
    assert widgets["chartType"].tolist() == [None, None]
    assert widgets["section"].tolist() == [None, "<string>"]
    assert widgets["sourceWidgetId"].tolist() == ["<string>", "<string>"]
    assert view.configuration["defaultSettings"]["pacing"] is True


@pytest.mark.parametrize("name", ["older_create_request.json", "newer_create_request.json"])
def test_documented_request_configurations_load(name: str) -> None:
    body = load(name)
    view = DashboardView(id="x", name=body["name"], configuration=body["configuration"])
    assert view.measures == ["<string>"]
    assert len(view.widgets) >= 1


def test_unknown_fields_are_tolerated_and_kept(kpi_view: DashboardView) -> None:
    data = load("kpi_grid_view_response.json")
    data["dashboardView"]["configuration"]["brandNew"] = {"x": 1}
    data["dashboardView"]["configuration"]["widgets"].append("not a widget")
    view = DashboardView.from_dict(data)
    assert view.configuration["brandNew"] == {"x": 1}
    assert len(view.widgets) == len(kpi_view.widgets)


def test_from_dict_takes_the_view_or_its_wrapper() -> None:
    data = load("kpi_grid_view_response.json")
    assert DashboardView.from_dict(data) == DashboardView.from_dict(data["dashboardView"])


def test_from_dict_rejects_a_body_without_id() -> None:
    with pytest.raises(ValueError, match="'id'"):
        DashboardView.from_dict({"name": "x"})


def test_configuration_is_a_copy() -> None:
    data = load("kpi_grid_view_response.json")
    view = DashboardView.from_dict(data)
    data["dashboardView"]["configuration"]["widgets"].clear()
    assert len(view.widgets) == 6


def test_missing_or_odd_fields_read_as_none() -> None:
    view = DashboardView.from_dict(
        {"id": "a", "name": "b", "order": True, "createdAt": "not a date", "configuration": []}
    )
    assert (view.order, view.created_at, view.configuration) == (None, None, {})
    assert view.widgets.empty
    assert list(view.widgets.columns)[:4] == ["section", "id", "title", "chartType"]


def test_to_dict_round_trips(kpi_view: DashboardView) -> None:
    wire = kpi_view.to_dict()
    assert wire["createdAt"] == "2026-11-25T10:00:00Z"
    assert wire["pixelId"] == "px_demo"
    assert DashboardView.from_dict(wire) == kpi_view


def test_view_is_frozen_and_hashable(kpi_view: DashboardView) -> None:
    with pytest.raises(AttributeError):
        kpi_view.name = "other"  # type: ignore[misc]
    assert hash(kpi_view) == hash(DashboardView.from_dict(load("kpi_grid_view_response.json")))


# --- widgets, measures, repr --------------------------------------------------------------------


def test_widgets_frame(kpi_view: DashboardView) -> None:
    widgets = kpi_view.widgets
    assert list(widgets.columns) == [
        "section",
        "id",
        "title",
        "chartType",
        "measures",
        "dimensions",
        "x",
        "y",
        "columns",
        "rows",
        "sourceWidgetId",
    ]
    assert widgets["id"].tolist() == ["w1", "w2", "w3", "w4", "w5", "p1"]
    assert widgets["x"].tolist() == [0, 3, 6, 9, 0, 0]
    assert widgets["y"].tolist() == [0, 0, 0, 0, 2, 0]
    assert str(widgets["x"].dtype) == "Int64"
    assert widgets.loc[5, "section"] == "Pinned"
    assert widgets.loc[5, "dimensions"] == ["utm_source"]
    assert widgets.loc[5, "chartType"] is None


def test_sections_follow_their_ordinal() -> None:
    configuration = {
        "sections": [
            {"title": "B", "ordinal": 2, "widgets": [{"id": "b"}]},
            {"title": "A", "ordinal": 1, "widgets": [{"id": "a"}]},
            {"title": "C", "widgets": [{"id": "c"}]},
        ]
    }
    widgets = DashboardView("v", "n", configuration=configuration).widgets
    assert widgets["section"].tolist() == ["A", "B", "C"]
    assert widgets["x"].isna().all()


def test_measures_are_unique_in_widget_order(kpi_view: DashboardView) -> None:
    assert kpi_view.measures == [
        "core.new_customer_roas",
        "core.new_customer_mer",
        "meta.cpm",
        "core.net_revenue",
        "core.orders",
    ]


def test_repr_is_one_line(kpi_view: DashboardView) -> None:
    assert repr(kpi_view) == (
        f"DashboardView(id='{VIEW_ID}', name='NC + Meta Pulse', type='view', widgets=6)"
    )


# --- HTML -------------------------------------------------------------------------------------


def test_html_places_widgets_on_the_12_column_grid(kpi_view: DashboardView) -> None:
    page = kpi_view._repr_html_()
    assert "grid-template-columns:repeat(12," in page
    assert "grid-column:1 / span 3;grid-row:1 / span 2" in page  # w1 at x=0, y=0
    assert "grid-column:10 / span 3;grid-row:1 / span 2" in page  # w4 at x=9
    assert "grid-column:1 / span 3;grid-row:3 / span 2" in page  # w5 at y=2
    assert "grid-column:1 / span 6" in page  # pinned, 6 wide
    assert ">Pinned<" in page
    assert "NC + Meta Pulse" in page
    assert "sparkline · core.new_customer_roas" in page
    assert page.count("grid-column:") == 6


def test_html_escapes_all_text() -> None:
    evil = '<script>alert("x")</script>'
    configuration = {
        "granularity": evil,
        "widgets": [
            {
                "id": evil,
                "title": evil,
                "chartType": evil,
                "dataConfig": {"measures": [evil]},
                "layout": {"x": 0, "y": 0, "columns": 3, "rows": 2},
            }
        ],
        "sections": [{"title": evil, "widgets": []}],
    }
    page = DashboardView(evil, evil, type=evil, configuration=configuration)._repr_html_()
    assert "<script" not in page
    assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;" in page


def test_html_clamps_boxes_into_the_grid() -> None:
    widgets = [
        {"id": "wide", "layout": {"x": 10, "y": -3, "columns": 30, "rows": 0}},
        {"id": "loose"},
    ]
    page = DashboardView("v", "n", configuration={"widgets": widgets})._repr_html_()
    assert "grid-column:11 / span 2;grid-row:1 / span 1" in page
    assert "grid-column:span 3;grid-row:span 2" in page


def test_html_of_an_empty_view_says_so() -> None:
    page = DashboardView("v", "n")._repr_html_()
    assert "(no widgets)" in page
    assert "0 widgets" in page


def test_html_marks_collapsed_and_hidden_sections() -> None:
    newer = DashboardView.from_dict(load("newer_view_response.json"))
    assert "&lt;string&gt; (collapsed, hidden)" in newer._repr_html_()


# --- argument checks: nothing is sent ------------------------------------------------------------


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"chart_types": ["bar"]}, ValueError, "one per measure"),
        ({"chart_types": ["bar", ""]}, ValueError, "empty"),
        ({"attribution_model": "linear"}, ValueError, "first_click, last_click, any_click"),
        ({"attribution_window": 5}, ValueError, "1, 3, 7, 14, 30, 60, 90"),
        ({"attribution_window": True}, ValueError, "attribution_window"),
        ({"granularity": "fortnight"}, ValueError, "granularity"),
        ({"type": "board"}, ValueError, "attribution_view"),
        ({"layout": "masonry"}, ValueError, "kpi-grid"),
        ({"chart_types": "x" * 51}, ValueError, "over 50"),
        ({"start": "2026-04-01"}, ValueError, "both"),
        ({"start": "2026-04-31", "end": "2026-05-01"}, ValueError, "not a date"),
        ({"start": "04/01/2026", "end": "2026-05-01"}, ValueError, "not a date"),
        ({"start": "2026-05-02", "end": "2026-05-01"}, ValueError, "after"),
    ],
)
def test_build_checks_arguments_before_any_request(
    views: Dashboards, recorder: RecordingClient, kwargs: dict[str, Any], error: type, match: str
) -> None:
    with pytest.raises(error, match=match):
        views.build("Pulse", ["core.new_customer_roas", "meta.cpm"], **kwargs)
    assert recorder.calls == []


@pytest.mark.parametrize(
    ("name", "error"), [("", ValueError), ("x" * 101, ValueError), (None, TypeError)]
)
def test_names_are_checked_before_any_request(
    views: Dashboards, recorder: RecordingClient, name: Any, error: type
) -> None:
    with pytest.raises(error):
        views.create(name, {"widgets": []})
    with pytest.raises(error):
        views.build(name, ["meta.cpm"])
    if name is not None:
        with pytest.raises(error):
            views.copy("v1", name=name)
    assert recorder.calls == []


def test_other_arguments_are_checked_before_any_request(
    views: Dashboards, recorder: RecordingClient
) -> None:
    with pytest.raises(ValueError, match="at least one"):
        views.update("v1")
    with pytest.raises(TypeError, match="order"):
        views.update("v1", order="first")  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="configuration"):
        views.create("n", [1, 2])  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="type"):
        views.list(type="dashboard")
    with pytest.raises(ValueError, match="empty"):
        views.get(" ")
    with pytest.raises(TypeError):
        views.delete(42)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="1 to 30 measures"):
        views.build("n", [])
    with pytest.raises(ValueError, match="1 to 30 measures"):
        views.build("n", [f"m{i}" for i in range(31)])
    with pytest.raises(TypeError, match="each measure"):
        views.build("n", ["meta.cpm", None])  # type: ignore[list-item]
    assert recorder.calls == []


def test_preset_body_defaults_and_dates() -> None:
    body = preset_body(
        "Pulse",
        2,
        chart_types="bar",
        type="view",
        layout="kpi-grid",
        attribution_model="last_click",
        attribution_window=7,
        granularity="week",
        start=dt.datetime(2026, 4, 1, 12, 0),
        end=dt.date(2026, 4, 30),
    )
    assert body == {
        "name": "Pulse",
        "type": "view",
        "layout": "kpi-grid",
        "attributionModel": "last_click",
        "attributionWindow": 7,
        "granularity": "week",
        "chartTypes": ["bar", "bar"],
        "dateRange": {"start": "2026-04-01", "end": "2026-04-30"},
    }


def test_view_path_takes_views_and_encodes_ids(kpi_view: DashboardView) -> None:
    assert view_path(kpi_view) == f"/accounts/api/dashboard/views/{VIEW_ID}"
    assert view_path("a/../b") == "/accounts/api/dashboard/views/a%2F..%2Fb"


# --- requests as sent (recorded) ---------------------------------------------------------------


def test_requests_are_shaped_as_the_contract_says(
    views: Dashboards, recorder: RecordingClient, kpi_view: DashboardView
) -> None:
    views.get(kpi_view)
    views.create("Board", kpi_view, order=3)
    views.update(VIEW_ID, name="Renamed")
    views.copy(kpi_view)
    views.copy(kpi_view, name="Twin")
    recorder.body = {"deleted": True, "id": VIEW_ID}
    assert views.delete(kpi_view) is None
    path = f"/accounts/api/dashboard/views/{VIEW_ID}"
    assert [(method, p) for method, p, _ in recorder.calls] == [
        ("GET", path),
        ("POST", "/accounts/api/dashboard/views"),
        ("PATCH", path),
        ("POST", f"{path}/copy"),
        ("POST", f"{path}/copy"),
        ("DELETE", path),
    ]
    create_body = recorder.calls[1][2]["json"]
    assert create_body["type"] == "view"
    assert create_body["order"] == 3
    assert create_body["configuration"] == kpi_view.configuration
    assert recorder.calls[2][2]["json"] == {"name": "Renamed"}
    assert recorder.calls[3][2]["json"] == {}
    assert recorder.calls[4][2]["json"] == {"name": "Twin"}


def test_list_sends_type_only_when_given(views: Dashboards, recorder: RecordingClient) -> None:
    recorder.body = {"dashboardViews": []}
    views.list()
    views.list(type="pnl_view")
    assert [call[2].get("params") for call in recorder.calls] == [None, {"type": "pnl_view"}]


# --- list frame -----------------------------------------------------------------------------------


def test_views_frame_types_and_extras() -> None:
    frame = views_frame(
        [
            {
                "id": "a",
                "pixelId": "px",
                "type": "view",
                "name": "First",
                "order": 1,
                "widgetCount": 4,
                "createdAt": "2026-11-25T10:00:00Z",
                "updatedAt": "2026-11-25T11:00:00+01:00",
                "createdBy": "",
            },
            {"id": "b", "name": "Second", "widgetCount": 0, "createdAt": "2026-11-24T10:00:00Z"},
        ]
    )
    assert frame.index.name == "id"
    assert frame.index.tolist() == ["a", "b"]
    assert list(frame.columns)[:6] == [
        "name",
        "type",
        "order",
        "widgetCount",
        "createdAt",
        "updatedAt",
    ]
    assert {"pixelId", "createdBy"} <= set(frame.columns)
    assert str(frame["widgetCount"].dtype) == "Int64"
    assert str(frame["order"].dtype) == "Int64"
    assert str(frame["createdAt"].dt.tz) == "UTC"
    assert frame.loc["a", "updatedAt"] == pd.Timestamp("2026-11-25T10:00:00Z")
    assert pd.isna(frame.loc["b", "updatedAt"])


def test_views_frame_when_empty() -> None:
    frame = views_frame([])
    assert frame.empty
    assert frame.index.name == "id"
    assert list(frame.columns) == [
        "name", "type", "order", "widgetCount", "createdAt", "updatedAt",
        "pixelId", "createdBy", "updatedBy",
    ]  # fmt: skip
    assert isinstance(frame["createdAt"].dtype, pd.DatetimeTZDtype)


# --- frames to dashboards --------------------------------------------------------------------------


def test_frame_build_kwargs_read_the_metadata() -> None:
    meta = {
        "granularity": "week",
        "dateRange": {"start": "2026-04-01", "end": "2026-04-30"},
        "attributionModels": ["last_click", "first_click"],
        "attributionWindow": 7,
        "dimensions": ["utm_source"],
    }
    assert frame_build_kwargs(meta) == {
        "granularity": "week",
        "start": "2026-04-01",
        "end": "2026-04-30",
        "attribution_model": "last_click",
        "attribution_window": 7,
    }
    assert frame_build_kwargs({"granularity": "fortnight"}) == {}
    assert frame_dimensions(meta) == ["utm_source"]
    assert frame_dimensions({"dimension": "channel"}) == ["channel"]
    assert frame_dimensions({}) == []


OPERATIONS = ("list", "get", "create", "update", "delete", "copy", "build", "to_dashboard")


def test_module_level_dashboards_use_the_default_client_at_call_time(
    monkeypatch: pytest.MonkeyPatch, recorder: RecordingClient
) -> None:
    import upstack_pandas as up
    import upstack_pandas.dashboards as module

    assert up.dashboards is module  # one object, whatever the import order
    monkeypatch.setattr(Dashboards, "_client", property(lambda self: self._bound or recorder))
    assert repr(module.dashboards) == "Dashboards(client=<default>)"
    for target in (up.dashboards, module.dashboards):
        view = target.get(VIEW_ID)
        assert isinstance(view, DashboardView)
    assert len(recorder.calls) == 2
    with pytest.raises(AttributeError):
        module.nothing_here  # noqa: B018


def test_module_functions_take_an_explicit_client(recorder: RecordingClient) -> None:
    import upstack_pandas as up

    client: Any = recorder
    up.dashboards.get(VIEW_ID, client=client)
    up.dashboards.copy(VIEW_ID, "Twin", client=client)
    up.dashboards.update(VIEW_ID, name="Renamed", client=client)
    up.dashboards.delete(VIEW_ID, client=client)
    assert [(method, path) for method, path, _ in recorder.calls] == [
        ("GET", view_path(VIEW_ID)),
        ("POST", f"{view_path(VIEW_ID)}/copy"),
        ("PATCH", view_path(VIEW_ID)),
        ("DELETE", view_path(VIEW_ID)),
    ]
    assert recorder.calls[1][2]["json"] == {"name": "Twin"}
    assert recorder.calls[2][2]["json"] == {"name": "Renamed"}
    with pytest.raises(ValueError, match="at least one of"):
        up.dashboards.update(VIEW_ID, client=client)
    assert len(recorder.calls) == 4  # refused before any request


def test_dashboards_module_is_discoverable() -> None:
    import inspect
    import pydoc

    import upstack_pandas as up

    listed = dir(up.dashboards)
    assert set(OPERATIONS) <= set(listed)
    assert "__getattr__" not in vars(up.dashboards)  # plain functions, not a proxy
    page = pydoc.render_doc(up.dashboards, renderer=pydoc.plaintext)
    for name in OPERATIONS:
        function = getattr(up.dashboards, name)
        assert inspect.isfunction(function), name
        assert function.__module__ == "upstack_pandas.dashboards", name
        signature = inspect.signature(function)
        assert "client" in signature.parameters, name
        assert f"{name}{signature}" in page.replace("\n", ""), name
        assert "Parameters\n" in inspect.getdoc(function), name


@pytest.mark.parametrize("name", OPERATIONS)
def test_module_functions_mirror_the_methods(name: str) -> None:
    """Same parameters, defaults and documentation as ``client.dashboards.<name>``, plus ``client=``."""
    import inspect

    import upstack_pandas as up

    function = inspect.signature(getattr(up.dashboards, name))
    method = inspect.signature(getattr(Dashboards(), name))
    mirrored = {k: v for k, v in function.parameters.items() if k != "client"}
    assert list(mirrored) == list(method.parameters)
    for key, parameter in method.parameters.items():
        assert (mirrored[key].kind, mirrored[key].default) == (parameter.kind, parameter.default)
    assert function.parameters["client"].kind is inspect.Parameter.KEYWORD_ONLY
    assert function.parameters["client"].default is None
    assert function.return_annotation == method.return_annotation
    function_doc = inspect.getdoc(getattr(up.dashboards, name)) or ""
    method_doc = inspect.getdoc(getattr(Dashboards, name)) or ""
    assert function_doc.splitlines()[0] == method_doc.splitlines()[0]
    # the numpydoc sections are written once, on the function; the method points there
    assert "Parameters\n" in function_doc and "Parameters\n" not in method_doc, name
    assert f"As ``up.dashboards.{name}`` on this client" in method_doc, name


# --- request bodies against the project's OpenAPI file -------------------------------------------


@pytest.fixture(scope="module")
def contract_errors() -> Any:
    from upstack_pandas.emulator.http.validation import RequestValidator, schema_ref

    validator = RequestValidator()
    return lambda name, body: validator.errors(schema_ref(name), body)


@pytest.mark.parametrize(
    "kwargs",
    [
        {},
        {"chart_types": ["bar", "sparkline"], "type": "pnl_view", "granularity": "none"},
        {
            "attribution_model": "any_click",
            "attribution_window": 90,
            "start": dt.date(2026, 1, 1),
            "end": "2026-01-31",
        },
    ],
)
def test_preset_bodies_match_the_contract(contract_errors: Any, kwargs: dict[str, Any]) -> None:
    arguments: dict[str, Any] = {
        "chart_types": None,
        "type": "view",
        "layout": "kpi-grid",
        "attribution_model": "first_click",
        "attribution_window": 30,
        "granularity": "day",
        "start": None,
        "end": None,
        **kwargs,
    }
    body = preset_body("Pulse", 2, **arguments)
    body["measures"] = ["core.new_customer_roas", "meta.cpm"]
    assert contract_errors("FromPresetRequest", body) == []


def test_sent_bodies_match_the_contract(
    views: Dashboards, recorder: RecordingClient, contract_errors: Any, kpi_view: DashboardView
) -> None:
    older = load("older_create_request.json")
    views.create(older["name"], older["configuration"], type=older["type"], order=older["order"])
    newer = load("newer_create_request.json")
    views.create(newer["name"], newer["configuration"], order=1.5)
    views.update(kpi_view, name="n", configuration=kpi_view, order=2)
    views.copy(kpi_view, name="c")
    schemas = [
        "CreateDashboardViewRequest",
        "CreateDashboardViewRequest",
        "UpdateDashboardViewRequest",
        "CopyDashboardViewRequest",
    ]
    for schema, (_, _, kwargs) in zip(schemas, recorder.calls, strict=True):
        assert contract_errors(schema, kwargs["json"]) == []
    assert recorder.calls[0][2]["json"] == older
    assert contract_errors("DashboardViewEnvelope", load("kpi_grid_view_response.json")) == []


# --- end to end, over HTTP against the emulator ------------------------------------------------


@pytest.fixture
def live(emulator: Any) -> Iterator[Dashboards]:
    """Views of a fresh, uncached emulator client; deletes what the test left behind."""
    client = emulator.client(cache=False)
    views = Dashboards(client)
    before = set(views.list().index)
    yield views
    for view_id in set(views.list().index) - before:
        views.delete(view_id)
    client.close()


def test_lifecycle_create_get_list_update_copy_delete(live: Dashboards) -> None:
    from upstack_pandas import NotFound

    older = load("older_create_request.json")
    created = live.create("Lifecycle", older["configuration"], order=7)
    assert (created.name, created.type, created.order) == ("Lifecycle", "view", 7)
    assert created.configuration == older["configuration"]
    assert created.created_by == "" and created.updated_by == ""
    assert created.created_at is not None and str(created.created_at.tz) == "UTC"

    fetched = live.get(created.id)
    assert fetched == created

    listed = live.list()
    row = listed.loc[created.id]
    assert (row["name"], row["type"], row["order"], row["widgetCount"]) == (
        "Lifecycle",
        "view",
        7,
        1,
    )
    assert row["createdAt"] == created.created_at
    assert "configuration" not in listed.columns

    renamed = live.update(created, name="Renamed")
    assert renamed.name == "Renamed"
    assert renamed.order == 7 and renamed.configuration == created.configuration  # PATCH: partial
    assert renamed.updated_at is not None and renamed.updated_at >= created.updated_at

    newer = load("newer_create_request.json")["configuration"]
    replaced = live.update(created.id, configuration=newer, order=1)
    assert replaced.configuration == newer  # replaced wholesale, not merged
    assert "viewFilters" not in replaced.configuration
    assert replaced.name == "Renamed" and replaced.order == 1

    twin = live.copy(replaced)
    assert twin.id != replaced.id
    assert twin.name == "Copy of Renamed"
    assert twin.configuration == replaced.configuration
    named = live.copy(replaced.id, name="Twin")
    assert named.name == "Twin"

    assert live.delete(created) is None
    with pytest.raises(NotFound) as caught:
        live.get(created.id)
    assert caught.value.status == 404
    with pytest.raises(NotFound):
        live.delete(created.id)
    with pytest.raises(NotFound):
        live.update(created.id, name="ghost")
    assert created.id not in live.list().index


def test_newer_shape_round_trips(live: Dashboards) -> None:
    newer = load("newer_create_request.json")
    view = live.create("Sections", newer["configuration"], type="pnl_view")
    again = live.get(view)
    assert again.configuration == newer["configuration"]
    assert again.type == "pnl_view"
    assert again.widgets["section"].tolist() == [None, "<string>"]
    assert live.list(type="pnl_view").index.tolist().count(view.id) == 1
    assert view.id not in live.list(type="attribution_view").index


def test_build_from_titles_and_ids(live: Dashboards) -> None:
    view = live.build(
        "NC + Meta Pulse",
        ["NC ROAS", "core.new_customer_mer", "meta.cpm"],
        chart_types=["sparkline", "bar", "sparkline"],
        granularity="week",
        attribution_model="last_click",
        attribution_window=7,
        start="2026-04-01",
        end=dt.date(2026, 4, 30),
    )
    assert view.measures == ["core.new_customer_roas", "core.new_customer_mer", "meta.cpm"]
    widgets = view.widgets
    assert widgets["title"].iloc[0] == "NC ROAS"
    assert widgets["chartType"].tolist() == ["sparkline", "bar", "sparkline"]
    assert widgets["x"].tolist() == [0, 3, 6]
    assert widgets["y"].tolist() == [0, 0, 0]
    assert set(widgets["columns"]) == {3} and set(widgets["rows"]) == {2}
    config = view.configuration
    assert config["granularity"] == "week"
    assert (config["attributionModel"], config["attributionWindow"]) == ("last_click", 7)
    assert config["dateRange"] == {"start": "2026-04-01", "end": "2026-04-30"}
    assert "NC ROAS" in view._repr_html_()


def test_build_lays_out_four_per_row(live: Dashboards) -> None:
    ids = ["core.new_customer_roas", "core.new_customer_mer", "meta.cpm"]
    view = live.build("Grid", ids + ids[:2])
    assert view.widgets[["x", "y"]].values.tolist() == [[0, 0], [3, 0], [6, 0], [9, 0], [0, 2]]
    assert set(view.widgets["chartType"]) == {"sparkline"}


def test_build_with_an_unknown_measure_creates_nothing(live: Dashboards) -> None:
    before = live.list().index.tolist()
    with pytest.raises(ValueError, match=r"NC ROASS.*core\.new_customer_roas"):
        live.build("Typo", ["NC ROASS"])
    assert live.list().index.tolist() == before


def test_to_dashboard_reads_the_frame_metadata(live: Dashboards, emulator: Any) -> None:
    from upstack_pandas.dashboards import to_dashboard

    frame = pd.DataFrame({"core.new_customer_roas": [1.0], "meta.cpm": [2.0]})
    frame.attrs["upstack"] = {
        "granularity": "month",
        "dimensions": ["utm_source"],
        "dateRange": {"start": "2026-01-01", "end": "2026-03-31"},
        "measures": {"core.new_customer_roas": {}, "meta.cpm": {}},
    }
    view = to_dashboard(frame, "From a frame", client=live._client, chart_types="bar")
    assert view.measures == ["core.new_customer_roas", "meta.cpm"]
    assert view.configuration["granularity"] == "month"
    assert view.configuration["dateRange"] == {"start": "2026-01-01", "end": "2026-03-31"}
    assert view.widgets["dimensions"].tolist() == [["utm_source"], ["utm_source"]]
    assert view.widgets["chartType"].tolist() == ["bar", "bar"]
    assert live.get(view.id) == view


def test_to_dashboard_without_metadata_uses_measure_columns(live: Dashboards) -> None:
    frame = pd.DataFrame({"meta.cpm": [1.0], "note": ["x"], "NC ROAS": [2.0]})
    view = live.to_dashboard(frame, "Bare frame")
    assert view.measures == ["meta.cpm"]
    with pytest.raises(ValueError, match="no measure"):
        live.to_dashboard(pd.DataFrame({"note": ["x"]}), "Nothing")


def test_module_level_dashboards_follow_the_default_client(
    live: Dashboards, monkeypatch: pytest.MonkeyPatch
) -> None:
    import upstack_pandas as up
    from upstack_pandas._transport import client as _client

    monkeypatch.setattr(_client, "_default_client", live._client)
    view = up.dashboards.create("Default client", {"widgets": []})
    assert view.id in up.dashboards.list().index
    up.dashboards.delete(view)


def test_a_read_upstack_frame_becomes_a_view(live: Dashboards) -> None:
    from upstack_pandas._readers import read_upstack

    client = live._client
    df = read_upstack(
        ["NC ROAS", "meta.cpm"],
        "2026-10-01",
        "2026-10-31",
        granularity="week",
        dimensions="channel",
        client=client,
    )
    view = df.upstack.to_dashboard("October by channel", client=client)
    assert view.measures == ["core.new_customer_roas", "meta.cpm"]
    assert view.configuration["granularity"] == "week"
    assert view.configuration["dateRange"] == {"start": "2026-10-01", "end": "2026-10-31"}
    assert view.widgets["dimensions"].tolist() == [["channel"], ["channel"]]
