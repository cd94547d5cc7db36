"""Response bytes → frames: dtypes, index, timezones, empty results, the sliced decoder."""

from __future__ import annotations

import itertools
import json
import re
from pathlib import Path
from typing import Any

import numpy as np
import orjson
import pandas as pd
import pytest

import upstack_pandas
from tests._fake_client import fixture_bytes
from upstack_pandas import _wire as wire
from upstack_pandas._frames import builders as frames
from upstack_pandas._frames import decode as _decode
from upstack_pandas._frames.decode import decode
from upstack_pandas._frames.timestamps import parse_timestamps

TZ = "America/New_York"
MEASURES = ["orders.orders", "orders.aov"]


def rows(
    n_buckets: int, dims: dict[str, list[str]] | None = None, start: str = "2026-03-07"
) -> list[dict[str, Any]]:
    """Hourly data points across the 2026-03-08 DST change in New York."""
    dims = dims or {}
    out = []
    stamps = pd.date_range(start, periods=n_buckets, freq="h", tz=TZ)
    for i, (t, combo) in enumerate(itertools.product(stamps, itertools.product(*dims.values()))):
        row: dict[str, Any] = {
            "dt": t.isoformat(),
            "start": t.isoformat(),
            "end": (t + pd.Timedelta(hours=1)).isoformat(),
        }
        row.update(zip(dims, combo, strict=True))
        row["orders.orders"] = float(i % 7)
        row["orders.aov"] = None if i % 5 == 0 else 50.0 + i / 4
        out.append(row)
    return out


def body(
    primary: list[dict[str, Any]], compare: list[dict[str, Any]] | None = None, **result: Any
) -> bytes:
    res = {
        "granularity": "hour",
        "measureDetails": [],
        "data": {"primary": primary, "compare": compare or []},
    }
    res.update(result)
    return orjson.dumps({"results": [res]})


def expected(
    data: list[dict[str, Any]], dims: list[str], granularity: str = "hour"
) -> pd.DataFrame:
    """The naive path, as the independent reference."""
    df = pd.DataFrame(data, columns=["dt", *dims, *MEASURES])
    df["dt"] = (
        pd.to_datetime(df["dt"], utc=True, format="ISO8601")
        .dt.tz_convert(TZ)
        .dt.as_unit(frames.DATETIME_UNIT)
    )
    for d in dims:
        df[d] = df[d].astype(frames.resolve_dtype("dimension"))
    keys = ([] if granularity == "none" else ["dt"]) + dims
    out = df.set_index(keys)[MEASURES] if keys else df[MEASURES]
    return out.astype("float64")


def to_frames(
    content: bytes, dims: list[str], granularity: str = "hour"
) -> tuple[pd.DataFrame, pd.DataFrame]:
    decoded = decode(content, frames.query_spec(MEASURES, dims, granularity))
    return frames.query_frames(
        decoded, measures=MEASURES, dimensions=dims, granularity=granularity, timezone=TZ
    )


