"""Certificates of attendance: issuing, the PDF, revoking and reissuing, verifying.

Issuing makes the certificate rows at once, in one transaction, for every checked-in
attendee (or those picked) who never had a certificate: a revoked one stays revoked, and
reissuing is the explicit way back. The database refuses a second valid one per
registration (``Certificate.valid_for_registration`` is unique), so issuing twice, or two
facilitators at once, never doubles one. The slow part, the PDF and
the email that carries it, is done by the worker (:func:`render_pending`), which the staff
page follows as a progress bar; closing the page stops nothing.

A certificate's code is 12 characters of an alphabet without look-alikes (no 0/O, 1/I),
shown as ``XXXX-XXXX-XXXX``: 60 random bits, so codes cannot be guessed or walked. The
verification page (``/verify/{code}``) says valid, revoked or unknown with the training,
date and issuer; the holder's name only ever as "matches" or "does not match" what the
visitor typed.

The holder's neutral copy (to show an employer) carries a second code of its own,
``neutral_code``, which only ever verifies as that copy: the neutral title and the issuer,
with no title, topic, place or date that could lead back to the training through the public
calendar. Nothing in a request (a query string) turns one view into the other.
"""

from __future__ import annotations

import asyncio
import hashlib
import io
import logging
import os
import re
import secrets
import time
import unicodedata
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from PIL import Image
from tortoise.exceptions import IntegrityError
from tortoise.expressions import Q
from tortoise.transactions import in_transaction

from attendees.models import Person, Registration, RegistrationStatus
from certificates import rendering
from certificates.errors import (
    CertificateHolderGone,
    CertificateNotFound,
    CertificateReplaced,
    NoCheckIns,
)
from certificates.models import (
    Certificate,
    CertificateImage,
    CertificateKind,
    CertificateRun,
    CertificateSignatory,
    CertificateStatus,
    CertificateWording,
)
from certificates.pdf.page import CertificateContent, Signature
from events.models import Session, Topic
from events.services import get_session_for_staff
from sala import audit, db, links, mail
from sala.config import Settings
from sala.errorlog import log_error
from sala.errors import PermissionDenied, ValidationFailed
from sala.forms import FieldReader
from sala.i18n import N_, current_language, format_date, in_language
from sala.models import StaffUser

log = logging.getLogger("sala.certificates")

CERTIFICATE_MAIL = "certificate_issued"
CODE_ALPHABET = "23456789ABCDEFGHJKLMNPQRSTUVWXYZ"
CODE_LENGTH = 12
RENDER_BATCH = 10
PLACEHOLDERS = ("name", "title", "topic", "dates", "place", "organisation")
_PLACEHOLDER = re.compile(r"\{(\w+)\}")

CURRICULUM_WORDING = {
    "body_km": "បានបញ្ចប់គ្រប់ម៉ូឌុលនៃ «{title}»",
    "body_en": "has completed every module of “{title}”",
    "neutral_title_km": "កម្មវិធីសិក្សាការកសាងក្រុម",
    "neutral_title_en": "Team-building curriculum",
}

DEFAULT_WORDING = {
    "body_km": "បានបញ្ចប់វគ្គបណ្តុះបណ្តាល «{title}»",
    "body_en": "has completed the training “{title}”",
    "neutral_title_km": "វគ្គបណ្តុះបណ្តាលស្តីពីសិទ្ធិមនុស្ស",
    "neutral_title_en": "Human rights training",
}

# The neutral copy's words are fixed: a topic's own wording may name the topic, its place
# or its dates in plain words, so only its neutral title is taken from it.
NEUTRAL_BODY = {"body_km": DEFAULT_WORDING["body_km"], "body_en": DEFAULT_WORDING["body_en"]}


# ----------------------------------------------------------------------------- codes


def new_code() -> str:
    raw = "".join(secrets.choice(CODE_ALPHABET) for _ in range(CODE_LENGTH))
    return f"{raw[:4]}-{raw[4:8]}-{raw[8:]}"


async def neutral_code_of(certificate: Certificate) -> str:
    """The code of the certificate's neutral copy, made the first time it is needed
    (certificates issued before neutral copies had codes of their own).

    A conditional update: two requests at once both end with the code that was stored first.
    """
    if certificate.neutral_code:
        return certificate.neutral_code
    await Certificate.filter(id=certificate.id, neutral_code__isnull=True).update(
        neutral_code=new_code()
    )
    stored = await Certificate.filter(id=certificate.id).values_list("neutral_code", flat=True)
    certificate.neutral_code = str(stored[0])
    return certificate.neutral_code


