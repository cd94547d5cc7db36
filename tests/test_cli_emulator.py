"""``upstack-pandas emulator`` and ``python -m upstack_pandas.emulator``."""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
import requests

from upstack_pandas.cli import main
from upstack_pandas.cli.emulator import main as emulator_main


def _run(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    try:
        code = main(argv)
    except SystemExit as exc:  # argparse: --help and usage errors
        code = exc.code if isinstance(exc.code, int) else 1
    out, err = capsys.readouterr()
    return code, out, err


def _interruptible() -> None:
    """In the child: let SIGINT raise KeyboardInterrupt (Ctrl-C) even when the suite runs as a
    background job, whose shell starts it with SIGINT ignored (Python then keeps it ignored)."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def _wait_or_kill(proc: subprocess.Popen[str]) -> int:
    """Wait for the interrupted emulator; kill it if it does not stop (no stray process)."""
    try:
        return proc.wait(timeout=30)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(timeout=30)
        raise


def test_help_lists_the_options(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = _run(["emulator", "--help"], capsys)
    assert code == 0
    for option in ("--port", "--data", "--seed", "--now", "--persist", "--quiet"):
        assert option in out


def test_errors_are_one_line(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = _run(["emulator", "--quiet", "--data", "/no/such/dir"], capsys)
    lines = [line for line in err.splitlines() if not line.startswith("Preparing data")]
    assert code == 1 and out == ""
    assert lines == ["upstack-pandas emulator: error: --data /no/such/dir: not a directory"]


def test_a_bad_clock_is_a_usage_error_before_any_data_is_built(
    capsys: pytest.CaptureFixture[str],
) -> None:
    code, out, err = _run(["emulator", "--quiet", "--port", "0", "--now", "someday"], capsys)
    assert code == 2 and out == ""
    assert "Preparing data" not in err
    assert err.strip().splitlines()[-1] == (
        "upstack-pandas emulator: error: argument --now: expected an ISO date or datetime "
        "such as 2026-11-26T12:00:00Z, got 'someday'"
    )


def test_busy_port_is_one_line_with_a_hint(capsys: pytest.CaptureFixture[str]) -> None:
    with socket.create_server(("127.0.0.1", 0)) as busy:
        port = busy.getsockname()[1]
        code = emulator_main(["--port", str(port), "--quiet"])
    err = capsys.readouterr().err.strip()
    assert code == 1
    assert err.startswith(
        f"python -m upstack_pandas.emulator: error: cannot listen on 127.0.0.1:{port}"
    )
    assert err.endswith("pass --port 0 for a free port") and "\n" not in err


def test_module_entry_point_serves_until_interrupted(tmp_path: Path) -> None:
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    command = [sys.executable, "-m", "upstack_pandas.emulator", "--port", "0", "--quiet"]
    command += ["--now", "2026-11-26T12:00:00Z", "--persist", str(tmp_path / "views.sqlite")]
    proc = subprocess.Popen(
        command,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
        preexec_fn=_interruptible,
    )
    assert proc.stdout is not None and proc.stderr is not None
    banner: list[str] = []
    reader = threading.Thread(
        target=lambda: banner.extend(iter(proc.stdout.readline, "")), daemon=True
    )
    reader.start()
    try:
        deadline = time.monotonic() + 120
        while not any("Press Ctrl-C" in line for line in list(banner)):
            assert time.monotonic() < deadline and proc.poll() is None, banner
            time.sleep(0.1)
        text = "".join(banner)
        url = re.search(r"running at (http://127\.0\.0\.1:\d+)", text)
        key = re.search(r"API key:\s+(upstack_\w+)", text)
        pixel = re.search(r"Pixel id:\s+(\S+)", text)
        assert url and key and pixel, text
        assert "now 2026-11-26T12:00:00+00:00" in text and "export UPSTACK_API_KEY=" in text
        headers = {"x-api-key": key.group(1), "x-pixel-id": pixel.group(1)}
        measures = requests.get(url.group(1) + "/db-mgmt/api/measures", headers=headers, timeout=30)
        assert measures.status_code == 200 and measures.json()["measures"]
    finally:
        proc.send_signal(signal.SIGINT)
        code = _wait_or_kill(proc)
        reader.join(timeout=10)
        stderr = proc.stderr.read()
        proc.stdout.close()
        proc.stderr.close()
    assert code == 0, stderr
    assert "Stopped." in stderr


def test_request_log_to_a_pipe_has_no_colour_codes() -> None:
    """werkzeug colours 4xx/5xx request lines; with stderr not a terminal none may remain."""
    env = {k: v for k, v in os.environ.items() if k != "NO_COLOR"}
    env["PYTHONUNBUFFERED"] = "1"
    command = [sys.executable, "-m", "upstack_pandas.emulator", "--port", "0"]
    command += ["--now", "2026-11-26T12:00:00Z"]
    proc = subprocess.Popen(
        command,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
        preexec_fn=_interruptible,
    )
    assert proc.stdout is not None and proc.stderr is not None
    banner: list[str] = []
    reader = threading.Thread(
        target=lambda: banner.extend(iter(proc.stdout.readline, "")), daemon=True
    )
    reader.start()
    try:
        deadline = time.monotonic() + 120
        while not any("Press Ctrl-C" in line for line in list(banner)):
            assert time.monotonic() < deadline and proc.poll() is None, banner
            time.sleep(0.1)
        url = re.search(r"running at (http://127\.0\.0\.1:\d+)", "".join(banner))
        assert url, banner
        views = url.group(1) + "/accounts/api/dashboard/views"
        statuses = [
            requests.get(views, timeout=30).status_code,  # no key: 401
            requests.get(url.group(1) + "/no/such/path", timeout=30).status_code,  # 404
        ]
        assert statuses == [401, 404]
    finally:
        proc.send_signal(signal.SIGINT)
        code = _wait_or_kill(proc)
        reader.join(timeout=10)
        stderr = proc.stderr.read()
        proc.stdout.close()
        proc.stderr.close()
    assert code == 0, stderr
    request_lines = [line for line in stderr.splitlines() if '"GET ' in line]
    assert len(request_lines) == 2, stderr
    assert '"GET /accounts/api/dashboard/views HTTP/1.1" 401' in request_lines[0]
    assert '"GET /no/such/path HTTP/1.1" 404' in request_lines[1]
    assert "\x1b" not in stderr


def test_request_log_is_coloured_only_for_a_terminal(monkeypatch: pytest.MonkeyPatch) -> None:
    import io
    import logging

    from upstack_pandas.cli.emulator import _RequestLogFormatter, _wants_colour

    class Terminal(io.StringIO):
        def isatty(self) -> bool:
            return True

    monkeypatch.delenv("NO_COLOR", raising=False)
    assert _wants_colour(Terminal()) and not _wants_colour(io.StringIO())
    monkeypatch.setenv("NO_COLOR", "1")
    assert not _wants_colour(Terminal())

    def record(status: str) -> logging.LogRecord:
        made = logging.LogRecord("upstack_pandas.emulator", logging.INFO, "", 0, "GET /", (), None)
        made.http_status = status
        return made

    coloured = _RequestLogFormatter(colour=True)
    assert coloured.format(record("401")).startswith("\x1b[1;31m")
    assert coloured.format(record("404")).startswith("\x1b[33m")
    assert "\x1b" not in coloured.format(record("200"))
    assert "\x1b" not in _RequestLogFormatter(colour=False).format(record("500"))
