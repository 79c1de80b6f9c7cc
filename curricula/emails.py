"""The curricula package's email: asking a person whether they want to join a team.

Composed at send time in the person's language, from ``templates/email/<kind>.txt`` and
``.html`` (``sala.mail.render_parts``). The email names the team and who asked, and no
training: the subject and the first line say neither SOGIE nor LGBT, and in discreet mode
(``SALA_DISCREET_MAIL``) the subject does not even name the team.
"""

from __future__ import annotations

from curricula.membership import MEMBERSHIP_MAIL, join_url
from curricula.models import TeamMember
from sala import mail
from sala.config import Settings
from sala.i18n import N_, gettext
from sala.mail import ComposedEmail, Composer, MessageObsolete
from sala.models import OutboxMessage, StaffUser

DISCREET_SUBJECT = N_("A team leader asks whether you want to join their team")
TITLED_SUBJECT = N_("Join the team %(team)s?")


async def compose_membership_request(message: OutboxMessage, settings: Settings) -> ComposedEmail:
    """Nothing to send once the request was answered, withdrawn or let go."""
    member = await TeamMember.get_or_none(
        id=message.params.get("member_id"), confirmed_at=None, join_key__isnull=False
    ).select_related("team", "person", "added_by")
    if member is None or member.person is None or member.person.email != message.to_address:
        raise MessageObsolete()
    asker = await StaffUser.get_or_none(id=message.params.get("asked_by") or 0) or member.added_by
    context = {
        "person": member.person,
        "team": member.team,
        "asker": asker.name if asker else "",
        "join_url": join_url(member, settings, language=message.language),
        "settings": settings,
    }
    text, html = mail.render_parts(message.kind, context)
    if settings.discreet_mail:
        subject = gettext(DISCREET_SUBJECT)
    else:
        subject = gettext(TITLED_SUBJECT, team=member.team.name)
    return ComposedEmail(subject, text, html)


COMPOSERS: dict[str, Composer] = {MEMBERSHIP_MAIL: compose_membership_request}
# Each kind in words, for the staff outbox.
NAMES: dict[str, str] = {MEMBERSHIP_MAIL: N_("Team membership request")}
