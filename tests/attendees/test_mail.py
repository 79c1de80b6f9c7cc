"""Email through a real SMTP server: content, the ticket QR, retries, refusals."""

from __future__ import annotations

import io
import logging
import re
import traceback
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import httpx
import pytest
import zxingcpp
from icalendar import Calendar
from PIL import Image
from starlette.applications import Starlette

from attendees.emails import enqueue_due_reminders
from attendees.models import Registration
from checkin.tickets import load_keys, verify_token
from sala import mail
from sala.app import BACKGROUND, MAIL_COMPOSERS
from sala.config import TEMPLATES_DIR, Settings
from sala.mail import SmtpTransport, deliver_due
from sala.models import OutboxMessage, OutboxStatus
from sala.worker import run_once
from tests.conftest import make_settings
from tests.factories import csrf_from, in_days, make_session, register_person
from tests.mail_server import Inbox, MailServer


def _parts(message: EmailMessage) -> dict[str, list[EmailMessage]]:
    found: dict[str, list[EmailMessage]] = {}
    for part in message.walk():
        found.setdefault(part.get_content_type(), []).append(part)  # type: ignore[arg-type]
    return found


async def test_confirmation_arrives_with_inline_qr_and_calendar(
    smtp_app: Starlette, smtp_settings: Settings, mail_server: MailServer
) -> None:
    starts = in_days(9, hour=14)
    session = await make_session(
        title_en="Human rights for NGOs", starts_at=starts.isoformat(),
        ends_at=(starts + timedelta(hours=2)).isoformat(),
    )  # fmt: skip
    outcome = await register_person(
        session, smtp_settings, email="kanha@example.org", chosen_name="Kanha", language="en"
    )
    assert await deliver_due(MAIL_COMPOSERS, SmtpTransport(smtp_settings), smtp_settings) == 1

    (message,) = mail_server.inbox.messages
    assert message["To"] == "kanha@example.org"
    # Discreet by default: neither the training's title nor the organisation's name.
    assert message["Subject"] == "Your registration is confirmed"
    assert "Human rights" not in message["Subject"]
    assert message["From"].addresses[0].display_name == "Sala"
    stored = await OutboxMessage.get(to_address="kanha@example.org")
    assert message["Message-ID"] == stored.message_id
    assert stored.status == OutboxStatus.SENT and stored.attempts == 1

    parts = _parts(message)
    text = parts["text/plain"][0].get_content()
    html = parts["text/html"][0].get_content()
    assert "Hello Kanha," in text and "Human rights for NGOs" in text
    assert "/registrations/" in text and 'src="cid:ticket"' in html

    (png,) = parts["image/png"]
    assert png["Content-ID"] == "<ticket>"
    decoded = zxingcpp.read_barcodes(Image.open(io.BytesIO(png.get_content())))
    assert len(decoded) == 1
    claims = verify_token(load_keys(smtp_settings.data_dir), decoded[0].text)
    stored_registration = await Registration.get(id=outcome.registration.id)
    assert getattr(claims, "ticket_id", None) == stored_registration.ticket_id  # no ids in clear
    assert "Kanha" not in decoded[0].text and "example" not in decoded[0].text

    (ics,) = parts["text/calendar"]
    event = next(iter(Calendar.from_ical(ics.get_content()).walk("VEVENT")))
    assert event.decoded("DTSTART") == starts


async def test_email_is_in_the_registrants_language(
    smtp_app: Starlette, smtp_settings: Settings, mail_server: MailServer
) -> None:
    session = await make_session()
    await register_person(session, smtp_settings, language="km", chosen_name="សុខា")
    await deliver_due(MAIL_COMPOSERS, SmtpTransport(smtp_settings), smtp_settings)
    (message,) = mail_server.inbox.messages
    text = _parts(message)["text/plain"][0].get_content()
    assert "សុខា" in text
    assert "Hello" not in text
    assert any("\u1780" <= ch <= "\u17ff" for ch in message["Subject"])


