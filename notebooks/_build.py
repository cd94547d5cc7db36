"""Write the example notebooks from ``_cells.py``, executed, with their outputs.

Run ``python notebooks/_build.py`` after editing ``_cells.py`` (or after a change that moves a
number). Every notebook starts an embedded emulator with a pinned clock and seed, so its outputs
are the same on every run; they are stored so that a code host shows the results. Fixed cell
ids, no execution timestamps. ``tests/test_notebooks.py`` re-executes every notebook and
compares its outputs with the stored ones through :func:`comparable` (numbers and shapes as
text, images by pixel size).

``--no-execute`` writes the cells without outputs (for a quick look at a cell edit).
"""

from __future__ import annotations

import base64
import json
import os
import re
import struct
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import nbformat
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from _cells import NOTEBOOKS, Cell  # noqa: E402

METADATA = {
    "kernelspec": {"display_name": "Python 3 (ipykernel)", "language": "python", "name": "python3"},
    "language_info": {"name": "python", "pygments_lexer": "ipython3"},
}
KERNEL = "upstack-pandas-notebooks"
CELL_TIMEOUT = 300

# What legitimately differs between two runs: the emulator's port, ids the emulator draws at
# random (dashboard views), object addresses, a Styler's random table id, wall-clock times.
_VOLATILE = [
    (re.compile(r"127\.0\.0\.1:\d+"), "127.0.0.1:PORT"),
    (re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"), "UUID"),
    (re.compile(r"\bat 0x[0-9a-f]+"), "at 0xADDR"),
    (re.compile(r"\bT_[0-9a-f]{5}"), "T_STYLER"),
    (re.compile(r"\b\d\.\d+ s\b"), "N s"),
    # wall-clock instants (a view's createdAt/updatedAt); bucket starts at midnight stay compared
    (
        re.compile(
            r"\d{4}-\d{2}-\d{2}[ T](?!00:00:00)\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:?\d{2})?"
        ),
        "INSTANT",
    ),
]


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


@contextmanager
def kernel_spec() -> Iterator[str]:
    """A kernelspec running this interpreter (so this checkout's package), for the run only."""
    with tempfile.TemporaryDirectory() as tmp:
        spec_dir = Path(tmp) / "kernels" / KERNEL
        spec_dir.mkdir(parents=True)
        spec = {
            "argv": [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"],
            "display_name": f"Python ({sys.executable})",
            "language": "python",
            "env": {
                "PYTHONPATH": str(HERE.parent),
                "MPLBACKEND": "module://matplotlib_inline.backend_inline",
            },
        }
        (spec_dir / "kernel.json").write_text(json.dumps(spec))
        saved = {key: os.environ.get(key) for key in ("JUPYTER_PATH", "JUPYTER_PLATFORM_DIRS")}
        os.environ["JUPYTER_PATH"] = tmp
        os.environ["JUPYTER_PLATFORM_DIRS"] = "1"
        try:
            yield KERNEL
        finally:
            for key, value in saved.items():
                if value is None:
                    os.environ.pop(key, None)
                else:
                    os.environ[key] = value


def execute(notebook: nbformat.NotebookNode, kernel: str, run_dir: Path) -> nbformat.NotebookNode:
    """Run ``notebook`` in ``run_dir`` and return it with outputs, minus run timestamps."""
    import nbclient

    client = nbclient.NotebookClient(
        notebook,
        kernel_name=kernel,
        timeout=CELL_TIMEOUT,
        resources={"metadata": {"path": str(run_dir)}},
        record_timing=False,
    )
    client.execute()
    notebook.metadata = dict(METADATA)  # not the test kernel's name
    for cell in notebook.cells:
        cell.metadata.pop("execution", None)
    return notebook


def _png_size(data: str) -> tuple[int, int]:
    raw = base64.b64decode(data)
    width, height = struct.unpack(">II", raw[16:24])  # the IHDR chunk
    return int(width), int(height)


def _text(value: Any) -> str:
    text = "".join(value) if isinstance(value, list) else str(value)
    for pattern, replacement in _VOLATILE:
        text = pattern.sub(replacement, text)
    return text


def comparable(notebook: nbformat.NotebookNode) -> list[list[dict[str, Any]]]:
    """Per code cell, its outputs as what must match between runs.

    Text (streams, ``text/plain``, ``text/html``, errors) is compared whole after masking
    :data:`_VOLATILE`, so every number and shape shown must be the same; a PNG compares by its
    pixel size (renderers differ in bytes, not in layout).
    """
    cells = []
    for cell in notebook.cells:
        if cell.cell_type != "code":
            continue
        outputs = []
        for output in cell.outputs:
            kind = output["output_type"]
            if kind == "stream":
                outputs.append({"stream": output["name"], "text": _text(output["text"])})
            elif kind in ("execute_result", "display_data"):
                data = {}
                for mime, value in output["data"].items():
                    data[mime] = _png_size(value) if mime == "image/png" else _text(value)
                outputs.append({"kind": kind, "data": data})
            else:
                outputs.append({"kind": kind, "text": _text(output.get("traceback", ""))})
        cells.append(outputs)
    return cells


def main(argv: list[str] | None = None) -> int:
    """Write every notebook next to this file (executed unless ``--no-execute``)."""
    args = sys.argv[1:] if argv is None else argv
    run = "--no-execute" not in args
    with kernel_spec() as kernel, tempfile.TemporaryDirectory() as run_dir:
        for name, cells in NOTEBOOKS.items():
            notebook = build(name, cells)
            if run:
                notebook = execute(notebook, kernel, Path(run_dir))
            path = HERE / f"{name}.ipynb"
            nbformat.write(notebook, path)
            state = "executed" if run else "not executed"
            print(f"wrote {path.relative_to(HERE.parent)} ({len(cells)} cells, {state})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
