"""Ticket tokens: what the QR code on a ticket holds.

A token is ``base45(payload ‖ Ed25519 signature)`` (RFC 9285): 117 characters of the QR
alphanumeric alphabet, which fits QR version 5 at level M (122 characters). The payload is
14 bytes, and its first byte says how to read the rest. Version 2, what tickets carry now::

    version (1) = 2 | key id (1) | ticket id (12)

The ticket id is ``Registration.ticket_id`` (24 lowercase hex characters): 12 random bytes
that mean nothing without the database. No name, email, host name, registration id or
session id: a photo of a ticket tells nobody which training it is for. The server maps the
ticket id back to its registration (a unique index), and the door phone maps it back
offline with the ticket ids in its check-in list. Replacing a registration's ticket id
(:func:`replace_ticket`) revokes its earlier tickets.

Version 1, what tickets carried before, is still accepted so that tickets already issued
keep working; it is never issued again (only :func:`issue_v1_token`, for tests)::

    version (1) = 1 | key id (1) | registration id (4) | session id (4) | seed (4)

Its seed is ``Registration.ticket_seed``; :func:`replace_ticket` replaces it as well.

The installation's key pairs live in ``<data dir>/ticket_keys/<id>.pem``. The highest id
signs; every key in the folder verifies, so a key can be rotated without voiding tickets.
"""

from __future__ import annotations

import hmac
import os
import secrets
import struct
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import (
    Ed25519PrivateKey,
    Ed25519PublicKey,
)

from attendees.models import Registration

TOKEN_VERSION = 2
LEGACY_TOKEN_VERSION = 1
TICKET_ID_BYTES = 12
_HEADER = struct.Struct(">BB")  # version, key id
_V1_PAYLOAD = struct.Struct(">BBIII")
_PAYLOAD_LENGTH = _HEADER.size + TICKET_ID_BYTES
_SIGNATURE_LENGTH = 64
TOKEN_LENGTH = 117
BASE45_ALPHABET = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ $%*+-./:"
_BASE45_VALUES = {char: value for value, char in enumerate(BASE45_ALPHABET)}

assert _V1_PAYLOAD.size == _PAYLOAD_LENGTH  # both versions: the same length, the same QR


class InvalidTicket(Exception):
    """The text is not a ticket signed by one of this installation's keys."""


@dataclass(frozen=True)
class TicketClaims:
    """A genuine version-2 ticket: only its random ticket id."""

    ticket_id: str
    key_id: int


@dataclass(frozen=True)
class LegacyTicketClaims:
    """A genuine version-1 ticket (issued before ticket ids): database ids and the seed."""

    registration_id: int
    session_id: int
    seed: int
    key_id: int


@dataclass(frozen=True)
class TicketKeys:
    signing_id: int
    signing_key: Ed25519PrivateKey
    public_keys: dict[int, Ed25519PublicKey]

    def public_keys_raw(self) -> dict[int, bytes]:
        return {
            key_id: key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
            for key_id, key in self.public_keys.items()
        }


@cache
def load_keys(data_dir: Path) -> TicketKeys:
    """The installation's ticket keys, making the first pair on first use."""
    folder = data_dir / "ticket_keys"
    folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    if not any(folder.glob("*.pem")):
        _write_key(folder / "1.pem", Ed25519PrivateKey.generate())
    private: dict[int, Ed25519PrivateKey] = {}
    for path in folder.glob("*.pem"):
        key = serialization.load_pem_private_key(path.read_bytes(), password=None)
        if isinstance(key, Ed25519PrivateKey) and path.stem.isdigit():
            private[int(path.stem)] = key
    signing_id = max(private)
    return TicketKeys(
        signing_id=signing_id,
        signing_key=private[signing_id],
        public_keys={key_id: key.public_key() for key_id, key in private.items()},
    )


def _write_key(path: Path, key: Ed25519PrivateKey) -> None:
    pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:  # another process made it first
        return
    with os.fdopen(fd, "wb") as handle:
        handle.write(pem)


def new_ticket_id() -> str:
    """A fresh random ticket id: 12 bytes as 24 lowercase hex characters."""
    return secrets.token_hex(TICKET_ID_BYTES)


def issue_token(keys: TicketKeys, *, ticket_id: str) -> str:
    """A version-2 token for this ticket id."""
    try:
        raw_id = bytes.fromhex(ticket_id)
    except ValueError as exc:
        raise ValueError("a ticket id is 24 hex characters") from exc
    if len(raw_id) != TICKET_ID_BYTES:
        raise ValueError("a ticket id is 24 hex characters")
    return _signed(keys, _HEADER.pack(TOKEN_VERSION, keys.signing_id) + raw_id)


