"""docs/ARCHITECTURE.md stays true: every module of every package is named on the page, and
every error class in its error tree. (A page that lags behind the folders misleads the next
person more than no page.)"""

from __future__ import annotations

import importlib
import re
from pathlib import Path

import pytest

import sala.app  # noqa: F401 - imports every package, so every error class exists
from sala.errors import SalaError
from tests.packages import PACKAGES, PYPROJECT

ROOT = Path(__file__).resolve().parents[2]
DOC = (ROOT / "docs" / "ARCHITECTURE.md").read_text()


def _sections() -> dict[str, str]:
    """Each ``## `` section of the page by its heading."""
    parts = re.split(r"^## ", DOC, flags=re.MULTILINE)
    return {part.splitlines()[0]: part for part in parts[1:]}


def _modules() -> list[Path]:
    found = []
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            if "migrations" in path.parts or path.name in ("__init__.py", "__main__.py"):
                continue
            found.append(path.relative_to(ROOT))
    return found


@pytest.mark.parametrize("module", _modules(), ids=str)
def test_every_module_is_on_the_page(module: Path) -> None:
    folder = f"{module.parent.as_posix()}/"
    own_sections = [text for heading, text in _sections().items() if f"`{folder}`" in heading]
    named = module.as_posix() in DOC or any(f"`{module.name}`" in s for s in own_sections)
    assert named, f"{module} is not named in docs/ARCHITECTURE.md (its section: `{folder}`)"


def test_mypy_checks_every_package_the_wheel_ships() -> None:
    assert tuple(PYPROJECT["tool"]["mypy"]["packages"]) == PACKAGES


def test_the_layout_table_names_every_package_folder() -> None:
    layout = _sections()["Layout"]
    for package in PACKAGES:
        assert (ROOT / package / "__init__.py").exists()
        assert f"| `{package}/` |" in layout, package


def _error_classes() -> set[type[SalaError]]:
    found: set[type[SalaError]] = set()
    todo = [SalaError]
    while todo:
        for child in todo.pop().__subclasses__():
            if child.__module__.split(".")[0] in PACKAGES and child not in found:
                found.add(child)
                todo.append(child)
    return found


def test_the_error_tree_names_every_error_class() -> None:
    tree = _sections()["Errors"]
    missing = sorted(c.__name__ for c in _error_classes() if c.__name__ not in tree)
    assert not missing, f"add to the error tree of docs/ARCHITECTURE.md: {missing}"
    for error in _error_classes():
        assert (error.__doc__ and error.__doc__ != SalaError.__doc__) or error.__dict__.get(
            "__doc__"
        ), f"{error.__name__} has no docstring"


def test_each_error_module_is_imported() -> None:
    for package in PACKAGES:
        if (ROOT / package / "errors.py").exists():
            importlib.import_module(f"{package}.errors")
