"""Build the optional compiled decoder (everything else is in pyproject.toml).

``upstack_pandas._frames._cdecode`` is built from ``_speedups.c`` when a C compiler works, and
silently left out when none does (the markupsafe / PyYAML pattern): the package then decodes with
its pure-Python path, which gives the same frames. ``upstack_pandas.show_versions()`` says which
path is active.
"""

from __future__ import annotations

import sys

from setuptools import Extension, setup
from setuptools.command.build_ext import build_ext


class OptionalBuildExt(build_ext):
    """``build_ext`` that warns instead of failing when the extension cannot be compiled."""

    def run(self) -> None:
        try:
            super().run()
        except Exception as exc:  # no compiler, no Python headers, ...
            _skipped(exc)

    def build_extension(self, ext: Extension) -> None:
        try:
            super().build_extension(ext)
        except Exception as exc:
            _skipped(exc)


def _skipped(exc: BaseException) -> None:
    print(
        f"WARNING: the compiled decoder was not built ({type(exc).__name__}: {exc}); "
        "upstack-pandas uses its pure-Python decoder instead.",
        file=sys.stderr,
    )


setup(
    ext_modules=[
        Extension(
            "upstack_pandas._frames._cdecode",
            sources=["upstack_pandas/_frames/_speedups.c"],
            extra_compile_args=["-O3"] if sys.platform != "win32" else [],
            optional=True,
        )
    ],
    cmdclass={"build_ext": OptionalBuildExt},
)
