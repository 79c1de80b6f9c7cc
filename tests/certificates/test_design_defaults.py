"""The certificate design page (issue 13): its fields show the wording certificates carry,
and saving keeps only what an admin changed, so the rest keeps following the wording above
(a topic's: the wording of every topic; that one: Sala's default). The header prints the
organisation once."""

from __future__ import annotations

import html
import shutil
import subprocess
from pathlib import Path
from typing import Any

import httpx
import pytest

from certificates import services as certificates
from certificates.models import CertificateWording
from sala.models import Role
from tests.factories import csrf_from, log_in, make_staff

DESIGN = "/staff/certificates/design"
FIELDS = ("body_km", "body_en", "neutral_title_km", "neutral_title_en")


def _shown(page: str) -> dict[str, str]:
    """The wording fields as the browser would submit them."""
    values = {}
    for name in FIELDS:
        if name.startswith("body"):
            start = page.index(f'<textarea id="{name}" name="{name}" ')
            value = page[page.index(">", start) + 1 : page.index("</textarea>", start)]
        else:
            start = page.index(f'<input id="{name}" name="{name}" ')
            value = page[page.index('value="', start) + 7 :].split('"', 1)[0]
        values[name] = html.unescape(value)
    return values


async def _save(client: httpx.AsyncClient, url: str, **changes: str) -> dict[str, str]:
    """Open the page, change some fields, save; what the page showed."""
    page = (await client.get(url)).text
    shown = _shown(page)
    data = {**shown, **changes, "part": "wording", "csrf_token": csrf_from(page)}
    saved = await client.post(url, data=data)
    assert saved.status_code == 303, saved.text
    return shown


@pytest.fixture
async def admin(client: httpx.AsyncClient) -> httpx.AsyncClient:
    await log_in(client, await make_staff(Role.ADMIN))
    return client


async def test_the_fields_show_the_default_wording(admin: httpx.AsyncClient) -> None:
    for url in (f"{DESIGN}?lang=en", f"{DESIGN}?topic=sogie&lang=km"):
        assert _shown((await admin.get(url)).text) == certificates.DEFAULT_WORDING, url


async def test_the_pages_language_comes_first(admin: httpx.AsyncClient) -> None:
    english = (await admin.get(f"{DESIGN}?lang=en")).text
    assert english.index('id="body_en"') < english.index('id="body_km"')
    khmer = (await admin.get(f"{DESIGN}?lang=km")).text
    assert khmer.index('id="body_km"') < khmer.index('id="body_en"')


async def test_saving_the_default_unchanged_keeps_following_it(
    admin: httpx.AsyncClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    await _save(admin, DESIGN)
    await _save(admin, f"{DESIGN}?topic=sogie")
    # A later version of Sala words the default better: both follow, no copy was frozen.
    better = {**certificates.DEFAULT_WORDING, "body_en": "successfully completed “{title}”"}
    monkeypatch.setattr(certificates, "DEFAULT_WORDING", better)
    assert (await certificates.wording_for(""))["body_en"] == "successfully completed “{title}”"
    assert (await certificates.wording_for("sogie"))["body_en"] == better["body_en"]
    assert await CertificateWording.all().count() == 0


async def test_a_topic_keeps_only_the_field_changed_and_follows_the_rest(
    admin: httpx.AsyncClient,
) -> None:
    await _save(admin, f"{DESIGN}?topic=sogie", body_en="took part in “{title}”")
    # Then the wording of every topic changes, in Khmer.
    await _save(admin, DESIGN, body_km="បានចូលរួម «{title}»")

    sogie = await certificates.wording_for("sogie")
    assert sogie["body_en"] == "took part in “{title}”"  # its own
    assert sogie["body_km"] == "បានចូលរួម «{title}»"  # followed the change above
    assert sogie["neutral_title_en"] == certificates.DEFAULT_WORDING["neutral_title_en"]
    other = await certificates.wording_for("human_rights")
    assert other["body_en"] == certificates.DEFAULT_WORDING["body_en"]
    assert other["body_km"] == "បានចូលរួម «{title}»"

    page = (await admin.get(f"{DESIGN}?topic=sogie&lang=en")).text
    assert _shown(page)["body_en"] == "took part in “{title}”"
    assert "Changed here." in page  # the one field of its own says so


async def test_emptying_a_field_goes_back_to_the_wording_above(admin: httpx.AsyncClient) -> None:
    await _save(admin, f"{DESIGN}?topic=sogie", neutral_title_en="Rights workshop")
    assert (await certificates.wording_for("sogie"))["neutral_title_en"] == "Rights workshop"
    await _save(admin, f"{DESIGN}?topic=sogie", neutral_title_en="")
    page = (await admin.get(f"{DESIGN}?topic=sogie")).text
    assert _shown(page)["neutral_title_en"] == certificates.DEFAULT_WORDING["neutral_title_en"]


async def test_the_preview_fills_an_empty_field_with_the_wording_above(
    admin: httpx.AsyncClient,
) -> None:
    page = (await admin.get(DESIGN)).text
    data = {**_shown(page), "body_en": "", "csrf_token": csrf_from(page)}
    preview = await admin.post("/staff/certificates/preview", data=data)
    assert preview.status_code == 200
    assert preview.headers["content-type"] == "application/pdf"


def _pdftotext(pdf: bytes, folder: Path) -> str:
    tool = shutil.which("pdftotext")
    if tool is None:
        pytest.skip("pdftotext is missing (apt-get install poppler-utils)")
    source = folder / "certificate.pdf"
    source.write_bytes(pdf)
    run = subprocess.run([tool, "-enc", "UTF-8", str(source), "-"], check=True, capture_output=True)
    return run.stdout.decode()


async def test_the_header_prints_the_organisation_once(
    admin: httpx.AsyncClient, settings: Any, tmp_path: Path
) -> None:
    page = (await admin.get(DESIGN)).text
    data = {**_shown(page), "csrf_token": csrf_from(page)}
    preview = await admin.post("/staff/certificates/preview", data=data)
    text = _pdftotext(preview.content, tmp_path)
    name = settings.organisation_name
    assert text.upper().count(name.upper()) == 1, text