def normalise_code(text: str) -> str | None:
    """The code as stored, from what someone typed or a link held; None if it cannot be one."""
    raw = "".join(char for char in text.upper() if char not in " -")
    if len(raw) != CODE_LENGTH or any(char not in CODE_ALPHABET for char in raw):
        return None
    return f"{raw[:4]}-{raw[4:8]}-{raw[8:]}"


# ----------------------------------------------------------------------------- issuing


@dataclass(frozen=True)
class IssueOutcome:
    run: CertificateRun | None
    issued: list[Certificate]


async def issue_certificates(
    session_id: int,
    *,
    staff: StaffUser,
    registration_ids: list[int] | None = None,
) -> IssueOutcome:
    """Certificates for every checked-in attendee who never had one (or for those picked).

    Someone whose certificate was revoked is skipped: :func:`reissue_certificate` gives it
    back, on purpose, one person at a time."""
    session = await get_session_for_staff(staff, session_id)
    await session.fetch_related("topic")
    attended = await Registration.filter(
        session_id=session.id,
        status=RegistrationStatus.CONFIRMED,
        checked_in_at__isnull=False,
        anonymised_at=None,
    )
    if not attended:
        raise NoCheckIns()
    if registration_ids is not None:
        known = {r.id for r in attended}
        if not registration_ids or not set(registration_ids) <= known:
            raise ValidationFailed(
                {"registration_ids": N_("Pick attendees who were checked in at this session.")}
            )
        attended = [r for r in attended if r.id in set(registration_ids)]
    # Anyone who ever held one is skipped: a valid one is not doubled, and a revoked one
    # stays revoked (reissuing it is the explicit way back).
    held = set(
        await Certificate.filter(registration_id__in=[r.id for r in attended]).values_list(
            "registration_id", flat=True
        )
    )
    missing = [r for r in attended if r.id not in held]
    if not missing:
        return IssueOutcome(None, [])
    async with in_transaction():
        run = await CertificateRun.create(session=session, requested_by=staff, total=0)
        await Certificate.bulk_create(
            [_certificate_for(r, session, run, staff) for r in missing], ignore_conflicts=True
        )
        issued = await Certificate.filter(run_id=run.id).order_by("id")
        run.total = len(issued)
        await run.save(update_fields=["total"])
        await audit.record(staff, "certificates.issue", session, {"count": len(issued)})
    return IssueOutcome(run, issued)


def _certificate_for(
    registration: Registration, session: Session, run: CertificateRun | None, staff: StaffUser
) -> Certificate:
    return Certificate(
        code=new_code(),
        neutral_code=new_code(),
        registration_id=registration.id,
        session_id=session.id,
        valid_for_registration=registration.id,
        run=run,
        holder_name=registration.chosen_name,
        language=registration.language,
        title_km=session.title_km,
        title_en=session.title_en,
        topic_code=session.topic.code,
        starts_at=session.starts_at,
        ends_at=session.ends_at,
        timezone=session.timezone,
        place=session.venue_name or "",
        issued_by=staff,
    )


async def run_progress(run: CertificateRun) -> dict[str, object]:
    done = await Certificate.filter(run_id=run.id, rendered_at__isnull=False).count()
    return {
        "run_id": run.id,
        "total": run.total,
        "done": done,
        "finished": done >= run.total,
    }


async def latest_run(session: Session) -> CertificateRun | None:
    return await CertificateRun.filter(session_id=session.id).first()


# ----------------------------------------------------------------------------- the worker


async def render_pending(settings: Settings, *, budget_seconds: float = 10.0) -> int:
    """Make the PDFs of newly issued certificates and queue their emails; the number done.

    Works for about ``budget_seconds`` a round, so the worker's other jobs (mail) go on.
    Safe with several workers: a PDF is made once whoever asks for it (a download, another
    worker: ``certificates.rendering.kept_pdf``), and only the worker that marks the
    certificate rendered queues its email.
    """
    deadline = time.monotonic() + budget_seconds
    done = 0
    failed: set[int] = set()  # tried again next round, not in a loop
    while time.monotonic() < deadline:
        pending = await Certificate.filter(
            rendered_at=None, status=CertificateStatus.VALID, id__not_in=failed or {0}
        ).limit(RENDER_BATCH)
        if not pending:
            break
        # A batch at once: the render processes make different certificates side by side.
        outcomes = await asyncio.gather(
            *(_render_and_send(certificate, settings) for certificate in pending),
            return_exceptions=True,
        )
        for certificate, outcome in zip(pending, outcomes, strict=True):
            if isinstance(outcome, Exception):
                log_error(log, outcome, "certificate %s could not be made", certificate.id)
                failed.add(certificate.id)
            elif isinstance(outcome, BaseException):
                raise outcome
            else:
                done += 1
    return done


