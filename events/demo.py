"""``sala demo``: a believable month of trainings in Khmer and English, to try the system;
with ``--months N`` also N past months of history, so the reach report shows figures at once.

The history's sessions, series, invitations and certificates are made by the services staff
use. Its people and registrations (hundreds of rows) are written with ``bulk_create``, keeping
what the registration service keeps: ``Session.confirmed_count`` equals the confirmed
registrations, a waitlist only behind a full session, check-ins only of confirmed seats, an
invitation's ``used`` its registrations not cancelled, each person's ``reach_key`` on every
registration of theirs, a random ticket id and manage key each. Who comes, from where and
what happens to them is drawn from a seeded random generator: the same N on the same day
gives the same history (the secrets are random, as always). The question banks, tests,
attempts and feedback of the ``learning`` package come from :mod:`learning.demo`.
"""

from __future__ import annotations

import random
import secrets
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from tortoise import connections
from tortoise.transactions import in_transaction

from attendees.invitations import invite_organisation
from attendees.models import (
    AgeBand,
    GenderIdentity,
    Person,
    Province,
    Registration,
    RegistrationSource,
    RegistrationStatus,
    Sector,
)
from certificates.models import Certificate
from certificates.services import issue_certificates
from checkin.tickets import new_ticket_id
from events import services
from events.forms import SeriesInput, SessionInput
from events.models import Audience, Series, Session, SessionStatus, Topic
from learning.demo import load_learning_demo, load_learning_history
from sala import accounts, db
from sala.models import Role, StaffUser

ZONE = ZoneInfo("Asia/Phnom_Penh")

VENUES = [
    ("CLGBT Training Room", "#12, Street 123, Toul Kork, Phnom Penh", "https://maps.app.goo.gl/"),
    ("Royal University of Phnom Penh, Building A", "Russian Federation Blvd, Phnom Penh", ""),
    ("Siem Reap Youth Centre", "Sala Kamreuk, Siem Reap", ""),
]

# (topic, title_en, title_km, description_en, description_km, days from now, start hour,
#  hours, capacity, audience, venue index or None for online)
TRAININGS = [
    (
        "sogie",
        "SOGIE basics for university students",
        "មូលដ្ឋានគ្រឹះ SOGIE សម្រាប់និស្សិតសាកលវិទ្យាល័យ",
        "What sexual orientation, gender identity and expression mean, in plain words. "
        "Games, stories and time for questions.\n\n- No previous knowledge needed\n"
        "- Snacks and water provided",
        "អត្ថន័យនៃទំនោរផ្លូវភេទ អត្តសញ្ញាណយេនឌ័រ និងការបញ្ចេញភេទ ជាភាសាងាយយល់។ "
        "មានល្បែង រឿងរ៉ាវ និងពេលសម្រាប់សំណួរ។\n\n- មិនចាំបាច់មានចំណេះដឹងពីមុន\n"
        "- មានអាហារសម្រន់ និងទឹក",
        5,
        9,
        3,
        40,
        Audience.PUBLIC,
        1,
    ),
    (
        "human_rights",
        "Human rights and the law in Cambodia",
        "សិទ្ធិមនុស្ស និងច្បាប់នៅកម្ពុជា",
        "The rights every person has under the Constitution of Cambodia and international "
        "law, and where to get help when they are not respected.",
        "សិទ្ធិដែលមនុស្សគ្រប់រូបមាន តាមរដ្ឋធម្មនុញ្ញកម្ពុជា និងច្បាប់អន្តរជាតិ "
        "និងកន្លែងស្វែងរកជំនួយនៅពេលសិទ្ធិទាំងនោះមិនត្រូវបានគោរព។",
        9,
        14,
        3,
        30,
        Audience.PUBLIC,
        0,
    ),
    (
        "problem_analysis",
        "LGBT problem analysis for NGO staff",
        "ការវិភាគបញ្ហា LGBT សម្រាប់បុគ្គលិកអង្គការ",
        "A practical workshop: map the problems LGBT people in your area face, find their "
        "causes and plan what your organisation can do.",
        "សិក្ខាសាលាអនុវត្តជាក់ស្តែង៖ កំណត់បញ្ហាដែលមនុស្ស LGBT ក្នុងតំបន់របស់អ្នកជួបប្រទះ "
        "ស្វែងរកមូលហេតុ និងរៀបចំផែនការសម្រាប់អង្គការរបស់អ្នក។",
        12,
        8,
        4,
        25,
        Audience.PUBLIC,
        0,
    ),
    (
        "sogie",
        "SOGIE training for government officers",
        "វគ្គបណ្តុះបណ្តាល SOGIE សម្រាប់មន្ត្រីរាជការ",
        "An invited session for a ministry department.",
        "វគ្គសម្រាប់នាយកដ្ឋានក្រសួង តាមការអញ្ជើញ។",
        16,
        9,
        3,
        20,
        Audience.INVITE_ONLY,
        0,
    ),
    (
        "human_rights",
        "Online: reporting discrimination safely",
        "អនឡាញ៖ ការរាយការណ៍ពីការរើសអើងដោយសុវត្ថិភាព",
        "How to document and report discrimination without putting yourself at risk.",
        "របៀបកត់ត្រា និងរាយការណ៍ពីការរើសអើង ដោយមិនធ្វើឱ្យខ្លួនឯងប្រឈមនឹងហានិភ័យ។",
        20,
        19,
        2,
        100,
        Audience.PUBLIC,
        None,
    ),
    (
        "sogie",
        "SOGIE basics in Siem Reap",
        "មូលដ្ឋានគ្រឹះ SOGIE នៅសៀមរាប",
        "The SOGIE basics training, for students and community members in Siem Reap.",
        "វគ្គមូលដ្ឋានគ្រឹះ SOGIE សម្រាប់និស្សិត និងសមាជិកសហគមន៍នៅសៀមរាប។",
        26,
        9,
        3,
        35,
        Audience.PUBLIC,
        2,
    ),
]


