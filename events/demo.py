"""``sala demo``: a believable month of trainings in Khmer and English, to try the system."""

from __future__ import annotations

import secrets
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from events import services
from events.forms import SeriesInput, SessionInput
from events.models import Audience, Session, SessionStatus
from sala import accounts
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


async def load_demo_data() -> str:
    """Create the demo trainings once; running it again adds nothing."""
    if await Session.filter(title_en=TRAININGS[0][1]).exists():
        return "Demo data is already loaded."
    facilitator = await _demo_facilitator()
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
    series_start = (today + timedelta(days=1)).replace(hour=9)
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
    return (
        f"Loaded {len(created)} trainings and a monthly series of {len(monthly)} sessions "
        f"(demo facilitator: {facilitator.email})."
    )
