"""The emulator as a server people run: malformed input is a 4xx, limits hold, slow peers go.

A corpus of malformed requests (encodings, content types, JSON edge cases, deep nesting,
hostile field values, broken framing) is thrown at every documented operation and at the
control endpoints of a running emulator; every answer must be a 4xx with the contract's
error body ``{"message", "errors"?}`` (D01, D03, D70-D76). Raw sockets prove the limits
that a client library would hide: chunked bodies are cut off at 1 MiB, broken chunks are a
400, and a slow or half-sent request gets a 408 within the request timeout while the server
keeps answering everyone else.
"""

from __future__ import annotations

import gzip
import json
import re
import socket
import threading
import time
from collections.abc import Iterator
from typing import Any

import orjson
import pytest
import requests

from tests._drip import drip_until_answer
from upstack_pandas.emulator.http.limits import MAX_BODY_BYTES, MAX_JSON_DEPTH, json_depth
from upstack_pandas.emulator.http.server import Emulator
from upstack_pandas.emulator.http.spec import Operation, operations

NOW = "2026-11-26T12:00:00Z"
RANGE = {"start": "2026-11-01", "end": "2026-11-07"}
VIEWS = "/accounts/api/dashboard/views"
TIMEOUT_S = 1.0  # this module's emulator: a short request timeout, so slow peers go fast
MISSING_VIEW = "0b7c1f7e-3a4d-4e9b-8c2d-5f6a7b8c9d0e"
OPERATIONS = operations()


@pytest.fixture(scope="module")
def emu() -> Iterator[Emulator]:
    with Emulator(now=NOW, request_timeout=TIMEOUT_S) as emu:
        yield emu


@pytest.fixture(scope="module")
def view_id(emu: Emulator) -> str:
    body = {"name": "hardening target", "configuration": {"widgets": []}}
    response = requests.post(emu.url + VIEWS, json=body, headers=emu.headers(), timeout=30)
    assert response.status_code == 200, response.text
    return str(response.json()["dashboardView"]["id"])


def _valid_body(operation_id: str, pixel: str) -> dict[str, Any]:
    """A body each operation accepts (the corpus mutates it)."""
    bodies: dict[str, dict[str, Any]] = {
        "runQuery": {
            "pixelId": pixel,
            "granularity": "day",
            "measures": [{"measure": "orders.total_revenue"}],
            "dateRange": RANGE,
            "filters": {"field": "orders.customer_type", "op": "equals", "value": "new_customer"},
        },
        "runAttributionQuery": {
            "pixelId": pixel,
            "dimension": "utm_source",
            "dateRange": RANGE,
            "attributionModel": "first_click",
            "attributionWindow": 30,
        },
        "runCohortAnalysis": {
            "pixelId": pixel,
            "granularity": "week",
            "measures": ["orders.ltv_cohort_gross_revenue"],
            "dateRange": RANGE,
        },
        "listChannelDetails": {"pixelId": pixel, "granularity": "day", "limit": 5},
        "createDashboardView": {"name": "fuzzed", "configuration": {"widgets": []}},
        "updateDashboardView": {"name": "renamed", "order": 3},
        "copyDashboardView": {"name": "copied"},
        "createDashboardViewFromPreset": {"name": "preset", "measures": ["orders.total_revenue"]},
    }
    return bodies.get(operation_id, {})


def _nested(depth: int) -> Any:
    """A filter nested ``depth`` JSON levels deep (objects and arrays alternate)."""
    value: Any = {"field": "orders.customer_type", "op": "equals", "value": "x"}
    levels = 1
    while levels + 2 <= depth:
        value = {"and": [value]}
        levels += 2
    return value


def _raw_nested(depth: int) -> bytes:
    """JSON nested ``depth`` arrays deep, built as text (no encoder recursion limit)."""
    return b"[" * depth + b"1" + b"]" * depth


