"""Email that is never lost: the outbox, the composers, the SMTP transport, delivery.

    enqueue()        a row in ``outbox_message``, inside the caller's transaction
    deliver_due()    claims due rows (PostgreSQL: FOR UPDATE SKIP LOCKED), composes each one
                     with the composer of its ``kind``, sends it through the transport, and
                     records sent / retry with backoff / failed

Each feature package's ``emails.py`` has a ``COMPOSERS`` table (kind → composer), and
``sala/app.py`` lists those tables in ``MAIL_COMPOSERS``, which the app and the worker hand to
:func:`deliver_due` — nothing is registered by importing a module. Composing happens at send
time, so a request that registers someone pays nothing for templates or QR codes.
A message keeps its Message-ID across retries and restarts: a message sent again after a crash
between "sent" and "recorded" carries the same Message-ID, so mail clients show it once.

Discreet mail (``SALA_DISCREET_MAIL``, on by default): the sender's name is "Sala", composers
keep the training out of the subject, and :func:`compose` puts one neutral sentence first in
every part (a hidden preheader in HTML), so a phone's lock screen, which shows the first words
of the body, shows that sentence and not the training — whatever the kind, whoever wrote it.

Log lines name a message by its id, never its recipient: a mail server's refusal usually
quotes the address, so its words go to ``last_error`` (read by admins) and not to the log.
"""

from __future__ import annotations

import html
import json
import logging
import re
import secrets
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import formatdate, parseaddr
from typing import Any, Protocol

import aiosmtplib
from tortoise import connections
from tortoise.transactions import in_transaction

from sala import db
from sala.config import Settings
from sala.errorlog import log_error
from sala.i18n import N_, gettext, in_language
from sala.models import OutboxMessage, OutboxStatus
from sala.templating import templates

log = logging.getLogger("sala.mail")

MAX_ATTEMPTS = 8
LEASE = timedelta(minutes=5)
FIRST_RETRY = timedelta(seconds=30)
LONGEST_RETRY = timedelta(hours=2)


# ----------------------------------------------------------------------------- composing


@dataclass(frozen=True)
class Attachment:
    filename: str
    content_type: str
    data: bytes
    inline_cid: str | None = None  # set for images the HTML shows with src="cid:…"


@dataclass(frozen=True)
class ComposedEmail:
    subject: str
    text: str
    html: str
    attachments: list[Attachment] = field(default_factory=list)


class MessageObsolete(Exception):
    """The composer found nothing left to say (e.g. the registration was deleted)."""


Composer = Callable[[OutboxMessage, Settings], Awaitable[ComposedEmail]]
Composers = Mapping[str, Composer]


def render_parts(kind: str, context: dict[str, Any]) -> tuple[str, str]:
    """The text and HTML parts of one kind, from ``templates/email/<kind>.txt`` and ``.html``,
    in the current language."""
    text = templates.get_template(f"email/{kind}.txt").render(context)
    body = templates.get_template(f"email/{kind}.html").render(context)
    return text, body


def outbox_insert(
    kind: str, *, to: str, language: str, params: dict[str, Any], domain: str
) -> db.Query:
    """The statement that queues one email; run it in the transaction that causes it.
    (``tests/sala/test_discreet_mail.py`` checks that every kind queued has a composer.)"""
    now = datetime.now(UTC)
    return db.Query(
        "INSERT INTO outbox_message (message_id, kind, to_address, language, params, status, "
        "attempts, next_attempt_at, last_error, created_at) VALUES (?, ?, ?, ?, ?, ?, 0, ?, '', ?)",
        [
            f"<{secrets.token_hex(16)}@{domain}>",
            kind,
            to,
            language,
            json.dumps(params),
            OutboxStatus.PENDING.value,
            now,
            now,
        ],
        returns_row=False,
    )


async def enqueue(
    kind: str, *, to: str, language: str, params: dict[str, Any], domain: str
) -> None:
    """Queue one email. Call it inside the transaction of the change that causes it."""
    query = outbox_insert(kind, to=to, language=language, params=params, domain=domain)
    await db.execute(connections.get("default"), query.sql, query.params)


async def compose(
    composers: Composers, message: OutboxMessage, settings: Settings
) -> ComposedEmail:
    composer = composers.get(message.kind)
    if composer is None:
        raise LookupError(f"no composer for mail of kind {message.kind!r}")
    with in_language(message.language):
        content = await composer(message, settings)
        if settings.discreet_mail:
            content = with_neutral_preview(content)
    return content


