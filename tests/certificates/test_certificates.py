"""Certificates: issuing after check-in (idempotent), the PDF and its email, verification
that never names the holder, revoking and reissuing, the holder's download, the design."""

from __future__ import annotations

import asyncio
import io
import os
import re
import shutil
import subprocess
import uuid
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pypdf
import pytest
import zxingcpp
from PIL import Image
from starlette.applications import Starlette

from attendees.manage import manage_url
from attendees.models import Registration
from certificates import services as certificates
from certificates.models import Certificate, CertificateStatus
from checkin.tickets import ticket_for
from events.models import Topic
from sala import mail
from sala.app import MAIL_COMPOSERS
from sala.config import Settings
from sala.i18n import format_date, in_language
from sala.models import OutboxMessage, Role
from tests.factories import csrf_from, log_in, make_session, make_staff, register_person, token_for

CODE = re.compile(r"^[2-9A-HJ-NP-Z]{4}-[2-9A-HJ-NP-Z]{4}-[2-9A-HJ-NP-Z]{4}$")


def _text(pdf: bytes) -> str:
    return "\n".join(page.extract_text() for page in pypdf.PdfReader(io.BytesIO(pdf)).pages)


async def _check_in(
    client: httpx.AsyncClient,
    registration: Registration,
    headers: dict[str, str],
    settings: Settings,
) -> None:
    scan = {
        "token": await ticket_for(registration, settings.data_dir),
        "session_id": registration.session_id,  # type: ignore[attr-defined]
        "scan_id": uuid.uuid4().hex,
    }
    answer = await client.post("/api/v1/checkins", json=scan, headers=headers)
    assert answer.json()["result"] == "checked_in", answer.text


async def _sokhas_certificate(
    client: httpx.AsyncClient, settings: Settings, training: dict[str, Any]
) -> str:
    """Sokha checked in and her certificate issued through the API: its code."""
    session, headers = training["session"], training["headers"]
    await _check_in(client, training["people"]["Sokha"], headers, settings)
    url = f"/api/v1/sessions/{session.id}/certificates"
    return str((await client.post(url, headers=headers)).json()[0]["code"])


@pytest.fixture
async def training(client: httpx.AsyncClient, settings: Settings) -> dict[str, Any]:
    """A facilitator's session: Sokha and Vanna checked in, Later registered but absent."""
    facilitator = await make_staff(Role.FACILITATOR, name="Dara")
    session = await make_session(facilitators=(facilitator,), title_en="SOGIE basics")
    people = {
        name: (
            await register_person(session, settings, chosen_name=name, email=f"{name}@example.org")
        ).registration
        for name in ("Sokha", "Vanna", "Later")
    }
    headers = await token_for(facilitator)
    return {"facilitator": facilitator, "session": session, "people": people, "headers": headers}


async def test_issuing_needs_check_ins_then_gives_one_each_once(
    client: httpx.AsyncClient, settings: Settings, training: dict[str, Any]
) -> None:
    session = training["session"]
    headers = training["headers"]
    people = training["people"]
    url = f"/api/v1/sessions/{session.id}/certificates"
    nobody = await client.post(url, headers=headers)
    assert nobody.status_code == 409
    assert nobody.json()["error"]["code"] == "no_check_ins"
    assert "Nobody was checked in" in nobody.json()["error"]["message"]

    await _check_in(client, people["Sokha"], headers, settings)
    await _check_in(client, people["Vanna"], headers, settings)
    first = await client.post(url, headers=headers)
    assert first.status_code == 201, first.text
    issued = first.json()
    assert sorted(c["registration_id"] for c in issued) == sorted(
        [people["Sokha"].id, people["Vanna"].id]
    )
    assert all(CODE.match(c["code"]) for c in issued)

    again = await client.post(url, headers=headers)
    assert again.status_code == 200 and again.json() == []
    assert await Certificate.filter(session_id=session.id).count() == 2

    absent = await client.post(
        url, json={"registration_ids": [people["Later"].id]}, headers=headers
    )
    assert absent.status_code == 422


