"""An earlier revision's conversion, loaded beside today's so both are timed in one process.

``python -m benchmarks --sections conversion --baseline REV`` times REV's response-to-frame
conversion against today's pure path in paired rounds of the same run (section 1): REV's
``benchmarks/bench_frames.py`` conversion (``library_pure`` when REV has it, else ``library``)
over the same synthetic bodies. How REV is loaded:

1. ``git archive REV upstack_pandas benchmarks/bench_frames.py`` is extracted into a temporary
   directory (the working tree is not touched).
2. The package is renamed ``_upstack_baseline_<sha>`` in every ``.py`` file of the copy (the
   word ``upstack_pandas``; the ``UPSTACK_PANDAS_*`` environment variables keep their names), so
   the two versions never share a module. Nothing else in the code changes.
3. The renamed package is put in ``sys.modules`` as an empty package object, so its
   ``__init__`` (which registers ``pd.read_upstack`` and the ``df.upstack`` accessor) never runs
   and today's pandas integration stays in place; the conversion's modules load on their own.

The copy has no compiled extension (``git archive`` holds sources only), and the conversion runs
with ``UPSTACK_PANDAS_PURE_PYTHON=1`` set, so a revision that has a compiled decoder is timed on
its pure-Python path. When git, the revision (a shallow CI clone) or the files are unavailable,
:func:`load` raises :class:`BaselineUnavailable` with the reason; the suite prints it and skips
the comparison.
"""

from __future__ import annotations

import contextlib
import importlib.util
import io
import os
import re
import shutil
import subprocess
import sys
import tarfile
import tempfile
import types
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

__all__ = ["ISSUE_13", "Baseline", "BaselineUnavailable", "load"]

ROOT = Path(__file__).resolve().parent.parent
#: main when issue 13 ("Performance, round two") was filed: the end of session 1, whose
#: benchmarks (ed6acb7, 12 of 12 targets) the issue reproduced. ``--baseline`` alone means it.
ISSUE_13 = "756ce73"
_PACKAGE = "upstack_pandas"
_BENCH = "benchmarks/bench_frames.py"
_WORD = re.compile(rb"\bupstack_pandas\b")
_PURE_ENV = "UPSTACK_PANDAS_PURE_PYTHON"  # the same name at every revision that reads it

Convert = Callable[[bytes, list[str], Sequence[str]], Any]


class BaselineUnavailable(Exception):
    """The baseline revision cannot be loaded here (the message says why)."""


@dataclass
class Baseline:
    """An earlier revision's conversion, loaded under its own package name.

    Attributes
    ----------
    rev : str
        The revision as given (``"756ce73"``, ``"HEAD~3"``...).
    commit : str
        Its full commit id.
    label : str
        Short id and commit date, for the report (``"756ce73 (2026-11-26)"``).
    function : str
        Which function of the revision's ``bench_frames`` is timed.
    """

    rev: str
    commit: str
    label: str
    function: str
    _convert: Convert
    _module: str
    _directory: str

    def convert(self, body: bytes, measures: list[str], dims: Sequence[str]) -> Any:
        """The revision's conversion of ``body``, on its pure-Python decode path.

        Parameters
        ----------
        body : bytes
            A ``/query`` response body (``bench_frames.make_body``).
        measures : list of str
            Its measure ids.
        dims : sequence of str
            Its dimensions.

        Returns
        -------
        pandas.DataFrame
            The revision's primary frame.
        """
        before = os.environ.get(_PURE_ENV)
        os.environ[_PURE_ENV] = "1"
        try:
            return self._convert(body, measures, dims)
        finally:
            if before is None:
                del os.environ[_PURE_ENV]
            else:
                os.environ[_PURE_ENV] = before

    def close(self) -> None:
        """Forget the renamed modules and remove the exported copy."""
        for name in [m for m in sys.modules if m == self._module or m.startswith(self._module)]:
            del sys.modules[name]
        shutil.rmtree(self._directory, ignore_errors=True)


def _git(repo: Path, *args: str) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run(["git", "-C", str(repo), *args], capture_output=True, check=False)


