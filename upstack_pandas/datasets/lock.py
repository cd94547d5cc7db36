"""One sync at a time per dataset: a lock file created exclusively, released on exit.

``_upstack/lock`` is created with ``O_CREAT | O_EXCL`` (atomic on local file systems) and
holds the holder's host, process id and start time. A second sync fails at once with
:class:`DatasetLocked` naming the holder, or waits up to ``timeout`` seconds for it. A lock
left by a process that no longer runs (same host, process gone: a crash or ``kill -9``) is
taken over, with a log message.
"""

from __future__ import annotations

import contextlib
import datetime as _dt
import logging
import os
import socket
import time
from pathlib import Path
from types import TracebackType

import orjson

from upstack_pandas._errors import UpstackError

__all__ = ["DatasetLock", "DatasetLocked"]

logger = logging.getLogger("upstack_pandas")
_POLL = 0.1


class DatasetLocked(UpstackError):
    """Another sync holds the dataset's lock (``_upstack/lock``)."""


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # pragma: no cover - someone else's process
        return True
    return True


class DatasetLock:
    """The lock of the dataset at ``root``; a context manager.

    Parameters
    ----------
    root : path
        The dataset.
    timeout : float
        Seconds to wait for another sync to finish (0: fail at once).
    """

    def __init__(self, root: Path, *, timeout: float = 0.0) -> None:
        if isinstance(timeout, bool) or not isinstance(timeout, int | float) or timeout < 0:
            raise ValueError(f"lock_timeout must be a number of seconds >= 0, not {timeout!r}")
        self.path = root / "_upstack" / "lock"
        self.timeout = float(timeout)
        self._held = False

    def _holder(self) -> dict[str, object]:
        try:
            found = orjson.loads(self.path.read_bytes())
        except (FileNotFoundError, orjson.JSONDecodeError):
            return {}
        return found if isinstance(found, dict) else {}

    def _try_take(self) -> bool:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        try:
            fd = os.open(self.path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
        except FileExistsError:
            return False
        holder = {
            "host": socket.gethostname(),
            "pid": os.getpid(),
            "since": _dt.datetime.now(_dt.UTC).isoformat(),
        }
        with os.fdopen(fd, "wb") as handle:
            handle.write(orjson.dumps(holder))
        return True

    def _stale(self, holder: dict[str, object]) -> bool:
        pid = holder.get("pid")
        return (
            holder.get("host") == socket.gethostname()
            and isinstance(pid, int)
            and pid != os.getpid()
            and not _alive(pid)
        )

    def acquire(self) -> None:
        """Take the lock, waiting up to ``timeout``; :class:`DatasetLocked` otherwise."""
        deadline = time.monotonic() + self.timeout
        while True:
            if self._try_take():
                self._held = True
                return
            holder = self._holder()
            if self._stale(holder):
                logger.warning(
                    "taking over the lock of %s left by process %s, which no longer runs",
                    self.path.parent.parent,
                    holder.get("pid"),
                )
                with contextlib.suppress(FileNotFoundError):
                    self.path.unlink()
                continue
            if time.monotonic() >= deadline:
                who = (
                    f"process {holder.get('pid')} on {holder.get('host')} since "
                    f"{holder.get('since')}"
                    if holder
                    else "another process"
                )
                waited = f" after waiting {self.timeout:g} s" if self.timeout else ""
                raise DatasetLocked(
                    f"another sync of {self.path.parent.parent} is running ({who}){waited}; "
                    f"wait for it, pass lock_timeout= to wait, or delete {self.path} if no "
                    "sync is running"
                )
            time.sleep(_POLL)

    def release(self) -> None:
        """Release the lock (idempotent)."""
        if self._held:
            self._held = False
            with contextlib.suppress(FileNotFoundError):
                self.path.unlink()

    def __enter__(self) -> DatasetLock:
        self.acquire()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.release()