async def test_worker_makes_the_pdf_and_emails_it_in_the_holders_language(
    client: httpx.AsyncClient, settings: Settings, training: dict[str, Any]
) -> None:
    session = training["session"]
    headers = training["headers"]
    people = training["people"]
    await _check_in(client, people["Sokha"], headers, settings)
    issued = (
        await client.post(f"/api/v1/sessions/{session.id}/certificates", headers=headers)
    ).json()
    await certificates.render_pending(settings)

    certificate = await Certificate.get(code=issued[0]["code"])
    assert certificate.rendered_at is not None
    progress = await certificates.run_progress(await certificates.latest_run(session))  # type: ignore[arg-type]
    assert progress["done"] == progress["total"] == 1 and progress["finished"]

    messages = await OutboxMessage.filter(kind=certificates.CERTIFICATE_MAIL)
    assert [m.to_address for m in messages] == ["sokha@example.org"]
    composed = await mail.compose(MAIL_COMPOSERS, messages[0], settings)
    pdfs = [a for a in composed.attachments if a.content_type == "application/pdf"]
    assert len(pdfs) == 1
    text = _text(pdfs[0].data)
    assert "Sokha" in text and certificate.code in text and "SOGIE basics" in text
    assert f"/verify/{certificate.code}" in composed.text
    assert "Sokha" not in composed.subject  # discreet subject, no name, no title

    # The worker running again sends nothing twice.
    await certificates.render_pending(settings)
    assert await OutboxMessage.filter(kind=certificates.CERTIFICATE_MAIL).count() == 1


async def test_verification_never_names_the_holder_and_checks_a_typed_name(
    client: httpx.AsyncClient, new_client: Any, settings: Settings, training: dict[str, Any]
) -> None:
    code = await _sokhas_certificate(client, settings, training)

    async with new_client() as visitor:
        facts = await visitor.get(f"/api/v1/certificates/{code}")
        assert facts.status_code == 200
        assert facts.json()["status"] == "valid"
        assert facts.json()["training"]["title_en"] == "SOGIE basics"
        assert "Sokha" not in facts.text

        page = await visitor.get(f"/verify/{code.lower().replace('-', '')}")
        assert page.status_code == 200
        assert "Valid certificate" in page.text and "Sokha" not in page.text

        token = csrf_from(page.text)
        wrong = await visitor.post(f"/verify/{code}", data={"name": "Vanna", "csrf_token": token})
        assert "does not match" in wrong.text and "Sokha" not in wrong.text
        right = await visitor.post(
            f"/verify/{code}", data={"name": "  sokha ", "csrf_token": token}
        )
        assert "The name matches this certificate." in right.text

        for _ in range(3):
            await visitor.post(f"/verify/{code}", data={"name": "Guess", "csrf_token": token})
        limited = await visitor.post(f"/verify/{code}", data={"name": "Sokha", "csrf_token": token})
        assert limited.status_code == 429
        assert "data-match" not in limited.text  # no answer, right or wrong, once limited
        assert "Too many attempts" in limited.text

        for bad in ("ZZZZ-ZZZZ-ZZZZ", "not-a-code", "<script>"):
            unknown = await visitor.get(f"/verify/{bad}")
            assert unknown.status_code == 404
            assert "Unknown certificate" in unknown.text
            assert "<script>" not in unknown.text
            assert (await visitor.get(f"/api/v1/certificates/{bad}")).status_code == 404


async def test_revoke_keeps_the_reason_and_reissue_gives_a_new_code(
    client: httpx.AsyncClient, settings: Settings, training: dict[str, Any]
) -> None:
    session = training["session"]
    headers = training["headers"]
    code = await _sokhas_certificate(client, settings, training)

    no_reason = await client.post(f"/api/v1/certificates/{code}/reissue", json={}, headers=headers)
    assert no_reason.status_code == 422

    reissued = await client.post(
        f"/api/v1/certificates/{code}/reissue", json={"reason": "name misspelt"}, headers=headers
    )
    assert reissued.status_code == 201
    new_code = reissued.json()["code"]
    assert new_code != code
    old = await Certificate.get(code=code)
    assert old.status == CertificateStatus.REVOKED and old.revoked_reason == "name misspelt"
    assert (await client.get(f"/api/v1/certificates/{code}")).json()["status"] == "revoked"
    assert (await client.get(f"/api/v1/certificates/{new_code}")).json()["status"] == "valid"
    assert "revoked" in (await client.get(f"/verify/{code}")).text

    # Issuing again does not bring back a second valid one.
    assert (
        await client.post(f"/api/v1/sessions/{session.id}/certificates", headers=headers)
    ).json() == []

    revoked = await client.post(
        f"/api/v1/certificates/{new_code}/revoke",
        json={"reason": "issued by mistake"},
        headers=headers,
    )
    assert revoked.json()["status"] == "revoked"
    # Revoked stays revoked: issuing to everyone does not bring it back (see below).
    assert (
        await client.post(f"/api/v1/sessions/{session.id}/certificates", headers=headers)
    ).json() == []


