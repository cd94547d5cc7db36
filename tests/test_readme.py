"""The README's quickstart is real: its code runs and prints exactly the output shown."""

from __future__ import annotations

import contextlib
import io
import re
from pathlib import Path

import pandas as pd
import pytest

README = Path(__file__).resolve().parents[1] / "README.md"


def _blocks(language: str) -> list[str]:
    return re.findall(rf"```{language}\n(.*?)```", README.read_text(encoding="utf-8"), re.S)


def test_readme_keeps_exactly_two_setup_commands() -> None:
    commands = _blocks("bash")
    assert len(commands) == 2
    assert "upstack-pandas demo" in commands[0]
    assert "pytest" in commands[1]


@pytest.mark.skipif(
    int(pd.__version__.split(".")[0]) < 3, reason="output shown is pandas 3's formatting"
)
def test_quickstart_prints_what_the_readme_shows(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("UPSTACK_CACHE_DIR", str(tmp_path))
    code, expected = _blocks("python")[0], _blocks("text")[0]
    out = io.StringIO()
    with (
        contextlib.redirect_stdout(out),
        pd.option_context("display.width", 80, "display.max_columns", 20),
    ):
        exec(compile(code, "README.md", "exec"), {})
    assert out.getvalue().strip() == expected.strip()
