"""Validation of registration input, shared by the public form, the staff form and the API."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, TypedDict

from attendees.models import AgeBand, GenderIdentity, Province, Sector
from sala.config import LANGUAGES
from sala.errors import ValidationFailed
from sala.forms import FieldReader, normalise_email
from sala.i18n import N_

_PHONE_SEPARATORS = re.compile(r"[\s\-\.\(\)]")


@dataclass(frozen=True)
class RegistrationInput:
    chosen_name: str
    pronouns: str
    email: str | None
    phone: str | None
    sector: Sector
    organisation: str
    language: str
    accessibility_needs: str
    consent: bool
    invitation_code: str
    # Optional, for the reports (see Registration): "" when not given.
    province: str = ""
    age_band: str = ""
    gender_identity: str = ""
    gender_identity_text: str = ""


def normalise_phone(raw: str) -> str | None:
    """A Cambodian or international number in E.164 form (+855…)."""
    phone = _PHONE_SEPARATORS.sub("", raw.strip())
    if not phone:
        return None
    if phone.startswith("00"):
        phone = "+" + phone[2:]
    elif phone.startswith("0"):
        phone = "+855" + phone[1:]
    elif phone.startswith("855"):
        phone = "+" + phone
    elif not phone.startswith("+"):
        phone = "+855" + phone
    digits = phone[1:]
    if not digits.isascii() or not digits.isdigit() or not 8 <= len(digits) <= 15:
        raise ValueError(raw)
    if digits.startswith("855") and not 11 <= len(digits) <= 12:
        raise ValueError(raw)
    return phone


class ReachAnswers(TypedDict):
    """The optional answers for the reports (see Registration): "" when not given."""

    province: str
    age_band: str
    gender_identity: str
    gender_identity_text: str


def read_reach_answers(reader: FieldReader) -> ReachAnswers:
    """The optional answers, read by the registration and by the manage page's form."""
    gender_identity = reader.choice("gender_identity", tuple(GenderIdentity), default="")
    gender_identity_text = reader.text("gender_identity_text", max_length=60)
    if gender_identity_text and gender_identity in ("", GenderIdentity.SELF_DESCRIBED):
        gender_identity = GenderIdentity.SELF_DESCRIBED
    elif gender_identity != GenderIdentity.SELF_DESCRIBED:
        gender_identity_text = ""  # words only go with "in my own words"
    return ReachAnswers(
        province=reader.choice("province", tuple(Province), default=""),
        age_band=reader.choice("age_band", tuple(AgeBand), default=""),
        gender_identity=gender_identity,
        gender_identity_text=gender_identity_text,
    )


def parse_registration(raw: Mapping[str, Any], *, default_language: str) -> RegistrationInput:
    reader = FieldReader(raw)
    chosen_name = reader.text("chosen_name", max_length=120, required=True)
    pronouns = reader.text("pronouns", max_length=40)
    email_text = reader.text("email", max_length=254)
    phone_text = reader.text("phone", max_length=30)
    email = phone = None
    try:
        email = normalise_email(email_text)
    except ValueError:
        reader.fail("email", N_("Enter a valid email address."))
    try:
        phone = normalise_phone(phone_text)
    except ValueError:
        reader.fail("phone", N_("Enter a valid phone number, e.g. 012 345 678."))
    if not email and not phone and "email" not in reader.errors and "phone" not in reader.errors:
        reader.fail("email", N_("Give an email address or a phone number, so we can reach you."))
    sector = reader.choice("sector", tuple(Sector))
    language = reader.choice("language", LANGUAGES, default=default_language)
    consent = reader.flag("consent")
    if not consent:
        reader.fail("consent", N_("Please agree to how we use your information."))
    data = RegistrationInput(
        chosen_name=chosen_name,
        pronouns=pronouns,
        email=email,
        phone=phone,
        sector=Sector(sector),
        organisation=reader.text("organisation", max_length=200),
        language=language,
        accessibility_needs=reader.text("accessibility_needs", max_length=500, multiline=True),
        consent=consent,
        invitation_code=reader.text("invitation_code", max_length=32).upper(),
        **read_reach_answers(reader),
    )
    if reader.errors:
        raise ValidationFailed(reader.errors)
    return data