async def test_a_revoked_certificate_stays_revoked_until_it_is_reissued(
    client: httpx.AsyncClient, settings: Settings, training: dict[str, Any]
) -> None:
    """Issuing to everyone checked in (API and staff page), or picking the person, skips
    someone whose certificate was revoked; reissuing is the explicit way back."""
    session, headers, people = training["session"], training["headers"], training["people"]
    url = f"/api/v1/sessions/{session.id}/certificates"
    code = await _sokhas_certificate(client, settings, training)
    revoked = await client.post(
        f"/api/v1/certificates/{code}/revoke", json={"reason": "did not attend"}, headers=headers
    )
    assert revoked.json()["status"] == "revoked"

    await _check_in(client, people["Vanna"], headers, settings)
    by_api = await client.post(url, headers=headers)
    assert [c["registration_id"] for c in by_api.json()] == [people["Vanna"].id]
    picked = await client.post(
        url, json={"registration_ids": [people["Sokha"].id]}, headers=headers
    )
    assert picked.json() == []

    await log_in(client, training["facilitator"])
    path = f"/staff/sessions/{session.id}/certificates"
    page = await client.get(path)
    assert "0 of 2 attendees checked in have no certificate yet." in page.text
    assert "<h2>Revoked certificates</h2>" in page.text and code in page.text
    answer = await client.post(
        path, data={"action": "issue_all", "csrf_token": csrf_from(page.text)}
    )
    assert answer.status_code == 303
    sokhas = await Certificate.filter(registration_id=people["Sokha"].id)
    assert [(c.code, c.status) for c in sokhas] == [(code, CertificateStatus.REVOKED)]
    verified = (await client.get(f"/api/v1/certificates/{code}")).json()
    assert verified["status"] == "revoked"

    reissued = await client.post(
        path,
        data={
            "action": "reissue",
            "certificate_id": str(sokhas[0].id),
            "reason": "attended after all",
            "csrf_token": csrf_from(page.text),
        },
    )
    assert reissued.status_code == 303
    valid = await Certificate.get(registration_id=people["Sokha"].id, status="valid")
    assert valid.code != code
    page = await client.get(path)
    assert "<h2>Revoked certificates</h2>" not in page.text


async def test_only_the_sessions_staff_issue_revoke_or_download(
    client: httpx.AsyncClient, settings: Settings, training: dict[str, Any]
) -> None:
    session = training["session"]
    headers = training["headers"]
    code = await _sokhas_certificate(client, settings, training)
    for role in (Role.FACILITATOR, Role.TEAM_LEADER):
        other = await token_for(await make_staff(role))
        assert (
            await client.post(f"/api/v1/sessions/{session.id}/certificates", headers=other)
        ).status_code == 403
        assert (
            await client.get(f"/api/v1/certificates/{code}/pdf", headers=other)
        ).status_code == 403
        revoke = await client.post(
            f"/api/v1/certificates/{code}/revoke", json={"reason": "x"}, headers=other
        )
        assert revoke.status_code == 403
    assert (await client.get(f"/api/v1/certificates/{code}/pdf")).status_code == 401
    pdf = await client.get(f"/api/v1/certificates/{code}/pdf", headers=headers)
    assert pdf.headers["content-type"] == "application/pdf" and pdf.content.startswith(b"%PDF")


