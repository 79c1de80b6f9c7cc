"""Printing every certificate of a session at once: one PDF made by the worker, one page per
valid certificate in the roster's order (each the page the single certificate has), followed
by the page's progress bar, downloaded by the session's staff only and never kept stale."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import uuid
from pathlib import Path
from typing import Any

import httpx
import pytest

from attendees.models import Registration
from certificates import printing
from certificates import services as certificates
from certificates.models import Certificate, CertificatePrint
from sala.config import Settings
from sala.models import Role
from tests.factories import csrf_from, log_in, make_session, make_staff, register_person, token_for

NAMES = ("Vanna", "Sokha Chan", "ស្រីនាង Srey", "Dara Absent", "Bopha Revoked")


def _tool(name: str) -> str:
    found = shutil.which(name)
    if found is None:
        reason = f"{name} is missing (apt-get install poppler-utils)"
        if os.environ.get("CI") == "true":
            pytest.fail(f"{reason}; CI=true: the PDF must be read on CI", pytrace=False)
        pytest.skip(reason)
    return found


def _pdftotext(pdf: Path, page: int | None = None) -> str:
    pages = ["-f", str(page), "-l", str(page)] if page else []
    command = [_tool("pdftotext"), "-enc", "UTF-8", "-layout", *pages, str(pdf), "-"]
    return subprocess.run(command, check=True, capture_output=True, text=True).stdout


def _pages(pdf: Path) -> int:
    info = subprocess.run([_tool("pdfinfo"), str(pdf)], check=True, capture_output=True, text=True)
    match = re.search(r"^Pages:\s+(\d+)$", info.stdout, re.MULTILINE)
    assert match, info.stdout
    return int(match.group(1))


@pytest.fixture
async def printed_session(client: httpx.AsyncClient, settings: Settings) -> dict[str, Any]:
    """Five registered in this order; four checked in in another order; certificates issued
    out of roster order (the Khmer name's first); Bopha's revoked."""
    facilitator = await make_staff(Role.FACILITATOR, name="Dara")
    session = await make_session(facilitators=(facilitator,), title_en="SOGIE basics")
    people: dict[str, Registration] = {}
    for name in NAMES:
        outcome = await register_person(session, settings, chosen_name=name)
        people[name] = outcome.registration
    headers = await token_for(facilitator)
    for name in ("Bopha Revoked", "ស្រីនាង Srey", "Vanna", "Sokha Chan"):
        scan = {
            "registration_id": people[name].id,
            "session_id": session.id,
            "scan_id": uuid.uuid4().hex,
        }
        answer = await client.post("/api/v1/checkins", json=scan, headers=headers)
        assert answer.json()["result"] == "checked_in"
    url = f"/api/v1/sessions/{session.id}/certificates"
    first = {"registration_ids": [people["ស្រីនាង Srey"].id]}
    assert (await client.post(url, json=first, headers=headers)).status_code == 201
    assert (await client.post(url, headers=headers)).status_code == 201
    bopha = await Certificate.get(registration_id=people["Bopha Revoked"].id)
    revoked = await client.post(
        f"/api/v1/certificates/{bopha.code}/revoke", json={"reason": "left"}, headers=headers
    )
    assert revoked.status_code == 200
    return {"facilitator": facilitator, "session": session, "people": people}


async def _order_print(client: httpx.AsyncClient, session_id: int) -> httpx.Response:
    path = f"/staff/sessions/{session_id}/certificates"
    page = await client.get(path)
    return await client.post(path, data={"action": "print_all", "csrf_token": csrf_from(page.text)})


async def test_one_pdf_one_page_each_in_roster_order_without_the_revoked(
    client: httpx.AsyncClient, settings: Settings, printed_session: dict[str, Any], tmp_path: Path
) -> None:
    session, people = printed_session["session"], printed_session["people"]
    await log_in(client, printed_session["facilitator"])
    path = f"/staff/sessions/{session.id}/certificates"
    answer = await _order_print(client, session.id)
    assert answer.status_code == 303

    page = await client.get(path)
    assert 'id="print-progress"' in page.text and "0 of 3 pages made." in page.text
    progress = (await client.get(f"{path}/progress.json")).json()["print"]
    assert (progress["total"], progress["finished"]) == (3, False)
    job = await CertificatePrint.get(session_id=session.id)
    download = f"{path}/prints/{job.id}.pdf"
    assert (await client.get(download)).status_code == 404  # not made yet

    assert await printing.make_pending_prints(settings) == 1
    progress = (await client.get(f"{path}/progress.json")).json()["print"]
    assert (progress["done"], progress["total"], progress["finished"]) == (3, 3, True)
    page = await client.get(path)
    assert f'href="{download}"' in page.text and 'id="print-progress"' not in page.text

    pdf = await client.get(download)
    assert pdf.status_code == 200 and pdf.headers["content-type"] == "application/pdf"
    assert pdf.headers["cache-control"] == "private, no-store"
    combined = tmp_path / "combined.pdf"
    combined.write_bytes(pdf.content)
    assert _pages(combined) == 3

    in_order = ("Vanna", "Sokha Chan", "ស្រីនាង Srey")  # the roster's order
    for number, name in enumerate(in_order, start=1):
        certificate = await Certificate.get(registration_id=people[name].id)
        text = _pdftotext(combined, number)
        assert certificate.code in text and "SOGIE basics" in text
        # The very page of the single certificate, Khmer name and all.
        single = tmp_path / f"single-{number}.pdf"
        single.write_bytes(await certificates.certificate_pdf(certificate, settings))
        assert text == _pdftotext(single)
    everything = _pdftotext(combined)
    assert "Bopha" not in everything and "Dara Absent" not in everything
    assert "Srey" in _pdftotext(combined, 3)

    # Kept in the data dir under a random name, not the print's id.
    files = list((settings.data_dir / "certificates" / "prints").glob("*.pdf"))
    assert [f.name for f in files] == [f"{job.file_key}.pdf"]
    assert len(job.file_key) >= 32


async def test_only_the_sessions_staff_order_or_download_the_print(
    client: httpx.AsyncClient, new_client: Any, settings: Settings, printed_session: dict[str, Any]
) -> None:
    session = printed_session["session"]
    await log_in(client, printed_session["facilitator"])
    assert (await _order_print(client, session.id)).status_code == 303
    await printing.make_pending_prints(settings)
    job = await CertificatePrint.get(session_id=session.id)
    download = f"/staff/sessions/{session.id}/certificates/prints/{job.id}.pdf"
    assert (await client.get(download)).status_code == 200

    async with new_client() as anonymous:
        answer = await anonymous.get(download)
        assert answer.status_code == 303 and "/staff/login" in answer.headers["location"]
        assert "%PDF" not in answer.text
    for role in (Role.FACILITATOR, Role.TEAM_LEADER):
        async with new_client() as other:
            await log_in(other, await make_staff(role))
            refused = await other.get(download)
            assert refused.status_code == 403 and not refused.content.startswith(b"%PDF")
            path = f"/staff/sessions/{session.id}/certificates"
            assert (await other.get(f"{path}/progress.json")).status_code == 403
    another = await make_session(facilitators=(printed_session["facilitator"],))
    wrong = f"/staff/sessions/{another.id}/certificates/prints/{job.id}.pdf"
    assert (await client.get(wrong)).status_code == 404


async def test_a_revocation_after_printing_takes_the_pdf_away(
    client: httpx.AsyncClient, settings: Settings, printed_session: dict[str, Any]
) -> None:
    session, people = printed_session["session"], printed_session["people"]
    await log_in(client, printed_session["facilitator"])
    await _order_print(client, session.id)
    await printing.make_pending_prints(settings)
    job = await CertificatePrint.get(session_id=session.id)
    download = f"/staff/sessions/{session.id}/certificates/prints/{job.id}.pdf"
    assert (await client.get(download)).status_code == 200

    vanna = await Certificate.get(registration_id=people["Vanna"].id)
    await certificates.revoke_certificate(
        vanna.id, staff=printed_session["facilitator"], reason="typo", settings=settings
    )
    assert (await client.get(download)).status_code == 404
    page = await client.get(f"/staff/sessions/{session.id}/certificates")
    assert download not in page.text and ">Print all certificates</button>" in page.text
    await printing.make_pending_prints(settings)  # the job deletes the outdated file
    assert not list((settings.data_dir / "certificates" / "prints").glob("*.pdf"))
    assert not await CertificatePrint.filter(id=job.id).exists()


async def test_nothing_to_print_is_said_plainly(
    client: httpx.AsyncClient, settings: Settings
) -> None:
    facilitator = await make_staff(Role.FACILITATOR)
    session = await make_session(facilitators=(facilitator,))
    await log_in(client, facilitator)
    answer = await _order_print(client, session.id)
    assert answer.status_code == 409
    assert "There is no valid certificate to print yet" in answer.text
