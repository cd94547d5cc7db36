"""The API key never appears whole: logs, reprs, exceptions, attrs, parquet, cache files, CLI.

One realistic session against the emulator with DEBUG logging on for every logger (the root,
``upstack_pandas``, ``urllib3``, ``requests_cache``): every reader, a cache hit, retries,
errors of each kind, dashboard writes, parquet files and the command line. Everything that was
produced is then searched for the key (and for its secret part, without the ``upstack_``
prefix); where a key is shown, it must be in its masked form ``upstack_…<last 4>``.
"""

from __future__ import annotations

import json
import logging
import pickle
import traceback
import warnings
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
import requests_cache

import upstack_pandas as up
from upstack_pandas import RetryPolicy
from upstack_pandas._redact import KEY_PREFIX, mask_key
from upstack_pandas.cli import main as cli_main
from upstack_pandas.dashboards import Dashboards, to_dashboard
from upstack_pandas.emulator.http.server import Emulator

QUERY = "/db-mgmt/api/query"
CHANNELS = "/db-mgmt/api/query-channel-details"
VIEWS = "/accounts/api/dashboard/views"
FAST = RetryPolicy(max_retries=2, backoff_base=0.01, backoff_max=0.02, max_total_wait=5)
LOGGERS = ("", "upstack_pandas", "urllib3", "requests_cache", "requests", "upstack_pandas.emulator")


def needles(key: str) -> list[str]:
    """The key and its secret part, in the casings a header or a dump might use."""
    secret = key[len(KEY_PREFIX) :]
    return sorted({key, key.upper(), key.lower(), secret, secret.upper(), secret.lower()})


def assert_clean(text: str, keys: Iterable[str], what: str) -> None:
    for key in keys:
        for needle in needles(key):
            assert needle not in text, f"the API key leaks into {what}"


def assert_clean_bytes(data: bytes, keys: Iterable[str], what: str) -> None:
    for key in keys:
        for needle in needles(key):
            for encoded in (needle.encode(), needle.encode("utf-16-le")):
                assert encoded not in data, f"the API key leaks into {what}"


def exception_texts(error: BaseException, *, with_locals: bool = True) -> list[str]:
    """Every way an exception is commonly shown or shipped.

    ``with_locals``: also a traceback with every frame's local variables, as IPython's verbose
    mode, loguru or pytest ``--showlocals`` print them (the key travels in header dicts).
    """
    texts = [
        str(error),
        repr(error),
        repr(error.args),
        "".join(traceback.format_exception(error)),
        repr(getattr(error, "__notes__", [])),
        repr(vars(error)),
    ]
    if with_locals:
        verbose = traceback.TracebackException.from_exception(error, capture_locals=True)
        texts.append("".join(verbose.format()))
    for linked in (error.__cause__, error.__context__):
        if linked is not None:
            texts += [str(linked), repr(linked), repr(linked.args)]
    return texts


@dataclass(repr=False)
class Evidence:
    """Everything a session produced that could carry the key."""

    errors: list[BaseException] = field(default_factory=list)
    texts: list[str] = field(default_factory=list)
    frames: list[pd.DataFrame] = field(default_factory=list)

    def expect(self, cls: type[BaseException], call: Callable[[], Any]) -> BaseException:
        with pytest.raises(cls) as info:
            call()
        self.errors.append(info.value)
        return info.value


@pytest.fixture
def debug_logs(caplog: pytest.LogCaptureFixture) -> Iterator[pytest.LogCaptureFixture]:
    for name in LOGGERS:
        caplog.set_level(logging.DEBUG, logger=name or None)
    yield caplog


@pytest.fixture
def faults(emulator: Emulator) -> Iterator[Emulator]:
    emulator.clear_faults()
    yield emulator
    emulator.clear_faults()


@pytest.fixture
def cache_dir(tmp_path: Path) -> Path:
    return tmp_path / "cache"


