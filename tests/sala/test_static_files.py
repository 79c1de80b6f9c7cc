"""Static files under versioned addresses, kept a year; the Khmer web font; one way to link."""

from __future__ import annotations

import base64
import hashlib
import re
from io import BytesIO
from pathlib import Path

import httpx
import pytest
import uharfbuzz as hb
from fontTools.ttLib import TTFont

from sala import fonts, static_files
from sala.config import PROJECT_ROOT, STATIC_DIR
from sala.models import Role
from sala.static_files import IMMUTABLE, static_path, static_version
from tests.factories import log_in, make_staff


async def test_a_versioned_address_is_kept_for_a_year(client: httpx.AsyncClient) -> None:
    path = static_path("css/sala.css")
    assert path == f"/static/{static_version()}/css/sala.css"
    answer = await client.get(path)
    assert answer.status_code == 200
    assert answer.headers["cache-control"] == IMMUTABLE
    assert answer.headers["content-type"] == "text/css; charset=utf-8"
    assert answer.content == (STATIC_DIR / "css/sala.css").read_bytes()


async def test_the_plain_address_and_an_old_version_still_work_with_a_short_cache(
    client: httpx.AsyncClient,
) -> None:
    for path in ("/static/css/sala.css", "/static/0123456789ab/css/sala.css"):
        answer = await client.get(path)
        assert answer.status_code == 200, path
        assert "immutable" not in answer.headers["cache-control"]
        assert "max-age=300" in answer.headers["cache-control"]
        again = await client.get(path, headers={"if-none-match": answer.headers["etag"]})
        assert again.status_code == 304


async def test_only_files_of_the_folder_are_served(client: httpx.AsyncClient) -> None:
    for path in (
        "/static/../sala/config.py",
        "/static/%2e%2e/pyproject.toml",
        f"/static/{static_version()}/../../pyproject.toml",
        "/static/css/nothing.css",
        "/static/",
    ):
        assert (await client.get(path)).status_code == 404, path


def test_the_version_changes_with_any_file(monkeypatch: pytest.MonkeyPatch) -> None:
    assert re.fullmatch(r"[0-9a-f]{12}", static_version())
    on_disk = dict(static_files._files_on_disk())
    on_disk["js/progress.js"] += b"\n"
    monkeypatch.setattr(static_files, "_files_on_disk", lambda: on_disk)
    changed = static_files.static_version.__wrapped__()  # type: ignore[attr-defined]
    assert re.fullmatch(r"[0-9a-f]{12}", changed) and changed != static_version()