async def _demo_facilitator() -> StaffUser:
    email = "facilitator@demo.sala"
    user = await StaffUser.get_or_none(email=email)
    if user is None:
        user = await accounts.create_staff(
            email=email,
            name="Sokha (demo facilitator)",
            role=Role.FACILITATOR,
            password=secrets.token_urlsafe(16),
            actor=None,
        )
    return user


async def load_demo_data(*, months: int = 0) -> str:
    """Create the demo trainings once, and with ``months`` that many past months of history
    (:func:`load_history`); running it again adds nothing."""
    facilitator = await _demo_facilitator()
    summary = await _load_upcoming(facilitator)
    if months:
        summary += "\n" + await load_history(months, facilitator=facilitator)
    return summary


async def _load_upcoming(facilitator: StaffUser) -> str:
    if await Session.filter(title_en=TRAININGS[0][1]).exists():
        return "Demo data is already loaded."
    today = datetime.now(ZONE).replace(hour=0, minute=0, second=0, microsecond=0)
    created: list[Session] = []
    for (
        topic,
        title_en,
        title_km,
        desc_en,
        desc_km,
        days,
        hour,
        hours,
        capacity,
        audience,
        venue,
    ) in TRAININGS:
        starts = today + timedelta(days=days, hours=hour)
        name, address, map_url = VENUES[venue] if venue is not None else ("", "", "")
        data = SessionInput(
            topic_code=topic,
            title_en=title_en,
            title_km=title_km,
            description_en=desc_en,
            description_km=desc_km,
            starts_at=starts,
            ends_at=starts + timedelta(hours=hours),
            timezone=ZONE.key,
            venue_name=name,
            venue_address=address,
            venue_map_url=map_url,
            online_url="" if venue is not None else "https://meet.jit.si/sala-demo",
            capacity=capacity,
            audience=audience,
            registration_opens_at=None,
            registration_closes_at=starts - timedelta(hours=2),
            facilitator_ids=(facilitator.id,),
        )
        created.append(
            await services.create_session(data, actor=None, status=SessionStatus.PUBLISHED)
        )
    series_start = _next_first_saturday(today + timedelta(days=1)).replace(hour=9)
    _series, monthly = await services.create_series(
        SeriesInput(
            template=SessionInput(
                topic_code="team_building",
                title_en="Team building for CLGBT members",
                title_km="ការកសាងក្រុមសម្រាប់សមាជិក CLGBT",
                description_en="Our monthly team-building day: trust, roles and working together.",
                description_km="ថ្ងៃកសាងក្រុមប្រចាំខែ៖ ការទុកចិត្ត តួនាទី និងការធ្វើការរួមគ្នា។",
                starts_at=series_start,
                ends_at=series_start + timedelta(hours=3),
                timezone=ZONE.key,
                venue_name=VENUES[0][0],
                venue_address=VENUES[0][1],
                venue_map_url="",
                online_url="",
                capacity=30,
                audience=Audience.PUBLIC,
                registration_opens_at=None,
                registration_closes_at=None,
                facilitator_ids=(facilitator.id,),
            ),
            rrule="FREQ=MONTHLY;BYDAY=1SA",
            months=3,
            status=SessionStatus.PUBLISHED,
        ),
        actor=None,
    )
    learning = await load_learning_demo([*created, *monthly])
    return (
        f"Loaded {len(created)} trainings and a monthly series of {len(monthly)} sessions, "
        f"{learning} (demo facilitator: {facilitator.email})."
    )


