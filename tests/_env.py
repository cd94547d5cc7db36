"""An environment without the user's Upstack settings, for tests that resolve credentials."""

from __future__ import annotations

import os
from pathlib import Path

import pytest


def clean_upstack_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """Remove every ``UPSTACK_*`` variable and point ``HOME`` at ``tmp_path / "home"``.

    Returns the home directory (not created: ``~/.upstackrc`` is then simply absent).
    """
    for name in list(os.environ):
        if name.startswith("UPSTACK_"):
            monkeypatch.delenv(name)
    home = tmp_path / "home"
    monkeypatch.setenv("HOME", str(home))
    return home