def issue_v1_token(keys: TicketKeys, *, registration_id: int, session_id: int, seed: int) -> str:
    """A version-1 token, as tickets were made before ticket ids: only for tests that show
    such tickets still work. Nothing in the app issues one any more."""
    payload = _V1_PAYLOAD.pack(
        LEGACY_TOKEN_VERSION, keys.signing_id, registration_id, session_id, seed
    )
    return _signed(keys, payload)


def _signed(keys: TicketKeys, payload: bytes) -> str:
    return base45_encode(payload + keys.signing_key.sign(payload))


def verify_token(keys: TicketKeys, token: str) -> TicketClaims | LegacyTicketClaims:
    """The claims of a genuine token; :class:`InvalidTicket` for anything else."""
    if len(token) != TOKEN_LENGTH:
        raise InvalidTicket("wrong length")
    raw = base45_decode(token)
    payload, signature = raw[:_PAYLOAD_LENGTH], raw[_PAYLOAD_LENGTH:]
    if len(signature) != _SIGNATURE_LENGTH:
        raise InvalidTicket("truncated")
    version, key_id = _HEADER.unpack_from(payload)
    key = keys.public_keys.get(key_id)
    if key is None:
        raise InvalidTicket("unknown key")
    claims: TicketClaims | LegacyTicketClaims
    if version == TOKEN_VERSION:
        claims = TicketClaims(payload[_HEADER.size :].hex(), key_id)
    elif version == LEGACY_TOKEN_VERSION:
        _, _, registration_id, session_id, seed = _V1_PAYLOAD.unpack(payload)
        claims = LegacyTicketClaims(registration_id, session_id, seed, key_id)
    else:
        raise InvalidTicket("unknown version")
    # Ed25519 signing is deterministic (RFC 8032) and the server holds the private key: a
    # ticket it issued carries exactly the signature that signing the payload again gives,
    # and signing takes a third of the time of verifying. Anything else is verified fully,
    # so exactly the signatures that verify are accepted.
    if key_id == keys.signing_id and hmac.compare_digest(keys.signing_key.sign(payload), signature):
        return claims
    try:
        key.verify(signature, payload)
    except InvalidSignature as exc:
        raise InvalidTicket("bad signature") from exc
    return claims


def base45_encode(data: bytes) -> str:
    chars: list[str] = []
    for index in range(0, len(data) - 1, 2):
        value = data[index] * 256 + data[index + 1]
        value, c = divmod(value, 45)
        e, d = divmod(value, 45)
        chars += [BASE45_ALPHABET[c], BASE45_ALPHABET[d], BASE45_ALPHABET[e]]
    if len(data) % 2:
        d, c = divmod(data[-1], 45)
        chars += [BASE45_ALPHABET[c], BASE45_ALPHABET[d]]
    return "".join(chars)


def base45_decode(text: str) -> bytes:
    try:
        values = [_BASE45_VALUES[char] for char in text]
    except KeyError as exc:
        raise InvalidTicket("not base45") from exc
    out = bytearray()
    for index in range(0, len(values), 3):
        group = values[index : index + 3]
        if len(group) == 3:
            number = group[0] + group[1] * 45 + group[2] * 2025
            if number > 0xFFFF:
                raise InvalidTicket("not base45")
            out += number.to_bytes(2, "big")
        elif len(group) == 2:
            number = group[0] + group[1] * 45
            if number > 0xFF:
                raise InvalidTicket("not base45")
            out.append(number)
        else:
            raise InvalidTicket("not base45")
    return bytes(out)


async def ticket_for(registration: Registration, data_dir: Path) -> str:
    """The token printed in this registration's QR code: the one place that mints tickets.

    A registration made before ticket ids existed gets its ticket id here, the first time
    its ticket is shown or sent: a conditional update (``WHERE ticket_id IS NULL``), so two
    requests minting at once agree on one id.
    """
    if registration.ticket_id is None:
        await Registration.filter(id=registration.id, ticket_id=None).update(
            ticket_id=new_ticket_id()
        )
        # Ours, or the one a request minting at the same moment wrote first.
        await registration.refresh_from_db(fields=["ticket_id"])
    return issue_token(load_keys(data_dir), ticket_id=str(registration.ticket_id))


async def replace_ticket(registration_id: int) -> None:
    """Revoke every ticket issued so far for this registration, of either version: a new
    ticket id and a new seed. The next ticket shown or sent is a new one."""
    await Registration.filter(id=registration_id).update(
        ticket_id=new_ticket_id(), ticket_seed=secrets.randbits(32)
    )