# ----------------------------------------------------------------------------- history

HISTORY_SERIES_EN = "Monthly team building day"
HISTORY_SERIES_KM = "ថ្ងៃកសាងក្រុមប្រចាំខែ"
# A series holds at most 36 sessions, and the retention purge anonymises people after three
# years by default: older history would not stay as it was made.
MAX_HISTORY_MONTHS = 36
HISTORY_SEED = 15


@dataclass(frozen=True)
class _Training:
    """A training the history repeats: whom it is for (most newcomers come from ``sector``)
    and, for an invite-only one, the organisation invited."""

    topic: str
    title_en: str
    title_km: str
    description_en: str
    description_km: str
    capacity: int
    venue: int | None  # in VENUES; None: online
    sector: Sector | None
    invited: str = ""


def _as_held_before(index: int, sector: Sector | None, invited: str = "") -> _Training:
    """One of the upcoming TRAININGS, as it was also held in past months."""
    topic, title_en, title_km, desc_en, desc_km, *_when, capacity, _audience, venue = TRAININGS[
        index
    ]
    return _Training(topic, title_en, title_km, desc_en, desc_km, capacity, venue, sector, invited)


MINISTRY = "Ministry of Women's Affairs"
COMPANY = "Mekong Digital Co., Ltd."
# Taken in turn, month after month, so every topic comes round within five sessions.
PAST_TRAININGS: tuple[_Training, ...] = (
    _as_held_before(0, Sector.STUDENT),
    _as_held_before(1, None),
    _as_held_before(2, Sector.NGO),
    _Training(
        "problem_solving",
        "Solving problems together: from analysis to action",
        "ដោះស្រាយបញ្ហារួមគ្នា៖ ពីការវិភាគទៅសកម្មភាព",
        "Take one problem your group faces, agree on what to try first and who does what.",
        "យកបញ្ហាមួយដែលក្រុមរបស់អ្នកជួបប្រទះ ឯកភាពគ្នាលើអ្វីដែលត្រូវសាកល្បងមុន និងអ្នកណាធ្វើអ្វី។",
        25,
        0,
        Sector.COMMUNITY,
    ),
    _as_held_before(3, Sector.GOVERNMENT, MINISTRY),
    _as_held_before(4, None),
    _as_held_before(5, Sector.STUDENT),
    _Training(
        "problem_solving",
        "Inclusive workplaces: a workshop for one company",
        "កន្លែងធ្វើការប្រកបដោយបរិយាប័ន្ន៖ សិក្ខាសាលាសម្រាប់ក្រុមហ៊ុនមួយ",
        "An invited workshop: how a company can welcome LGBT staff and customers.",
        "សិក្ខាសាលាតាមការអញ្ជើញ៖ របៀបដែលក្រុមហ៊ុនអាចស្វាគមន៍បុគ្គលិក និងអតិថិជន LGBT។",
        20,
        0,
        Sector.PRIVATE,
        COMPANY,
    ),
)
TEAM_BUILDING = _Training(
    "team_building",
    HISTORY_SERIES_EN,
    HISTORY_SERIES_KM,
    "Our monthly team-building day: trust, roles and working together.",
    "ថ្ងៃកសាងក្រុមប្រចាំខែ៖ ការទុកចិត្ត តួនាទី និងការធ្វើការរួមគ្នា។",
    30,
    0,
    Sector.COMMUNITY,
)

