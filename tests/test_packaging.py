"""Release packaging: the sdist and wheel ``python -m build`` makes, and the metadata they carry.

The wheel must ship the data files the package reads at run time (the OpenAPI contract, the
measure catalog, ``py.typed``) and nothing of the repository around it (tests, docs and their
generators). ``.ci/run`` additionally installs the wheel into a clean environment and runs the
demo from it.
"""

from __future__ import annotations

import email.parser
import subprocess
import sys
import tarfile
import tomllib
import zipfile
from pathlib import Path

import pytest

from upstack_pandas._version import __version__

ROOT = Path(__file__).resolve().parents[1]
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
PROJECT = PYPROJECT["project"]


@pytest.fixture(scope="module")
def dists(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """The sdist and wheel built from this checkout (setuptools from the dev extra)."""
    out = tmp_path_factory.mktemp("dist")
    done = subprocess.run(
        [sys.executable, "-m", "build", "--no-isolation", "--outdir", str(out), str(ROOT)],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    wheels, sdists = list(out.glob("*.whl")), list(out.glob("*.tar.gz"))
    assert len(wheels) == 1 and len(sdists) == 1, list(out.iterdir())
    return {"wheel": wheels[0], "sdist": sdists[0]}


def _wheel_names(wheel: Path) -> list[str]:
    with zipfile.ZipFile(wheel) as archive:
        return archive.namelist()


def _metadata(wheel: Path) -> email.message.Message:
    with zipfile.ZipFile(wheel) as archive:
        text = archive.read(f"upstack_pandas-{__version__}.dist-info/METADATA").decode()
    return email.parser.Parser().parsestr(text)


def test_dists_are_named_by_the_package_version(dists: dict[str, Path]) -> None:
    # a platform wheel when the compiled decoder was built (a compiler was present), else pure
    tag = "py3-none-any"
    if any(n.startswith("upstack_pandas/_frames/_cdecode.") for n in _wheel_names(dists["wheel"])):
        tag = f"cp{sys.version_info[0]}{sys.version_info[1]}-cp{sys.version_info[0]}{sys.version_info[1]}-"
        assert dists["wheel"].name.startswith(f"upstack_pandas-{__version__}-{tag}")
    else:
        assert dists["wheel"].name == f"upstack_pandas-{__version__}-{tag}.whl"
    assert dists["sdist"].name == f"upstack_pandas-{__version__}.tar.gz"


def test_wheel_ships_the_runtime_data_files(dists: dict[str, Path]) -> None:
    names = set(_wheel_names(dists["wheel"]))
    for needed in (
        "upstack_pandas/py.typed",
        "upstack_pandas/emulator/catalog.yaml",
        "upstack_pandas/emulator/spec/openapi.yaml",
        f"upstack_pandas-{__version__}.dist-info/licenses/LICENSE",
        f"upstack_pandas-{__version__}.dist-info/entry_points.txt",
    ):
        assert needed in names, needed


def test_wheel_has_every_module_and_nothing_around_the_package(dists: dict[str, Path]) -> None:
    names = _wheel_names(dists["wheel"])
    modules = {
        path.relative_to(ROOT).as_posix()
        for path in (ROOT / "upstack_pandas").rglob("*.py")
        if "__pycache__" not in path.parts
    }
    assert modules and modules <= set(names), sorted(modules - set(names))
    tops = {name.split("/", 1)[0] for name in names}
    assert tops == {"upstack_pandas", f"upstack_pandas-{__version__}.dist-info"}
    assert not [n for n in names if "_gen/" in n or "/tests/" in n or n.startswith("docs/")]
    assert not [n for n in names if "__pycache__" in n or n.endswith(".pyc")]


def test_wheel_metadata_is_true(dists: dict[str, Path]) -> None:
    meta = _metadata(dists["wheel"])
    assert meta["Name"] == "upstack-pandas" and meta["Version"] == __version__
    assert meta["License-Expression"] == PROJECT["license"] == "MIT"
    assert meta["Requires-Python"] == ">=3.11"
    classifiers = meta.get_all("Classifier") or []
    # the SPDX License-Expression replaces the license classifier (setuptools rejects both)
    assert not [c for c in classifiers if c.startswith("License ::")]
    assert any(c.startswith("Development Status :: ") for c in classifiers)
    # only the Python versions CI tests (.ci/run builds its venvs with python3.11)
    versions = {c.rsplit(" ", 1)[-1] for c in classifiers if c.startswith("Programming Language")}
    assert versions <= {"Python", "3", "Only", "3.11"}, versions
    assert "3.11" in versions
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    assert "python3.11" in ci
    # URLs: only real ones (the project has no public repository; the vendor's docs are real)
    urls = [value.split(", ", 1)[1] for value in meta.get_all("Project-URL") or []]
    assert urls == ["https://docs.upstackdata.com"]
    assert (
        "upstack-pandas = upstack_pandas.cli:main"
        in zipfile.ZipFile(dists["wheel"])
        .read(f"upstack_pandas-{__version__}.dist-info/entry_points.txt")
        .decode()
    )


def test_license_file_is_the_mit_text() -> None:
    text = (ROOT / "LICENSE").read_text(encoding="utf-8")
    assert text.startswith("MIT License\n")
    assert "Permission is hereby granted, free of charge" in text
    assert 'THE SOFTWARE IS PROVIDED "AS IS"' in text
    assert PROJECT["license-files"] == ["LICENSE"]


def test_changelog_has_unreleased_and_the_current_version() -> None:
    lines = (ROOT / "CHANGELOG.md").read_text(encoding="utf-8").splitlines()
    headings = [line for line in lines if line.startswith("## ")]
    assert headings[0] == "## [Unreleased]"
    assert any(h.startswith(f"## [{__version__}] - ") for h in headings), headings


def test_sdist_carries_what_its_tests_need(dists: dict[str, Path]) -> None:
    with tarfile.open(dists["sdist"]) as archive:
        names = {name.split("/", 1)[1] for name in archive.getnames() if "/" in name}
    for needed in (
        "LICENSE",
        "CHANGELOG.md",
        "README.md",
        "pyproject.toml",
        "tests/conftest.py",
        "notebooks/quickstart.ipynb",
        "mkdocs.yml",
        "upstack_pandas/emulator/spec/openapi.yaml",
        "upstack_pandas/_frames/_speedups.c",
        "setup.py",
    ):
        assert needed in names, needed


def test_twine_check_passes(dists: dict[str, Path]) -> None:
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "twine",
            "check",
            "--strict",
            str(dists["wheel"]),
            str(dists["sdist"]),
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert done.stdout.count("PASSED") == 2, done.stdout
