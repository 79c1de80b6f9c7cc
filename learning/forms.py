"""The staff forms of the question bank, read into typed inputs with a message per field.

A question's form has its kind, its text in Khmer and English (either may be empty, not both)
and ``MAX_CHOICES`` rows of choices (``choice_km_<n>``, ``choice_en_<n>``, a ``correct``
checkbox per row whose value is the row's number). Rows left empty are left out, so a question
with three choices sends three filled rows and five empty ones. A single-answer question has
exactly one correct choice, a several-answers question at least one; the browser cannot
switch between radio buttons and checkboxes without JavaScript, so both kinds use checkboxes
and the rule is checked here.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from learning.models import CHOICE_MAX, NAME_MAX, TEXT_MAX, QuestionKind
from sala.forms import FieldReader
from sala.i18n import N_

MIN_CHOICES = 2
MAX_CHOICES = 8
CHOICE_ROWS = tuple(range(1, MAX_CHOICES + 1))

BOTH_EMPTY = N_("Write it in Khmer, in English or in both.")


@dataclass(frozen=True)
class ChoiceInput:
    text_km: str
    text_en: str
    correct: bool


@dataclass(frozen=True)
class QuestionInput:
    kind: QuestionKind
    text_km: str
    text_en: str
    choices: tuple[ChoiceInput, ...]


@dataclass(frozen=True)
class NamesInput:
    """A bilingual name or text: a test's name, a feedback question."""

    km: str
    en: str


def _correct_rows(raw: Mapping[str, Any]) -> set[str]:
    """The row numbers ticked as correct: a form's repeated field, or a JSON list."""
    value = raw.get("correct")
    if value is None:
        return set()
    items = value if isinstance(value, list | tuple) else [value]
    return {str(item) for item in items}


def parse_question(raw: Mapping[str, Any]) -> tuple[QuestionInput | None, dict[str, str]]:
    """The question typed, or None and a message id per wrong field (every one at once)."""
    reader = FieldReader(raw)
    kind = QuestionKind(reader.choice("kind", tuple(k.value for k in QuestionKind)))
    text_km = reader.text("text_km", max_length=TEXT_MAX, multiline=True)
    text_en = reader.text("text_en", max_length=TEXT_MAX, multiline=True)
    if not text_km and not text_en and not {"text_km", "text_en"} & reader.errors.keys():
        reader.fail("text_km", BOTH_EMPTY)
    ticked = _correct_rows(raw)
    if ticked - {str(row) for row in CHOICE_ROWS}:
        reader.fail("choices", N_("Choose from the list."))
    choices = []
    for row in CHOICE_ROWS:
        km = reader.text(f"choice_km_{row}", max_length=CHOICE_MAX)
        en = reader.text(f"choice_en_{row}", max_length=CHOICE_MAX)
        correct = str(row) in ticked
        if km or en:
            choices.append(ChoiceInput(text_km=km, text_en=en, correct=correct))
        elif correct and not {f"choice_km_{row}", f"choice_en_{row}"} & reader.errors.keys():
            reader.fail(f"choice_km_{row}", N_("A choice marked correct needs its words."))
    if len(choices) < MIN_CHOICES:
        reader.fail("choices", N_("Give at least two choices."))
    right = sum(choice.correct for choice in choices)
    if kind is QuestionKind.SINGLE and right != 1:
        reader.fail(
            "choices",
            N_("Mark exactly one choice as correct, or make it a question with several answers."),
        )
    elif kind is QuestionKind.MULTIPLE and right < 1:
        reader.fail("choices", N_("Mark at least one choice as correct."))
    if reader.errors:
        return None, reader.errors
    return QuestionInput(kind, text_km, text_en, tuple(choices)), {}


def parse_names(
    raw: Mapping[str, Any], *, km: str = "name_km", en: str = "name_en", max_length: int = NAME_MAX
) -> tuple[NamesInput | None, dict[str, str]]:
    """A Khmer and an English text of which at least one is given."""
    reader = FieldReader(raw)
    text_km = reader.text(km, max_length=max_length)
    text_en = reader.text(en, max_length=max_length)
    if not text_km and not text_en and not reader.errors:
        reader.fail(km, BOTH_EMPTY)
    if reader.errors:
        return None, reader.errors
    return NamesInput(km=text_km, en=text_en), {}


def parse_feedback_question(raw: Mapping[str, Any]) -> tuple[NamesInput | None, dict[str, str]]:
    return parse_names(raw, km="text_km", en="text_en", max_length=CHOICE_MAX)


def question_values(raw: Mapping[str, Any]) -> dict[str, Any]:
    """What was typed, to show again on the form: texts, and the rows ticked as correct."""
    values: dict[str, Any] = {
        name: str(value) for name, value in raw.items() if isinstance(value, str)
    }
    values["correct"] = _correct_rows(raw)
    return values