ORGANISATIONS: dict[Sector, tuple[str, ...]] = {
    Sector.STUDENT: (
        "Royal University of Phnom Penh",
        "Institute of Technology of Cambodia",
        "University of Battambang",
    ),
    Sector.NGO: (
        "Youth for Equality Cambodia",
        "Kampuchea Rights Network",
        "Angkor Community Health",
    ),
    Sector.GOVERNMENT: (MINISTRY, "Ministry of Education, Youth and Sport", "Ministry of Justice"),
    Sector.PRIVATE: (COMPANY, "Tonle Sap Logistics", "Angkor Garment Factory"),
    Sector.MEDIA: ("Phnom Penh Youth Radio",),
}
# How often a newcomer of the sector names an organisation.
NAMES_ORGANISATION = {
    Sector.STUDENT: 0.85,
    Sector.NGO: 0.95,
    Sector.GOVERNMENT: 0.95,
    Sector.PRIVATE: 0.9,
    Sector.MEDIA: 0.9,
}
SECTOR_WEIGHTS = {
    Sector.STUDENT: 35,
    Sector.NGO: 20,
    Sector.GOVERNMENT: 10,
    Sector.PRIVATE: 10,
    Sector.MEDIA: 4,
    Sector.COMMUNITY: 16,
    Sector.OTHER: 5,
}
PROVINCE_WEIGHTS = {
    Province.PHNOM_PENH: 30,
    Province.KANDAL: 8,
    Province.SIEM_REAP: 8,
    Province.BATTAMBANG: 7,
    Province.KAMPONG_CHAM: 5,
    Province.TAKEO: 4,
    Province.PREY_VENG: 4,
    Province.KAMPOT: 3,
    Province.PREAH_SIHANOUK: 3,
    Province.BANTEAY_MEANCHEY: 3,
    Province.KAMPONG_SPEU: 3,
}  # every other province (and abroad) 1
GENDER_WEIGHTS = {
    GenderIdentity.WOMAN: 30,
    GenderIdentity.MAN: 25,
    GenderIdentity.TRANS_WOMAN: 12,
    GenderIdentity.TRANS_MAN: 8,
    GenderIdentity.NON_BINARY: 10,
    GenderIdentity.SELF_DESCRIBED: 5,
    GenderIdentity.PREFER_NOT_TO_SAY: 10,
}
AGE_WEIGHTS = {
    AgeBand.UNDER_18: 1,
    AgeBand.FROM_18_TO_24: 6,
    AgeBand.FROM_25_TO_34: 6,
    AgeBand.FROM_35_TO_44: 3,
    AgeBand.FROM_45_TO_54: 2,
    AgeBand.FROM_55: 1,
}
STUDENT_AGE_WEIGHTS = {AgeBand.UNDER_18: 1, AgeBand.FROM_18_TO_24: 8, AgeBand.FROM_25_TO_34: 1}
GIVEN_NAMES = (
    ("Sokha", "សុខា"), ("Dara", "ដារ៉ា"), ("Sophea", "សុភា"), ("Vanna", "វណ្ណា"),
    ("Bopha", "បុប្ផា"), ("Kosal", "កុសល"), ("Thida", "ធីតា"), ("Rithy", "រិទ្ធី"),
    ("Chenda", "ចិន្តា"), ("Pisey", "ពិសី"), ("Makara", "មករា"), ("Sovann", "សុវណ្ណ"),
    ("Veasna", "វាសនា"), ("Nary", "ណារី"), ("Channary", "ចាន់ណារី"), ("Visal", "វិសាល"),
    ("Kanha", "កញ្ញា"), ("Mony", "មុន្នី"), ("Rotha", "រដ្ឋា"), ("Sreyleak", "ស្រីល័ក្ខ"),
)  # fmt: skip
FAMILY_NAMES = (
    ("Chan", "ចាន់"), ("Sok", "សុខ"), ("Kim", "គីម"), ("Heng", "ហេង"), ("Chea", "ជា"),
    ("Meas", "មាស"), ("Keo", "កែវ"), ("Ly", "លី"), ("Phan", "ផាន"), ("Sam", "សំ"),
    ("Tep", "ទេព"), ("Ouk", "អ៊ុក"), ("Yin", "យិន"), ("Nhem", "ញឹម"),
)  # fmt: skip
OWN_WORDS = ("Queer", "Genderfluid", "Agender")
PRONOUNS = ("she/her", "he/him", "they/them")
NEEDS = ("Wheelchair access, please", "Large print handouts")