async def test_smtp_down_registrations_succeed_and_mail_arrives_later(
    database_url: str, tmp_path: Path
) -> None:
    from sala.app import create_app

    down = MailServer()  # not started yet: nothing listens on its port
    settings = make_settings(
        tmp_path, database_url, SALA_SMTP_HOST="127.0.0.1", SALA_SMTP_PORT=str(down.port),
        SALA_MAIL_WORKER="off",
    )  # fmt: skip
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        session = await make_session()
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as api:
            for index in range(3):
                answer = await api.post(
                    f"/api/v1/sessions/{session.id}/registrations",
                    json={"chosen_name": f"P{index}", "email": f"p{index}@example.org",
                          "sector": "ngo", "consent": True},
                )  # fmt: skip
                assert answer.status_code == 201
        assert await deliver_due(MAIL_COMPOSERS, SmtpTransport(settings), settings) == 0
        waiting = await OutboxMessage.all()
        assert len(waiting) == 3
        assert all(m.status == OutboxStatus.PENDING and m.attempts == 1 for m in waiting)
        assert all("cannot reach the mail server" in m.last_error for m in waiting)
        first_ids = {m.message_id for m in waiting}
        # Not due yet: backoff.
        assert await deliver_due(MAIL_COMPOSERS, SmtpTransport(settings), settings) == 0

        down.start()
        try:
            later = datetime.now(UTC) + timedelta(minutes=5)
            sent = await deliver_due(MAIL_COMPOSERS, SmtpTransport(settings), settings, now=later)
        finally:
            down.stop()
        assert sent == 3
        assert {m["Message-ID"] for m in down.inbox.messages} == first_ids
        assert await OutboxMessage.filter(status=OutboxStatus.SENT).count() == 3


async def test_refused_recipient_is_marked_failed_and_not_retried(
    smtp_app: Starlette, smtp_settings: Settings, mail_server: MailServer, client: httpx.AsyncClient
) -> None:
    mail_server.inbox.refused.add("nobody@example.org")
    session = await make_session()
    await register_person(session, smtp_settings, email="nobody@example.org")
    await register_person(session, smtp_settings, email="somebody@example.org")
    assert await deliver_due(MAIL_COMPOSERS, SmtpTransport(smtp_settings), smtp_settings) == 1
    failed = await OutboxMessage.get(to_address="nobody@example.org")
    assert failed.status == OutboxStatus.FAILED
    assert "550" in failed.last_error and "recipient refused" in failed.last_error
    later = datetime.now(UTC) + timedelta(days=1)
    assert (
        await deliver_due(MAIL_COMPOSERS, SmtpTransport(smtp_settings), smtp_settings, now=later)
        == 0
    )
    assert (await OutboxMessage.get(id=failed.id)).attempts == 1


async def test_two_workers_never_send_the_same_message_twice(
    smtp_app: Starlette, smtp_settings: Settings, mail_server: MailServer
) -> None:
    import asyncio

    session = await make_session(capacity="40")
    for _ in range(30):
        await register_person(session, smtp_settings)
    transport = SmtpTransport(smtp_settings)
    results = await asyncio.gather(
        *(deliver_due(MAIL_COMPOSERS, transport, smtp_settings, limit=7) for _ in range(6))
    )
    while sum(results) < 30 and any(results):
        results = [*results, await deliver_due(MAIL_COMPOSERS, transport, smtp_settings)]
    ids = [m["Message-ID"] for m in mail_server.inbox.messages]
    assert len(ids) == 30 and len(set(ids)) == 30


async def test_without_smtp_host_mail_waits_in_the_outbox(
    settings: Settings, app: Starlette
) -> None:
    session = await make_session()
    await register_person(session, settings)
    assert settings.smtp_host is None
    assert await run_once(settings, BACKGROUND) == 0
    (message,) = await OutboxMessage.all()
    assert message.status == OutboxStatus.PENDING


async def test_reminder_is_sent_once(smtp_app: Starlette, smtp_settings: Settings) -> None:
    soon = datetime.now(UTC) + timedelta(hours=30)
    session = await make_session(
        starts_at=soon.isoformat(), ends_at=(soon + timedelta(hours=2)).isoformat()
    )
    await register_person(session, smtp_settings)
    await register_person(session, smtp_settings, email="", phone="012 999 888")
    later = await make_session(title_en="Later")
    await register_person(later, smtp_settings)
    due = datetime.now(UTC) + timedelta(hours=10)  # 20 hours before the start
    assert await enqueue_due_reminders(smtp_settings, now=due) == 1
    assert await enqueue_due_reminders(smtp_settings, now=due) == 0
    assert await OutboxMessage.filter(kind="session_reminder_to_registrant").count() == 1