async def _render_and_send(certificate: Certificate, settings: Settings) -> None:
    """One certificate's PDF (made once: a download may have made it already, or be making it
    now), then (once only) its email, which attaches the PDF kept here."""
    await certificate_pdf(certificate, settings)
    # A session's certificate goes to the email typed for its registration; a curriculum
    # certificate to the person's email on file.
    registration_id: int | None = certificate.registration_id  # type: ignore[attr-defined]
    registration = await Registration.get_or_none(id=registration_id)
    person_id: int | None = certificate.person_id  # type: ignore[attr-defined]
    person = None if registration else await Person.get_or_none(id=person_id)
    to = (registration.email if registration else person.email if person else None) or None
    async with in_transaction() as connection:
        marked = await db.execute(
            connection,
            "UPDATE certificate SET rendered_at = ? WHERE id = ? AND rendered_at IS NULL",
            [datetime.now(UTC), certificate.id],
        )
        if marked and to:
            query = mail.outbox_insert(
                CERTIFICATE_MAIL,
                to=to,
                language=certificate.language,
                params={"certificate_id": certificate.id},
                domain=settings.domain,
            )
            await db.execute(connection, query.sql, query.params)


# ----------------------------------------------------------------------------- the PDF


def _cache_path(settings: Settings, certificate: Certificate, design: str) -> Path:
    """Named after the code, the name printed and the design it was made with: a file made
    for a name the holder has since corrected, or before the logo, a signature or the wording
    changed, is never served, even if it was written after the change."""
    printed = hashlib.sha256(certificate.holder_name.encode()).hexdigest()[:8]
    return _folder(settings) / f"{certificate.code}-{printed}-{design}.pdf"


def _folder(settings: Settings) -> Path:
    return settings.data_dir / "certificates"


def _design_mark(settings: Settings) -> str:
    """The current design's mark (8 hex digits), kept in the data dir next to the PDFs it
    names, so every process of the installation sees a change at once."""
    try:
        return (_folder(settings) / "design").read_text().strip() or "0"
    except FileNotFoundError:
        return "0"


def _design_changed(settings: Settings) -> None:
    """After a change of logo, signature or wording (committed): a new mark, then the kept
    PDFs of older designs go. Each is made again, once, when next asked for."""
    folder = _folder(settings)
    folder.mkdir(parents=True, exist_ok=True)
    mark = secrets.token_hex(4)
    temporary = folder / f"design.{secrets.token_hex(4)}.tmp"
    temporary.write_text(mark)
    os.replace(temporary, folder / "design")
    # After the new mark: a render of the old design either finds it when it checks after
    # writing (and removes its file), or wrote before this and is removed here.
    for path in folder.glob("*.pdf"):
        if not path.stem.endswith(f"-{mark}"):
            path.unlink(missing_ok=True)


async def certificate_pdf(
    certificate: Certificate, settings: Settings, *, neutral: bool = False
) -> bytes:
    """The certificate's PDF, made in the render processes (``certificates.rendering``).

    The holder's usual copy of a valid certificate is kept in the data dir, made once
    whoever asks first (a download, the worker) and whoever asks at the same time. The
    neutral copy is made each time it is asked for and never written to disk, so the cache
    (named after the real code) can never hand out one for the other; nor is the copy of a
    revoked certificate (staff may still look at it)."""
    if neutral or certificate.status != CertificateStatus.VALID:
        return await rendering.render(
            await certificate_content(certificate, settings, neutral=neutral)
        )
    design = _design_mark(settings)

    async def printed() -> CertificateContent:
        return await certificate_content(certificate, settings)

    async def still_current() -> bool:
        """Still valid, with the name printed, in this design? (Asked after writing.)"""
        names = await Certificate.filter(
            id=certificate.id, status=CertificateStatus.VALID
        ).values_list("holder_name", flat=True)
        return list(names) == [certificate.holder_name] and _design_mark(settings) == design

    path = _cache_path(settings, certificate, design)
    return await rendering.kept_pdf(path, certificate.code, printed, still_current)


@dataclass(frozen=True)
class HolderCopy:
    """A PDF the holder downloads, and the file name to give it."""

    data: bytes
    filename: str


async def holder_copy(certificate: Certificate, settings: Settings, *, neutral: bool) -> HolderCopy:
    """The holder's certificate, or its neutral copy. The file is named after the code it
    prints: a neutral copy sent on by email must not carry the real code in its name."""
    data = await certificate_pdf(certificate, settings, neutral=neutral)
    code = await neutral_code_of(certificate) if neutral else certificate.code
    return HolderCopy(data, f"certificate-{code}.pdf")


