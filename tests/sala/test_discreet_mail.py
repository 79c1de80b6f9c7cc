"""Discreet mail (issue 11): with ``SALA_DISCREET_MAIL=on`` a phone's lock screen, which shows
the subject and the first words of the body, shows nothing about the training.

Every kind of email registered with ``sala.mail`` (the registry is walked, so a kind added
later is tested too) is sent from one small world made through the app (a training on LGBT
problem analysis, registrations, a claim, an invitation, a certificate, a team request), in
Khmer and in English, through a real SMTP server, and read back: the first non-empty line of
the text part and of the HTML part (its preheader included), and the first 100 characters
of each (what a lock screen shows), name no training, no topic, no "LGBT", no "SOGIE".

A kind the world made is sent to the same address with the same params; any other kind gets
the world's ids. If a new composer needs more, add them to ``PARAMS`` (the test names it).
"""

from __future__ import annotations

import ast
import re
from collections.abc import AsyncIterator
from dataclasses import dataclass
from email.message import EmailMessage
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import httpx
import pytest
from starlette.applications import Starlette
from tortoise.backends.base.executor import EXECUTOR_CACHE

from attendees import people
from attendees.invitations import invite_person
from certificates import services as certificates
from certificates.models import Certificate
from events.models import Topic
from sala import mail, password_reset
from sala.app import MAIL_COMPOSERS
from sala.config import Settings
from sala.models import OutboxMessage, OutboxStatus, Role
from tests.conftest import make_settings
from tests.factories import make_session, make_staff, register_person, token_for
from tests.mail_server import MailServer
from tests.packages import PACKAGES

TITLE_EN = "LGBT problem analysis for SOGIE trainers"
TITLE_KM = "ការវិភាគបញ្ហា LGBT សម្រាប់គ្រូបង្គោល"
PREVIEW_CHARACTERS = 100  # about what a phone shows under the subject
KANHA = "kanha@example.org"

# Ids a composer may need beyond the common ones of the world (kind: extra params).
PARAMS: dict[str, dict[str, Any]] = {
    # the old values of what changed: the email shows them beside the new ones
    "session_changed_to_registrant": {
        "was": {"starts_at": "2020-01-06T02:00:00+00:00", "venue_name": "An older venue"}
    },
}


def _settings(database_url: str, tmp_path: Path, server: MailServer, discreet: str) -> Settings:
    return make_settings(
        tmp_path,
        database_url,
        SALA_SMTP_HOST="127.0.0.1",
        SALA_SMTP_PORT=str(server.port),
        SALA_MAIL_FROM="CLGBT Trainings <trainings@clgbt.example>",
        SALA_MAIL_WORKER="off",
        SALA_DISCREET_MAIL=discreet,
    )


