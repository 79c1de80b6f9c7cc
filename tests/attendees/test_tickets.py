"""Ticket tokens: small, signed, free of personal data, and readable by a real QR decoder."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
import zxingcpp
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from PIL import Image

from attendees.tickets import (
    InvalidTicket,
    base45_decode,
    base45_encode,
    issue_token,
    load_keys,
    verify_token,
)
from sala.qrcodes import qr_png, qr_version


def test_round_trip_and_size(tmp_path: Path) -> None:
    keys = load_keys(tmp_path)
    token = issue_token(keys, registration_id=2**31, session_id=77, seed=123456789)
    claims = verify_token(keys, token)
    assert (claims.registration_id, claims.session_id, claims.seed) == (2**31, 77, 123456789)
    assert len(token) == 117
    assert qr_version(token) <= 5
    (decoded,) = zxingcpp.read_barcodes(Image.open(io.BytesIO(qr_png(token))))
    assert decoded.text == token
    assert oct((tmp_path / "ticket_keys" / "1.pem").stat().st_mode & 0o777) == "0o600"


def test_base45_matches_rfc_9285_examples() -> None:
    assert base45_encode(b"AB") == "BB8"
    assert base45_encode(b"Hello!!") == "%69 VD92EX0"
    assert base45_encode(b"base-45") == "UJCLQE7W581"
    assert base45_decode("QED8WEX0") == b"ietf!"


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
def test_forged_tokens_are_refused(tmp_path: Path, mutate) -> None:  # type: ignore[no-untyped-def]
    keys = load_keys(tmp_path)
    token = issue_token(keys, registration_id=1, session_id=2, seed=3)
    with pytest.raises(InvalidTicket):
        verify_token(keys, mutate(token))


def test_another_installations_key_is_refused(tmp_path: Path) -> None:
    ours = load_keys(tmp_path / "ours")
    theirs = load_keys(tmp_path / "theirs")
    with pytest.raises(InvalidTicket):
        verify_token(ours, issue_token(theirs, registration_id=1, session_id=2, seed=3))


def test_tickets_of_a_rotated_key_still_verify(tmp_path: Path) -> None:
    before = load_keys(tmp_path / "before")
    old_ticket = issue_token(before, registration_id=1, session_id=2, seed=3)
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
    assert verify_token(after, old_ticket).registration_id == 1
    assert (
        verify_token(after, issue_token(after, registration_id=4, session_id=2, seed=5)).seed == 5
    )
