"""The certificate's fonts: Noto Sans and Noto Sans Khmer, from the project's own packages.

Both PyPI packages (``fontpkg-noto-sans``, ``fontpkg-noto-sans-khmer``) ship *variable* fonts.
A PDF embeds static outlines, so each weight the certificate uses is instantiated once per
machine (fontTools; several seconds for Noto Sans, which covers Latin, Vietnamese, Greek and
Cyrillic) into the folder every process of this user shares (``sala/font_cache.py``): fpdf2
and HarfBuzz read fonts from a path.

Latin is the primary family and Khmer the fallback: fpdf2 picks, character by character, the
first family that has the glyph, and HarfBuzz shapes each run. A character that neither font
has (emoji, most other scripts) is dropped by :func:`printable` rather than drawn as an
empty box.

Parsing a font costs about 6 ms, so each thread parses each font once (:func:`add_fonts`
gives a document light copies of its thread's parsed fonts); how the fonts are embedded is
in ``certificates.pdf.embedding``.
"""

from __future__ import annotations

import copy
import os
import threading
import unicodedata
from dataclasses import dataclass
from pathlib import Path

import fontpkg_noto_sans
import fontpkg_noto_sans_khmer
from fontTools.ttLib import TTFont
from fontTools.varLib import instancer
from fpdf import FPDF
from fpdf.fonts import SubsetMap, TTFFont

from sala.font_cache import font_cache_folder

LATIN = "latin"
KHMER = "khmer"
_WEIGHTS = {"": 400, "B": 700}

_SOURCES = {
    LATIN: fontpkg_noto_sans.ROOT / "files" / "NotoSans[wdth,wght].ttf",
    KHMER: next((fontpkg_noto_sans_khmer.ROOT / "files").glob("NotoSansKhmer*.ttf")),
}
_JOINERS = {"\u200c", "\u200d"}


@dataclass(frozen=True)
class StaticFont:
    """One instantiated weight: fpdf2's key for it (``latinB``) and its file."""

    family: str
    style: str
    path: Path

    @property
    def key(self) -> str:
        return f"{self.family}{self.style}"


@dataclass(frozen=True)
class StaticFonts:
    """The instantiated fonts, and every code point they cover."""

    fonts: tuple[StaticFont, ...]
    coverage: frozenset[int]


_lock = threading.Lock()
_static: StaticFonts | None = None
_parsed = threading.local()


def static_fonts() -> StaticFonts:
    """The static font files, made on first use and kept for the life of the process."""
    global _static
    with _lock:
        if _static is None:
            _static = _instantiate()
        return _static


def _instantiate() -> StaticFonts:
    folder = font_cache_folder(*_SOURCES.values())
    fonts: list[StaticFont] = []
    coverage: set[int] = set()
    for family, source in _SOURCES.items():
        coverage.update(TTFont(source, lazy=True).getBestCmap())
        for style, weight in _WEIGHTS.items():
            path = folder / f"{family}-{weight}.ttf"
            if not path.exists():
                font = TTFont(source)
                instancer.instantiateVariableFont(
                    font, {"wght": weight, "wdth": 100}, inplace=True, static=True
                )
                partial = path.with_suffix(f".{os.getpid()}.tmp")
                font.save(partial)
                os.replace(partial, path)  # whole or not at all, whoever else is making it
            fonts.append(StaticFont(family, style, path))
    return StaticFonts(fonts=tuple(fonts), coverage=frozenset(coverage))


def _thread_fonts() -> dict[str, TTFFont]:
    """This thread's parsed fonts, by key: parsed once, then only read.

    Per thread because HarfBuzz's font object and fontTools' lazily loaded tables are not
    meant to be shared between threads.
    """
    parsed: dict[str, TTFFont] | None = getattr(_parsed, "fonts", None)
    if parsed is None:
        scratch = FPDF()
        parsed = {}
        for font in static_fonts().fonts:
            scratch.add_font(font.family, font.style, font.path)
            parsed_font = scratch.fonts[font.key]
            assert isinstance(parsed_font, TTFFont)
            parsed_font.hbfont  # noqa: B018 - load HarfBuzz's face now, once
            parsed[font.key] = parsed_font
        _parsed.fonts = parsed
    return parsed


def add_fonts(pdf: FPDF) -> None:
    """Give ``pdf`` both families, Latin first and Khmer as the fallback; shaping on.

    Each document gets a shallow copy of the parsed font with its own glyph subset, so a
    font is parsed once per thread instead of once per certificate.
    """
    for key, parsed in _thread_fonts().items():
        font = copy.copy(parsed)
        font.i = len(pdf.fonts) + 1
        font.missing_glyphs = []
        font.subset = SubsetMap(font)
        pdf.fonts[key] = font
    pdf.set_fallback_fonts([KHMER], exact_match=True)
    pdf.set_text_shaping(True)


def printable(text: str) -> str:
    """``text`` without the characters no font has (emoji…), spaces tidied.

    A joiner (ZWJ, ZWNJ) next to a dropped character goes too: it joined an emoji sequence.
    Line breaks and other control characters become spaces.
    """
    coverage = static_fonts().coverage
    kept: list[str] = []
    dropped_last = False
    for char in text:
        if unicodedata.category(char) in ("Cc", "Zl", "Zp") or char.isspace():
            kept.append(" ")
            dropped_last = False
        elif ord(char) in coverage and not (char in _JOINERS and dropped_last):
            kept.append(char)
            dropped_last = False
        else:
            if kept and kept[-1] in _JOINERS:
                kept.pop()
            dropped_last = True
    return " ".join("".join(kept).split())
