"""The API reference (docs/api.md) shows every public name with its docstring, and no private module.

mkdocstrings renders what griffe finds by reading the source, not what Python sees at run time:
a docstring assigned after the ``def`` (``f.__doc__ = ...``) is invisible to it, and a
submodule named like a function it re-exports hides the function. So these tests ask griffe.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import griffe
import pytest

import upstack_pandas as up

ROOT = Path(__file__).resolve().parents[1]
API_MD = ROOT / "docs" / "api.md"

# "upstack_pandas._x", "upstack_pandas.cache._x", or a backticked "`_x.y`"
PRIVATE_REFERENCE = re.compile(r"upstack_pandas(?:\.\w+)*\._[a-z]\w*|`_[a-z]\w*\.\w")
DIRECTIVE = re.compile(r"^::: *(\S+) *$", re.MULTILINE)
MEMBER_ITEM = re.compile(r"^ {8}- (\S+) *$", re.MULTILINE)


def _is_private(path: str) -> bool:
    return any(p.startswith("_") and not p.endswith("__") for p in path.split("."))


def _directives() -> dict[str, list[str] | None]:
    """Each ``::: path`` of api.md, with its ``members:`` list (``None``: the default members)."""
    text = API_MD.read_text(encoding="utf-8")
    found: dict[str, list[str] | None] = {}
    matches = list(DIRECTIVE.finditer(text))
    for match, following in zip(matches, [*matches[1:], None], strict=True):
        block = text[match.end() : following.start() if following else len(text)]
        members = MEMBER_ITEM.findall(block) if "members:" in block else None
        found[match.group(1)] = members
    return found


DIRECTIVES = _directives()


@pytest.fixture(scope="module")
def package() -> Any:
    return griffe.load(
        "upstack_pandas",
        search_paths=[str(ROOT)],
        docstring_parser="numpy",
        resolve_aliases=True,
        resolve_external=False,
    )


def _target(package: Any, path: str) -> Any:
    obj = package[path.removeprefix("upstack_pandas.")]
    return obj.final_target if obj.is_alias else obj


def _docstring(obj: Any) -> str:
    return obj.docstring.value.strip() if obj.docstring is not None else ""


def _rendered(package: Any) -> list[tuple[str, Any]]:
    """Every object the reference renders: each directive, plus the members it lists."""
    objects = []
    for path, members in DIRECTIVES.items():
        obj = _target(package, path)
        objects.append((path, obj))
        if obj.is_module:
            names = members if members is not None else list(obj.exports or [])
        else:  # methods and properties; fields are described in the class docstring
            names = [
                name
                for name, member in obj.members.items()
                if not name.startswith("_") and not member.is_alias and member.is_function
            ]
        objects += [(f"{path}.{name}", _target(package, f"{path}.{name}")) for name in names]
    return objects


def test_the_reference_points_at_public_names_only() -> None:
    assert len(DIRECTIVES) >= len(up.__all__)
    private = [path for path in DIRECTIVES if _is_private(path)]
    assert private == []
    for path, members in DIRECTIVES.items():
        assert path.startswith("upstack_pandas."), path
        assert not any(_is_private(name) for name in members or []), (path, members)


@pytest.mark.parametrize("name", sorted(up.__all__))
def test_every_public_name_is_in_the_reference(name: str) -> None:
    assert f"upstack_pandas.{name}" in DIRECTIVES, f"add '::: upstack_pandas.{name}' to docs/api.md"


@pytest.mark.parametrize("name", sorted(up.__all__))
def test_every_public_name_has_a_docstring_griffe_sees(package: Any, name: str) -> None:
    obj = package[name]
    target = obj.final_target if obj.is_alias else obj
    # ``up.<name>`` is what the reader asked for: not a module that shadows a function
    runtime = getattr(up, name)
    if callable(runtime):
        assert target.kind.value in {"function", "class"}, (name, target.kind, target.path)
    assert _docstring(target), f"{name} ({target.path}) has no docstring griffe can see"


def test_every_rendered_object_is_documented(package: Any) -> None:
    undocumented = [path for path, obj in _rendered(package) if not _docstring(obj)]
    assert undocumented == []


def test_rendered_docstrings_never_send_users_into_private_modules(package: Any) -> None:
    offending = {
        path: PRIVATE_REFERENCE.findall(_docstring(obj))
        for path, obj in _rendered(package)
        if PRIVATE_REFERENCE.search(_docstring(obj))
    }
    assert offending == {}


def test_dashboard_members_listed_are_the_modules_public_names() -> None:
    import upstack_pandas.dashboards as dashboards

    assert set(DIRECTIVES["upstack_pandas.dashboards"] or []) == set(dashboards.__all__) - {
        "DashboardView"  # rendered on its own, as upstack_pandas.DashboardView
    }


def _user_pages() -> list[Any]:
    pages = sorted(p for p in (ROOT / "docs").glob("*.md") if p.name != "architecture.md")
    pages += [ROOT / "README.md", ROOT / "notebooks" / "_cells.py"]
    return [pytest.param(page, id=page.relative_to(ROOT).as_posix()) for page in pages]


@pytest.mark.parametrize("page", _user_pages())
def test_user_docs_never_send_users_into_private_modules(page: Path) -> None:
    """docs/architecture.md is for maintainers; every other page names public API only."""
    found = [
        f"{number}: {match}"
        for number, line in enumerate(page.read_text(encoding="utf-8").splitlines(), start=1)
        for match in PRIVATE_REFERENCE.findall(line)
    ]
    assert found == []
