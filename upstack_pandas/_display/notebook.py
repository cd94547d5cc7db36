"""Jupyter display rules shared by plots and views: each result shows once, nothing left on stderr."""

from __future__ import annotations

from typing import Any

__all__ = ["INLINE_BACKENDS", "in_inline_backend", "release_from_pyplot"]

#: matplotlib backends that draw every open pyplot figure at the end of a notebook cell.
INLINE_BACKENDS = (
    "module://matplotlib_inline.backend_inline",
    "module://ipykernel.pylab.backend_inline",
)


def in_inline_backend() -> bool:
    """Whether matplotlib draws into a notebook (its figures shown when a cell ends)."""
    import matplotlib

    return str(matplotlib.get_backend()).lower() in INLINE_BACKENDS


def release_from_pyplot(fig: Any) -> None:
    """Take a new figure out of pyplot's registry when a notebook draws open figures itself.

    The inline backend shows every open pyplot figure when a cell ends, and a Figure that is the
    cell's value shows again as its result: closing the new figure in pyplot (the object stays
    whole) leaves one picture, the result's. Outside notebooks pyplot keeps it, so
    ``plt.show()`` and ``plt.savefig()`` work as usual.

    Parameters
    ----------
    fig : matplotlib.figure.Figure
        A figure the plotting function created itself (never one the caller passed in).
    """
    if in_inline_backend():
        import matplotlib.pyplot as plt

        plt.close(fig)