async def test_holder_downloads_from_the_manage_page_also_with_a_neutral_title(
    client: httpx.AsyncClient, settings: Settings, training: dict[str, Any]
) -> None:
    session = training["session"]
    headers = training["headers"]
    people = training["people"]
    await _check_in(client, people["Sokha"], headers, settings)
    await client.post(f"/api/v1/sessions/{session.id}/certificates", headers=headers)
    manage = manage_url(people["Sokha"], settings).removeprefix(settings.base_url)
    page = await client.get(manage)
    assert "Download my certificate" in page.text
    usual = await client.get(f"{manage}/certificate.pdf")
    assert usual.status_code == 200 and "SOGIE basics" in _text(usual.content)
    neutral = _text((await client.get(f"{manage}/certificate.pdf?neutral=1")).content)
    assert "Human rights training" in neutral and "SOGIE" not in neutral and "Sokha" in neutral

    # A name correction carries over to the certificate.
    form = {"chosen_name": "Sokha Chan", "csrf_token": csrf_from(page.text)}
    await client.post(f"{manage}/name", data=form)
    assert "Sokha Chan" in _text((await client.get(f"{manage}/certificate.pdf")).content)

    # Someone who never attended has nothing to download.
    later = manage_url(people["Later"], settings).removeprefix(settings.base_url)
    assert (await client.get(f"{later}/certificate.pdf")).status_code == 404


async def test_deleting_my_data_revokes_my_certificate_and_removes_my_name(
    client: httpx.AsyncClient, settings: Settings, training: dict[str, Any]
) -> None:
    people = training["people"]
    code = await _sokhas_certificate(client, settings, training)
    await certificates.render_pending(settings)
    copies = settings.data_dir / "certificates"
    assert list(copies.glob(f"{code}-*.pdf")), "the worker kept no PDF to remove"
    from attendees.manage import delete_personal_data

    await delete_personal_data(
        await Registration.get(id=people["Sokha"].id).prefetch_related("person"), settings
    )
    certificate = await Certificate.get(code=code)
    assert certificate.holder_name == "" and certificate.status == CertificateStatus.REVOKED
    assert not list(copies.glob(f"{code}-*.pdf"))


async def test_staff_page_issues_and_shows_progress(
    client: httpx.AsyncClient, settings: Settings, training: dict[str, Any]
) -> None:
    session = training["session"]
    headers = training["headers"]
    people = training["people"]
    await log_in(client, training["facilitator"])
    path = f"/staff/sessions/{session.id}/certificates"
    page = await client.get(path)
    assert "Nobody was checked in" in page.text
    refused = await client.post(
        path, data={"action": "issue_all", "csrf_token": csrf_from(page.text)}
    )
    assert refused.status_code == 409 and "Nobody was checked in" in refused.text

    await _check_in(client, people["Vanna"], headers, settings)
    page = await client.get(path)
    answer = await client.post(
        path, data={"action": "issue_all", "csrf_token": csrf_from(page.text)}
    )
    assert answer.status_code == 303
    page = await client.get(path)
    assert 'id="certificate-progress"' in page.text
    progress = (await client.get(f"{path}/progress.json")).json()
    assert progress["total"] == 1
    await certificates.render_pending(settings)
    assert (await client.get(f"{path}/progress.json")).json()["finished"] is True


def _png(size: tuple[int, int] = (60, 30)) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", size, (10, 60, 90)).save(out, format="PNG")
    return out.getvalue()


async def test_admin_sets_wording_logo_and_signatures_with_clear_refusals(
    client: httpx.AsyncClient, new_client: Any, settings: Settings
) -> None:
    admin = await make_staff(Role.ADMIN)
    await log_in(client, admin)
    page = await client.get("/staff/certificates/design?topic=sogie")
    assert page.status_code == 200
    token = csrf_from(page.text)

    bad_placeholder = {
        "part": "wording", "csrf_token": token, "body_km": "{title}", "body_en": "did {nonsense}",
        "neutral_title_km": "x", "neutral_title_en": "y",
    }  # fmt: skip
    refused = await client.post("/staff/certificates/design?topic=sogie", data=bad_placeholder)
    assert refused.status_code == 422 and "Unknown placeholder" in refused.text

    wording = {**bad_placeholder, "body_en": "took part in {title} on {dates}"}
    saved = await client.post("/staff/certificates/design?topic=sogie", data=wording)
    assert saved.status_code == 303
    assert (await certificates.wording_for("sogie"))["body_en"] == "took part in {title} on {dates}"
    assert (await certificates.wording_for("human-rights"))["body_en"].startswith("has completed")

    preview = await client.post("/staff/certificates/preview?topic=sogie", data=wording)
    assert preview.headers["content-type"] == "application/pdf"
    assert "took part in Sample training" in _text(preview.content).replace("\n", " ")

    files = {"image_logo": ("logo.gif", b"GIF89a not really", "image/gif")}
    wrong_type = await client.post(
        "/staff/certificates/design", data={"part": "images", "csrf_token": token}, files=files
    )
    assert wrong_type.status_code == 422 and "Upload a PNG or JPEG image." in wrong_type.text
    huge = {"image_logo": ("logo.png", b"\x89PNG" + b"0" * 1_100_000, "image/png")}
    too_big = await client.post(
        "/staff/certificates/design", data={"part": "images", "csrf_token": token}, files=huge
    )
    assert too_big.status_code == 422 and "at most 1 MB" in too_big.text

    upload = await client.post(
        "/staff/certificates/design",
        data={
            "part": "images",
            "csrf_token": token,
            "signatory_1_name": "Srey Leak",
            "signatory_1_role": "Director",
        },
        files={
            "image_logo": ("logo.png", _png(), "image/png"),
            "image_signature-1": ("s.png", _png(), "image/png"),
        },
    )
    assert upload.status_code == 303
    assert await certificates.image_names() == {"logo", "signature-1"}
    preview = await client.post("/staff/certificates/preview?topic=sogie", data=wording)
    assert "Srey Leak" in _text(preview.content) and "Director" in _text(preview.content)

    async with new_client() as other:
        await log_in(other, await make_staff(Role.FACILITATOR))
        assert (await other.get("/staff/certificates/design")).status_code == 403