def _weighted(rng: random.Random, weights: dict[Any, int]) -> Any:
    """One of the keys, drawn by weight."""
    return rng.choices(list(weights), weights=list(weights.values()))[0]


@dataclass
class _Someone:
    """A person of the history, before they are written."""

    number: int
    reach_key: str
    chosen_name: str
    email: str | None
    phone: str | None
    sector: Sector
    organisation: str
    province: str
    age_band: str
    gender_identity: str
    gender_identity_text: str
    pronouns: str
    language: str
    accessibility_needs: str
    first_seen: datetime


@dataclass
class _Held:
    """A session of the history, made, and the registrations planned for it."""

    session: Session
    training: _Training
    invitation_id: int | None = None
    rows: list[tuple[_Someone, dict[str, Any]]] = field(default_factory=list)


class _Crowd:
    """Who registers: newcomers drawn from the weights above (the first ones going through
    every sector and every province, so each appears), and people who came before coming
    back — a quarter of a public training, half of team building."""

    def __init__(self, rng: random.Random, facilitator_id: int) -> None:
        self.rng = rng
        self.facilitator_id = facilitator_id
        self.people: list[_Someone] = []
        self.came: list[_Someone] = []
        self._came_keys: set[str] = set()

    def newcomer(self, training: _Training, when: datetime) -> _Someone:
        rng = self.rng
        number = len(self.people) + 1
        sector = self._sector(training, number)
        organisation = training.invited
        if not organisation and rng.random() < NAMES_ORGANISATION.get(sector, 0):
            organisation = rng.choice(ORGANISATIONS[sector])
        given, given_km = rng.choice(GIVEN_NAMES)
        family, family_km = rng.choice(FAMILY_NAMES)
        style = rng.random()
        name = (
            f"{family_km} {given_km}"
            if style < 0.35
            else given
            if style < 0.5
            else f"{family} {given}"
        )
        contact = rng.random()  # email only, both, or phone only
        email = f"{given}.{family}.{number}@example.org".lower() if contact < 0.85 else None
        phone = None
        if contact >= 0.75:
            phone = f"+855{rng.choice(('10', '12', '15', '17', '92', '96'))}{number:06d}"
        language = "km" if rng.random() < 0.75 else "en"
        gender = "" if rng.random() < 0.45 else _weighted(rng, GENDER_WEIGHTS).value
        someone = _Someone(
            number=number,
            reach_key=secrets.token_hex(16),  # as attendees.registration gives a new person
            chosen_name=name,
            email=email,
            phone=phone,
            sector=sector,
            organisation=organisation,
            province=self._province(training, number),
            age_band=self._age_band(sector),
            gender_identity=gender,
            gender_identity_text=rng.choice(OWN_WORDS) if gender == "self_described" else "",
            pronouns=rng.choice(PRONOUNS) if language == "en" and rng.random() < 0.4 else "",
            language=language,
            accessibility_needs=rng.choice(NEEDS) if rng.random() < 0.03 else "",
            first_seen=when,
        )
        self.people.append(someone)
        return someone

    def _sector(self, training: _Training, number: int) -> Sector:
        if training.invited and training.sector is not None:
            return training.sector
        if number <= len(Sector):
            return list(Sector)[number - 1]
        if training.sector is not None and self.rng.random() < 0.6:
            return training.sector
        return Sector(_weighted(self.rng, SECTOR_WEIGHTS))

    def _province(self, training: _Training, number: int) -> str:
        if number <= len(Province):
            return list(Province)[number - 1].value
        if self.rng.random() < 0.15:
            return ""  # not given
        if training.venue == 2 and self.rng.random() < 0.5:  # the Siem Reap venue
            return Province.SIEM_REAP.value
        weights = {p: PROVINCE_WEIGHTS.get(p, 1) for p in Province}
        return str(_weighted(self.rng, weights).value)

    def _age_band(self, sector: Sector) -> str:
        if self.rng.random() < 0.4:
            return ""
        weights = STUDENT_AGE_WEIGHTS if sector == Sector.STUDENT else AGE_WEIGHTS
        return str(_weighted(self.rng, weights).value)

    def returning(self, taken: set[str], training: _Training) -> _Someone | None:
        """Someone who came to an earlier session (of the invited organisation, for an
        invite-only one) and is not registered for this one yet."""
        for _try in range(5):
            if not self.came:
                return None
            someone = self.rng.choice(self.came)
            fits = not training.invited or someone.organisation == training.invited
            if fits and someone.reach_key not in taken:
                return someone
        return None

    def registrations(self, held: _Held) -> None:
        """Plan the session's registrations, in the order they came (which decides the
        seats): a few cancel, seats go to the first who did not, the rest wait; 70–90 % of
        the confirmed come."""
        rng, session, training = self.rng, held.session, held.training
        most = 0.95 if training.invited else 1.2  # an invitation has as many seats as the room
        wanted = max(4, round(session.capacity * rng.uniform(0.55, most)))
        back = 0.5 if training.topic == "team_building" else 0.1 if training.invited else 0.25
        starts = session.starts_at
        times = sorted(
            starts - timedelta(minutes=rng.randint(180, 21 * 24 * 60)) for _ in range(wanted)
        )
        taken: set[str] = set()
        seats = session.capacity
        attending = rng.uniform(0.70, 0.90)
        for created in times:
            someone = self.returning(taken, training) if rng.random() < back else None
            someone = someone or self.newcomer(training, created)
            taken.add(someone.reach_key)
            row = self._row(held, someone, created)
            if rng.random() < 0.05:
                row["status"] = RegistrationStatus.CANCELLED
                row["cancelled_at"] = created + (starts - created) * rng.uniform(0.1, 0.9)
                row["cancelled_by_id"] = self.facilitator_id if rng.random() < 0.2 else None
            elif seats:
                seats -= 1
                row["status"] = RegistrationStatus.CONFIRMED
                if someone.email and created < starts - timedelta(days=1):
                    row["reminder_sent_at"] = starts - timedelta(days=1)
                if rng.random() < attending:
                    row["checked_in_at"] = starts + timedelta(minutes=rng.randint(-20, 40))
                    row["checked_in_by_id"] = self.facilitator_id
            else:
                row["status"] = RegistrationStatus.WAITLISTED
                row["waitlisted_at"] = created
            held.rows.append((someone, row))
        for someone, row in held.rows:
            if row.get("checked_in_at") and someone.reach_key not in self._came_keys:
                self._came_keys.add(someone.reach_key)
                self.came.append(someone)

    def _row(self, held: _Held, someone: _Someone, created: datetime) -> dict[str, Any]:
        draw = self.rng.random()
        source = (
            RegistrationSource.STAFF
            if draw < 0.1
            else RegistrationSource.API
            if draw < 0.15
            else RegistrationSource.FORM
        )
        return {
            "session_id": held.session.id,
            "chosen_name": someone.chosen_name,
            "pronouns": someone.pronouns,
            "email": someone.email or "",
            "phone": someone.phone or "",
            "sector": someone.sector,
            "organisation": someone.organisation,
            "language": someone.language,
            "accessibility_needs": someone.accessibility_needs,
            "province": someone.province,
            "age_band": someone.age_band,
            "gender_identity": someone.gender_identity,
            "gender_identity_text": someone.gender_identity_text,
            "reach_key": someone.reach_key,
            "source": source,
            "invitation_id": held.invitation_id,
            "manage_key": secrets.token_urlsafe(12),
            "ticket_seed": secrets.randbits(32),
            "ticket_id": new_ticket_id(),
            "consent_at": created,
            "created_at": created,
        }