async def test_no_reminder_for_whoever_registered_after_it_was_due(
    smtp_app: Starlette, smtp_settings: Settings
) -> None:
    """Someone registering 20 hours before the start has just had their confirmation."""
    soon = datetime.now(UTC) + timedelta(hours=20)
    late = await make_session(
        starts_at=soon.isoformat(), ends_at=(soon + timedelta(hours=2)).isoformat()
    )
    await register_person(late, smtp_settings, email="late@example.org")
    assert await enqueue_due_reminders(smtp_settings) == 0
    assert await enqueue_due_reminders(smtp_settings, now=soon - timedelta(hours=1)) == 0

    early_start = datetime.now(UTC) + timedelta(hours=30)
    early = await make_session(
        starts_at=early_start.isoformat(),
        ends_at=(early_start + timedelta(hours=2)).isoformat(),
    )
    await register_person(early, smtp_settings, email="early@example.org")
    assert await enqueue_due_reminders(smtp_settings, now=early_start - timedelta(hours=20)) == 1
    reminders = await OutboxMessage.filter(kind="session_reminder_to_registrant")
    assert [m.to_address for m in reminders] == ["early@example.org"]


async def test_plain_text_keeps_its_line_breaks(
    smtp_app: Starlette, smtp_settings: Settings, mail_server: MailServer
) -> None:
    """The venue's address on a line of its own, a blank line before what follows it."""
    session = await make_session(
        capacity="1",
        venue_name="CLGBT office",
        venue_address="#12, Street 310, Phnom Penh",
        online_url="https://meet.example.org/room-9",
    )
    await register_person(session, smtp_settings, email="seated@example.org")
    await register_person(session, smtp_settings, email="waiting@example.org")
    await deliver_due(MAIL_COMPOSERS, SmtpTransport(smtp_settings), smtp_settings)
    text = {
        m["To"]: _parts(m)["text/plain"][0].get_content().replace("\r\n", "\n")
        for m in mail_server.inbox.messages
    }
    confirmed = text["seated@example.org"].splitlines()
    where = confirmed.index("Where: CLGBT office")
    assert confirmed[where + 1 : where + 4] == [
        "#12, Street 310, Phnom Penh",
        "Online: https://meet.example.org/room-9",
        "",
    ]
    assert confirmed[where + 4].startswith("Your ticket QR code")
    waiting = text["waiting@example.org"]
    assert "Your place on the waiting list: 1\n\nIf a seat becomes free" in waiting
    assert "Online: The link is sent to confirmed participants.\n\nYour personal page" in waiting


def test_no_line_of_a_plain_text_email_ends_with_a_tag_after_text() -> None:
    """``trim_blocks`` eats the line break after a tag, so "address{% endif %}" ran into the
    next line: a tag ends a line only on a line of tags."""
    only_tags = re.compile(r"\s*(\{%((?!%\}).)*%\}\s*)+")
    offenders = [
        f"{path.name}:{number}"
        for path in sorted((TEMPLATES_DIR / "email").glob("*.txt"))
        for number, line in enumerate(path.read_text().splitlines(), 1)
        if line.endswith("%}") and not only_tags.fullmatch(line)
    ]
    assert offenders == []


async def _manage_path(web: httpx.AsyncClient, session_id: int, email: str) -> str:
    answer = await web.post(
        f"/api/v1/sessions/{session_id}/registrations",
        json={"chosen_name": "Dara", "email": email, "sector": "ngo", "consent": True},
    )
    assert answer.status_code == 201, answer.text
    return str(answer.json()["manage_url"]).removeprefix("http://testserver")


async def _cancel_own(web: httpx.AsyncClient, manage_path: str) -> None:
    confirm = await web.get(manage_path + "/cancel")
    data = {"csrf_token": csrf_from(confirm.text)}
    for _twice in range(2):  # a form posted twice tells once
        assert (await web.post(manage_path + "/cancel", data=data)).status_code == 303