def forget_pdf(certificate: Certificate, settings: Settings) -> None:
    """Remove every copy made of this certificate, whatever name or design it carried.

    Call it after the transaction that revoked the certificate or blanked or changed its
    name has committed: a render still under way then either sees that change when it checks
    after writing (``rendering.kept_pdf``) and removes its file, or wrote it before this.
    """
    for path in _folder(settings).glob(f"{certificate.code}-*.pdf"):
        path.unlink(missing_ok=True)


def _dates(certificate: Certificate, language: str) -> str:
    zone = ZoneInfo(certificate.timezone)
    start, end = certificate.starts_at.astimezone(zone), certificate.ends_at.astimezone(zone)
    with in_language(language):
        first = format_date(start, fmt="long")
        if start.date() == end.date():
            return first
        return f"{first} – {format_date(end, fmt='long')}"


# Wording is stored field by field, and only where an admin changed it: an empty field
# follows the level above (a topic's: the wording of every topic; that one: DEFAULT_WORDING),
# so saving the words a page showed unchanged freezes no copy, and a later change of the
# wording above (or of the defaults, in a new version) still reaches every topic.


async def _own_wording(topic_id: int | None) -> dict[str, str]:
    row = await CertificateWording.filter(topic_id=topic_id).first()
    return {field: getattr(row, field) if row else "" for field in DEFAULT_WORDING}


async def inherited_wording(topic: Topic | None) -> dict[str, str]:
    """What certificates of ``topic`` (None: of every topic) say where it has no words of its
    own."""
    if topic is None:
        return dict(DEFAULT_WORDING)
    general = await _own_wording(None)
    return {field: general[field] or DEFAULT_WORDING[field] for field in DEFAULT_WORDING}


async def wording_for(topic_code: str) -> dict[str, str]:
    """The words certificates of this topic carry ("": of a topic with none of its own)."""
    topic = await Topic.get_or_none(code=topic_code) if topic_code else None
    inherited = await inherited_wording(topic)
    own = await _own_wording(topic.id) if topic else await _own_wording(None)
    return {field: own[field] or inherited[field] for field in DEFAULT_WORDING}


async def _wording_of(certificate: Certificate) -> dict[str, str]:
    if certificate.kind == CertificateKind.CURRICULUM:
        return CURRICULUM_WORDING
    return await wording_for(certificate.topic_code)


def fill(template: str, values: dict[str, str]) -> str:
    """Put the values into a wording; unknown ``{words}`` stay as they are."""
    text = template
    for key, value in values.items():
        text = text.replace("{" + key + "}", value)
    return text


async def _design() -> tuple[bytes | None, tuple[Signature, ...]]:
    """The logo and the signatures, as uploaded by an admin."""
    images = {image.name: image.data for image in await CertificateImage.all()}
    signatures = tuple(
        Signature(s.name, s.role, images.get(f"signature-{s.position}"))
        for s in await CertificateSignatory.all().order_by("position")
    )
    return images.get("logo"), signatures


async def certificate_content(
    certificate: Certificate,
    settings: Settings,
    *,
    neutral: bool = False,
    wording: dict[str, str] | None = None,
) -> CertificateContent:
    if wording is None:
        wording = await _wording_of(certificate)
    if neutral:
        return await _neutral_content(certificate, settings, wording)
    topic = await Topic.get_or_none(code=certificate.topic_code) if certificate.topic_code else None
    title_km = certificate.title_km or certificate.title_en
    title_en = certificate.title_en or certificate.title_km
    topic_km = topic.name_km if topic else ""
    topic_en = topic.name_en if topic else ""
    organisation = settings.organisation_name
    values_km = {
        "name": certificate.holder_name,
        "title": title_km,
        "topic": topic_km,
        "dates": _dates(certificate, "km"),
        "place": certificate.place,
        "organisation": organisation,
    }
    values_en = {
        **values_km,
        "title": title_en,
        "topic": topic_en,
        "dates": _dates(certificate, "en"),
    }
    logo, signatures = await _design()
    return CertificateContent(
        holder_name=certificate.holder_name,
        body_km=fill(wording["body_km"], values_km),
        body_en=fill(wording["body_en"], values_en),
        title_km=title_km,
        title_en=title_en,
        topic_km=topic_km,
        topic_en=topic_en,
        dates_km=values_km["dates"],
        dates_en=values_en["dates"],
        place=certificate.place,
        organisation_km=organisation,
        organisation_en=organisation,
        code=certificate.code,
        verification_url=verification_url(certificate, settings),
        logo=logo,
        signatures=signatures,
        created_at=certificate.issued_at,
    )