@pytest.fixture(params=["whole", "sliced"])
def path(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """Run a test through the whole-body decoder and through the sliced one (tiny slices)."""
    if request.param == "sliced":
        monkeypatch.setattr(_decode, "_STREAM_MIN_BYTES", 1)
        monkeypatch.setattr(_decode, "_CHUNK_BYTES", 300)
    return str(request.param)


@pytest.mark.parametrize("dims", [[], ["utm_source"], ["utm_source", "device"]])
def test_frames_match_the_naive_path(path: str, dims: list[str]) -> None:
    values = {
        "utm_source": ["(direct)", "google", "meta"],
        "device": ["desktop", "mobile"],
    }  # server order
    data = rows(40, {d: values[d] for d in dims})
    primary, compare = to_frames(body(data, data[:5]), dims)
    pd.testing.assert_frame_equal(primary, expected(data, dims))
    pd.testing.assert_frame_equal(compare, expected(data[:5], dims))
    assert list(primary.index.names) == ["dt", *dims]
    assert str(primary.index.get_level_values("dt").tz) == TZ
    if dims:
        assert primary.index.is_monotonic_increasing


def test_dst_change_gives_distinct_hours() -> None:
    data = rows(48)
    primary, _ = to_frames(body(data), [])
    assert primary.index.is_unique
    offsets = {t.utcoffset() for t in primary.index}
    assert offsets == {pd.Timedelta(hours=-5), pd.Timedelta(hours=-4)}
    assert primary.index.dtype == frames.resolve_dtype("dt", TZ)


def test_granularity_none_drops_dt() -> None:
    point = {
        "dt": "2026-04-01T00:00:00-04:00",
        "utm_source": "google",
        "orders.orders": 3,
        "orders.aov": 1.5,
    }
    primary, _ = to_frames(body([point]), ["utm_source"], "none")
    assert primary.index.names == ["utm_source"]
    assert primary.loc["google", "orders.orders"] == 3.0
    plain, _ = to_frames(body([{k: v for k, v in point.items() if k != "utm_source"}]), [], "none")
    assert isinstance(plain.index, pd.RangeIndex) and len(plain) == 1


@pytest.mark.parametrize(
    ("dims", "granularity"),
    [([], "day"), (["utm_source", "device"], "day"), (["device"], "none"), ([], "none")],
)
def test_empty_results_keep_columns_index_names_and_dtypes(
    path: str, dims: list[str], granularity: str
) -> None:
    full, _ = to_frames(body(rows(3, {d: ["x"] for d in dims})), dims, granularity)
    for content in (body([]), orjson.dumps({"results": []}), orjson.dumps({})):
        empty, compare = to_frames(content, dims, granularity)
        assert empty.empty and compare.empty
        assert list(empty.columns) == MEASURES
        assert list(empty.index.names) == list(full.index.names)
        assert (empty.dtypes == "float64").all()
        if isinstance(full.index, pd.MultiIndex):
            assert list(empty.index.dtypes) == list(full.index.dtypes)
        elif not isinstance(full.index, pd.RangeIndex):
            assert empty.index.dtype == full.index.dtype


def test_unknown_fields_missing_keys_and_odd_values_are_tolerated(path: str) -> None:
    data = rows(6, {"utm_source": ["a"]})
    data[0]["extra"] = {"nested": [1, {"x": 2}]}
    data[1]["orders.orders"] = "12.5"
    data[2]["orders.orders"] = "n/a"
    del data[3]["orders.aov"]
    data[4]["utm_source"] = None
    content = orjson.dumps(
        {"results": [{"data": {"primary": data, "compare": []}, "surprise": True}], "more": 1}
    )
    primary, _ = to_frames(content, ["utm_source"])
    values = primary["orders.orders"].tolist()
    assert values[1] == 12.5 and np.isnan(values[2])
    assert np.isnan(primary["orders.aov"].iloc[3])
    assert pd.isna(primary.index.get_level_values("utm_source")[4])


@pytest.mark.parametrize(
    "tricky",
    ['sale},{"dt"', "a}]b", 'x\\"y', "café ☕", "]"],
)
def test_strings_that_look_like_structure_decode_the_same(
    monkeypatch: pytest.MonkeyPatch, tricky: str
) -> None:
    data = rows(30, {"utm_source": ["plain", tricky]})
    content = body(data)
    monkeypatch.setattr(_decode, "_STREAM_MIN_BYTES", 1)
    monkeypatch.setattr(_decode, "_CHUNK_BYTES", 200)
    sliced, _ = to_frames(content, ["utm_source"])
    pd.testing.assert_frame_equal(sliced, expected(data, ["utm_source"]))
    pretty, _ = to_frames(json.dumps(json.loads(content), indent=2).encode(), ["utm_source"])
    pd.testing.assert_frame_equal(pretty, expected(data, ["utm_source"]))


def test_several_results_are_concatenated() -> None:
    first, second = rows(3, start="2026-01-01"), rows(3, start="2026-01-02")
    content = orjson.dumps(
        {"results": [{"data": {"primary": first}}, {"data": {"primary": second}}]}
    )
    primary, compare = to_frames(content, [])
    assert len(primary) == 6 and compare.empty


def test_invalid_json_raises_the_decoder_error() -> None:
    with pytest.raises(orjson.JSONDecodeError):
        decode(b'{"results": [', frames.query_spec(MEASURES, [], "day"))


def test_parse_timestamps() -> None:
    parsed = parse_timestamps(["2026-03-08T01:00:00-05:00", "2026-03-08T03:00:00-04:00"])
    assert (np.diff(parsed) == np.timedelta64(1, "h")).all()
    assert parse_timestamps(["2026-01-01T00:00:00Z"])[0] == np.datetime64("2026-01-01T00:00:00")
    mixed = parse_timestamps(
        ["<string>", None, "2026-01-01T00:00:00.250+01:00", "2026-13-01T00:00:00+00:00"]
    )
    assert np.isnat(mixed[0]) and np.isnat(mixed[1]) and np.isnat(mixed[3])
    assert mixed[2] == np.datetime64("2025-12-31T23:00:00.250")
    assert parse_timestamps([]).dtype == np.dtype("M8[us]")


# ------------------------------------------------------------------- documented example bodies


@pytest.mark.parametrize(
    "name", ["cohort_response.json", "attribution_response.json", "channel_details_response.json"]
)
def test_documented_example_bodies_decode_as_query_responses(name: str) -> None:
    primary, compare = to_frames(fixture_bytes(name), ["utm_source"])
    assert len(primary) == 1 and len(compare) == 1
    assert primary.index.get_level_values("dt").isna().all()  # dt is "<string>"
    assert primary[MEASURES].isna().all().all()


def test_cohort_and_channel_example_frames() -> None:
    cohort, sizes = frames.cohort_frame(
        decode(fixture_bytes("cohort_response.json"), frames.cohort_spec(MEASURES)),
        measures=MEASURES,
        timezone="UTC",
    )
    assert list(cohort.index.names) == ["cohort", "period"] and len(cohort) == 1 and sizes == {}
    channel = frames.channel_frame(
        decode(
            fixture_bytes("channel_details_response.json"), frames.channel_spec(MEASURES, False)
        ),
        measures=MEASURES,
        granular=False,
        timezone="UTC",
    )
    assert channel.index.name == "id" and len(channel) == 1


# ------------------------------------------------------------------------------- dtype table


def test_docs_dtype_table_is_the_dict_in_frames() -> None:
    text = (Path(__file__).parents[1] / "docs" / "reading.md").read_text()
    assert frames.dtype_table() in text
    documented = re.findall(r"^\| [^|]+ \| `([^`]+)` \| [^|]+ \|$", text, flags=re.M)
    assert documented == list(frames.DTYPES.values())


def test_resolve_dtype() -> None:
    assert frames.resolve_dtype("measure") == np.dtype("float64")
    assert frames.resolve_dtype("period") == np.dtype("int64")
    dt_type = frames.resolve_dtype("dt", "Europe/Paris")
    assert isinstance(dt_type, pd.DatetimeTZDtype) and str(dt_type.tz) == "Europe/Paris"
    assert dt_type.unit == frames.DATETIME_UNIT
    assert pd.Index(["a"], dtype=frames.resolve_dtype("dimension")).dtype == pd.Index(["a"]).dtype


# ------------------------------------------------------------------------------ the wire seam

#: Response-only field names (the attrs schema reuses some measureDetails names, not these).
WIRE_ONLY = (
    "results",
    "measureDetails",
    "dimensionFilters",
    "basicDetails",
    "pagination",
    "hasMore",
    "cohortSize",
    # the resource endpoints (account, costs, products, events, dashboard views)
    "accountName",
    "owners",
    "admins",
    "subscription",
    "config",
    "globalProductOverride",
    "shippingSettings",
    "items",
    "nextCursor",
    "variants",
    "manualCostHistory",
    "productCost",
    "activeCogLine",
    "effectiveCost",
    "variant",
    "dashboardViews",
)
#: Request-body fields that share a response field's name, in the module that writes the body.
REQUEST_FIELDS = {"events.py": {"items"}}  # an event's ``data.items`` (the event body's)
#: A decoded body checked for a member named by a literal: ``json_with(response, "name", ...)``.
LITERAL_MEMBER = re.compile(r"""json_with\([^\n]*?,\s*["']""")


def _wire_offences(relative: str, text: str) -> list[str]:
    """The response field names a module's source spells (it should ask ``_wire`` instead)."""
    found = [
        f"{relative}: {name}"
        for name in WIRE_ONLY
        if name not in REQUEST_FIELDS.get(relative, ())
        and re.search(rf"""(\.get\(|\[|==)\s*["']{name}["']""", text)
    ]
    if LITERAL_MEMBER.search(text):
        found.append(f"{relative}: json_with(..., '<literal member>')")
    if re.search(r"""rb?["'].*(primary|compare|hasPacing)""", text):
        found.append(f"{relative}: byte pattern of a response field")
    return found


def test_response_field_names_are_spelled_in_the_wire_module_only() -> None:
    """A renamed field in a newer API build is a change to ``_wire.py`` alone."""
    package = Path(upstack_pandas.__file__).parent
    offenders = []
    checked = set()
    for path in sorted(package.rglob("*.py")):
        relative = path.relative_to(package).as_posix()
        if relative.startswith("emulator/") or relative in (
            "_wire.py",
            "_query/models.py",  # request bodies, not responses
        ):
            continue
        checked.add(relative)
        offenders += _wire_offences(relative, path.read_text(encoding="utf-8"))
    assert offenders == []
    resources = {"account.py", "costs.py", "products.py", "events.py", "_resources/writes.py"}
    assert resources <= checked  # the resource modules are inside the check


@pytest.mark.parametrize(
    "source",
    [
        'body = json_with(api.get(PATH), "config", dict)',
        'cursor = body.get("nextCursor") or None',
        'rows = [v for v in product["variants"]]',
        'if key == "manualCostHistory":',
        'json_with(_client(client).get(ACCOUNT_PATH), "account", dict)',
    ],
)
def test_the_wire_check_catches_a_spelled_response_field(source: str) -> None:
    assert _wire_offences("costs.py", source)


def test_the_wire_check_allows_the_wire_names_and_request_fields() -> None:
    assert _wire_offences("costs.py", "json_with(api.get(PATH), wire.COST_CONFIG, dict)") == []
    assert _wire_offences("events.py", 'data["items"] = _items(record["items"])') == []
    assert _wire_offences("products.py", 'data["items"] = 1')  # only events writes items


def test_wire_normalisers() -> None:
    details = wire.measure_details(
        {
            "measureDetails": [
                {"measure": "m", "primarySum": 3.0, "hasPacing": True, "pacedSum": 4.0},
                {"measure": "m", "primarySum": 99.0},  # the first entry of a measure wins
                {"primarySum": 1.0},  # no measure id: ignored
                "junk",
            ]
        }
    )
    assert list(details) == ["m"]
    assert details["m"].primary_sum == 3.0 and details["m"].has_pacing is True
    assert details["m"].paced_sum == 4.0 and details["m"].paced_sum_sent
    assert wire.measure_details({"measureDetails": None}) == {}
    assert wire.page({"pagination": {"total": 7, "offset": 5, "hasMore": True}}) == wire.Page(
        7, 5, True
    )
    assert wire.page({"pagination": "odd"}) == wire.Page(None, None, False)
    assert wire.results({"results": [{}, 1]}) is None and wire.results({"results": []}) == []
    result = {"dimensionFilters": [[{"dimension": "channel", "value": "Email"}]]}
    assert wire.dimension_value(result, "channel") == "Email"
    assert wire.entity({"basicDetails": {"id": "a"}}) == {"id": "a"}
    assert wire.entity({"basicDetails": None}) == {}
    assert wire.HAS_PACING_TRUE.search(b'{"hasPacing" : true}')
    assert not wire.HAS_PACING_TRUE.search(b'{"hasPacing":false}')


def test_wire_resource_normalisers() -> None:
    found = wire.account(
        {"accountName": "Shop", "createdAt": "", "owners": [{"email": "a@x"}, "junk"]}
    )
    assert (found.name, found.created_at, found.owners, found.admins) == (
        "Shop",
        None,
        [{"email": "a@x"}],
        [],
    )
    assert wire.order_settings({}) == {
        "count_pending_orders": False,
        "count_voided_orders": False,
        "refund_date_attribution": "refund_date",
        "exclusion_filters": (),
    }
    config = {"lines": {"order": [{"id": "l1", "amount": 2}, 3]}, "globalProductOverride": None}
    assert wire.cost_lines(config, "order") == [{"id": "l1", "amount": 2}]
    assert wire.cost_lines({"lines": None}, "order") == []
    assert wire.global_product_override(config) == dict.fromkeys(wire.OVERRIDE_FIELDS)
    assert wire.shipping_settings({"shippingSettings": {"method": "fixed_rate"}})["method"] == (
        "fixed_rate"
    )
    assert wire.cursor_page({"items": [{"id": "p"}], "nextCursor": ""}) == wire.CursorPage(
        [{"id": "p"}], None
    )
    assert wire.cursor_page({"items": [], "nextCursor": "c2"}).next_cursor == "c2"
    product = {
        "id": "p1",
        "title": "Tee",
        "vendor": "V",
        "variants": [
            {"id": "v1", "sku": "S", "title": "M", "handlingFee": 1.5,
             "manualCostHistory": [{"id": "c1", "cost": 4, "effectiveStartDate": "2026-01-01"}]},
        ],
    }  # fmt: skip
    (variant,) = wire.product_variants(product)
    assert (variant.product_id, variant.product_title, variant.variant_id) == ("p1", "Tee", "v1")
    assert variant.cog_lines == [wire.CogRecord("c1", 4, "2026-01-01", None, "")]
    lone = wire.variant({"id": "v1", "productId": "p9"})
    assert (lone.product_id, lone.product_title, lone.cog_lines) == ("p9", None, [])
    cost = wire.product_cost({"effectiveCost": 3.0, "activeCogLine": {"id": "c1"}})
    assert (cost.effective_cost, cost.active_cog_line_id, cost.source) == (3.0, "c1", None)
    assert wire.product_cost({"activeCogLine": None}).active_cog_line_id is None
    assert wire.event_answer({"success": True, "eventId": "e"}) == (True, "e")
    assert wire.error_entry({"path": "events.3.name"}) == ("events.3.name", "")
    assert wire.error_entry("junk") == ("", "")
