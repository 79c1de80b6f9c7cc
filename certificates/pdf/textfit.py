"""Fitting a text into a box: shrink it, then wrap it, never let it out.

A name on a certificate can be 120 characters, mix Khmer and Latin, or carry emoji. The rule,
in order: one line at the largest size down to ``wrap_below``; then up to ``max_lines``
balanced lines (the widest line as short as it can be) at up to ``wrap_below``, shrinking to
``min_size``; last, at ``min_size``, lines broken between grapheme clusters and the end cut
with an ellipsis. Lines break at spaces and zero-width spaces (how Khmer marks word
boundaries), and a Khmer cluster (a consonant with its subscripts and vowel signs) is never
split.

Widths come from fpdf2 with text shaping on, so they are the widths HarfBuzz will draw.
A width is linear in the font size, so each piece is measured once, at one size.
"""

from __future__ import annotations

import math
import re
import threading
import unicodedata
from collections import OrderedDict
from dataclasses import dataclass
from functools import cache
from itertools import pairwise

from fpdf import FPDF

from certificates.pdf.fonts import LATIN, printable

_REFERENCE_SIZE = 10.0
_CACHE_SIZE = 20_000
_STEP = 0.5  # font sizes are multiples of half a point
_BREAKS = re.compile(r"[ \u200b]")
_COENG = "\u17d2"
_JOINERS = {"\u200c", "\u200d"}
ELLIPSIS = "…"


@dataclass(frozen=True)
class FittedText:
    """How a text is set: font size in points, its lines, and the widest line in mm."""

    size: float
    lines: tuple[str, ...]
    width: float


def fit_text(
    pdf: FPDF,
    text: str,
    *,
    width: float,
    max_size: float,
    min_size: float,
    wrap_below: float | None = None,
    max_lines: int = 1,
    style: str = "",
) -> FittedText:
    """Set ``text`` (printable characters only) in a box ``width`` mm wide."""
    text = printable(text)
    wrap_below = max_size if wrap_below is None else wrap_below
    measure = _Measure(pdf, style)
    if not text:
        return FittedText(max_size, (), 0.0)

    one_line = measure(text)
    size = _size_for(width, one_line, cap=max_size)
    if size >= wrap_below or (max_lines == 1 and size >= min_size):
        return FittedText(size, (text,), one_line * size)

    words = _Words(text)
    for count in range(2, min(max_lines, len(words)) + 1):
        lines, widest = _balanced(words, count, measure)
        size = _size_for(width, widest, cap=min(wrap_below, max_size))
        if size >= min_size:
            return FittedText(size, lines, widest * size)

    lines = _cut(text, width / min_size, max_lines, measure)
    return FittedText(min_size, lines, max(measure(line) for line in lines) * min_size)


class _Measure:
    """Width in mm at 1 pt of a text in the Latin family (Khmer by fallback).

    Widths depend only on the fonts, so they are kept for the process (least recently used
    dropped): most texts of a batch (headings, wording, labels) are the same on every page.
    """

    _lock = threading.Lock()
    _widths: OrderedDict[tuple[str, str], float] = OrderedDict()

    def __init__(self, pdf: FPDF, style: str) -> None:
        self._pdf = pdf
        self._style = style

    def __call__(self, text: str) -> float:
        key = (self._style, text)
        with self._lock:
            width = self._widths.get(key)
            if width is not None:
                self._widths.move_to_end(key)
                return width
        self._pdf.set_font(LATIN, self._style, _REFERENCE_SIZE)
        width = self._pdf.get_string_width(text) / _REFERENCE_SIZE
        with self._lock:
            self._widths[key] = width
            if len(self._widths) > _CACHE_SIZE:
                self._widths.popitem(last=False)
        return width


def _size_for(width: float, width_at_1pt: float, *, cap: float) -> float:
    if width_at_1pt <= 0:
        return cap
    return min(cap, math.floor(width / width_at_1pt / _STEP) * _STEP)


class _Words:
    """A text's words and what separated them (a space, or a zero-width space kept as is)."""

    def __init__(self, text: str) -> None:
        self._words = _BREAKS.split(text)
        self._separators = _BREAKS.findall(text)

    def __len__(self) -> int:
        return len(self._words)

    def join(self, start: int, end: int) -> str:
        """Words ``start`` to ``end`` (excluded) as one line."""
        inner = (self._words[i] + self._separators[i] for i in range(start, end - 1))
        return "".join(inner) + self._words[end - 1]


def _balanced(words: _Words, count: int, measure: _Measure) -> tuple[tuple[str, ...], float]:
    """``words`` in ``count`` lines whose widest is as narrow as possible (exhaustive DP)."""

    @cache
    def best(start: int, lines_left: int) -> tuple[float, tuple[int, ...]]:
        if lines_left == 1:
            return measure(words.join(start, len(words))), ()
        result: tuple[float, tuple[int, ...]] = (math.inf, ())
        for end in range(start + 1, len(words) - lines_left + 2):
            head = measure(words.join(start, end))
            if head >= result[0]:
                break  # longer first lines only get wider
            rest, cuts = best(end, lines_left - 1)
            result = min(result, (max(head, rest), (end, *cuts)))
        return result

    widest, cuts = best(0, count)
    bounds = (0, *cuts, len(words))
    lines = tuple(words.join(a, b) for a, b in pairwise(bounds))
    return lines, widest


def _cut(text: str, room: float, max_lines: int, measure: _Measure) -> tuple[str, ...]:
    """Greedy lines of at most ``room`` (width at 1 pt), broken between clusters; the last
    line that fits ends in an ellipsis when text is left over."""
    lines: list[str] = []
    line = ""
    for cluster in clusters(text):
        if not line and cluster == " ":
            continue
        if not line or measure(line + cluster) <= room:
            line += cluster
            continue
        lines.append(line.rstrip())
        line = "" if cluster == " " else cluster
        if len(lines) == max_lines:
            break
    else:
        lines.append(line.rstrip())
        return tuple(lines)
    last = lines[-1]
    while last and measure(last + ELLIPSIS) > room:
        last = "".join(clusters(last)[:-1]).rstrip()
    lines[-1] = last + ELLIPSIS
    return tuple(lines)


def clusters(text: str) -> list[str]:
    """``text`` cut where a line may break inside a word: never before a combining mark or
    joiner, nor after a Khmer coeng (its consonant is a subscript of the one before)."""
    result: list[str] = []
    for char in text:
        joins = result and (
            unicodedata.category(char) in ("Mn", "Mc", "Me")
            or char in _JOINERS
            or result[-1][-1] in _JOINERS
            or result[-1].endswith(_COENG)
        )
        if joins:
            result[-1] += char
        else:
            result.append(char)
    return result
