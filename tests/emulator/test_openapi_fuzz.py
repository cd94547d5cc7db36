"""Property-based fuzzing of the emulator against ``spec/openapi.yaml`` with schemathesis.

Every operation is driven through schemathesis' examples, coverage and fuzzing phases, with
valid and invalid data, over real HTTP to the session emulator. Its checks assert that no
request gets a 5xx, that every status, content type, header and body conforms to the spec,
that invalid data is rejected, that auth is enforced and that unsupported methods get a 405
with the right ``Allow``.

``positive_data_acceptance`` is off on purpose: the API legitimately refuses schema-valid
bodies with a 400 (an unknown measure id, a dimension a measure does not support, an
overlapping compare period) — the spec documents that 400.

Budget (about 900 cases): the coverage phase's boundary cases — valid ones only for the four
analytics bodies (they reach the engine; the invalid ones only reach the validator, which its
own tests cover), none for creating and patching views (the open ``configuration`` document
multiplies them without reaching new code); ``MAX_EXAMPLES`` hypothesis cases per operation,
valid and invalid; a fixed seed and no example database, so every run sends the same requests.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import requests
import schemathesis
from schemathesis.config import SchemathesisConfig

from upstack_pandas.emulator.http.server import DEMO_PIXEL_ID, Emulator, derive_key
from upstack_pandas.emulator.http.spec import spec_path

MAX_EXAMPLES = 10
VIEWS = "/accounts/api/dashboard/views"

SCHEMA = schemathesis.openapi.from_path(
    str(spec_path()),
    config=SchemathesisConfig.from_dict(
        {
            "seed": 20261126,
            "generation": {"max-examples": MAX_EXAMPLES, "mode": "all", "database": "none"},
            "phases": {"stateful": {"enabled": False}},
            "operations": [
                {
                    "include-operation-id": ["createDashboardView", "updateDashboardView"],
                    "phases": {"coverage": {"enabled": False}},
                },
                {
                    "include-operation-id": [
                        "runQuery",
                        "runAttributionQuery",
                        "runCohortAnalysis",
                        "listChannelDetails",
                    ],
                    "phases": {"coverage": {"generation": {"mode": "positive"}}},
                },
            ],
            "checks": {"positive_data_acceptance": {"enabled": False}},
            # The emulator's demo key and pixel are deterministic (see server.default_keys).
            "auth": {
                "openapi": {
                    "apiKey": {"api_key": derive_key("demo")},
                    "pixelId": {"api_key": DEMO_PIXEL_ID},
                }
            },
        }
    ),
)


def _view_ids(emulator: Emulator) -> set[str]:
    response = requests.get(emulator.url + VIEWS, headers=emulator.headers(), timeout=30)
    return {v["id"] for v in response.json()["dashboardViews"]}


@pytest.fixture(scope="module")
def fuzz_session(emulator: Emulator) -> Iterator[requests.Session]:
    """A session of the demo key; afterwards, deletes the views the fuzzing created and forgets
    the account, cost, product and event changes (so later tests see the generated numbers)."""
    assert (emulator.api_key, emulator.pixel_id) == (derive_key("demo"), DEMO_PIXEL_ID)
    before = _view_ids(emulator)
    with requests.Session() as session:
        yield session
    for view_id in _view_ids(emulator) - before:  # leave the shared emulator as found
        requests.delete(f"{emulator.url}{VIEWS}/{view_id}", headers=emulator.headers(), timeout=30)
    emulator.reset_state()


@pytest.mark.slow
@SCHEMA.parametrize()
def test_api_conforms_to_the_spec(
    case: Any, emulator: Emulator, fuzz_session: requests.Session
) -> None:
    body = case.body
    if isinstance(body, dict):
        claimed = body.get("pixelId")
        if isinstance(claimed, str) and 0 < len(claimed) <= 200:
            body["pixelId"] = emulator.pixel_id  # a valid pixelId must be the header's
    case.call_and_validate(base_url=emulator.url, session=fuzz_session)