# (name, extra headers, body) sent to every operation; None headers = JSON content type.
def _corpus(pixel: str, operation_id: str) -> list[tuple[str, dict[str, str], bytes]]:
    valid = _valid_body(operation_id, pixel)
    json_type = {"Content-Type": "application/json"}
    cases: list[tuple[str, dict[str, str], bytes]] = [
        ("empty", {}, b""),
        ("blank", json_type, b"  \r\n "),
        ("no content type", {}, orjson.dumps(valid)),
        ("text/plain", {"Content-Type": "text/plain"}, orjson.dumps(valid)),
        ("form", {"Content-Type": "application/x-www-form-urlencoded"}, b"a=1&b=2"),
        ("multipart", {"Content-Type": "multipart/form-data; boundary=x"}, b"--x--"),
        ("charset UTF-8", {"Content-Type": "application/json; charset=UTF-8"}, b"{}"),
        ("charset quoted", {"Content-Type": 'application/json; charset="utf8"'}, b"{}"),
        ("charset latin-1", {"Content-Type": "application/json; charset=latin-1"}, b"{}"),
        ("charset utf-16", {"Content-Type": "application/json; charset=utf-16"}, b"{}"),
        ("+json", {"Content-Type": "application/problem+json"}, b"{}"),
        ("garbage type", {"Content-Type": ";;;=\x7f"}, b"{}"),
        ("gzip", {**json_type, "Content-Encoding": "gzip"}, gzip.compress(orjson.dumps(valid))),
        ("br", {**json_type, "Content-Encoding": "br"}, b"\x0b\x02\x80{}\x03"),
        ("unknown encoding", {**json_type, "Content-Encoding": "x-upstack"}, b"{}"),
        ("invalid utf-8", json_type, b'{"name": "\xff\xfe"}'),
        ("lone surrogate", json_type, b'{"name": "\\ud800"}'),
        ("utf-8 bom", json_type, b"\xef\xbb\xbf" + orjson.dumps(valid)),
        ("utf-16", json_type, orjson.dumps(valid).decode().encode("utf-16")),
        ("nul bytes", json_type, b"{\x00}"),
        ("truncated", json_type, orjson.dumps(valid)[:-3]),
        ("trailing data", json_type, orjson.dumps(valid) + b"{}"),
        ("array", json_type, b"[]"),
        ("array of body", json_type, orjson.dumps([valid])),
        ("string", json_type, b'"x"'),
        ("number", json_type, b"42"),
        ("null", json_type, b"null"),
        ("true", json_type, b"true"),
        ("NaN", json_type, b'{"name": NaN, "limit": NaN}'),
        ("Infinity", json_type, b'{"order": Infinity, "limit": -Infinity}'),
        ("1e400", json_type, b'{"order": 1e400, "limit": 1e400}'),
        ("huge int", json_type, b'{"order": 123456789012345678901234567890}'),
        ("duplicate keys", json_type, orjson.dumps(valid)[:-1] + b', "name": 1, "name": "x"}'),
        ("depth limit", json_type, _raw_nested(MAX_JSON_DEPTH)),
        ("depth limit + 1", json_type, _raw_nested(MAX_JSON_DEPTH + 1)),
        ("depth 500", json_type, _raw_nested(500)),
        ("depth 5000", json_type, _raw_nested(5000)),
        ("1 MiB + 1", json_type, b" " * (MAX_BODY_BYTES - 1) + b"{}"),
    ]
    hostile: list[Any] = [
        None,
        [],
        {},
        "",
        "x" * 5000,
        "\x00",
        "../../etc/passwd",
        -1,
        0,
        2**63,
        -(2**63) - 1,
        1e308,
        -1e308,
        5e-324,
        True,
        [None] * 50,
        _nested(MAX_JSON_DEPTH - 4),
        {"and": []},
        {"or": [{"and": [{}]}]},
    ]
    for key in [*valid, "filters", "configuration", "dateRange", "measures", "order", "type"]:
        for i, value in enumerate(hostile):
            body = {**valid, key: value}
            cases.append((f"{key}={i}", json_type, json.dumps(body).encode()))
    for key, inner in [("dateRange", "start"), ("dateRange", "end"), ("compareDateRange", "end")]:
        for i, value in enumerate(["0001-01-01", "9999-12-31", "2026-13-01", 20260101, None]):
            body = {**valid, key: {**RANGE, inner: value}}
            cases.append((f"{key}.{inner}={i}", json_type, json.dumps(body).encode()))
    return cases


def _url(emu: Emulator, operation: Operation, view_id: str) -> str:
    return emu.url + operation.path.replace("{dashboardViewId}", view_id)


