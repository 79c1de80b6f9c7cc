"""The project's packages, as the wheel ships them (pyproject.toml): the one list the
tests that walk the source (docs, hand-written SQL, mail kinds) go through."""

from __future__ import annotations

import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())
PACKAGES: tuple[str, ...] = tuple(
    PYPROJECT["tool"]["hatch"]["build"]["targets"]["wheel"]["packages"]
)
