"""Ticket tokens: small, signed, free of personal data and of database ids, and readable by a
real QR decoder."""

from __future__ import annotations

import asyncio
import io
import re
from pathlib import Path

import httpx
import pytest
import zxingcpp
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from PIL import Image
from starlette.applications import Starlette

from attendees.forms import parse_registration
from attendees.manage import manage_url
from attendees.models import Registration, RegistrationSource
from attendees.registration import register
from checkin.tickets import (
    InvalidTicket,
    LegacyTicketClaims,
    TicketClaims,
    base45_decode,
    base45_encode,
    issue_token,
    issue_v1_token,
    load_keys,
    new_ticket_id,
    ticket_for,
    verify_token,
)
from sala.config import Settings
from sala.models import Role
from sala.qrcodes import qr_png, qr_version
from tests.factories import make_session, make_staff, person_fields, register_person


def _read_qr(png: bytes) -> str:
    """The text of the one QR code in a PNG, as a phone's camera app would read it."""
    codes = zxingcpp.read_barcodes(Image.open(io.BytesIO(png)))
    assert len(codes) == 1, f"zxing-cpp found {len(codes)} codes"
    return str(codes[0].text)


def _id_bytes(number: int) -> list[bytes]:
    """The ways a program would write a database id into four bytes."""
    return [number.to_bytes(4, "big"), number.to_bytes(4, "little")]


def test_round_trip_and_size(tmp_path: Path) -> None:
    keys = load_keys(tmp_path)
    ticket_id = new_ticket_id()
    assert re.fullmatch(r"[0-9a-f]{24}", ticket_id)
    token = issue_token(keys, ticket_id=ticket_id)
    assert verify_token(keys, token) == TicketClaims(ticket_id, keys.signing_id)
    assert len(token) == 117
    assert qr_version(token) <= 5
    assert _read_qr(qr_png(token)) == token
    assert oct((tmp_path / "ticket_keys" / "1.pem").stat().st_mode & 0o777) == "0o600"


def test_version_1_tickets_still_verify_at_the_same_size(tmp_path: Path) -> None:
    keys = load_keys(tmp_path)
    token = issue_v1_token(keys, registration_id=2**31, session_id=77, seed=123456789)
    claims = verify_token(keys, token)
    assert claims == LegacyTicketClaims(2**31, 77, 123456789, keys.signing_id)
    assert len(token) == 117 and qr_version(token) <= 5


def test_base45_matches_rfc_9285_examples() -> None:
    assert base45_encode(b"AB") == "BB8"
    assert base45_encode(b"Hello!!") == "%69 VD92EX0"
    assert base45_encode(b"base-45") == "UJCLQE7W581"
    assert base45_decode("QED8WEX0") == b"ietf!"


@pytest.mark.parametrize("version", [1, 2])
@pytest.mark.parametrize(
    "mutate",
    [
        lambda t: t[:-1],
        lambda t: t + "A",
        lambda t: "",
        lambda t: "x" * 117,
        lambda t: t[:60] + ("0" if t[60] != "0" else "1") + t[61:],
        lambda t: t.lower(),
    ],
)
def test_forged_tokens_are_refused(tmp_path: Path, mutate, version: int) -> None:  # type: ignore[no-untyped-def]
    keys = load_keys(tmp_path)
    token = (
        issue_token(keys, ticket_id=new_ticket_id())
        if version == 2
        else issue_v1_token(keys, registration_id=1, session_id=2, seed=3)
    )
    with pytest.raises(InvalidTicket):
        verify_token(keys, mutate(token))


def test_an_unknown_version_is_refused_even_when_signed(tmp_path: Path) -> None:
    keys = load_keys(tmp_path)
    payload = bytes([3, keys.signing_id]) + bytes(12)
    token = base45_encode(payload + keys.signing_key.sign(payload))
    assert len(token) == 117
    with pytest.raises(InvalidTicket):
        verify_token(keys, token)