def _assert_contract_4xx(response: requests.Response, what: str) -> None:
    assert 400 <= response.status_code < 500 or response.status_code == 200, (
        f"{what}: {response.status_code} {response.text[:300]}"
    )
    if response.status_code >= 400:
        assert response.headers["Content-Type"].startswith("application/json"), what
        body = response.json()
        assert isinstance(body, dict) and isinstance(body.get("message"), str), what
        assert set(body) <= {"message", "errors", "requiredScope"}, what
        for error in body.get("errors", []):
            assert set(error) == {"path", "message"}, what


@pytest.mark.parametrize("operation", OPERATIONS, ids=lambda op: op.operation_id)
def test_malformed_requests_are_4xx_with_the_error_body(
    emu: Emulator, view_id: str, operation: Operation
) -> None:
    statuses: dict[int, int] = {}
    with requests.Session() as session:
        for name, headers, data in _corpus(emu.pixel_id, operation.operation_id):
            target = view_id if operation.method != "DELETE" else MISSING_VIEW
            response = session.request(
                operation.method,
                _url(emu, operation, target),
                data=data,
                headers={**emu.headers(), **headers},
                timeout=30,
            )
            _assert_contract_4xx(response, f"{operation.operation_id} {name}")
            statuses[response.status_code] = statuses.get(response.status_code, 0) + 1
    if operation.body_schema is not None:  # the corpus reaches the body checks
        assert statuses.get(400, 0) > 20 and statuses.get(415, 0) >= 5, statuses
        assert statuses.get(413) == 1, statuses
    # every view the corpus created can be read back (never a stored view that cannot)
    listed = requests.get(emu.url + VIEWS, headers=emu.headers(), timeout=30).json()
    for summary in listed["dashboardViews"]:
        read = requests.get(f"{emu.url}{VIEWS}/{summary['id']}", headers=emu.headers(), timeout=30)
        assert read.status_code == 200, read.text[:300]
        if summary["id"] != view_id:
            requests.delete(f"{emu.url}{VIEWS}/{summary['id']}", headers=emu.headers(), timeout=30)


@pytest.mark.parametrize(
    ("content_type", "status"),
    [
        (None, 200),
        ("application/json", 200),
        ("application/json; charset=UTF-8", 200),
        ("application/json;charset=utf8", 200),
        ("application/vnd.upstack+json", 200),
        ("application/json; charset=iso-8859-1", 415),
        ("text/plain", 415),
        ("text/json", 415),
    ],
)
def test_content_type_decides_acceptance(
    emu: Emulator, content_type: str | None, status: int
) -> None:
    headers = emu.headers()
    if content_type is not None:
        headers["Content-Type"] = content_type
    body = orjson.dumps(_valid_body("runQuery", emu.pixel_id))
    response = requests.post(emu.url + "/db-mgmt/api/query", data=body, headers=headers, timeout=60)
    assert response.status_code == status, response.text[:300]
    if status == 415:
        assert response.json() == {
            "message": "Unsupported Content-Type: send application/json (UTF-8)"
        }


def test_deep_configuration_is_refused_and_never_stored(emu: Emulator) -> None:
    before = requests.get(emu.url + VIEWS, headers=emu.headers(), timeout=30).json()
    deep = b'{"name": "deep", "configuration": ' + b'{"a":' * 300 + b"1" + b"}" * 300 + b"}"
    response = requests.post(emu.url + VIEWS, data=deep, headers=emu.headers(), timeout=30)
    assert response.status_code == 400
    assert response.json() == {
        "message": "Request body is nested too deeply",
        "errors": [
            {"path": "", "message": "must not nest objects and arrays more than 64 levels deep"}
        ],
    }
    after = requests.get(emu.url + VIEWS, headers=emu.headers(), timeout=30).json()
    assert after == before
    # the deepest accepted configuration round-trips exactly
    configuration: Any = {"widgets": []}
    while json_depth({"configuration": configuration}) < MAX_JSON_DEPTH:
        configuration = {"nested": configuration}
    body = {"name": "deepest", "configuration": configuration}
    created = requests.post(emu.url + VIEWS, json=body, headers=emu.headers(), timeout=30)
    assert created.status_code == 200, created.text[:300]
    view = created.json()["dashboardView"]
    read = requests.get(f"{emu.url}{VIEWS}/{view['id']}", headers=emu.headers(), timeout=30)
    assert read.json()["dashboardView"]["configuration"] == configuration
    requests.delete(f"{emu.url}{VIEWS}/{view['id']}", headers=emu.headers(), timeout=30)