async def test_reissuing_twice_is_a_conflict_not_a_crash(
    client: httpx.AsyncClient, settings: Settings, training: dict[str, Any]
) -> None:
    session = training["session"]
    headers = training["headers"]
    people = training["people"]
    await _check_in(client, people["Sokha"], headers, settings)
    url = f"/api/v1/sessions/{session.id}/certificates"
    code = (await client.post(url, headers=headers)).json()[0]["code"]
    reason = {"reason": "typo"}
    first = await client.post(f"/api/v1/certificates/{code}/reissue", json=reason, headers=headers)
    assert first.status_code == 201
    second = await client.post(f"/api/v1/certificates/{code}/reissue", json=reason, headers=headers)
    assert second.status_code == 409
    assert second.json()["error"]["code"] == "certificate_replaced"
    valid = await Certificate.filter(
        registration_id=people["Sokha"].id, status=CertificateStatus.VALID
    ).count()
    assert valid == 1


# ----------------------------------------------------------------------------- the neutral copy

NEUTRAL_TITLE_EN = certificates.DEFAULT_WORDING["neutral_title_en"]
NEUTRAL_TITLE_KM = certificates.DEFAULT_WORDING["neutral_title_km"]
SECRET_TITLE_EN = "Gender identity at work"
SECRET_TITLE_KM = "អត្តសញ្ញាណយេនឌ័រនៅកន្លែងធ្វើការ"
SECRET_VENUE = "Rainbow Hall, Toul Kork"
ANY_CODE = re.compile(r"[2-9A-HJ-NP-Z]{4}-[2-9A-HJ-NP-Z]{4}-[2-9A-HJ-NP-Z]{4}")


@pytest.fixture
async def attended(client: httpx.AsyncClient, settings: Settings) -> dict[str, Any]:
    """Sokha checked in at a SOGIE training whose venue and date the public calendar lists,
    and her certificate issued."""
    facilitator = await make_staff(Role.FACILITATOR)
    session = await make_session(
        facilitators=(facilitator,),
        title_en=SECRET_TITLE_EN,
        title_km=SECRET_TITLE_KM,
        venue_name=SECRET_VENUE,
    )
    registration = (
        await register_person(session, settings, chosen_name="Sokha", email="sokha@example.org")
    ).registration
    headers = await token_for(facilitator)
    await _check_in(client, registration, headers, settings)
    url = f"/api/v1/sessions/{session.id}/certificates"
    code = (await client.post(url, headers=headers)).json()[0]["code"]
    return {
        "registration": registration,
        "headers": headers,
        "certificate": await Certificate.get(code=code),
        "manage": manage_url(registration, settings).removeprefix(settings.base_url),
    }


async def _giveaways(certificate: Certificate) -> list[str]:
    """What would tell someone which training this was, alone or with the public calendar:
    the titles, the topic, the venue, the dates, and the real code (which shows them all)."""
    topic = await Topic.get(code=certificate.topic_code)
    start = certificate.starts_at.astimezone(ZoneInfo(certificate.timezone))
    dates = []
    for language in ("en", "km"):
        with in_language(language):
            dates.append(format_date(start, fmt="long"))
    return [
        SECRET_TITLE_EN, SECRET_TITLE_KM, topic.name_en, topic.name_km, certificate.topic_code,
        SECRET_VENUE, *dates, start.date().isoformat(), certificate.code,
    ]  # fmt: skip