async def test_cancelling_ones_own_seat_or_waiting_place_is_confirmed_by_email(
    smtp_client: httpx.AsyncClient, smtp_settings: Settings, mail_server: MailServer
) -> None:
    session = await make_session(capacity="1")
    seated = await _manage_path(smtp_client, session.id, "seated@example.org")
    waiting = await _manage_path(smtp_client, session.id, "waiting@example.org")
    behind = await _manage_path(smtp_client, session.id, "behind@example.org")
    await deliver_due(MAIL_COMPOSERS, SmtpTransport(smtp_settings), smtp_settings)
    mail_server.inbox.messages.clear()

    await _cancel_own(smtp_client, waiting)
    await _cancel_own(smtp_client, seated)
    await deliver_due(MAIL_COMPOSERS, SmtpTransport(smtp_settings), smtp_settings)
    received = {m["To"]: m for m in mail_server.inbox.messages}
    assert sorted(received) == ["behind@example.org", "seated@example.org", "waiting@example.org"]
    assert received["seated@example.org"]["Subject"] == "You have cancelled your registration"
    seated_text = _parts(received["seated@example.org"])["text/plain"][0].get_content()
    assert "You have cancelled your registration for this training" in seated_text
    assert "If it was not you, reply to this email" in seated_text
    assert "by the organisers" not in seated_text
    waiting_text = _parts(received["waiting@example.org"])["text/plain"][0].get_content()
    assert "You have left the waiting list of this training" in waiting_text
    behind_text = _parts(received["behind@example.org"])["text/plain"][0].get_content()
    assert "a seat has become free and it is now yours" in behind_text  # the freed seat
    assert "Your registration is cancelled." in (await smtp_client.get(seated)).text
    assert "Your registration is cancelled." not in (await smtp_client.get(behind)).text


async def test_names_cannot_inject_headers_or_html(
    smtp_app: Starlette, smtp_settings: Settings, mail_server: MailServer
) -> None:
    session = await make_session(title_en="Safe & sound")
    await register_person(
        session, smtp_settings, chosen_name='<b>Bold</b> & "quoted"', email="x@example.org"
    )
    await deliver_due(MAIL_COMPOSERS, SmtpTransport(smtp_settings), smtp_settings)
    (message,) = mail_server.inbox.messages
    parts = _parts(message)
    assert "&lt;b&gt;Bold&lt;/b&gt; &amp;" in parts["text/html"][0].get_content()
    assert '<b>Bold</b> & "quoted"' in parts["text/plain"][0].get_content()
    assert "Bcc" not in message


# ----------------------------------------------------------------------------- what reaches logs

ADDRESS = re.compile(r"[\w.+-]+@[\w-]+\.[\w.]+")


@dataclass
class QuotingInbox(Inbox):
    """Refuses like Postfix does, quoting the address: for good (550) or for now (451)."""

    deferred: set[str] = field(default_factory=set)

    async def handle_RCPT(  # noqa: N802 - aiosmtpd's hook name
        self, server: Any, session: Any, envelope: Any, address: str, options: Any
    ) -> str:
        if address in self.refused:
            return f"550 5.1.1 <{address}>: Recipient address rejected: User unknown"
        if address in self.deferred:
            return f"451 4.7.1 <{address}>: Recipient address rejected: try again later"
        return await super().handle_RCPT(server, session, envelope, address, options)


def _logged(caplog: pytest.LogCaptureFixture) -> str:
    """Every line the app logged (not the test's own mail server), tracebacks included."""
    lines = []
    for record in caplog.records:
        if record.name.startswith(("mail.log", "httpx")):  # the test's server and client
            continue
        lines.append(record.getMessage())
        if record.exc_info:
            lines.append("".join(traceback.format_exception(*record.exc_info)))
        if record.exc_text:
            lines.append(record.exc_text)
    return "\n".join(lines)


async def test_smtp_refusals_are_logged_without_the_address(
    smtp_app: Starlette,
    smtp_settings: Settings,
    mail_server: MailServer,
    caplog: pytest.LogCaptureFixture,
) -> None:
    quoting = QuotingInbox(refused={"nobody@example.org"}, deferred={"later@example.org"})
    assert mail_server.controller is not None
    mail_server.inbox = mail_server.controller.handler = quoting
    caplog.set_level(logging.INFO)
    session = await make_session()
    for address in ("nobody@example.org", "later@example.org", "fine@example.org"):
        await register_person(session, smtp_settings, email=address)
    assert await deliver_due(MAIL_COMPOSERS, SmtpTransport(smtp_settings), smtp_settings) == 1

    refused = await OutboxMessage.get(to_address="nobody@example.org")
    deferred = await OutboxMessage.get(to_address="later@example.org")
    # Admins still read the server's words in the outbox; a 451 is tried again later.
    assert refused.status == OutboxStatus.FAILED and "nobody@example.org" in refused.last_error
    assert deferred.status == OutboxStatus.PENDING and "451" in deferred.last_error
    logged = _logged(caplog)
    assert f"mail {refused.id} not sent: SMTP 550; given up" in logged
    assert f"mail {deferred.id} not sent: SMTP 451; will retry" in logged
    assert not ADDRESS.findall(logged), logged


