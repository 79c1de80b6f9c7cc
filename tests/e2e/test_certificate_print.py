"""Printing a session's certificates in a real browser: the staff page orders the PDF, its
progress bar follows the worker of the running ``sala serve``, and the download link appears
by itself when the PDF is made: one page per certificate."""

from __future__ import annotations

import io
import secrets
import uuid
from pathlib import Path

import pypdf
import pytest
from playwright.sync_api import Page, expect

from tests.e2e.api import admin_token, call, published_session, register
from tests.e2e.pages import assert_fits_the_screen, log_in, settle

pytestmark = pytest.mark.e2e

RUN = secrets.token_hex(3)


def test_the_progress_bar_leads_to_the_combined_pdf(
    page: Page, sala_server: str, sala_data_dir: Path, artifacts_dir: Path
) -> None:
    token = admin_token(sala_data_dir, sala_server, "e2e certificate print")
    session = published_session(sala_server, token, f"Print test {RUN}")
    names = [f"ស្រីនាង Srey {RUN}", f"Vanna {RUN}"]
    for name in names:
        receipt = register(sala_server, session["id"], name, f"{uuid.uuid4().hex}@example.org")
        scan = {
            "registration_id": receipt["id"],
            "session_id": session["id"],
            "scan_id": uuid.uuid4().hex,
        }
        assert call(sala_server, "POST", "/api/v1/checkins", scan, token)["result"] == "checked_in"
    issued = call(sala_server, "POST", f"/api/v1/sessions/{session['id']}/certificates", {}, token)
    assert len(issued) == 2

    log_in(page)
    page.goto(f"/staff/sessions/{session['id']}/certificates")
    page.get_by_role("button", name="Print all certificates").click()
    expect(page.locator(".alert.success")).to_contain_text("being made")
    link = page.get_by_role("link", name="Download all certificates (PDF)")
    expect(link).to_be_visible(timeout=30_000)  # shown by progress.js, no reload
    settle(page)
    assert_fits_the_screen(page)
    page.screenshot(path=str(artifacts_dir / "certificates-print-360.png"), full_page=True)

    with page.expect_download() as download_info:
        link.click()
    pdf = pypdf.PdfReader(io.BytesIO(Path(download_info.value.path()).read_bytes()))
    assert len(pdf.pages) == 2
    assert f"Srey {RUN}" in pdf.pages[0].extract_text()
    assert f"Vanna {RUN}" in pdf.pages[1].extract_text()
