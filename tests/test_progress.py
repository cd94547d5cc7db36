"""Progress bars only for long work (several requests, more than a second), never on a notebook's stderr."""

from __future__ import annotations

import time

import pytest

import upstack_pandas as up
from upstack_pandas._readers import progress as _progress


def run(total: int | None, steps: int, pause: float = 0.0) -> None:
    with _progress.Progress(total, desc="windows", enabled=True) as bar:
        for _ in range(steps):
            time.sleep(pause)
            bar.update()


def test_one_request_never_gets_a_bar(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(_progress, "DELAY_SECONDS", 0)
    run(1, 1)
    assert capsys.readouterr().err == ""


def test_quick_work_draws_nothing(capsys: pytest.CaptureFixture[str]) -> None:
    assert _progress.DELAY_SECONDS == 1.0
    run(8, 8)  # well under a second
    assert capsys.readouterr().err == ""


def test_long_work_draws_a_bar(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(_progress, "DELAY_SECONDS", 0.05)
    run(3, 3, pause=0.06)
    err = capsys.readouterr().err
    assert "windows" in err and "/3" in err


def test_unknown_totals_still_wait_for_the_delay(capsys: pytest.CaptureFixture[str]) -> None:
    run(None, 3)
    assert capsys.readouterr().err == ""


def test_a_kernel_without_ipywidgets_gets_no_text_bar(monkeypatch: pytest.MonkeyPatch) -> None:
    import importlib.util

    real = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util,
        "find_spec",
        lambda name, *a: None if name == "ipywidgets" else real(name, *a),
    )
    monkeypatch.setattr(_progress, "_in_kernel", lambda: True)
    assert _progress._tqdm_class() is None
    monkeypatch.setattr(_progress, "_in_kernel", lambda: False)
    from tqdm.std import tqdm

    assert _progress._tqdm_class() is tqdm


def test_a_quick_paginated_read_leaves_stderr_empty(
    client: up.Client, capsys: pytest.CaptureFixture[str]
) -> None:
    df = up.read_channel_details(level="adset", page_size=10, progress=True, client=client)
    assert len(df) > 10  # several pages, but quick: no bar
    assert capsys.readouterr().err == ""