def _squeezed(text: str) -> str:
    """Spaces and case aside (text extraction may put spaces inside Khmer words)."""
    return "".join(text.split()).casefold()


def _assert_gives_away_nothing(text: str, giveaways: list[str], where: str) -> None:
    squeezed = _squeezed(text)
    for word in giveaways:
        assert _squeezed(word) not in squeezed, f"{where} shows {word!r}"


def _tool(name: str) -> str:
    found = shutil.which(name)
    if found is None:
        reason = f"{name} is missing (apt-get install poppler-utils)"
        if os.environ.get("CI") == "true":
            pytest.fail(f"{reason}; CI=true: the PDF must be read on CI", pytrace=False)
        pytest.skip(reason)
    return found


def _read_like_a_person(pdf: bytes, folder: Path) -> tuple[str, list[str]]:
    """The PDF's text as pypdf and poppler's pdftotext read it, and the QR codes that a real
    decoder (zxing-cpp) finds on the page rendered by pdftoppm."""
    source = folder / "copy.pdf"
    source.write_bytes(pdf)
    poppler = subprocess.run(
        [_tool("pdftotext"), "-enc", "UTF-8", str(source), "-"], check=True, capture_output=True
    ).stdout.decode()
    subprocess.run(
        [_tool("pdftoppm"), "-png", "-r", "150", "-singlefile", str(source), str(folder / "page")],
        check=True,
    )
    qr = [found.text for found in zxingcpp.read_barcodes(Image.open(folder / "page.png"))]
    return f"{_text(pdf)}\n{poppler}", qr


async def test_the_neutral_copy_and_its_code_never_tell_which_training_it_was(
    client: httpx.AsyncClient,
    new_client: Any,
    settings: Settings,
    attended: dict[str, Any],
    tmp_path: Path,
) -> None:
    """The attack of issue 11: an employer (or anyone) holding the neutral copy reads its
    text and its QR code, then asks /verify and the API about what they found."""
    certificate: Certificate = attended["certificate"]
    giveaways = await _giveaways(certificate)
    download = await client.get(f"{attended['manage']}/certificate.pdf?neutral=1")
    assert download.status_code == 200
    text, qr = _read_like_a_person(download.content, tmp_path)

    # The copy prints a code of its own, in its text and in its QR code, and the holder.
    (printed,) = set(ANY_CODE.findall("".join(text.split())))
    assert printed != certificate.code
    assert qr == [f"{settings.base_url}/verify/{printed}"]
    assert "Sokha" in text and NEUTRAL_TITLE_EN in text
    _assert_gives_away_nothing(text, giveaways, "the neutral PDF")
    assert printed in download.headers["content-disposition"]
    assert certificate.code not in download.headers["content-disposition"]
    metadata = {
        k: str(v) for k, v in (pypdf.PdfReader(io.BytesIO(download.content)).metadata or {}).items()
    }
    assert metadata["/Title"] == f"Certificate {printed}"
    assert metadata["/Subject"] == NEUTRAL_TITLE_EN
    assert "/CreationDate" not in metadata  # made on the day of the training, it would tell
    _assert_gives_away_nothing(" ".join(metadata.values()), giveaways, "the PDF's metadata")

    # The same readers do find all of it on the real certificate: the check above can see.
    real_text, real_qr = _read_like_a_person(
        (await client.get(f"{attended['manage']}/certificate.pdf")).content, tmp_path
    )
    for word in (SECRET_TITLE_EN, SECRET_TITLE_KM, SECRET_VENUE, certificate.code):
        assert _squeezed(word) in _squeezed(real_text)
    assert real_qr == [f"{settings.base_url}/verify/{certificate.code}"]

    async with new_client() as employer:
        path = qr[0].removeprefix(settings.base_url)
        for query in ("", "?copy=neutral", "?copy=full", "?copy=real&neutral=0"):
            for language, neutral_title in (("en", NEUTRAL_TITLE_EN), ("km", NEUTRAL_TITLE_KM)):
                glue = "&" if query else "?"
                page = await employer.get(f"{path}{query}{glue}lang={language}")
                assert page.status_code == 200
                assert 'data-status="valid"' in page.text and neutral_title in page.text
                assert settings.organisation_name in page.text
                _assert_gives_away_nothing(page.text, giveaways, f"/verify{query} ({language})")
                facts = await employer.get(
                    f"/api/v1/certificates/{printed}{query}",
                    headers={"accept-language": language},
                )
                assert facts.json()["status"] == "valid"
                assert facts.json()["code"] == printed
                assert facts.json()["training"]["title_en"] == NEUTRAL_TITLE_EN
                assert facts.json()["starts_at"] is None and facts.json()["dates"] == ""
                _assert_gives_away_nothing(facts.text, giveaways, f"the API{query} ({language})")

        # Typed by hand, as printed under the QR code.
        typed = await employer.get(
            "/verify",
            params={"code": printed.lower().replace("-", " "), "lang": "en"},
            follow_redirects=True,
        )
        assert NEUTRAL_TITLE_EN in typed.text
        _assert_gives_away_nothing(typed.text, giveaways, "the typed code's page")

        # The name check works on the neutral code, and stays on it.
        page = await employer.get(path)
        assert f'action="/verify/{printed}"' in page.text
        checked = await employer.post(
            path, data={"name": "sokha", "csrf_token": csrf_from(page.text)}
        )
        assert 'data-match="yes"' in checked.text
        _assert_gives_away_nothing(checked.text, giveaways, "the name check's answer")

    # The neutral copy is never kept on disk, so the cache cannot hand it out for the real one.
    kept = settings.data_dir / "certificates"
    assert not [p for p in kept.glob("*") if printed in p.name]