async def _neutral_content(
    certificate: Certificate, settings: Settings, wording: dict[str, str]
) -> CertificateContent:
    """The neutral copy: the neutral title, its own code, and no topic, place or date (a
    date and the public calendar would find the training)."""
    code = await neutral_code_of(certificate)
    curriculum = certificate.kind == CertificateKind.CURRICULUM
    body = CURRICULUM_WORDING if curriculum else NEUTRAL_BODY
    title_km, title_en = wording["neutral_title_km"], wording["neutral_title_en"]
    organisation = settings.organisation_name
    blank = {"name": certificate.holder_name, "topic": "", "dates": "", "place": "",
             "organisation": organisation}  # fmt: skip
    logo, signatures = await _design()
    return CertificateContent(
        holder_name=certificate.holder_name,
        body_km=fill(body["body_km"], {**blank, "title": title_km}),
        body_en=fill(body["body_en"], {**blank, "title": title_en}),
        title_km=title_km,
        title_en=title_en,
        topic_km="",
        topic_en="",
        dates_km="",
        dates_en="",
        place="",
        organisation_km=organisation,
        organisation_en=organisation,
        code=code,
        verification_url=_verification_url(code, settings),
        logo=logo,
        signatures=signatures,
    )


def verification_url(certificate: Certificate, settings: Settings) -> str:
    """The certificate's page (the neutral copy prints the page of its own code)."""
    return _verification_url(certificate.code, settings)


def _verification_url(code: str, settings: Settings) -> str:
    return links.absolute_url(settings, "certificate_verify", code=code)


# ----------------------------------------------------------------------------- revoking


def _reason(raw: str) -> str:
    reader = FieldReader({"reason": raw})
    reason = reader.text("reason", max_length=300, required=True)
    if reader.errors:
        raise ValidationFailed(reader.errors)
    return reason


async def certificate_for_staff(staff: StaffUser, certificate_id: int) -> Certificate:
    """The certificate, if this staff member may manage it: admins all; a session's
    facilitators its certificates of attendance."""
    certificate = await Certificate.get_or_none(id=certificate_id)
    if certificate is None:
        raise CertificateNotFound()
    session_id: int | None = certificate.session_id  # type: ignore[attr-defined]
    if session_id is None:  # a curriculum certificate: admins only
        if not staff.is_admin:
            raise PermissionDenied()
        return certificate
    await get_session_for_staff(staff, session_id)  # events.services.runs_session
    return certificate


async def revoke_certificate(
    certificate_id: int, *, staff: StaffUser, reason: str, settings: Settings
) -> Certificate:
    """Revoke a certificate; the reason is kept (and never shown publicly). Its kept PDF
    goes (after the commit: see :func:`forget_pdf`)."""
    reason = _reason(reason)
    certificate = await certificate_for_staff(staff, certificate_id)
    if certificate.status == CertificateStatus.REVOKED:
        return certificate
    async with in_transaction():
        await _revoke(certificate, staff=staff, reason=reason)
    forget_pdf(certificate, settings)
    return certificate


async def revoke_certificates(
    certificate_ids: list[int], *, reason: str, staff: StaffUser | None, **also: Any
) -> None:
    """**The** way certificates are revoked — by staff, or when their holder deletes their
    data (``staff`` None; ``also`` then blanks the name). Revoked, a certificate holds no
    ``valid_for_*`` key, so its holder can be given a new one. Call inside a transaction."""
    await Certificate.filter(id__in=certificate_ids).update(
        status=CertificateStatus.REVOKED,
        revoked_at=datetime.now(UTC),
        revoked_reason=reason,
        revoked_by_id=staff.id if staff else None,
        valid_for_registration=None,
        valid_for_curriculum=None,
        **also,
    )


async def _revoke(certificate: Certificate, *, staff: StaffUser, reason: str) -> None:
    await revoke_certificates([certificate.id], reason=reason, staff=staff)
    await certificate.refresh_from_db()
    await audit.record(staff, "certificate.revoke", certificate, {"reason": reason})


