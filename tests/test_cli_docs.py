"""Every example of docs/cli.md marked ``<!-- cli-example -->`` runs, in order, as a subprocess.

The commands run against a private emulator (fixed clock and seed, so the documented values
hold) with HOME, XDG_CACHE_HOME and UPSTACK_CONFIG in a temporary folder and stdin not a
terminal. Expected output: whitespace runs compare equal, ``<*>`` matches one token,
``<NAME>`` captures one token for later commands' ``$NAME``, a ``...`` line matches any lines.
"""

from __future__ import annotations

import os
import re
import shlex
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from upstack_pandas.emulator.http.server import Emulator

ROOT = Path(__file__).resolve().parents[1]
PAGE = ROOT / "docs" / "cli.md"
NOW = "2026-11-26T12:00:00Z"
FENCE = re.compile(
    r"<!-- cli-(example|file: (?P<name>[\w.-]+)) -->\n```\w*\n(?P<body>.*?)\n```", re.S
)
TOKEN = re.compile(r"<\*>|<(?P<name>[A-Z_]+)>")


@dataclass
class Example:
    command: str
    expected: str


def _examples() -> list[tuple[str, str | Example]]:
    """The page's files and commands, in order: ("file", name) / ("run", Example)."""
    steps: list[tuple[str, str | Example]] = []
    for match in FENCE.finditer(PAGE.read_text(encoding="utf-8")):
        if match["name"]:
            steps.append((f"file:{match['name']}", match["body"]))
            continue
        command: str | None = None
        output: list[str] = []
        for line in [*match["body"].splitlines(), "$ "]:
            if line.startswith("$ "):
                if command is not None:
                    steps.append(("run", Example(command, "\n".join(output))))
                command, output = line[2:], []
            else:
                output.append(line)
    return steps


def _pattern(expected: str) -> re.Pattern[str]:
    parts: list[str] = []
    for line in expected.splitlines():
        if line.strip() == "...":
            parts.append(r"(?:[^\n]*\n)*?")
            continue
        pieces: list[str] = []
        position = 0
        for token in TOKEN.finditer(line):
            pieces.append(_loose(line[position : token.start()]))
            name = token["name"]
            pieces.append(rf"(?P<{name}>[^\s\",]+)" if name else r"[^\s\",]+")
            position = token.end()
        pieces.append(_loose(line[position:]))
        parts.append("".join(pieces) + r"[ \t]*\n")
    return re.compile(r"\s*" + "".join(parts) + r"\s*\Z")


def _loose(text: str) -> str:
    words = text.split()
    if not words:
        return r"[ \t]*"
    return r"[ \t]*" + r"[ \t]+".join(re.escape(word) for word in words) + r"[ \t]*"


@pytest.fixture(scope="module")
def docs_emulator() -> Iterator[Emulator]:
    """A private emulator: the examples change its state (views, costs, the account)."""
    with Emulator(now=NOW) as emu:
        yield emu


def test_every_cli_example_runs_as_documented(docs_emulator: Emulator, tmp_path: Path) -> None:
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith("UPSTACK_") and key not in ("HOME", "XDG_CACHE_HOME")
    }
    env.update(
        HOME=str(tmp_path / "home"),
        XDG_CACHE_HOME=str(tmp_path / "cache"),
        UPSTACK_CONFIG=str(tmp_path / "upstackrc"),
        UPSTACK_API_KEY=docs_emulator.api_key,
        UPSTACK_PIXEL_ID=docs_emulator.pixel_id,
        UPSTACK_BASE_URL=docs_emulator.url,
        PYTHONPATH=str(ROOT),
        COLUMNS="80",
    )
    work = tmp_path / "work"
    work.mkdir()
    captured: dict[str, str] = {}
    ran = 0
    for kind, step in _examples():
        if kind.startswith("file:"):
            assert isinstance(step, str)
            (work / kind.removeprefix("file:")).write_text(step + "\n", encoding="utf-8")
            continue
        assert isinstance(step, Example)
        argv = shlex.split(step.command)
        assert argv[0] == "upstack-pandas", step.command
        argv = [captured[a[1:]] if a.startswith("$") else a for a in argv[1:]]
        done = subprocess.run(
            [sys.executable, "-m", "upstack_pandas.cli", *argv],
            cwd=work,
            env=env,
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        output = done.stdout + done.stderr
        failing = ": error: " in step.expected
        assert (done.returncode != 0) == failing, (step.command, done.returncode, output)
        match = _pattern(step.expected).match(output + "\n")
        assert match, f"{step.command}\n--- documented:\n{step.expected}\n--- got:\n{output}"
        captured.update(match.groupdict())
        ran += 1
    assert ran >= 30
    assert (work / "cohorts.csv").read_text().startswith("cohort,period,")
    assert (work / "views.json").read_text().lstrip().startswith("[")