async def test_the_real_code_still_shows_the_training_whatever_the_query_string(
    client: httpx.AsyncClient, settings: Settings, attended: dict[str, Any]
) -> None:
    certificate: Certificate = attended["certificate"]
    for query in ("", "?copy=neutral"):
        page = await client.get(f"/verify/{certificate.code}{query}")
        assert page.status_code == 200 and 'data-status="valid"' in page.text
        assert SECRET_TITLE_EN in page.text and "SOGIE" in page.text
        assert NEUTRAL_TITLE_EN not in page.text
        assert str(certificate.neutral_code) not in page.text
        facts = (await client.get(f"/api/v1/certificates/{certificate.code}{query}")).json()
        assert facts["code"] == certificate.code
        assert facts["training"]["title_en"] == SECRET_TITLE_EN
        assert facts["training"]["topic"] == "sogie" and facts["dates"]
    await certificates.render_pending(settings)
    messages = await OutboxMessage.filter(kind=certificates.CERTIFICATE_MAIL)
    composed = await mail.compose(MAIL_COMPOSERS, messages[0], settings)
    assert f"/verify/{certificate.code}" in composed.text
    (pdf,) = [a for a in composed.attachments if a.content_type == "application/pdf"]
    assert SECRET_TITLE_EN in _text(pdf.data) and certificate.code in _text(pdf.data)


async def test_revoking_and_reissuing_cover_the_neutral_code(
    client: httpx.AsyncClient, settings: Settings, attended: dict[str, Any]
) -> None:
    old: Certificate = attended["certificate"]
    headers = attended["headers"]
    assert old.neutral_code and CODE.match(old.neutral_code) and old.neutral_code != old.code

    reissued = await client.post(
        f"/api/v1/certificates/{old.code}/reissue", json={"reason": "typo"}, headers=headers
    )
    new = await Certificate.get(code=reissued.json()["code"])
    assert new.neutral_code and new.neutral_code not in (old.neutral_code, new.code)
    old_copy = (await client.get(f"/api/v1/certificates/{old.neutral_code}")).json()
    assert old_copy["status"] == "revoked" and old_copy["revoked_at"] is None
    assert 'data-status="revoked"' in (await client.get(f"/verify/{old.neutral_code}")).text
    assert (await client.get(f"/api/v1/certificates/{new.neutral_code}")).json()["status"] == (
        "valid"
    )
    neutral = _text((await client.get(f"{attended['manage']}/certificate.pdf?neutral=1")).content)
    assert new.neutral_code in neutral and old.neutral_code not in neutral

    await client.post(
        f"/api/v1/certificates/{new.code}/revoke", json={"reason": "mistake"}, headers=headers
    )
    page = await client.get(f"/verify/{new.neutral_code}")
    assert 'data-status="revoked"' in page.text and SECRET_TITLE_EN not in page.text


