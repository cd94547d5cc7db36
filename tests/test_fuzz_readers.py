"""A hypothesis fuzz of the readers' arguments against the emulator (issue 12, item 11).

Every outcome must be a frame, or a library error (``UpstackError``) raised before any request
was sent: the client's checks are at least as strict as the server's, so the server never
refuses an argument the client let through, and no argument escapes as a deep error
(``OverflowError``, ``RecursionError``, a bare ``TypeError``...). Requests are counted at the
client's session; the catalog is fetched once beforehand (it is not what is being fuzzed).
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Iterator
from typing import Any

import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import upstack_pandas as up
from upstack_pandas._transport.client import Client

pytestmark = pytest.mark.slow

FUZZ = settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    derandomize=True,  # the same examples on every run: a failure is reproducible
)


class Counted:
    """The requests a client sends (its session's ``request`` is wrapped)."""

    def __init__(self, client: Client) -> None:
        self.sent: list[tuple[str, str]] = []
        real = client.session.request

        def counting(method: str, url: str, *args: Any, **kwargs: Any) -> Any:
            self.sent.append((method, url))
            return real(method, url, *args, **kwargs)

        client.session.request = counting  # type: ignore[method-assign]


@pytest.fixture(scope="module")
def fuzz_client(emulator: Any) -> Iterator[tuple[Client, Counted]]:
    client = emulator.client(cache=False)
    up.measures(client=client)  # the catalog, fetched once
    up.filters(client=client)
    counted = Counted(client)
    yield client, counted
    client.close()


def check(call: Any, counted: Counted) -> None:
    """Run one reader call; fail unless it gave a frame or a library error before sending."""
    counted.sent.clear()
    try:
        frame = call()
    except up.UpstackError as exc:
        assert exc.status is None, f"the server refused what the client let through: {exc}"
        assert counted.sent == [], f"{type(exc).__name__} after {len(counted.sent)} requests: {exc}"
        if isinstance(exc, up.ValidationError):
            assert exc.parameter, f"no parameter named: {exc}"
        return
    assert isinstance(frame, pd.DataFrame)


# ------------------------------------------------------------------------------ strategies

ISO = st.dates(dt.date(1890, 1, 1), dt.date(2110, 12, 31)).map(dt.date.isoformat)
NEAR = st.dates(dt.date(2025, 6, 1), dt.date(2026, 11, 26))
DATES = st.one_of(
    st.none(),
    NEAR,
    NEAR.map(dt.date.isoformat),
    ISO,
    st.sampled_from(
        [
            "now",
            "today",
            "2026",
            "2026-05",
            "March 1 2026",
            "05/11/2026",
            "2026-02-30",
            "0001-01-01",
            "9999-12-31",
            "1900-01-01",
            "2100-12-31",
            "",
            " 2026-04-01 ",
            "2026-04-01T10:00",
        ]
    ),
    st.datetimes(dt.datetime(2025, 6, 1), dt.datetime(2026, 11, 26)),
    st.just(dt.date(1, 1, 1)),
    st.just(dt.date(9999, 12, 31)),
    st.just(pd.NaT),
    st.integers(-(10**20), 10**20),
    st.floats(allow_nan=True),
)
MEASURES = st.one_of(
    st.sampled_from(["orders.orders", "meta.cpm", "NC ROAS"]),
    st.lists(st.sampled_from(["orders.orders", "meta.cpm", "core.new_customer_roas"]), max_size=4),
    st.sampled_from([[], "", " ", None, 42, ["orders.orders", 1], b"orders.orders"]),
)
TIMEZONES = st.one_of(
    st.none(),
    st.sampled_from(
        [
            "UTC",
            "America/New_York",
            "Europe/Berlin",
            "localtime",
            "posixrules",
            "Factory",
            "EST5EDT",
            "utc",
            "Mars/Olympus",
            "",
            "../../etc/passwd",
            "A" * 80,
        ]
    ),
    st.integers(),
)
GRANULARITIES = st.sampled_from(
    ["day", "week", "month", "quarter", "year", "none", "DAY", "fortnight", "", True, 1, None]
)
LEAF = st.fixed_dictionaries(
    {
        "field": st.sampled_from(["orders.customer_type", "", 5]),
        "op": st.sampled_from(["equals", "not_equals", "in", "like", True]),
        "value": st.one_of(
            st.sampled_from(["new_customer", "returning_customer"]),
            st.lists(st.sampled_from(["new_customer", "returning_customer"]), max_size=3),
            st.floats(allow_nan=True, allow_infinity=True),
            st.none(),
            st.just({"nested": 1}),
        ),
    }
)


def deep_filter(depth: int) -> dict[str, Any]:
    node: dict[str, Any] = {
        "field": "orders.customer_type",
        "op": "equals",
        "value": "new_customer",
    }
    for _ in range(depth):
        node = {"and": [node]}
    return node


FILTERS = st.one_of(
    st.none(),
    LEAF,
    st.lists(LEAF, max_size=3),
    st.builds(lambda leaves: {"or": leaves}, st.lists(LEAF, max_size=3)),
    st.sampled_from([deep_filter(3), deep_filter(25), deep_filter(5000), {}, [], "x", 3]),
)
COMPARE = st.one_of(
    st.booleans(),
    st.none(),
    st.tuples(DATES, DATES),
    st.sampled_from(["yes", 1, (), ("2026-01-01",)]),
)
FLAGS = st.sampled_from([True, False, "false", "true", 0, 1, None])
DTYPES = st.sampled_from(
    [None, "float64", "Float64", "nonsense", {"orders.orders": "Int64"}, {"orders.orders": "x"}, 3]
)
CHUNKS = st.sampled_from(
    [None, "90D", "4W", 30, 0, -1, 10**30, "1e30D", "soon", True, 1.5, float("nan"), "1D"]
)
WORKERS = st.sampled_from([1, 4, 0, -3, True, 2.5, "4"])
CLIENTS = st.sampled_from(["client", "client", "client", "not a client", 42])


#: Per argument: values that are fine (drawn for the arguments an example leaves alone), and
#: anything at all (drawn for the one or two arguments an example fuzzes), so every check is
#: reached, not only the first one an argument list trips.
READ_UPSTACK: dict[str, tuple[st.SearchStrategy[Any], st.SearchStrategy[Any]]] = {
    "measures": (st.sampled_from(["orders.orders", ["orders.orders", "meta.cpm"]]), MEASURES),
    "start": (st.sampled_from([None, "2026-04-01", dt.date(2026, 4, 1)]), DATES),
    "end": (st.sampled_from([None, "2026-04-30", dt.date(2026, 4, 30)]), DATES),
    "granularity": (st.sampled_from(["day", "week", "none"]), GRANULARITIES),
    "filters": (st.sampled_from([None, deep_filter(1)]), FILTERS),
    "compare": (st.booleans(), COMPARE),
    "timezone": (st.sampled_from([None, "UTC", "America/New_York"]), TIMEZONES),
    "pacing": (st.booleans(), FLAGS),
    "dtypes": (st.sampled_from([None, "float64"]), DTYPES),
    "chunks": (st.sampled_from([None, "14D"]), CHUNKS),
    "max_workers": (st.sampled_from([1, 2]), WORKERS),
    "client": (st.just("client"), CLIENTS),
}
READ_ATTRIBUTION: dict[str, tuple[st.SearchStrategy[Any], st.SearchStrategy[Any]]] = {
    "start": (st.sampled_from([None, "2026-04-01"]), DATES),
    "end": (st.sampled_from([None, "2026-04-30"]), DATES),
    "window": (st.sampled_from([7, 30]), st.sampled_from([30, 7, True, 5, "30", 30.0, None])),
    "model": (
        st.sampled_from(["last_click", "first_click"]),
        st.sampled_from(["last_click", "middle_click", None, 1, ["last_click"]]),
    ),
    "measures": (
        st.sampled_from([None, ["attribution.orders"]]),
        st.sampled_from([None, [], ["attribution.orders"], "attribution.orders", [3], ""]),
    ),
    "timezone": (st.sampled_from([None, "UTC"]), TIMEZONES),
    "compare": (st.booleans(), COMPARE),
    "client": (st.just("client"), CLIENTS),
}


def arguments(
    data: st.DataObject, table: dict[str, tuple[st.SearchStrategy[Any], st.SearchStrategy[Any]]]
) -> dict[str, Any]:
    fuzzed = data.draw(st.sets(st.sampled_from(sorted(table)), min_size=1, max_size=2))
    return {name: data.draw(table[name][name in fuzzed], label=name) for name in sorted(table)}


def with_client(kwargs: dict[str, Any], client: Client) -> dict[str, Any]:
    if kwargs.get("client") == "client":
        kwargs["client"] = client
    return kwargs


@pytest.mark.filterwarnings("ignore::upstack_pandas.UpstackWarning")  # warnings are outcomes too
@settings(FUZZ, max_examples=150)
@given(data=st.data())
def test_read_upstack_arguments(fuzz_client: tuple[Client, Counted], data: st.DataObject) -> None:
    client, counted = fuzz_client
    kwargs = with_client(arguments(data, READ_UPSTACK), client)
    measures, start, end = kwargs.pop("measures"), kwargs.pop("start"), kwargs.pop("end")
    check(lambda: up.read_upstack(measures, start, end, **kwargs), counted)


@pytest.mark.filterwarnings("ignore::upstack_pandas.UpstackWarning")  # warnings are outcomes too
@settings(FUZZ, max_examples=80)
@given(data=st.data())
def test_read_attribution_arguments(
    fuzz_client: tuple[Client, Counted], data: st.DataObject
) -> None:
    client, counted = fuzz_client
    kwargs = with_client(arguments(data, READ_ATTRIBUTION), client)
    check(lambda: up.read_attribution(**kwargs), counted)


def test_the_fuzz_reaches_both_outcomes(fuzz_client: tuple[Client, Counted]) -> None:
    """The strategies produce real frames and refusals alike (the fuzz is not all refusals)."""
    client, counted = fuzz_client
    frame = up.read_upstack("orders.orders", "2026-04-01", "2026-04-07", client=client)
    assert len(frame) == 7 and counted.sent
    counted.sent.clear()
    with pytest.raises(up.ValidationError) as info:
        up.read_upstack("orders.orders", "05/11/2026", client=client)
    assert info.value.parameter == "start" and counted.sent == []
    assert not math.isnan(float(frame["orders.orders"].sum()))
