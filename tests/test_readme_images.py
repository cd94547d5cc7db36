"""The README's first screen: two pictures rendered by the docs script, above the set-up."""

from __future__ import annotations

import ast
import re
import struct
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text(encoding="utf-8")
SCRIPT = ROOT / "docs" / "_gen" / "render_images.py"


def _png_size(path: Path) -> tuple[int, int]:
    head = path.read_bytes()[:24]
    assert head[:8] == b"\x89PNG\r\n\x1a\n", f"{path} is not a PNG"
    width, height = struct.unpack(">II", head[16:24])
    return width, height


def _script_constant(name: str) -> object:
    tree = ast.parse(SCRIPT.read_text(encoding="utf-8"))
    for node in tree.body:
        target = getattr(node, "target", None) or (getattr(node, "targets", None) or [None])[0]
        if isinstance(target, ast.Name) and target.id == name and node.value is not None:
            return ast.literal_eval(node.value)
    raise AssertionError(f"{name} not found in {SCRIPT}")


def test_readme_opens_with_a_sparkline_and_a_cohort_heatmap_from_the_docs_script() -> None:
    first_screen = README.split("## Set-up", 1)[0]
    images = re.findall(r"!\[[^\]]+\]\(([^)]+)\)", first_screen)
    assert images == ["docs/img/readme_sparklines.png", "docs/img/readme_cohort_heatmap.png"]
    rendered = _script_constant("README_IMAGES")
    assert [f"docs/img/{name}.png" for name in rendered] == images  # type: ignore[union-attr]
    for image in images:
        width, height = _png_size(ROOT / image)
        assert 600 <= width <= 1400 and 150 <= height <= 700, (image, width, height)


def test_readme_images_use_the_quickstarts_clock_measures_and_range() -> None:
    quickstart = re.findall(r"```python\n(.*?)```", README, re.S)[0]
    now = _script_constant("README_NOW")
    measures = _script_constant("README_MEASURES")
    start, end = _script_constant("README_RANGE")  # type: ignore[misc]
    assert f'Emulator(now="{now}")' in quickstart
    assert str(measures).replace("'", '"') in quickstart
    assert f'"{start}", "{end}"' in quickstart