async def reissue_certificate(
    certificate_id: int, *, staff: StaffUser, reason: str, settings: Settings
) -> Certificate:
    """A new certificate with a new code in place of this one, which is revoked.

    Once only: a certificate already replaced (a second click, two staff at once) is a 409,
    and so is one whose holder deleted their data.
    """
    reason = _reason(reason)
    await certificate_for_staff(staff, certificate_id)
    try:
        async with in_transaction() as connection:
            await db.lock_row(connection, "certificate", certificate_id)
            old = await Certificate.get(id=certificate_id)
            if old.replaced_by_id is not None:  # type: ignore[attr-defined]
                raise CertificateReplaced()
            if not old.holder_name:
                raise CertificateHolderGone()
            registration_id: int | None = old.registration_id  # type: ignore[attr-defined]
            registration = await Registration.get_or_none(id=registration_id, anonymised_at=None)
            curriculum_key_held = old.valid_for_curriculum
            if old.status == CertificateStatus.VALID:
                await _revoke(old, staff=staff, reason=reason)
            new = await Certificate.create(
                code=new_code(),
                neutral_code=new_code(),
                kind=old.kind,
                person_id=old.person_id,  # type: ignore[attr-defined]
                registration_id=registration_id,
                session_id=old.session_id,  # type: ignore[attr-defined]
                valid_for_registration=registration.id if registration else None,
                valid_for_curriculum=curriculum_key_held,
                holder_name=registration.chosen_name if registration else old.holder_name,
                language=registration.language if registration else old.language,
                title_km=old.title_km,
                title_en=old.title_en,
                topic_code=old.topic_code,
                starts_at=old.starts_at,
                ends_at=old.ends_at,
                timezone=old.timezone,
                place=old.place,
                issued_by=staff,
            )
            old.replaced_by = new
            await old.save(update_fields=["replaced_by_id"])
            await audit.record(staff, "certificate.reissue", new, {"replaces": old.code})
    except IntegrityError as exc:  # another reissue won the race
        raise CertificateReplaced() from exc
    forget_pdf(old, settings)  # the new one is made (once) by the worker or a download
    return new


# ----------------------------------------------------------------------------- verifying


async def find_certificate(code: str) -> Certificate:
    """The certificate with this (real) code; :class:`CertificateNotFound` for unknown or
    malformed. Staff work with real codes only."""
    normalised = normalise_code(code)
    certificate = await Certificate.get_or_none(code=normalised) if normalised else None
    if certificate is None:
        raise CertificateNotFound()
    return certificate


@dataclass(frozen=True)
class CertificateCopy:
    """What a code someone holds stands for: the certificate itself, or its neutral copy."""

    certificate: Certificate
    neutral: bool

    @property
    def code(self) -> str:
        certificate = self.certificate
        return str(certificate.neutral_code) if self.neutral else certificate.code


async def find_copy(code: str) -> CertificateCopy:
    """The copy this code was printed on. Which one is decided by the code alone, never by
    anything else in the request; :class:`CertificateNotFound` for unknown or malformed."""
    normalised = normalise_code(code)
    if normalised is not None:
        found = await Certificate.filter(Q(code=normalised) | Q(neutral_code=normalised)).first()
        if found is not None:
            return CertificateCopy(found, neutral=found.code != normalised)
    raise CertificateNotFound()


def _folded(name: str) -> str:
    text = unicodedata.normalize("NFKC", name).casefold()
    return " ".join(text.split())


def name_matches(certificate: Certificate, typed: str) -> bool:
    """Does what the visitor typed match the holder's name (case and spacing aside)?"""
    return bool(typed.strip()) and secrets.compare_digest(
        _folded(certificate.holder_name).encode(), _folded(typed).encode()
    )


def training_title(certificate: Certificate, language: str) -> str:
    if language == "km":
        return certificate.title_km or certificate.title_en
    return certificate.title_en or certificate.title_km


async def public_facts(copy: CertificateCopy, settings: Settings) -> dict[str, object]:
    """What anyone holding this code may know: never the holder's name. The neutral copy's
    code gives its neutral title, its state and the issuer only: no title, topic, place or
    date (with a date, the public calendar finds the training). The keys stay the same."""
    certificate = copy.certificate
    facts: dict[str, object] = {
        "code": copy.code,
        "status": certificate.status.value,
        "issuer": settings.organisation_name,
    }
    if copy.neutral:
        wording = await _wording_of(certificate)
        training = {
            "title_km": wording["neutral_title_km"],
            "title_en": wording["neutral_title_en"],
            "topic": "",
            "topic_name_km": "",
            "topic_name_en": "",
        }
        dates = {
            "starts_at": None, "ends_at": None, "dates": "", "issued_at": None,
            "revoked_at": None,
        }  # fmt: skip
        return {**facts, "training": training, **dates}
    topic = await Topic.get_or_none(code=certificate.topic_code)
    training = {
        "title_km": certificate.title_km or certificate.title_en,
        "title_en": certificate.title_en or certificate.title_km,
        "topic": certificate.topic_code,
        "topic_name_km": topic.name_km if topic else "",
        "topic_name_en": topic.name_en if topic else "",
    }
    return {
        **facts,
        "training": training,
        "starts_at": certificate.starts_at.isoformat(),
        "ends_at": certificate.ends_at.isoformat(),
        "dates": _dates(certificate, current_language.get()),
        "issued_at": certificate.issued_at.isoformat(),
        "revoked_at": certificate.revoked_at.isoformat() if certificate.revoked_at else None,
    }