def _past_months(count: int, today: date) -> list[date]:
    """The first days of the ``count`` whole months before this one, oldest first."""
    months: list[date] = []
    first = today.replace(day=1)
    for _ in range(count):
        first = (first - timedelta(days=1)).replace(day=1)
        months.append(first)
    return months[::-1]


def _first_saturday(month: date) -> date:
    return month + timedelta(days=(5 - month.weekday()) % 7)


def _next_first_saturday(day: datetime) -> datetime:
    """The first first-Saturday of a month on or after ``day`` (midnight, in its zone): a
    three-month series from there has three sessions, whatever the date of the demo."""
    month = day.date().replace(day=1)
    first = _first_saturday(month)
    if first < day.date():
        first = _first_saturday((month + timedelta(days=32)).replace(day=1))
    return day.replace(year=first.year, month=first.month, day=first.day)


def _session_input(training: _Training, starts: datetime, facilitator_id: int) -> SessionInput:
    name, address, map_url = VENUES[training.venue] if training.venue is not None else ("", "", "")
    hours = 2 if training.venue is None else 3
    return SessionInput(
        topic_code=training.topic,
        title_en=training.title_en,
        title_km=training.title_km,
        description_en=training.description_en,
        description_km=training.description_km,
        starts_at=starts,
        ends_at=starts + timedelta(hours=hours),
        timezone=ZONE.key,
        venue_name=name,
        venue_address=address,
        venue_map_url=map_url,
        online_url="" if training.venue is not None else "https://meet.jit.si/sala-demo",
        capacity=training.capacity,
        audience=Audience.INVITE_ONLY if training.invited else Audience.PUBLIC,
        registration_opens_at=None,
        registration_closes_at=starts - timedelta(hours=2),
        facilitator_ids=(facilitator_id,),
    )