def test_deeply_nested_filters_are_a_400_naming_the_limit(emu: Emulator) -> None:
    for depth in (MAX_JSON_DEPTH + 1, 300, 900):
        body = orjson.dumps({**_valid_body("runQuery", emu.pixel_id), "filters": None})
        raw = body.replace(
            b'"filters":null', b'"filters":' + b'{"and":[' * depth + b"{}" + b"]}" * depth
        )
        response = requests.post(
            emu.url + "/db-mgmt/api/query", data=raw, headers=emu.headers(), timeout=30
        )
        assert response.status_code == 400, response.text[:300]
        assert response.json()["errors"][0]["path"] == ""


@pytest.mark.parametrize(
    "path",
    [
        "//db-mgmt/api/measures",
        "/db-mgmt//api/measures",
        "/db-mgmt/api/measures//",
        "/accounts/api/dashboard/views//copy",
        "//_emulator/health",
        "/_emulator//health",
    ],
)
def test_doubled_slashes_are_a_404(emu: Emulator, path: str) -> None:
    response = _raw(emu, f"GET {path} HTTP/1.1\r\nHost: x\r\n\r\n".encode())
    assert response.startswith(b"HTTP/1.1 404"), response[:200]
    assert response.endswith(b'{"message":"Not found"}')


def _raw(emu: Emulator, request: bytes, *, read_timeout: float = 10.0) -> bytes:
    """Send raw bytes, return everything the server answers until it closes.

    The request asks for ``Connection: close`` (added after its request line), so a
    kept-alive server closes after answering instead of waiting for a next request.
    """
    line, sep, rest = request.partition(b"\r\n")
    if sep:
        request = line + b"\r\nConnection: close\r\n" + rest
    with socket.create_connection(("127.0.0.1", emu.port), timeout=read_timeout) as sock:
        sock.sendall(request)
        chunks = []
        while chunk := sock.recv(65536):
            chunks.append(chunk)
    return b"".join(chunks)


def _auth_lines(emu: Emulator) -> bytes:
    return "".join(f"{k}: {v}\r\n" for k, v in emu.headers().items()).encode()


@pytest.mark.parametrize(
    ("path", "auth"), [("/db-mgmt/api/query", True), ("/_emulator/faults", False)]
)
@pytest.mark.parametrize(
    ("framing", "status"),
    [
        (b"Transfer-Encoding: chunked\r\n\r\nZZ\r\n{}\r\n0\r\n\r\n", b"400"),
        (b"Transfer-Encoding: chunked\r\nContent-Length: 5\r\n\r\n0\r\n\r\n", b"400"),
        (b"Transfer-Encoding: gzip, chunked\r\n\r\n0\r\n\r\n", b"400"),
        (b"Content-Length: abc\r\n\r\n{}", b"400"),
        (b"Content-Length: -5\r\n\r\n{}", b"400"),
        (b"Content-Length: 99999999999999999999\r\n\r\n{}", b"413"),
    ],
)
def test_broken_framing_is_a_4xx(
    emu: Emulator, path: str, auth: bool, framing: bytes, status: bytes
) -> None:
    head = f"POST {path} HTTP/1.1\r\nHost: x\r\n".encode() + (_auth_lines(emu) if auth else b"")
    response = _raw(emu, head + framing)
    assert response.split(b" ", 2)[1] == status, response[:300]
    assert orjson.loads(response.split(b"\r\n\r\n", 1)[1])["message"]


@pytest.mark.parametrize("path", ["/db-mgmt/api/query", "/_emulator/faults", "/_emulator/reset"])
def test_chunked_bodies_are_cut_off_at_the_limit(emu: Emulator, path: str) -> None:
    sent = 0

    def pieces() -> Iterator[bytes]:  # 64 MiB offered, far more than the server may hold
        nonlocal sent
        for _ in range(1024):
            sent += 65536
            yield b" " * 65536

    try:
        response = requests.post(emu.url + path, data=pieces(), headers=emu.headers(), timeout=30)
    except requests.ConnectionError:
        pytest.fail("the server should answer 413 before closing")
    assert response.status_code == 413
    assert response.json() == {"message": "Request body too large: at most 1048576 bytes (1 MiB)"}


def test_a_chunked_body_under_the_limit_is_read(emu: Emulator) -> None:
    body = orjson.dumps(_valid_body("runQuery", emu.pixel_id))
    halves = iter([body[:10], body[10:]])
    response = requests.post(
        emu.url + "/db-mgmt/api/query", data=halves, headers=emu.headers(), timeout=60
    )
    assert response.status_code == 200, response.text[:300]
    assert response.json()["results"]