async def test_a_certificate_issued_before_neutral_codes_gets_one_when_first_needed(
    client: httpx.AsyncClient, settings: Settings, attended: dict[str, Any]
) -> None:
    certificate: Certificate = attended["certificate"]
    await Certificate.filter(id=certificate.id).update(neutral_code=None)
    first, second = (
        await Certificate.get(id=certificate.id),
        await Certificate.get(id=certificate.id),
    )
    codes = await asyncio.gather(
        certificates.neutral_code_of(first), certificates.neutral_code_of(second)
    )
    stored = (await Certificate.get(id=certificate.id)).neutral_code
    assert codes[0] == codes[1] == stored and CODE.match(str(stored))

    await Certificate.filter(id=certificate.id).update(neutral_code=None)
    download = await client.get(f"{attended['manage']}/certificate.pdf?neutral=1")
    made = (await Certificate.get(id=certificate.id)).neutral_code
    assert made and made != stored and made in _text(download.content)
    assert certificate.code not in _text(download.content)
    page = await client.get(f"/verify/{made}")
    assert NEUTRAL_TITLE_EN in page.text and SECRET_TITLE_EN not in page.text


# ----------------------------------------------------------------------------- name checks


def _from_address(app: Starlette, address: str) -> httpx.AsyncClient:
    """A visitor at another IP address."""
    return httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app, client=(address, 40000)),
        base_url="http://testserver",
        headers={"accept-language": "en"},
    )


async def _check_name(visitor: httpx.AsyncClient, code: str, name: str) -> httpx.Response:
    page = await visitor.get(f"/verify/{code}")
    return await visitor.post(
        f"/verify/{code}", data={"name": name, "csrf_token": csrf_from(page.text)}
    )


async def test_one_address_using_up_its_name_checks_leaves_them_to_everyone_else(
    app: Starlette, settings: Settings, attended: dict[str, Any]
) -> None:
    certificate: Certificate = attended["certificate"]
    code, neutral = certificate.code, str(certificate.neutral_code)
    async with _from_address(app, "203.0.113.7") as guesser:
        for _ in range(5):
            assert 'data-match="no"' in (await _check_name(guesser, code, "Guess")).text
        refused = await _check_name(guesser, code, "Sokha")
        assert refused.status_code == 429 and "data-match" not in refused.text

    async with _from_address(app, "198.51.100.20") as employer:
        checked = await _check_name(employer, code, "Sokha")
        assert checked.status_code == 200 and 'data-match="yes"' in checked.text
        # The neutral copy's code checks the name the same way.
        checked = await _check_name(employer, neutral, "Sokha")
        assert checked.status_code == 200 and 'data-match="yes"' in checked.text

    async with _from_address(app, "203.0.113.7") as guesser:
        # The neutral copy's code is the same certificate: no fresh tries there.
        assert (await _check_name(guesser, neutral, "Sokha")).status_code == 429

    # Spread over many addresses, a code still has a ceiling (50 an hour, whoever asks).
    for index in range(50 - 7):
        async with _from_address(app, f"192.0.2.{index + 1}") as visitor:
            assert (await _check_name(visitor, code, "Guess")).status_code == 200
    async with _from_address(app, "198.51.100.99") as late:
        assert (await _check_name(late, neutral, "Sokha")).status_code == 429


async def test_addresses_of_one_ipv6_network_share_one_budget(
    app: Starlette, settings: Settings, attended: dict[str, Any]
) -> None:
    """An IPv6 subscriber holds a whole /64: each of its 2^64 addresses must not bring five
    fresh guesses at a holder's name."""
    code = attended["certificate"].code
    for host in range(5):
        async with _from_address(app, f"2001:db8:1:2::{host + 1:x}") as guesser:
            assert (await _check_name(guesser, code, "Guess")).status_code == 200
    async with _from_address(app, "2001:db8:1:2:ffff::9") as guesser:
        assert (await _check_name(guesser, code, "Sokha")).status_code == 429
    async with _from_address(app, "2001:db8:1:3::1") as neighbour:  # another network
        checked = await _check_name(neighbour, code, "Sokha")
        assert checked.status_code == 200 and 'data-match="yes"' in checked.text
