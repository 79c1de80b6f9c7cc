"""Fixtures of the reports tests: the hand-made history of ``test_reach.py`` (its docstring
tells it), for every test of the package."""

from tests.reports.test_reach import history  # noqa: F401
