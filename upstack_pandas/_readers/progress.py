"""Progress bars for multi-request work: tqdm.auto in interactive sessions, silent otherwise.

Whether a bar shows is decided, in order, by the reader's ``progress=`` argument, then the
client's setting (``Client(progress=...)`` / ``client.progress``), then the
``UPSTACK_PANDAS_PROGRESS`` environment variable (``1``/``0``), then whether the session is
interactive (IPython/Jupyter, or the plain ``python`` prompt). There is no module-level setting.
tqdm is imported only when a bar is actually shown.

Even when enabled, a bar shows only for long work: several requests (:data:`MIN_REQUESTS`), and
only once the work has lasted :data:`DELAY_SECONDS` (a cached or quick read draws nothing). In a
Jupyter kernel without ipywidgets no bar is drawn at all: tqdm's text bar would be written to
the cell's stderr and stay in the saved notebook.
"""

from __future__ import annotations

import os
import sys
import threading
from types import TracebackType
from typing import Any

__all__ = ["DELAY_SECONDS", "ENV_VAR", "MIN_REQUESTS", "Progress", "progress_enabled"]

ENV_VAR = "UPSTACK_PANDAS_PROGRESS"
MIN_REQUESTS = 2  # a single request never gets a bar
DELAY_SECONDS = 1.0  # a bar appears only once the work has lasted this long


def _interactive() -> bool:
    if hasattr(sys, "ps1"):
        return True
    ipython = sys.modules.get("IPython")
    if ipython is None:
        return False
    get_ipython = getattr(ipython, "get_ipython", None)
    return get_ipython is not None and get_ipython() is not None


def progress_enabled(progress: bool | None = None, client_setting: bool | None = None) -> bool:
    """Whether a bar should show, given a reader's ``progress=`` and the client's setting."""
    if progress is not None:
        return bool(progress)
    if client_setting is not None:
        return bool(client_setting)
    env = os.environ.get(ENV_VAR, "").strip().lower()
    if env in ("1", "true", "yes", "on"):
        return True
    if env in ("0", "false", "no", "off"):
        return False
    return _interactive()


def _in_kernel() -> bool:
    """Whether this is a Jupyter kernel (its stderr is saved in the notebook)."""
    ipython = sys.modules.get("IPython")
    get_ipython = getattr(ipython, "get_ipython", None) if ipython is not None else None
    shell = get_ipython() if get_ipython is not None else None
    return getattr(shell, "kernel", None) is not None


def _tqdm_class() -> Any:
    """tqdm.auto's notebook bar when ipywidgets is installed; the text bar outside kernels.

    None in a Jupyter kernel without ipywidgets: tqdm.auto would warn "IProgress not found" and
    the text bar would leave its lines on the cell's stderr.
    """
    import importlib.util

    if importlib.util.find_spec("ipywidgets") is not None:
        from tqdm.auto import tqdm
    elif _in_kernel():
        return None
    else:
        from tqdm.std import tqdm
    return tqdm


class Progress:
    """A thread-safe counter that drives a tqdm bar when enabled, and does nothing otherwise.

    Use as a context manager; ``update(n)`` from any thread; ``total`` may be set later.
    """

    def __init__(self, total: int | None, *, desc: str, enabled: bool) -> None:
        self.total = total
        self.desc = desc
        self.enabled = enabled
        self.done = 0
        self._bar: Any = None
        self._lock = threading.Lock()

    def __enter__(self) -> Progress:
        few = self.total is not None and self.total < MIN_REQUESTS
        tqdm = _tqdm_class() if self.enabled and not few else None
        if tqdm is not None:
            self._bar = tqdm(
                total=self.total, desc=self.desc, unit="req", leave=False, delay=DELAY_SECONDS
            )
        return self

    def set_total(self, total: int) -> None:
        with self._lock:
            self.total = total
            if self._bar is not None:
                self._bar.total = total  # drawn at the next update (a refresh would skip the delay)

    def update(self, n: int = 1) -> None:
        with self._lock:
            self.done += n
            if self._bar is not None:
                self._bar.update(n)

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._bar is not None:
            self._bar.close()
            self._bar = None
