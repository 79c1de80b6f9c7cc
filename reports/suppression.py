"""Small-cell suppression: no breakdown that could point at a person shows a small count.

A row of a breakdown by organisation, province, gender identity or age band is hidden when
it counts fewer than ``min_cell`` registrations or people (``SALA_REPORT_MIN_CELL``, default
5; a row of attendances but nobody who came, 0 people, is not small). Hiding one row is not
enough: registrations and attendances add up to the total, so the total minus the rows shown
would give the hidden row back. When exactly one row is hidden, the smallest row shown is
hidden too (secondary suppression); two or more hidden rows give away only their sum.
"""

from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from reports.services import Figures, Row


def is_small(figures: Figures, min_cell: int) -> bool:
    return figures.registrations < min_cell or 0 < figures.people < min_cell


def suppress(rows: list[Row], *, min_cell: int) -> list[Row]:
    """The rows with small ones (and one more if needed) hidden; the order is kept."""
    hidden = {n for n, row in enumerate(rows) if row.figures and is_small(row.figures, min_cell)}
    if len(hidden) == 1:
        shown = [n for n, row in enumerate(rows) if n not in hidden and row.figures]
        if shown:
            smallest = min(shown, key=lambda n: _size(rows[n]))
            hidden.add(smallest)
    return [replace(row, figures=None) if n in hidden else row for n, row in enumerate(rows)]


def _size(row: Row) -> tuple[int, int, int]:
    assert row.figures is not None
    return (row.figures.registrations, row.figures.attendances, row.figures.people)
