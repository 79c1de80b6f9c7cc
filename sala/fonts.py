"""The Khmer web font, made by the app itself from the PyPI package that ships it.

The package ships Noto Sans Khmer as a 360 KB variable TTF (weights 100-900, widths
62.5-100), too much for a phone on 3G. Pages get a WOFF2 subset of it instead (about 31 KB):
the Khmer and Khmer Symbols blocks and what shaping Khmer needs (ZWSP, ZWNJ, ZWJ, the dotted
circle, the spaces), the shaping tables (GSUB, GPOS, GDEF) kept, the width axis pinned at 100
and the weight axis cut to the 400-700 the stylesheet uses (400, 600, 700 all real weights, not
faked). Latin is left out: the stylesheet's ``unicode-range`` sends only Khmer text to this font
(so English pages never fetch it), and a glyph the browser never asks for is bytes for nothing.

Made once per machine (fontTools, about 1.5 s, in a thread, on the first request that needs it)
into the folder every process shares (``sala/font_cache.py``), as the certificate fonts are:
the file is named after :data:`RECIPE` and written whole or not at all (``os.replace``).

The whole TTF is still served at its old address (``/static/fonts/noto-sans-khmer.ttf``).
"""

from __future__ import annotations

import asyncio
import hashlib
import os
import threading
from functools import cache
from pathlib import Path

import fontpkg_noto_sans_khmer
import fontTools
from fontTools import subset
from fontTools.ttLib import TTFont
from fontTools.varLib import instancer
from starlette.requests import Request
from starlette.responses import FileResponse, Response

from sala.font_cache import font_cache_folder
from sala.permissions import public

KHMER_FONT_FILE: Path = next((fontpkg_noto_sans_khmer.ROOT / "files").glob("NotoSansKhmer*.ttf"))

# What the web font covers; the stylesheet's unicode-range lists the same ranges.
KHMER_WEB_RANGES: tuple[tuple[int, int], ...] = (
    (0x1780, 0x17FF),  # Khmer
    (0x19E0, 0x19FF),  # Khmer Symbols
    (0x200B, 0x200D),  # ZWSP (word breaks in Khmer text), ZWNJ, ZWJ
    (0x25CC, 0x25CC),  # dotted circle: the base a shaper shows under a lone vowel sign
)
_SPACES = (0x20, 0xA0)  # in the file for the shaper, not in the unicode-range
# Changes whenever what is made changes (ranges, axes, options): a new file, a new URL.
RECIPE = "khmer-web-1"

_lock = threading.Lock()


def khmer_web_font_path() -> Path:
    """Where the web font is (or will be) kept on this machine."""
    return font_cache_folder(KHMER_FONT_FILE) / f"{RECIPE}.woff2"


@cache
def khmer_web_font_identity() -> str:
    """What the web font is made from and how: the same on every machine with the same
    packages, so it can name the font in a URL before the font is made."""
    digest = hashlib.sha256()
    digest.update(f"{RECIPE}|{fontTools.version}|".encode())
    digest.update(KHMER_FONT_FILE.read_bytes())
    return digest.hexdigest()[:16]


def make_khmer_web_font() -> Path:
    """The web font's file, made now if this machine has none yet (blocking: call it in a
    thread, as :func:`khmer_web_font` does)."""
    path = khmer_web_font_path()
    with _lock:
        if not path.exists():
            font = _subset(TTFont(KHMER_FONT_FILE))
            partial = path.with_suffix(f".{os.getpid()}.tmp")
            font.save(partial)
            os.replace(partial, path)  # whole or not at all, whoever else is making it
    return path


async def khmer_web_font() -> Path:
    """The web font's file, made in a thread the first time (the event loop keeps going)."""
    path = khmer_web_font_path()
    if path.exists():
        return path
    return await asyncio.to_thread(make_khmer_web_font)


def _subset(font: TTFont) -> TTFont:
    options = subset.Options()
    options.layout_features = ["*"]  # every GSUB/GPOS feature: Khmer shaping needs many
    options.notdef_outline = True
    subsetter = subset.Subsetter(options)
    codepoints = [c for low, high in KHMER_WEB_RANGES for c in range(low, high + 1)]
    subsetter.populate(unicodes=[*codepoints, *_SPACES])
    subsetter.subset(font)
    # Subset first, then instance: fewer glyphs to vary, and the instancer needs the glyphs
    # it keeps loaded (it fails on a font whose gvar the subsetter has yet to read).
    font = instancer.instantiateVariableFont(font, {"wdth": 100, "wght": (400, 700)})
    font.flavor = "woff2"
    return font


@public
async def khmer_font(request: Request) -> Response:
    """The whole TTF, at the address pages used before the web font (kept for links to it)."""
    return FileResponse(
        KHMER_FONT_FILE,
        media_type="font/ttf",
        headers={"cache-control": "public, max-age=2592000, immutable"},
    )
