"""Write the example notebooks (without outputs) from the cell lists in ``_cells.py``.

Run ``python notebooks/_build.py`` after editing ``_cells.py``; the output is reproducible
(fixed cell ids, no outputs, no execution counts), so a rebuild of unchanged cells changes no
byte. ``tests/test_notebooks.py`` executes every notebook against the embedded emulator.
"""

from __future__ import annotations

import sys
from pathlib import Path

import nbformat
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from _cells import NOTEBOOKS, Cell  # noqa: E402

METADATA = {
    "kernelspec": {"display_name": "Python 3 (ipykernel)", "language": "python", "name": "python3"},
    "language_info": {"name": "python", "pygments_lexer": "ipython3"},
}


def build(name: str, cells: list[Cell]) -> nbformat.NotebookNode:
    """Return the notebook ``name`` made of ``cells`` (``("md" | "code", source)`` pairs)."""
    notebook = new_notebook(metadata=METADATA)
    for number, (kind, source) in enumerate(cells):
        text = source.strip("\n")
        cell = new_markdown_cell(text) if kind == "md" else new_code_cell(text)
        cell.id = f"{name}-{number:02d}"
        notebook.cells.append(cell)
    nbformat.validate(notebook)
    return notebook


def main() -> int:
    """Write every notebook next to this file; print what was written."""
    for name, cells in NOTEBOOKS.items():
        path = HERE / f"{name}.ipynb"
        nbformat.write(build(name, cells), path)
        print(f"wrote {path.relative_to(HERE.parent)} ({len(cells)} cells)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