async def _make_sessions(
    rng: random.Random, months: list[date], facilitator: StaffUser
) -> list[_Held]:
    """The team-building series (first Saturday of each month: it also marks the history
    as loaded) and one to four other trainings a month, of the topics there are, through
    the events services; invitations for the invite-only ones."""
    topics = set(await Topic.all().values_list("code", flat=True))
    trainings = [t for t in PAST_TRAININGS if t.topic in topics]
    first = _first_saturday(months[0])
    starts = datetime(first.year, first.month, first.day, 9, tzinfo=ZONE)
    _series, monthly = await services.create_series(
        SeriesInput(
            template=_session_input(TEAM_BUILDING, starts, facilitator.id),
            rrule="FREQ=MONTHLY;BYDAY=1SA",
            months=len(months),
            status=SessionStatus.PUBLISHED,
        ),
        actor=None,
    )
    held = [_Held(session, TEAM_BUILDING) for session in monthly]
    turn = 0
    for month in months:
        following = (month + timedelta(days=32)).replace(day=1)
        days = [
            month + timedelta(days=n)
            for n in range(1, (following - month).days - 1)
            if (month + timedelta(days=n)).weekday() != 6
            and month + timedelta(days=n) != _first_saturday(month)
        ]
        for day in sorted(rng.sample(days, rng.randint(1, 4))) if trainings else []:
            training = trainings[turn % len(trainings)]
            turn += 1
            hour = 19 if training.venue is None else rng.choice((8, 9, 14))
            starts = datetime(day.year, day.month, day.day, hour, tzinfo=ZONE)
            session = await services.create_session(
                _session_input(training, starts, facilitator.id),
                actor=None,
                status=SessionStatus.PUBLISHED,
            )
            invitation_id = None
            if training.invited:
                invitation = await invite_organisation(
                    session,
                    organisation=training.invited,
                    seats=session.capacity,
                    actor=facilitator,
                )
                invitation_id = invitation.id
            held.append(_Held(session, training, invitation_id))
    held.sort(key=lambda h: h.session.starts_at)
    return held


async def _write_people(people: Sequence[_Someone]) -> dict[str, int]:
    """Each person's id by reach key. A contact someone already holds (a real person, in a
    database that was in use) gives a person with no contact on file, as registering does."""

    def person(someone: _Someone, *, contact: bool) -> Person:
        return Person(
            email=someone.email if contact else None,
            phone=someone.phone if contact else None,
            reach_key=someone.reach_key,
            chosen_name=someone.chosen_name,
            pronouns=someone.pronouns,
            language=someone.language,
            created_at=someone.first_seen,
        )

    await Person.bulk_create([person(p, contact=True) for p in people], ignore_conflicts=True)
    ids = await _ids_by_key([p.reach_key for p in people])
    missing = [p for p in people if p.reach_key not in ids]
    if missing:
        await Person.bulk_create([person(p, contact=False) for p in missing])
        ids.update(await _ids_by_key([p.reach_key for p in missing]))
    return ids


