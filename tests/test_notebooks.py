"""Every notebook in notebooks/ runs top to bottom (nbclient) on the interpreter running the tests.

The kernel is a kernelspec written under ``tmp_path`` whose argv starts with ``sys.executable``
and found through ``JUPYTER_PATH``, so the notebooks import this checkout's ``upstack_pandas``
whatever ``python`` on ``PATH`` is and whatever kernelspecs are installed. Each notebook runs
in a temporary working directory and starts (and stops) its own embedded emulator; the
committed files must carry no outputs.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

import upstack_pandas

nbformat = pytest.importorskip("nbformat")
nbclient = pytest.importorskip("nbclient")

NOTEBOOKS = Path(__file__).resolve().parent.parent / "notebooks"
PATHS = sorted(NOTEBOOKS.glob("*.ipynb"))
KERNEL = "upstack-pandas-tests"
CELL_TIMEOUT = 300

pytestmark = pytest.mark.slow


def test_the_four_notebooks_exist() -> None:
    names = {path.stem for path in PATHS}
    assert {"quickstart", "attribution", "cohorts", "dashboards"} <= names


@pytest.mark.parametrize("path", PATHS, ids=[p.stem for p in PATHS])
def test_notebook_is_committed_without_outputs(path: Path) -> None:
    notebook = nbformat.read(path, as_version=4)
    nbformat.validate(notebook)
    for cell in notebook.cells:
        if cell.cell_type == "code":
            assert cell.outputs == [] and cell.execution_count is None, cell.source[:60]


@pytest.fixture
def kernel_name(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    """Register a kernelspec running this interpreter, visible only to this test."""
    spec_dir = tmp_path / "jupyter" / "kernels" / KERNEL
    spec_dir.mkdir(parents=True)
    spec = {
        "argv": [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"],
        "display_name": f"Python ({sys.executable})",
        "language": "python",
    }
    (spec_dir / "kernel.json").write_text(json.dumps(spec))
    monkeypatch.setenv("JUPYTER_PATH", str(tmp_path / "jupyter"))
    monkeypatch.setenv("JUPYTER_PLATFORM_DIRS", "1")
    return KERNEL


@pytest.mark.parametrize("path", PATHS, ids=[p.stem for p in PATHS])
def test_notebook_runs_top_to_bottom(path: Path, kernel_name: str, tmp_path: Path) -> None:
    notebook = nbformat.read(path, as_version=4)
    probe = "import sys, upstack_pandas; print(sys.executable); print(upstack_pandas.__file__)"
    notebook.cells.append(nbformat.v4.new_code_cell(probe))
    run_dir = tmp_path / "run"
    run_dir.mkdir()
    client = nbclient.NotebookClient(
        notebook,
        kernel_name=kernel_name,
        timeout=CELL_TIMEOUT,
        resources={"metadata": {"path": str(run_dir)}},
    )
    client.execute()  # raises CellExecutionError, with the cell and traceback, on any error
    code_cells = [cell for cell in notebook.cells if cell.cell_type == "code"]
    assert all(cell.execution_count for cell in code_cells)
    executable, module = code_cells[-1].outputs[0]["text"].split()
    assert Path(executable) == Path(sys.executable)
    assert Path(module).parent == Path(str(upstack_pandas.__file__)).parent
    assert list(run_dir.iterdir()) == [], "notebooks must clean up the files they write"
