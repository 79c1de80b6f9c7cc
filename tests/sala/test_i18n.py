"""Khmer and English: choosing the language, complete catalogs, Babel formatting."""

from __future__ import annotations

import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import httpx
import pytest
from babel.messages.pofile import read_po
from starlette.applications import Starlette

from sala.config import LOCALES_DIR
from sala.i18n import choose_language, current_language, format_date, format_number
from tests.conftest import make_settings

ROOT = Path(__file__).resolve().parents[2]


async def test_default_language_is_khmer(new_client) -> None:
    async with new_client(**{"accept-language": ""}) as browser:
        page = await browser.get("/")
    assert '<html lang="km">' in page.text
    assert "ការបណ្តុះបណ្តាល" in page.text or "វគ្គ" in page.text


async def test_default_language_follows_the_setting(tmp_path: Path, database_url: str) -> None:
    from sala.app import create_app

    app = create_app(make_settings(tmp_path, database_url, SALA_DEFAULT_LANGUAGE="en"))
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as browser:
            page = await browser.get("/")
    assert '<html lang="en">' in page.text
    assert "Upcoming trainings" in page.text


async def test_lang_parameter_then_cookie_then_accept_language(new_client) -> None:
    async with new_client(**{"accept-language": "en-US,en;q=0.9"}) as browser:
        assert '<html lang="en">' in (await browser.get("/")).text
        switched = await browser.get("/?lang=km")
        assert '<html lang="km">' in switched.text
        assert "lang=km" in switched.headers["set-cookie"]
        # Remembered: the cookie now wins over Accept-Language.
        assert '<html lang="km">' in (await browser.get("/")).text
        assert '<html lang="en">' in (await browser.get("/?lang=en")).text
        assert '<html lang="en">' in (await browser.get("/")).text


async def test_unknown_lang_value_is_ignored(client: httpx.AsyncClient) -> None:
    page = await client.get("/?lang=fr")
    assert page.status_code == 200
    assert '<html lang="en">' in page.text
    assert "set-cookie" not in page.headers or "lang=fr" not in page.headers["set-cookie"]


def test_choose_language_order() -> None:
    assert choose_language("en", "km", "km", "km") == "en"
    assert choose_language(None, "en", "km", "km") == "en"
    assert choose_language(None, None, "fr-FR, en;q=0.5", "km") == "en"
    assert choose_language(None, None, "km-KH", "en") == "km"
    assert choose_language(None, None, "", "en") == "en"


async def test_json_errors_follow_the_language(client: httpx.AsyncClient) -> None:
    english = await client.get("/api/v1/sessions/999")
    khmer = await client.get("/api/v1/sessions/999?lang=km")
    assert english.status_code == khmer.status_code == 404
    assert english.json()["error"]["code"] == khmer.json()["error"]["code"] == "session_not_found"
    assert english.json()["error"]["message"] == "We could not find this training."
    assert any("\u1780" <= ch <= "\u17ff" for ch in khmer.json()["error"]["message"])


def test_khmer_dates_use_khmer_month_names() -> None:
    token = current_language.set("km")
    try:
        text = format_date(datetime(2026, 12, 5, 2, 0, tzinfo=UTC), tz=ZoneInfo("Asia/Phnom_Penh"))
        assert "ធ្នូ" in text  # December
        assert "5" in text or "៥" in text
        assert format_number(1234) in {"1.234", "1,234", "១.២៣៤"}
    finally:
        current_language.reset(token)
    token = current_language.set("en")
    try:
        assert "December" in format_date(
            datetime(2026, 12, 5, 2, 0, tzinfo=UTC), tz=ZoneInfo("UTC")
        )
    finally:
        current_language.reset(token)


def _catalog(language: str):  # type: ignore[no-untyped-def]
    with (LOCALES_DIR / language / "LC_MESSAGES" / "messages.po").open("rb") as handle:
        return read_po(handle, locale=language)


def test_khmer_catalog_covers_every_message_in_the_code(tmp_path: Path) -> None:
    """Extract the messages from the code now and compare: nothing new is left untranslated."""
    pot = tmp_path / "messages.pot"
    subprocess.run(
        [
            sys.executable,
            "-m",
            "babel.messages.frontend",
            "extract",
            "-F",
            str(ROOT / "babel.cfg"),
            "-k",
            "N_",
            "--no-location",
            "-o",
            str(pot),
            str(ROOT),
        ],
        check=True,
        capture_output=True,
        cwd=ROOT,
    )
    with pot.open("rb") as handle:
        extracted = {m.id if isinstance(m.id, str) else m.id[0] for m in read_po(handle) if m.id}
    khmer = _catalog("km")
    translated = {
        (m.id if isinstance(m.id, str) else m.id[0])
        for m in khmer
        if m.id and not m.fuzzy and (all(m.string) if isinstance(m.string, tuple) else m.string)
    }
    missing = sorted(extracted - translated)
    assert missing == [], f"untranslated in km: {missing}"


@pytest.mark.parametrize("language", ["km", "en"])
def test_catalogs_have_valid_placeholders(language: str) -> None:
    catalog = _catalog(language)
    problems = [(m.id, errors) for m, errors in catalog.check() if errors]
    assert problems == []


async def test_km_font_is_served_by_the_app(client: httpx.AsyncClient, app: Starlette) -> None:
    answer = await client.get("/static/fonts/noto-sans-khmer.ttf")
    assert answer.status_code == 200
    assert answer.headers["content-type"] == "font/ttf"
    assert answer.content[:4] in (b"\x00\x01\x00\x00", b"true", b"OTTO")
    css = (await client.get("/static/css/sala.css")).text
    assert 'url("../fonts/noto-sans-khmer.woff2") format("woff2")' in css  # sala/fonts.py
