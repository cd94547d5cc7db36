"""The server's clock as the client last saw it: "today" is the API's, not the machine's.

Every live response carries a ``Date`` header (decision D80: an emulator with a pinned ``now``
sends that instant). :class:`ServerClock` keeps the offset between that header and the local
clock at the moment the response arrived, so :meth:`ServerClock.now` is the server's time even
when the machine's clock or the emulator's pinned ``now`` differ. Cached answers say nothing
about the present and are not observed. Before any live response the local clock is used.
"""

from __future__ import annotations

import datetime as _dt
import threading
import zoneinfo
from collections.abc import Callable

__all__ = ["ServerClock"]


class ServerClock:
    """The offset between the server's ``Date`` header and the local clock.

    Parameters
    ----------
    local
        The local clock (aware UTC datetimes); injectable for tests.
    """

    def __init__(self, local: Callable[[], _dt.datetime] | None = None) -> None:
        self._local = local or (lambda: _dt.datetime.now(_dt.UTC))
        self._offset: _dt.timedelta | None = None
        self._lock = threading.Lock()

    @property
    def known(self) -> bool:
        """Whether a live response has told the server's time yet."""
        return self._offset is not None

    def observe(self, server_date: _dt.datetime | None, *, from_cache: bool) -> None:
        """Record the ``Date`` of a response (cached responses and missing dates are ignored)."""
        if from_cache or server_date is None:
            return
        with self._lock:
            self._offset = server_date.astimezone(_dt.UTC) - self._local()

    def now(self) -> _dt.datetime:
        """The server's current time (aware, UTC); the local clock until a response arrived."""
        local = self._local()
        return local if self._offset is None else local + self._offset

    def today(self, timezone: str) -> _dt.date:
        """The server's current date in ``timezone``."""
        return self.now().astimezone(zoneinfo.ZoneInfo(timezone)).date()