async def holder_certificate(registration: Registration) -> Certificate | None:
    """The holder's valid certificate for this registration, if any."""
    return await Certificate.get_or_none(valid_for_registration=registration.id)


async def curriculum_certificates_of(person: Person) -> list[Certificate]:
    """The person's valid curriculum certificates. Shown only behind the link emailed to the
    person (``attendees.people``), never on a manage link: they tell which curriculum, and
    so which team, the person is in."""
    return await Certificate.filter(
        person_id=person.id, kind=CertificateKind.CURRICULUM, status=CertificateStatus.VALID
    ).order_by("id")


# ----------------------------------------------------------------------------- the design

MAX_IMAGE_BYTES = 1_000_000
MAX_IMAGE_SIDE = 4000
IMAGE_NAMES = ("logo", "signature-1", "signature-2", "signature-3")


def clean_image(data: bytes) -> bytes:
    """An uploaded logo or signature as a clean PNG (metadata dropped), or a 422.

    Only PNG and JPEG, at most 1 MB and 4000 px a side, are taken.
    """
    if len(data) > MAX_IMAGE_BYTES:
        raise ValidationFailed({"image": N_("The image is too large: at most 1 MB.")})
    try:
        with Image.open(io.BytesIO(data)) as image:
            if image.format not in ("PNG", "JPEG"):
                raise ValidationFailed({"image": N_("Upload a PNG or JPEG image.")})
            if max(image.size) > MAX_IMAGE_SIDE:
                raise ValidationFailed(
                    {"image": N_("The image is too large: at most 4000 pixels a side.")}
                )
            image.load()
            converted = image.convert("RGBA" if "A" in image.getbands() else "RGB")
    except ValidationFailed:
        raise
    except Exception as exc:  # Pillow raises many kinds for a broken file
        raise ValidationFailed({"image": N_("Upload a PNG or JPEG image.")}) from exc
    out = io.BytesIO()
    converted.save(out, format="PNG", optimize=True)
    return out.getvalue()


async def save_image(name: str, data: bytes, *, staff: StaffUser, settings: Settings) -> None:
    if name not in IMAGE_NAMES:
        raise ValueError(name)
    png = clean_image(data)
    async with in_transaction():
        await CertificateImage.filter(name=name).delete()
        await CertificateImage.create(name=name, content_type="image/png", data=png)
        await audit.record(staff, "certificate.image", staff, {"name": name})
    _design_changed(settings)


async def remove_image(name: str, *, staff: StaffUser, settings: Settings) -> None:
    async with in_transaction():
        removed = await CertificateImage.filter(name=name).delete()
        await audit.record(staff, "certificate.image_remove", staff, {"name": name})
    if removed:
        _design_changed(settings)


async def image_names() -> set[str]:
    return {str(name) for name in await CertificateImage.all().values_list("name", flat=True)}


async def get_image(name: str) -> CertificateImage | None:
    if name not in IMAGE_NAMES:  # any other name, however long, names nothing
        return None
    return await CertificateImage.get_or_none(name=name)


async def signatories() -> dict[int, CertificateSignatory]:
    return {s.position: s for s in await CertificateSignatory.all()}


async def save_signatory(
    position: int, *, name: str, role: str, staff: StaffUser, settings: Settings
) -> None:
    """Set who signs in one of the three places; an empty name clears it."""
    reader = FieldReader({"name": name, "role": role})
    name = reader.text("name", max_length=120)
    role = reader.text("role", max_length=120)
    if name and not role:
        reader.fail("role", N_("Give the signatory's role, e.g. Executive Director."))
    if reader.errors:
        raise ValidationFailed(reader.errors)
    async with in_transaction():
        held = await CertificateSignatory.get_or_none(position=position)
        current = (held.name, held.role) if held else ("", "")
        if current == ((name, role) if name else ("", "")):
            return  # the form shows every place: saving it unchanged changes nothing
        await CertificateSignatory.filter(position=position).delete()
        if name:
            await CertificateSignatory.create(position=position, name=name, role=role)
        await audit.record(staff, "certificate.signatory", staff, {"position": position})
    _design_changed(settings)


