"""``upstack_pandas.show_versions()``: the versions a bug report needs, and the decode path.

Versions come from the installed distributions' metadata (nothing is imported for them, so this
stays cheap and never pulls in requests); the decode path is asked of the frames package.
"""

from __future__ import annotations

import json
import platform
import sys
from importlib import metadata

__all__ = ["show_versions"]

#: (label, distribution) in the order printed.
_DISTRIBUTIONS = (
    ("upstack-pandas", "upstack-pandas"),
    ("pandas", "pandas"),
    ("numpy", "numpy"),
    ("pyarrow", "pyarrow"),
    ("requests", "requests"),
    ("requests-cache", "requests-cache"),
    ("orjson", "orjson"),
    ("duckdb", "duckdb"),
)


def _version(distribution: str) -> str | None:
    try:
        return metadata.version(distribution)
    except metadata.PackageNotFoundError:
        return None


def _info() -> dict[str, str | None]:
    from upstack_pandas._frames.decode import active_path
    from upstack_pandas._version import __version__

    info: dict[str, str | None] = {}
    for label, distribution in _DISTRIBUTIONS:
        info[label] = _version(distribution)
        if label == "upstack-pandas":
            info[label] = __version__  # the imported package (a checkout may differ from metadata)
            info["python"] = sys.version.split()[0]
            info["platform"] = platform.platform()
    compiled, reason = active_path()
    info["decode path"] = "compiled" if compiled else f"pure Python ({reason})"
    return info


def show_versions(as_json: str | bool = False) -> None:
    """Print the versions of upstack-pandas and its dependencies, and the active decode path.

    Like :func:`pandas.show_versions`: paste the output into a bug report. The decode path is
    ``compiled`` when the optional compiled decoder is built and enabled, otherwise
    ``pure Python (reason)`` (the extension was not built, or ``UPSTACK_PANDAS_PURE_PYTHON`` is
    set); both give the same frames.

    Parameters
    ----------
    as_json
        ``False`` (the default) prints a table; ``True`` prints the same as JSON; a path writes
        the JSON to that file instead of printing it.

    Examples
    --------
    >>> import upstack_pandas as up
    >>> up.show_versions()  # doctest: +SKIP
    upstack-pandas : 0.1.0
    python         : 3.11.9
    ...
    decode path    : compiled
    """
    info = _info()
    if as_json:
        text = json.dumps(info, indent=2)
        if isinstance(as_json, str):
            with open(as_json, "w", encoding="utf-8") as handle:
                handle.write(text + "\n")
        else:
            print(text)
        return
    width = max(len(label) for label in info)
    for label, value in info.items():
        print(f"{label:<{width}} : {value if value is not None else 'not installed'}")
