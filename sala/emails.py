"""The shell's own email: the link that sets a new staff password."""

from __future__ import annotations

from sala import mail
from sala.config import Settings
from sala.i18n import N_, gettext
from sala.links import absolute_url
from sala.mail import ComposedEmail, Composer, MessageObsolete
from sala.models import OutboxMessage, StaffUser
from sala.password_reset import LINK_HOURS, PASSWORD_RESET_MAIL

SUBJECT = N_("Set a new password for Sala")


async def compose_password_reset(message: OutboxMessage, settings: Settings) -> ComposedEmail:
    user = await StaffUser.get_or_none(id=message.params.get("user_id"), is_active=True)
    token = message.params.get("token")
    if user is None or user.email != message.to_address or not isinstance(token, str):
        raise MessageObsolete()
    context = {
        "user": user,
        "reset_url": absolute_url(settings, "staff:password_reset", token=token),
        "hours": LINK_HOURS,
        "settings": settings,
    }
    text, html = mail.render_parts(message.kind, context)
    return ComposedEmail(gettext(SUBJECT), text, html)


COMPOSERS: dict[str, Composer] = {PASSWORD_RESET_MAIL: compose_password_reset}
NAMES: dict[str, str] = {PASSWORD_RESET_MAIL: N_("Staff password reset link")}