@pytest.fixture(params=["on"])
def discreet(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def smtp_settings(
    database_url: str, tmp_path: Path, mail_server: MailServer, discreet: str
) -> Settings:
    return _settings(database_url, tmp_path, mail_server, discreet)


@pytest.fixture
async def web(smtp_settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    from sala.app import create_app

    EXECUTOR_CACHE.clear()  # as in the ``app`` fixture: the queries of the other database
    app: Starlette = create_app(smtp_settings)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
            yield client


@dataclass
class World:
    """The ids every composer may read, and the first real message the world made of each
    kind (its address and params: some composers check that they still agree)."""

    params: dict[str, Any]
    made: dict[str, OutboxMessage]


async def _world(web: httpx.AsyncClient, settings: Settings) -> World:
    """One of everything an email can be about, made the way the app makes it."""
    facilitator = await make_staff(Role.FACILITATOR, name="Dara")
    admin = await make_staff(Role.ADMIN, name="Chenda")
    leader = await make_staff(Role.TEAM_LEADER, name="Sopheap")
    session = await make_session(
        topic="problem_analysis",
        title_en=TITLE_EN,
        title_km=TITLE_KM,
        facilitators=(facilitator,),
        online_url="https://meet.example.org/lgbt-sogie",
    )
    outcome = await register_person(session, settings, chosen_name="Kanha", email=KANHA)
    registration = outcome.registration
    await register_person(session, settings, chosen_name="Kanha", email=KANHA)  # the claim
    await people.send_my_links(KANHA, language="en", settings=settings)
    await password_reset.request_reset(facilitator.email, language="en", settings=settings)
    invitation = await invite_person(
        session, email="guest@example.org", actor=admin, settings=settings, language="en"
    )
    headers = await token_for(facilitator)
    scan = {
        "registration_id": registration.id,
        "session_id": session.id,
        "scan_id": "discreet-scan-1",
    }
    checked = await web.post("/api/v1/checkins", json=scan, headers=headers)
    assert checked.json()["result"] == "checked_in", checked.text
    issued = await web.post(f"/api/v1/sessions/{session.id}/certificates", headers=headers)
    assert issued.status_code == 201, issued.text
    await certificates.render_pending(settings)
    admin_headers = await token_for(admin)
    team = await web.post(
        "/api/v1/teams",
        json={"name": "SOGIE peer educators", "leader_emails": [leader.email]},
        headers=admin_headers,
    )
    assert team.status_code == 201, team.text
    member = await web.post(
        f"/api/v1/teams/{team.json()['id']}/members", json={"email": KANHA}, headers=admin_headers
    )
    assert member.status_code == 201, member.text
    made: dict[str, OutboxMessage] = {}
    for message in await OutboxMessage.all().order_by("id"):
        made.setdefault(message.kind, message)
    await OutboxMessage.all().delete()  # the test sends its own, one per kind and language
    certificate = await Certificate.get(code=issued.json()[0]["code"])
    params = {
        "registration_id": registration.id,
        "person_id": registration.person_id,
        "invitation_id": invitation.id,
        "certificate_id": certificate.id,
        "session_id": session.id,
        "team_id": team.json()["id"],
        "member_id": member.json()["id"],
        "asked_by": admin.id,
    }
    return World(params, made)


async def _forbidden_words() -> list[str]:
    words = [TITLE_EN, TITLE_KM, "LGBT", "SOGIE"]
    for topic in await Topic.all():
        words += [topic.name_en, topic.name_km]
    return [w for w in words if w]


class _VisibleText(HTMLParser):
    """The text of an HTML email as a mail app reads it for a preview: tags dropped, blocks
    on lines of their own, nothing from <head>, <style> or <script>."""

    BLOCKS = {"p", "div", "br", "tr", "td", "table", "h1", "h2", "h3", "li", "ul", "body"}
    SKIPPED = {"head", "style", "script", "title"}

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self.skipping = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in self.SKIPPED:
            self.skipping += 1
        elif tag in self.BLOCKS:
            self.parts.append("\n")

    def handle_endtag(self, tag: str) -> None:
        if tag in self.SKIPPED:
            self.skipping -= 1
        elif tag in self.BLOCKS:
            self.parts.append("\n")

    def handle_data(self, data: str) -> None:
        if not self.skipping:
            self.parts.append(data)


def _text_of(part: EmailMessage) -> str:
    content = str(part.get_content())
    if part.get_content_type() == "text/html":
        parser = _VisibleText()
        parser.feed(content)
        return "".join(parser.parts)
    return content


def _first_line(text: str) -> str:
    return next(line.strip() for line in text.splitlines() if line.strip())


def _preview(text: str) -> str:
    """What a lock screen shows: the first characters, spaces and line breaks folded."""
    return re.sub(r"\s+", " ", text).strip()[:PREVIEW_CHARACTERS]


def _leaks(text: str, words: list[str]) -> list[str]:
    return [w for w in words if w.casefold() in text.casefold()]


async def _send_every_kind(
    web: httpx.AsyncClient, settings: Settings
) -> dict[str, tuple[str, str]]:
    """Send one email of every registered kind in each language; (kind, language) by
    Message-ID."""
    world = await _world(web, settings)
    for kind in sorted(MAIL_COMPOSERS):
        made = world.made.get(kind)
        for language in ("en", "km"):
            await mail.enqueue(
                kind,
                to=made.to_address if made else f"{language}.{kind}@example.org",
                language=language,
                params={**world.params, **(made.params if made else {}), **PARAMS.get(kind, {})},
                domain=settings.domain,
            )
    transport = mail.SmtpTransport(settings)
    while await mail.deliver_due(MAIL_COMPOSERS, transport, settings):
        pass
    messages = await OutboxMessage.all().order_by("id")
    not_sent = [
        (m.kind, m.language, m.last_error) for m in messages if m.status != OutboxStatus.SENT
    ]
    assert not not_sent, f"these kinds need params in PARAMS: {not_sent}"
    return {m.message_id: (m.kind, m.language) for m in messages}


def _received(
    server: MailServer, sent: dict[str, tuple[str, str]]
) -> dict[tuple[str, str], EmailMessage]:
    return {sent[m["Message-ID"]]: m for m in server.inbox.messages}


def _plain(email: EmailMessage) -> str:
    return _text_of(next(p for p in email.walk() if p.get_content_type() == "text/plain"))


async def test_the_first_words_of_every_email_are_neutral(
    web: httpx.AsyncClient, smtp_settings: Settings, mail_server: MailServer
) -> None:
    assert smtp_settings.discreet_mail
    received = _received(mail_server, await _send_every_kind(web, smtp_settings))
    assert set(received) == {(k, lang) for k in MAIL_COMPOSERS for lang in ("en", "km")}
    assert len(MAIL_COMPOSERS) >= 10
    words = await _forbidden_words()
    for where, email in received.items():
        assert not _leaks(email["Subject"], words), (where, email["Subject"])
        assert email["From"].addresses[0].display_name == "Sala"
        bodies = [p for p in email.walk() if p.get_content_type() in ("text/plain", "text/html")]
        assert {p.get_content_type() for p in bodies} == {"text/plain", "text/html"}, where
        for part in bodies:
            text = _text_of(part)
            first, preview = _first_line(text), _preview(text)
            assert not _leaks(first, words), (where, part.get_content_type(), first)
            assert not _leaks(preview, words), (where, part.get_content_type(), preview)


async def test_the_neutral_lead_is_in_the_readers_language_and_the_rest_is_unchanged(
    web: httpx.AsyncClient, smtp_settings: Settings, mail_server: MailServer
) -> None:
    received = _received(mail_server, await _send_every_kind(web, smtp_settings))
    english = received[("registration_confirmed_to_registrant", "en")]
    english_text = _plain(english)
    assert _first_line(english_text).startswith("A message from Sala.")
    assert "Hello Kanha," in english_text and TITLE_EN in english_text  # details further down
    khmer = received[("registration_confirmed_to_registrant", "km")]
    assert _first_line(_plain(khmer)).startswith("សារពី Sala")
    html = str(next(p for p in english.walk() if p.get_content_type() == "text/html").get_content())
    assert 'style="display:none' in html.split("A message from Sala.")[0][-400:]  # a preheader


@pytest.mark.parametrize("discreet", ["off"], indirect=True)
async def test_without_discreet_mail_there_is_no_lead(
    web: httpx.AsyncClient, smtp_settings: Settings, mail_server: MailServer
) -> None:
    assert not smtp_settings.discreet_mail
    received = _received(mail_server, await _send_every_kind(web, smtp_settings))
    english = received[("registration_confirmed_to_registrant", "en")]
    assert TITLE_EN in english["Subject"]
    assert _first_line(_plain(english)) == "Hello Kanha,"


def _queued_kinds() -> dict[str, str]:
    """Every kind of mail the code can queue: the ``*_MAIL`` constants of the packages, and
    each call of ``enqueue``/``outbox_insert`` names its kind by one of them (or passes on a
    ``kind`` it was given)."""
    root = Path(__file__).resolve().parents[2]
    kinds: dict[str, str] = {}
    for package in PACKAGES:
        for path in (root / package).rglob("*.py"):
            if "migrations" in path.parts:
                continue
            tree = ast.parse(path.read_text())
            for node in ast.walk(tree):
                if (
                    isinstance(node, ast.Assign)
                    and len(node.targets) == 1
                    and isinstance(node.targets[0], ast.Name)
                    and node.targets[0].id.endswith("_MAIL")
                    and isinstance(node.value, ast.Constant)
                ):
                    kinds[node.value.value] = f"{path.relative_to(root)}:{node.lineno}"
                if isinstance(node, ast.Call) and getattr(node.func, "attr", None) in (
                    "enqueue",
                    "outbox_insert",
                ):
                    first = node.args[0] if node.args else None
                    choices = (
                        [first.body, first.orelse] if isinstance(first, ast.IfExp) else [first]
                    )
                    for choice in choices:
                        named = getattr(choice, "id", None) or getattr(choice, "attr", None) or ""
                        assert named == "kind" or named.endswith("_MAIL"), (
                            f"{path.relative_to(root)}:{node.lineno} queues a kind that is not "
                            "a *_MAIL constant, so this test cannot see it"
                        )
    return kinds


def test_every_kind_the_code_queues_has_a_composer() -> None:
    """Composers are listed in sala/app.py, not registered on import: a kind left out there
    would sit in the outbox and fail."""
    kinds = _queued_kinds()
    assert len(kinds) >= 10
    missing = {kind: where for kind, where in kinds.items() if kind not in MAIL_COMPOSERS}
    assert not missing, f"add these to an emails.COMPOSERS listed in sala/app.py: {missing}"