def _export(repo: Path, commit: str, rev: str) -> tarfile.TarFile:
    found = _git(repo, "archive", "--format=tar", commit, _PACKAGE, _BENCH)
    if found.returncode != 0:
        why = found.stderr.decode(errors="replace").strip().splitlines()
        raise BaselineUnavailable(
            f"git archive {rev} {_PACKAGE} {_BENCH} failed: {why[0] if why else 'no output'}"
        )
    return tarfile.open(fileobj=io.BytesIO(found.stdout))


def load(rev: str, *, repo: str | os.PathLike[str] = ROOT) -> Baseline:
    """Export ``rev``'s package and conversion benchmark and import them, renamed.

    Parameters
    ----------
    rev : str
        A revision of the repository (commit id, tag, ``HEAD~n``...).
    repo : path, optional
        The git work tree (default: the one this file is in).

    Returns
    -------
    Baseline
        Call :meth:`Baseline.close` when done (or use :func:`loaded`).

    Raises
    ------
    BaselineUnavailable
        No git, not a git work tree, the revision is not in this clone (a shallow clone), or it
        has no ``benchmarks/bench_frames.py``.
    """
    where = Path(repo)
    if shutil.which("git") is None:
        raise BaselineUnavailable("git is not installed")
    found = _git(where, "rev-parse", "--verify", "--quiet", f"{rev}^{{commit}}")
    if found.returncode != 0:
        shallow = _git(where, "rev-parse", "--is-shallow-repository").stdout.strip() == b"true"
        raise BaselineUnavailable(
            f"revision {rev!r} is not in the git repository at {where}"
            + (" (a shallow clone: `git fetch --unshallow` first)" if shallow else "")
        )
    commit = found.stdout.decode().strip()
    date = _git(where, "show", "-s", "--format=%cs", commit).stdout.decode().strip()
    module = f"_upstack_baseline_{commit[:10]}"
    directory = tempfile.mkdtemp(prefix="upstack-baseline-")
    try:
        with _export(where, commit, rev) as archive:
            names = _write_renamed(archive, Path(directory), module)
        if f"{_PACKAGE}/__init__.py" not in names or _BENCH not in names:
            raise BaselineUnavailable(f"revision {rev} has no {_PACKAGE}/ or no {_BENCH}")
        bench = _import(Path(directory), module)
        function = "library_pure" if hasattr(bench, "library_pure") else "library"
    except BaseException:
        for name in [m for m in sys.modules if m.startswith(module)]:
            del sys.modules[name]
        shutil.rmtree(directory, ignore_errors=True)
        raise
    return Baseline(
        rev=rev,
        commit=commit,
        label=f"{commit[:7]} ({date})",
        function=function,
        _convert=getattr(bench, function),
        _module=module,
        _directory=directory,
    )


@contextlib.contextmanager
def loaded(rev: str, *, repo: str | os.PathLike[str] = ROOT) -> Iterator[Baseline]:
    """:func:`load` as a context manager: the copy and its modules go at the end."""
    baseline = load(rev, repo=repo)
    try:
        yield baseline
    finally:
        baseline.close()


def _write_renamed(archive: tarfile.TarFile, directory: Path, module: str) -> set[str]:
    """Write the archive's files under ``directory``, the package renamed ``module``."""
    names = set()
    replacement = module.encode()
    for member in archive.getmembers():
        if not member.isfile():
            continue
        names.add(member.name)
        source = archive.extractfile(member)
        assert source is not None
        data = source.read()
        if member.name.endswith(".py"):
            data = _WORD.sub(replacement, data)
        if member.name == _BENCH:
            target = directory / f"{module}_bench_frames.py"
        else:
            target = directory / module / Path(member.name).relative_to(_PACKAGE)
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data)
    return names


def _import(directory: Path, module: str) -> types.ModuleType:
    """The renamed package as an empty package object, then the renamed bench_frames."""
    package = types.ModuleType(module, f"{_PACKAGE} at a baseline revision (renamed)")
    package.__path__ = [str(directory / module)]
    package.__package__ = module
    sys.modules[module] = package
    name = f"{module}_bench_frames"
    spec = importlib.util.spec_from_file_location(name, directory / f"{name}.py")
    assert spec is not None and spec.loader is not None
    bench = importlib.util.module_from_spec(spec)
    sys.modules[name] = bench
    try:
        spec.loader.exec_module(bench)
    except Exception as exc:
        raise BaselineUnavailable(f"{_BENCH} at this revision does not import: {exc!r}") from exc
    return bench
