"""Every ```python block of README.md and docs/*.md runs, against the session's emulator.

The blocks of one page run in order in one namespace, like the cells of a notebook, in a
temporary working directory (files they write land in ``tmp_path``) with credentials pointing
at the ``emulator`` fixture, a private config file and cache, the Agg backend, and the
library's default client reset before and after. A block written as a doctest (``>>>``
prompts) must also print what it shows.

Markers, an HTML comment on the last non-blank line before a block (invisible on the site):

- ``<!-- docs-test: skip (why) -->``: do not run the block (real credentials, the live API...).
  Skips are counted and kept rare: prefer making an example runnable.
- ``<!-- docs-test: setup: CODE -->``: run the Python statement ``CODE`` in the page's
  namespace first, for a block that continues a step the page shows in a console block (the
  file a command wrote, say).

Console, text and JSON blocks are not executed.
"""

from __future__ import annotations

import contextlib
import doctest
import io
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd
import pytest

from upstack_pandas.dashboards import Dashboards

if TYPE_CHECKING:
    from upstack_pandas.emulator.http.server import Emulator

ROOT = Path(__file__).resolve().parents[1]
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
MAX_SKIPS = 3  # across all pages

_FENCE = re.compile(r"^```(?P<lang>[\w+-]*)[^\n]*\n(?P<code>.*?)^```[ \t]*$", re.S | re.M)
_MARKER = re.compile(r"<!--\s*docs-test:\s*(?P<kind>skip|setup)\b:?\s*(?P<arg>.*?)\s*-->\s*$", re.S)
_ANY_MARKER = re.compile(r"<!--\s*docs-test\b")


@dataclass(frozen=True)
class Block:
    """One fenced ```python block of a page."""

    page: str
    line: int
    code: str
    skip: str | None = None  # the reason, when marked skip
    setup: str | None = None  # a statement to run first


def _marker(before: str) -> re.Match[str] | None:
    """The docs-test marker on the last non-blank line of ``before``, if any."""
    lines = before.rstrip().splitlines()
    return _MARKER.search(lines[-1]) if lines else None


def page_blocks(path: Path) -> list[Block]:
    """The page's ```python blocks, in order, with their markers."""
    text = path.read_text(encoding="utf-8")
    blocks = []
    for fence in _FENCE.finditer(text):
        if fence["lang"] != "python":
            continue
        line = text.count("\n", 0, fence.start()) + 1
        marker = _marker(text[: fence.start()])
        kind, arg = (marker["kind"], marker["arg"]) if marker else (None, None)
        if kind == "skip":
            assert arg and arg.startswith("(") and arg.endswith(")"), (
                f"{path.name}:{line}: a skip marker needs a reason: "
                "<!-- docs-test: skip (needs real credentials) -->"
            )
        blocks.append(
            Block(
                page=path.name,
                line=line,
                code=fence["code"],
                skip=arg[1:-1] if kind == "skip" and arg else None,
                setup=arg if kind == "setup" else None,
            )
        )
    return blocks


def _is_doctest(code: str) -> bool:
    return code.lstrip().startswith(">>>")