async def _ids_by_key(keys: list[str]) -> dict[str, int]:
    found: dict[str, int] = {}
    for start in range(0, len(keys), 500):
        rows = await Person.filter(reach_key__in=keys[start : start + 500]).values_list(
            "reach_key", "id"
        )
        found.update({str(key): int(person_id) for key, person_id in rows})
    return found


async def _recount(held: Sequence[_Held]) -> None:
    """Seats taken and invitations used, counted from the registrations just written."""
    connection = connections.get("default")
    sessions = [h.session.id for h in held]
    marks = ", ".join("?" for _ in sessions)
    await db.execute(
        connection,
        f'UPDATE "session" SET confirmed_count = (SELECT COUNT(*) FROM registration r '  # noqa: S608
        f"WHERE r.session_id = \"session\".id AND r.status = 'confirmed') WHERE id IN ({marks})",
        sessions,
    )
    invitations = [h.invitation_id for h in held if h.invitation_id is not None]
    if invitations:
        marks = ", ".join("?" for _ in invitations)
        await db.execute(
            connection,
            "UPDATE invitation SET used = (SELECT COUNT(*) FROM registration r "  # noqa: S608
            f"WHERE r.invitation_id = invitation.id AND r.status <> 'cancelled') "
            f"WHERE id IN ({marks})",
            invitations,
        )


async def _certify(held: Sequence[_Held], facilitator: StaffUser) -> int:
    """Certificates for everyone checked in, through the certificates service, dated the
    day after the session. They are marked as made and sent: nobody is there to mail, and
    the worker would otherwise render hundreds of PDFs at once (a PDF is made when opened)."""
    issued = 0
    for h in held:
        if not any(row.get("checked_in_at") for _someone, row in h.rows):
            continue
        outcome = await issue_certificates(h.session.id, staff=facilitator)
        if outcome.run is not None:
            day_after = h.session.ends_at + timedelta(days=1)
            await Certificate.filter(run_id=outcome.run.id).update(
                issued_at=day_after, rendered_at=day_after
            )
        issued += len(outcome.issued)
    return issued


async def load_history(months: int, *, facilitator: StaffUser) -> str:
    """``months`` whole past months of sessions, registrations, check-ins and certificates
    (see the module's docstring), once: a second run, whatever its ``months``, adds
    nothing. All in one transaction, so a failed run leaves nothing behind."""
    if not 1 <= months <= MAX_HISTORY_MONTHS:
        raise ValueError(f"months must be 1 to {MAX_HISTORY_MONTHS}")
    if await Series.filter(title_en=HISTORY_SERIES_EN).exists():
        return "Demo history is already loaded; nothing added."
    if not await Topic.filter(code=TEAM_BUILDING.topic).exists():
        return f"Demo history needs the topic {TEAM_BUILDING.topic!r}; nothing added."
    rng = random.Random(HISTORY_SEED)
    past = _past_months(months, datetime.now(ZONE).date())
    async with in_transaction():
        held = await _make_sessions(rng, past, facilitator)
        crowd = _Crowd(rng, facilitator.id)
        for h in held:
            crowd.registrations(h)
        ids = await _write_people(crowd.people)
        rows = [
            Registration(**row, person_id=ids[someone.reach_key])
            for h in held
            for someone, row in h.rows
        ]
        for start in range(0, len(rows), 500):
            await Registration.bulk_create(rows[start : start + 500])
        await _recount(held)
        certificates = await _certify(held, facilitator)
        learned = await load_learning_history([h.session for h in held])
    checked_in = sum(1 for row in rows if row.checked_in_at is not None)
    return (
        f"Loaded {months} month{'s' if months != 1 else ''} of history "
        f"({past[0]:%Y-%m} to {past[-1]:%Y-%m}): {len(held)} sessions, {len(rows)} "
        f"registrations of {len(crowd.people)} people, {checked_in} check-ins, "
        f"{certificates} certificates, {learned.attempts} tests taken, "
        f"{learned.responses} feedback answers."
    )