# What a lock screen shows of a discreet email: long enough to fill a preview on its own.
NEUTRAL_PREVIEW = N_(
    "A message from Sala. To protect your privacy, this preview does not say what it is "
    "about: open the email to read it."
)
_BODY_TAG = re.compile(r"<body\b[^>]*>", re.IGNORECASE)
# Invisible characters after a preheader keep mail apps from filling the preview with the
# words that follow it.
_PREHEADER_PADDING = "&#847;&zwnj;&nbsp;" * 60
_PREHEADER = (
    '<div style="display:none;max-height:0;max-width:0;overflow:hidden;opacity:0;'
    'mso-hide:all;font-size:1px;line-height:1px;color:transparent">{text}{padding}</div>'
)


def with_neutral_preview(content: ComposedEmail) -> ComposedEmail:
    """The email with :data:`NEUTRAL_PREVIEW` as the first words of its text and HTML parts
    (in the current language)."""
    lead = gettext(NEUTRAL_PREVIEW)
    preheader = _PREHEADER.format(text=html.escape(lead), padding=_PREHEADER_PADDING)
    body = _BODY_TAG.search(content.html)
    at = body.end() if body else 0
    return replace(
        content,
        text=f"{lead}\n\n{content.text.lstrip()}",
        html=f"{content.html[:at]}{preheader}{content.html[at:]}",
    )


def build_email(message: OutboxMessage, content: ComposedEmail, settings: Settings) -> EmailMessage:
    """The MIME message: text and HTML alternatives, inline images, attachments."""
    email = EmailMessage()
    name, address = parseaddr(settings.mail_from)
    sender_name = "Sala" if settings.discreet_mail else (name or "Sala")
    username, _, domain = address.partition("@")
    email["From"] = Address(display_name=sender_name, username=username, domain=domain)
    email["To"] = message.to_address
    email["Subject"] = content.subject
    email["Message-ID"] = message.message_id
    email["Date"] = formatdate(localtime=False)
    email["Auto-Submitted"] = "auto-generated"
    email.set_content(content.text)
    email.add_alternative(content.html, subtype="html")
    html_part = email.get_body(("html",))
    assert isinstance(html_part, EmailMessage)
    for attachment in content.attachments:
        maintype, _, subtype = attachment.content_type.partition("/")
        if attachment.inline_cid:
            html_part.add_related(
                attachment.data,
                maintype=maintype,
                subtype=subtype,
                cid=f"<{attachment.inline_cid}>",
                filename=attachment.filename,
                disposition="inline",
            )
        else:
            email.add_attachment(
                attachment.data, maintype=maintype, subtype=subtype, filename=attachment.filename
            )
    return email


# ----------------------------------------------------------------------------- sending


