"""Embedding the fonts in a certificate without subsetting them for every document.

fpdf2 subsets each font for each PDF (fontTools, 8-20 ms a font) and builds a 128 KB
CID-to-glyph table in Python: about 100 ms of a certificate's 130 ms. A batch of
certificates uses nearly the same glyphs every time, so :class:`CertificateOutput` (an fpdf2
``OutputProducer``, passed to ``FPDF.output``) embeds a *shared* subset instead:

- the subset keeps the glyph ids of the whole font (``retain_gids``), so one embedded
  program serves every document, whatever glyphs each one picked;
- it holds every glyph of the scripts a name is likely to use (Khmer; Latin up to Latin
  Extended-A, with punctuation) plus, when a document needs more (a Vietnamese or Cyrillic
  name), those extra glyphs; programs are cached by the set of extras;
- the program is compressed once, when it is built.

A certificate so embeds a few tens of KB more font than a tight subset, and costs a few ms.
Everything else about the font objects is written as fpdf2 2.8 writes them (Type0 font,
CIDFontType2, ToUnicode map for text extraction, CIDToGIDMap).
"""

from __future__ import annotations

import copy
import functools
import io
import threading
import zlib
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any

from fontTools import subset as ftsubset
from fontTools.ttLib import TTFont
from fpdf.fonts import TTFFont
from fpdf.output import (
    CIDSystemInfo,
    OutputProducer,
    PDFFont,
    PDFInfo,
    _build_cmap_blocks,
    _tt_font_widths,
)
from fpdf.syntax import Name, PDFArray, PDFContentStream

from certificates.pdf.fonts import KHMER, LATIN, StaticFont, static_fonts

# What a name or a wording is likely to need, embedded in every certificate.
_BASE_CODE_POINTS = {
    LATIN: [
        *range(0x20, 0x7F),
        *range(0xA0, 0x180),
        *range(0x2010, 0x2028),
        *range(0x2030, 0x203B),
        0x20AC,
        0x2122,
        0x25CC,
    ],
    KHMER: [*range(0x1780, 0x1800), *range(0x19E0, 0x1A00), *range(0x200B, 0x200E), 0x25CC],
}
_DROPPED_TABLES = ["FFTM", "GDEF", "GPOS", "GSUB", "MATH", "hdmx", "meta", "DSIG"]
_CACHE_SIZE = 64


@dataclass(frozen=True)
class _Program:
    """A compressed font program and its uncompressed length (``/Length1``)."""

    compressed: bytes
    length: int


class _Programs:
    """Embedded font programs by (font key, extra glyphs), built on demand, least recently
    used dropped past ``_CACHE_SIZE``. Shared by all threads."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._base: dict[str, frozenset[str]] = {}
        self._programs: OrderedDict[tuple[str, frozenset[str]], _Program] = OrderedDict()

    def get(self, key: str, glyph_names: set[str]) -> _Program:
        with self._lock:
            font = next(font for font in static_fonts().fonts if font.key == key)
            base = self._base.get(key)
            if base is None:
                base = self._base[key] = _base_glyphs(font)
            extras = frozenset(glyph_names - base)
            program = self._programs.get((key, extras))
            if program is None:
                program = _subset(font, base | extras)
                self._programs[key, extras] = program
                if len(self._programs) > _CACHE_SIZE:
                    self._programs.popitem(last=False)
            else:
                self._programs.move_to_end((key, extras))
            return program


def _base_glyphs(font: StaticFont) -> frozenset[str]:
    """Glyphs reachable from the base code points, through the font's substitutions."""
    ttfont = TTFont(font.path)
    wanted = set(_BASE_CODE_POINTS[font.family]) & set(ttfont.getBestCmap())
    options = ftsubset.Options(layout_features=["*"], notdef_outline=True)
    subsetter = ftsubset.Subsetter(options)
    subsetter.populate(unicodes=wanted)
    subsetter.subset(ttfont)
    return frozenset(ttfont.getGlyphOrder())


def _subset(font: StaticFont, glyph_names: frozenset[str]) -> _Program:
    ttfont = TTFont(io.BytesIO(_without_layout(font)))
    options = ftsubset.Options(
        notdef_outline=True, recommended_glyphs=True, retain_gids=True, glyph_names=False
    )
    options.drop_tables += _DROPPED_TABLES
    subsetter = ftsubset.Subsetter(options)
    subsetter.populate(glyphs=sorted(glyph_names & set(ttfont.getGlyphOrder())))
    subsetter.subset(ttfont)
    data = _save(ttfont)
    return _Program(zlib.compress(data), len(data))


@functools.cache
def _without_layout(font: StaticFont) -> bytes:
    """The font without the tables that only shaping reads: subsetting it then takes tens
    of ms instead of most of a second (fontTools reads every table it keeps or drops)."""
    ttfont = TTFont(font.path)
    for tag in _DROPPED_TABLES:
        if tag in ttfont:
            del ttfont[tag]
    return _save(ttfont)


def _save(ttfont: TTFont) -> bytes:
    buffer = io.BytesIO()
    ttfont.save(buffer)
    return buffer.getvalue()


_programs = _Programs()