@contextlib.contextmanager
def _docs_environment(
    emulator: Emulator, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[None]:
    """Credentials of the emulator, private files, Agg, a fresh default client, no leftovers."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    import upstack_pandas as up

    config = tmp_path / "upstackrc"
    config.write_text("[default]\n", encoding="utf-8")
    work = tmp_path / "work"
    work.mkdir()
    for name in ("UPSTACK_PROFILE", "UPSTACK_PANDAS_PROGRESS"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("UPSTACK_API_KEY", emulator.api_key)
    monkeypatch.setenv("UPSTACK_PIXEL_ID", emulator.pixel_id)
    monkeypatch.setenv("UPSTACK_BASE_URL", emulator.url)
    monkeypatch.setenv("UPSTACK_CONFIG", str(config))
    monkeypatch.setenv("UPSTACK_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.setenv("MPLBACKEND", "Agg")
    monkeypatch.chdir(work)

    admin = emulator.client(cache=False)
    views_before = set(Dashboards(admin).list().index)
    up.set_default_client(None)
    try:
        with pd.option_context(
            "display.width", 80, "display.max_columns", 20, "display.max_rows", 60
        ):
            yield
    finally:
        with contextlib.suppress(Exception):
            up.get_default_client().close()
        up.set_default_client(None)
        plt.close("all")
        emulator.clear_faults()
        for view_id in set(Dashboards(admin).list().index) - views_before:
            Dashboards(admin).delete(view_id)
        admin.close()


def _run_block(block: Block, namespace: dict[str, Any]) -> str:
    """Run one block in ``namespace``; return what it printed. Doctests must match."""
    where = f"{block.page}:{block.line}"
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        if block.setup:
            exec(compile(block.setup, f"{where} (setup)", "exec"), namespace)
        if _is_doctest(block.code):
            test = doctest.DocTestParser().get_doctest(block.code, namespace, where, where, 0)
            report = io.StringIO()
            runner = doctest.DocTestRunner(
                optionflags=doctest.NORMALIZE_WHITESPACE | doctest.ELLIPSIS
            )
            runner.run(test, out=report.write, clear_globs=False)
            assert not runner.failures, f"{where}: the output shown is not what it prints\n" + (
                report.getvalue()
            )
        else:
            exec(compile(block.code, where, "exec"), namespace)
    return out.getvalue()


EXAMPLE_PAGES = [page for page in PAGES if page_blocks(page)]


@pytest.mark.parametrize("page", EXAMPLE_PAGES, ids=[page.name for page in EXAMPLE_PAGES])
def test_page_examples_run(
    page: Path,
    emulator: Emulator,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    record_property: Any,
) -> None:
    blocks = page_blocks(page)
    ran = skipped = 0
    namespace: dict[str, Any] = {"__name__": "__main__"}
    with _docs_environment(emulator, tmp_path, monkeypatch):
        for block in blocks:
            if block.skip is not None:
                skipped += 1
                continue
            _run_block(block, namespace)
            ran += 1
    record_property("blocks_run", ran)
    record_property("blocks_skipped", skipped)
    assert ran, f"{page.name}: every example is skipped"


def test_markers_are_attached_to_python_blocks_and_skips_are_rare() -> None:
    skips = []
    for page in PAGES:
        text = page.read_text(encoding="utf-8")
        blocks = page_blocks(page)
        marked = sum(1 for b in blocks if b.skip is not None or b.setup is not None)
        assert len(_ANY_MARKER.findall(text)) == marked, (
            f"{page.name}: a docs-test marker is malformed or not right before a ```python block"
        )
        skips += [f"{b.page}:{b.line} ({b.skip})" for b in blocks if b.skip is not None]
    assert len(skips) <= MAX_SKIPS, f"too many skipped doc examples: {skips}"


def test_the_extractor_sees_markers_and_doctests(tmp_path: Path) -> None:
    page = tmp_path / "page.md"
    page.write_text(
        "```python\nx = 1\n```\n\n<!-- docs-test: skip (needs real credentials) -->\n"
        "```python\nup.Client()\n```\n\n```console\n$ ls\n```\n"
        "<!-- docs-test: setup: y = 2 -->\n\n```python\n>>> x + y\n3\n```\n",
        encoding="utf-8",
    )
    first, second, third = page_blocks(page)
    assert (first.code, first.skip, first.setup) == ("x = 1\n", None, None)
    assert second.skip == "needs real credentials"
    assert third.setup == "y = 2" and _is_doctest(third.code)
    namespace: dict[str, Any] = {}
    _run_block(first, namespace)
    _run_block(third, namespace)
    with pytest.raises(AssertionError, match="not what it prints"):
        _run_block(Block("page.md", 9, ">>> x\n2\n"), namespace)