class DeliveryFailed(Exception):
    """The mail server did not take the message; ``permanent`` means retrying cannot help.

    ``reason`` is the server's own words, which often quote the recipient's address: it is
    kept in ``last_error`` for admins, never logged. ``smtp_code`` is safe to log.
    """

    def __init__(self, reason: str, *, permanent: bool, smtp_code: int | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.permanent = permanent
        self.smtp_code = smtp_code


class MailTransport(Protocol):
    async def send(self, email: EmailMessage) -> None: ...


class SmtpTransport:
    """aiosmtplib behind our own error: nothing above this class sees an SMTP exception."""

    def __init__(self, settings: Settings, *, timeout: float = 30) -> None:
        if not settings.smtp_host:
            raise ValueError("SmtpTransport needs SALA_SMTP_HOST")
        self.settings = settings
        self.timeout = timeout

    async def send(self, email: EmailMessage) -> None:
        s = self.settings
        try:
            await aiosmtplib.send(
                email,
                hostname=s.smtp_host,
                port=s.smtp_port,
                username=s.smtp_user,
                password=s.smtp_password,
                use_tls=s.smtp_tls == "tls",
                start_tls=s.smtp_tls == "starttls",
                timeout=self.timeout,
            )
        except aiosmtplib.SMTPRecipientsRefused as exc:
            reasons = "; ".join(f"{r.code} {r.message}" for r in exc.recipients)
            code = exc.recipients[0].code if exc.recipients else None
            # 4xx is "not now" (greylisting, a full mailbox): worth another try; 5xx is final.
            permanent = all(r.code >= 500 for r in exc.recipients)
            raise DeliveryFailed(
                f"recipient refused: {reasons}", permanent=permanent, smtp_code=code
            ) from exc
        except aiosmtplib.SMTPResponseException as exc:
            raise DeliveryFailed(
                f"{exc.code} {exc.message}", permanent=exc.code >= 500, smtp_code=exc.code
            ) from exc
        except (aiosmtplib.SMTPException, OSError, TimeoutError) as exc:
            raise DeliveryFailed(f"cannot reach the mail server: {exc}", permanent=False) from exc


def transport_for(settings: Settings) -> MailTransport | None:
    """The configured transport; None keeps mail in the outbox for admins to read."""
    return SmtpTransport(settings) if settings.smtp_host else None


def retry_delay(attempts: int) -> timedelta:
    return min(FIRST_RETRY * (2 ** max(attempts - 1, 0)), LONGEST_RETRY)


async def _claim(now: datetime, limit: int) -> list[OutboxMessage]:
    """Take up to ``limit`` due messages for this worker alone, under a lease."""
    async with in_transaction() as connection:
        query = (
            OutboxMessage.filter(
                status__in=[OutboxStatus.PENDING, OutboxStatus.SENDING],
                next_attempt_at__lte=now,
            )
            .order_by("id")
            .limit(limit)
        )
        if connection.capabilities.dialect == "postgres":
            query = query.select_for_update(skip_locked=True)
        candidates = [
            m
            for m in await query
            if m.status == OutboxStatus.PENDING
            or (m.lease_until is not None and m.lease_until <= now)
        ]
        claimed: list[OutboxMessage] = []
        for message in candidates:
            # The conditional update is what makes a claim exclusive on SQLite too.
            taken = await OutboxMessage.filter(
                id=message.id, status=message.status, attempts=message.attempts
            ).update(status=OutboxStatus.SENDING, lease_until=now + LEASE)
            if taken:
                message.status = OutboxStatus.SENDING
                claimed.append(message)
    return claimed


async def deliver_due(
    composers: Composers,
    transport: MailTransport,
    settings: Settings,
    *,
    limit: int = 20,
    now: datetime | None = None,
) -> int:
    """Send the messages that are due; returns how many were sent."""
    now = now or datetime.now(UTC)
    sent = 0
    for message in await _claim(now, limit):
        try:
            content = await compose(composers, message, settings)
            await transport.send(build_email(message, content, settings))
        except MessageObsolete:
            await _finish(message, OutboxStatus.FAILED, error="nothing to send any more")
        except DeliveryFailed as exc:
            given_up = await _failed(message, exc.reason, permanent=exc.permanent, now=now)
            log.warning(
                "mail %s not sent: %s; %s",
                message.id,
                f"SMTP {exc.smtp_code}" if exc.smtp_code else "mail server unreachable",
                "given up" if given_up else "will retry",
            )
        except Exception as exc:  # a bug composing one message must not hold up the others
            given_up = await _failed(
                message, f"{type(exc).__name__}: {exc}", permanent=False, now=now
            )
            log_error(
                log,
                exc,
                "mail %s could not be composed or sent; %s",
                message.id,
                "given up" if given_up else "will retry",
            )
        else:
            await _finish(message, OutboxStatus.SENT, attempts=message.attempts + 1)
            sent += 1
    return sent


async def _failed(message: OutboxMessage, reason: str, *, permanent: bool, now: datetime) -> bool:
    """Record a failed attempt: retried later with backoff, or given up. True if given up."""
    attempts = message.attempts + 1
    if permanent or attempts >= MAX_ATTEMPTS:
        await _finish(message, OutboxStatus.FAILED, error=reason, attempts=attempts)
        return True
    await OutboxMessage.filter(id=message.id).update(
        status=OutboxStatus.PENDING,
        attempts=attempts,
        next_attempt_at=now + retry_delay(attempts),
        lease_until=None,
        last_error=reason[:500],
    )
    return False


async def _finish(
    message: OutboxMessage, status: OutboxStatus, *, error: str = "", attempts: int | None = None
) -> None:
    await OutboxMessage.filter(id=message.id).update(
        status=status,
        attempts=message.attempts if attempts is None else attempts,
        lease_until=None,
        last_error=error[:500],
        sent_at=datetime.now(UTC) if status == OutboxStatus.SENT else None,
    )