async def test_a_broken_composer_is_logged_without_its_words_and_holds_up_nothing(
    smtp_app: Starlette,
    smtp_settings: Settings,
    mail_server: MailServer,
    caplog: pytest.LogCaptureFixture,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    caplog.set_level(logging.INFO)
    session = await make_session()
    broken = await register_person(session, smtp_settings, email="broken@example.org")
    await register_person(session, smtp_settings, email="fine@example.org")
    from attendees import emails

    compose = MAIL_COMPOSERS[emails.reg.CONFIRMED_MAIL]

    async def failing(message: OutboxMessage, settings: Settings) -> mail.ComposedEmail:
        if message.params["registration_id"] == broken.registration.id:
            raise ValueError(f"cannot write to {message.to_address}")
        return await compose(message, settings)

    composers = {**MAIL_COMPOSERS, emails.reg.CONFIRMED_MAIL: failing}
    assert await deliver_due(composers, SmtpTransport(smtp_settings), smtp_settings) == 1
    stored = await OutboxMessage.get(to_address="broken@example.org")
    assert stored.status == OutboxStatus.PENDING and stored.attempts == 1
    assert "ValueError: cannot write to broken@example.org" in stored.last_error
    logged = _logged(caplog)
    assert f"mail {stored.id} could not be composed or sent; will retry (ValueError)" in logged
    assert "failing" in logged  # where it broke, for whoever fixes it
    assert not ADDRESS.findall(logged), logged


async def test_manage_links_never_reach_a_log_line(
    smtp_app: Starlette,
    smtp_settings: Settings,
    mail_server: MailServer,
    caplog: pytest.LogCaptureFixture,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Every page of a manage link, one of them failing with a server error, and its email
    refused by the mail server: no log line holds the link's token."""
    caplog.set_level(logging.INFO)
    mail_server.inbox.refused.add("dara@example.org")
    session = await make_session()
    transport = httpx.ASGITransport(app=smtp_app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as web:
        answer = await web.post(
            f"/api/v1/sessions/{session.id}/registrations",
            json={"chosen_name": "Dara", "email": "dara@example.org", "sector": "ngo",
                  "consent": True},
        )  # fmt: skip
        manage = answer.json()["manage_url"].removeprefix("http://testserver")
        token = manage.rsplit("/", 1)[1]
        for path in ("", "/ticket.png", "/cancel", "/delete", "/data.json"):
            assert (await web.get(manage + path)).status_code == 200, path

        async def broken(registration: Any) -> Any:
            raise RuntimeError("the database fell over")

        monkeypatch.setattr("attendees.manage.export_data", broken)
        assert (await web.get(manage + "/data.json")).status_code == 500
    await deliver_due(MAIL_COMPOSERS, SmtpTransport(smtp_settings), smtp_settings)
    logged = _logged(caplog)
    assert "unhandled error on GET /registrations/{token}/data.json" in logged
    assert "the database fell over" in logged
    assert token not in logged and token[:20] not in logged
    assert "dara@example.org" not in logged


def test_the_server_keeps_uvicorns_access_log_off(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """An access log would write every manage link's path, token and all."""
    import uvicorn

    from sala import cli

    seen: dict[str, Any] = {}
    monkeypatch.setattr(uvicorn, "run", lambda *args, **kwargs: seen.update(kwargs))
    monkeypatch.setattr(cli, "_migrate", lambda settings: None)
    args = cli.build_parser().parse_args(["serve", "--no-worker"])
    monkeypatch.setenv("SALA_MAIL_WORKER", "off")
    cli.cmd_serve(make_settings(tmp_path, "sqlite://:memory:"), args)
    assert seen["access_log"] is False
