"""Progress bars for multi-request work: tqdm.auto in interactive sessions, silent otherwise.

Whether a bar shows is decided, in order, by the reader's ``progress=`` argument, then the
client's setting (``Client(progress=...)`` / ``client.progress``), then the
``UPSTACK_PANDAS_PROGRESS`` environment variable (``1``/``0``), then whether the session is
interactive (IPython/Jupyter, or the plain ``python`` prompt). There is no module-level setting.
tqdm is imported only when a bar is actually shown.
"""

from __future__ import annotations

import os
import sys
import threading
from types import TracebackType
from typing import Any

__all__ = ["ENV_VAR", "Progress", "progress_enabled"]

ENV_VAR = "UPSTACK_PANDAS_PROGRESS"


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


def _tqdm_class() -> Any:
    """tqdm.auto's notebook bar when ipywidgets is installed; the text bar otherwise.

    (tqdm.auto without ipywidgets warns "IProgress not found" in Jupyter.)
    """
    import importlib.util

    if importlib.util.find_spec("ipywidgets") is not None:
        from tqdm.auto import tqdm
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
        if self.enabled:
            tqdm = _tqdm_class()
            self._bar = tqdm(total=self.total, desc=self.desc, unit="req", leave=False)
        return self

    def set_total(self, total: int) -> None:
        with self._lock:
            self.total = total
            if self._bar is not None:
                self._bar.total = total
                self._bar.refresh()

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