def test_another_installations_key_is_refused(tmp_path: Path) -> None:
    ours = load_keys(tmp_path / "ours")
    theirs = load_keys(tmp_path / "theirs")
    with pytest.raises(InvalidTicket):
        verify_token(ours, issue_token(theirs, ticket_id=new_ticket_id()))
    with pytest.raises(InvalidTicket):
        verify_token(ours, issue_v1_token(theirs, registration_id=1, session_id=2, seed=3))


def test_tickets_of_a_rotated_key_still_verify(tmp_path: Path) -> None:
    before = load_keys(tmp_path / "before")
    old_ticket = issue_v1_token(before, registration_id=1, session_id=2, seed=3)
    old_v2 = issue_token(before, ticket_id="00" * 12)
    rotated = tmp_path / "after"
    (rotated / "ticket_keys").mkdir(parents=True)
    (rotated / "ticket_keys" / "1.pem").write_bytes(
        (tmp_path / "before" / "ticket_keys" / "1.pem").read_bytes()
    )
    (rotated / "ticket_keys" / "2.pem").write_bytes(
        Ed25519PrivateKey.generate().private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    after = load_keys(rotated)
    assert after.signing_id == 2
    assert verify_token(after, old_ticket) == LegacyTicketClaims(1, 2, 3, 1)
    assert verify_token(after, old_v2) == TicketClaims("00" * 12, 1)
    fresh = "ab" * 12
    assert verify_token(after, issue_token(after, ticket_id=fresh)) == TicketClaims(fresh, 2)


async def test_a_ticket_photo_names_no_registration_and_no_session(
    client: httpx.AsyncClient, settings: Settings
) -> None:
    """The attack: photograph someone's ticket, decode the QR, read the ids in its payload
    and look the session up. The payload holds only the version, the key and random bytes."""
    # Enough sessions and registrations that the ids are not tiny numbers.
    for _ in range(3):
        await make_session()
    session = await make_session(title_en="Trans rights workshop", audience="invite_only")
    admin = await make_staff(Role.ADMIN)
    for name in ("Dara", "Vanna", "Bopha", "Sokha"):
        data = parse_registration(person_fields(chosen_name=name), default_language="en")
        outcome = await register(
            session.id, data, source=RegistrationSource.STAFF, settings=settings, actor=admin
        )
    registration = outcome.registration
    manage_path = manage_url(registration, settings).removeprefix(settings.base_url)

    png = await client.get(manage_path + "/ticket.png")
    assert png.status_code == 200 and png.headers["content-type"] == "image/png"
    text = _read_qr(png.content)
    assert len(text) == 117
    payload = base45_decode(text)[:14]

    stored = await Registration.get(id=registration.id)
    assert payload[0] == 2, "the ticket is not a version-2 token"
    assert payload[2:].hex() == stored.ticket_id
    for number in (registration.id, session.id):
        for written in _id_bytes(number):
            assert written not in payload, f"the ticket's payload carries the id {number}"
    assert "Sokha" not in text and "Trans" not in text and "127.0.0.1" not in text


async def test_a_registration_from_before_ticket_ids_gets_one_once(
    app: Starlette, settings: Settings
) -> None:
    session = await make_session()
    registration = (await register_person(session, settings)).registration
    # A row from before ticket ids existed (the migration left it without one).
    await Registration.filter(id=registration.id).update(ticket_id=None)
    copies = [await Registration.get(id=registration.id) for _ in range(4)]
    assert all(copy.ticket_id is None for copy in copies)

    tokens = await asyncio.gather(*(ticket_for(copy, settings.data_dir) for copy in copies))
    assert len(set(tokens)) == 1, "two requests minting at once gave the ticket two ids"
    stored = await Registration.get(id=registration.id)
    assert stored.ticket_id is not None and re.fullmatch(r"[0-9a-f]{24}", stored.ticket_id)
    claims = verify_token(load_keys(settings.data_dir), tokens[0])
    assert claims == TicketClaims(stored.ticket_id, claims.key_id)
    # Later tickets keep that id.
    assert await ticket_for(stored, settings.data_dir) == tokens[0]
