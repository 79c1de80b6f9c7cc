"""Reading a team's confirmation request the way its recipient does, and answering it."""

from __future__ import annotations

import re
from email.message import EmailMessage

import httpx

from curricula.membership import MEMBERSHIP_MAIL
from sala.app import MAIL_COMPOSERS
from sala.config import Settings
from sala.mail import SmtpTransport, compose, deliver_due
from sala.models import OutboxMessage
from tests.factories import csrf_from
from tests.mail_server import MailServer

JOIN_LINK = re.compile(r"https?://[^/\s]+(/teams/join/[^\s\"<]+)")


def join_link_in(text: str) -> str:
    """The path (with its query) of the one confirmation link in an email's text."""
    links = JOIN_LINK.findall(text)
    assert len(links) == 1, f"expected one confirmation link, found {links}"
    return str(links[0])


async def join_link_from_outbox(settings: Settings, address: str) -> str:
    """The link in the newest confirmation request queued for ``address``, as composed for
    sending (no mail server in these tests)."""
    message = (
        await OutboxMessage.filter(kind=MEMBERSHIP_MAIL, to_address=address).order_by("-id").first()
    )
    assert message is not None, f"no confirmation request was queued for {address}"
    return join_link_in((await compose(MAIL_COMPOSERS, message, settings)).text)


async def answer(client: httpx.AsyncClient, link: str, reply: str = "yes") -> httpx.Response:
    """Open the link like a browser (GET shows a question), then press yes or no."""
    page = await client.get(link)
    assert page.status_code == 200, page.text
    return await client.post(link, data={"answer": reply, "csrf_token": csrf_from(page.text)})


async def mail_to(server: MailServer, settings: Settings, address: str) -> list[EmailMessage]:
    """Send what is due through SMTP, as the worker does; what ``address`` received."""
    while await deliver_due(MAIL_COMPOSERS, SmtpTransport(settings), settings):
        pass
    return [m for m in server.inbox.messages if m["To"] == address]


def text_of(message: EmailMessage) -> str:
    part = message.get_body(preferencelist=("plain",))
    assert isinstance(part, EmailMessage)
    return str(part.get_content())
