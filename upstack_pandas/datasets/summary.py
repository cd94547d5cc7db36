"""What a sync did, per pixel: windows fetched, skipped (up to date), failed, not attempted."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from upstack_pandas._errors import UpstackError

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["PixelSummary", "SyncFailed", "SyncSummary"]


class SyncFailed(UpstackError):
    """Some pixels of a sync failed (raised by :meth:`SyncSummary.raise_for_failures`)."""


@dataclass
class PixelSummary:
    """One pixel's part of a sync.

    Attributes
    ----------
    pixel_id : str
    profile : str or None
        The profile it was read with (None: a client or the default settings).
    fetched, skipped : list of str
        Periods (``"2026-01"``) fetched and written, and skipped as settled and complete.
    failed : dict of str to str
        Period → the error (type and message) of windows that failed for good.
    not_attempted : list of str
        Periods left unfetched because an earlier window of the pixel failed.
    """

    pixel_id: str
    profile: str | None = None
    fetched: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    failed: dict[str, str] = field(default_factory=dict)
    not_attempted: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """Whether every window of the pixel is now in step."""
        return not self.failed and not self.not_attempted


@dataclass
class SyncSummary:
    """The result of :func:`upstack_pandas.sync`.

    Attributes
    ----------
    path : str
        The dataset.
    pixels : dict of str to PixelSummary
        Per pixel id, in the order given.
    seconds : float
        Wall time of the sync.
    """

    path: str
    pixels: Mapping[str, PixelSummary]
    seconds: float = 0.0

    @property
    def fetched(self) -> int:
        """Windows fetched and written."""
        return sum(len(p.fetched) for p in self.pixels.values())

    @property
    def skipped(self) -> int:
        """Windows already settled and complete."""
        return sum(len(p.skipped) for p in self.pixels.values())

    @property
    def failed(self) -> int:
        """Windows that failed (not counting those not attempted after a failure)."""
        return sum(len(p.failed) for p in self.pixels.values())

    @property
    def ok(self) -> bool:
        """Whether every pixel is in step."""
        return all(p.ok for p in self.pixels.values())

    @property
    def failed_pixels(self) -> list[str]:
        """Pixel ids with failed or unattempted windows."""
        return [pid for pid, p in self.pixels.items() if not p.ok]

    def to_frame(self) -> pd.DataFrame:
        """One row per pixel: counts of fetched, skipped, failed, not attempted; first error."""
        import pandas as pd

        rows = [
            {
                "pixel": p.pixel_id,
                "profile": p.profile,
                "fetched": len(p.fetched),
                "skipped": len(p.skipped),
                "failed": len(p.failed),
                "not_attempted": len(p.not_attempted),
                "error": next(iter(p.failed.values()), None),
            }
            for p in self.pixels.values()
        ]
        return pd.DataFrame(rows).set_index("pixel")

    def raise_for_failures(self) -> None:
        """Raise :class:`SyncFailed` naming each failed pixel and its first error."""
        if self.ok:
            return
        lines = [
            f"{pid} ({len(p.failed)} failed, {len(p.not_attempted)} not attempted): "
            f"{next(iter(p.failed.items()), ('', 'unknown'))[1]}"
            for pid, p in self.pixels.items()
            if not p.ok
        ]
        raise SyncFailed(
            f"sync of {self.path}: {len(lines)} of {len(self.pixels)} pixels failed; the others "
            "were written; run sync again to retry: " + "; ".join(lines)
        )

    def __repr__(self) -> str:
        state = "ok" if self.ok else f"FAILED for {', '.join(self.failed_pixels)}"
        return (
            f"SyncSummary({self.path!r}: {len(self.pixels)} pixels, fetched {self.fetched}, "
            f"skipped {self.skipped}, failed {self.failed} windows in {self.seconds:.1f} s; "
            f"{state})"
        )
