"""Errors raised by the emulator's data layer (no engine, no HTTP here)."""

from __future__ import annotations

__all__ = ["DataLoadError"]


class DataLoadError(Exception):
    """User data that cannot be loaded: a missing file or column, or an unparsable value."""
