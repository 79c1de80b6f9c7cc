"""Printing every certificate of a session at once: one PDF, one page each, in the roster's
order, made by the worker.

A facilitator's order (:func:`request_print`) is a :class:`CertificatePrint` row; the
worker's job :func:`make_pending_prints` claims it (a lease, so two workers never make one
twice at the same time), renders the pages with the certificate renderer, reporting progress
as it goes, and writes the file to ``<data dir>/certificates/prints/<file_key>.pdf``. Only the
session's staff get it (:func:`print_pdf`), never cached.

The file holds the names of everyone on it, so it is kept only while it is right and
needed: it is not served, and the job deletes it, once a certificate on it may have been
revoked (by staff, or by a holder deleting their data), once a newer print of the session is
made, and a day after it was made.
"""

from __future__ import annotations

import asyncio
import logging
import os
import secrets
from datetime import UTC, datetime, timedelta
from pathlib import Path

from tortoise.expressions import Q
from tortoise.transactions import in_transaction

from attendees.views import roster
from certificates import services as service
from certificates.errors import NothingToPrint, PrintNotReady
from certificates.models import Certificate, CertificatePrint, CertificateStatus
from certificates.pdf.page import render_certificates
from events.models import Session
from events.services import get_session_for_staff
from sala import audit
from sala.config import Settings
from sala.errorlog import log_error
from sala.models import StaffUser

log = logging.getLogger("sala.certificates")

LEASE = timedelta(minutes=10)
KEEP = timedelta(days=1)
PROGRESS_SECONDS = 0.5


def _path(settings: Settings, job: CertificatePrint) -> Path:
    return settings.data_dir / "certificates" / "prints" / f"{job.file_key}.pdf"


async def _valid_certificates(session: Session) -> list[Certificate]:
    """The session's valid certificates, in the order their holders stand on the roster."""
    places = {
        registration.id: place
        for place, (registration, _) in enumerate((await roster(session)).with_positions())
    }
    certificates = await Certificate.filter(session_id=session.id, status=CertificateStatus.VALID)
    last = len(places)
    return sorted(
        certificates,
        key=lambda c: (places.get(c.registration_id, last), c.id),  # type: ignore[attr-defined]
    )


async def request_print(session_id: int, *, staff: StaffUser) -> CertificatePrint:
    """Order the combined PDF of a session's valid certificates; the worker makes it.

    An order still being made is returned rather than doubled (a second click)."""
    session = await get_session_for_staff(staff, session_id)
    total = await Certificate.filter(session_id=session.id, status=CertificateStatus.VALID).count()
    if not total:
        raise NothingToPrint()
    async with in_transaction():
        pending = await CertificatePrint.filter(session_id=session.id, finished_at=None).first()
        if pending is not None:
            return pending
        job = await CertificatePrint.create(
            session=session, requested_by=staff, file_key=secrets.token_urlsafe(24), total=total
        )
        await audit.record(staff, "certificates.print", session, {"count": total})
    return job


async def _outdated(job: CertificatePrint) -> bool:
    """Whether a certificate of the session was revoked since the job read the list (it
    may be on the pages), or a newer print of the session is made."""
    since = job.claimed_at or job.created_at
    session_id: int = job.session_id  # type: ignore[attr-defined]
    revoked = await Certificate.filter(session_id=session_id, revoked_at__gte=since).exists()
    newer = await CertificatePrint.filter(
        session_id=session_id, id__gt=job.id, finished_at__isnull=False, failed=False
    ).exists()
    return revoked or newer


async def current_print(session: Session) -> CertificatePrint | None:
    """The print the page shows: the latest order, unless what it made is outdated or gone."""
    job = await CertificatePrint.filter(session_id=session.id).first()
    if job is None or (job.finished_at is not None and await _outdated(job)):
        return None
    if job.finished_at is not None and datetime.now(UTC) - job.finished_at > KEEP:
        return None
    return job


def print_progress(job: CertificatePrint) -> dict[str, object]:
    return {
        "print_id": job.id,
        "total": job.total,
        "done": job.done,
        "finished": job.finished_at is not None,
        "failed": job.failed,
    }


async def print_pdf(staff: StaffUser, session_id: int, print_id: int, settings: Settings) -> bytes:
    """The combined PDF, for the session's staff only; :class:`PrintNotReady` while it is
    being made and once it is outdated or deleted."""
    session = await get_session_for_staff(staff, session_id)
    job = await CertificatePrint.get_or_none(id=print_id, session_id=session.id)
    if job is None or job.finished_at is None or job.failed or await _outdated(job):
        raise PrintNotReady()
    path = _path(settings, job)
    if not path.exists():
        raise PrintNotReady()
    return path.read_bytes()


# ----------------------------------------------------------------------------- the worker


async def make_pending_prints(settings: Settings) -> int:
    """The worker's job: make the ordered prints, and delete those no longer kept. Returns
    the number made this round."""
    await _forget_old_prints(settings)
    made = 0
    now = datetime.now(UTC)
    pending = await CertificatePrint.filter(finished_at=None).filter(
        Q(claimed_at=None) | Q(claimed_at__lt=now - LEASE)
    )
    for job in pending:
        claimed = await (
            CertificatePrint.filter(id=job.id, finished_at=None)
            .filter(Q(claimed_at=None) | Q(claimed_at__lt=now - LEASE))
            .update(claimed_at=now)
        )
        if not claimed:  # another worker took it
            continue
        job.claimed_at = now
        try:
            await _make(job, settings)
        except Exception as exc:
            log_error(log, exc, "certificate print %s could not be made", job.id)
            await CertificatePrint.filter(id=job.id).update(
                finished_at=datetime.now(UTC), failed=True
            )
        else:
            made += 1
    return made


async def _make(job: CertificatePrint, settings: Settings) -> None:
    session = await Session.get(id=job.session_id)  # type: ignore[attr-defined]
    certificates = await _valid_certificates(session)
    contents = [await service.certificate_content(c, settings) for c in certificates]
    await CertificatePrint.filter(id=job.id).update(total=len(contents), done=0)
    if not contents:  # all revoked since the order: nothing to print
        await CertificatePrint.filter(id=job.id).update(finished_at=datetime.now(UTC))
        return
    pages = 0

    def page_made() -> None:
        nonlocal pages
        pages += 1

    rendering = asyncio.ensure_future(
        asyncio.to_thread(
            render_certificates,
            contents,
            title=f"Certificates {session.id}",
            created_at=datetime.now(UTC),
            on_page=page_made,
        )
    )
    while not rendering.done():
        await asyncio.wait({rendering}, timeout=PROGRESS_SECONDS)
        await CertificatePrint.filter(id=job.id).update(done=pages)
    pdf = rendering.result()
    path = _path(settings, job)
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_suffix(f".{secrets.token_hex(4)}.tmp")
    temporary.write_bytes(pdf)
    os.replace(temporary, path)
    await CertificatePrint.filter(id=job.id).update(
        done=len(contents), finished_at=datetime.now(UTC)
    )


async def _forget_old_prints(settings: Settings) -> None:
    """Delete the prints no longer kept: older than a day, or outdated."""
    too_old = datetime.now(UTC) - KEEP
    for job in await CertificatePrint.filter(finished_at__isnull=False):
        finished: datetime = job.finished_at  # type: ignore[assignment]
        if finished < too_old or (not job.failed and await _outdated(job)):
            _path(settings, job).unlink(missing_ok=True)
            await CertificatePrint.filter(id=job.id).delete()