def test_a_hidden_folder_above_static_hides_no_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Installed under ~/.local or /srv/.sala, every page still finds its files."""
    static = tmp_path / ".local" / "sala" / "static"
    (static / "css").mkdir(parents=True)
    (static / "css" / "sala.css").write_bytes(b"body{}")
    (static / ".gitkeep").write_bytes(b"")
    (static / "css" / ".draft.css").write_bytes(b"hidden")
    monkeypatch.setattr(static_files, "STATIC_DIR", static)
    assert static_files._files_on_disk.__wrapped__() == {"css/sala.css": b"body{}"}  # type: ignore[attr-defined]


async def test_a_public_page_carries_its_stylesheet_allowed_by_hash_only(
    client: httpx.AsyncClient,
) -> None:
    """One round trip less on 3G; the CSP still refuses any other inline style."""
    page = await client.get("/", headers={"accept-language": "km"})
    inline = re.findall(r"<style>(.*?)</style>", page.text, re.S)
    assert len(inline) == 1 and 'rel="stylesheet"' not in page.text
    css = inline[0]
    assert "--ink" in css and "/*" not in css  # the real stylesheet, its comments dropped
    digest = base64.b64encode(hashlib.sha256(css.encode()).digest()).decode()
    policy = page.headers["content-security-policy"]
    style_src = next(d for d in policy.split(";") if d.strip().startswith("style-src"))
    assert style_src.split() == ["style-src", "'self'", f"'sha256-{digest}'"]
    assert "unsafe-inline" not in policy
    # Its font addresses are absolute, under the current version, and answer.
    fonts_linked = re.findall(r'url\("([^"]+)"\)', css)
    assert fonts_linked and set(fonts_linked) == {static_path(static_files.WEB_FONT)}
    font = await client.get(fonts_linked[0])
    assert font.status_code == 200 and font.content[:4] == b"wOF2"
    assert 'rel="icon" href="data:image/svg+xml,' in page.text


async def test_a_staff_page_links_the_cached_stylesheet(client: httpx.AsyncClient) -> None:
    """Staff pages are never compressed (BREACH), so 15 KB inline would cost every page."""
    await log_in(client, await make_staff(Role.FACILITATOR))
    page = await client.get("/staff/", follow_redirects=True)
    assert page.status_code == 200 and "no-store" in page.headers["cache-control"]
    assert "<style>" not in page.text
    assert f'<link rel="stylesheet" href="{static_path("css/sala.css")}">' in page.text


def test_templates_and_code_link_static_files_one_way() -> None:
    """``static_path`` only: a ``url_for('static', …)`` would give an address kept 5 minutes."""
    offenders = []
    for folder in (
        "templates",
        "sala",
        "events",
        "attendees",
        "checkin",
        "certificates",
        "curricula",
        "reports",
        "learning",
    ):
        for path in (PROJECT_ROOT / folder).rglob("*"):
            if path.suffix in (".html", ".py", ".js") and re.search(
                r"""url_for\(\s*["']static["']""", path.read_text(encoding="utf-8")
            ):
                offenders.append(str(path.relative_to(PROJECT_ROOT)))
    assert offenders == []


async def test_the_khmer_web_font_is_a_small_woff2_of_the_css_ranges(
    client: httpx.AsyncClient,
) -> None:
    answer = await client.get(static_path("fonts/noto-sans-khmer.woff2"))
    assert answer.status_code == 200
    assert answer.headers["content-type"] == "font/woff2"
    assert answer.headers["cache-control"] == IMMUTABLE
    assert answer.content[:4] == b"wOF2"
    assert len(answer.content) < 40_000
    font = TTFont(BytesIO(answer.content))
    assert {"GSUB", "GPOS", "GDEF"} <= set(font.keys())
    assert [(a.axisTag, a.minValue, a.maxValue) for a in font["fvar"].axes] == [("wght", 400, 700)]
    cmap = set(font.getBestCmap())
    for low, high in fonts.KHMER_WEB_RANGES:
        assert {c for c in range(low, high + 1)} & cmap, hex(low)
    assert 0x17B6 in cmap and 0x17D2 in cmap and 0x25CC in cmap and 0x200C in cmap

    css = (STATIC_DIR / "css/sala.css").read_text()
    ranges = ", ".join(
        f"U+{low:04X}" if low == high else f"U+{low:04X}-{high:04X}"
        for low, high in fonts.KHMER_WEB_RANGES
    )
    assert css.count(f"unicode-range: {ranges};") == 2
    assert css.count('local("NotoSansKhmer-Regular")') == 2
    assert "preload" not in (PROJECT_ROOT / "templates/base.html").read_text()


def _shaped(font_bytes: bytes, text: str, weight: int) -> list[tuple[int, ...]]:
    face = hb.Face(font_bytes)
    font = hb.Font(face)
    font.set_variations({"wght": weight})
    buffer = hb.Buffer()
    buffer.add_str(text)
    buffer.guess_segment_properties()
    hb.shape(font, buffer)
    # Glyph ids and names differ in a subset: compare each glyph by its ink box instead.
    boxes = [font.get_glyph_extents(i.codepoint) for i in buffer.glyph_infos]
    return [
        (box.x_bearing, box.y_bearing, box.width, box.height, p.x_advance, p.x_offset, p.y_offset)
        for box, p in zip(boxes, buffer.glyph_positions, strict=True)
    ]


async def test_the_web_font_shapes_khmer_like_the_packaged_font() -> None:
    """Subscripts, coeng, vowels: the same glyphs at the same places as the whole TTF."""
    path = await fonts.khmer_web_font()
    font = TTFont(path)
    font.flavor = None
    buffer = BytesIO()
    font.save(buffer)
    subset = buffer.getvalue()
    whole = fonts.KHMER_FONT_FILE.read_bytes()
    for text in ("វិញ្ញាបនបត្រ", "ត្រ", "ង្គ", "ស្ត្រី", "ព្រះរាជាណាចក្រកម្ពុជា", "\u17c1"):
        for weight in (400, 600, 700):
            ours, theirs = _shaped(subset, text, weight), _shaped(whole, text, weight)
            assert len(ours) == len(theirs), (text, weight)
            # Cutting the weight axis to 400-700 re-rounds the deltas: a unit (of 1000) off.
            for a, b in zip(ours, theirs, strict=True):
                assert max(abs(x - y) for x, y in zip(a, b, strict=True)) <= 2, (text, weight)