def test_a_whole_session_never_shows_the_key(
    faults: Emulator,
    debug_logs: pytest.LogCaptureFixture,
    cache_dir: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    emu = faults
    key = emu.api_key
    assert key.startswith(KEY_PREFIX) and len(key) > 40  # a realistic key
    other_keys = {name: emu.keys[name] for name in ("revoked", "measures_only", "dashboards_read")}
    keys = [key, *other_keys.values()]
    ev = Evidence()

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        client = emu.client(cache=str(cache_dir), max_retries=FAST, timeout=15)
        ev.texts += [
            repr(client),
            str(client),
            repr(Dashboards(client)),
            repr(up.cache.info(client)),
        ]

        # every reader, twice: the second read is a cache hit
        for _ in range(2):
            ev.frames += [
                up.read_upstack(
                    ["orders.orders", "NC ROAS"],
                    "2026-03-01",
                    "2026-03-10",
                    dimensions="channel",
                    client=client,
                ),
                up.read_upstack(
                    "orders.orders",
                    "2026-01-01",
                    "2026-02-28",
                    chunks="30D",
                    client=client,
                    progress=False,
                ),
                up.read_attribution(
                    "utm_source",
                    "2026-03-01",
                    "2026-03-31",
                    model=["first_click", "any_click"],
                    client=client,
                    progress=False,
                ),
                up.read_cohorts(start="2026-01-01", end="2026-06-30", client=client),
                up.read_channel_details(
                    "channel.spend",
                    "2026-03-01",
                    "2026-03-07",
                    level="campaign",
                    page_size=5,
                    client=client,
                    progress=False,
                ),
                up.measures("roas", client=client),
                up.filters(client=client),
            ]
        assert ev.frames[-7].attrs["upstack"]["fromCache"] is True  # a cache hit happened
        ev.texts.append(repr(up.cache.info(client)))

        # retries (logged with the masked key), then errors of every kind
        emu.inject("status", path=QUERY, status=503, count=1)
        up.read_upstack("orders.orders", "2026-04-01", "2026-04-02", client=client)
        emu.inject("drop", path=QUERY, count=1)
        up.read_upstack("orders.orders", "2026-04-03", "2026-04-04", client=client)
        for kind, status, cls in [
            ("status", 500, up.ServerError),
            ("status", 503, up.ServerError),
            ("status", 429, up.RateLimited),
            ("status", 400, up.ValidationError),
            ("malformed", 500, up.TransportError),
            ("empty", 500, up.TransportError),
            ("drop", 500, up.TransportError),
        ]:
            emu.inject(kind, path=QUERY, status=status, retry_after=0)  # type: ignore[arg-type]
            ev.expect(cls, lambda: up.read_upstack("orders.aov", "2026-05-01", client=client))
            emu.clear_faults()
        emu.inject("latency", path=QUERY, latency_ms=300)
        slow = emu.client(cache=False, timeout=0.1, max_retries=FAST)
        ev.expect(up.TransportError, lambda: up.read_upstack("orders.orders", client=slow))
        emu.clear_faults()
        _fault_on_page_two(client, emu)
        ev.expect(
            up.ServerError,
            lambda: up.read_channel_details(
                level="ad", page_size=3, client=client, refresh=True, progress=False
            ),
        )
        emu.clear_faults()
        ev.expect(up.ValidationError, lambda: client.post(QUERY, {"measures": []}))
        ev.expect(
            up.NotFound, lambda: Dashboards(client).get("00000000-0000-4000-8000-000000000000")
        )

        revoked = emu.client(api_key=other_keys["revoked"], cache=str(cache_dir), max_retries=FAST)
        ev.texts.append(repr(revoked))
        ev.expect(up.AuthenticationError, lambda: up.measures(client=revoked))
        no_scope = emu.client(api_key=other_keys["measures_only"], cache=False, max_retries=FAST)
        ev.expect(up.PermissionDenied, lambda: up.read_upstack("orders.orders", client=no_scope))
        read_only = emu.client(api_key=other_keys["dashboards_read"], cache=False)
        ev.expect(up.PermissionDenied, lambda: Dashboards(read_only).create("x", {"widgets": []}))
        ev.expect(
            up.ConfigurationError,
            lambda: emu.client(
                api_key=key + "\u200b", cache=False
            ),  # pasted with a zero-width space
        )
        ev.expect(up.ConfigurationError, lambda: up.Client(key[:-1] + " x", "p", emu.url))

        # dashboards: writes, a retried write, reads from the cache, errors
        view = Dashboards(client).build("secrets-check", ["orders.orders", "NC ROAS"])
        ev.texts += [repr(view), json.dumps(view.to_dict(), default=str)]
        emu.inject("status", path=f"{VIEWS}/{view.id}", status=429, retry_after=0, count=1)
        view = Dashboards(client).update(view, name="secrets-check-2")
        ev.frames += [Dashboards(client).list(), Dashboards(client).list(), view.widgets]
        copy = Dashboards(client).copy(view)
        emu.inject("drop", path=f"{VIEWS}/{copy.id}", count=1)
        ev.expect(up.TransportError, lambda: Dashboards(client).delete(copy))
        Dashboards(client).delete(copy)
        ev.texts.append(repr(to_dashboard(ev.frames[0], "secrets-frame", client=client)))
        for view_id in Dashboards(client).list().index:
            listed = Dashboards(client).list()
            if str(listed.loc[view_id, "name"]).startswith("secrets-"):
                Dashboards(client).delete(view_id)

        # parquet, both ways
        for i, df in enumerate(ev.frames[:7]):
            df.upstack.to_parquet(tmp_path / f"accessor-{i}.parquet")
            df.to_parquet(tmp_path / f"pandas-{i}.parquet")
            back = up.read_parquet(tmp_path / f"accessor-{i}.parquet")
            ev.texts.append(json.dumps(back.attrs, default=str))

        # the command line: an error on stderr
        monkeypatch.setenv("UPSTACK_API_KEY", key)
        monkeypatch.setenv("UPSTACK_PIXEL_ID", emu.pixel_id)
        monkeypatch.setenv("UPSTACK_BASE_URL", emu.url)
        monkeypatch.setenv("UPSTACK_CACHE_DIR", str(cache_dir))
        capsys.readouterr()
        up.set_default_client(None)
        try:
            emu.inject("status", path=QUERY, status=500)
            assert cli_main(["query", "--measures", "orders.orders"]) == 1
            emu.clear_faults()
            monkeypatch.setenv("UPSTACK_API_KEY", other_keys["revoked"])
            up.set_default_client(None)
            assert cli_main(["query", "--measures", "orders.orders"]) == 1
            assert cli_main(["cache", "info"]) == 0
        finally:
            up.get_default_client().close()
            up.set_default_client(None)
        out, err = capsys.readouterr()
        assert "500" in err and "Request id" in err and "401" in err
        ev.texts += [out, err]
        for made in (client, revoked, no_scope, read_only, slow):
            made.close()

    # -- the evidence -------------------------------------------------------------------
    logs = debug_logs.text + "\n".join(r.getMessage() for r in debug_logs.records)
    assert "retrying POST /db-mgmt/api/query after HTTP 503" in logs
    assert f"key {mask_key(key)}" in logs  # the masked form is what is shown
    assert any(r.name.startswith("urllib3") for r in debug_logs.records)
    assert any(r.name.startswith("requests_cache") for r in debug_logs.records)
    assert_clean(logs, keys, "the logs")

    assert mask_key(key) in repr(client) and mask_key(key) == f"upstack_…{key[-4:]}"
    for text in ev.texts:
        assert_clean(text, keys, "a repr, the CLI output or parquet metadata")

    assert len(ev.errors) >= 17
    for error in ev.errors:
        # a ConfigurationError's frames hold the caller's own argument or os.environ
        verbose = not isinstance(error, up.ConfigurationError)
        for text in exception_texts(error, with_locals=verbose):
            assert_clean(text, keys, f"a {type(error).__name__}")
        assert_clean_bytes(pickle.dumps(error), keys, f"a pickled {type(error).__name__}")

    for df in ev.frames:
        assert_clean(json.dumps(df.attrs, default=str), keys, "df.attrs")
        assert_clean(repr(df), keys, "a frame's repr")

    for what in sorted(tmp_path.glob("*.parquet")):
        assert_clean_bytes(what.read_bytes(), keys, what.name)

    files = [p for p in cache_dir.rglob("*") if p.is_file()]
    assert any(p.suffix == ".sqlite" for p in files)
    for path in files:
        assert_clean_bytes(path.read_bytes(), keys, f"the cache file {path.name}")

    for warning in caught:
        assert_clean(str(warning.message), keys, "a warning")


def _fault_on_page_two(client: up.Client, emu: Emulator) -> None:
    seen = [0]

    def hook(response: Any, *args: Any, **kwargs: Any) -> None:
        if response.url.endswith(CHANNELS):
            seen[0] += 1
            if seen[0] == 1:
                emu.inject("status", path=CHANNELS, status=500)

    client.session.hooks["response"].append(hook)


def test_a_users_own_cached_session_stores_no_key(
    faults: Emulator, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    path = tmp_path / "mine.sqlite"
    session = requests_cache.CachedSession(
        str(path), backend="sqlite", allowable_methods=("GET", "POST")
    )
    client = faults.client(cache=session, max_retries=FAST)
    try:
        for _ in range(2):
            up.read_upstack("orders.orders", "2026-03-01", "2026-03-10", client=client)
        faults.inject("malformed", path=QUERY, count=1)
        with pytest.raises(up.TransportError) as info:
            up.read_upstack("orders.aov", "2026-03-01", "2026-03-10", client=client)
        for text in exception_texts(info.value):
            assert_clean(text, [faults.api_key], "an exception")
    finally:
        client.close()
        session.close()
    assert "would store the API key" not in caplog.text  # requests-cache's default ignores it
    assert_clean(caplog.text, [faults.api_key], "the logs")
    for file in tmp_path.glob("mine.sqlite*"):
        assert_clean_bytes(file.read_bytes(), [faults.api_key], file.name)


def test_errors_from_a_server_that_echoes_the_key_are_masked(
    faults: Emulator, debug_logs: pytest.LogCaptureFixture
) -> None:
    # any text the client shows goes through redact(), even the server's own message
    from upstack_pandas._errors import error_from_response

    key = faults.api_key
    faults.client(cache=False)  # registers the key
    body = json.dumps({"message": f"key {key} is revoked", "errors": [{"path": key}]}).encode()
    error = error_from_response(401, "GET", "/x", body, {"x-request-id": "r1"})
    assert mask_key(key) in str(error)
    for text in exception_texts(error, with_locals=False)[:4]:
        assert_clean(text, [key], "an error echoing the key")
    logging.getLogger("upstack_pandas").info("echo %s", key)
    assert_clean(debug_logs.text, [key], "a log line")
