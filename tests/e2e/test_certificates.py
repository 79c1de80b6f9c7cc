"""A certificate in a real browser: after the training, the attendee opens their manage page
on their phone and downloads their certificate, in Khmer; the PDF carries their name, the
training and its code, and the verification page confirms the name without showing it."""

from __future__ import annotations

import io
import secrets
import shutil
import subprocess
import uuid
from pathlib import Path

import pypdf
import pytest
import zxingcpp
from PIL import Image
from playwright.sync_api import Page, expect

from tests.e2e.api import admin_token, call, published_session, register
from tests.e2e.conftest import missing
from tests.e2e.pages import assert_fits_the_screen, assert_no_serious_violations, log_in, settle

pytestmark = pytest.mark.e2e

RUN = secrets.token_hex(3)


def _attended(sala_server: str, sala_data_dir: Path) -> tuple[str, str, str]:
    """Someone registered, checked in and holding a certificate: (manage URL, name, code)."""
    token = admin_token(sala_data_dir, sala_server, "e2e certificates")
    session = published_session(sala_server, token, f"Certificate test {RUN}")
    name = f"ស្រីនាង Srey {RUN}"
    receipt = register(sala_server, session["id"], name, f"cert-{RUN}@example.org")
    manage_path = receipt["manage_url"].removeprefix(sala_server)
    png = call(sala_server, "GET", manage_path + "/ticket.png")

    qr = zxingcpp.read_barcodes(Image.open(io.BytesIO(png)))[0].text
    scan = {"token": qr, "session_id": session["id"], "scan_id": uuid.uuid4().hex}
    assert call(sala_server, "POST", "/api/v1/checkins", scan, token)["result"] == "checked_in"
    issued = call(sala_server, "POST", f"/api/v1/sessions/{session['id']}/certificates", {}, token)
    assert [c["registration_id"] for c in issued] == [receipt["id"]]
    return manage_path, name, issued[0]["code"]


def test_attendee_downloads_their_certificate_from_the_manage_page(
    page: Page, sala_server: str, sala_data_dir: Path, artifacts_dir: Path
) -> None:
    manage_path, name, code = _attended(sala_server, sala_data_dir)
    page.goto(manage_path + "?lang=km")
    section = page.locator(".certificate-download")
    expect(section).to_contain_text(code)
    settle(page)
    assert_fits_the_screen(page)
    page.screenshot(path=str(artifacts_dir / "manage-certificate-km-360.png"), full_page=True)

    with page.expect_download() as download_info:
        section.locator("a.button").first.click()
    download = download_info.value
    assert download.suggested_filename == f"certificate-{code}.pdf"
    pdf = Path(download.path()).read_bytes()
    text = "".join(p.extract_text() for p in pypdf.PdfReader(io.BytesIO(pdf)).pages)
    assert f"Srey {RUN}" in text and code in text and f"Certificate test {RUN}" in text

    page.goto(f"/verify/{code}?lang=en")
    expect(page.locator("[data-status=valid]")).to_be_visible()
    assert name not in page.content()
    page.locator("#name").fill(name)
    page.get_by_role("button", name="Check the name").click()
    expect(page.locator("[data-match=yes]")).to_be_visible()


def test_the_neutral_copy_leads_an_employer_to_its_own_page_only(
    page: Page, sala_server: str, sala_data_dir: Path, artifacts_dir: Path, tmp_path: Path
) -> None:
    """The holder downloads the neutral copy; an employer scans its QR code with a real
    decoder and opens the page: valid, the neutral title, the name check, and nothing of
    the training (title, venue, date) nor the real code."""
    manage_path, name, code = _attended(sala_server, sala_data_dir)
    training = f"Certificate test {RUN}"
    page.goto(manage_path + "?lang=en")
    with page.expect_download() as download_info:
        page.get_by_role("link", name="Download with a neutral title").click()
    download = download_info.value
    assert code not in download.suggested_filename
    source = tmp_path / "neutral.pdf"
    download.save_as(source)
    text = "".join(p.extract_text() for p in pypdf.PdfReader(source).pages)
    assert f"Srey {RUN}" in text and training not in text and "CLGBT office" not in text
    assert code not in text

    pdftoppm = shutil.which("pdftoppm") or missing("pdftoppm is missing (poppler-utils)")
    subprocess.run(
        [pdftoppm, "-png", "-r", "150", "-singlefile", str(source), str(tmp_path / "page")],
        check=True,
    )
    (scanned,) = zxingcpp.read_barcodes(Image.open(tmp_path / "page.png"))
    neutral_code = scanned.text.rsplit("/", 1)[-1]
    assert scanned.text == f"{sala_server}/verify/{neutral_code}" and neutral_code != code
    assert neutral_code in text

    page.goto(scanned.text + "?lang=en")
    expect(page.locator("[data-status=valid]")).to_be_visible()
    content = page.content()
    for giveaway in (training, "CLGBT office", code, name):
        assert giveaway not in content
    page.screenshot(path=str(artifacts_dir / "verify-neutral-copy-en-360.png"), full_page=True)
    page.locator("#name").fill(name)
    page.get_by_role("button", name="Check the name").click()
    expect(page.locator("[data-match=yes]")).to_be_visible()
    assert page.url.startswith(f"{sala_server}/verify/{neutral_code}")
    assert training not in page.content()


def test_verification_pages_pass_axe(axe_page: Page, sala_server: str) -> None:
    axe_page.goto("/verify?lang=km")
    assert_no_serious_violations(axe_page, "the certificate check", "km")
    response = axe_page.goto("/verify/ZZZZ-ZZZZ-ZZZZ?lang=km")
    assert response is not None and response.status == 404
    assert_fits_the_screen(axe_page)
    assert_no_serious_violations(axe_page, "an unknown certificate", "km")


@pytest.mark.parametrize("lang", ["km", "en"])
def test_staff_certificate_pages_fit_a_phone_and_pass_axe(
    axe_page: Page, sala_server: str, sala_data_dir: Path, artifacts_dir: Path, lang: str
) -> None:
    token = admin_token(sala_data_dir, sala_server, f"e2e certificate pages {lang}")
    session = published_session(sala_server, token, f"Certificate pages {RUN} {lang}")
    log_in(axe_page, lang=lang)
    for path, name in (
        (f"/staff/sessions/{session['id']}/certificates", "certificates-staff"),
        ("/staff/certificates/design", "certificates-design"),
    ):
        response = axe_page.goto(f"{path}?lang={lang}")
        assert response is not None and response.status == 200, path
        settle(axe_page)
        assert_fits_the_screen(axe_page)
        axe_page.screenshot(path=str(artifacts_dir / f"{name}-{lang}-360.png"), full_page=True)
        assert_no_serious_violations(axe_page, path, lang)
