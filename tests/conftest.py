"""Fixtures shared by the whole test suite.

``emulator``: one running local Upstack Data API for the session (``127.0.0.1``, free port,
``now`` fixed at 2026-11-26 12:00 UTC, seed 7), with the default keys (``emulator.keys``)
and pixels (``emulator.pixel_ids``). ``client``: an uncached ``upstack_pandas.Client`` of it.

``httpserver`` (pytest-httpserver, the one double for raw HTTP; helpers in ``_http.py``):
threaded, on ``127.0.0.1``, answering 404 to any request no test scripted, emptied after
each test.

Tests that change shared state clean up after themselves: delete the dashboard views they
create, and clear the faults they inject (or start their own ``Emulator``).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

import pytest
from pytest_httpserver import HTTPServer

if TYPE_CHECKING:
    from upstack_pandas import Client
    from upstack_pandas.emulator.http.server import Emulator

EMULATOR_NOW = "2026-11-26T12:00:00Z"
EMULATOR_SEED = 7


@pytest.fixture(scope="session")
def make_httpserver() -> Iterator[HTTPServer]:
    """pytest-httpserver's session server, threaded (concurrent clients) and on IPv4 loopback."""
    server = HTTPServer(host="127.0.0.1", port=0, threaded=True)
    server.start()
    yield server
    server.clear()
    if server.is_running():
        server.stop()


@pytest.fixture
def httpserver(make_httpserver: HTTPServer) -> Iterator[HTTPServer]:
    """The session's HTTP server, emptied; requests nobody scripted get a 404."""
    make_httpserver.clear()
    make_httpserver.no_handler_status_code = 404
    yield make_httpserver
    make_httpserver.clear()


@pytest.fixture(scope="session")
def emulator() -> Iterator[Emulator]:
    """A running emulator for the whole session (fixed clock and seed)."""
    from upstack_pandas.emulator.http.server import Emulator

    with Emulator(seed=EMULATOR_SEED, now=EMULATOR_NOW) as emu:
        yield emu


@pytest.fixture(scope="session")
def client(emulator: Emulator) -> Iterator[Client]:
    """An uncached client of the session's emulator (demo key, first pixel)."""
    client = emulator.client(cache=False)
    yield client
    client.close()


@pytest.fixture(autouse=True, scope="session")
def _private_cache_dir(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """Keep the tests' response caches out of the user's cache directory."""
    import os

    previous = os.environ.get("UPSTACK_CACHE_DIR")
    os.environ["UPSTACK_CACHE_DIR"] = str(tmp_path_factory.mktemp("upstack-cache"))
    yield
    if previous is None:
        os.environ.pop("UPSTACK_CACHE_DIR", None)
    else:
        os.environ["UPSTACK_CACHE_DIR"] = previous


@pytest.fixture
def sent(monkeypatch: pytest.MonkeyPatch) -> list[dict[str, Any]]:
    """The bodies the readers send (``Read.send``), in order; the requests still go out."""
    from upstack_pandas._readers.pipeline import Read

    bodies: list[dict[str, Any]] = []
    real = Read.send

    def counting(self: Read, path: str, body: Any) -> Any:
        bodies.append(dict(body))
        return real(self, path, body)

    monkeypatch.setattr(Read, "send", counting)
    return bodies
