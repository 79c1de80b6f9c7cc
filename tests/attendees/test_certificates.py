"""Certificates: issuing after check-in (idempotent), the PDF and its email, verification
that never names the holder, revoking and reissuing, the holder's download, the design."""

from __future__ import annotations

import io
import re
import uuid
from typing import Any

import httpx
import pypdf
import pytest
from PIL import Image

from attendees import certificates
from attendees.models import Certificate, CertificateStatus, Registration
from attendees.tickets import ticket_for
from sala import mail
from sala.config import Settings
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
        "token": ticket_for(registration, settings.data_dir),
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
    composed = await mail.compose(messages[0], settings)
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
    # Now nobody holds a valid one: issuing gives Sokha a fresh certificate.
    assert (
        len(
            (
                await client.post(f"/api/v1/sessions/{session.id}/certificates", headers=headers)
            ).json()
        )
        == 1
    )


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
    from attendees.manage import manage_url

    manage = manage_url(people["Sokha"], settings).removeprefix(settings.base_url)
    page = await client.get(manage)
    assert "Download my certificate" in page.text
    usual = await client.get(f"{manage}/certificate.pdf")
    assert usual.status_code == 200 and "SOGIE basics" in _text(usual.content)
    neutral = _text((await client.get(f"{manage}/certificate.pdf?neutral=1")).content)
    assert "Human rights training" in neutral and "SOGIE" not in neutral and "Sokha" in neutral
    # Its link leads an employer to the neutral title too, not the training's topic.
    code = (await Certificate.get(registration_id=people["Sokha"].id)).code
    assert f"/verify/{code}?copy=neutral" in neutral.replace("\n", "")
    page = await client.get(f"/verify/{code}?copy=neutral")
    main = page.text.split("<main", 1)[1].split("</main>", 1)[0]
    assert "Human rights training" in main and "SOGIE" not in main
    assert "SOGIE" not in page.text.split("</head>", 1)[0]  # nor in the page's description
    facts = (await client.get(f"/api/v1/certificates/{code}?copy=neutral")).json()
    assert facts["training"]["title_en"] == "Human rights training"
    assert facts["training"]["topic"] == ""

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
