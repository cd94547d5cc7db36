"""Errors raised by the emulator's computational core (the engine: no HTTP here).

::

    Exception
     ├── QueryError              a semantically invalid request body  → HTTP 400
     │    └── UnknownMeasureError     (also a KeyError, for catalog lookups)
     └── DataLoadError           user data (``--data DIR``) that cannot be loaded

This module imports nothing from the engine, so every engine module may import it;
``DataLoadError`` is the data layer's (``emulator/data/errors.py``), re-exported here. The HTTP
layer's own errors live in ``api_errors.py``.
"""

from __future__ import annotations

from upstack_pandas.emulator.data.errors import DataLoadError

__all__ = ["DataLoadError", "QueryError", "UnknownMeasureError", "fail"]


class QueryError(Exception):
    """A request body that is well-formed but semantically invalid.

    The HTTP layer turns it into ``400 {"message": ..., "errors": [{"path", "message"}]}``.

    Parameters
    ----------
    message
        One sentence for humans, saying what is wrong and how to fix it.
    errors
        Per-field details: ``{"path": "measures.0.measure", "message": "..."}``; ``path`` is a
        dotted JSON path into the request body (``""`` for the body itself). Defaults to one
        entry at the body root carrying ``message``.
    """

    def __init__(self, message: str, errors: list[dict[str, str]] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.errors: list[dict[str, str]] = (
            errors if errors is not None else [{"path": "", "message": message}]
        )

    def __str__(self) -> str:
        return self.message

    def to_body(self) -> dict[str, object]:
        """Return the HTTP 400 body ``{"message", "errors"}``."""
        return {"message": self.message, "errors": [dict(e) for e in self.errors]}


def fail(path: str, message: str) -> QueryError:
    """A :class:`QueryError` with one error, at ``path``, carrying ``message``."""
    return QueryError(message, [{"path": path, "message": message}])


class UnknownMeasureError(QueryError, KeyError):
    """A measure id that is not in the catalog (the message lists the closest ids)."""