@pytest.mark.parametrize("path", ["/db-mgmt/api/query", "/_emulator/faults"])
def test_a_declared_oversized_body_is_refused_before_it_is_read(emu: Emulator, path: str) -> None:
    head = f"POST {path} HTTP/1.1\r\nHost: x\r\n".encode() + _auth_lines(emu)
    request = head + f"Content-Length: {MAX_BODY_BYTES + 1}\r\n\r\n".encode() + b"{"
    started = time.monotonic()
    response = _raw(emu, request)  # only one byte of the body was ever sent
    assert response.startswith(b"HTTP/1.1 413"), response[:200]
    assert time.monotonic() - started < TIMEOUT_S


@pytest.mark.parametrize(
    "partial",
    [
        b"",  # connected, sent nothing
        b"POST /db-mgmt/api/query HTTP/1.1\r\nHost: x\r\n",  # headers never finished
        b"POST /_emulator/faults HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n{",  # half a body
        b"POST /_emulator/faults HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n5\r\n{",
    ],
    ids=["silent", "half-headers", "half-body", "half-chunk"],
)
def test_slow_requests_are_dropped_in_time_and_others_still_served(
    emu: Emulator, partial: bytes
) -> None:
    slow = [socket.create_connection(("127.0.0.1", emu.port), timeout=10) for _ in range(8)]
    try:
        started = time.monotonic()
        for sock in slow:
            sock.sendall(partial)
        # meanwhile the server answers others at once
        health = requests.get(emu.url + "/_emulator/health", timeout=TIMEOUT_S)
        assert health.status_code == 200 and time.monotonic() - started < TIMEOUT_S
        for sock in slow:
            answer = b""
            while chunk := sock.recv(65536):  # the server closes: recv returns b""
                answer += chunk
            elapsed = time.monotonic() - started
            assert TIMEOUT_S * 0.8 <= elapsed < TIMEOUT_S + 2, elapsed
            if answer:  # a 408 with the error body, or nothing once the peer was cut
                assert answer.startswith(b"HTTP/1.1 408"), answer[:200]
                assert orjson.loads(answer.split(b"\r\n\r\n", 1)[1])["message"]
    finally:
        for sock in slow:
            sock.close()
    assert requests.get(emu.url + "/_emulator/health", timeout=5).status_code == 200


def test_a_dripping_request_is_dropped_at_the_deadline_not_per_read(emu: Emulator) -> None:
    """One byte every 0.2 s never trips a per-read timeout; the total deadline still holds."""
    request = b"POST /_emulator/faults HTTP/1.1\r\nHost: x\r\nContent-Length: 1000\r\n\r\n"
    with socket.create_connection(("127.0.0.1", emu.port), timeout=10) as sock:
        sock.sendall(request)
        answer, elapsed = drip_until_answer(sock, TIMEOUT_S + 3)
    assert elapsed < TIMEOUT_S + 1, elapsed
    assert answer.startswith(b"HTTP/1.1 408"), answer[:200]


def test_a_slow_response_is_not_cut_by_the_request_deadline(emu: Emulator) -> None:
    """The deadline covers sending the request, not the server's own work (latency faults)."""
    emu.inject("latency", path="/db-mgmt/api/measures", latency_ms=int(TIMEOUT_S * 1500), count=1)
    try:
        response = requests.get(
            emu.url + "/db-mgmt/api/measures", headers=emu.headers(), timeout=10
        )
    finally:
        emu.clear_faults()
    assert response.status_code == 200 and response.json()["measures"]


_DOCUMENTED = {(op.path, op.method) for op in OPERATIONS}


@pytest.mark.parametrize(
    ("path", "method"),
    [
        (path, method)
        for path in sorted({op.path for op in OPERATIONS} | {"/_emulator/faults"})
        for method in ("PUT", "OPTIONS", "TRACE", "CONNECT", "PROPFIND", "FOO")
        if (path, method) not in _DOCUMENTED
    ],
)
def test_undocumented_methods_are_a_4xx(emu: Emulator, method: str, path: str) -> None:
    target = path.replace("{dashboardViewId}", MISSING_VIEW)
    response = _raw(emu, f"{method} {target} HTTP/1.1\r\nHost: x\r\n\r\n".encode())
    status = int(response.split(b" ", 2)[1])
    assert status in {404, 405}, response[:300]
    assert orjson.loads(response.split(b"\r\n\r\n", 1)[1])["message"]


