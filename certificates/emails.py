"""The certificate email (the PDF attached), composed at send time in the holder's language,
and the worker's job that renders issued certificates before they are sent."""

from __future__ import annotations

from attendees.manage import manage_url
from attendees.models import Registration
from certificates import services as service
from certificates.models import Certificate, CertificateStatus
from sala import mail
from sala.config import Settings
from sala.i18n import N_, gettext
from sala.mail import Attachment, ComposedEmail, Composer, MessageObsolete
from sala.models import OutboxMessage

DISCREET_SUBJECT = N_("Your certificate")
TITLED_SUBJECT = N_("Your certificate: %(title)s")


async def compose_certificate(message: OutboxMessage, settings: Settings) -> ComposedEmail:
    """The certificate, attached as a PDF; nothing if it was revoked before it went out."""
    certificate = await Certificate.get_or_none(
        id=message.params.get("certificate_id"), status=CertificateStatus.VALID
    )
    if certificate is None or not certificate.holder_name:
        raise MessageObsolete()
    registration = await Registration.get_or_none(
        id=certificate.registration_id,  # type: ignore[attr-defined]
        anonymised_at=None,
    )
    title = service.training_title(certificate, message.language)
    context = {
        "holder_name": certificate.holder_name,
        "title": title,
        "manage_url": manage_url(registration, settings) if registration else None,
        "verification_url": service.verification_url(certificate, settings),
        "certificate": certificate,
        "settings": settings,
    }
    pdf = await service.certificate_pdf(certificate, settings)
    text, html = mail.render_parts(message.kind, context)
    subject = (
        gettext(DISCREET_SUBJECT)
        if settings.discreet_mail
        else gettext(TITLED_SUBJECT, title=title)
    )
    attachment = Attachment(f"certificate-{certificate.code}.pdf", "application/pdf", pdf)
    return ComposedEmail(subject, text, html, [attachment])


async def render_issued_certificates(settings: Settings) -> int:
    return await service.render_pending(settings)


COMPOSERS: dict[str, Composer] = {service.CERTIFICATE_MAIL: compose_certificate}
# Each kind in words, for the staff outbox.
NAMES: dict[str, str] = {service.CERTIFICATE_MAIL: N_("Certificate issued")}
