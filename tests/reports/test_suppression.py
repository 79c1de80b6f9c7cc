"""Small-cell suppression on its own: the small rows, the subtraction case, organisations."""

from __future__ import annotations

from reports.services import (
    HIDDEN_ORGANISATIONS,
    Figures,
    Row,
    _hidden_organisations_together,
)
from reports.suppression import suppress


def _row(key: str, registrations: int, attendances: int, people: int) -> Row:
    return Row(key, key or "Not given", Figures(registrations, attendances, people))


def _hidden(rows: list[Row]) -> list[str]:
    return [row.key for row in rows if row.suppressed]


def test_rows_under_the_minimum_are_hidden_and_big_ones_shown() -> None:
    rows = [_row("phnom_penh", 12, 9, 8), _row("kep", 3, 2, 2), _row("kandal", 4, 1, 1)]
    assert _hidden(suppress(rows, min_cell=5)) == ["kep", "kandal"]


def test_one_hidden_row_takes_the_smallest_other_with_it() -> None:
    """Registrations add up: with one row hidden, total − the rest would give it back."""
    rows = [
        _row("phnom_penh", 40, 30, 25),
        _row("kandal", 9, 7, 6),
        _row("siem_reap", 6, 6, 5),
        _row("kep", 2, 1, 1),
    ]
    result = suppress(rows, min_cell=5)
    assert _hidden(result) == ["siem_reap", "kep"]
    total = sum(r.figures.registrations for r in rows if r.figures)
    shown = sum(r.figures.registrations for r in result if r.figures)
    # What subtraction gives away is the two hidden rows together, never one of them.
    assert total - shown == 6 + 2


def test_few_people_even_with_many_registrations_is_small() -> None:
    rows = [_row("a", 20, 15, 12), _row("b", 10, 3, 3), _row("c", 10, 0, 0)]
    # b: 3 people came; c: nobody came (0 is not small) but 10 registered: shown.
    assert _hidden(suppress(rows, min_cell=5)) == ["b", "c"]  # c hidden as the second


def test_nothing_small_nothing_hidden_and_all_small_all_hidden() -> None:
    big = [_row("a", 5, 5, 5), _row("b", 6, 5, 5)]
    assert _hidden(suppress(big, min_cell=5)) == []
    small = [_row("a", 1, 1, 1), _row("", 2, 2, 2)]
    assert _hidden(suppress(small, min_cell=5)) == ["a", ""]


def test_hidden_organisations_lose_their_names() -> None:
    rows = suppress(
        [
            _row("university of health sciences", 30, 20, 18),
            _row("rainbow youth kampot", 2, 2, 2),
            _row("ministry of women's affairs", 3, 3, 3),
            _row("", 8, 6, 6),
        ],
        min_cell=5,
    )
    merged = _hidden_organisations_together(rows)
    assert [row.key for row in merged] == [
        "university of health sciences",
        HIDDEN_ORGANISATIONS,
        "",
    ]
    text = repr(merged)
    assert "rainbow" not in text.lower() and "ministry" not in text.lower()
