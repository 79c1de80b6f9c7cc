"""Ticket tokens: what the QR code on a ticket holds.

A token is ``base45(payload ‖ Ed25519 signature)`` (RFC 9285): 117 characters of the QR
alphanumeric alphabet, which fits QR version 5 at level M (122 characters). The payload is
14 bytes::

    version (1) | key id (1) | registration id (4) | session id (4) | seed (4)

No name, email or host name: a photo of a ticket reveals nothing, and a phone that holds the
public key can check it offline. The seed is stored on the registration; replacing it
revokes every earlier token of that registration.

The installation's key pairs live in ``<data dir>/ticket_keys/<id>.pem``. The highest id
signs; every key in the folder verifies, so a key can be rotated without voiding tickets.
"""

from __future__ import annotations

import hmac
import os
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

TOKEN_VERSION = 1
_PAYLOAD = struct.Struct(">BBIII")
_SIGNATURE_LENGTH = 64
TOKEN_LENGTH = 117
BASE45_ALPHABET = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ $%*+-./:"
_BASE45_VALUES = {char: value for value, char in enumerate(BASE45_ALPHABET)}


class InvalidTicket(Exception):
    """The text is not a ticket signed by one of this installation's keys."""


@dataclass(frozen=True)
class TicketClaims:
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


def issue_token(keys: TicketKeys, *, registration_id: int, session_id: int, seed: int) -> str:
    payload = _PAYLOAD.pack(TOKEN_VERSION, keys.signing_id, registration_id, session_id, seed)
    signature = keys.signing_key.sign(payload)
    return base45_encode(payload + signature)


def verify_token(keys: TicketKeys, token: str) -> TicketClaims:
    """The claims of a genuine token; :class:`InvalidTicket` for anything else."""
    if len(token) != TOKEN_LENGTH:
        raise InvalidTicket("wrong length")
    raw = base45_decode(token)
    payload, signature = raw[: _PAYLOAD.size], raw[_PAYLOAD.size :]
    if len(signature) != _SIGNATURE_LENGTH:
        raise InvalidTicket("truncated")
    version, key_id, registration_id, session_id, seed = _PAYLOAD.unpack(payload)
    key = keys.public_keys.get(key_id)
    if version != TOKEN_VERSION or key is None:
        raise InvalidTicket("unknown version or key")
    claims = TicketClaims(registration_id, session_id, seed, key_id)
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


def ticket_for(registration: Registration, data_dir: Path) -> str:
    """The token printed in this registration's QR code."""
    return issue_token(
        load_keys(data_dir),
        registration_id=registration.id,
        session_id=registration.session_id,  # type: ignore[attr-defined]
        seed=registration.ticket_seed,
    )