def test_request_timeout_must_be_positive() -> None:
    for bad in (0, -1, float("nan"), float("inf")):
        with pytest.raises(ValueError, match="request_timeout"):
            Emulator(request_timeout=bad)


def _answer(sock: socket.socket) -> bytes:
    """Everything the server sends on ``sock`` until it closes (at most 5 s)."""
    sock.settimeout(5)
    received = b""
    while piece := sock.recv(65536):
        received += piece
    return received


def _wait_until(condition: Any, seconds: float = 5.0) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "the server did not get there in time"
        time.sleep(0.01)


def _one_answer(sock: socket.socket) -> bytes:
    """One response read off a kept-alive connection (its head and ``Content-Length`` body)."""
    sock.settimeout(5)
    received = b""
    while b"\r\n\r\n" not in received:
        received += sock.recv(65536)
    head, _, body = received.partition(b"\r\n\r\n")
    length = int(re.search(rb"(?i)content-length: *(\d+)", head).group(1))  # type: ignore[union-attr]
    while len(body) < length:
        body += sock.recv(65536)
    return head + b"\r\n\r\n" + body


def test_connections_over_the_cap_get_a_503_and_the_client_retries() -> None:
    """D108: two connections are served; a third is answered 503, Retry-After: 1, and closed."""
    with Emulator(now=NOW, max_connections=2) as emu:
        server = emu._server
        assert server is not None
        headers = "".join(f"{name}: {value}\r\n" for name, value in emu.headers().items())
        request = f"GET /db-mgmt/api/measures HTTP/1.1\r\nHost: 127.0.0.1\r\n{headers}\r\n"
        held = [socket.create_connection(("127.0.0.1", emu.port)) for _ in range(2)]
        try:
            _wait_until(lambda: server._serving == 2)
            with socket.create_connection(("127.0.0.1", emu.port)) as extra:
                extra.sendall((request[:-2] + "Connection: close\r\n\r\n").encode())
                answer = _answer(extra)
            head, _, body = answer.partition(b"\r\n\r\n")
            assert head.startswith(b"HTTP/1.1 503 "), head
            lines = head.split(b"\r\n")
            assert b"Retry-After: 1" in lines and b"Connection: close" in lines
            assert json.loads(body)["message"].startswith("Service busy")
            # The held connections are still served, and stay open.
            held[0].sendall(request.encode())
            assert _one_answer(held[0]).startswith(b"HTTP/1.1 200 ")
            _wait_until(lambda: server._refusing == 0)
            # A client refused while both are held waits out Retry-After, then is served once
            # they have gone.
            refused = server.refused
            release = threading.Timer(0.5, lambda: [sock.close() for sock in held])
            client = emu.client(cache=False)
            started = time.monotonic()
            release.start()
            try:
                assert client.get("/db-mgmt/api/measures").status == 200
            finally:
                client.close()
                release.join()
            assert 0.9 <= time.monotonic() - started < 5  # (Retry-After: 1)
            assert server.refused == refused + 1
        finally:
            for sock in held:
                sock.close()


def test_a_flood_of_connections_is_answered_without_a_thread_each() -> None:
    with Emulator(now=NOW, max_connections=2) as emu:
        before = threading.active_count()
        flood = [socket.create_connection(("127.0.0.1", emu.port)) for _ in range(40)]
        try:
            time.sleep(0.3)
            # 2 served and 2 being refused at most, each on its own thread; the rest closed.
            assert threading.active_count() - before <= 4 + 1
            closed = 0
            for sock in flood[4:]:
                sock.settimeout(2)
                try:
                    closed += sock.recv(1) == b""
                except OSError:
                    closed += 1
            assert closed == len(flood) - 4
        finally:
            for sock in flood:
                sock.close()
        client = emu.client(cache=False)
        try:
            assert client.get("/db-mgmt/api/measures").status == 200  # serving again
        finally:
            client.close()


@pytest.mark.parametrize("bad", [0, -1, 1.5, True, "8"])
def test_max_connections_must_be_a_positive_int(bad: Any) -> None:
    with pytest.raises((TypeError, ValueError), match="max_connections"):
        Emulator(max_connections=bad)