def wording_input(raw: dict[str, str]) -> dict[str, str]:
    """Validated wording; placeholders other than the known ones are refused. An empty field
    asks for the inherited words (:func:`inherited_wording`)."""
    reader = FieldReader(raw)
    values = {
        "body_km": reader.text("body_km", max_length=500),
        "body_en": reader.text("body_en", max_length=500),
        "neutral_title_km": reader.text("neutral_title_km", max_length=200),
        "neutral_title_en": reader.text("neutral_title_en", max_length=200),
    }
    for field, text in values.items():
        unknown = {word for word in _PLACEHOLDER.findall(text) if word not in PLACEHOLDERS}
        if unknown:
            reader.fail(field, N_("Unknown placeholder. Use only the ones listed."))
    if reader.errors:
        raise ValidationFailed(reader.errors)
    return values


def _same_words(a: str, b: str) -> bool:
    return " ".join(a.split()) == " ".join(b.split())


async def save_wording(
    topic: Topic | None, values: dict[str, str], *, staff: StaffUser, settings: Settings
) -> None:
    """Keep, for ``topic`` (None: every topic), only the fields that differ from the inherited
    words; the others (empty, or unchanged) follow them from now on."""
    async with in_transaction():
        inherited = await inherited_wording(topic)
        own = {
            field: "" if _same_words(values[field], inherited[field]) else values[field]
            for field in DEFAULT_WORDING
        }
        await CertificateWording.filter(topic_id=topic.id if topic else None).delete()
        if any(own.values()):
            await CertificateWording.create(
                topic=topic,
                body_km=own["body_km"],
                body_en=own["body_en"],
                neutral_title_km=own["neutral_title_km"],
                neutral_title_en=own["neutral_title_en"],
            )
        changed = sorted(field for field, text in own.items() if text)
        await audit.record(staff, "certificate.wording", topic or staff, {"own": changed})
    _design_changed(settings)


async def with_inherited(topic: Topic | None, values: dict[str, str]) -> dict[str, str]:
    """Typed wording with its empty fields filled in as a certificate would be."""
    inherited = await inherited_wording(topic)
    return {field: values.get(field) or inherited[field] for field in DEFAULT_WORDING}


async def preview_pdf(
    topic: Topic | None, wording: dict[str, str], settings: Settings, *, language: str
) -> bytes:
    """A sample certificate with this wording, for the admin to look at before saving."""
    wording = await with_inherited(topic, wording)
    now = datetime.now(UTC)
    sample = Certificate(
        code="SAMP-LE23-4567",
        holder_name="សុខា Sokha",
        language=language,
        title_km="វគ្គបណ្តុះបណ្តាលគំរូ",
        title_en="Sample training",
        topic_code=topic.code if topic else "",
        starts_at=now,
        ends_at=now,
        place="Phnom Penh",
    )
    content = await certificate_content(sample, settings, wording=wording)
    return await rendering.render(content)


async def issue_curriculum_certificate(
    person: Person,
    *,
    curriculum_code: str,
    title_km: str,
    title_en: str,
    first_day: datetime,
    last_day: datetime,
    staff: StaffUser,
) -> Certificate:
    """The certificate of a whole curriculum; one valid per person and curriculum (issuing
    again returns the one they hold). Made and emailed by the worker, like the others."""
    key = curriculum_key(curriculum_code, person.id)
    held = await Certificate.get_or_none(valid_for_curriculum=key)
    if held is not None:
        return held
    try:
        return await _create_curriculum_certificate(
            person, key, title_km, title_en, first_day, last_day, staff
        )
    except IntegrityError:  # the same certificate issued at the same moment: that one
        return await Certificate.get(valid_for_curriculum=key)


def curriculum_key(curriculum_code: str, person_id: int) -> str:
    return f"{curriculum_code}:{person_id}"


async def _create_curriculum_certificate(
    person: Person,
    key: str,
    title_km: str,
    title_en: str,
    first_day: datetime,
    last_day: datetime,
    staff: StaffUser,
) -> Certificate:
    curriculum_code = key.split(":")[0]
    async with in_transaction():
        certificate = await Certificate.create(
            code=new_code(),
            neutral_code=new_code(),
            kind=CertificateKind.CURRICULUM,
            person=person,
            valid_for_curriculum=key,
            holder_name=person.chosen_name,
            language=person.language,
            title_km=title_km,
            title_en=title_en,
            starts_at=first_day,
            ends_at=last_day,
            issued_by=staff,
        )
        await audit.record(
            staff, "certificate.curriculum", certificate, {"curriculum": curriculum_code}
        )
    return certificate