class _FontProgramStream(PDFContentStream):
    """A ``/FontFile2`` stream whose contents are already compressed."""

    def __init__(self, program: _Program) -> None:
        super().__init__(contents=b"")
        self._contents = program.compressed
        self.filter = Name("FlateDecode")
        self.length = len(program.compressed)
        self.length1 = program.length


class CertificateOutput(OutputProducer):
    """fpdf2's output, with fonts embedded from the shared programs (see the module doc),
    and no creation date when the document has none."""

    def _add_info(self) -> PDFInfo:
        """The document information. fpdf2 always dates it; a holder's neutral copy is not
        dated (made on the day of the training, its date would point to the training)."""
        fpdf = self.fpdf
        if fpdf.creation_date is not None:
            return super()._add_info()
        described = {
            key: getattr(fpdf, key, None)
            for key in ("title", "subject", "author", "keywords", "creator", "producer")
        }
        info = PDFInfo(**described, creation_date=None)  # None: left out of the file
        self._add_pdf_obj(info)
        return info

    def _add_fonts(self, *args: Any, **kwargs: Any) -> dict[int, Any]:
        written: dict[int, Any] = {}
        for font in sorted(self.fpdf.fonts.values(), key=lambda font: font.i):
            if not isinstance(font, TTFFont) or font.color_font or font.is_cff:
                raise TypeError(f"certificates embed TrueType fonts only, not {font!r}")
            written[font.i] = self._add_font(font)
        return written

    def _add_font(self, font: TTFFont) -> PDFFont:
        name = f"SALAAA+{font.name}"
        glyphs = [(glyph, code) for glyph, code in font.subset.items() if glyph is not None]
        program = _programs.get(font.fontkey, {glyph.glyph_name for glyph, _ in glyphs})

        composite = PDFFont(subtype="Type0", base_font=name, encoding="Identity-H")
        self._add_pdf_obj(composite, "fonts")
        cid_font = PDFFont(
            subtype="CIDFontType2",
            base_font=name,
            d_w=font.desc.missing_width,
            w=_tt_font_widths(font),
        )
        self._add_pdf_obj(cid_font, "fonts")
        composite.descendant_fonts = PDFArray([cid_font])

        # The text each code stands for, so the PDF's text can be searched and copied.
        # A cluster's text goes with its first glyph; its other glyphs (a subscript, the
        # second part of a split vowel) stand for no text, said with an empty string so
        # that readers do not make up a character from the code.
        to_unicode = [
            f"<{code:04X}> <{''.join(_utf16_hex(char) for char in _code_points(glyph.unicode))}>\n"
            for glyph, code in glyphs
        ]
        to_unicode_obj = PDFContentStream(_to_unicode_cmap(to_unicode).encode("latin-1"))
        self._add_pdf_obj(to_unicode_obj, "fonts")
        composite.to_unicode = to_unicode_obj

        system_info = CIDSystemInfo()
        self._add_pdf_obj(system_info, "fonts")
        cid_font.c_i_d_system_info = system_info

        descriptor = copy.copy(font.desc)  # the parsed font's is shared between documents
        descriptor.font_name = Name(name)
        self._add_pdf_obj(descriptor, "fonts")
        cid_font.font_descriptor = descriptor

        # Codes past the end of the map stand for glyph 0, so it stops at the highest code.
        cid_to_gid = bytearray(2 * (max((code for _, code in glyphs), default=0) + 1))
        for glyph, code in glyphs:
            cid_to_gid[2 * code : 2 * code + 2] = glyph.glyph_id.to_bytes(2, "big")
        cid_to_gid_obj = PDFContentStream(contents=bytes(cid_to_gid), compress=True)
        self._add_pdf_obj(cid_to_gid_obj, "fonts")
        cid_font.c_i_d_to_g_i_d_map = cid_to_gid_obj

        program_obj = _FontProgramStream(program)
        self._add_pdf_obj(program_obj, "fonts")
        descriptor.font_file2 = program_obj  # type: ignore[attr-defined]  # as fpdf2 does

        font.subset.pick.cache_clear()
        font.subset.get_glyph.cache_clear()
        return composite


def _code_points(unicode: int | tuple[int, ...] | None) -> tuple[int, ...]:
    if isinstance(unicode, int):
        return (unicode,)
    return unicode or ()


def _utf16_hex(code_point: int) -> str:
    return chr(code_point).encode("utf-16-be").hex().upper()


def _to_unicode_cmap(entries: list[str]) -> str:
    return (
        "/CIDInit /ProcSet findresource begin\n"
        "12 dict begin\n"
        "begincmap\n"
        "/CIDSystemInfo\n"
        "<</Registry (Adobe)\n"
        "/Ordering (UCS)\n"
        "/Supplement 0\n"
        ">> def\n"
        "/CMapName /Adobe-Identity-UCS def\n"
        "/CMapType 2 def\n"
        "1 begincodespacerange\n"
        "<0000> <FFFF>\n"
        "endcodespacerange\n"
        f"{_build_cmap_blocks(entries, 'bfchar')}"
        "endcmap\n"
        "CMapName currentdict /CMap defineresource pop\n"
        "end\n"
        "end"
    )
