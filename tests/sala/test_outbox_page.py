"""The staff outbox (issue 13): email kinds in words, in the page's language, for every kind
the app can send; the message view shows what an email says but not the keys in its links
(a person's manage link, an invitation's code)."""

from __future__ import annotations

import httpx

from attendees.invitations import invite_person
from attendees.manage import manage_token, manage_url
from events.models import Audience
from sala.app import MAIL_COMPOSERS, MAIL_KIND_NAMES
from sala.config import Settings
from sala.i18n import gettext, in_language
from sala.links import MASK
from sala.models import OutboxMessage, Role
from tests.factories import log_in, make_session, make_staff, register_person


def test_every_kind_the_app_can_send_has_a_name() -> None:
    """A new composer without a name in its package's ``emails.NAMES`` fails here."""
    missing = set(MAIL_COMPOSERS) - set(MAIL_KIND_NAMES)
    assert not missing, f"give these kinds a name in their package's emails.NAMES: {missing}"
    assert not set(MAIL_KIND_NAMES) - set(MAIL_COMPOSERS), "a name for a kind nobody sends"
    names = list(MAIL_KIND_NAMES.values())
    assert len(set(names)) == len(names), "two kinds read the same in the outbox"
    for kind, name in MAIL_KIND_NAMES.items():
        assert name and "_" not in name and name != kind, kind


async def test_the_outbox_names_each_kind_in_words_in_the_pages_language(
    client: httpx.AsyncClient, settings: Settings
) -> None:
    admin = await make_staff(Role.ADMIN)
    session = await make_session()
    await register_person(session, settings)
    await log_in(client, admin)

    english = await client.get("/staff/outbox?lang=en")
    assert ">Registration confirmed</a>" in english.text
    assert "registration_confirmed_to_registrant" not in english.text

    khmer = await client.get("/staff/outbox?lang=km")
    with in_language("km"):
        name = gettext(MAIL_KIND_NAMES["registration_confirmed_to_registrant"])
    assert f">{name}</a>" in khmer.text
    assert "registration_confirmed_to_registrant" not in khmer.text

    message = await OutboxMessage.get(kind="registration_confirmed_to_registrant")
    view = await client.get(f"/staff/outbox/{message.id}?lang=en")
    assert "<dd>Registration confirmed</dd>" in view.text
    assert "<dd>Waiting</dd>" in view.text  # its status in words too


async def test_the_message_view_hides_the_manage_link_and_any_key_in_a_link(
    client: httpx.AsyncClient, settings: Settings
) -> None:
    admin = await make_staff(Role.ADMIN)
    session = await make_session(online_url="https://meet.example/room?pwd=hunter22")
    outcome = await register_person(session, settings, chosen_name="Chenda")
    await log_in(client, admin)
    message = await OutboxMessage.get(kind="registration_confirmed_to_registrant")

    view = await client.get(f"/staff/outbox/{message.id}")
    assert view.status_code == 200
    token = manage_token(outcome.registration, settings)
    assert token not in view.text
    assert manage_url(outcome.registration, settings) not in view.text
    assert f"http://testserver/registrations/{MASK}" in view.text
    assert "hunter22" not in view.text
    # The email itself is still readable: who, what, where.
    assert "Chenda" in view.text and "SOGIE basics" in view.text


async def test_an_invitations_code_and_slug_are_hidden_in_the_outbox(
    client: httpx.AsyncClient, settings: Settings
) -> None:
    admin = await make_staff(Role.ADMIN)
    session = await make_session(audience=Audience.INVITE_ONLY.value)
    invitation = await invite_person(
        session, email="guest@example.org", actor=admin, settings=settings, language="en"
    )
    await log_in(client, admin)
    message = await OutboxMessage.get(kind="invitation_to_invitee")
    view = await client.get(f"/staff/outbox/{message.id}")
    link_part = view.text.split('<pre class="email-text">', 1)[1]
    assert session.slug not in link_part
    assert f"?invitation={invitation.code}" not in link_part
    assert f"http://testserver/sessions/i/{MASK}?invitation={MASK}" in link_part
