"""The notebooks in notebooks/ are stored with their outputs, and re-executing them reproduces them.

``notebooks/_build.py`` executes every notebook against an embedded emulator with a pinned clock
and seed and stores the outputs. Here each notebook runs again (nbclient, a kernelspec under
``tmp_path`` running ``sys.executable``, so this checkout's ``upstack_pandas``) and its outputs
must equal the stored ones as ``_build.comparable`` sees them: all text after masking ports,
random ids and addresses (so every number and shape shown), images by pixel size. A changed
number means: run ``python notebooks/_build.py`` and review the diff. On pandas 2 the notebooks
run top to bottom but are not compared (the stored outputs are pandas 3's formatting).
"""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path
from types import ModuleType

import pandas as pd
import pytest

import upstack_pandas

nbformat = pytest.importorskip("nbformat")
nbclient = pytest.importorskip("nbclient")

NOTEBOOKS = Path(__file__).resolve().parent.parent / "notebooks"
PATHS = sorted(NOTEBOOKS.glob("*.ipynb"))
KERNEL = "upstack-pandas-tests"
PANDAS_MAJOR = int(pd.__version__.split(".")[0])

pytestmark = pytest.mark.slow


def _load_build() -> ModuleType:
    spec = importlib.util.spec_from_file_location("notebooks_build", NOTEBOOKS / "_build.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


build = _load_build()


def test_the_four_notebooks_exist() -> None:
    names = {path.stem for path in PATHS}
    assert {"quickstart", "attribution", "cohorts", "dashboards"} <= names


@pytest.mark.parametrize("path", PATHS, ids=[p.stem for p in PATHS])
def test_notebook_is_stored_with_outputs_and_matches_its_cells(path: Path) -> None:
    notebook = nbformat.read(path, as_version=4)
    nbformat.validate(notebook)
    expected = build.build(path.stem, build.NOTEBOOKS[path.stem])
    assert [c.source for c in notebook.cells] == [c.source for c in expected.cells], (
        "the notebook's cells differ from notebooks/_cells.py: run python notebooks/_build.py"
    )
    code = [cell for cell in notebook.cells if cell.cell_type == "code"]
    assert [cell.execution_count for cell in code] == list(range(1, len(code) + 1))
    assert sum(bool(cell.outputs) for cell in code) >= len(code) // 2
    for cell in code:
        for output in cell.outputs:
            assert output.get("name") != "stderr", (cell.source[:60], output.get("text"))
            assert output["output_type"] != "error", cell.source[:60]
        assert "execution" not in cell.metadata  # no run timestamps in the stored file


def test_a_figure_as_a_cells_value_shows_once() -> None:
    notebook = nbformat.read(NOTEBOOKS / "quickstart.ipynb", as_version=4)
    cell = next(c for c in notebook.cells if c.source.startswith("df.upstack.sparklines()"))
    images = [o for o in cell.outputs if "image/png" in o.get("data", {})]
    assert len(images) == 1 and len(cell.outputs) == 1


@pytest.fixture
def kernel_name(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    """Register a kernelspec running this interpreter, visible only to this test."""
    spec_dir = tmp_path / "jupyter" / "kernels" / KERNEL
    spec_dir.mkdir(parents=True)
    spec = {
        "argv": [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"],
        "display_name": f"Python ({sys.executable})",
        "language": "python",
        "env": {"MPLBACKEND": "module://matplotlib_inline.backend_inline"},
    }
    (spec_dir / "kernel.json").write_text(json.dumps(spec))
    monkeypatch.setenv("JUPYTER_PATH", str(tmp_path / "jupyter"))
    monkeypatch.setenv("JUPYTER_PLATFORM_DIRS", "1")
    return KERNEL


@pytest.mark.parametrize("path", PATHS, ids=[p.stem for p in PATHS])
def test_re_executing_gives_the_stored_outputs(
    path: Path, kernel_name: str, tmp_path: Path
) -> None:
    stored = nbformat.read(path, as_version=4)
    notebook = build.build(path.stem, build.NOTEBOOKS[path.stem])
    probe = "import sys, upstack_pandas; print(sys.executable); print(upstack_pandas.__file__)"
    notebook.cells.append(nbformat.v4.new_code_cell(probe))
    run_dir = tmp_path / "run"
    run_dir.mkdir()
    build.execute(notebook, kernel_name, run_dir)  # raises CellExecutionError on any error
    executable, module = notebook.cells[-1].outputs[0]["text"].split()
    assert Path(executable) == Path(sys.executable)
    assert Path(module).parent == Path(str(upstack_pandas.__file__)).parent
    notebook.cells.pop()
    assert list(run_dir.iterdir()) == [], "notebooks must clean up the files they write"
    if PANDAS_MAJOR < 3:  # the stored outputs are pandas 3's formatting (as the README's)
        return
    got, want = build.comparable(notebook), build.comparable(stored)
    sources = [c.source for c in stored.cells if c.cell_type == "code"]
    for source, mine, theirs in zip(sources, got, want, strict=True):
        assert mine == theirs, f"outputs of {source[:60]!r} changed: rebuild and review"


def test_comparable_masks_only_what_varies_between_runs() -> None:
    cell = nbformat.v4.new_code_cell("x")
    cell.outputs = [
        nbformat.v4.new_output(
            "execute_result",
            {"text/plain": "Emulator(url='http://127.0.0.1:40123') 1,234 $10.92 at 0x7f00ab"},
        )
    ]
    other = nbformat.v4.new_code_cell("x")
    other.outputs = [
        nbformat.v4.new_output(
            "execute_result",
            {"text/plain": "Emulator(url='http://127.0.0.1:51234') 1,234 $10.92 at 0x7f11cd"},
        )
    ]
    changed = nbformat.v4.new_code_cell("x")
    changed.outputs = [
        nbformat.v4.new_output(
            "execute_result",
            {"text/plain": "Emulator(url='http://127.0.0.1:40123') 1,235 $10.92 at 0x7f00ab"},
        )
    ]

    def of(c: object) -> object:
        notebook = nbformat.v4.new_notebook()
        notebook.cells = [c]
        return build.comparable(notebook)

    assert of(cell) == of(other)
    assert of(cell) != of(changed)  # a number that moves is a difference
