"""Multi-row writes: a plan (one row per intended request), applied in order, never half hidden.

A plan is a DataFrame with one row per request to send: ``action`` (``add``, ``update``,
``delete`` or ``unchanged``), the row's keys, ``changes`` (for an update, ``{field: (stored,
new)}``; for an add, the fields sent) and ``status``. ``dry_run=True`` returns it with status
``planned`` and sends nothing. Applying it sends the requests one at a time, in plan order;
the first failure stops it and raises :class:`PartialWriteError`, whose ``applied``,
``failed`` and ``pending`` frames say exactly which rows took effect.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

import pandas as pd

from upstack_pandas._errors import ServerError, TransportError, UpstackError

__all__ = ["ACTIONS", "PartialWriteError", "apply_plan", "plan_frame"]

ACTIONS = ("add", "update", "delete", "unchanged")


class PartialWriteError(UpstackError):
    """A multi-row write stopped midway: some rows were applied, one failed, the rest were not sent.

    Attributes
    ----------
    applied : pandas.DataFrame
        The plan rows that were applied (``status == "applied"``), in the order sent.
    failed : pandas.DataFrame
        The row whose request failed (one row): ``status`` is ``"failed"`` when the API refused it
        (nothing changed), ``"unknown"`` when the outcome is not known (a server error or a lost
        response: check with a read before retrying); ``error`` says why.
    pending : pandas.DataFrame
        The rows after it, never sent (``status == "not sent"``).
    cause : UpstackError
        The error of the failed request (also the ``__cause__``).
    """

    def __init__(
        self,
        message: str = "",
        *,
        applied: pd.DataFrame | None = None,
        failed: pd.DataFrame | None = None,
        pending: pd.DataFrame | None = None,
        cause: UpstackError | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(message, **kwargs)
        self.applied = applied if applied is not None else pd.DataFrame()
        self.failed = failed if failed is not None else pd.DataFrame()
        self.pending = pending if pending is not None else pd.DataFrame()
        self.cause = cause

    def _detail_lines(self) -> list[str]:
        return [
            f"applied: {len(self.applied)} row(s); failed: {len(self.failed)}; "
            f"not sent: {len(self.pending)} (see .applied, .failed, .pending)"
        ]


def plan_frame(rows: Sequence[dict[str, Any]], keys: Sequence[str]) -> pd.DataFrame:
    """The plan DataFrame: ``action``, the ``keys`` columns, ``changes``, ``status``."""
    columns = ["action", *keys, "changes", "status"]
    frame = pd.DataFrame(
        [{c: row.get(c) for c in columns} for row in rows], columns=columns, dtype=object
    )
    frame["action"] = frame["action"].astype(object)
    return frame.reset_index(drop=True)


def outcome_unknown(error: UpstackError) -> bool:
    """Whether a failed write may still have been applied (server error, lost response)."""
    return isinstance(error, ServerError | TransportError)


def apply_plan(
    plan: pd.DataFrame,
    send: Callable[[pd.Series], Mapping[str, Any] | None],
    *,
    what: str,
) -> pd.DataFrame:
    """Send each plan row with ``send`` (skipping ``unchanged``) and mark it ``applied``.

    Parameters
    ----------
    plan : pandas.DataFrame
        From :func:`plan_frame`.
    send : callable
        Sends one row's request; raises ``UpstackError`` on failure. It may return cells to
        fill in the row (e.g. ``{"id": new_id}`` for an add).
    what : str
        What the rows are, for the message (``"cost lines"``).

    Returns
    -------
    pandas.DataFrame
        The plan with ``status`` ``applied`` / ``unchanged``.

    Raises
    ------
    PartialWriteError
        At the first failing request, with the exact split.
    """
    result = plan.reset_index(drop=True).copy()
    result["status"] = ["unchanged" if a == "unchanged" else "not sent" for a in plan["action"]]
    result["error"] = None
    for position in range(len(result)):
        row = result.iloc[position]
        if row["action"] == "unchanged":
            continue
        try:
            filled = send(row)
        except UpstackError as error:
            unknown = outcome_unknown(error)
            result.at[position, "status"] = "unknown" if unknown else "failed"
            result.at[position, "error"] = str(error).splitlines()[0]
            applied = result.iloc[:position]
            applied = applied[applied["status"] == "applied"].reset_index(drop=True)
            failed = result.iloc[[position]].reset_index(drop=True)
            pending = result.iloc[position + 1 :]
            pending = pending[pending["status"] == "not sent"].reset_index(drop=True)
            state = "its outcome is unknown" if unknown else "it was not applied"
            raise PartialWriteError(
                f"{what}: row {position} ({row['action']}) failed and {state}; "
                f"{len(applied)} row(s) before it were applied, {len(pending)} not sent",
                applied=applied.drop(columns="error"),
                failed=failed,
                pending=pending.drop(columns="error"),
                cause=error,
                status=error.status,
                method=error.method,
                path=error.path,
                request_id=error.request_id,
                errors=error.errors,
                hint=(
                    "read the current state (the applied rows took effect), fix the failed row "
                    "and run the upsert again: applied rows then plan as unchanged"
                ),
            ) from error
        for column, value in (filled or {}).items():
            result.at[position, column] = value
        result.at[position, "status"] = "applied"
    return result.drop(columns="error")
