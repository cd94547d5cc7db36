"""Importing the ``benchmarks`` package (it lives beside the library, at the repository root)."""

from __future__ import annotations

import importlib
import sys
from pathlib import Path
from types import ModuleType

ROOT = Path(__file__).resolve().parent.parent


def benchmark_module(name: str) -> ModuleType:
    """``benchmarks.<name>``, with the repository root on ``sys.path`` (once)."""
    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))
    return importlib.import_module(f"benchmarks.{name}")
