"""The Khmer web font, served by the app itself from the PyPI package that ships it."""

from __future__ import annotations

from pathlib import Path

import fontpkg_noto_sans_khmer
from starlette.requests import Request
from starlette.responses import FileResponse, Response

from sala.permissions import public

KHMER_FONT_FILE: Path = next((fontpkg_noto_sans_khmer.ROOT / "files").glob("NotoSansKhmer*.ttf"))


@public
async def khmer_font(request: Request) -> Response:
    return FileResponse(
        KHMER_FONT_FILE,
        media_type="font/ttf",
        headers={"cache-control": "public, max-age=2592000, immutable"},
    )
